using System.Globalization;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>
/// What a sink would write for an event: Serilog's own <see cref="JsonFormatter"/> (rendered message included) and a
/// plain text line with every property. The CLEF formatter is written concurrently by another team; the lead switches
/// this to it later. Tests search this text for secrets.
/// </summary>
static class Output
{
    static readonly JsonFormatter Json = new(renderMessage: true, formatProvider: CultureInfo.InvariantCulture);
    static readonly MessageTemplateTextFormatter Text = new(
        "{Timestamp:o} [{Level}] {Message:lj} {Properties:j}{NewLine}{Exception}", CultureInfo.InvariantCulture);

    public static string Render(LogEvent logEvent)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        Json.Format(logEvent, writer);
        Text.Format(logEvent, writer);
        // The raw template as well: a sink may write it (CLEF's @mt).
        writer.Write(logEvent.MessageTemplate.Text);
        return writer.ToString();
    }

    public static string Render(IEnumerable<LogEvent> events) => string.Concat(events.Select(Render));
}
