using System.Globalization;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>
/// What a sink would write for an event: the pack's CLEF (compact and rendered, so both the template and the
/// rendered message are there), Serilog's own <see cref="JsonFormatter"/>, and a plain text line with every property.
/// Tests search this text for secrets.
/// </summary>
static class Output
{
    static readonly Formatting.CompactJsonFormatter Clef = new();
    static readonly Formatting.RenderedCompactJsonFormatter RenderedClef = new();
    static readonly JsonFormatter Json = new(renderMessage: true, formatProvider: CultureInfo.InvariantCulture);
    static readonly MessageTemplateTextFormatter Text = new(
        "{Timestamp:o} [{Level}] {Message:lj} {Properties:j}{NewLine}{Exception}", CultureInfo.InvariantCulture);

    public static string Render(LogEvent logEvent)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        Clef.Format(logEvent, writer);
        RenderedClef.Format(logEvent, writer);
        Json.Format(logEvent, writer);
        Text.Format(logEvent, writer);
        // The raw template as well: a sink may write it (CLEF's @mt).
        writer.Write(logEvent.MessageTemplate.Text);
        return writer.ToString();
    }

    public static string Render(IEnumerable<LogEvent> events) => string.Concat(events.Select(Render));
}
