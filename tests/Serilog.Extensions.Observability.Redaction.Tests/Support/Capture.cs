using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

static class Capture
{
    /// <summary>The value Serilog captures for <c>{@Value}</c>, with or without the redaction policy.</summary>
    public static LogEventPropertyValue Destructured(
        object? value, bool withPolicy = true, Func<LoggerConfiguration, LoggerConfiguration>? configure = null,
        Action<RedactionOptions>? options = null)
    {
        var logEvent = DelegatingSink.GetLogEvent(
            log => log.Information("{@Value}", value),
            cfg =>
            {
                if (configure is not null) cfg = configure(cfg);
                return withPolicy ? cfg.Destructure.WithRedaction(options) : cfg;
            });
        return logEvent.Properties["Value"];
    }

    public static string Text(LogEventPropertyValue value) => value.ToString();

    /// <summary>
    /// What <paramref name="write"/> logs through the whole documented configuration (the destructuring policy, the
    /// enricher and the redacting sink, each with <paramref name="configure"/>), rendered by every formatter.
    /// </summary>
    public static string AllPiecesOutput(Action<ILogger> write, Action<RedactionOptions>? configure = null)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Destructure.WithRedaction(configure)
                   .Enrich.WithRedaction(configure)
                   .WriteTo.Redacted(s => s.Sink(sink), configure)
                   .CreateLogger())
            write(logger);
        return Output.Render(sink.Events);
    }
}
