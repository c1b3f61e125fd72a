using System.Globalization;
using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Detection;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Events;

/// <summary>The event-level pass shared by the enricher and the sink wrapper.</summary>
static class EventRedaction
{
    /// <summary>A replacement for each property that needs one; <see langword="null"/> (nothing allocated) when none does.</summary>
    public static List<LogEventProperty>? CollectChanges(Redactor redactor, LogEvent logEvent) =>
        redactor.CredentialHoles is null ? CollectChanges(redactor, logEvent, null) : CollectWithFindings(redactor, logEvent);

    [ThreadStatic] static List<string>? t_findings;

    /// <summary>
    /// The pass with the embedded-credential detector reporting what it masks: copies of those values elsewhere in the
    /// event (a property a scope's template filled in, whose rendered text the detector read) are masked too. Apart, so
    /// its try/finally stays out of the common path.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static List<LogEventProperty>? CollectWithFindings(Redactor redactor, LogEvent logEvent)
    {
        var outer = ValueDetectors.CredentialFindings;
        // One list per thread, reused; a pass nested in this one (a getter that logs) gets its own.
        var findings = outer is null ? t_findings ??= new List<string>() : new List<string>();
        findings.Clear();
        ValueDetectors.CredentialFindings = findings;
        try
        {
            return CollectChanges(redactor, logEvent, findings);
        }
        finally
        {
            ValueDetectors.CredentialFindings = outer;
            findings.Clear();
        }
    }

    static List<LogEventProperty>? CollectChanges(Redactor redactor, LogEvent logEvent, List<string>? findings)
    {
        List<LogEventProperty>? changes = null;
        var properties = logEvent.Properties;
        if (properties.GetType() == typeof(Dictionary<string, LogEventPropertyValue>))
        {
            // The concrete type's struct enumerator (the interface's would allocate on every event), and the common
            // case decided inline without a call: a plain scalar, or a string this redactor found clean a moment ago,
            // under a name known safe, either because it is the template's next expected name (same instance, so one
            // comparison) or an instance found safe before.
            var expected = redactor.TemplateNames.For(logEvent.MessageTemplate);
            var next = 0;
            foreach (var property in Unsafe.As<Dictionary<string, LogEventPropertyValue>>(properties))
            {
                var name = property.Key;
                var expectedName = false;
                if ((uint)next < (uint)expected.Length && ReferenceEquals(expected[next], name))
                {
                    expectedName = true;
                    next++;
                }

                var value = property.Value;
                if ((redactor.IsPlainScalar(value) || redactor.IsRememberedClean(value)) && (expectedName || redactor.Keys.IsKnownSafeName(name))) continue;
                Collect(redactor, name, value, ref changes);
            }
        }
        else
        {
            CollectEach(redactor, properties, ref changes);
        }

        string[]? holes = null;
        if (redactor.CredentialHoles is { } credentialHoles && credentialHoles.For(logEvent.MessageTemplate) is { } found &&
            !ReferenceEquals(found, TemplateCredentials.None))
        {
            if (found.Holes.Length > 0)
            {
                holes = found.Holes;
                MaskCredentialHoles(redactor, logEvent, holes, ref changes);
            }
            if (found.ParameterList is { } parameterList) MaskSqlParameters(redactor, logEvent, parameterList, ref changes);
            if (found.PropertyValues is { } propertyValues && propertyValues.AreSensitive(logEvent.Properties, redactor.Keys))
            {
                // Masked whole, as a credential hole is; and searched for elsewhere in the event the same way.
                MaskCredentialHoles(redactor, logEvent, propertyValues.ValueHoles, ref changes);
                holes = holes is null ? propertyValues.ValueHoles : [.. holes, .. propertyValues.ValueHoles];
            }
            if (found.EntityKeys is { } entityKeys) MaskEntityKeys(redactor, logEvent, entityKeys, ref changes);
            if (found.Pairs is { } pairs && pairs.SensitiveValueHoles(logEvent.Properties, redactor.Keys) is { } values)
            {
                // "{Key}={Value}" with Key "password": masked whole and searched for elsewhere, as a credential hole is.
                MaskCredentialHoles(redactor, logEvent, values, ref changes);
                holes = holes is null ? values : [.. holes, .. values];
            }
        }

        if (changes is not null) MaskEchoes(redactor, logEvent, changes, holes, findings);
        return changes;
    }

