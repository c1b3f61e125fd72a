using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Detection;

/// <summary>
/// Finds secrets inside string values, whatever their key: card numbers (Luhn-checked), JWTs, bearer tokens,
/// e-mail addresses, credentials written as <c>key=value</c>, in a URL's user info or in an HTTP header line
/// (<c>Authorization: Basic ...</c>), secrets in a vendor's known format
/// (<see cref="KnownTokenFormats"/>, read without a pattern), and user patterns. Every expression has a match timeout and is built once per process (see <see cref="DetectorPatterns"/>); each detector first
/// runs a cheap check (a digit count, <c>eyJ</c>, <c>bearer</c>, <c>@</c>) so that ordinary strings cost a scan.
/// </summary>
sealed class ValueDetectors
{
    readonly Masker _masker;
    readonly KeyMatcher? _credentialKeys;
    readonly bool _knownTokenFormats;
    readonly Regex? _card;
    readonly Regex? _jwt;
    readonly Regex? _bearer;
    readonly Regex? _email;
    readonly Regex[] _patterns;
    readonly SearchValues<char>? _anchors;
    readonly MatchEvaluator _maskCard;
    readonly MatchEvaluator _maskMatch;
    readonly MatchEvaluator _maskBearer;

    ValueDetectors(Masker masker, KeyMatcher keys, RedactionOptions options, string patternsName)
    {
        _masker = masker;
        if (options.DetectEmbeddedCredentials) _credentialKeys = keys;
        _knownTokenFormats = options.DetectKnownTokenFormats;
        var timeout = options.PatternMatchTimeout;

        // 13-19 digits, single spaces or dashes allowed between them, not glued to other digits. Digits of any script:
        // a card number typed on a Persian or Arabic keyboard (۴۱۱۱ ۱۱۱۱ ...) or in full width is as much a card number.
        if (options.DetectCardNumbers) _card = DetectorPatterns.CardNumbers(timeout);
        if (options.DetectJwts) _jwt = DetectorPatterns.Jwts(timeout);
        if (options.DetectBearerTokens) _bearer = DetectorPatterns.BearerTokens(timeout);
        if (options.DetectEmailAddresses) _email = DetectorPatterns.EmailAddresses(timeout);

        var patterns = new List<Regex>();
        foreach (var pattern in options.ValuePatterns)
        {
            if (string.IsNullOrEmpty(pattern))
                throw new ArgumentException("A value pattern must not be empty.", patternsName);
            try
            {
                patterns.Add(DetectorPatterns.ValuePattern(pattern, timeout));
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"The value pattern '{pattern}' is not a valid regular expression: {ex.Message}", patternsName, ex);
            }
        }
        _patterns = patterns.ToArray();
        _anchors = AnchorsOf(options, _patterns.Length);

