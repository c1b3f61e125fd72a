using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Attributes;
using Serilog.Extensions.Observability.Redaction.Detection;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Extensions.Observability.Redaction.Masking;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// The compiled redaction settings and the walk over captured values that the enricher and the sink wrapper share.
/// Every method returns <see langword="null"/> for "unchanged" and allocates only when something is masked.
/// </summary>
sealed class Redactor
{
    /// <summary>Deeper trees are cut and masked whole: Serilog's own capture never gets near, only hand-made values do.</summary>
    internal const int MaximumWalkDepth = 128;

    readonly int _maximumJsonLength;
    readonly TemplateMemo<MessageTemplate> _templates = new();

    /// <summary>Strings of length 2 up to the JSON limit may hold structured text: <c>(uint)(length - 2) &lt; this</c>.</summary>
    readonly uint _structuredLengthSpan;
    /// <summary>Every string must go to the detectors.</summary>
    readonly bool _inspectsAllStrings;
    /// <summary>Numbers must go to the card number detector.</summary>
    readonly bool _inspectsNonStringScalars;

    public Redactor(KeyMatcher keys, Masker masker, ValueDetectors? detectors, int maximumJsonLength, string rules)
    {
        Rules = rules;
        Keys = keys;
        TemplateNames = new SafeTemplateNames(keys);
        Masker = masker;
        Detectors = detectors;
        CredentialHoles = detectors is { DetectsEmbeddedCredentials: true } ? new TemplateCredentialHoles(detectors) : null;
        _maximumJsonLength = maximumJsonLength;
        // Strings of 2 up to the structured-text limit may hold record, pair or JSON text (see MayHoldStructuredText).
        _structuredLengthSpan = (uint)Math.Max(maximumJsonLength, StructuredTextLimit) - 1;
        _inspectsAllStrings = detectors is not null;
        _inspectsNonStringScalars = detectors is { DetectsCardNumbers: true };
    }

    /// <summary>
    /// The settings that decide what is masked, as text: a string this redactor rewrote is done for every redactor
    /// with equal rules, and looked into again by one with other rules.
    /// </summary>
    public string Rules { get; }

    /// <summary>The last strings this redactor read and found nothing to mask in.</summary>
    public CleanTexts Clean { get; } = new();

    public KeyMatcher Keys { get; }
    public SafeTemplateNames TemplateNames { get; }
    public Masker Masker { get; }
    public ValueDetectors? Detectors { get; }

    /// <summary>The template holes that render a credential; <see langword="null"/> unless embedded credentials are detected.</summary>
    public TemplateCredentialHoles? CredentialHoles { get; }

    /// <summary>
    /// The event pass's shortcut for values: <see langword="true"/> when the value is a plain scalar with nothing to
    /// look into, so only its name can make it change. <see langword="false"/> only means "ask
    /// <see cref="RedactProperty"/>". Inlined into the loop; loads and comparisons only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsPlainScalar(LogEventPropertyValue value)
    {
        // An exact type test: structures, sequences, dictionaries and RedactedValue (a subclass) all take the long way.
        if (value.GetType() != typeof(ScalarValue)) return false;
        var inner = Unsafe.As<ScalarValue>(value).Value;
        if (inner is string text)
        {
            // Past the structured-text limit only a record's text is looked into: it has no length limit. With detectors,
            // a text that holds none of their anchors (an id in hex) is plain too: every one of them would pass it by.
            return ((uint)(text.Length - 2) >= _structuredLengthSpan
                       ? !MemberListTextRedactor.EndsLikeMemberList(text)
                       : !EndsLikeStructure(text[^1]) && !MayHoldEmbeddedJson(text))
                   && (!_inspectsAllStrings || Detectors!.HoldsNoAnchor(text));
        }
        // A Uri renders as text, so the detectors read it like a string (a token in a query, a mailto: address).
        return !_inspectsNonStringScalars && !(_inspectsAllStrings && inner is Uri);
    }

    /// <summary>
    /// A plain string scalar whose very instance this redactor read a moment ago and found to hold nothing to mask (see
    /// <see cref="CleanTexts"/>): only its name can make it change.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsRememberedClean(LogEventPropertyValue value) =>
        value.GetType() == typeof(ScalarValue) && Unsafe.As<ScalarValue>(value).Value is string text && Clean.Contains(text);

