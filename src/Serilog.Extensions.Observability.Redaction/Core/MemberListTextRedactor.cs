using System.Text;
using Serilog.Extensions.Observability.Redaction.Attributes;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// Masks by member name the text that records and anonymous types produce from <c>ToString()</c>, which is what
/// Serilog stores when such an object is logged without <c>@</c>: <c>User { Name = Ann, Password = hunter2 }</c>.
/// The text has no quoting, so a value runs to the next <c>, Member = </c> or to the closing braces; a sensitive
/// value is masked over that whole span (it may over-mask, it never stops early at a comma inside the value's text).
/// </summary>
static class MemberListTextRedactor
{
    /// <summary>
    /// A record's text ends in " }"; cut by ToMaximumStringLength it ends in the truncation mark, and then its last
    /// member's value runs to the end (masked whole when the member is sensitive). Loads and comparisons only.
    /// </summary>
    public static bool EndsLikeMemberList(string text) =>
        text.Length >= 7 && (text[^1] == Redactor.TruncationMark || (text[^1] == '}' && text[^2] == ' '));

    public static bool LooksLikeMemberList(string text)
    {
        if (!EndsLikeMemberList(text)) return false;
        var open = text.IndexOf("{ ", StringComparison.Ordinal);
        return open >= 0 && text.IndexOf(" = ", open, StringComparison.Ordinal) > open;
    }

    public static string? Redact(string text, Redactor redactor)
    {
        var open = text.IndexOf("{ ", StringComparison.Ordinal);
        var typeName = open > 0 ? text[..open].Trim() : null;

        // The attributed members of the structure open at each depth: a record nested in another object prints its
        // own type name before its "{ " ("Order { Contact = Contact { Phone = ... } }"), and its [Sensitive] members
        // are its own, not the outer type's.
        var attributedAt = new List<AttributedMembers?> { null };

        // Member starts: an identifier right after "{ " or ", " and followed by " = ", with its nesting depth
        // (the "{ " not yet closed by " }" before it) and the attributed members of the structure it belongs to.
        var members = new List<(int NameStart, int NameEnd, int ValueStart, int Depth, AttributedMembers? Attributed)>();
        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            if (text[i] == '{' && i + 1 < text.Length && text[i + 1] == ' ')
            {
                depth++;
                if (depth > 0)
                {
                    var name = i == open ? typeName : TypeNameBefore(text, i);
                    var found = string.IsNullOrEmpty(name) ? null : AttributedTypeIndex.Find(name);
                    if (depth < attributedAt.Count) attributedAt[depth] = found;
                    else attributedAt.Add(found);
                }
            }
            else if (text[i] == '}' && i > 0 && text[i - 1] == ' ') depth--;

            if (i < open + 2 || !((text[i - 2] == ',' || text[i - 2] == '{') && text[i - 1] == ' ')) continue;
            var end = i;
            while (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_')) end++;
            if (end == i || end + 3 > text.Length || string.CompareOrdinal(text, end, " = ", 0, 3) != 0) continue;
            members.Add((i, end, end + 3, depth, depth > 0 && depth < attributedAt.Count ? attributedAt[depth] : null));
        }

        StringBuilder? result = null;
        var copied = 0;
        for (var m = 0; m < members.Count; m++)
        {
            var (nameStart, nameEnd, valueStart, memberDepth, attributed) = members[m];
            var name = text[nameStart..nameEnd];
            var sensitive = redactor.Keys.IsSensitive(name) ||
                            (attributed is not null && (attributed.Sensitive.Contains(name) || attributed.NotLogged.Contains(name)));

            // A sensitive value runs to the next member at its own depth or shallower: nested members are part of it.
            var next = m + 1;
            if (sensitive)
            {
                while (next < members.Count && members[next].Depth > memberDepth) next++;
            }

            int valueEnd, keepClosers;
            if (next < members.Count)
            {
                valueEnd = members[next].NameStart - 2;
                keepClosers = Math.Max(0, memberDepth - members[next].Depth);
            }
            else
            {
                valueEnd = text.Length;
                keepClosers = memberDepth;
            }

            // Closing braces of the enclosing structures belong to them, not to the value.
            for (var k = 0; k < keepClosers && valueEnd - valueStart >= 2 && text[valueEnd - 1] == '}' && text[valueEnd - 2] == ' '; k++) valueEnd -= 2;
            if (valueEnd <= valueStart)
            {
                m = next - 1;
                continue;
            }

            // A member that is not sensitive may still hold structured text (a JsonNode renders as JSON).
            var value = text[valueStart..valueEnd];
            var replacement = sensitive ? redactor.Masker.MaskText(value) : redactor.RedactString(value);
            if (replacement is not null)
            {
                result ??= new StringBuilder(text.Length);
                result.Append(text, copied, valueStart - copied);
                result.Append(replacement);
                copied = valueEnd;
            }
            m = next - 1;
        }

        if (result is null) return null;
        result.Append(text, copied, text.Length - copied);
        return result.ToString();
    }

    /// <summary>The identifier right before the <c>" { "</c> at <paramref name="brace"/>, or <see langword="null"/>.</summary>
    static string? TypeNameBefore(string text, int brace)
    {
        var end = brace;
        if (end > 0 && text[end - 1] == ' ') end--;
        var start = end;
        while (start > 0 && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] == '_')) start--;
        return start == end ? null : text[start..end];
    }
}
