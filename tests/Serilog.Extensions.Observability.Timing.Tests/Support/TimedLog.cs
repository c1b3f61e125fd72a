using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog.Extensions.Observability.Timing.Tests.Support;

/// <summary>A logger with the pipeline timing enricher, a collecting sink and a fake clock, plus options that use it.</summary>
sealed class TimedLog : IDisposable
{
    public FakeTimeProvider Clock { get; } = new();
    public CollectingSink Sink { get; } = new();
    public Logger Logger { get; }
    public PipelineTimingOptions Options { get; }

    public TimedLog(Action<PipelineTimingOptions>? configure = null, LogEventLevel minimumLevel = LogEventLevel.Verbose)
    {
        Options = new PipelineTimingOptions { TimeProvider = Clock };
        configure?.Invoke(Options);
        // The enricher directly, not Enrich.WithPipelineTiming(): that would replace the process-wide defaults.
        Logger = new LoggerConfiguration()
            .MinimumLevel.Is(minimumLevel)
            .Enrich.With(new PipelineTimingEnricher())
            .WriteTo.Sink(Sink)
            .CreateLogger();
    }

    public PipelineTimer Begin(string name = "voice-turn") => PipelineTimer.Begin(name, Logger, Options);

    public void Advance(double milliseconds) => Clock.Advance(TimeSpan.FromMilliseconds(milliseconds));

    public IReadOnlyList<LogEvent> Events => Sink.Events;

    public LogEvent Single(string messageTemplate) => Events.Single(e => e.MessageTemplate.Text == messageTemplate);

    public IReadOnlyList<LogEvent> StageEvents => Events.Where(e => e.Properties.ContainsKey("Outcome") && e.Properties.ContainsKey("Stage") && e.Properties.ContainsKey("ElapsedMs")).ToArray();

    public LogEvent StageEvent(string stage) => StageEvents.Single(e => Equals(e.Scalar("Stage"), stage));

    public LogEvent Summary => Events.Single(e => e.Properties.ContainsKey("Stages"));

    public void Dispose() => Logger.Dispose();
}

static class LogEventExtensions
{
    public static object? Scalar(this LogEvent logEvent, string name)
    {
        Assert.That(logEvent.Properties, Does.ContainKey(name), $"The event '{logEvent.MessageTemplate.Text}' has no {name}.");
        return ((ScalarValue)logEvent.Properties[name]).Value;
    }

    public static IReadOnlyList<KeyValuePair<string, double>> StagesProperty(this LogEvent logEvent) =>
        ((DictionaryValue)logEvent.Properties["Stages"]).Elements
            .Select(e => new KeyValuePair<string, double>((string)e.Key.Value!, (double)((ScalarValue)e.Value).Value!))
            .ToArray();
}

static class Flow
{
    /// <summary>Runs <paramref name="action"/> on a copy of the current execution context, so ambient changes it leaves stay inside.</summary>
    public static void Isolated(Action action) =>
        ExecutionContext.Run(ExecutionContext.Capture()!, state => ((Action)state!)(), action);
}
