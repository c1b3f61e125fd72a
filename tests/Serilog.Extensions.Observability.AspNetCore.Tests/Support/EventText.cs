using Serilog.Events;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

static class EventText
{
    /// <summary>Everything an event would put in a log file: rendered message, template, properties, exception.</summary>
    public static string Of(LogEvent logEvent)
    {
        var writer = new StringWriter();
        new JsonFormatter(renderMessage: true).Format(logEvent, writer);
        return writer.ToString();
    }

    public static string? Scalar(LogEvent logEvent, string name) =>
        logEvent.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: { } v } ? v.ToString() : null;
}
