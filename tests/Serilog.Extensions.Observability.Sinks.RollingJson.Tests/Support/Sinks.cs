using Serilog.Events;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

/// <summary>Builds sinks the way WriteTo.RollingJson does (same validation), and numbered events.</summary>
static class Sinks
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    public static RollingJsonSink Create(string path, Action<RollingJsonOptions>? configure = null)
    {
        var options = new RollingJsonOptions
        {
            Formatter = new TestUtf8Formatter(),
            RollingInterval = RollingJsonInterval.Infinite,
            RetainedFileCountLimit = null,
        };
        configure?.Invoke(options);
        return RollingJsonLoggerConfigurationExtensions.CreateSink(path, options);
    }

    public static LogEvent Event(long sequence, LogEventLevel level = LogEventLevel.Information, string? text = null) =>
        text is null
            ? Some.LogEvent("Event {Seq}", level, properties: Some.Property("Seq", sequence))
            : Some.LogEvent("Event {Seq} {Text}", level, properties: new[] { Some.Property("Seq", sequence), Some.Property("Text", text) });

    public static void EmitAndWait(RollingJsonSink sink, params LogEvent[] events)
    {
        foreach (var logEvent in events) sink.Emit(logEvent);
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "The writer did not catch up in time.");
    }

    /// <summary>
    /// <see cref="EmitAndWait"/> with the writer paused while the events are queued: a backlog from the first event on,
    /// so that callers format their own events (see <see cref="RollingJsonSink.PauseWriter"/>).
    /// </summary>
    public static void EmitWhilePausedAndWait(RollingJsonSink sink, IEnumerable<LogEvent> events)
    {
        sink.PauseWriter();
        foreach (var logEvent in events) sink.Emit(logEvent);
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "The writer did not catch up in time.");
    }
}
