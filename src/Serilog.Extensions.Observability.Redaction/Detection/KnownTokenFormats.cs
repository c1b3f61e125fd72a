using System.Buffers;
using System.Text;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Detection;

/// <summary>
/// Finds secrets that a vendor writes in a fixed, documented format: the body of a PEM private key block, AWS access
/// key ids, GitHub, Slack, Stripe and Google API tokens. Read left to right without a pattern: the text is searched
/// for the few characters every format holds at a fixed place (<see cref="Anchors"/>) and for an armor line, and each
/// one found is checked by a bounded look around it, so ordinary text costs a vectorised scan and nothing is allocated
/// unless a secret is masked. A token counts only whole and at a word's boundary: one glued to other letters, digits or
/// <c>_</c>, or of another length than its format's, is some other word (an escaped separator before it, <c>\n</c> or
/// <c>%3D</c>, is a boundary).
/// </summary>
static class KnownTokenFormats
{
    const string Armor = "-----";
    const string Begin = "-----BEGIN";
    const string End = "-----END";

    /// <summary>RFC 7468's labels are short; a longer run of capitals is no armor line.</summary>
    const int MaximumLabelLength = 64;

    // 'A' starts AKIA, ASIA and AIza; '_' follows gh?, github, sk and rk; '-' follows xox?.
    static readonly SearchValues<char> Anchors = SearchValues.Create("A_-");

    /// <summary>The text with the body of every PEM private key block masked; the same instance when there is none.</summary>
    public static string MaskPrivateKeyBlocks(string text, Masker masker) =>
        text.Contains(Begin, StringComparison.Ordinal) ? MaskPrivateKeys(text, masker) : text;

    /// <summary>
    /// The length of the space at <paramref name="index"/> between an armor line's words: a space, or as a query or a
    /// form body encodes one, <c>+</c> or <c>%20</c>; else 0.
    /// </summary>
    static int SpaceLength(string text, int index)
    {
        if (index >= text.Length) return 0;
        if (text[index] is ' ' or '+') return 1;
        return text[index] == '%' && text.AsSpan(index).StartsWith("%20", StringComparison.Ordinal) ? 3 : 0;
    }

    /// <summary>Whether an armor line starts at <paramref name="index"/> with <paramref name="word"/> and a space (see <see cref="SpaceLength"/>).</summary>
    static bool StartsArmor(string text, int index, string word) =>
        text.AsSpan(index).StartsWith(word, StringComparison.Ordinal) && SpaceLength(text, index + word.Length) > 0;

    /// <summary>Whether the label between the two indexes holds <c>PRIVATE KEY</c>, its space written any way <see cref="SpaceLength"/> reads.</summary>
    static bool NamesPrivateKey(string text, int labelStart, int labelEnd)
    {
        var at = labelStart;
        while (at < labelEnd)
        {
            var found = text.AsSpan(at, labelEnd - at).IndexOf("PRIVATE", StringComparison.Ordinal);
            if (found < 0) return false;
            var space = at + found + "PRIVATE".Length;
            var length = SpaceLength(text, space);
            if (length > 0 && text.AsSpan(space + length, Math.Max(0, labelEnd - space - length)).StartsWith("KEY", StringComparison.Ordinal)) return true;
            at = space;
        }
        return false;
    }