    /// <summary>ASCII characters a string may end in and still hold structured text: <c>}</c>, <c>]</c> and white space.</summary>
    static ReadOnlySpan<byte> StructureEnds =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
    ];

    /// <summary>What Serilog appends to a string it cut at <c>ToMaximumStringLength</c>: cut JSON still holds its first keys.</summary>
    internal const char TruncationMark = '\u2026';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool EndsLikeStructure(char last) =>
        last < 128 ? StructureEnds[last] != 0 : last == TruncationMark || char.IsWhiteSpace(last);

    /// <summary>The redacted value of an event property, or <see langword="null"/> when it needs no change.</summary>
    public LogEventPropertyValue? RedactProperty(string name, LogEventPropertyValue value)
    {
        // The common cases first, without a try frame: neither the key lookup nor these checks throw.
        if (Keys.IsSensitivePropertyName(name)) return value is RedactedValue { IsMask: true } ? null : Masker.MaskPropertyValue(value);
        // An exact type test: one comparison, and a RedactedValue (a subclass) never matches it.
        string? plainText = null;
        if (value.GetType() == typeof(ScalarValue))
        {
            var scalar = (ScalarValue)value;
            if (scalar.Value is string text)
            {
                if (Detectors is null && !MayHoldStructuredText(text) && !MayHoldEmbeddedJson(text)) return null;
                // This instance was read a moment ago (a constant of an earlier event: a service name, a source context)
                // and held nothing to mask.
                if (Clean.Contains(text)) return null;
                plainText = text;
            }
            else if (Detectors is not { DetectsCardNumbers: true } && !(Detectors is not null && scalar.Value is Uri))
            {
                return null; // Numbers, dates and other non-text scalars: nothing to look into.
            }
        }

        try
        {
            var redacted = RedactValue(value, 1);
            if (redacted is null && plainText is not null) Clean.Add(plainText);
            return redacted;
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("redacting property", name, ex);
            return Masker.Fixed;
        }
    }

    /// <summary>
    /// The longest text searched for <c>[key, value]</c> text. JSON parsing has its own switch and limit
    /// (<c>maximumJsonLength</c>, 0 turns it off); a record's text is masked by its member names whatever that says,
    /// and whatever its length (the README documents no limit for it: one linear scan).
    /// </summary>
    internal const int StructuredTextLimit = 32 * 1024;

    bool WithinStructuredTextLimit(string text) => text.Length <= Math.Max(_maximumJsonLength, StructuredTextLimit);

    bool MayHoldStructuredText(string text) =>
        text.Length >= 2 && EndsLikeStructure(text) && (WithinStructuredTextLimit(text) || MemberListTextRedactor.EndsLikeMemberList(text));

    bool MayParseJson(string text) => _maximumJsonLength > 0 && text.Length <= _maximumJsonLength;

    /// <summary>
    /// JSON may sit inside prose (<c>request failed: {"password":...}</c>, an error message quoting a body): a string
    /// within the JSON limit that holds a bracket anywhere. One vectorised search; most strings hold none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool MayHoldEmbeddedJson(string text) => text.Length <= _maximumJsonLength && text.AsSpan().IndexOfAny('{', '[') >= 0;

    /// <summary>
    /// JSON quoted in an exception's message or <c>ToString()</c> masked by key, as in a string's prose (the rest of the
    /// text kept; a sensitive <c>"key":</c> in JSON that cannot be read masks from its value to the end); not held to
    /// <c>maximumJsonLength</c>, because a stack trace makes the text long, but off when that is 0.
    /// <see langword="null"/> when nothing changed, and at once when the text holds no bracket.
    /// </summary>
    internal string? RedactEmbeddedJson(string text) => _maximumJsonLength > 0 ? JsonTextRedactor.RedactEmbedded(text, this) : null;

    public LogEventPropertyValue? RedactValue(LogEventPropertyValue value, int depth)
    {
        if (depth > MaximumWalkDepth) return value is RedactedValue { IsMask: true } ? null : Masker.Fixed;

        return value switch
        {
            RedactedValue redacted when IsDone(redacted) => null,
            ScalarValue scalar => RedactScalar(scalar),
            StructureValue structure => RedactStructure(structure, depth),
            SequenceValue sequence => RedactSequence(sequence, depth),
            DictionaryValue dictionary => RedactDictionary(dictionary, depth),
            // A value kind this pass cannot look into could render anything: fail closed.
            _ => Masker.Fixed,
        };
    }

    /// <summary>A mask, or text these very rules already rewrote: nothing left to look into.</summary>
    bool IsDone(RedactedValue value) => value.IsMask || string.Equals(value.Rules, Rules, StringComparison.Ordinal);

    LogEventPropertyValue? RedactScalar(ScalarValue scalar)
    {
        switch (scalar.Value)
        {
            case string text:
                var redacted = RedactString(text);
                return redacted is null ? null : new RedactedValue(redacted, Rules);
            case Uri uri when Detectors is not null:
                var detected = Detectors.Redact(uri.ToString());
                return detected is null ? null : new RedactedValue(detected, Rules);
            case long or int or ulong or decimal or double or float when Detectors is { DetectsCardNumbers: true }:
                return IsCardNumber(scalar.Value) ? Masker.MaskObject(scalar.Value) : null;
            default:
                return null;
        }
    }

    static bool IsCardNumber(object value) => value switch
    {
        long l => l > 0 && ValueDetectors.IsCardNumber((ulong)l),
        int => false,
        ulong u => ValueDetectors.IsCardNumber(u),
        decimal d => d > 0 && d == decimal.Truncate(d) && d <= ulong.MaxValue && ValueDetectors.IsCardNumber((ulong)d),
        double d => IsCardNumber(d),
        float f => IsCardNumber((double)f),
        _ => false,
    };

    /// <summary>Below 2^53 a double holds every integer exactly and is written as its digits, like a long.</summary>
    const double LargestExactInteger = 9007199254740992d;

    static bool IsCardNumber(double d) => d is > 0 and < LargestExactInteger && d == Math.Floor(d) && ValueDetectors.IsCardNumber((ulong)d);

    /// <summary>
    /// Masks a string by content: JSON objects and arrays by key, <c>[key, value]</c> pairs (how a
    /// <see cref="KeyValuePair{TKey,TValue}"/> renders when captured without <c>@</c>) by key, then the value detectors.
    /// </summary>
    public string? RedactString(string text)
    {
        var result = RedactStructuredText(text);

        if (Detectors is not null)
        {
            var detected = Detectors.Redact(result ?? text);
            if (detected is not null) result = detected;
        }

        return result;
    }

    /// <summary>
    /// Masks by key the structured text a string holds (JSON, <c>[key, value]</c>, <c>Type { Member = value }</c>),
    /// without the value detectors; <see langword="null"/> when nothing changed.
    /// </summary>
    internal string? RedactStructuredText(string text)
    {
        string? result = null;
        // JSON, "[key, value]" and "Type { Member = value }" all end in a bracket: most strings stop at this test.
        if (MayHoldStructuredText(text))
        {
            if (WithinStructuredTextLimit(text) && LooksStructured(text)) result = RedactPairText(text) ?? (MayParseJson(text) && LooksLikeJson(text) ? JsonTextRedactor.Redact(text, this) : null);
            if (result is null && MemberListTextRedactor.LooksLikeMemberList(text)) result = MemberListTextRedactor.Redact(text, this);
        }
        // JSON inside prose: parsed only when a sensitive key stands in a "key": position after a bracket.
        if (result is null && MayHoldEmbeddedJson(text)) result = JsonTextRedactor.RedactEmbedded(text, this);
        return result;
    }

    static bool EndsLikeStructure(string text) => EndsLikeStructure(text[^1]);

    /// <summary>The text without surrounding white space and a leading byte-order mark (a body read as text may start with one).</summary>
    static ReadOnlySpan<char> StructuredPart(string text)
    {
        var span = text.AsSpan().Trim();
        return span.Length > 0 && span[0] == JsonTextRedactor.ByteOrderMark ? span[1..].TrimStart() : span;
    }

    /// <summary>
    /// Opens with a bracket and ends with one (or was cut): the closer need not match the opener, because
    /// newline-delimited JSON may start with an object and end with an array.
    /// </summary>
    static bool LooksStructured(string text)
    {
        var span = StructuredPart(text);
        return span.Length >= 2 && span[0] is '{' or '[' && span[^1] is '}' or ']' or TruncationMark;
    }

    /// <summary>Saves a parse (and its exception) for text that cannot be JSON: after '{' JSON needs a quote or '}'.</summary>
    static bool LooksLikeJson(string text)
    {
        var span = StructuredPart(text);
        if (span[0] == '[') return true;
        var inner = span[1..].TrimStart();
        return inner.Length > 0 && (inner[0] == '"' || inner[0] == '}');
    }

    // Pairs within pairs ("[a, [b, [c, ...]]]") are taken apart by recursion, each level copying the rest: past this
    // depth the value is masked whole (fail closed) instead of costing quadratic time and the thread's stack.
    const int MaximumPairTextDepth = 16;

    [ThreadStatic] static int t_pairTextDepth;

    string? RedactPairText(string text)
    {
        // KeyValuePair<TKey, TValue>.ToString() is "[key, value]".
        if (text[0] != '[' || text[^1] != ']') return null;
        if (t_pairTextDepth >= MaximumPairTextDepth) return Masker.MaskText(text);
        t_pairTextDepth++;
        try
        {
            return RedactPairTextCore(text);
        }
        finally
        {
            t_pairTextDepth--;
        }
    }

    string? RedactPairTextCore(string text)
    {
        var comma = text.IndexOf(", ", StringComparison.Ordinal);
        if (comma <= 1) return null;
        var key = text.Substring(1, comma - 1);
        if (key.AsSpan().IndexOfAny("\"[]{}") >= 0) return null;
        var value = text.Substring(comma + 2, text.Length - comma - 3);
        if (Keys.IsSensitive(key)) return string.Concat("[", key, ", ", Masker.MaskText(value), "]");
        // The value of a pair is itself often structured text: a JsonNode, a record.
        return RedactString(value) is { } redacted ? string.Concat("[", key, ", ", redacted, "]") : null;
    }

    LogEventPropertyValue? RedactStructure(StructureValue structure, int depth)
    {
        var properties = structure.Properties;
        var attributed = structure.TypeTag is { } tag ? AttributedTypeIndex.Find(tag) : null;
        var maskPairValue = IsPairShape(structure) && IsSensitiveKey(properties[0].Value);

        LogEventProperty[]? copy = null;
        var count = 0;
        for (var i = 0; i < properties.Count; i++)
        {
            var property = properties[i];
            var omit = attributed is not null && attributed.NotLogged.Contains(property.Name);
            LogEventPropertyValue? replacement = null;
            if (!omit)
            {
                if (Keys.IsSensitive(property.Name) ||
                    (attributed is not null && attributed.Sensitive.Contains(property.Name)) ||
                    (maskPairValue && i == 1))
                {
                    replacement = property.Value is RedactedValue { IsMask: true } ? null : Masker.MaskPropertyValue(property.Value);
                }
                else
                {
                    replacement = RedactChild(property.Name, property.Value, depth);
                }
            }

            if (copy is null && (omit || replacement is not null))
            {
                copy = new LogEventProperty[properties.Count];
                for (var j = 0; j < i; j++) copy[j] = properties[j];
                count = i;
            }

            if (copy is not null && !omit) copy[count++] = replacement is null ? property : new LogEventProperty(property.Name, replacement);
        }

        if (copy is null) return null;
        if (count != copy.Length) Array.Resize(ref copy, count);
        return new StructureValue(copy, structure.TypeTag);
    }

    /// <summary>A <c>KeyValuePair`2</c> or <c>DictionaryEntry</c> as Serilog destructures it: <c>{ Key, Value }</c>.</summary>
    static bool IsPairShape(StructureValue structure) =>
        structure.TypeTag is "KeyValuePair`2" or "DictionaryEntry" &&
        structure.Properties.Count == 2 && structure.Properties[0].Name == "Key" && structure.Properties[1].Name == "Value";

    bool IsSensitiveKey(LogEventPropertyValue key)
    {
        if (key is not ScalarValue scalar || scalar.Value is null) return false;
        try
        {
            return Keys.IsSensitive(KeyText(scalar.Value));
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("reading a dictionary key", ex);
            return true;
        }
    }

    /// <summary>
    /// Whether a two-element sequence's first element names a sensitive key: a tuple of (name, value) is captured by
    /// Serilog as <c>["api_key", "..."]</c> (an <c>ILogger.BeginScope(("api_key", key))</c> scope, header pairs).
    /// </summary>
    internal bool IsSensitivePairName(LogEventPropertyValue first) => first is ScalarValue { Value: string name } && IsSensitivePairName(name);

    /// <inheritdoc cref="IsSensitivePairName(LogEventPropertyValue)"/>
    internal bool IsSensitivePairName(string name) => LooksLikeKeyName(name) && Keys.IsSensitive(name);

    /// <summary>
    /// The key rules find sensitive words anywhere in a text, so only a name is asked: up to the longest cached key
    /// name, of letters, digits, <c>_ - . :</c> and spaces. Other text (<c>"[Authorization, ...]"</c>, a sentence with a
    /// comma, data longer than a name) is a value, not a key, and its pair is left alone; that also keeps such pairs from
    /// going through the key rules on every event. A dotted name whose every part starts with a capital
    /// (<c>MyApp.Models.Credentials</c>) is a type's name, what an object without its own <c>ToString()</c> is captured
    /// as in a list; <c>db.password</c> and <c>client.secret</c> are keys. A scan without allocation.
    /// </summary>
    internal static bool LooksLikeKeyName(string name)
    {
        if (name.Length is 0 or > KeyMatcher.MaximumCachedKeyLength) return false;
        var dotted = false;
        var typeName = char.IsUpper(name[0]);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == '.')
            {
                dotted = true;
                if (i + 1 == name.Length || !char.IsUpper(name[i + 1])) typeName = false;
            }
            else if (!char.IsLetterOrDigit(c))
            {
                if (c is not ('_' or '-' or ':' or ' ')) return false;
                typeName = false;
            }
        }
        return !(dotted && typeName);
    }

    internal static string? KeyText(object? key) => key switch
    {
        null => null,
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => key.ToString(),
    };

    LogEventPropertyValue? RedactSequence(SequenceValue sequence, int depth)
    {
        var elements = sequence.Elements;
        var maskPairValue = elements.Count == 2 && IsSensitivePairName(elements[0]);
        LogEventPropertyValue[]? copy = null;
        for (var i = 0; i < elements.Count; i++)
        {
            var element = elements[i];
            var replacement = maskPairValue && i == 1
                ? (element is RedactedValue { IsMask: true } ? null : Masker.MaskPropertyValue(element))
                : RedactChild(null, element, depth);
            if (replacement is null) continue;
            if (copy is null)
            {
                copy = new LogEventPropertyValue[elements.Count];
                for (var j = 0; j < i; j++) copy[j] = elements[j];
            }
            copy[i] = replacement;
        }

        if (copy is null) return null;
        for (var i = 0; i < copy.Length; i++) copy[i] ??= elements[i];
        return new SequenceValue(copy);
    }

    static readonly ScalarValue TypeEntryKey = new(AttributedTypeIndex.TypeEntryName);
    static readonly ScalarValue DisplacedTypeEntryKey = new(AttributedTypeIndex.DisplacedTypeEntryName);

    /// <summary>A change that leaves the element out: a <see cref="NotLoggedAttribute"/> member.</summary>
    static readonly ScalarValue Omitted = new(null);

    LogEventPropertyValue? RedactDictionary(DictionaryValue dictionary, int depth)
    {
        Dictionary<ScalarValue, KeyValuePair<ScalarValue, LogEventPropertyValue>>? changes = null;
        // An exception destructurer's dictionary names the exception's type (under "$Type" when the exception has a Type
        // property of its own): its [Sensitive] and [NotLogged] members.
        var attributed = AttributedTypeIndex.FindByTypeEntry(
            dictionary.Elements.TryGetValue(DisplacedTypeEntryKey, out var displaced) ? (displaced as ScalarValue)?.Value : null,
            dictionary.Elements.TryGetValue(TypeEntryKey, out var type) ? (type as ScalarValue)?.Value : null);
        if (dictionary.Elements is Dictionary<ScalarValue, LogEventPropertyValue> concrete)
        {
            // The concrete type's struct enumerator: walking a dictionary that needs no change allocates nothing.
            foreach (var element in concrete) Visit(element.Key, element.Value, attributed, ref changes, depth);
        }
        else
        {
            foreach (var element in dictionary.Elements) Visit(element.Key, element.Value, attributed, ref changes, depth);
        }

        if (changes is null) return null;

        // Keys that keep their text are reserved first, so a masked key never takes the place of another.
        var taken = new Dictionary<ScalarValue, bool>(dictionary.Elements.Count);
        foreach (var element in dictionary.Elements)
        {
            if (!changes.TryGetValue(element.Key, out var change) || ReferenceEquals(change.Key, element.Key)) taken[element.Key] = true;
        }

        var result = new List<KeyValuePair<ScalarValue, LogEventPropertyValue>>(dictionary.Elements.Count);
        Dictionary<string, int>? nextSuffix = null;
        foreach (var element in dictionary.Elements)
        {
            if (!changes.TryGetValue(element.Key, out var change))
            {
                result.Add(element);
                continue;
            }

            if (ReferenceEquals(change.Value, Omitted)) continue;
            var key = change.Key;
            if (!ReferenceEquals(key, element.Key))
            {
                key = UniqueKey(key, taken, ref nextSuffix);
                taken[key] = true;
            }
            result.Add(new KeyValuePair<ScalarValue, LogEventPropertyValue>(key, change.Value));
        }
        return new DictionaryValue(result);
    }

    void Visit(ScalarValue key, LogEventPropertyValue value, AttributedMembers? attributed, ref Dictionary<ScalarValue, KeyValuePair<ScalarValue, LogEventPropertyValue>>? changes, int depth)
    {
        LogEventPropertyValue? replacement;
        var member = attributed is not null && key.Value is string name ? AttributedTypeIndex.MemberName(name) : null;
        if (member is not null && attributed!.NotLogged.Contains(member))
        {
            (changes ??= new()).Add(key, new(key, Omitted));
            return;
        }

        if (IsSensitiveKey(key) || (member is not null && attributed!.Sensitive.Contains(member))) replacement = value is RedactedValue { IsMask: true } ? null : Masker.MaskPropertyValue(value);
        else replacement = RedactChild(null, value, depth);
        var maskedKey = RedactKey(key);
        if (replacement is not null || maskedKey is not null) (changes ??= new()).Add(key, new(maskedKey ?? key, replacement ?? value));
    }

    /// <summary>
    /// A dictionary key with the value detectors' findings masked (a key is a string in the event too: counts per
    /// e-mail address, cards by number), or <see langword="null"/> when it needs no change.
    /// </summary>
    internal ScalarValue? RedactKey(ScalarValue key)
    {
        if (Detectors is null || key.Value is not string text || (key is RedactedValue redacted && IsDone(redacted))) return null;
        var masked = Detectors.Redact(text);
        return masked is null ? null : new RedactedValue(masked, Rules);
    }

    /// <summary>
    /// <paramref name="key"/>, or when <paramref name="taken"/> holds it already (two keys masked to the same text),
    /// the first of <c>key#2</c>, <c>key#3</c>, ... that it does not: every value stays, none replaces another.
    /// </summary>
    /// <remarks>
    /// The caller adds the key returned to <paramref name="taken"/>, which only grows; <paramref name="nextSuffix"/>
    /// remembers per text where the search stopped, so keys that all mask to one text cost one step each, not a search
    /// from <c>#2</c> (quadratic in a dictionary's size).
    /// </remarks>
    internal ScalarValue UniqueKey<TValue>(ScalarValue key, Dictionary<ScalarValue, TValue> taken, ref Dictionary<string, int>? nextSuffix)
    {
        if (!taken.ContainsKey(key)) return key;
        var text = key.Value?.ToString() ?? "";
        nextSuffix ??= new Dictionary<string, int>(StringComparer.Ordinal);
        for (var n = nextSuffix.TryGetValue(text, out var next) ? next : 2; ; n++)
        {
            var candidate = new RedactedValue(text + "#" + n.ToString(CultureInfo.InvariantCulture), Rules);
            if (taken.ContainsKey(candidate)) continue;
            nextSuffix[text] = n + 1;
            return candidate;
        }
    }

    LogEventPropertyValue? RedactChild(string? name, LogEventPropertyValue value, int depth)
    {
        // Scalars are the common case: no try/catch frame or recursion for them.
        if (value is ScalarValue { Value: not string and not Uri } and not RedactedValue && Detectors is not { DetectsCardNumbers: true }) return null;
        try
        {
            return RedactValue(value, depth + 1);
        }
        catch (Exception ex)
        {
            if (name is null) RedactionFailures.Report("redacting a nested value", ex);
            else RedactionFailures.Report("redacting member", name, ex);
            return Masker.Fixed;
        }
    }

    /// <summary>
    /// <paramref name="value"/> with every copy of the <paramref name="secrets"/> inside its text masked, or
    /// <see langword="null"/> when it holds none. Masks are left alone.
    /// </summary>
    public LogEventPropertyValue? MaskEchoes(LogEventPropertyValue value, List<string> secrets, int depth)
    {
        if (depth > MaximumWalkDepth) return null;
        switch (value)
        {
            case RedactedValue { IsMask: true }:
                return null;
            case ScalarValue { Value: string text } scalar:
                var masked = MaskEchoes(text, secrets);
                return masked is null ? null : new RedactedValue(masked, scalar is RedactedValue redacted ? redacted.Rules! : Rules);
            case ScalarValue { Value: Uri uri }:
                // Written as its text by every sink: a redirect or callback address may carry the secret in its query.
                var maskedUri = MaskEchoes(uri.ToString(), secrets);
                return maskedUri is null ? null : new RedactedValue(maskedUri, Rules);
            case StructureValue structure:
            {
                LogEventProperty[]? copy = null;
                for (var i = 0; i < structure.Properties.Count; i++)
                {
                    var property = structure.Properties[i];
                    var replacement = MaskEchoes(property.Value, secrets, depth + 1);
                    if (replacement is null) continue;
                    copy ??= structure.Properties.ToArray();
                    copy[i] = new LogEventProperty(property.Name, replacement);
                }
                return copy is null ? null : new StructureValue(copy, structure.TypeTag);
            }
            case SequenceValue sequence:
            {
                LogEventPropertyValue[]? copy = null;
                for (var i = 0; i < sequence.Elements.Count; i++)
                {
                    var replacement = MaskEchoes(sequence.Elements[i], secrets, depth + 1);
                    if (replacement is null) continue;
                    copy ??= sequence.Elements.ToArray();
                    copy[i] = replacement;
                }
                return copy is null ? null : new SequenceValue(copy);
            }
            case DictionaryValue dictionary:
            {
                List<KeyValuePair<ScalarValue, LogEventPropertyValue>>? copy = null;
                var index = 0;
                var keysChanged = false;
                foreach (var element in dictionary.Elements)
                {
                    var replacement = MaskEchoes(element.Value, secrets, depth + 1);
                    // A key is written as its text too: usage or quota counts keyed by the API key itself.
                    var maskedKey = MaskEchoesInKey(element.Key, secrets);
                    if (replacement is not null || maskedKey is not null)
                    {
                        copy ??= new List<KeyValuePair<ScalarValue, LogEventPropertyValue>>(dictionary.Elements);
                        copy[index] = new KeyValuePair<ScalarValue, LogEventPropertyValue>(maskedKey ?? element.Key, replacement ?? element.Value);
                        keysChanged |= maskedKey is not null;
                    }
                    index++;
                }
                if (copy is null) return null;
                return new DictionaryValue(keysChanged ? WithUniqueKeys(dictionary, copy) : copy);
            }
            default:
                return null;
        }
    }

    ScalarValue? MaskEchoesInKey(ScalarValue key, List<string> secrets)
    {
        if (key is RedactedValue { IsMask: true } || KeyText(key.Value) is not { } text) return null;
        var masked = MaskEchoes(text, secrets);
        return masked is null ? null : new RedactedValue(masked, key is RedactedValue { Rules: { } rules } ? rules : Rules);
    }

    /// <summary>
    /// <paramref name="entries"/> with each masked key made unique, as <see cref="RedactDictionary"/> does: keys that
    /// kept their text are reserved first, so a masked key never takes the place of another entry.
    /// </summary>
    List<KeyValuePair<ScalarValue, LogEventPropertyValue>> WithUniqueKeys(DictionaryValue original, List<KeyValuePair<ScalarValue, LogEventPropertyValue>> entries)
    {
        var taken = new Dictionary<ScalarValue, bool>(entries.Count);
        var index = 0;
        foreach (var element in original.Elements)
        {
            if (ReferenceEquals(entries[index].Key, element.Key)) taken[element.Key] = true;
            index++;
        }

        Dictionary<string, int>? nextSuffix = null;
        index = 0;
        foreach (var element in original.Elements)
        {
            var key = entries[index].Key;
            if (!ReferenceEquals(key, element.Key))
            {
                key = UniqueKey(key, taken, ref nextSuffix);
                taken[key] = true;
                entries[index] = new KeyValuePair<ScalarValue, LogEventPropertyValue>(key, entries[index].Value);
            }
            index++;
        }
        return entries;
    }

    string? MaskEchoes(string text, List<string> secrets)
    {
        string? result = null;
        foreach (var secret in secrets)
        {
            var current = result ?? text;
            if (current.Contains(secret, StringComparison.Ordinal)) result = current.Replace(secret, Masker.MaskText(secret), StringComparison.Ordinal);
        }
        return result;
    }

    /// <summary>
    /// The template with detected secrets masked in its text, or the same instance; cached per template that comes back
    /// (never one over <see cref="SafeTemplateNames.MaximumTemplateLength"/> characters: Serilog parses those anew for
    /// every event).
    /// </summary>
    public MessageTemplate RedactTemplate(MessageTemplate template)
    {
        if (Detectors is null) return template;
        if (_templates.TryGetValue(template, out var cached)) return cached;

        MessageTemplate result;
        try
        {
            result = BuildTemplate(template);
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("redacting the message template", ex);
            result = new MessageTemplate(new MessageTemplateToken[] { new TextToken(Masker.Fixed.Value as string ?? "") });
        }
        _templates.Remember(template, result);
        return result;
    }

    MessageTemplate BuildTemplate(MessageTemplate template)
    {
        if (HasAdjacentTextTokens(template)) return BuildTemplateOfTextRuns(template);
        List<MessageTemplateToken>? tokens = null;
        var index = 0;
        foreach (var token in template.Tokens)
        {
            if ((token is TextToken text ? RedactTemplateText(text.Text) : RedactHoleFormat(token)) is { } masked)
            {
                tokens ??= template.Tokens.Take(index).ToList();
                tokens.Add(new TextToken(masked));
            }
            else
            {
                tokens?.Add(token);
            }
            index++;
        }

        return tokens is null ? template : TemplateOf(tokens);
    }

    /// <summary>
    /// A template's text masked as an exception's message is: JSON it holds by key (a body interpolated into the message,
    /// <c>$"Body: {body}"</c>; nothing is parsed without a bracket and a sensitive <c>"key":</c> after it), then the
    /// detectors; <see langword="null"/> when nothing changed. Runs until the template is cached (one that comes back, of
    /// at most <see cref="SafeTemplateNames.MaximumTemplateLength"/> characters), and for every event of a longer one, as
    /// the detectors do.
    /// </summary>
    string? RedactTemplateText(string text)
    {
        var result = RedactEmbeddedJson(text);
        return Detectors!.Redact(result ?? text) ?? result;
    }

    /// <summary>
    /// A hole's text with a detected secret in its format masked (Serilog 4 reads <c>"{note: password=x}"</c> as a hole
    /// named <c>note</c> whose format is <c>password=x</c>, written as it stands when the event has no such property), or
    /// <see langword="null"/>: the hole becomes text, its property kept among the event's properties.
    /// </summary>
    string? RedactHoleFormat(MessageTemplateToken token) =>
        token is PropertyToken { Format: not null } hole ? Detectors!.Redact(hole.ToString()) : null;

    /// <summary>
    /// Whether two text tokens follow each other: Serilog's parser ends one at a brace that opens no hole, and at an
    /// <c>=</c> inside it (<c>"Login {note: password=x}"</c> is three on Serilog 3), so a key and its value may lie in two.
    /// </summary>
    static bool HasAdjacentTextTokens(MessageTemplate template)
    {
        var previousText = false;
        foreach (var token in template.Tokens)
        {
            var text = token is TextToken;
            if (text && previousText) return true;
            previousText = text;
        }
        return false;
    }

    /// <summary>
    /// <see cref="BuildTemplate"/> for a template whose text tokens come in runs: each run is read as the one text it
    /// renders to, and replaced by one token when something in it is masked.
    /// </summary>
    MessageTemplate BuildTemplateOfTextRuns(MessageTemplate template)
    {
        var all = template.Tokens.ToArray();
        List<MessageTemplateToken>? tokens = null;
        var index = 0;
        while (index < all.Length)
        {
            var end = index;
            while (end < all.Length && all[end] is TextToken) end++;
            if (end == index)
            {
                if (RedactHoleFormat(all[index]) is { } maskedHole)
                {
                    tokens ??= all.Take(index).ToList();
                    tokens.Add(new TextToken(maskedHole));
                }
                else tokens?.Add(all[index]);
                index++;
                continue;
            }
            var text = end - index == 1 ? ((TextToken)all[index]).Text : string.Concat(all[index..end].Select(t => ((TextToken)t).Text));
            if (RedactTemplateText(text) is { } masked)
            {
                tokens ??= all.Take(index).ToList();
                tokens.Add(new TextToken(masked));
            }
            else
            {
                for (var i = index; i < end; i++) tokens?.Add(all[i]);
            }
            index = end;
        }

        return tokens is null ? template : TemplateOf(tokens);
    }

    /// <summary>A template of the tokens, its text written back with the braces of its text tokens doubled.</summary>
    static MessageTemplate TemplateOf(List<MessageTemplateToken> tokens)
    {
        var textBuilder = new StringBuilder();
        foreach (var token in tokens)
        {
            if (token is TextToken t) textBuilder.Append(t.Text.Replace("{", "{{").Replace("}", "}}"));
            else textBuilder.Append(token);
        }
        return new MessageTemplate(textBuilder.ToString(), tokens);
    }
}
