using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>Hands each event to a callback; <see cref="GetLogEvent"/> captures the one event an action writes.</summary>
sealed class DelegatingSink : ILogEventSink
{
    readonly Action<LogEvent> _write;

    public DelegatingSink(Action<LogEvent> write) => _write = write ?? throw new ArgumentNullException(nameof(write));

    public void Emit(LogEvent logEvent) => _write(logEvent);

    public static LogEvent GetLogEvent(Action<ILogger> writeAction, Func<LoggerConfiguration, LoggerConfiguration>? configure = null)
    {
        LogEvent? result = null;
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .WriteTo.Sink(new DelegatingSink(le => result = le));
        if (configure is not null) configuration = configure(configuration);
        using (var logger = configuration.CreateLogger())
            writeAction(logger);
        Assert.That(result, Is.Not.Null, "No event was written.");
        return result!;
    }
}
