using System.Text;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Detection;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// The properties a message template renders where its own text makes them a credential: right after a sensitive key
/// (<c>"password={0}"</c>, <c>"Server=db;Pwd={Value};"</c>), as a URL's password (<c>"postgres://{User}:{Pass}@db"</c>)
/// or in a sensitive header's line (<c>"Authorization: Bearer {Token}"</c>).
/// The rendered message is <c>password=hunter2</c>, which <c>DetectEmbeddedCredentials</c> masks in any other string,
/// but the template's text and the property are written apart (CLEF's <c>@mt</c> and <c>"0"</c>), so neither alone
/// shows the detector a pair: each such property is masked whatever its name.
/// </summary>
/// <remarks>
/// The template is rendered once with a probe in each hole and read by the embedded-credential detector alone; a hole
/// whose probe is masked is a credential. Only a template whose text holds <c>=</c>, <c>:</c> (a URL's, a header's) or <c>%3D</c> is read at all; the
/// answer is kept per template that comes back (<see cref="TemplateMemo{T}"/>), as <see cref="Redactor.RedactTemplate"/> keeps its own.
/// </remarks>
sealed class TemplateCredentialHoles
{
    readonly ValueDetectors _detectors;
    readonly TemplateMemo<TemplateCredentials> _cache = new();

    public TemplateCredentialHoles(ValueDetectors detectors) => _detectors = detectors;

    /// <summary>The templates seen once and not yet kept (for tests).</summary>
    internal FirstSightings Seen => _cache.Seen;

    /// <summary>
    /// The names of the properties <paramref name="template"/> renders as a credential (usually none), and the hole it
    /// introduces as a SQL parameter list, if any (see <see cref="SqlParameterList"/>).
    /// </summary>
    public TemplateCredentials For(MessageTemplate template)
    {
        var text = template.Text;
        if (text.AsSpan().IndexOf('{') < 0 || (text.AsSpan().IndexOf('=') < 0 && text.AsSpan().IndexOf(':') < 0 &&
                                                  !(text.AsSpan().IndexOf('%') >= 0 && text.Contains("%3D", StringComparison.OrdinalIgnoreCase)) &&
                                                  !text.Contains(PropertyValues.NameHole, StringComparison.Ordinal) &&
                                                  !text.Contains(EntityKeys.KeyHole, StringComparison.Ordinal)))
            return TemplateCredentials.None;
        if (_cache.TryGetValue(template, out var cached)) return cached;

        var found = Find(template);
        _cache.Remember(template, found);
        return found;
    }