        _maskCard = MaskCard;
        _maskMatch = MaskMatch;
        _maskBearer = MaskBearer;
    }

    /// <summary>The detectors the options turn on, or <see langword="null"/> when none is.</summary>
    /// <param name="masker">Masks what is found.</param>
    /// <param name="keys">Decides which keys of <c>key=value</c> text are sensitive.</param>
    /// <param name="options">The detectors to turn on.</param>
    /// <param name="patternsName">The name an invalid value pattern is reported under.</param>
    public static ValueDetectors? Create(Masker masker, KeyMatcher keys, RedactionOptions options, string patternsName) =>
        options.DetectCardNumbers || options.DetectJwts || options.DetectBearerTokens || options.DetectEmailAddresses
        || options.DetectEmbeddedCredentials || options.DetectKnownTokenFormats || options.ValuePatterns.Count > 0
            ? new ValueDetectors(masker, keys, options, patternsName)
            : null;

    public bool DetectsCardNumbers => _card is not null;

    /// <summary>
    /// The characters at least one of which every text the turned-on detectors could change holds, or
    /// <see langword="null"/> when a detector needs every text read (card numbers are digits, which ids are full of;
    /// a user's pattern may match anything). Each detector below starts with a test for one of these (<c>=</c>,
    /// <c>%</c>, <c>://</c>, <c>{</c> and <c>:</c> for embedded credentials, <c>eyJ</c> for a JWT, <c>bearer</c> in any
    /// case, <c>@</c> or <c>%40</c> for an address, an armor line's <c>-</c> and a known token's <c>A</c>, <c>_</c> or
    /// <c>-</c>), so a text without any of them would come back unchanged from every one: one vectorised search
    /// instead of a search per detector. Ids (a trace id, a span id, a correlation id in hex) are such texts.
    /// </summary>
    static SearchValues<char>? AnchorsOf(RedactionOptions options, int patterns)
    {
        if (options.DetectCardNumbers || patterns > 0) return null;
        var anchors = new StringBuilder();
        if (options.DetectEmbeddedCredentials) anchors.Append("=%:{");
        if (options.DetectJwts) anchors.Append('J');
        // "bearer" compared ignoring case: only 'r' and 'R' fold to 'R'.
        if (options.DetectBearerTokens) anchors.Append("rR");
        if (options.DetectEmailAddresses) anchors.Append("@%");
        if (options.DetectKnownTokenFormats) anchors.Append("-A_");
        return SearchValues.Create(anchors.ToString());
    }

    /// <summary>Whether no detector could change <paramref name="text"/>: it holds none of their anchors (see <see cref="AnchorsOf"/>).</summary>
    public bool HoldsNoAnchor(string text) => _anchors is not null && !text.AsSpan().ContainsAny(_anchors);

    /// <summary>
    /// While set on this thread, each value the embedded-credential detector masks is added to it (up to
    /// <see cref="MaximumFindings"/>), so that the event pass can mask other copies of it in the same event: a scope's
    /// rendered text (<c>"password=x"</c>) beside the property its template filled in (<c>"Pw":"x"</c>).
    /// </summary>
    [ThreadStatic] static List<string>? t_credentialFindings;

    const int MaximumFindings = 256;

    /// <summary>The list the embedded-credential detector adds what it masks to, on this thread; see <see cref="t_credentialFindings"/>.</summary>
    internal static List<string>? CredentialFindings
    {
        get => t_credentialFindings;
        set => t_credentialFindings = value;
    }

    static void Found(string value)
    {
        var findings = t_credentialFindings;
        if (findings is null || findings.Count >= MaximumFindings) return;
        findings.Add(value);
        // A quoted or braced value is filled in without its quotes or braces.
        if (value.Length > 2 && value[0] is '"' or '\'' or '{' && value[^1] is '"' or '\'' or '}')
        {
            findings.Add(value[1..^1]);
            return;
        }
        // Prose puts a comma, a bracket or a full stop right after a value, and an unquoted value is masked with it
        // ("password=x, as ann"): the property filled in holds the value without it.
        var end = value.Length;
        while (end > 0 && value[end - 1] is ',' or '.' or ';' or ':' or '!' or '?' or ')' or ']' or '}' or '>') end--;
        if (end > 0 && end < value.Length) findings.Add(value[..end]);
    }

    /// <summary>Whether credentials written as <c>key=value</c> or in a URL are looked for.</summary>
    public bool DetectsEmbeddedCredentials => _credentialKeys is not null;

    /// <summary>
    /// The text with only the credentials written as <c>key=value</c>, in a URL's user info or in a header line masked, or
    /// <see langword="null"/> when there are none or that detector is off; the other detectors are not run.
    /// </summary>
    /// <remarks>A timed-out expression masks the whole text (fail closed).</remarks>
    public string? RedactEmbeddedCredentials(string text)
    {
        if (_credentialKeys is null || text.Length == 0) return null;
        var result = text;
        try
        {
            if (result.Contains('=')) result = MaskKeyValuesAndFormFields(result, _credentialKeys);
            if (result.Contains('%') && result.Contains(EncodedEquals, StringComparison.OrdinalIgnoreCase)) result = MaskEncodedKeyValues(result, _credentialKeys);
            if (result.Contains("://", StringComparison.Ordinal)) result = MaskUrlPasswords(result);
            if (result.Contains('{')) result = MaskEntityKeyValues(result, _credentialKeys);
            if (result.Contains(':')) result = MaskHeaderLines(result, _credentialKeys);
        }
        catch (RegexMatchTimeoutException ex)
        {
            RedactionFailures.Report("a value detector", ex);
            return _masker.Fixed.Value as string;
        }

        return ReferenceEquals(result, text) || result == text ? null : result;
    }

    /// <summary>The text with every detected secret masked, or <see langword="null"/> when nothing was found.</summary>
    /// <remarks>A timed-out expression masks the whole text (fail closed).</remarks>
    public string? Redact(string text)
    {
        if (text.Length == 0 || HoldsNoAnchor(text)) return null;
        var result = text;
        try
        {
            // First: a private key's BEGIN line is what marks its body, and a "private_key=" pair would mask it alone.
            if (_knownTokenFormats) result = KnownTokenFormats.MaskPrivateKeyBlocks(result, _masker);
            if (_credentialKeys is not null)
            {
                if (result.Contains('=')) result = MaskKeyValuesAndFormFields(result, _credentialKeys);
                if (result.Contains('%') && result.Contains(EncodedEquals, StringComparison.OrdinalIgnoreCase)) result = MaskEncodedKeyValues(result, _credentialKeys);
                if (result.Contains("://", StringComparison.Ordinal)) result = MaskUrlPasswords(result);
                if (result.Contains('{')) result = MaskEntityKeyValues(result, _credentialKeys);
                // Last: a value the passes above masked in part (Cookie: session=[REDACTED]; theme=dark) is masked whole.
                if (result.Contains(':')) result = MaskHeaderLines(result, _credentialKeys);
            }
            if (_card is not null && CountDigits(result) >= 13) result = _card.Replace(result, _maskCard);
            if (_jwt is not null && result.Contains("eyJ", StringComparison.Ordinal)) result = _jwt.Replace(result, _maskMatch);
            if (_bearer is not null && result.Contains("bearer", StringComparison.OrdinalIgnoreCase)) result = _bearer.Replace(result, _maskBearer);
            if (_email is not null && (result.Contains('@') || result.Contains("%40", StringComparison.Ordinal)))
                result = _email.Replace(result, _maskMatch);
            foreach (var pattern in _patterns) result = pattern.Replace(result, _maskMatch);
            // Last: a token after a sensitive key or "Bearer" keeps the mask (and the pseudonym) those detectors give it.
            if (_knownTokenFormats) result = KnownTokenFormats.MaskTokens(result, _masker);
        }
        catch (RegexMatchTimeoutException ex)
        {
            RedactionFailures.Report("a value detector", ex);
            return _masker.Fixed.Value as string;
        }

        return ReferenceEquals(result, text) || result == text ? null : result;
    }

    string MaskKeyValuesAndFormFields(string text, KeyMatcher keys)
    {
        var result = MaskKeyValues(text, keys);
        var escaped = result.Contains(EscapedLessThan, StringComparison.OrdinalIgnoreCase);
        var referenced = (result.Contains('&') || result.Contains(EscapedAmpersand, StringComparison.OrdinalIgnoreCase))
                         && HoldsReference(result, '<');
        return escaped || referenced || result.Contains('<') ? MaskFormFields(result, keys, escaped, referenced) : result;
    }

    // A page held in a JSON string by System.Text.Json's default encoder has its markup escaped: \u003C, \u0022, \u003E.
    const string EscapedLessThan = "\\u003c";

    // It escapes '&' too: an HTML-encoded page in a JSON string has its references written \u0026lt;, \u0026quot;.
    const string EscapedAmpersand = "\\u0026";

    /// <summary>
    /// Masks the values of every HTML form field (or <c>meta</c> element) whose name the rules call sensitive as a form
    /// parameter: the page of OpenID Connect's <c>response_mode=form_post</c> and of SAML's POST binding carries the
    /// credentials in <c>&lt;input type="hidden" name="code" value="..."/&gt;</c>, the pairs of the body the browser then
    /// posts. The <c>name</c> and the <c>value</c> (or <c>content</c>) are attributes of one element, in either order,
    /// quoted or not. An attribute written twice counts each time: every value is masked when any name is sensitive
    /// (browsers take the first, servers the first or the last). A <c>textarea</c>'s value is its content, up to its end
    /// tag (or the end of the text). A <c>select</c>'s value is its chosen option's: every option's value (or its text,
    /// when it has none) is masked up to the select's end tag (or the input, textarea or keygen that ends it in HTML) when the select's name is sensitive anywhere; one sensitive
    /// only as a form parameter (<c>state</c>, <c>code</c>) names an ordinary list (a state, a country's code). Each
    /// element is read left to right, without a pattern, again only when it is a field to mask. A page in a JSON string
    /// is read through its escapes (<c>\"</c>, <c>\u003C</c>, <c>\u0022</c>, <c>\u0027</c>,
    /// <c>\u003E</c>, a line break as <c>\n</c>, <c>\/</c> in an end tag), an HTML-encoded page through its character
    /// references (<c>&amp;lt;</c>, <c>&amp;quot;</c>, <c>&amp;#34;</c>, <c>&amp;#x22;</c>, <c>&amp;#39;</c>, <c>&amp;gt;</c>),
    /// and both at once (<c>\u0026lt;</c>, <c>\u0026quot;</c>); a page encoded twice through references whose
    /// <c>&amp;</c> is one too (<c>&amp;amp;lt;</c>, <c>&amp;#38;quot;</c>, <c>\u0026amp;gt;</c>).
    /// </summary>
    string MaskFormFields(string text, KeyMatcher keys, bool escaped, bool referenced)
    {
        StringBuilder? result = null;
        var copied = 0;
        var search = 0;
        // Inside a select whose name is sensitive anywhere: its options' values are the field's value.
        var inSensitiveSelect = false;
        while (search < text.Length)
        {
            var rest = text.AsSpan(search);
            var found = referenced ? rest.IndexOfAny('<', '\\', '&')
                : escaped ? rest.IndexOfAny('<', '\\')
                : rest.IndexOf('<');
            if (found < 0) break;
            var open = search + found;
            search = open + 1;
            // An element opened by a reference (&lt;) is HTML-encoded whole: its quotes and its end are references too. In
            // markup written as it is, a reference is part of a value (value=p&gt;ss is "p>ss"). One opened by a reference
            // whose '&' is one too (&amp;lt;) is encoded twice, and only what is encoded twice ends its parts.
            var encodings = 0;
            int tag;
            if (text[open] == '<') tag = open + 1;
            else if (IsEscape(text, open, EscapedLessThan)) tag = open + EscapedLessThan.Length;
            else if (referenced && MarkupReferenceLength(text, open, '<') is > 0 and var length) (tag, encodings) = (open + length, 1);
            else if (referenced && MarkupReferenceLength(text, open, '<', 2) is > 0 and var twice) (tag, encodings) = (open + twice, 2);
            else continue;
            if (inSensitiveSelect && IsEndTag(text, tag, "select"))
            {
                inSensitiveSelect = false;
                continue;
            }
            if (tag >= text.Length || !char.IsAsciiLetter(text[tag])) continue;

            var i = tag;
            while (i < text.Length && IsAttributeNameChar(text[i])) i++;
            var tagName = text.AsSpan(tag, i - tag);
            // A template's tag glued to the name is no part of it, whatever it holds (<input{{attrs|xmlattr}}, <input${f(p)}).
            if (tagName.IndexOf('{') is > 0 and var brace) tagName = tagName[..(tagName[brace - 1] == '$' ? brace - 1 : brace)];
            // No element is named with a parenthesis, a bracket, a ';', a ',' or an operator: after a comparison's '<' they
            // are script's (if (n <max) f(x, name="code", ...), a <b; ..., i <list[n]), and what follows is no field.
            if (tagName.ContainsAny(NotInTagNames)) continue;
            var textarea = tagName.Equals("textarea", StringComparison.OrdinalIgnoreCase);
            var attributes = i;
            var select = tagName.Equals("select", StringComparison.OrdinalIgnoreCase);
            // HTML's parser ends a select still open at an input, a textarea or a keygen: the options after are another list's.
            if (inSensitiveSelect && (textarea || tagName.Equals("input", StringComparison.OrdinalIgnoreCase)
                                      || tagName.Equals("keygen", StringComparison.OrdinalIgnoreCase)))
                inSensitiveSelect = false;
            if (inSensitiveSelect && tagName.Equals("option", StringComparison.OrdinalIgnoreCase))
            {
                search = Math.Max(search, MaskOption(text, i, encodings, ref result, ref copied));
                continue;
            }
            int names = 0, values = 0, nameStart = 0, nameEnd = 0;
            while (ReadAttribute(text, ref i, encodings, out var attribute, out var attributeEnd, out var valueStart, out var valueEnd))
            {
                if (valueStart < 0) continue;
                if (IsName(text, attribute, attributeEnd))
                {
                    if (names++ == 0) (nameStart, nameEnd) = (valueStart, valueEnd);
                }
                else if (IsValue(text, attribute, attributeEnd) && valueEnd > valueStart) values++;
            }
            search = Math.Max(search, i);
            if (select)
            {
                inSensitiveSelect = names == 1 ? keys.IsSensitiveTextKey(text.AsSpan(nameStart, nameEnd - nameStart))
                    : names > 1 && HasSensitiveName(text, attributes, encodings, keys, anywhere: true);
            }
            if (names == 0 || (values == 0 && !textarea)) continue;
            if (!(names == 1 ? keys.IsSensitiveQueryKey(text.AsSpan(nameStart, nameEnd - nameStart)) : HasSensitiveName(text, attributes, encodings, keys, anywhere: false)))
                continue;

            if (values > 0)
            {
                var j = attributes;
                while (ReadAttribute(text, ref j, encodings, out var attribute, out var attributeEnd, out var valueStart, out var valueEnd))
                {
                    if (valueStart >= 0 && IsValue(text, attribute, attributeEnd)) MaskField(text, valueStart, valueEnd, ref result, ref copied);
                }
            }
            var contentStart = textarea ? StartTagEnd(text, i, encodings) : -1;
            if (contentStart >= 0)
            {
                var contentEnd = TextareaEnd(text, contentStart, encodings);
                if (!text.AsSpan(contentStart, contentEnd - contentStart).IsWhiteSpace())
                {
                    MaskField(text, contentStart, contentEnd, ref result, ref copied);
                    search = Math.Max(search, contentEnd);
                }
            }
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>
    /// Characters no element's name holds, while script writes them right after an operand (see
    /// <see cref="MaskFormFields"/>); a template's tag may stand in one (<c>&lt;input{{#if x}}</c>).
    /// </summary>
    static readonly SearchValues<char> NotInTagNames = SearchValues.Create("()[],;|+*?");

    static bool IsName(string text, int attribute, int end) => AttributeName(text, attribute, end).Equals("name", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The name of the attribute at <c>text[attribute..end]</c> without the <c>,</c> or <c>;</c> glued before it: HTML reads
    /// <c>name="password",value="..."</c> as an attribute named <c>,value</c>, but a log is not a browser, and a value
    /// written there is the one its writer meant.
    /// </summary>
    static ReadOnlySpan<char> AttributeName(string text, int attribute, int end) => text.AsSpan(attribute, end - attribute).TrimStart(",;");

    /// <summary>
    /// Whether the attribute named <c>text[attribute..end]</c> is the field's <c>value</c> (or a <c>meta</c> element's
    /// <c>content</c>), written as it is or bound by a template framework, whose expression sets it: Vue's <c>:value</c>
    /// and <c>v-bind:value</c>, Alpine's <c>x-bind:value</c>, Svelte's <c>bind:value</c>, Angular's <c>[value]</c> and
    /// <c>[attr.value]</c>, Lit's <c>.value</c>. A page rendered on the server may write the secret into that expression
    /// (<c>:value="'...'"</c>), also with Vue's modifiers after it (<c>:value.prop</c>, <c>v-bind:value.attr</c>), and
    /// Angular's canonical <c>bind-value</c>. Another attribute that ends so is not the value (<c>data-value</c>), nor is a
    /// two-way binding, which names the member it writes back to and never holds a literal (Blazor's <c>@bind</c> and
    /// <c>@bind-value</c>, Angular's <c>[(ngModel)]</c>).
    /// </summary>
    static bool IsValue(string text, int attribute, int end)
    {
        var name = AttributeName(text, attribute, end);
        if (name.Length > 2 && name[0] == '[' && name[^1] == ']') name = name[1..^1];
        // A bound name's modifiers follow its argument: v-bind:value.prop binds value.
        var argument = name.LastIndexOf(':') + 1;
        if (argument > 0 && name[argument..].IndexOf('.') is > 0 and var modifiers) name = name[..(argument + modifiers)];
        var word = name.EndsWith("value", StringComparison.OrdinalIgnoreCase) ? 5
            : name.EndsWith("content", StringComparison.OrdinalIgnoreCase) ? 7
            : 0;
        return word > 0 && (name.Length == word || name[^(word + 1)] is ':' or '.' || name[..^word].Equals("bind-", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Whether any <c>name</c> attribute of the element whose attributes start at <paramref name="i"/> is sensitive:
    /// <paramref name="anywhere"/>, or as a form parameter too (<c>code</c>, <c>state</c>).
    /// </summary>
    static bool HasSensitiveName(string text, int i, int encodings, KeyMatcher keys, bool anywhere)
    {
        while (ReadAttribute(text, ref i, encodings, out var attribute, out var attributeEnd, out var valueStart, out var valueEnd))
        {
            if (valueStart < 0 || !IsName(text, attribute, attributeEnd)) continue;
            var name = text.AsSpan(valueStart, valueEnd - valueStart);
            if (anywhere ? keys.IsSensitiveTextKey(name) : keys.IsSensitiveQueryKey(name)) return true;
        }
        return false;
    }

    /// <summary>
    /// Masks an <c>option</c> of a sensitive <c>select</c> whose attributes start at <paramref name="i"/>: its
    /// <c>value</c>s, or, when it has none, its text up to the next element, which a browser submits in its place.
    /// Returns where reading goes on.
    /// </summary>
    int MaskOption(string text, int i, int encodings, ref StringBuilder? result, ref int copied)
    {
        var attributes = i;
        var values = 0;
        while (ReadAttribute(text, ref i, encodings, out var attribute, out var attributeEnd, out var valueStart, out _))
        {
            if (valueStart >= 0 && IsValue(text, attribute, attributeEnd)) values++;
        }
        if (values > 0)
        {
            var j = attributes;
            while (ReadAttribute(text, ref j, encodings, out var attribute, out var attributeEnd, out var valueStart, out var valueEnd))
            {
                if (valueStart >= 0 && IsValue(text, attribute, attributeEnd)) MaskField(text, valueStart, valueEnd, ref result, ref copied);
            }
            return i;
        }
        var contentStart = StartTagEnd(text, i, encodings);
        if (contentStart < 0) return i;
        var contentEnd = NextElement(text, contentStart, encodings);
        if (!text.AsSpan(contentStart, contentEnd - contentStart).IsWhiteSpace()) MaskField(text, contentStart, contentEnd, ref result, ref copied);
        return contentEnd;
    }

    /// <summary>
    /// Where the next element (or end tag) opens from <paramref name="start"/>: at <c>&lt;</c> or <c>\u003C</c>, at a
    /// reference to <c>&lt;</c> in a page encoded (<paramref name="encodings"/> times), where only that one is; else the
    /// end of the text.
    /// </summary>
    static int NextElement(string text, int start, int encodings)
    {
        var at = start;
        while (at < text.Length)
        {
            var found = encodings > 0 ? text.AsSpan(at).IndexOfAny('&', '\\') : text.AsSpan(at).IndexOfAny('<', '\\');
            if (found < 0) break;
            at += found;
            if (encodings > 0 ? MarkupReferenceLength(text, at, '<', encodings) > 0 : text[at] == '<' || IsEscape(text, at, EscapedLessThan)) return at;
            at++;
        }
        return text.Length;
    }

    /// <summary>
    /// Whether an end tag of <paramref name="name"/> follows its opening <c>&lt;</c> at <paramref name="tag"/>: <c>/select</c>,
    /// or <c>\/select</c> in a JSON string.
    /// </summary>
    static bool IsEndTag(string text, int tag, string name)
    {
        if (tag < text.Length && text[tag] == '\\') tag++;
        if (tag >= text.Length || text[tag] != '/') return false;
        var end = tag + 1 + name.Length;
        return text.AsSpan(tag + 1).StartsWith(name, StringComparison.OrdinalIgnoreCase) && (end == text.Length || !IsAttributeNameChar(text[end]));
    }

    /// <summary>Masks <c>text[start..end]</c> when it holds something and is not the mask already.</summary>
    void MaskField(string text, int start, int end, ref StringBuilder? result, ref int copied)
    {
        if (end <= start) return;
        var value = text.Substring(start, end - start);
        if (IsMask(value)) return;
        result ??= new StringBuilder(text.Length);
        Found(value);
        result.Append(text, copied, start - copied).Append(_masker.MaskText(value));
        copied = end;
    }

    /// <summary>
    /// Reads the next attribute of an element from <paramref name="i"/> (left after it): its name's bounds, and its value's
    /// bounds without quotes (-1 when it has no <c>=</c>). <see langword="false"/> at the element's end or at text that is
    /// no attribute (<c>a &lt;b &amp;&amp; c</c>). A quoted value not closed (a page cut short) runs to the end; an
    /// unquoted one that opens with braces, past its closing brace (<see cref="BracedValueEnd"/>). In an encoded element
    /// (<paramref name="encodings"/> times), quotes and the element's end are character references.
    /// </summary>
    static bool ReadAttribute(string text, ref int i, int encodings, out int attribute, out int attributeEnd, out int valueStart, out int valueEnd)
    {
        valueStart = valueEnd = -1;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]) || text[i] == '/') i++;
            // A JSON string's escaped line break or tab between two attributes.
            else if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is 'n' or 'r' or 't') i += 2;
            else break;
        }
        attribute = i;
        // A template's expression in braces where a name goes is read whole, its spaces, commas and quotes its own
        // ({ ...rest }, {...{ id: 'pw' }}, ${ attrs }); a code block ({ go() }) is script's, not one.
        if (OpensTemplateExpression(text, i) && BracedValueEnd(text, i, encodings) is > 0 and var expression) i = expression;
        // So is an HTML comment (an attribute commented out in a JSP, PHP or ERB page, which passes the comment on).
        else if (i < text.Length && text[i] is '<' or '\\' or '&' && CommentEnd(text, i, encodings) is > 0 and var comment) i = comment;
        while (i < text.Length && IsAttributeNameChar(text[i])) i++;
        attributeEnd = i;
        if (i == attribute) return false;
        // A lone brace is a code block's, not a template's ({...rest}, {#if x}): if (a <b) { go(); } is script. So is a '{'
        // that ends a name after a ')' or a word (c){, else{); not one after a template's sigil ("{{", "${", "#{") nor one
        // that closes a template's block ({if $x}readonly{/if}).
        if (i == attribute + 1 && text[attribute] == '}') return false;
        if (text[i - 1] == '{' && (i == attribute + 1 || text[i - 2] == ')' || char.IsAsciiLetter(text[i - 2])) && !ClosesTemplateBlock(text, i - 1))
            return false;
        var equals = i;
        while (equals < text.Length && char.IsWhiteSpace(text[equals])) equals++;
        if (equals == text.Length || text[equals] != '=') return true;
        var start = equals + 1;
        while (start < text.Length && char.IsWhiteSpace(text[start])) start++;
        var quoteLength = QuoteLength(text, start, encodings);
        int end;
        if (quoteLength > 0)
        {
            // The same quote closes it: name=\"code\", name=\u0022code\u0022, name=&quot;code&quot;.
            var close = text.AsSpan(start + quoteLength).IndexOf(text.AsSpan(start, quoteLength));
            start += quoteLength;
            if (close >= 0) close += start;
            end = close < 0 ? text.Length : close;
            i = close < 0 ? text.Length : close + quoteLength;
        }
        else
        {
            // An expression in braces is read whole (its '>' and spaces are its own), and then on as any unquoted value:
            // a value that only opens with braces ({noop}s3cret, a stored password's scheme) or whose expression's string
            // holds a brace (title={"}"}) is one value.
            end = BracedValueEnd(text, start, encodings) is > 0 and var braced ? braced : start;
            // A '/' right after the braces and before the element's end closes the element (JSX's <input value={pw}/>; \/ in
            // a JSON string that escapes it); else the value goes on, as HTML reads one (value=a/> is "a/").
            var slash = end == start || end >= text.Length ? 0 : text[end] == '/' ? 1 : text.AsSpan(end).StartsWith("\\/") ? 2 : 0;
            if (slash == 0 || end + slash >= text.Length || !EndsElement(text, end + slash, encodings))
            {
                while (end < text.Length && !char.IsWhiteSpace(text[end]) && !EndsElement(text, end, encodings)) end++;
            }
            i = end;
        }
        valueStart = start;
        valueEnd = end;
        return true;
    }

    /// <summary>
    /// Whether an element's start tag ends at <paramref name="at"/>: <c>&gt;</c>, <c>\u003E</c>, or a reference to it in a
    /// page encoded <paramref name="encodings"/> times.
    /// </summary>
    static bool EndsElement(string text, int at, int encodings) =>
        text[at] == '>' || IsEscape(text, at, EscapedGreaterThan) || (encodings > 0 && MarkupReferenceLength(text, at, '>', encodings) > 0);

    /// <summary>
    /// Whether a template's expression in braces opens at <paramref name="i"/> where an attribute's name goes: a spread
    /// (<c>{...rest}</c>, <c>{ ...rest }</c>), a server template's tag (<c>{{#if x}}</c>, <c>{% if x %}</c>, Svelte's
    /// <c>{#if x}</c>), Lit's or a page template's <c>${...}</c>, JSX's comment (<c>{/* autoFocus */}</c>). A code block
    /// after a comparison's <c>&lt;</c> (<c>if (a &lt;b) { go() }</c>) opens with none of these (one that opens with a
    /// comment is read whole too, and holds no field). A template's end of block, <c>{/if}</c>, is no code block's either
    /// (<see cref="ClosesTemplateBlock"/>), and is read as a name is, without a scan for its closing brace.
    /// </summary>
    static bool OpensTemplateExpression(string text, int i)
    {
        if (i + 1 >= text.Length) return false;
        if (text[i] == '$') return text[i + 1] == '{';
        if (text[i] != '{') return false;
        if (text[i + 1] is '{' or '%' or '#') return true;
        var at = i + 1;
        while (at < text.Length && text[at] == ' ') at++;
        return text.AsSpan(at).StartsWith("...", StringComparison.Ordinal) || text.AsSpan(at).StartsWith("/*", StringComparison.Ordinal);
    }

    /// <summary>
    /// Whether the <c>{</c> at <paramref name="i"/> opens a template's end of block in single braces (Smarty's, Latte's,
    /// Svelte's <c>{/if}</c>): a <c>/</c> and a letter follow it, where a code block's comment has <c>//</c> or <c>/*</c>.
    /// </summary>
    static bool ClosesTemplateBlock(string text, int i) =>
        i + 2 < text.Length && text[i + 1] == '/' && char.IsAsciiLetter(text[i + 2]);

    /// <summary>
    /// Where an HTML comment that opens at <paramref name="at"/> where an attribute's name goes ends, after its
    /// <c>--&gt;</c> (the <c>&lt;</c> and <c>&gt;</c> escaped or referenced as the element's are); else -1: no comment, or
    /// none closes within <see cref="MaximumBracedValueLength"/> characters and before an element opens.
    /// </summary>
    static int CommentEnd(string text, int at, int encodings)
    {
        var open = text[at] == '<' ? 1
            : IsEscape(text, at, EscapedLessThan) ? EscapedLessThan.Length
            : encodings > 0 ? MarkupReferenceLength(text, at, '<', encodings)
            : 0;
        if (open == 0 || !text.AsSpan(at + open).StartsWith("!--", StringComparison.Ordinal)) return -1;
        var limit = Math.Min(text.Length, at + MaximumBracedValueLength);
        for (var i = at + open + 3; i < limit; i++)
        {
            if (text[i] is '<' or '\\' or '&' && OpensElement(text, i, encodings)) return -1;
            if (text[i] != '-' || i + 2 >= text.Length || text[i + 1] != '-') continue;
            var close = i + 2;
            if (text[close] == '>') return close + 1;
            if (IsEscape(text, close, EscapedGreaterThan)) return close + EscapedGreaterThan.Length;
            if (encodings > 0 && MarkupReferenceLength(text, close, '>', encodings) is > 0 and var length) return close + length;
        }
        return -1;
    }

    /// <summary>Most characters of a template's expression in braces read as one value (see <see cref="BracedValueEnd"/>).</summary>
    const int MaximumBracedValueLength = 256;

    /// <summary>
    /// Where a template's expression in braces that opens an unquoted value at <paramref name="start"/> ends, after its
    /// closing brace: Svelte's and JSX's <c>on:input={() =&gt; x}</c>, Lit's <c>${a &gt; b}</c>, whose <c>&gt;</c> and
    /// spaces are the expression's. Else -1 (no brace, or none closes it within
    /// <see cref="MaximumBracedValueLength"/> characters and before an element opens: an unbalanced brace in prose
    /// hides no field), and the value is read as any unquoted one.
    /// </summary>
    static int BracedValueEnd(string text, int start, int encodings)
    {
        var open = start < text.Length && text[start] == '$' ? start + 1 : start;
        if (open >= text.Length || text[open] != '{') return -1;
        var depth = 0;
        var limit = Math.Min(text.Length, open + MaximumBracedValueLength);
        for (var at = open; at < limit; at++)
        {
            switch (text[at])
            {
                case '{':
                    depth++;
                    break;
                case '}':
                    if (--depth == 0) return at + 1;
                    break;
                case '<' or '\\' or '&' when OpensElement(text, at, encodings):
                    return -1;
            }
        }
        return -1;
    }

    /// <summary>
    /// Whether an element or an end tag opens at <paramref name="at"/>: <c>&lt;</c> (<c>\u003C</c>, or a reference to it
    /// in a page encoded <paramref name="encodings"/> times) before a letter or <c>/</c>; <c>a &lt; b</c> is text.
    /// </summary>
    static bool OpensElement(string text, int at, int encodings)
    {
        var length = text[at] == '<' ? 1
            : IsEscape(text, at, EscapedLessThan) ? EscapedLessThan.Length
            : encodings > 0 ? MarkupReferenceLength(text, at, '<', encodings)
            : 0;
        var next = at + length;
        return length > 0 && next < text.Length && (char.IsAsciiLetter(text[next]) || text[next] is '/' or '\\');
    }

    /// <summary>The length of the quote that opens an attribute's value at <paramref name="start"/>, escaped or not; else 0.</summary>
    static int QuoteLength(string text, int start, int encodings)
    {
        if (start >= text.Length) return 0;
        return text[start] switch
        {
            '"' or '\'' => 1,
            // A page held in a JSON string escapes its quotes: name=\"code\" value=\"...\".
            '\\' when start + 1 < text.Length && text[start + 1] is '"' or '\'' => 2,
            '\\' when IsEscape(text, start, EscapedQuote) || IsEscape(text, start, EscapedApostrophe) => EscapedQuote.Length,
            '&' or '\\' when encodings > 0 => Math.Max(MarkupReferenceLength(text, start, '"', encodings), MarkupReferenceLength(text, start, '\'', encodings)),
            _ => 0,
        };
    }

    /// <summary>Where the content after a start tag's end at <paramref name="i"/> (<c>&gt;</c>, escaped or not) begins; else -1.</summary>
    static int StartTagEnd(string text, int i, int encodings)
    {
        if (i >= text.Length) return -1;
        if (encodings > 0) return MarkupReferenceLength(text, i, '>', encodings) is > 0 and var length ? i + length : -1;
        if (text[i] == '>') return i + 1;
        return IsEscape(text, i, EscapedGreaterThan) ? i + EscapedGreaterThan.Length : -1;
    }

    /// <summary>
    /// Where a textarea's content starting at <paramref name="contentStart"/> ends: at its end tag (<c>&lt;/textarea</c>,
    /// <c>\u003C/textarea</c>, <c>&lt;\/textarea</c>, in any case; <c>&amp;lt;/textarea</c> in a page encoded once and
    /// <c>&amp;amp;lt;/textarea</c> in one encoded twice (<paramref name="encodings"/>), where only that one is), else at
    /// the end of the text.
    /// </summary>
    static int TextareaEnd(string text, int contentStart, int encodings)
    {
        const string Name = "textarea";
        var from = contentStart;
        while (true)
        {
            var at = text.IndexOf(Name, from, StringComparison.OrdinalIgnoreCase);
            if (at < 0) return text.Length;
            from = at + Name.Length;
            var slash = at - 1;
            if (slash < contentStart || text[slash] != '/') continue;
            // JSON may escape the slash: <\/textarea>.
            if (slash > contentStart && text[slash - 1] == '\\') slash--;
            if (encodings > 0)
            {
                // The reference ends right before the slash: its '&' (or the JSON escape of it) is the last one before.
                var window = Math.Min(slash - contentStart, LongestMarkupReference);
                var amp = text.AsSpan(slash - window, window).LastIndexOfAny('&', '\\');
                if (amp >= 0 && MarkupReferenceLength(text, slash - window + amp, '<', encodings) == window - amp) return slash - window + amp;
                continue;
            }
            if (slash > contentStart && text[slash - 1] == '<') return slash - 1;
            if (slash - EscapedLessThan.Length >= contentStart && IsEscape(text, slash - EscapedLessThan.Length, EscapedLessThan))
                return slash - EscapedLessThan.Length;
        }
    }

    /// <summary>
    /// Whether the text holds an HTML or XML character reference to <paramref name="value"/>, encoded once or twice (see
    /// <see cref="MarkupReferenceLength"/>).
    /// </summary>
    static bool HoldsReference(string text, char value)
    {
        for (var at = 0; at < text.Length; at++)
        {
            var found = text.AsSpan(at).IndexOfAny('&', '\\');
            if (found < 0) return false;
            at += found;
            if (MarkupReferenceLength(text, at, value) > 0 || MarkupReferenceLength(text, at, value, 2) > 0) return true;
        }
        return false;
    }

    /// <summary>
    /// <see cref="ReferenceLength(string, int, char)"/> in a page's markup, whose <c>&amp;</c> may be escaped for a JSON
    /// string as well (<c>\u0026lt;</c>): the length of the whole, escape included; else 0. In a page encoded twice
    /// (<paramref name="encodings"/> 2), the reference's <c>&amp;</c> is a reference too, and must be: <c>&amp;amp;lt;</c>,
    /// <c>&amp;#38;quot;</c>, <c>\u0026amp;gt;</c>.
    /// </summary>
    static int MarkupReferenceLength(string text, int index, char value, int encodings = 1)
    {
        var ampersand = IsEscape(text, index, EscapedAmpersand) ? EscapedAmpersand.Length : index < text.Length && text[index] == '&' ? 1 : 0;
        if (ampersand > 0 && encodings == 2) ampersand = ReferenceLength(text, index, ampersand, '&');
        return ampersand > 0 ? ReferenceLength(text, index, ampersand, value) : 0;
    }

    /// <summary>
    /// Most characters of a reference in markup: encoded twice, its <c>&amp;</c> escaped for JSON (6 characters),
    /// <c>\u0026#x0026;#x003C;</c>.
    /// </summary>
    const int LongestMarkupReference = 6 + 2 * (LongestReference - 1);

    const string EscapedQuote = "\\u0022";
    const string EscapedApostrophe = "\\u0027";
    const string EscapedGreaterThan = "\\u003e";

    /// <summary>Whether the JSON escape <paramref name="escape"/> (<c>\u003c</c>, in either case) stands at <paramref name="index"/>.</summary>
    static bool IsEscape(string text, int index, string escape) =>
        index < text.Length && text[index] == '\\' && text.AsSpan(index).StartsWith(escape, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether <paramref name="c"/> may be part of a tag's or an attribute's name. HTML's tokenizer ends a name only at white
    /// space, <c>/</c>, <c>&gt;</c> and (an attribute's) <c>=</c>, and takes quotes and <c>&lt;</c> into it as an error, so a
    /// page that a template framework serves or renders on the server holds Angular's <c>[disabled]</c>, <c>*ngIf</c>,
    /// <c>#ref</c> and <c>(click)</c>, Vue's <c>:value</c> and <c>@click.prevent</c>, Lit's <c>?disabled</c> or Svelte's
    /// <c>on:input|preventDefault={h}</c> beside a field's name. Quotes and <c>&lt;</c> end it here, as no page writes
    /// them in a name; so do <c>&amp;</c> and <c>\</c>, which begin the character reference or JSON escape that stands
    /// for a quote or the element's end in an encoded page (<c>&amp;quot;</c>, <c>\u0022</c>, <c>\"</c>) and no name in
    /// a page: <c>a &lt;b &amp;&amp; c</c> is prose, not an element. <c>;</c> and <c>,</c> do not end it: HTML reads
    /// them as part of a name, so a browser still posts the value of <c>&lt;input name="code", value="..."&gt;</c>.
    /// </summary>
    static bool IsAttributeNameChar(char c) =>
        !char.IsWhiteSpace(c) && c is not ('/' or '>' or '=' or '"' or '\'' or '<' or '&' or '\\') && !char.IsControl(c);

    /// <summary>Most words a <c>key=value</c> key is read back over (<c>Shared Access Key=</c>).</summary>
    const int MaximumKeyWords = 3;

    /// <summary>
    /// Masks the value of every <c>key=value</c> pair whose key the rules call sensitive. A key is up to
    /// <see cref="MaximumKeyWords"/> words of letters, digits, <c>_</c>, <c>-</c> and <c>.</c> joined by single spaces,
    /// right before the <c>=</c> (spaces and tabs around it allowed). A quoted value runs through its closing quote, a value in braces (ODBC's <c>Pwd={a;b}</c>) through its closing brace. An unquoted
    /// value runs, in a query or a fragment (key after <c>?</c>, <c>&amp;</c> or <c>#</c>, or a form body's first key:
    /// see <see cref="ValueEnds.FormPairEnd"/>), to the next <c>&amp; #</c> or white space; after a
    /// <c>;</c>, or when a <c>;</c> comes before the next pair, to the next <c>;</c> or line break (a connection string's
    /// value may hold spaces, commas and brackets); otherwise to white space or <c>;</c>. A quote followed by white space
    /// or closing punctuation ends it in every case (JSON or XML around the text). <c>==</c> and <c>=&gt;</c> are not
    /// pairs unless a sensitive key is written right before them (<c>Password==x</c>); <c>!=</c>, <c>&lt;=</c> and
    /// <c>&gt;=</c> never are.
    /// </summary>
    string MaskKeyValues(string text, KeyMatcher keys)
    {
        StringBuilder? result = null;
        var copied = 0;
        // The last pair's value: the next key starts after it, or inside it for a pair nested in that value
        // ("options=password=x"), which is looked at too.
        var lastValueStart = 0;
        var lastValueEnd = 0;
        var ends = new ValueEnds();
        var search = 0;
        while (search < text.Length)
        {
            var equals = text.IndexOf('=', search);
            if (equals < 0) break;
            search = equals + 1;
            if (equals > 0 && text[equals - 1] is '!' or '<' or '>' or '=') continue;
            // "a == b", "x => y": not pairs; "Password==x" (a value that starts with '=' or '>') is one.
            var operatorLike = equals + 1 < text.Length && text[equals + 1] is '=' or '>';
            if (operatorLike && (equals == 0 || !IsKeyChar(text[equals - 1]) || equals + 2 >= text.Length || char.IsWhiteSpace(text[equals + 2])))
            {
                search = equals + 2;
                continue;
            }

            var bound = Math.Max(copied, equals < lastValueEnd ? lastValueStart : lastValueEnd);
            var keyEnd = equals;
            while (keyEnd > bound && text[keyEnd - 1] is ' ' or '\t') keyEnd--;
            var keyStart = KeyStart(text, bound, keyEnd);
            if (operatorLike)
            {
                search = equals + 2;
                if (keyStart == keyEnd || !IsSensitiveKey(keys, text, keyStart, keyEnd)) continue;
            }
            var valueStart = equals + 1;
            while (valueStart < text.Length && text[valueStart] is ' ' or '\t') valueStart++;
            var valueEnd = ends.Find(text, keyStart, valueStart);
            if (valueEnd == valueStart) continue;
            lastValueStart = valueStart;
            lastValueEnd = valueEnd;
            if (!operatorLike && (keyStart == keyEnd || !IsSensitiveKey(keys, text, keyStart, keyEnd)))
            {
                // The first pair of a form-encoded body ("code=abc&state=xyz") has no '?' or '&' before its key, after
                // which alone the one-time values of sign-in protocols are sensitive: those are read here, up to the
                // '&'. A key sensitive anywhere (password) is not: its value was read above, running on past an '&'
                // as a connection string's may ("Password=a&b=c;Server=db").
                if (keyEnd != equals || valueStart != equals + 1) continue;
                var formKeyStart = FormKeyStart(text, bound, equals);
                var formValueEnd = ends.FormPairEnd(text, formKeyStart, valueStart);
                if (formValueEnd < 0 || !keys.IsSensitiveQueryKey(text.AsSpan(formKeyStart, equals - formKeyStart))) continue;
                valueEnd = lastValueEnd = formValueEnd;
            }

            valueEnd = WithSchemeCredential(text, keyStart, keyEnd, valueStart, valueEnd);
            var value = text.Substring(valueStart, valueEnd - valueStart);
            if (IsMask(value))
            {
                search = valueEnd;
                continue;
            }
            result ??= new StringBuilder(text.Length);
            Found(value);
            result.Append(text, copied, valueStart - copied).Append(_masker.MaskText(value));
            copied = search = valueEnd;
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>Most characters of a header's name read back from its <c>:</c>.</summary>
    const int MaximumHeaderNameLength = 128;

    /// <summary>
    /// Masks the value of every HTTP header written as text, <c>Name: value</c>, whose name the rules call sensitive
    /// (<c>Authorization</c>, <c>Proxy-Authorization</c>, <c>Cookie</c>, <c>Set-Cookie</c>, <c>X-Api-Key</c>,
    /// <c>X-Auth-Token</c>): what <c>HttpRequestMessage.ToString()</c> and <c>HttpResponseMessage.ToString()</c> write,
    /// one header a line, and a raw request or response dump. The name is kept; the value, all of it up to the end of
    /// its line (a scheme and its credential, every cookie of a <c>Cookie</c> line and a <c>Set-Cookie</c>'s attributes),
    /// is masked. A name is letters, digits, <c>_</c> and <c>-</c> before <c>:</c> (white space after it or not:
    /// <c>Authorization:Bearer x</c>, as HTTP allows and command lines write it; white space before it or not:
    /// <c>Password : x</c>, as a table or PowerShell's <c>Format-List</c> lines values up), and stands at the
    /// start of a line (after its indentation), or after white space when it is written as a header's is, capitalized
    /// or hyphenated (<c>Request failed. Authorization: Basic x</c>, <c>Accept: */*, x-api-key: k</c>), or in any case
    /// after the quote that opens a command line's argument or a JSON string (<see cref="OpeningQuote"/>); a header dump
    /// flattened into a JSON string (<c>{"headers":"Authorization: x\r\nHost: api"}</c>) has its lines broken by the
    /// escapes <c>\r</c> and <c>\n</c>, which end a value and start a line there; a lower-case word
    /// in a sentence (<c>the access token: attempt 3</c>) is prose's, and a name glued to a <c>{</c> (<c>{Token: x}</c>)
    /// is a key value list's, which <see cref="MaskEntityKeyValues"/> reads. A dotted name is a .NET type's or a logger
    /// category's (an exception's <c>ToString()</c>: <c>Microsoft.IdentityModel.Tokens.SecurityTokenInvalidSignatureException:
    /// IDX10503: ...</c>), whose message is kept, unless its last segment is sensitive by its last word and no exception's
    /// type: a configuration key written as a label (<c>Jwt.Secret: x</c>, <see cref="IsDottedLabel"/>). A label of two words one space apart, as an interpolated message writes
    /// one, is a name too when the words together are a key or a phrase of the rules (<c>API key</c>, <c>Client
    /// secret</c>, <c>Refresh token</c>: <see cref="KeyMatcher.IsSensitiveCompound"/>) and the first stands where a name
    /// does (<c>Using API Key: x</c>; <c>Refresh token: x</c> at the start of a line); a sensitive word after another
    /// that only says which one (<c>The token: ...</c>, <c>Reset password: ...</c>) and lower-case words in a sentence
    /// (<c>Renewing the refresh token: attempt 3</c>) are prose's. The value of a name that counts is masked even when
    /// it reads as words (<c>token: the value was rejected</c>): a passphrase is words too. A key of a Python dict's
    /// <c>repr()</c>, in single quotes after <c>{</c> or <c>,</c> or at the start of a line (<see cref="OpensDictKey"/>),
    /// counts in any case, dotted or of words too (<c>'db.password'</c>, <c>'API Key'</c>): <c>{'password': '...', 'user': 'bob'}</c>, a quoted value masked inside its quotes as above,
    /// one that is not (<c>'pin': 1234, ...</c>) to the end of its line.
    /// </summary>
    string MaskHeaderLines(string text, KeyMatcher keys)
    {
        StringBuilder? result = null;
        var copied = 0;
        var search = 0;
        while (search < text.Length)
        {
            var colon = text.IndexOf(':', search);
            if (colon < 0) break;
            search = colon + 1;
            // A URL's scheme (Cookie://) or a qualified name (Token::Parse) is not a header's.
            if (search < text.Length && text[search] is ':' or '/') continue;
            // White space may stand before the colon, as a table or PowerShell's Format-List lines the values up. A name
            // in single quotes is a Python dict's key, as repr() writes one: {'password': 'x'}, or { 'password' : 'x' }.
            var nameEnd = colon;
            while (nameEnd > copied && text[nameEnd - 1] is ' ' or '\t') nameEnd--;
            var keyQuote = nameEnd > copied && text[nameEnd - 1] is '\'' or '"' ? text[nameEnd - 1] : '\0';
            var dictKey = keyQuote != '\0';
            if (dictKey) nameEnd--;
            var nameStart = nameEnd;
            // A dict's key is what its quotes hold: a dotted path or words too ('db.password', 'API Key').
            while (nameStart > copied && nameEnd - nameStart < MaximumHeaderNameLength &&
                   (dictKey ? IsKeyChar(text[nameStart - 1]) || text[nameStart - 1] == ' ' : IsHeaderNameChar(text[nameStart - 1])))
                nameStart--;
            if (!dictKey) nameStart = AfterEscapeLetter(text, nameStart, nameEnd);
            if (nameStart == nameEnd) continue;
            if (!dictKey && nameEnd == colon && CurlPasswordEnd(text, nameStart, colon, copied) is var passwordEnd and > 0)
            {
                search = passwordEnd;
                if (passwordEnd == colon + 1 || IsMaskedListValue(text.AsSpan(colon + 1, passwordEnd - colon - 1))) continue;
                var password = text.Substring(colon + 1, passwordEnd - colon - 1);
                result ??= new StringBuilder(text.Length);
                Found(password);
                result.Append(text, copied, colon + 1 - copied).Append(_masker.MaskText(password));
                copied = passwordEnd;
                continue;
            }
            if (!char.IsAsciiLetter(text[nameStart])) continue;
            var quote = dictKey ? '\0' : OpeningQuote(text, nameStart);
            if (dictKey)
            {
                if (!OpensDictKey(text, nameStart, copied, keyQuote) || !keys.IsSensitiveTextKey(text.AsSpan(nameStart, nameEnd - nameStart))) continue;
            }
            else if (nameStart > copied && text[nameStart - 1] == '.')
            {
                if (!IsDottedLabel(text, nameStart, nameEnd, copied, keys)) continue;
            }
            else if (((quote == '\0' && !StartsHeader(text, nameStart, nameEnd)) || !keys.IsSensitiveTextKey(text.AsSpan(nameStart, nameEnd - nameStart)))
                     && (quote != '\0' || !EndsTwoWordLabel(text, nameStart, nameEnd, copied, keys)))
                continue;
            // The line is scanned only for a sensitive name, and the search goes on after it: text is read once.
            var valueStart = search;
            while (valueStart < text.Length && text[valueStart] is ' ' or '\t') valueStart++;
            // A JSON member's value is masked only when it is a string: null, a number or a nested document is kept.
            if (keyQuote == '"' && (valueStart == text.Length || text[valueStart] != '"')) continue;
            int valueEnd;
            // A header in a JSON string (a serialized HTTP log record's "headers" value): its line breaks are the escapes
            // \r and \n, and its string closes at an unescaped quote.
            if (quote == '"' || (quote == '\0' && !dictKey && AfterEscapedLineBreak(text, nameStart)))
                valueEnd = EscapedLineBreak(text, valueStart, ClosingQuote(text, valueStart, '"'));
            else if (quote == '\0')
            {
                var lineEnd = text.AsSpan(valueStart).IndexOfAny('\r', '\n');
                valueEnd = lineEnd < 0 ? text.Length : valueStart + lineEnd;
                // A value quoted whole on its line (Microsoft.IdentityModel's "token: '...'. See https://aka.ms/..."): its
                // inside masked, the quotes and what follows them kept. One that goes on after its closing quote (a quoted
                // scheme and the credential after it: 'Basic' dXNlcjpwYXNz) is masked to the line's end.
                if (valueStart < valueEnd && text[valueStart] is '\'' or '"')
                {
                    var closing = ClosingQuote(text, valueStart + 1, text[valueStart]);
                    if (closing < valueEnd && text[closing] == text[valueStart] && !GoesOnAfterQuote(text, closing + 1, valueEnd))
                    {
                        valueEnd = closing;
                        valueStart++;
                    }
                }
            }
            else valueEnd = ClosingQuote(text, valueStart, quote);
            while (valueEnd > valueStart && text[valueEnd - 1] is ' ' or '\t') valueEnd--;
            if (valueEnd == valueStart) continue;
            search = valueEnd;
            if (IsMaskedListValue(text.AsSpan(valueStart, valueEnd - valueStart))) continue;
            var value = text.Substring(valueStart, valueEnd - valueStart);
            result ??= new StringBuilder(text.Length);
            Found(value);
            result.Append(text, copied, valueStart - copied).Append(_masker.MaskText(value));
            copied = valueEnd;
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>
    /// Where the password ends when the user name at <paramref name="nameStart"/> and its <paramref name="colon"/> are the
    /// value of curl's <c>-u</c>, <c>--user</c>, <c>-U</c> or <c>--proxy-user</c> (<c>curl -u admin:pass</c>,
    /// <c>--user 'admin:pass'</c>, <c>--user=admin:pass</c>, <c>-uadmin:pass</c>): at white space, or at the closing quote
    /// of a quoted value; else -1. The user name is all up to white space, a quote or <c>=</c> (<c>ann@example.com</c>,
    /// <c>CORP\ann</c>, <c>first.last</c>). Only a line that runs curl counts: another command's <c>-u</c> is a user and
    /// group (<c>docker run -u 1000:1000</c>). Read only back from a colon after a name, so other text costs nothing more.
    /// </summary>
    static int CurlPasswordEnd(string text, int nameStart, int colon, int copied)
    {
        var option = nameStart;
        while (option > copied && colon - option < MaximumHeaderNameLength &&
               text[option - 1] is not (' ' or '\t' or '\r' or '\n' or '"' or '\'' or '='))
            option--;
        var quote = '\0';
        if (option > copied && text[option - 1] is '"' or '\'') quote = text[--option];
        if (option <= copied) return -1;
        // -u's value glued to it: -uadmin:pass.
        var glued = quote == '\0' && colon - option > 2 && text[option] == '-' && text[option + 1] is 'u' or 'U' &&
                    char.IsWhiteSpace(text[option - 1]);
        if (!glued && text[option - 1] == '=')
        {
            option--;
            if (!EndsOption(text, option, "--user") && !EndsOption(text, option, "--proxy-user")) return -1;
        }
        else if (!glued)
        {
            if (text[option - 1] is not (' ' or '\t')) return -1;
            while (option > copied && text[option - 1] is ' ' or '\t') option--;
            if (!EndsOption(text, option, "-u") && !EndsOption(text, option, "-U") &&
                !EndsOption(text, option, "--user") && !EndsOption(text, option, "--proxy-user"))
                return -1;
        }
        if (!RunsCurl(text, option)) return -1;
        if (quote != '\0') return ClosingQuote(text, colon + 1, quote);
        var end = text.AsSpan(colon + 1).IndexOfAny(" \t\r\n");
        return end < 0 ? text.Length : colon + 1 + end;
    }

    /// <summary>Whether <c>text[..end]</c> ends with the option <paramref name="name"/>, after white space or at the start.</summary>
    static bool EndsOption(string text, int end, string name) =>
        end >= name.Length && text.AsSpan(end - name.Length, name.Length).SequenceEqual(name) &&
        (end == name.Length || char.IsWhiteSpace(text[end - name.Length - 1]));

    /// <summary>
    /// Whether the word <c>curl</c> (or a path to it, <c>/usr/bin/curl</c>, <c>curl.exe</c>) stands before
    /// <paramref name="end"/> on its line.
    /// </summary>
    static bool RunsCurl(string text, int end)
    {
        var lineStart = text.AsSpan(0, end).LastIndexOfAny('\r', '\n') + 1;
        var line = text.AsSpan(lineStart, end - lineStart);
        for (var at = line.IndexOf("curl", StringComparison.Ordinal); at >= 0;)
        {
            var after = at + 4;
            if ((at == 0 || line[at - 1] is ' ' or '\t' or '/' or '\\' or '"' or '\'' or '`' or '(' or ';' or '|' or '&') &&
                (after == line.Length || line[after] is ' ' or '\t' or '.'))
                return true;
            var next = line[after..].IndexOf("curl", StringComparison.Ordinal);
            at = next < 0 ? -1 : after + next;
        }
        return false;
    }

    /// <summary>
    /// The quote that opens a header written as a command line's argument (<c>curl -H "Authorization: ..."</c>,
    /// <c>-H 'X-Api-Key: ...'</c>, <c>--header="..."</c>), right before its name and after white space or <c>=</c>, or the
    /// <c>"</c> of a JSON string right after a member's <c>:</c>, an array's <c>[</c> or the <c>,</c> after a string (its
    /// value also ends at an escaped line break, <c>\r</c> or <c>\n</c>), or
    /// <c>'\0'</c>: the value ends at the closing quote, and a name of any case counts.
    /// </summary>
    static char OpeningQuote(string text, int nameStart)
    {
        if (nameStart == 0 || text[nameStart - 1] is not ('"' or '\'')) return '\0';
        if (nameStart == 1 || char.IsWhiteSpace(text[nameStart - 2]) || text[nameStart - 2] == '=') return text[nameStart - 1];
        // A JSON string that opens right after a member's ':', an array's '[' or the ',' after its string before
        // ({"headers":"Authorization: ..."}, ["Host: api","Authorization: ..."]).
        if (text[nameStart - 1] != '"') return '\0';
        return text[nameStart - 2] is ':' or '[' || (text[nameStart - 2] == ',' && nameStart >= 3 && text[nameStart - 3] == '"') ? '"' : '\0';
    }

    /// <summary>
    /// Whether the name at <paramref name="nameStart"/> (after its indentation) follows a line break escaped as JSON
    /// writes one (<c>\n</c>, <c>\r</c>; an escaped backslash before an <c>n</c>, <c>\\n</c>, is none): a header dump
    /// flattened into a JSON string.
    /// </summary>
    static bool AfterEscapedLineBreak(string text, int nameStart)
    {
        var before = nameStart;
        while (before > 0 && text[before - 1] is ' ' or '\t') before--;
        return before >= 2 && text[before - 1] is 'n' or 'r' && text[before - 2] == '\\' && !IsEscapedBackslash(text, before - 2);
    }

    /// <summary>
    /// <paramref name="start"/>, or the index after it when the name read back to it starts with the letter of an escaped
    /// line break (<c>\nX-Api-Key</c>: the name is <c>X-Api-Key</c>).
    /// </summary>
    static int AfterEscapeLetter(string text, int start, int end) =>
        start > 0 && start + 1 < end && text[start] is 'n' or 'r' && text[start - 1] == '\\' && !IsEscapedBackslash(text, start - 1)
            ? start + 1
            : start;

    /// <summary>Whether the backslash at <paramref name="index"/> is escaped: an odd run of backslashes ends before it.</summary>
    static bool IsEscapedBackslash(string text, int index)
    {
        var run = 0;
        while (index - run > 0 && text[index - run - 1] == '\\') run++;
        return run % 2 == 1;
    }

    /// <summary>
    /// The index of the first line break escaped as JSON writes one (<c>\r</c> or <c>\n</c>) between the two indexes, else
    /// <paramref name="end"/>: an escape pair is skipped whole, so <c>\\n</c> (a backslash, then an n) is none.
    /// </summary>
    static int EscapedLineBreak(string text, int start, int end)
    {
        while (start < end)
        {
            var backslash = text.AsSpan(start, end - start).IndexOf('\\');
            if (backslash < 0) break;
            backslash += start;
            if (backslash + 1 < end && text[backslash + 1] is 'r' or 'n') return backslash;
            start = backslash + 2;
        }
        return end;
    }

    /// <summary>
    /// The index of the quote that closes a quoted header (a <c>"</c> escaped with <c>\</c> does not), else of the end of
    /// its line or of the text: read up to there only, as the search goes on from it.
    /// </summary>
    static int ClosingQuote(string text, int start, char quote)
    {
        while (start < text.Length)
        {
            var found = text.AsSpan(start).IndexOfAny(quote, '\r', '\n');
            if (found < 0) break;
            found += start;
            if (text[found] != quote || quote == '\'' || text[found - 1] != '\\') return found;
            start = found + 1;
        }
        return text.Length;
    }

    /// <summary>
    /// Whether a header's value goes on after the quote that closes its first part: a word's character glued to the quote
    /// (<c>'k'-123</c>), or a letter or digit after white space (<c>'Basic' dXNlcjpwYXNz</c>). Punctuation (<c>'...'. See</c>,
    /// <c>"k-123" (from the vault)</c>) ends the value.
    /// </summary>
    static bool GoesOnAfterQuote(string text, int after, int lineEnd)
    {
        if (after < lineEnd && (char.IsLetterOrDigit(text[after]) || text[after] is '-' or '_' or '+' or '/' or '=' or '~')) return true;
        while (after < lineEnd && text[after] is ' ' or '\t') after++;
        return after < lineEnd && char.IsLetterOrDigit(text[after]);
    }

    /// <summary>
    /// Whether the name that ends at <paramref name="nameEnd"/>, after a <c>.</c>, is the last segment of a configuration
    /// key written as a label (<c>Jwt.Secret: x</c>, <c>Auth.ApiKey: x</c>): the segment alone is sensitive, by its last
    /// word, and is not an exception's type name (<c>System.Security.Authentication.AuthenticationException: ...</c>, an
    /// exception's <c>ToString()</c>, keeps its message), and the dotted name stands where a header's does
    /// (<see cref="StartsHeader"/>). A type's name that holds a sensitive word before the one that says what it is (a
    /// logger category's <c>JwtBearer.JwtBearerHandler: Information: ...</c>) is a type's.
    /// </summary>
    static bool IsDottedLabel(string text, int nameStart, int nameEnd, int floor, KeyMatcher keys)
    {
        var segment = text.AsSpan(nameStart, nameEnd - nameStart);
        if (segment.EndsWith("Exception", StringComparison.Ordinal)) return false;
        // Where the dotted name stands is tested first, on the characters alone: it rules out most dotted names before a
        // colon (a file's in a stack trace, "a.cs:line 4"; a host's, "api.example:443"), which are not looked up.
        var dottedStart = nameStart;
        while (dottedStart > floor && nameEnd - dottedStart < MaximumHeaderNameLength && IsKeyChar(text[dottedStart - 1])) dottedStart--;
        dottedStart = AfterEscapeLetter(text, dottedStart, nameStart);
        return char.IsAsciiLetter(text[dottedStart]) && StartsHeader(text, dottedStart, nameEnd) && IsSecretsSegment(segment, keys);
    }

    /// <summary>
    /// Whether the last segment of a dotted name names a secret, as a configuration key's does (<c>Secret</c>, <c>ApiKey</c>,
    /// <c>db_password</c>): sensitive by its last word, not an exception's type (<c>...Exception</c>), and with no sensitive
    /// word before the one that says what a type is (<c>JwtBearerHandler</c>, a logger category's last segment) unless
    /// that word and the last are a key of the rules together (<c>SecretKey</c>, <c>SecretAccessKey</c>: secret key, access key).
    /// </summary>
    internal static bool IsSecretsSegment(ReadOnlySpan<char> segment, KeyMatcher keys)
    {
        if (segment.IsEmpty || segment.EndsWith("Exception", StringComparison.Ordinal) || !keys.IsSensitiveTextKey(segment)) return false;
        var lastWord = LastWordStart(segment);
        var head = segment[..lastWord].TrimEnd("_-");
        return head.IsEmpty || !keys.IsSensitiveTextKey(head) || keys.IsSensitiveCompound(head[LastWordStart(head)..], segment[lastWord..]);
    }

    /// <summary>Where the last word of a name starts: after a <c>_</c> or <c>-</c>, at its last capital, or at an acronym's first.</summary>
    static int LastWordStart(ReadOnlySpan<char> name)
    {
        var start = name.Length;
        if (char.IsAsciiLetterUpper(name[^1]))
            while (start > 0 && (char.IsAsciiLetterUpper(name[start - 1]) || char.IsAsciiDigit(name[start - 1]))) start--;
        else
        {
            while (start > 0 && !char.IsAsciiLetterUpper(name[start - 1]) && name[start - 1] is not ('_' or '-')) start--;
            if (start > 0 && char.IsAsciiLetterUpper(name[start - 1])) start--;
        }
        return start;
    }

    /// <summary>What a header's name holds: a key's characters but <c>.</c>, which joins the parts of a type's name.</summary>
    static bool IsHeaderNameChar(char c) => c != '.' && IsKeyChar(c);

    /// <summary>
    /// Whether the single quote before <paramref name="nameStart"/> opens a key of a Python dict's <c>repr()</c> (or of a
    /// JavaScript object literal): it follows the <c>{</c> that opens the dict or the <c>,</c> after a value, white space
    /// between or not, or it starts a line, as a sensitive label does (<c>pprint.pformat()</c> writes a wide dict a key a
    /// line, and a message template's text ends at a line break in braces). A quoted word in a sentence (<c>Missing field
    /// 'password': ...</c>) is prose's. A key in double quotes is a JSON member's outside any document that can be read (a
    /// body cut before its <c>{</c>, a settings file's line logged alone: <c>  "client_secret": "..."</c>), read the same way.
    /// </summary>
    static bool OpensDictKey(string text, int nameStart, int floor, char quote)
    {
        var before = nameStart - 1;
        if (before < floor || text[before] != quote) return false;
        while (before > floor && text[before - 1] is ' ' or '\t') before--;
        if (before > floor && text[before - 1] is '{' or ',') return true;
        while (before > 0 && text[before - 1] is ' ' or '\t') before--;
        return before == 0 || text[before - 1] is '\r' or '\n';
    }

    /// <summary>
    /// Whether the word that ends at <paramref name="nameEnd"/> is the second of a label of two words, one space apart,
    /// that name a secret together (<c>API key</c>, <c>Client secret</c>, <c>Refresh token</c>: see
    /// <see cref="KeyMatcher.IsSensitiveCompound"/>) and whose first word stands where a header's name does
    /// (<see cref="StartsHeader"/>: at the start of a line, or capitalized after white space).
    /// </summary>
    static bool EndsTwoWordLabel(string text, int secondStart, int nameEnd, int floor, KeyMatcher keys)
    {
        var firstEnd = secondStart - 1;
        if (firstEnd <= floor || text[firstEnd] != ' ') return false;
        var firstStart = firstEnd;
        while (firstStart > floor && nameEnd - firstStart < MaximumHeaderNameLength && IsHeaderNameChar(text[firstStart - 1])) firstStart--;
        firstStart = AfterEscapeLetter(text, firstStart, firstEnd);
        // Where the first word stands is tested first: it rules out most colons of prose. Then whether the words are a
        // compound of the rules, where they stand; only one that is is looked up as a key (an excluded key is kept), so
        // the labels of a status dump ("Failed requests: 3") take none of the few places of the names remembered.
        return firstStart < firstEnd && char.IsAsciiLetter(text[firstStart]) && StartsHeader(text, firstStart, firstEnd)
               && keys.IsSensitiveCompound(text.AsSpan(firstStart, firstEnd - firstStart), text.AsSpan(secondStart, nameEnd - secondStart))
               && keys.IsSensitiveTextKey(text.AsSpan(firstStart, nameEnd - firstStart));
    }

    /// <summary>
    /// Whether the name between the two indexes stands where a header's does: at the start of a line, after its
    /// indentation, or, capitalized or hyphenated as header names are written, after white space.
    /// </summary>
    static bool StartsHeader(string text, int nameStart, int nameEnd)
    {
        var before = nameStart;
        while (before > 0 && text[before - 1] is ' ' or '\t') before--;
        if (before == 0 || text[before - 1] is '\r' or '\n' || AfterEscapedLineBreak(text, nameStart)) return true;
        if (!char.IsWhiteSpace(text[nameStart - 1])) return false;
        return char.IsAsciiLetterUpper(text[nameStart]) || text.AsSpan(nameStart, nameEnd - nameStart).Contains('-');
    }

    /// <summary>
    /// Whether a header's value starts with a mask, in the configured style, and a list goes on after it: the key values
    /// of Entity Framework Core (<c>{UserId: 1, Token: [REDACTED]}</c>), whose values the pass before masked one by one,
    /// names kept.
    /// </summary>
    bool IsMaskedListValue(ReadOnlySpan<char> value) => _masker.StartsWithMask(value, ListSeparators);

    static readonly SearchValues<char> ListSeparators = SearchValues.Create(",}");

    /// <summary>
    /// Masks the value of every sensitive property in the key values Entity Framework Core writes with
    /// <c>EnableSensitiveDataLogging()</c>: <c>{Token: abc, UserId: 1}</c>, the whole text of a change tracking event's
    /// <c>keyValues</c>, or in quotes in prose, as an exception's message quotes it (<c>another instance with the key value
    /// '{Token: abc}' is already being tracked</c>). A value runs to the next <c>, Name: </c> or to the <c>}</c> that ends
    /// the list; the names, and the values of other properties (<c>UserId: 1</c>), are kept. In prose, every value of a
    /// list is masked when the entity type quoted last before it in the same sentence has a sensitive name (<c>The
    /// instance of entity type 'ApiKey' cannot be tracked because another instance with the key value '{Value: abc}'</c>).
    /// </summary>
    string MaskEntityKeyValues(string text, KeyMatcher keys, bool every = false)
    {
        StringBuilder? result = null;
        var copied = 0;
        var search = 0;
        while (search < text.Length)
        {
            var open = text.IndexOf('{', search);
            if (open < 0) break;
            var after = search;
            search = open + 1;
            // The whole text, ending in the list's '}', or a list in quotes: '{...}'.
            var quoted = open > 0 && text[open - 1] == '\'';
            if (!(quoted || (open == 0 && text[^1] == '}')) || KeyValueNameEnd(text, open + 1) < 0) continue;
            var close = quoted ? text.IndexOf("}'", open + 1, StringComparison.Ordinal) : text.Length - 1;
            // No later list can close either; each search starts past the last list, so the text is read once.
            if (close < 0) break;

            var all = every || (quoted && QuotesSensitiveEntityType(text, after, open - 1, keys));
            var entry = open + 1;
            while (entry < close)
            {
                var nameEnd = KeyValueNameEnd(text, entry);
                if (nameEnd < 0 || nameEnd >= close) break;
                var valueStart = nameEnd + 2;
                var next = NextKeyValue(text, valueStart, close);
                var valueEnd = next < 0 ? close : next;
                if (valueEnd > valueStart && (all || keys.IsSensitiveTextKey(text.AsSpan(entry, nameEnd - entry))))
                {
                    var value = text.Substring(valueStart, valueEnd - valueStart);
                    if (!IsMask(value))
                    {
                        result ??= new StringBuilder(text.Length);
                        Found(value);
                        result.Append(text, copied, valueStart - copied).Append(_masker.MaskText(value));
                        copied = valueEnd;
                    }
                }
                if (next < 0) break;
                entry = next + 2;
            }
            search = close + 1;
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>
    /// Key values written <c>{Name: value, ...}</c> (the whole text) with every value masked and the names kept, or
    /// <see langword="null"/> when there are none to mask: the key of an entity type with a sensitive name, whose
    /// property names may say nothing (an <c>ApiKey</c> keyed by its <c>Value</c>).
    /// </summary>
    public string? MaskEveryKeyValue(string text)
    {
        if (_credentialKeys is null || text.Length == 0 || text[0] != '{') return null;
        var result = MaskEntityKeyValues(text, _credentialKeys, every: true);
        return ReferenceEquals(result, text) ? null : result;
    }

    /// <summary>Most characters between a quoted entity type and the key values after it, and of the type's name.</summary>
    const int MaximumEntityTypeDistance = 256;

    /// <summary>
    /// Whether the quoted text last before <paramref name="quote"/> (the quote that opens a key value list), after
    /// <paramref name="from"/> and in the same sentence, is an entity type's name that the rules call sensitive, as EF
    /// Core's messages name the type of the entity whose key they quote: <c>entity type 'ApiKey' ... key value '{...}'</c>,
    /// <c>entities 'User' and 'ApiKey' with the key value '{...}'</c>. Read back over a bounded span, without a pattern.
    /// </summary>
    static bool QuotesSensitiveEntityType(string text, int from, int quote, KeyMatcher keys)
    {
        var floor = Math.Max(from, quote - MaximumEntityTypeDistance);
        if (quote - floor < 3) return false;
        var nameEnd = text.LastIndexOf('\'', quote - 1, quote - floor);
        if (nameEnd <= floor || text.AsSpan(nameEnd, quote - nameEnd).IndexOf(". ", StringComparison.Ordinal) >= 0) return false;
        var nameStart = nameEnd - 1;
        while (nameStart >= floor && text[nameStart] != '\'' && IsEntityTypeChar(text[nameStart])) nameStart--;
        if (nameStart < floor || text[nameStart] != '\'' || nameEnd - nameStart < 2 || !(char.IsLetter(text[nameStart + 1]) || text[nameStart + 1] == '_'))
            return false;
        // A generic type's name is written with its arguments (IdentityUserToken<string>): the name is before them.
        var end = text.IndexOf('<', nameStart + 1, nameEnd - nameStart - 1);
        return keys.IsSensitiveTextKey(text.AsSpan(nameStart + 1, (end < 0 ? nameEnd : end) - nameStart - 1));
    }

    /// <summary>What EF Core's short name of an entity type holds: a generic's arguments, an owned type's path (<c>User.Address#Address</c>).</summary>
    static bool IsEntityTypeChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '.' or '#' or '<' or '>' or ',' or ' ';

    /// <summary>The index of the <c>": "</c> after a property name (letters, digits, <c>_</c>) starting at <paramref name="start"/>, or -1.</summary>
    static int KeyValueNameEnd(string text, int start)
    {
        var end = start;
        while (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_')) end++;
        return end > start && end + 1 < text.Length && text[end] == ':' && text[end + 1] == ' ' ? end : -1;
    }

    /// <summary>The index of the <c>", "</c> before the next <c>Name: </c> of a key value list, before <paramref name="close"/>; else -1.</summary>
    static int NextKeyValue(string text, int from, int close)
    {
        while (true)
        {
            var comma = text.IndexOf(", ", from, close - from, StringComparison.Ordinal);
            if (comma < 0) return -1;
            var nameEnd = KeyValueNameEnd(text, comma + 2);
            if (nameEnd >= 0 && nameEnd < close) return comma;
            from = comma + 2;
        }
    }

    /// <summary>
    /// Whether the value is the fixed mask already: text an earlier step masked (the request logging's
    /// <c>RequestPath</c>, <c>?access_token=[REDACTED]</c>). Masking it again changes nothing, and reporting it as a
    /// finding made the event pass search the event for <c>[REDACTED</c> and write <c>[REDACTED]]</c>.
    /// </summary>
    bool IsMask(string value) => _masker.Fixed.Value is string mask && string.Equals(value, mask, StringComparison.Ordinal);

    /// <summary>
    /// Whether the key between the two indexes is sensitive, as a query parameter when <c>?</c>, <c>&amp;</c> or <c>#</c>
    /// precedes it: the implicit and hybrid flows of OAuth 2.0 and OpenID Connect return their credentials in the
    /// fragment (<c>/cb#code=...&amp;state=...</c>), in a query's form.
    /// </summary>
    static bool IsSensitiveKey(KeyMatcher keys, string text, int keyStart, int keyEnd)
    {
        var key = text.AsSpan(keyStart, keyEnd - keyStart);
        return IsQuerySeparator(text, keyStart) ? keys.IsSensitiveQueryKey(key) : keys.IsSensitiveTextKey(key);
    }

    /// <summary>
    /// Whether a query's or a fragment's separator (<c>?</c>, <c>&amp;</c>, <c>#</c>) comes right before
    /// <paramref name="keyStart"/>, or an <c>&amp;</c> escaped as HTML and XML escape it in a URL they hold
    /// (<c>href="/cb?code=x&amp;amp;state=y"</c>).
    /// </summary>
    static bool IsQuerySeparator(string text, int keyStart) =>
        keyStart > 0 && (text[keyStart - 1] is '?' or '&' or '#' || (text[keyStart - 1] == ';' && EndsEscapedAmpersand(text, keyStart)));

    /// <summary>Most characters of a character reference read here: <c>&amp;#x0026;</c>.</summary>
    const int LongestReference = 8;

    /// <summary>Whether an escaped <c>&amp;</c> (see <see cref="EscapedAmpersandLength"/>) ends right before <paramref name="end"/>.</summary>
    static bool EndsEscapedAmpersand(string text, int end)
    {
        var amp = text.LastIndexOf('&', end - 1, Math.Min(end, LongestReference));
        return amp >= 0 && EscapedAmpersandLength(text, amp) == end - amp;
    }

    /// <summary>
    /// The length of the <c>&amp;</c> escaped for HTML or XML that starts at <paramref name="index"/>: <c>&amp;amp;</c>, or
    /// a numeric reference to it (<c>&amp;#38;</c>, <c>&amp;#038;</c> as WordPress writes a URL's, <c>&amp;#x26;</c>); else 0.
    /// </summary>
    static int EscapedAmpersandLength(string text, int index) => ReferenceLength(text, index, '&');

    /// <summary>
    /// The length of the HTML or XML character reference to <paramref name="value"/> (one of <c>&amp; &lt; &gt; " '</c>)
    /// that starts at <paramref name="index"/>: its name (<c>&amp;amp;</c>, <c>&amp;lt;</c>, <c>&amp;gt;</c>,
    /// <c>&amp;quot;</c>, <c>&amp;apos;</c>, in any case) or its number, decimal or hexadecimal, of at most
    /// <see cref="LongestReference"/> characters (<c>&amp;#60;</c>, <c>&amp;#060;</c>, <c>&amp;#x3C;</c>); else 0.
    /// </summary>
    static int ReferenceLength(string text, int index, char value) =>
        index < text.Length && text[index] == '&' ? ReferenceLength(text, index, 1, value) : 0;

    /// <summary><see cref="ReferenceLength(string, int, char)"/> after an <c>&amp;</c> written in <paramref name="ampersand"/> characters.</summary>
    static int ReferenceLength(string text, int index, int ampersand, char value)
    {
        // What follows the '&': "lt;", "#60;", "#x3C;".
        var body = index + ampersand;
        if (body + 2 >= text.Length) return 0;
        if (text[body] != '#')
        {
            var name = value switch { '&' => "amp;", '<' => "lt;", '>' => "gt;", '"' => "quot;", '\'' => "apos;", _ => null };
            return name is not null && text.AsSpan(body).StartsWith(name, StringComparison.OrdinalIgnoreCase) ? ampersand + name.Length : 0;
        }
        var hex = text[body + 1] is 'x' or 'X';
        var first = body + (hex ? 2 : 1);
        var number = 0;
        for (var i = first; i < text.Length && i - body < LongestReference - 1; i++)
        {
            var c = text[i];
            if (c == ';') return i > first && number == value ? i + 1 - index : 0;
            if (hex ? !char.IsAsciiHexDigit(c) : !char.IsAsciiDigit(c)) return 0;
            number = number * (hex ? 16 : 10) + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return 0;
    }

    /// <summary>
    /// Whether the key at <paramref name="keyStart"/> follows a <c>#</c> that starts the text or follows white space or a
    /// quote: a comment (a configuration file's commented-out <c>#Password=a&amp;b</c>), not a URL's fragment, which
    /// follows the URL's characters. Its key is still read as a query's; its value runs as outside one.
    /// </summary>
    static bool StartsComment(string text, int keyStart) =>
        text[keyStart - 1] == '#' && (keyStart == 1 || char.IsWhiteSpace(text[keyStart - 2]) || text[keyStart - 2] is '"' or '\'');

    /// <summary>The start of the key of a form's pair: the key characters right before the <c>=</c>, no space among them.</summary>
    static int FormKeyStart(string text, int bound, int equals)
    {
        var start = equals;
        while (start > bound && IsKeyChar(text[start - 1])) start--;
        return start;
    }

    /// <summary>
    /// <see cref="IsSensitiveKey"/> for a percent-encoded pair: a query parameter when <c>%3F</c>, <c>%26</c>, <c>%23</c>,
    /// <c>?</c>, <c>&amp;</c> or <c>#</c> precedes the key.
    /// </summary>
    static bool IsSensitiveEncodedKey(KeyMatcher keys, string text, int keyStart, int keyEnd)
    {
        var key = text.AsSpan(keyStart, keyEnd - keyStart);
        var inQuery = IsQuerySeparator(text, keyStart)
            || (keyStart >= 3 && text[keyStart - 3] == '%' && (text[keyStart - 2] == '3' && text[keyStart - 1] is 'F' or 'f'
                                                               || text[keyStart - 2] == '2' && text[keyStart - 1] is '6' or '3'));
        return inQuery ? keys.IsSensitiveQueryKey(key) : keys.IsSensitiveTextKey(key);
    }

    const string EncodedEquals = "%3D";

    /// <summary>
    /// Masks the value of every percent-encoded <c>key%3Dvalue</c> pair whose key the rules call sensitive: a URL carried
    /// in another URL's query (<c>returnUrl=%2Fcb%3Faccess_token%3D...</c>). The key is the key characters before the
    /// <c>%3D</c>, after the escape (<c>%3F</c>, <c>%26</c>) that precedes them; the value runs to the next <c>%26</c>,
    /// <c>&amp;</c>, <c>#</c>, quote, angle bracket or white space.
    /// </summary>
    string MaskEncodedKeyValues(string text, KeyMatcher keys)
    {
        StringBuilder? result = null;
        var copied = 0;
        var search = 0;
        while (search < text.Length)
        {
            var equals = text.IndexOf(EncodedEquals, search, StringComparison.OrdinalIgnoreCase);
            if (equals < 0) break;
            search = equals + EncodedEquals.Length;
            var keyStart = equals;
            while (keyStart > copied && IsKeyChar(text[keyStart - 1])) keyStart--;
            // The escape before the key leaves its two hex digits at the start of the run: "%3Faccess_token".
            if (keyStart > 0 && text[keyStart - 1] == '%' && equals - keyStart > 2) keyStart += 2;
            if (keyStart == equals || !IsSensitiveEncodedKey(keys, text, keyStart, equals)) continue;

            var valueStart = search;
            var valueEnd = valueStart;
            while (valueEnd < text.Length && !char.IsWhiteSpace(text[valueEnd]) && text[valueEnd] is not ('&' or '#' or '"' or '\'' or '<' or '>')
                   && !(text[valueEnd] == '%' && valueEnd + 2 < text.Length && text[valueEnd + 1] == '2' && text[valueEnd + 2] == '6'))
                valueEnd++;
            if (valueEnd == valueStart) continue;

            var value = text.Substring(valueStart, valueEnd - valueStart);
            if (IsMask(value)) continue;
            Found(value);
            result ??= new StringBuilder(text.Length);
            result.Append(text, copied, valueStart - copied).Append(_masker.MaskText(value));
            copied = search = valueEnd;
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>HTTP authentication schemes whose credential follows them after white space (<c>Bearer x</c>, <c>Basic x</c>).</summary>
    static readonly string[] AuthorizationSchemes = ["Basic", "Bearer", "Digest", "Negotiate", "NTLM", "Token", "OAuth", "HOBA", "Mutual", "ApiKey", "SSWS"];

    /// <summary>
    /// The end of a sensitive value that continues past white space: the value of an <c>auth</c> key
    /// (<c>Authorization=Bearer x</c>) that is only a scheme's name is that name and the credential after it; white
    /// space would otherwise end it after the scheme and leave the credential readable.
    /// </summary>
    static int WithSchemeCredential(string text, int keyStart, int keyEnd, int valueStart, int valueEnd)
    {
        if (text.AsSpan(keyStart, keyEnd - keyStart).IndexOf("auth", StringComparison.OrdinalIgnoreCase) < 0) return valueEnd;
        var value = text.AsSpan(valueStart, valueEnd - valueStart);
        var isScheme = false;
        foreach (var scheme in AuthorizationSchemes)
        {
            if (value.Equals(scheme, StringComparison.OrdinalIgnoreCase))
            {
                isScheme = true;
                break;
            }
        }
        if (!isScheme) return valueEnd;
        var start = valueEnd;
        while (start < text.Length && text[start] is ' ' or '\t') start++;
        if (start == valueEnd) return valueEnd;
        var end = start;
        while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] is not ('"' or '\'' or ';' or '&' or '<' or '>')) end++;
        return end > start ? end : valueEnd;
    }

    static int KeyStart(string text, int bound, int keyEnd)
    {
        var start = keyEnd;
        for (var words = 0; words < MaximumKeyWords; words++)
        {
            var wordStart = start;
            while (wordStart > bound && IsKeyChar(text[wordStart - 1])) wordStart--;
            if (wordStart == start) break;
            start = wordStart;
            // Another word only across one space, and only when a word char comes before it.
            if (start - 2 < bound || text[start - 1] != ' ' || !IsKeyChar(text[start - 2])) break;
            if (words + 1 < MaximumKeyWords) start--;
        }
        return start < keyEnd && text[start] == ' ' ? start + 1 : start;
    }

    // Both Turkish i's too: a key cased under tr-TR or az ("PİN", "APİ_KEY") is read whole, as the rules read it (see
    // KeyText), not as the letters after its last Turkish i.
    static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '\u0130' or '\u0131';

    enum ValueKind { Query, Connection, Plain }

    /// <summary>How many braced values this thread scanned for their closing brace (for tests).</summary>
    [ThreadStatic] internal static int BraceScansForTests;

    /// <summary>
    /// Where unquoted values end. Where a value ends depends only on the characters from its start on, so a pair nested
    /// in the last value of its kind ("a=x=x=x...") reuses that value's end instead of scanning to it again: one pass
    /// over text with many <c>=</c>.
    /// </summary>
    struct ValueEnds
    {
        int _queryStart, _queryEnd, _connectionStart, _connectionEnd, _plainStart, _plainEnd;
        int _formAmpersand;
        bool _pairAfterFormAmpersand;
        /// <summary>The last braced value scanned: its brace and its end (0 while none was).</summary>
        int _braceStart, _braceEnd;

        public int Find(string text, int keyStart, int start)
        {
            if (start >= text.Length) return start;
            var quote = text[start];
            if (quote is '"' or '\'')
            {
                // Connection strings escape a quote inside a quoted value by doubling it. Unclosed: mask to the end.
                return SqlParameterList.QuotedEnd(text, start, quote);
            }
            if (quote == '{')
            {
                // ODBC puts a value that holds ';' in braces and doubles a '}' inside it ("Pwd={p;a}}ss}"). Unclosed:
                // mask to the end. A value opened inside the last one scanned ends where it does: its brace is one
                // character of that value, so the scan from it meets the same doubled "}}" pairs and the same lone '}'
                // (or none, when that value was unclosed). Not scanned again, so text with many "x={", closed by one
                // brace at the end or not at all, is read once, not once per pair.
                if (start >= _braceStart && start < _braceEnd) return _braceEnd;
                var i = start + 1;
                while (i < text.Length)
                {
                    if (text[i] == '}')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '}')
                        {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i++;
                }
                BraceScansForTests++;
                (_braceStart, _braceEnd) = (start, Math.Min(i + 1, text.Length));
                return _braceEnd;
            }

            var kind = KindOf(text, keyStart);
            ref var lastStart = ref kind == ValueKind.Query ? ref _queryStart : ref kind == ValueKind.Connection ? ref _connectionStart : ref _plainStart;
            ref var lastEnd = ref kind == ValueKind.Query ? ref _queryEnd : ref kind == ValueKind.Connection ? ref _connectionEnd : ref _plainEnd;
            if (start < lastStart || start >= lastEnd)
            {
                lastStart = start;
                lastEnd = Scan(text, start, kind);
            }
            var end = lastEnd;
            // "PWD = s3cret ;": the spaces before the separator are not the value's.
            while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
            return end;
        }

        /// <summary>
        /// The end of the value starting at <paramref name="start"/> when its pair is a form-encoded body's first
        /// (<c>code=abc&amp;state=xyz</c>): its key, at <paramref name="keyStart"/>, comes first in the text or after what
        /// <see cref="StartsBody"/> accepts, and its value, read as a query's, is followed by <c>&amp;</c> (or one escaped)
        /// and another <c>key=</c>; else -1.
        /// </summary>
        public int FormPairEnd(string text, int keyStart, int start)
        {
            if (keyStart == start - 1 || (keyStart > 0 && !StartsBody(text[keyStart - 1]))) return -1;
            if (start >= text.Length || text[start] is '"' or '\'' or '{') return -1;
            if (start < _queryStart || start >= _queryEnd)
            {
                _queryStart = start;
                _queryEnd = Scan(text, start, ValueKind.Query);
            }
            var end = _queryEnd;
            if (end >= text.Length || text[end] != '&') return -1;
            // Values that share an end share the pair after it: it is read once.
            if (end != _formAmpersand)
            {
                _formAmpersand = end;
                // In markup the '&' is escaped (&amp;, &#038;). A body joined with empty pairs has several in a row
                // ("code=x&&state=y"): each is read once, for the one end they follow.
                var keyAt = end;
                while (keyAt < text.Length && text[keyAt] == '&') keyAt += Math.Max(1, EscapedAmpersandLength(text, keyAt));
                var i = keyAt;
                while (i < text.Length && IsKeyChar(text[i])) i++;
                _pairAfterFormAmpersand = i > keyAt && i < text.Length && text[i] == '=';
            }
            return _pairAfterFormAmpersand && end > start ? end : -1;
        }

        /// <summary>
        /// What may come right before a body's first key: white space, a quote, an opening bracket, a label's <c>:</c>, an
        /// element's <c>&gt;</c>, the <c>=</c> of a pair whose value it is (<c>body=code=...</c>), a list's <c>,</c>.
        /// </summary>
        static bool StartsBody(char c) => char.IsWhiteSpace(c) || c is '"' or '\'' or '`' or '(' or '[' or '{' or '<' or '>' or ':' or '=' or ',';

        static ValueKind KindOf(string text, int keyStart)
        {
            if (IsQuerySeparator(text, keyStart) && !StartsComment(text, keyStart)) return ValueKind.Query;
            var before = keyStart;
            while (before > 0 && text[before - 1] is ' ' or '\t') before--;
            return before > 0 && text[before - 1] == ';' ? ValueKind.Connection : ValueKind.Plain;
        }

        static int Scan(string text, int start, ValueKind kind)
        {
            var end = start;
            for (; end < text.Length; end++)
            {
                var c = text[end];
                if (c is '"' or '\'' && ClosesSurroundingQuote(text, end)) return end;
                if (kind == ValueKind.Query)
                {
                    if (char.IsWhiteSpace(c) || c is '&' or '#' or '<' or '>') return end;
                    continue;
                }
                if ((c == ';' && !EndsCharacterReference(text, end)) || c is '\r' or '\n') return end;
                // Plain text: white space ends the value unless a ';' comes before the next pair or line, as in a
                // connection string whose password holds spaces ("Password=correct horse;Server=db").
                if (kind == ValueKind.Plain && char.IsWhiteSpace(c))
                {
                    if (!SemicolonBeforeNextPair(text, end)) return end;
                    kind = ValueKind.Connection;
                }
            }
            return end;
        }

        /// <summary>
        /// Whether the <c>;</c> at <paramref name="semicolon"/> ends an XML or HTML character reference (<c>&amp;amp;</c>,
        /// <c>&amp;lt;</c>, <c>&amp;gt;</c>, <c>&amp;quot;</c>, <c>&amp;apos;</c>, <c>&amp;#38;</c>, <c>&amp;#x26;</c>): a
        /// connection string written into XML escapes its password's <c>&amp;</c> so, and that <c>;</c> is part of the value.
        /// </summary>
        static bool EndsCharacterReference(string text, int semicolon)
        {
            const int LongestReference = 8; // "#x10FFFF"
            var start = semicolon;
            while (start > 0 && semicolon - start < LongestReference && (char.IsAsciiLetterOrDigit(text[start - 1]) || text[start - 1] == '#')) start--;
            if (start == 0 || text[start - 1] != '&' || start == semicolon) return false;
            var name = text.AsSpan(start, semicolon - start);
            if (name[0] == '#')
            {
                var digits = name[1..];
                var hex = digits.Length > 0 && digits[0] is 'x' or 'X';
                if (hex) digits = digits[1..];
                if (digits.Length == 0) return false;
                foreach (var d in digits)
                {
                    if (!(hex ? char.IsAsciiHexDigit(d) : char.IsAsciiDigit(d))) return false;
                }
                return true;
            }
            return name.Equals("amp", StringComparison.OrdinalIgnoreCase) || name.Equals("lt", StringComparison.OrdinalIgnoreCase)
                || name.Equals("gt", StringComparison.OrdinalIgnoreCase) || name.Equals("quot", StringComparison.OrdinalIgnoreCase)
                || name.Equals("apos", StringComparison.OrdinalIgnoreCase);
        }

        static bool ClosesSurroundingQuote(string text, int index) =>
            index + 1 == text.Length || char.IsWhiteSpace(text[index + 1]) || text[index + 1] is ',' or ':' or '}' or ']' or ')' or '>' or '/' or '&';

        /// <summary>
        /// Whether a <c>;</c> comes before the next pair or line and ends a connection string's value: another
        /// <c>key=</c>, the end of the text or of the line follows it. Prose after a value ("password=x was rejected;
        /// retrying") is not the value's.
        /// </summary>
        static bool SemicolonBeforeNextPair(string text, int from)
        {
            for (var i = from; i < text.Length; i++)
            {
                switch (text[i])
                {
                    case ';' when !EndsCharacterReference(text, i): return StartsPairOrEnds(text, i + 1);
                    case '=' or '\r' or '\n': return false;
                }
            }
            return false;
        }

        static bool StartsPairOrEnds(string text, int from)
        {
            var i = from;
            while (i < text.Length && text[i] == ' ') i++;
            if (i == text.Length || text[i] is '\r' or '\n') return true;
            var keyStart = i;
            while (i < text.Length && (IsKeyChar(text[i]) || text[i] == ' ')) i++;
            return i > keyStart && i < text.Length && text[i] == '=';
        }
    }

    /// <summary>Masks the password of every <c>scheme://user:password@host</c> user info.</summary>
    string MaskUrlPasswords(string text)
    {
        StringBuilder? result = null;
        var copied = 0;
        var search = 0;
        // The run of URL characters the last address lies in, and its last '@' (-1 when none): every address after it
        // in the same run ("://://://..." or "x://a:x://a:...") reuses them instead of scanning to the run's end again.
        var run = new UrlRun();
        while (search < text.Length)
        {
            var separator = text.IndexOf("://", search, StringComparison.Ordinal);
            if (separator < 0) break;
            var authorityStart = separator + 3;
            var authorityEnd = authorityStart;
            while (authorityEnd < text.Length && !IsAuthorityEnd(text[authorityEnd])) authorityEnd++;
            search = Math.Max(authorityEnd, authorityStart);
            if (authorityEnd == authorityStart) continue;

            var at = text.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
            int colon;
            if (at >= 0)
            {
                colon = text.IndexOf(':', authorityStart, at - authorityStart);
                if (colon >= 0)
                {
                    // A password is there; one holding both '@' and '/' (app:P@ss/w0rd@db) cannot be told from a path
                    // holding an '@' (u:pw@host/users/@me): the password runs to the address's last '@', so that no
                    // part of it stays readable (the host and path of such a URL are masked with it).
                    var lastAt = run.LastAt(text, authorityStart, authorityEnd);
                    if (lastAt > at)
                    {
                        at = lastAt;
                        search = at + 1;
                    }
                }
            }
            else
            {
                // A password pasted without percent-encoding may hold '/', '?' or '#' (redis://:pa/ss@cache): then the
                // user info ends at the last '@' of the address, when what comes before it is user:password, not
                // host:port/path. A user name holds no '[': "[::1]:5000/users/@me" is an IPv6 host, its port and a path.
                at = run.LastAt(text, authorityStart, authorityStart);
                if (at < 0) continue;
                colon = text.IndexOf(':', authorityStart, at - authorityStart);
                if (colon < 0 || text.AsSpan(authorityStart, colon - authorityStart).IndexOfAny("/?#[") >= 0 || IsPortThenPath(text, colon + 1, at))
                    continue;
                search = at + 1;
            }
            if (colon < 0 || colon + 1 == at) continue;

            result ??= new StringBuilder(text.Length);
            var password = text.Substring(colon + 1, at - colon - 1);
            Found(password);
            result.Append(text, copied, colon + 1 - copied).Append(_masker.MaskText(password));
            copied = at;
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>
    /// The run of characters that no URL ends in (<see cref="IsUrlEnd"/>) holding an address, and its last <c>@</c>.
    /// An address holds no URL end, so all addresses of one run share both: each is found once per run, not once per
    /// <c>://</c>, and text made of many <c>://</c> is read in one pass.
    /// </summary>
    struct UrlRun
    {
        int _start, _end, _lastAt;

        /// <summary>The last <c>@</c> at or after <paramref name="from"/> in the run that holds <paramref name="authorityStart"/>, or -1.</summary>
        public int LastAt(string text, int authorityStart, int from)
        {
            if (_end == 0 || authorityStart < _start || authorityStart >= _end)
            {
                // Runs are met left to right; the first address of a run starts no later than any other of it.
                var end = authorityStart;
                while (end < text.Length && !IsUrlEnd(text[end])) end++;
                _start = authorityStart;
                _end = end;
                _lastAt = end > authorityStart ? text.LastIndexOf('@', end - 1, end - authorityStart) : -1;
            }
            return _lastAt >= from ? _lastAt : -1;
        }
    }

    static bool IsAuthorityEnd(char c) => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '"' or '\'' or '<' or '>';

    static bool IsUrlEnd(char c) => char.IsWhiteSpace(c) || c is '"' or '\'' or '<' or '>';

    /// <summary>Whether <c>text[start..end]</c> is a port and a path (<c>8080/users/</c> of <c>https://host:8080/users/@me</c>).</summary>
    static bool IsPortThenPath(string text, int start, int end)
    {
        var i = start;
        while (i < end && char.IsAsciiDigit(text[i])) i++;
        return i > start && i < end && text[i] is '/' or '?' or '#';
    }

    /// <summary>Whether an integer has 13-19 digits and passes the Luhn check.</summary>
    public static bool IsCardNumber(ulong value)
    {
        Span<char> digits = stackalloc char[20];
        if (!value.TryFormat(digits, out var written)) return false;
        return written is >= 13 and <= 19 && PassesLuhn(digits[..written]);
    }

    string MaskCard(Match match)
    {
        var text = match.Value;
        if (IsGroupedCardNumber(text)) return _masker.MaskText(text);
        // A grouped number written next to other digit groups ("4111 1111 1111 1111 12/28", "qty 2 4111-1111-...")
        // makes one longer match that fails the check: the card is then a run of whole groups inside it.
        return text.AsSpan().IndexOfAny(' ', '-') >= 0 ? MaskCardGroups(text) : text;
    }

    static bool IsGroupedCardNumber(ReadOnlySpan<char> text)
    {
        Span<char> digits = stackalloc char[text.Length];
        var count = 0;
        foreach (var c in text)
        {
            if (char.IsDigit(c)) digits[count++] = (char)('0' + CharUnicodeInfo.GetDecimalDigitValue(c));
        }
        return count is >= 13 and <= 19 && PassesLuhn(digits[..count]);
    }

    /// <summary>Masks the first runs of whole separator-delimited groups, 13 to 19 digits long, that pass the Luhn check.</summary>
    string MaskCardGroups(string text)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is ' ' or '-') starts.Add(i + 1);
        }

        System.Text.StringBuilder? result = null;
        var copied = 0;
        for (var first = 0; first < starts.Count; first++)
        {
            if (starts[first] < copied) continue;
            for (var last = first; last < starts.Count; last++)
            {
                var end = last + 1 < starts.Count ? starts[last + 1] - 1 : text.Length;
                var span = text.AsSpan(starts[first], end - starts[first]);
                var digitCount = span.Length - (last - first);
                if (digitCount > 19) break;
                if (digitCount < 13 || !IsGroupedCardNumber(span)) continue;

                result ??= new System.Text.StringBuilder(text.Length);
                result.Append(text, copied, starts[first] - copied).Append(_masker.MaskText(span.ToString()));
                copied = end;
                break;
            }
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    string MaskMatch(Match match) => _masker.MaskText(match.Value);

    string MaskBearer(Match match)
    {
        var scheme = match.Groups["scheme"];
        return string.Concat(scheme.ValueSpan, _masker.MaskText(match.Value[scheme.Length..]));
    }

    static int CountDigits(string text)
    {
        var count = 0;
        foreach (var c in text)
        {
            if (char.IsDigit(c)) count++;
        }
        return count;
    }

    static bool PassesLuhn(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
            doubleIt = !doubleIt;
        }
        return sum % 10 == 0;
    }
}
