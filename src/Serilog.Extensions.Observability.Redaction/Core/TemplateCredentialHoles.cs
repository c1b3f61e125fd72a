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
        var pairs = PairHoles.In(template);
        var holes = FindHoles(template);
        return holes.Length == 0 && parameterList is null && propertyValues is null && entityKeys is null && pairs is null
            ? TemplateCredentials.None
            : new TemplateCredentials(holes, parameterList, propertyValues, entityKeys, pairs);
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
/// <param name="Pairs">The holes the template writes as a key and its value (see <see cref="PairHoles"/>).</param>
sealed record TemplateCredentials(
    string[] Holes, string? ParameterList, PropertyValues? PropertyValues = null, EntityKeys? EntityKeys = null, PairHoles? Pairs = null)
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

/// <summary>
/// The holes a template writes as a key and its value, the key being data: <c>"{Key}={Value}"</c>, <c>"Header {Name}:
/// {Value}"</c>, <c>"{Setting} = {Value}"</c>, JSON's <c>"{Key}":"{Value}"</c>, <c>'{Key}': '{Value}'</c>, as a dump of
/// configuration or of headers is written. The rendered message is <c>password=hunter22</c>, which
/// <c>DetectEmbeddedCredentials</c> masks in any string, but CLEF writes <c>"Value":"hunter22"</c> apart from the key:
/// the value hole is masked whole, as a credential hole is, when the key hole's value is a name that the key rules call
/// sensitive as a key written in text (see <see cref="KeyMatcher.IsSensitivePathKey"/>).
/// </summary>
/// <param name="KeyHoles">The holes holding a key.</param>
/// <param name="ValueHoles">The hole holding the value of each of <paramref name="KeyHoles"/>.</param>
sealed record PairHoles(string[] KeyHoles, string[] ValueHoles)
{
    /// <summary>The shape in <paramref name="template"/>, or <see langword="null"/> when it has none.</summary>
    public static PairHoles? In(MessageTemplate template)
    {
        List<string>? keys = null, values = null;
        string? key = null;
        string? between = null;
        foreach (var token in template.Tokens)
        {
            if (token is TextToken text)
            {
                between = between is null ? text.Text : between + text.Text;
                continue;
            }
            if (token is not PropertyToken property) continue;
            var name = property.PropertyName;
            if (key is not null && between is not null && name != key && IsPairSeparator(between))
            {
                (keys ??= new List<string>()).Add(key);
                (values ??= new List<string>()).Add(name);
            }
            key = name;
            between = null;
        }
        return keys is null ? null : new PairHoles(keys.ToArray(), values!.ToArray());
    }

    /// <summary>
    /// Whether the text between two holes writes a pair: <c>=</c> or <c>:</c>, with spaces or tabs on either side or none
    /// (as the <c>key=value</c> detector reads them in text), and a quote that closes the key's or opens the value's
    /// (<c>"{Key}":"{Value}"</c>, <c>{Key}='{Value}'</c>).
    /// </summary>
    static bool IsPairSeparator(string text)
    {
        var i = 0;
        if (i < text.Length && text[i] is '"' or '\'') i++;
        while (i < text.Length && text[i] is ' ' or '\t') i++;
        if (i == text.Length || text[i] is not ('=' or ':')) return false;
        i++;
        while (i < text.Length && text[i] is ' ' or '\t') i++;
        if (i < text.Length && text[i] is '"' or '\'') i++;
        return i == text.Length;
    }

    /// <summary>
    /// The value holes whose key hole holds a sensitive key in <paramref name="properties"/>, or <see langword="null"/>
    /// (nothing allocated) when none does.
    /// </summary>
    public string[]? SensitiveValueHoles(IReadOnlyDictionary<string, LogEventPropertyValue> properties, KeyMatcher keys)
    {
        List<string>? found = null;
        for (var i = 0; i < KeyHoles.Length; i++)
        {
            if (!properties.TryGetValue(KeyHoles[i], out var key) || key is not ScalarValue { Value: string name } || !IsSensitiveKey(name, keys))
                continue;
            if (KeyHoles.Length == 1) return ValueHoles;
            (found ??= new List<string>()).Add(ValueHoles[i]);
        }
        return found?.ToArray();
    }

    /// <summary>
    /// Only a name is asked (see <see cref="Redactor.LooksLikeKeyName"/>), and one without spaces: <c>"{Error}: {Detail}"</c>
    /// writes an error's text and its detail (<c>Invalid token: ...</c>), and <c>"{Category}: {Message}"</c> a logger
    /// category, a type's dotted name (<c>...JwtBearer.JwtBearerHandler</c>), which are no keys. A dotted name written as a
    /// type's is (every segment capitalized) is a configuration key's when its last segment names a secret
    /// (<c>Jwt.Secret</c>, <c>Auth.ApiKey</c>: see <see cref="ValueDetectors.IsSecretsSegment"/>).
    /// </summary>
    static bool IsSensitiveKey(string name, KeyMatcher keys)
    {
        if (name.AsSpan().IndexOf(' ') >= 0) return false;
        if (Redactor.LooksLikeKeyName(name)) return keys.IsSensitivePathKey(name);
        var dot = name.LastIndexOf('.');
        return dot > 0 && name.Length <= KeyMatcher.MaximumCachedKeyLength && IsDottedName(name)
               && ValueDetectors.IsSecretsSegment(name.AsSpan(dot + 1), keys);
    }

    /// <summary>Whether the name is segments of letters, digits, <c>_</c> and <c>-</c> joined by <c>.</c>, none empty.</summary>
    static bool IsDottedName(string name)
    {
        var segmentStart = true;
        foreach (var c in name)
        {
            if (c == '.')
            {
                if (segmentStart) return false;
                segmentStart = true;
            }
            else if (char.IsLetterOrDigit(c) || c is '_' or '-') segmentStart = false;
            else return false;
        }
        return !segmentStart;
    }
}
