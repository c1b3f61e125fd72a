using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Keys;

/// <summary>
/// For each message template seen, the property names its tokens bind, in the order Serilog adds them to the event,
/// as the very string instances the event's keys are, cut before the first name the rules find sensitive. The event
/// pass compares each key with the next expected name by reference: a match is a known-safe name without hashing.
/// A key that does not match (enricher properties, an unusual order) goes to <see cref="KeyMatcher"/> as before.
/// Per <see cref="KeyMatcher"/> (the rules differ per instance); a fixed number of slots, each filled once and never
/// replaced, so memory stays bounded and colliding templates cannot make each other allocate event after event.
/// </summary>
sealed class SafeTemplateNames
{
    const int Slots = 512;

    /// <summary>Templates with more property tokens (or longer text) are not cached: they take the per-name route.</summary>
    internal const int MaximumNames = 64;
    internal const int MaximumTemplateLength = 4096;

    internal static readonly string[] None = Array.Empty<string>();

    readonly KeyMatcher _keys;
    readonly Entry?[] _entries = new Entry?[Slots];

    public SafeTemplateNames(KeyMatcher keys) => _keys = keys;

    /// <summary>The expected safe names of <paramref name="template"/>'s properties, in order; empty when not known.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public string[] For(MessageTemplate template)
    {
        var entry = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), SlotOf(template));
        return entry is not null && ReferenceEquals(entry.Template, template) ? entry.Names : Add(template);
    }

    static int SlotOf(MessageTemplate template) => RuntimeHelpers.GetHashCode(template) & (Slots - 1);

    [MethodImpl(MethodImplOptions.NoInlining)]
    string[] Add(MessageTemplate template)
    {
        ref var slot = ref _entries[SlotOf(template)];
        // Filled once: another template in the slot keeps it, and this one takes the per-name route.
        if (Volatile.Read(ref slot) is not null || template.Text.Length > MaximumTemplateLength) return None;

        var names = SafeNamesOf(template);
        Interlocked.CompareExchange(ref slot, new Entry(template, names), null);
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

    /// <summary>How many templates are cached (for tests): never more than the fixed number of slots.</summary>
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
