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
    public static bool LooksLikeMemberList(string text)
    {
        if (text.Length < 7 || !text.EndsWith(" }", StringComparison.Ordinal)) return false;
        var open = text.IndexOf("{ ", StringComparison.Ordinal);
        return open >= 0 && text.IndexOf(" = ", open, StringComparison.Ordinal) > open;
    }

    public static string? Redact(string text, Redactor redactor)
    {
        var open = text.IndexOf("{ ", StringComparison.Ordinal);
        var typeName = open > 0 ? text[..open].Trim() : null;
        var attributed = string.IsNullOrEmpty(typeName) ? null : AttributedTypeIndex.Find(typeName);

        // Member starts: an identifier right after "{ " or ", " and followed by " = ".
        var members = new List<(int NameStart, int NameEnd, int ValueStart)>();
        for (var i = open + 2; i < text.Length; i++)
        {
            if (i != open + 2 && !(text[i - 2] == ',' && text[i - 1] == ' ') && !(text[i - 2] == '{' && text[i - 1] == ' ')) continue;
            var end = i;
            while (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_')) end++;
            if (end == i || end + 3 > text.Length || string.CompareOrdinal(text, end, " = ", 0, 3) != 0) continue;
            members.Add((i, end, end + 3));
        }

        StringBuilder? result = null;
        var copied = 0;
        for (var m = 0; m < members.Count; m++)
        {
            var (nameStart, nameEnd, valueStart) = members[m];
            var name = text[nameStart..nameEnd];
            var sensitive = redactor.Keys.IsSensitive(name) ||
                            (attributed is not null && (attributed.Sensitive.Contains(name) || attributed.NotLogged.Contains(name)));
            if (!sensitive) continue;

            var valueEnd = m + 1 < members.Count ? members[m + 1].NameStart - 2 : text.Length;
            // Closing braces of nested members belong to the structure, not to the value.
            while (valueEnd - valueStart >= 2 && text[valueEnd - 1] == '}' && text[valueEnd - 2] == ' ') valueEnd -= 2;
            if (valueEnd <= valueStart) continue;

            result ??= new StringBuilder(text.Length);
            result.Append(text, copied, valueStart - copied);
            result.Append(redactor.Masker.MaskText(text[valueStart..valueEnd]));
            copied = valueEnd;
        }

        if (result is null) return null;
        result.Append(text, copied, text.Length - copied);
        return result.ToString();
    }
}
