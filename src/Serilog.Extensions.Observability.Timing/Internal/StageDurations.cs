using System.Collections;
using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// An immutable stage → milliseconds snapshot that keeps start order (a Dictionary does not promise it). A read-only
/// <see cref="IDictionary{TKey, TValue}"/> too, so that <see cref="ToLoggable"/> can wrap it without copying.
/// </summary>
sealed class StageDurations : IReadOnlyDictionary<string, double>, IDictionary<string, double>
{
    public static readonly StageDurations Empty = new([], []);

    readonly string[] _names;
    readonly double[] _milliseconds;

    public StageDurations(string[] names, double[] milliseconds)
    {
        _names = names;
        _milliseconds = milliseconds;
    }

    public int Count => _names.Length;

    /// <summary>
    /// What the public <c>Stages</c> properties return: a <see cref="ReadOnlyDictionary{TKey, TValue}"/> around this
    /// snapshot, in its order. Serilog captures that type as a dictionary when it is logged (<c>{Stages}</c>, a diagnostic
    /// context's <c>Set("Stages", ...)</c>); this type it would capture as a list of <c>"[stt, 150]"</c> strings.
    /// </summary>
    public IReadOnlyDictionary<string, double> ToLoggable() => new ReadOnlyDictionary<string, double>(this);

    /// <summary>The name at <paramref name="index"/>, in start order (no enumerator to allocate).</summary>
    public string NameAt(int index) => _names[index];

    /// <summary>The milliseconds at <paramref name="index"/>.</summary>
    public double MillisecondsAt(int index) => _milliseconds[index];

    public double this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No stage named '{key}' has finished.");

    public IEnumerable<string> Keys => _names;

    public IEnumerable<double> Values => _milliseconds;

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value)
    {
        var index = IndexOf(key);
        value = index >= 0 ? _milliseconds[index] : 0;
        return index >= 0;
    }

    int IndexOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        for (var i = 0; i < _names.Length; i++)
            if (string.Equals(_names[i], key, StringComparison.Ordinal)) return i;
        return -1;
    }

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        for (var i = 0; i < _names.Length; i++)
            yield return new KeyValuePair<string, double>(_names[i], _milliseconds[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // Read-only IDictionary: lookups as above, every change refused.
    double IDictionary<string, double>.this[string key]
    {
        get => this[key];
        set => throw ReadOnly();
    }

    ICollection<string> IDictionary<string, double>.Keys => Array.AsReadOnly(_names);

    ICollection<double> IDictionary<string, double>.Values => Array.AsReadOnly(_milliseconds);

    bool ICollection<KeyValuePair<string, double>>.IsReadOnly => true;

    bool ICollection<KeyValuePair<string, double>>.Contains(KeyValuePair<string, double> item) =>
        TryGetValue(item.Key, out var value) && value.Equals(item.Value);

    void ICollection<KeyValuePair<string, double>>.CopyTo(KeyValuePair<string, double>[] array, int arrayIndex)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentOutOfRangeException.ThrowIfNegative(arrayIndex);
        if (array.Length - arrayIndex < _names.Length)
            throw new ArgumentException("The array is too small for the stages from arrayIndex on.", nameof(array));
        for (var i = 0; i < _names.Length; i++) array[arrayIndex + i] = new KeyValuePair<string, double>(_names[i], _milliseconds[i]);
    }

    void IDictionary<string, double>.Add(string key, double value) => throw ReadOnly();

    bool IDictionary<string, double>.Remove(string key) => throw ReadOnly();

    void ICollection<KeyValuePair<string, double>>.Add(KeyValuePair<string, double> item) => throw ReadOnly();

    bool ICollection<KeyValuePair<string, double>>.Remove(KeyValuePair<string, double> item) => throw ReadOnly();

    void ICollection<KeyValuePair<string, double>>.Clear() => throw ReadOnly();

    static NotSupportedException ReadOnly() => new("The stage durations are a read-only snapshot.");
}
