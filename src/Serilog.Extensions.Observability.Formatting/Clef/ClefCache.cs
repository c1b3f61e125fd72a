using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Json;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Clef;

/// <summary>
/// What a CLEF formatter instance remembers between events: each message template's escaped <c>@mt</c> member and
/// its formatted tokens, and each property name's escaped <c>,"Name":</c>. Both are keyed by reference (a template
/// parsed once and its property-name strings come back with every event that uses them) and bounded, in number and in
/// length: what they keep alive is at most <see cref="MaxRetainedCharacters"/> of template and name text.
/// </summary>
sealed class ClefCache
{
    /// <summary>Sets of the template cache (it holds up to twice as many templates).</summary>
    public const int TemplateSets = 256;

    /// <summary>Sets of the property-name cache (it holds up to twice as many names).</summary>
    public const int NameSets = 256;

    /// <summary>
    /// Longer templates are neither cached nor remembered: Serilog's own template cache stops at this length, so a longer
    /// template is parsed anew for every event (interpolated text passed as the template: a request body, a document) and
    /// its instance never comes back; remembering it would only keep hundreds of them alive per formatter.
    /// </summary>
    public const int MaxCachedTemplateLength = 1024;

    /// <summary>Longer property names are written uncached, so that names built from data cannot pin large strings.</summary>
    public const int MaxCachedNameLength = 128;

    /// <summary>
    /// The most template and name text the cache keeps alive: per set, two cached entries and the two keys its
    /// doorkeeper remembers, each no longer than the limits.
    /// </summary>
    public const long MaxRetainedCharacters = TemplateSets * 4L * MaxCachedTemplateLength + NameSets * 4L * MaxCachedNameLength;

    public ReferenceCache<MessageTemplate, CompactTemplate> Templates { get; } = new(TemplateSets);

    public ReferenceCache<string, PreparedText> Names { get; } = new(NameSets);

    /// <summary>The prepared form of <paramref name="template"/>, or <see langword="null"/> when it is not (yet) cached.</summary>
    public CompactTemplate? Template(MessageTemplate template)
    {
        if (Templates.TryGet(template, out var cached)) return cached;
        if (template.Text.Length > MaxCachedTemplateLength || !Templates.ShouldAdd(template)) return null;
        var created = CompactTemplate.Create(template);
        Templates.Add(template, created);
        return created;
    }

    /// <summary><c>,"Name":</c> prepared, or <see langword="null"/> when <paramref name="name"/> is not (yet) cached.</summary>
    public PreparedText? Name(string name)
    {
        if (Names.TryGet(name, out var cached)) return cached;
        if (name.Length > MaxCachedNameLength || !Names.ShouldAdd(name)) return null;
        var created = PreparedText.Create(new PropertyNameFragment(name));
        Names.Add(name, created);
        return created;
    }

    /// <summary>The characters of the templates and names the cache keeps alive (for tests).</summary>
    internal long RetainedCharacters
    {
        get
        {
            long total = 0;
            foreach (var template in Templates.RetainedKeys) total += template.Text.Length;
            foreach (var name in Names.RetainedKeys) total += name.Length;
            return total;
        }
    }
}

/// <summary>A message template as the compact header needs it.</summary>
sealed class CompactTemplate
{
    CompactTemplate(PreparedText header, PropertyToken[] formatted, int[] fixedDecimals, string[] names, PreparedText[] preparedNames)
    {
        Header = header;
        Formatted = formatted;
        FixedDecimals = fixedDecimals;
        Names = names;
        PreparedNames = preparedNames;
    }

    /// <summary><c>","@mt":"…"</c>: closes the timestamp, then the escaped template text.</summary>
    public PreparedText Header { get; }

    /// <summary>The tokens that carry a format string, in order: the ones <c>@r</c> renders.</summary>
    public PropertyToken[] Formatted { get; }

    /// <summary>Per formatted token, its <see cref="DecimalText.FixedDecimals"/> (-1 when not fixed-point).</summary>
    public int[] FixedDecimals { get; }

    /// <summary>
    /// The template's property names, each once, in the order they first occur: the order in which Serilog's binder
    /// adds them to the event, so they usually come back first and in this order from the event's properties.
    /// </summary>
    public string[] Names { get; }

    /// <summary><c>,"Name":</c> for each of <see cref="Names"/>.</summary>
    public PreparedText[] PreparedNames { get; }

    public static CompactTemplate Create(MessageTemplate template)
    {
        var formatted = new List<PropertyToken>();
        var names = new List<string>();
        foreach (var token in template.Tokens)
        {
            if (token is not PropertyToken property) continue;
            if (property.Format is not null) formatted.Add(property);
            if (!names.Contains(property.PropertyName)) names.Add(property.PropertyName);
        }

        var preparedNames = new PreparedText[names.Count];
        for (var i = 0; i < preparedNames.Length; i++)
            preparedNames[i] = PreparedText.Create(new PropertyNameFragment(names[i]));

        var decimals = new int[formatted.Count];
        for (var i = 0; i < decimals.Length; i++)
            decimals[i] = formatted[i].Alignment is null ? DecimalText.FixedDecimals(formatted[i].Format) : -1;

        return new CompactTemplate(PreparedText.Create(new TemplateHeaderFragment(template.Text)), formatted.ToArray(), decimals, names.ToArray(), preparedNames);
    }
}

readonly struct TemplateHeaderFragment(string text) : IJsonFragment
{
    public void Write<TSink>(TSink sink) where TSink : struct, IJsonSink => ClefWriter.WriteTemplateMember(sink, text);
}

readonly struct PropertyNameFragment(string name) : IJsonFragment
{
    public void Write<TSink>(TSink sink) where TSink : struct, IJsonSink => ClefWriter.WritePropertyNameUncached(sink, name);
}
