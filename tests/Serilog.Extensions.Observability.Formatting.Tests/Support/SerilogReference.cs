using System.Globalization;
using Serilog.Events;
using Serilog.Formatting.Json;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

/// <summary>
/// An independent oracle: the CLEF member rules of Serilog.Formatting.Compact 2.0 written plainly on top of Serilog
/// 3.1.1's own building blocks, which ARE the reference's: JsonValueFormatter for values and strings,
/// PropertyToken.Render / MessageTemplate.Render for @r and @m. Slow and allocating on purpose. (The package itself is
/// served here only in a version that needs Serilog 4: the compatibility tests compare with Serilog.Formatting.Compact
/// 3.0 on Serilog 4.)
/// </summary>
static class SerilogReference
{
    static readonly JsonValueFormatter Values = new(typeTagName: "$type");

    public static string Compact(LogEvent logEvent) => Format(logEvent, rendered: false);

    public static string Rendered(LogEvent logEvent) => Format(logEvent, rendered: true);

    static string Format(LogEvent logEvent, bool rendered)
    {
        var output = new StringWriter();
        output.Write("{\"@t\":\"" + logEvent.Timestamp.UtcDateTime.ToString("O") + "\"");
        if (rendered)
        {
            output.Write(",\"@m\":");
            JsonValueFormatter.WriteQuotedJsonString(logEvent.MessageTemplate.Render(logEvent.Properties, CultureInfo.InvariantCulture), output);
            output.Write(",\"@i\":\"" + JenkinsOneAtATime(logEvent.MessageTemplate.Text).ToString("x8", CultureInfo.InvariantCulture) + "\"");
        }
        else
        {
            output.Write(",\"@mt\":");
            JsonValueFormatter.WriteQuotedJsonString(logEvent.MessageTemplate.Text, output);
            var renderings = logEvent.MessageTemplate.Tokens.OfType<PropertyToken>().Where(t => t.Format != null).ToList();
            if (renderings.Count > 0)
            {
                output.Write(",\"@r\":[");
                for (var i = 0; i < renderings.Count; i++)
                {
                    if (i > 0) output.Write(',');
                    var one = new StringWriter();
                    renderings[i].Render(logEvent.Properties, one, CultureInfo.InvariantCulture);
                    JsonValueFormatter.WriteQuotedJsonString(one.ToString(), output);
                }
                output.Write(']');
            }
        }

        if (logEvent.Level != LogEventLevel.Information) output.Write(",\"@l\":\"" + logEvent.Level + "\"");
        if (logEvent.Exception != null)
        {
            output.Write(",\"@x\":");
            JsonValueFormatter.WriteQuotedJsonString(logEvent.Exception.ToString(), output);
        }
        if (logEvent.TraceId != null) output.Write(",\"@tr\":\"" + logEvent.TraceId.Value.ToHexString() + "\"");
        if (logEvent.SpanId != null) output.Write(",\"@sp\":\"" + logEvent.SpanId.Value.ToHexString() + "\"");

        foreach (var (name, value) in logEvent.Properties)
        {
            output.Write(',');
            JsonValueFormatter.WriteQuotedJsonString(name.StartsWith('@') ? "@" + name : name, output);
            output.Write(':');
            Values.Format(value, output);
        }
        output.Write('}');
        output.WriteLine();
        return output.ToString();
    }

    // https://en.wikipedia.org/wiki/Jenkins_hash_function, over UTF-16 code units.
    internal static uint JenkinsOneAtATime(string text)
    {
        uint hash = 0;
        unchecked
        {
            foreach (var c in text)
            {
                hash += c;
                hash += hash << 10;
                hash ^= hash >> 6;
            }
            hash += hash << 3;
            hash ^= hash >> 11;
            hash += hash << 15;
        }
        return hash;
    }
}
