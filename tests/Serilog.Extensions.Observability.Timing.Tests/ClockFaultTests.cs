using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing.Tests.Support;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog.Extensions.Observability.Timing.Tests;

/// <summary>The pipeline's clock is the application's: one that throws costs the measurement, never the stage.</summary>
[NonParallelizable]
public class ClockFaultTests
{
    sealed class BrokenClock(FakeTimeProvider inner) : TimeProvider
    {
        public volatile bool Broken;
        public override long TimestampFrequency => inner.TimestampFrequency;
        public override DateTimeOffset GetUtcNow() => Broken ? throw new InvalidOperationException("clock broke") : inner.GetUtcNow();
        public override long GetTimestamp() => Broken ? throw new InvalidOperationException("clock broke") : inner.GetTimestamp();
    }

    [Test]
    public void AClockThatThrowsWhenStagesAndPipelinesEndCostsTheDurationNotTheEndOrItsEvents()
    {
        var fake = new FakeTimeProvider();
        var clock = new BrokenClock(fake);
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var selfLog = new List<string>();
        var failures = ClockReads.Failures;
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var pipeline = PipelineTimer.Begin("p", logger, new PipelineTimingOptions { TimeProvider = clock });
            var stage = pipeline.Stage("s");
            fake.Advance(TimeSpan.FromMilliseconds(40));
            clock.Broken = true;
            Assert.That(stage.Complete, Throws.Nothing, "ending a stage");
            Assert.That(() => pipeline.Stage("t").Dispose(), Throws.Nothing, "a stage begun and ended");
            Assert.That(pipeline.Dispose, Throws.Nothing, "ending the pipeline");
            Assert.That(stage.Outcome, Is.EqualTo(TimingOutcome.Completed));
            Assert.That(pipeline.Outcome, Is.EqualTo(TimingOutcome.Completed));
        }

        Assert.That(sink.Events.Where(e => e.Properties.ContainsKey("ElapsedMs")).Select(e => e.Properties.TryGetValue("Stage", out var s) ? s.ToString() : "summary"),
            Is.EqualTo(new[] { "\"s\"", "\"t\"", "summary" }));
        Assert.That(ClockReads.Failures, Is.GreaterThan(failures));
        Assert.That(TimingAmbient.Current, Is.Null, "the pipeline and its stages left the flow");
    }

    /// <summary>A clock whose timestamps are set by hand, backwards too (one derived from an adjustable wall clock).</summary>
    sealed class SettableClock : TimeProvider
    {
        public long Timestamp;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Volatile.Read(ref Timestamp);
    }

    [Test]
    public void AClockThatGoesBackwardsGivesZeroDurationsNeverNegativeOnes()
    {
        var clock = new SettableClock { Timestamp = TimeSpan.FromSeconds(10).Ticks };
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().Enrich.WithPipelineTiming().WriteTo.Sink(sink).CreateLogger();

        using (var pipeline = PipelineTimer.Begin("p", logger, new PipelineTimingOptions { TimeProvider = clock }))
        {
            using (pipeline.Stage("s"))
            {
                clock.Timestamp -= TimeSpan.FromSeconds(2).Ticks;
                logger.Information("Inside");
                Assert.That(pipeline.Elapsed, Is.EqualTo(TimeSpan.Zero));
            }
        }

        var elapsed = sink.Events.SelectMany(e => new[] { "ElapsedMs", "StageElapsedMs", "PipelineElapsedMs" }
            .Where(e.Properties.ContainsKey).Select(name => (name, value: Convert.ToDouble(e.Scalar(name))))).ToList();
        Assert.That(elapsed.Select(e => e.name), Does.Contain("StageElapsedMs").And.Contain("PipelineElapsedMs").And.Contain("ElapsedMs"));
        // The clock only went back: nothing took any time.
        Assert.That(elapsed.Where(e => e.value != 0), Is.Empty);
        var stages = (DictionaryValue)sink.Events.Single(e => e.Properties.ContainsKey("Stages")).Properties["Stages"];
        Assert.That(stages.Elements.Values.Select(v => Convert.ToDouble(((ScalarValue)v).Value)), Is.All.GreaterThanOrEqualTo(0));
    }

    [Test]
    public void AStageWhoseStartCouldNotBeReadLastsZeroNotTheTimeSinceTheClocksOrigin()
    {
        var fake = new FakeTimeProvider();
        fake.Advance(TimeSpan.FromDays(3));
        var clock = new BrokenClock(fake);
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();

        using (var pipeline = PipelineTimer.Begin("p", logger, new PipelineTimingOptions { TimeProvider = clock }))
        {
            clock.Broken = true;
            var stage = pipeline.Stage("s");
            clock.Broken = false;
            fake.Advance(TimeSpan.FromMilliseconds(40));
            stage.Complete();
            Assert.That(stage.Elapsed, Is.EqualTo(TimeSpan.Zero));
        }

        var stageEvent = sink.Events.Single(e => e.Properties.ContainsKey("Stage") && Equals(e.Scalar("Stage"), "s"));
        Assert.That(Convert.ToDouble(stageEvent.Scalar("ElapsedMs")), Is.Zero);
    }
}
