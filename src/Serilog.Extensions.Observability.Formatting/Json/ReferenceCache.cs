using System.Runtime.CompilerServices;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// A small, bounded cache keyed by object identity (a <c>MessageTemplate</c>, a property-name string), for values
/// that are costly to compute per event but identical each time the same key comes back.
/// </summary>
/// <remarks>
/// <para>Two-way set associative: a key can live in one of two slots chosen by its identity hash, so a hot key is
/// never pushed out by a single colliding one.</para>
/// <para>A key is admitted only the second time it is seen (a "doorkeeper" per set remembers the last two first
/// sightings): keys that occur once (a template built by string interpolation, a name built per event) never evict
/// hot entries and cost no allocation; the caller formats them directly. Two, so that two hot keys of one set that take
/// turns (two names every event writes) are both admitted, as the set's two ways can hold them.</para>
/// <para>Thread-safe without locks: slots hold immutable entries, replaced whole. Two threads racing on the same
/// slot at worst both compute the value, and one of them wins.</para>
/// </remarks>
sealed class ReferenceCache<TKey, TValue>
    where TKey : class
    where TValue : class
{
    sealed class Entry(TKey key, TValue value)
    {
        public readonly TKey Key = key;
        public readonly TValue Value = value;
    }

    readonly Entry?[] _slots;
    readonly TKey?[] _seen;
    readonly int _setMask;

    /// <param name="sets">The number of sets, a power of two; the cache holds at most twice as many entries.</param>
    public ReferenceCache(int sets)
    {
        if (sets <= 0 || (sets & (sets - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(sets), sets, "The number of sets must be a positive power of two.");
        _slots = new Entry?[sets * 2];
        _seen = new TKey?[sets * 2];
        _setMask = sets - 1;
    }

    /// <summary>The most entries the cache holds.</summary>
    public int Capacity => _slots.Length;

    /// <summary>The number of entries held now (for tests).</summary>
    public int Count
    {
        get
        {
            var count = 0;
            for (var i = 0; i < _slots.Length; i++)
                if (Volatile.Read(ref _slots[i]) is not null) count++;
            return count;
        }
    }

    /// <summary>Every key the cache keeps alive, cached or remembered by a doorkeeper (for tests).</summary>
    internal IEnumerable<TKey> RetainedKeys
    {
        get
        {
            for (var i = 0; i < _slots.Length; i++)
                if (Volatile.Read(ref _slots[i]) is { } entry) yield return entry.Key;
            for (var i = 0; i < _seen.Length; i++)
                if (Volatile.Read(ref _seen[i]) is { } key) yield return key;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(TKey key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TValue? value)
    {
        var set = (RuntimeHelpers.GetHashCode(key) & _setMask) * 2;
        var slots = _slots;
        var entry = Volatile.Read(ref slots[set]);
        if (entry is not null && ReferenceEquals(entry.Key, key))
        {
            value = entry.Value;
            return true;
        }
        entry = Volatile.Read(ref slots[set + 1]);
        if (entry is not null && ReferenceEquals(entry.Key, key))
        {
            value = entry.Value;
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>
    /// After a miss: <see langword="true"/> when <paramref name="key"/> was seen before and should now be added with
    /// <see cref="Add"/>; otherwise remembers it and returns <see langword="false"/>.
    /// </summary>
    public bool ShouldAdd(TKey key)
    {
        var set = (RuntimeHelpers.GetHashCode(key) & _setMask) * 2;
        var seen = _seen;
        var newer = Volatile.Read(ref seen[set]);
        if (ReferenceEquals(newer, key) || ReferenceEquals(Volatile.Read(ref seen[set + 1]), key)) return true;
        // The newer sighting becomes the older: with one, two keys of a set that took turns forgot each other and
        // neither was ever admitted.
        Volatile.Write(ref seen[set + 1], newer);
        Volatile.Write(ref seen[set], key);
        return false;
    }

    /// <summary>
    /// Adds <paramref name="key"/> to the first way of its set, moving the entry there to the second way: the entry
    /// evicted is the one admitted earlier of the two (first in, first out within a set).
    /// </summary>
    public void Add(TKey key, TValue value)
    {
        var set = (RuntimeHelpers.GetHashCode(key) & _setMask) * 2;
        var slots = _slots;
        if (Volatile.Read(ref slots[set]) is { } previous) Volatile.Write(ref slots[set + 1], previous);
        Volatile.Write(ref slots[set], new Entry(key, value));
    }
}
