using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Keys;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// What a redactor worked out for a message template, kept from the second time the template is seen: interpolated
/// text (a new template per event) then costs no entry (a GC handle each), and templates longer than
/// <see cref="SafeTemplateNames.MaximumTemplateLength"/> are never kept. One per redactor, never shared.
/// </summary>
sealed class TemplateMemo<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T> where T : class
{
    readonly ConditionalWeakTable<MessageTemplate, T> _kept = new();

    /// <summary>Identity hashes of templates seen once and not kept.</summary>
    internal FirstSightings Seen { get; } = new(slots: 512, shift: 0);

    public bool TryGetValue(MessageTemplate template, [MaybeNullWhen(false)] out T value) => _kept.TryGetValue(template, out value);

    /// <summary>Keeps <paramref name="value"/> for <paramref name="template"/> if the template was seen before.</summary>
    public void Remember(MessageTemplate template, T value)
    {
        if (template.Text.Length <= SafeTemplateNames.MaximumTemplateLength && SeenBefore(template)) _kept.AddOrUpdate(template, value);
    }

    /// <summary>Whether <paramref name="template"/> was seen before (rarely a template with the same identity hash); remembers it if not.</summary>
    bool SeenBefore(MessageTemplate template) => Seen.SeenBefore(RuntimeHelpers.GetHashCode(template));
}
