using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Keys;

/// <summary>
/// For each message template seen, the property names its tokens bind, in the order Serilog adds them to the event,
/// as the very string instances the event's keys are, cut before the first name the rules find sensitive. The event
/// pass compares each key with the next expected name by reference: a match is a known-safe name without hashing.
/// A key that does not match (enricher properties, an unusual order) goes to <see cref="KeyMatcher"/> as before.
/// Per <see cref="KeyMatcher"/> (the rules differ per instance). A fixed number of sets of two slots, so memory stays
/// bounded; a template is admitted the second time it is seen (a "doorkeeper" remembers the identity hash of the first
/// sighting), so templates that occur once (built by interpolation) neither take slots nor push hot ones out, and a hot
/// template that arrives late replaces the older of its set's two.
/// </summary>
sealed class SafeTemplateNames
{
    internal const int Sets = 256;

    /// <summary>Templates with more property tokens (or longer text) are not cached: they take the per-name route.</summary>
    internal const int MaximumNames = 64;

    /// <summary>Serilog parses longer templates anew for every event, so an instance never comes back: never kept.</summary>
    internal const int MaximumTemplateLength = 1024;

    internal static readonly string[] None = Array.Empty<string>();

    readonly KeyMatcher _keys;

    /// <summary>Two ways per set: <c>[set * 2]</c> holds the one admitted last.</summary>
    readonly Entry?[] _entries = new Entry?[Sets * 2];

    /// <summary>Identity hashes of templates seen once, by other bits of the hash than the set's.</summary>
    internal FirstSightings Seen { get; } = new(slots: Sets * 2, shift: 8);

    public SafeTemplateNames(KeyMatcher keys) => _keys = keys;

    /// <summary>The expected safe names of <paramref name="template"/>'s properties, in order; empty when not known.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public string[] For(MessageTemplate template)
    {
        var hash = RuntimeHelpers.GetHashCode(template);
        var entry = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), (hash & (Sets - 1)) * 2);
        return entry is not null && ReferenceEquals(entry.Template, template) ? entry.Names : Miss(template, hash);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    string[] Miss(MessageTemplate template, int hash)
    {
        var set = hash & (Sets - 1);
        var older = Volatile.Read(ref _entries[set * 2 + 1]);
        if (older is not null && ReferenceEquals(older.Template, template)) return older.Names;
        if (template.Text.Length > MaximumTemplateLength) return None;

        // First sighting: remembered, and the per-name route this time.
        if (!Seen.SeenBefore(hash)) return None;

        var names = SafeNamesOf(template);
        // The newer entry becomes the older: the one admitted earlier of the two goes. Racing writers at worst
        // duplicate or drop an entry; every entry is immutable and right for its own template.
        if (Volatile.Read(ref _entries[set * 2]) is { } newer) Volatile.Write(ref _entries[set * 2 + 1], newer);
        Volatile.Write(ref _entries[set * 2], new Entry(template, names));
        return names;
    }

    /// <summary>Distinct token names in order of first appearance (the instance Serilog keys the event by), up to the first sensitive one.</summary>
    string[] SafeNamesOf(MessageTemplate template)
    {
        var names = new List<string>();
        foreach (var token in template.Tokens)
        {
            if (token is not PropertyToken property) continue;
            var name = property.PropertyName;
            if (Contains(names, name)) continue;
            if (names.Count == MaximumNames || name.Length > KeyMatcher.MaximumSafeNameLength || _keys.IsSensitivePropertyName(name)) break;
            names.Add(name);
        }
        return names.Count == 0 ? None : names.ToArray();
    }

    static bool Contains(List<string> names, string name)
    {
        foreach (var existing in names)
        {
            if (string.Equals(existing, name, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>How many templates are cached (for tests): never more than twice the number of sets.</summary>
    internal int Count
    {
        get
        {
            var count = 0;
            foreach (var entry in _entries)
            {
                if (entry is not null) count++;
            }
            return count;
        }
    }

    /// <summary>Immutable: published whole with one write.</summary>
    sealed class Entry
    {
        public Entry(MessageTemplate template, string[] names)
        {
            Template = template;
            Names = names;
        }

        public MessageTemplate Template { get; }
        public string[] Names { get; }
    }
}
