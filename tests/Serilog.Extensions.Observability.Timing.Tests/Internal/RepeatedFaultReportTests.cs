using System.Diagnostics;
using System.Diagnostics.Metrics;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing.Internal;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

/// <summary>
/// A fault that repeats on every stage or event (a listener, an auditing sink or a clock that always throws, code that
/// always begins a stage late) is reported once, then at most once per interval with its count, not once per occurrence.
/// </summary>
[NonParallelizable] // SelfLog and the listeners are process-wide
public class RepeatedFaultReportTests
{
    const string SourceName = "Serilog.Extensions.Observability.Timing";
    const int Occurrences = 50;

    [SetUp]
    public void DueAtOnce() => TimingReports.ResetAll();

    /// <summary>One line, and one more per 10 seconds the loop may have taken.</summary>
    static void AssertThrottled(List<string> selfLog, string text) =>
        Assert.That(selfLog.Count(l => l.Contains(text)), Is.InRange(1, 10), string.Join("\n", selfLog.Take(3)));

    [Test]
    public void AStageAlwaysBegunAfterItsPipelineEndedIsReportedOncePerInterval()
    {
        using var log = new TimedLog();
        var pipeline = log.Begin("p");
        pipeline.Complete();
        var selfLog = new List<string>();

        using (TemporarySelfLog.SaveTo(selfLog))
        {
            for (var i = 0; i < Occurrences; i++) pipeline.Stage("late").Dispose();
        }

        AssertThrottled(selfLog, "after pipeline p ended");
    }

    [Test]
    public void AnAuditingSinkThatAlwaysThrowsIsReportedOncePerInterval()
    {
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().AuditTo.Sink(new DelegatingSink(_ => throw new IOException("audit store down"))).CreateLogger();
        var selfLog = new List<string>();

        using (TemporarySelfLog.SaveTo(selfLog))
        using (var pipeline = PipelineTimer.Begin("p", logger))
        {
            for (var i = 0; i < Occurrences; i++) pipeline.Stage("s").Dispose();
        }

        AssertThrottled(selfLog, "writing a timing event failed");
    }

    [Test]
    public void AListenerThatAlwaysThrowsIsReportedOncePerInterval()
    {
        using var meters = new MeterListener
        {
            // On .NET 8 Dispose stops the measurements only when MeasurementsCompleted is set (dotnet/runtime#102465, fixed
            // in .NET 9): without it a disposed listener would go on receiving, or failing, the next test's measurements.
            MeasurementsCompleted = (_, _) => { },
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SourceName) l.EnableMeasurementEvents(instrument);
            },
        };
        meters.SetMeasurementEventCallback<double>((_, _, _, _) => throw new InvalidOperationException("meter listener"));
        meters.Start();
        using var log = new TimedLog();
        var selfLog = new List<string>();

        using (TemporarySelfLog.SaveTo(selfLog))
        using (var pipeline = log.Begin("p"))
        {
            for (var i = 0; i < Occurrences; i++) pipeline.Stage("s").Dispose();
        }

        AssertThrottled(selfLog, "a metrics or tracing listener threw");
    }

    sealed class BrokenClock : TimeProvider
    {
        public bool Broken;
        public override long GetTimestamp() => Broken ? throw new InvalidOperationException("clock broke") : base.GetTimestamp();
    }

    [Test]
    public void AnEnricherFailureOnEveryEventIsReportedOncePerInterval()
    {
        var clock = new BrokenClock();
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.With(new PipelineTimingEnricher()).WriteTo.Sink(sink).CreateLogger();
        var selfLog = new List<string>();

        using (TemporarySelfLog.SaveTo(selfLog))
        using (PipelineTimer.Begin("p", logger, new PipelineTimingOptions { TimeProvider = clock }))
        {
            clock.Broken = true;
            for (var i = 0; i < Occurrences; i++) logger.Information("Still written");
            clock.Broken = false;
        }

        Assert.That(sink.Events.Count(e => e.MessageTemplate.Text == "Still written"), Is.EqualTo(Occurrences));
        AssertThrottled(selfLog, "enriching an event with pipeline timing failed");
    }
    sealed class MessageThrowsException : Exception
    {
        public override string Message => throw new InvalidOperationException("message broke");
    }

    [Test]
    public void AFailureWhoseMessageAlwaysThrowsIsReportedOncePerIntervalWhenSpansRecordMessages()
    {
        // RecordExceptionMessageOnSpans reads the failure's Message and ToString() for its span: an exception type whose
        // Message throws does so for every stage that fails with it.
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(activities);
        using var log = new TimedLog(o => o.RecordExceptionMessageOnSpans = true, minimumLevel: LogEventLevel.Fatal);
        var selfLog = new List<string>();

        using (TemporarySelfLog.SaveTo(selfLog))
        using (var pipeline = log.Begin("p"))
        {
            for (var i = 0; i < Occurrences; i++) pipeline.Stage("s").Fail(new MessageThrowsException());
        }

        AssertThrottled(selfLog, "the failure's Message threw");
        AssertThrottled(selfLog, "the failure's ToString() threw");
    }
}