    /// <summary>
    /// Masks the body of every <c>-----BEGIN ... PRIVATE KEY-----</c> block (PKCS#1 and #8, SEC 1, OpenSSH, PGP's
    /// <c>PRIVATE KEY BLOCK</c>), headers included, up to the next armor line (its <c>-----END ...-----</c>, or the
    /// <c>-----BEGIN</c> of another block when its end was cut off) or the end of the text. The armor lines are kept:
    /// they name what was there. Certificates, public keys and requests are kept whole. A block URL-encoded in a query or a
    /// form body is read too: its armor's spaces written <c>%20</c> or <c>+</c>, its line breaks <c>%0A</c> or <c>%0D</c>.
    /// </summary>
    static string MaskPrivateKeys(string text, Masker masker)
    {
        StringBuilder? result = null;
        var copied = 0;
        var search = 0;
        while (search < text.Length)
        {
            var begin = text.IndexOf(Begin, search, StringComparison.Ordinal);
            if (begin < 0) break;
            search = begin + Begin.Length;
            var space = SpaceLength(text, search);
            if (space == 0) continue;
            var labelStart = search + space;
            search = labelStart;
            var labelEnd = labelStart;
            while (labelEnd < text.Length && labelEnd - labelStart <= MaximumLabelLength)
            {
                if (char.IsAsciiLetterUpper(text[labelEnd]) || char.IsAsciiDigit(text[labelEnd])) labelEnd++;
                else if (SpaceLength(text, labelEnd) is > 0 and var length) labelEnd += length;
                else break;
            }
            if (!text.AsSpan(labelEnd).StartsWith(Armor, StringComparison.Ordinal) || !NamesPrivateKey(text, labelStart, labelEnd))
                continue;

            var bodyStart = SkipLineBreaks(text, labelEnd + Armor.Length);
            var next = NextArmorLine(text, bodyStart);
            var bodyEnd = SkipLineBreaksBack(text, bodyStart, next);
            search = next;
            if (bodyEnd == bodyStart) continue;

            result ??= new StringBuilder(text.Length);
            result.Append(text, copied, bodyStart - copied).Append(masker.MaskText(text.Substring(bodyStart, bodyEnd - bodyStart)));
            copied = bodyEnd;
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>Where the next <c>-----END </c> or <c>-----BEGIN </c> starts (a space encoded or not), or the end of the text.</summary>
    static int NextArmorLine(string text, int from)
    {
        var i = from;
        while (i < text.Length)
        {
            var dashes = text.IndexOf(Armor, i, StringComparison.Ordinal);
            if (dashes < 0) break;
            if (StartsArmor(text, dashes, End) || StartsArmor(text, dashes, Begin)) return dashes;
            i = dashes + 1;
        }
        return text.Length;
    }

    /// <summary>Whether a line break percent-encoded as a query or a form body writes one (<c>%0A</c>, <c>%0D</c>) stands at <paramref name="index"/>.</summary>
    static bool IsEncodedLineBreak(string text, int index) =>
        index + 2 < text.Length && text[index] == '%' && text[index + 1] == '0' && text[index + 2] is 'A' or 'a' or 'D' or 'd';

    // White space and the escapes a block flattened into a JSON string (\n, \r) or encoded in a URL (%0A, %0D) has for
    // its line breaks.
    static int SkipLineBreaks(string text, int i)
    {
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i])) i++;
            else if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is 'n' or 'r') i += 2;
            else if (IsEncodedLineBreak(text, i)) i += 3;
            else break;
        }
        return i;
    }

    static int SkipLineBreaksBack(string text, int start, int end)
    {
        while (end > start)
        {
            if (char.IsWhiteSpace(text[end - 1])) end--;
            else if (end - start >= 2 && text[end - 2] == '\\' && text[end - 1] is 'n' or 'r') end -= 2;
            else if (end - start >= 3 && IsEncodedLineBreak(text, end - 3)) end -= 3;
            else break;
        }
        return end;
    }

    /// <summary>The text with every token in a known format masked; the same instance when there is none.</summary>
    public static string MaskTokens(string text, Masker masker)
    {
        StringBuilder? result = null;
        var copied = 0;
        var i = 0;
        while (i < text.Length)
        {
            var found = text.AsSpan(i).IndexOfAny(Anchors);
            if (found < 0) break;
            var anchor = i + found;
            var (start, end) = TokenAt(text, anchor);
            // A token starts at a boundary, so never inside the one masked before it.
            if (end < 0 || start < copied)
            {
                i = anchor + 1;
                continue;
            }

            result ??= new StringBuilder(text.Length);
            result.Append(text, copied, start - copied).Append(masker.MaskText(text.Substring(start, end - start)));
            copied = end;
            i = end;
        }

        if (result is null) return text;
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>The longest token counted, prefix included (GitHub's are at most 255 characters): a longer run is none.</summary>
    /// <remarks>It also bounds the look around each anchor: a Slack token's dashes are anchors inside its own run.</remarks>
    const int MaximumTokenLength = 255;

    /// <summary>The token that <paramref name="anchor"/> (one of <see cref="Anchors"/>) is part of, or (-1, -1).</summary>
    static (int Start, int End) TokenAt(string text, int anchor)
    {
        switch (text[anchor])
        {
            case 'A':
                if (!StartsToken(text, anchor)) return None;
                // AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 capitals or digits.
                if (HasAt(text, anchor, "AKIA") || HasAt(text, anchor, "ASIA")) return Token(text, anchor, 4, IsUpperOrDigit, 16, 16);
                // Google API keys: AIza and 35 letters, digits, '_' or '-'.
                if (HasAt(text, anchor, "AIza")) return Token(text, anchor, 4, IsGoogleKeyChar, 35, 35);
                return None;

            case '_':
                // GitHub: ghp_ (personal), gho_ (OAuth), ghu_ (user-to-server), ghs_ (server-to-server), ghr_ (refresh)
                // and 36 letters or digits; GitHub may lengthen them, so more count too.
                if (anchor >= 3 && text[anchor - 3] == 'g' && text[anchor - 2] == 'h' && text[anchor - 1] is 'p' or 'o' or 'u' or 's' or 'r'
                    && StartsToken(text, anchor - 3))
                    return Token(text, anchor - 3, 4, char.IsAsciiLetterOrDigit, 36, MaximumTokenLength);
                // GitHub fine-grained personal access tokens: github_pat_ and 82 letters, digits or '_'.
                if (anchor >= 6 && HasAt(text, anchor - 6, "github_pat_") && StartsToken(text, anchor - 6))
                    return Token(text, anchor - 6, 11, IsWordChar, 82, MaximumTokenLength);
                // Stripe secret and restricted keys, live or test (not the publishable pk_): 24 letters or digits or more.
                if (anchor >= 2 && text[anchor - 2] is 's' or 'r' && text[anchor - 1] == 'k' && StartsToken(text, anchor - 2)
                    && (HasAt(text, anchor + 1, "live_") || HasAt(text, anchor + 1, "test_")))
                    return Token(text, anchor - 2, 8, char.IsAsciiLetterOrDigit, 24, MaximumTokenLength);
                return None;

            default:
                // Slack: xoxb- (bot), xoxp- (user), xoxa- (app), xoxr- (refresh), xoxs- (session), then digits, letters
                // and dashes (xoxb-<team>-<bot>-<secret>); at least 10 of them, so that a word such as xoxb-test is kept.
                if (anchor >= 4 && HasAt(text, anchor - 4, "xox") && text[anchor - 1] is 'b' or 'p' or 'a' or 'r' or 's'
                    && StartsToken(text, anchor - 4))
                    return Token(text, anchor - 4, 5, IsSlackTokenChar, 10, MaximumTokenLength);
                return None;
        }
    }

    static readonly (int Start, int End) None = (-1, -1);

    /// <summary>
    /// The token at <paramref name="start"/> whose <paramref name="prefix"/> characters are followed by between
    /// <paramref name="least"/> and <paramref name="most"/> characters that <paramref name="allowed"/> (the whole token
    /// at most <see cref="MaximumTokenLength"/>), and then no letter, digit or <c>_</c>; else <see cref="None"/>.
    /// </summary>
    static (int Start, int End) Token(string text, int start, int prefix, Func<char, bool> allowed, int least, int most)
    {
        most = Math.Min(most, MaximumTokenLength - prefix);
        var runStart = start + prefix;
        var end = runStart;
        // One more than the most, to tell a token of the most characters from a longer run.
        while (end < text.Length && end - runStart <= most && allowed(text[end])) end++;
        var length = end - runStart;
        return length >= least && length <= most && EndsToken(text, end) ? (start, end) : None;
    }

    static bool HasAt(string text, int index, string value) =>
        index + value.Length <= text.Length && text.AsSpan(index, value.Length).SequenceEqual(value);

    static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    static bool StartsToken(string text, int start) => start == 0 || !IsWordChar(text[start - 1]) || AfterEscape(text, start);

    /// <summary>
    /// Whether an escaped character ends right before <paramref name="start"/>: JSON's or C's <c>\n</c>, <c>\r</c>,
    /// <c>\t</c> or <c>\u0022</c>, or a URL's <c>%3D</c> or <c>%20</c>. The escape ends in a letter or digit, but
    /// stands for a separator, so text quoted in JSON or a URL's query has its tokens found too.
    /// </summary>
    static bool AfterEscape(string text, int start) =>
        start >= 2 && text[start - 2] == '\\' && text[start - 1] is 'n' or 'r' or 't'
        || start >= 3 && text[start - 3] == '%' && char.IsAsciiHexDigit(text[start - 2]) && char.IsAsciiHexDigit(text[start - 1])
        || start >= 6 && text[start - 6] == '\\' && text[start - 5] == 'u' && IsHex(text.AsSpan(start - 4, 4));

    static bool IsHex(ReadOnlySpan<char> digits) => !digits.ContainsAnyExcept(HexDigits);

    static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789ABCDEFabcdef");

    static bool EndsToken(string text, int end) => end == text.Length || !IsWordChar(text[end]);

    static bool IsUpperOrDigit(char c) => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c);

    static bool IsGoogleKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    static bool IsSlackTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '-';
}
