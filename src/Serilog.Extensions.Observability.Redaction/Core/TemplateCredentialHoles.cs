using System.Text;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Detection;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// The properties a message template renders where its own text makes them a credential: right after a sensitive key
/// (<c>"password={0}"</c>, <c>"Server=db;Pwd={Value};"</c>) or as a URL's password (<c>"postgres://{User}:{Pass}@db"</c>).
/// The rendered message is <c>password=hunter2</c>, which <c>DetectEmbeddedCredentials</c> masks in any other string,
/// but the template's text and the property are written apart (CLEF's <c>@mt</c> and <c>"0"</c>), so neither alone
/// shows the detector a pair: each such property is masked whatever its name.
/// </summary>
/// <remarks>
/// The template is rendered once with a probe in each hole and read by the embedded-credential detector alone; a hole
/// whose probe is masked is a credential. Only a template whose text holds <c>=</c>, <c>%3D</c> or <c>://</c> is read at all; the
/// answer is kept per template that comes back (<see cref="TemplateMemo{T}"/>), as <see cref="Redactor.RedactTemplate"/> keeps its own.
/// </remarks>
sealed class TemplateCredentialHoles
{
    readonly ValueDetectors _detectors;
    readonly TemplateMemo<TemplateCredentials> _cache = new();

    public TemplateCredentialHoles(ValueDetectors detectors) => _detectors = detectors;

    /// <summary>
    /// The names of the properties <paramref name="template"/> renders as a credential (usually none), and the hole it
    /// introduces as a SQL parameter list, if any (see <see cref="SqlParameterList"/>).
    /// </summary>
    public TemplateCredentials For(MessageTemplate template)
    {
        var text = template.Text;
        if (text.AsSpan().IndexOf('{') < 0 || (text.AsSpan().IndexOf('=') < 0 && !text.Contains("://", StringComparison.Ordinal) &&
                                                  !(text.AsSpan().IndexOf('%') >= 0 && text.Contains("%3D", StringComparison.OrdinalIgnoreCase))))
            return TemplateCredentials.None;
        if (_cache.TryGetValue(template, out var cached)) return cached;

        var found = Find(template);
        _cache.Remember(template, found);
        return found;
    }

    TemplateCredentials Find(MessageTemplate template)
    {
        var parameterList = ParameterListHole(template);
        var holes = FindHoles(template);
        return holes.Length == 0 && parameterList is null ? TemplateCredentials.None : new TemplateCredentials(holes, parameterList);
    }

    static string? ParameterListHole(MessageTemplate template)
    {
        string? before = null;
        foreach (var token in template.Tokens)
        {
            if (token is PropertyToken property && before is not null && SqlParameterList.Introduces(before)) return property.PropertyName;
            before = (token as TextToken)?.Text;
        }
        return null;
    }

    string[] FindHoles(MessageTemplate template)
    {
        var rendered = new StringBuilder(template.Text.Length + 16);
        var holes = new List<string>();
        foreach (var token in template.Tokens)
        {
            switch (token)
            {
                case TextToken text:
                    rendered.Append(text.Text);
                    break;
                case PropertyToken property:
                    // Letters and digits, as a value is: the detector reads it as part of whatever key or value it
                    // stands in. The trailing letter keeps "zq1x" from being found inside "zq10x".
                    rendered.Append(Probe(holes.Count));
                    holes.Add(property.PropertyName);
                    break;
            }
        }
        if (holes.Count == 0) return SafeTemplateNames.None;

        // The probes are not values of the event: what the detector masks here is not searched for elsewhere in it.
        var findings = ValueDetectors.CredentialFindings;
        ValueDetectors.CredentialFindings = null;
        string? masked;
        try
        {
            masked = _detectors.RedactEmbeddedCredentials(rendered.ToString());
        }
        finally
        {
            ValueDetectors.CredentialFindings = findings;
        }
        if (masked is null) return SafeTemplateNames.None;

        List<string>? found = null;
        for (var i = 0; i < holes.Count; i++)
        {
            if (masked.Contains(Probe(i), StringComparison.Ordinal)) continue;
            found ??= new List<string>();
            if (!found.Contains(holes[i])) found.Add(holes[i]);
        }
        return found is null ? SafeTemplateNames.None : found.ToArray();
    }

    static string Probe(int index) => "zq" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "x";
}

/// <summary>What <see cref="TemplateCredentialHoles"/> found in a template.</summary>
/// <param name="Holes">The properties the template's text makes a credential.</param>
/// <param name="ParameterList">The property the template introduces as a SQL parameter list (<c>Parameters=[{p}]</c>).</param>
sealed record TemplateCredentials(string[] Holes, string? ParameterList)
{
    public static readonly TemplateCredentials None = new(SafeTemplateNames.None, null);
}