    /// <summary>
    /// Properties the template's own text makes a credential (<c>"password={0}"</c>, see
    /// <see cref="TemplateCredentialHoles"/>) are masked whole, whatever their name and whatever the pass made of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void MaskCredentialHoles(Redactor redactor, LogEvent logEvent, string[] holes, ref List<LogEventProperty>? changes)
    {
        foreach (var name in holes)
        {
            if (!logEvent.Properties.TryGetValue(name, out var value) || value is RedactedValue { IsMask: true }) continue;
            var masked = new LogEventProperty(name, redactor.Masker.MaskPropertyValue(value));
            var index = changes is null ? -1 : IndexOf(changes, name);
            if (index >= 0) changes![index] = masked;
            else (changes ??= new List<LogEventProperty>()).Add(masked);
        }
    }

    /// <summary>
    /// The values of the SQL parameters that the template introduces as a list (<c>[Parameters=[{parameters}]</c>, Entity
    /// Framework Core's command events) and that the event's SQL binds to a sensitive column (see
    /// <see cref="SqlParameterList"/>) are masked inside that list; the rest of the list, as the pass left it, is kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void MaskSqlParameters(Redactor redactor, LogEvent logEvent, string name, ref List<LogEventProperty>? changes)
    {
        // A list that a pass with these rules rewrote already (AddObservability runs two) is done.
        if (!logEvent.Properties.TryGetValue(name, out var value) || value is RedactedValue { Rules: { } rules } && rules == redactor.Rules) return;
        // The list as this pass left it: what the detectors masked in it (a value named "@password") stays masked.
        var index = changes is null ? -1 : IndexOf(changes, name);
        if (index >= 0) value = changes![index].Value;
        if (value is RedactedValue { IsMask: true } || value is not ScalarValue { Value: string list }) return;
        var masked = SqlParameterList.Redact(list, name, logEvent.Properties, redactor.Keys, redactor.Masker);
        if (masked is null) return;
        var replacement = new LogEventProperty(name, new RedactedValue(masked, redactor.Rules));
        if (index >= 0) changes![index] = replacement;
        else (changes ??= new List<LogEventProperty>()).Add(replacement);
    }

    /// <summary>
    /// Every value of the key values of an entity type with a sensitive name (see <see cref="EntityKeys"/>) is masked
    /// inside the list, its property names kept: <c>{Value: [REDACTED]}</c> for an <c>ApiKey</c> keyed by its value.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void MaskEntityKeys(Redactor redactor, LogEvent logEvent, EntityKeys entityKeys, ref List<LogEventProperty>? changes)
    {
        for (var i = 0; i < entityKeys.KeyHoles.Length; i++)
        {
            if (!logEvent.Properties.TryGetValue(entityKeys.TypeHoles[i], out var type) || type is not ScalarValue { Value: string typeName } ||
                !PropertyValues.IsSensitiveType(typeName, redactor.Keys))
                continue;
            var name = entityKeys.KeyHoles[i];
            // A list that a pass with these rules rewrote already (AddObservability runs two) is done: masking it again
            // would give a pseudonym of its pseudonyms.
            if (!logEvent.Properties.TryGetValue(name, out var value) || value is RedactedValue { Rules: { } rules } && rules == redactor.Rules) continue;
            // The list as this pass left it: a sensitive key property's value masked already stays so.
            var index = changes is null ? -1 : IndexOf(changes, name);
            if (index >= 0) value = changes![index].Value;
            if (value is RedactedValue { IsMask: true } || value is not ScalarValue { Value: string list }) continue;
            var masked = redactor.Detectors!.MaskEveryKeyValue(list);
            if (masked is null) continue;
            var replacement = new LogEventProperty(name, new RedactedValue(masked, redactor.Rules));
            if (index >= 0) changes![index] = replacement;
            else (changes ??= new List<LogEventProperty>()).Add(replacement);
        }
    }

    /// <summary>Shorter secrets are not searched for in other text: they would mask ordinary words and numbers.</summary>
    internal const int MinimumEchoLength = 4;