    TemplateCredentials Find(MessageTemplate template)
    {
        var parameterList = ParameterListHole(template);
        var propertyValues = PropertyValues.In(template);
        var entityKeys = EntityKeys.In(template);
        var holes = FindHoles(template);
        return holes.Length == 0 && parameterList is null && propertyValues is null && entityKeys is null
            ? TemplateCredentials.None
            : new TemplateCredentials(holes, parameterList, propertyValues, entityKeys);
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
/// <param name="PropertyValues">The values the template writes of an entity property it names (see <see cref="PropertyValues"/>).</param>
/// <param name="EntityKeys">The key values the template writes of the entity types it names (see <see cref="EntityKeys"/>).</param>
sealed record TemplateCredentials(string[] Holes, string? ParameterList, PropertyValues? PropertyValues = null, EntityKeys? EntityKeys = null)
{
    public static readonly TemplateCredentials None = new(SafeTemplateNames.None, null);
}

/// <summary>
/// The values an Entity Framework Core event writes of the entity property it names, with
/// <c>EnableSensitiveDataLogging()</c>: change tracking's <c>The unchanged property '{entityType}.{property}' was detected
/// as changed from '{oldValue}' to '{newValue}'</c> (and its foreign key twin), value generation's <c>generated value
/// '{keyValue}' for the property '{entityType}.{property}'</c>. The <c>property</c> hole holds the property's name
/// (<c>Password</c>), so the value holes are masked when that name is sensitive, or when the entity type's is
/// (<c>ApiKey</c>, <c>IdentityUserToken&lt;string&gt;</c>, whose <c>Value</c> is the secret), as a SQL statement's values are
/// on a table with a sensitive name (see <see cref="SqlParameterList"/>).
/// </summary>
/// <param name="TypeHole">The hole holding the entity type's name, if the template has one.</param>
/// <param name="ValueHoles">The holes holding the property's values.</param>
sealed record PropertyValues(string? TypeHole, string[] ValueHoles)
{
    /// <summary>How EF Core's templates name the property: after its type, in quotes (<c>'{entityType}.{property}'</c>).</summary>
    public const string NameHole = ".{property}'";

    /// <summary>EF Core's names for the holes of a property's values: its old and new value, a generated value.</summary>
    static readonly string[] ValueNames = ["oldValue", "newValue", "keyValue"];

    /// <summary>EF Core's names for the hole of the entity type that owns the property (<c>typePath</c> for a complex type's).</summary>
    static readonly string[] TypeNames = ["entityType", "typePath"];

    const string PropertyName = "property";

    /// <summary>The shape in <paramref name="template"/>, or <see langword="null"/> when it has none.</summary>
    public static PropertyValues? In(MessageTemplate template)
    {
        if (!template.Text.Contains(NameHole, StringComparison.Ordinal)) return null;
        string? typeHole = null;
        List<string>? values = null;
        var namesProperty = false;
        foreach (var token in template.Tokens)
        {
            if (token is not PropertyToken property) continue;
            var name = property.PropertyName;
            if (name == PropertyName) namesProperty = true;
            else if (Array.IndexOf(TypeNames, name) >= 0) typeHole ??= name;
            else if (Array.IndexOf(ValueNames, name) >= 0 && (values is null || !values.Contains(name))) (values ??= new List<string>()).Add(name);
        }
        return namesProperty && values is not null ? new PropertyValues(typeHole, values.ToArray()) : null;
    }

    /// <summary>Whether the event's property (or its entity type) has a sensitive name, so that its values are to be masked.</summary>
    public bool AreSensitive(IReadOnlyDictionary<string, LogEventPropertyValue> properties, KeyMatcher keys)
    {
        if (properties.TryGetValue(PropertyName, out var property) && property is ScalarValue { Value: string name } && keys.IsSensitive(name))
            return true;
        if (TypeHole is null || !properties.TryGetValue(TypeHole, out var type) || type is not ScalarValue { Value: string typeName }) return false;
        return IsSensitiveType(typeName, keys);
    }

    /// <summary>Whether an entity type's name, as EF Core writes it, is sensitive.</summary>
    // EF Core writes a generic type's short name with its arguments (IdentityUserToken<string>): the name is before them.
    public static bool IsSensitiveType(string typeName, KeyMatcher keys) => keys.IsSensitiveTypeName(typeName);
}

/// <summary>
/// The key values an Entity Framework Core event writes of the entity types it names, with
/// <c>EnableSensitiveDataLogging()</c>: <c>Context '{contextType}' started tracking '{entityType}' entity with key
/// '{keyValues}'</c>, the state change, cascade delete (<c>'{parentType}' entity with key '{parentKeyValues}'</c>) and
/// change detection events. A key property with a sensitive name is masked wherever key values are written (see
/// <see cref="Detection.ValueDetectors"/>); here every value of the key of an entity type with a sensitive name is, as
/// the values of its properties are (see <see cref="PropertyValues"/>): an <c>ApiKey</c> entity keyed by its
/// <c>Value</c> writes the secret as <c>{Value: ...}</c>.
/// </summary>
/// <param name="KeyHoles">The holes holding key values.</param>
/// <param name="TypeHoles">The hole holding the entity type of each of <paramref name="KeyHoles"/>.</param>
sealed record EntityKeys(string[] KeyHoles, string[] TypeHoles)
{
    /// <summary>What every template with EF Core's key values holds: the end of <c>{keyValues}'</c> and <c>{parentKeyValues}'</c>.</summary>
    public const string KeyHole = "eyValues}'";

    // EF Core's names for the holes of an entity's key values, and for the hole of the entity type each belongs to.
    static readonly string[] KeyNames = ["keyValues", "parentKeyValues"];
    static readonly string[] TypeNames = ["entityType", "parentType"];

    /// <summary>The shape in <paramref name="template"/>, or <see langword="null"/> when it has none.</summary>
    public static EntityKeys? In(MessageTemplate template)
    {
        if (!template.Text.Contains(KeyHole, StringComparison.Ordinal)) return null;
        List<string>? keyHoles = null, typeHoles = null;
        for (var i = 0; i < KeyNames.Length; i++)
        {
            var key = false;
            var type = false;
            foreach (var token in template.Tokens)
            {
                if (token is not PropertyToken property) continue;
                key |= property.PropertyName == KeyNames[i];
                type |= property.PropertyName == TypeNames[i];
            }
            if (!key || !type) continue;
            (keyHoles ??= new List<string>()).Add(KeyNames[i]);
            (typeHoles ??= new List<string>()).Add(TypeNames[i]);
        }
        return keyHoles is null ? null : new EntityKeys(keyHoles.ToArray(), typeHoles!.ToArray());
    }
}