    /// <summary>
    /// A secret masked under its sensitive name may also sit inside other text of the same event, rendered there by
    /// someone else: <c>ILogger.BeginScope("Signing in with {Password}", password)</c> adds both a <c>Password</c>
    /// property and a <c>Scope</c> entry with the rendered text. Every other string of the event is searched for the
    /// masked scalars' text (each element's, for a sequence), and each copy masked the same way. Runs only for events
    /// that had something masked.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void MaskEchoes(Redactor redactor, LogEvent logEvent, List<LogEventProperty> changes, string[]? holes, List<string>? findings)
    {
        List<string>? secrets = null;
        foreach (var change in changes)
        {
            if (!logEvent.Properties.TryGetValue(change.Name, out var original) ||
                !(redactor.Keys.IsSensitive(change.Name) || (holes is not null && Array.IndexOf(holes, change.Name) >= 0)))
                continue;

            AddEchoes(ref secrets, original, 0);
        }
        if (findings is not null)
        {
            foreach (var finding in findings) AddEcho(ref secrets, finding);
        }
        if (secrets is null) return;
        // Longest first: a secret that holds a shorter one ("tok-1234", "tok-12345678") is masked whole, not in part.
        if (secrets.Count > 1) secrets.Sort(static (a, b) => b.Length.CompareTo(a.Length));

        foreach (var property in logEvent.Properties)
        {
            var index = IndexOf(changes, property.Key);
            var current = index >= 0 ? changes[index].Value : property.Value;
            var masked = redactor.MaskEchoes(current, secrets, 1);
            if (masked is null) continue;
            var replacement = new LogEventProperty(property.Key, masked);
            if (index >= 0) changes[index] = replacement;
            else changes.Add(replacement);
        }
    }

    /// <summary>
    /// Sequences of secrets under a sensitive name (<c>RefreshTokens</c>, a header's <c>StringValues</c>) are rendered
    /// into other text element by element (<c>"a, b"</c>): each element is searched for. Bounded, as is the number
    /// of texts searched for, so that a huge list cannot make every event cost its length times its text.
    /// </summary>
    const int MaximumEchoDepth = 4;
    internal const int MaximumEchoes = 256;

    static void AddEchoes(ref List<string>? secrets, LogEventPropertyValue value, int depth)
    {
        switch (value)
        {
            case RedactedValue:
                return;
            case ScalarValue { Value: { } scalar }:
                // A secret that is not a string (a Guid API key, a numeric PIN) is rendered into other text as its text.
                switch (scalar)
                {
                    case string text:
                        AddEcho(ref secrets, text);
                        break;
                    case Uri uri:
                        AddEcho(ref secrets, uri.ToString());
                        AddEcho(ref secrets, uri.OriginalString);
                        break;
                    case Guid guid:
                        // "D" (what ToString() writes) is inside "B" and "P"; "N" is the only form without it.
                        AddEcho(ref secrets, guid.ToString("D", CultureInfo.InvariantCulture));
                        AddEcho(ref secrets, guid.ToString("N", CultureInfo.InvariantCulture));
                        break;
                    case int or long or uint or ulong or short or ushort or decimal:
                        AddEcho(ref secrets, ((IFormattable)scalar).ToString(null, CultureInfo.InvariantCulture));
                        AddEcho(ref secrets, ((IFormattable)scalar).ToString(null, CultureInfo.CurrentCulture));
                        break;
                }
                return;
            case SequenceValue sequence when depth < MaximumEchoDepth:
                foreach (var element in sequence.Elements) AddEchoes(ref secrets, element, depth + 1);
                return;
        }
    }

    static void AddEcho(ref List<string>? secrets, string text)
    {
        if (text.Length >= MinimumEchoLength && (secrets is null || secrets.Count < MaximumEchoes) && !Contains(secrets, text))
            (secrets ??= new List<string>()).Add(text);
    }

    static bool Contains(List<string>? values, string value)
    {
        if (values is null) return false;
        foreach (var existing in values)
        {
            if (string.Equals(existing, value, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    static int IndexOf(List<LogEventProperty> changes, string name)
    {
        for (var i = 0; i < changes.Count; i++)
        {
            if (changes[i].Name == name) return i;
        }
        return -1;
    }

    /// <summary>Any other dictionary type: through the interface. Apart, so its try/finally stays out of the hot loop.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void CollectEach(Redactor redactor, IReadOnlyDictionary<string, LogEventPropertyValue> properties, ref List<LogEventProperty>? changes)
    {
        foreach (var property in properties) Collect(redactor, property.Key, property.Value, ref changes);
    }

    static void Collect(Redactor redactor, string name, LogEventPropertyValue value, ref List<LogEventProperty>? changes)
    {
        var replacement = redactor.RedactProperty(name, value);
        if (replacement is not null) (changes ??= new List<LogEventProperty>()).Add(new LogEventProperty(name, replacement));
    }

    /// <summary>The fail-closed fallback: every property replaced by the mask.</summary>
    public static List<LogEventProperty> MaskAll(Redactor redactor, LogEvent logEvent)
    {
        var changes = new List<LogEventProperty>();
        foreach (var property in logEvent.Properties) changes.Add(new LogEventProperty(property.Key, redactor.Masker.Fixed));
        return changes;
    }
}
