using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing.Internal;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

public class PipelineTimingEnricherTests
{
    [Test]
    public void EventsInsideAStageCarryPipelineIdStageAndBothElapsedTimes()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("voice-turn");
        log.Advance(100);
        using (pipeline.Stage("stt"))
        {
            log.Advance(25);
            log.Logger.Information("Transcribed");
        }

        var inside = log.Single("Transcribed");
        Assert.That(inside.Scalar("Pipeline"), Is.EqualTo("voice-turn"));
        Assert.That(inside.Scalar("PipelineId"), Is.EqualTo(pipeline.Id));
        Assert.That(inside.Scalar("Stage"), Is.EqualTo("stt"));
        Assert.That(inside.Scalar("StageElapsedMs"), Is.EqualTo(25.0));
        Assert.That(inside.Scalar("PipelineElapsedMs"), Is.EqualTo(125.0));
    }

    [Test]
    public void EventsInsideAPipelineButOutsideAnyStageCarryNoStage()
    {
        using var log = new TimedLog();
        using (var pipeline = log.Begin("voice-turn"))
        {
            using (pipeline.Stage("x")) { }
            log.Advance(7);
            log.Logger.Information("Between stages");
        }

        var between = log.Single("Between stages");
        Assert.That(between.Properties.Keys, Does.Not.Contain("Stage").And.Not.Contain("StageElapsedMs"));
        Assert.That(between.Scalar("PipelineElapsedMs"), Is.EqualTo(7.0));
    }

    [Test]
    public void EventsOutsideAnyPipelineAreLeftAlone()
    {
        using var log = new TimedLog();
        log.Logger.Information("Before");
        using (var pipeline = log.Begin())
        using (pipeline.Stage("stt")) { }
        log.Logger.Information("After");

        foreach (var text in new[] { "Before", "After" })
            Assert.That(log.Single(text).Properties.Keys, Has.None.StartsWith("Pipeline").And.None.StartsWith("Stage"));
    }

    [Test]
    public void NestedStagesAttributeEventsToTheInnermostStageAndThenBackToTheOuter()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("rag");
        using (pipeline.Stage("ingest"))
        {
            log.Advance(5);
            using (pipeline.Stage("parse"))
            {
                log.Advance(3);
                log.Logger.Information("Parsing");
            }
            log.Logger.Information("Ingesting");
        }

        Assert.That(log.Single("Parsing").Scalar("Stage"), Is.EqualTo("ingest/parse"));
        Assert.That(log.Single("Parsing").Scalar("StageElapsedMs"), Is.EqualTo(3.0));
        Assert.That(log.Single("Ingesting").Scalar("Stage"), Is.EqualTo("ingest"));
        Assert.That(log.Single("Ingesting").Scalar("StageElapsedMs"), Is.EqualTo(8.0));
    }

    [Test]
    public async Task ConcurrentStagesAttributeEachEventToTheStageOfItsOwnFlow()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("fan-out");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task Work(string name, TaskCompletionSource started)
        {
            started.SetResult();
            await release.Task;           // both stages are open at the same time
            log.Logger.Information("Working in {Name}", name);
        }

        // Task.WhenAll over stages begun from one flow: neither nests in the other.
        var all = Task.WhenAll(
            pipeline.StageAsync("a", () => Work("a", aStarted)),
            pipeline.StageAsync("b", () => Work("b", bStarted)));
        await Task.WhenAll(aStarted.Task, bStarted.Task).WaitAsync(TimeSpan.FromSeconds(10));
        log.Logger.Information("Waiting");
        release.SetResult();
        await all.WaitAsync(TimeSpan.FromSeconds(10));

        var working = log.Events.Where(e => e.MessageTemplate.Text == "Working in {Name}").ToArray();
        Assert.That(working, Has.Length.EqualTo(2));
        Assert.That(working.Select(e => e.Scalar("Stage")), Is.EquivalentTo(working.Select(e => e.Scalar("Name"))));
        Assert.That(log.Single("Waiting").Properties.Keys, Does.Not.Contain("Stage"));
        Assert.That(pipeline.Stages.Keys, Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public async Task ManyConcurrentStagesNeverMixUpTheirEvents()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("stress");
        const int stages = 64, eventsPerStage = 20;
        using var allOpen = new CountdownEvent(stages);

        var work = Enumerable.Range(0, stages).Select(i => Task.Run(async () =>
        {
            using (pipeline.Stage("s" + i))
            {
                allOpen.Signal();
                for (var n = 0; n < eventsPerStage; n++)
                {
                    log.Logger.Information("Item {Stage2}", "s" + i);
                    await Task.Yield();
                }
            }
        })).ToArray();

        await Task.WhenAll(work).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(allOpen.CurrentCount, Is.Zero);
        var items = log.Events.Where(e => e.MessageTemplate.Text == "Item {Stage2}").ToArray();
        Assert.That(items, Has.Length.EqualTo(stages * eventsPerStage));
        Assert.That(items.Count(e => !Equals(e.Scalar("Stage"), e.Scalar("Stage2"))), Is.Zero);
        Assert.That(pipeline.Stages, Has.Count.EqualTo(stages));
    }

    [Test]
    public void TheNamePropertiesAreBuiltOncePerStageAndReused()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        using (pipeline.Stage("stt"))
        {
            log.Logger.Information("One");
            log.Logger.Information("Two");
        }

        var one = log.Single("One");
        var two = log.Single("Two");
        foreach (var name in new[] { "Pipeline", "PipelineId", "Stage" })
            Assert.That(two.Properties[name], Is.SameAs(one.Properties[name]), name);
        Assert.That(two.Properties["StageElapsedMs"], Is.Not.SameAs(one.Properties["StageElapsedMs"]));
    }

    [Test]
    public void ASummaryWrittenWhileAStageIsAmbientDoesNotCarryThatStage()
    {
        using var log = new TimedLog();
        Flow.Isolated(() =>
        {
            var pipeline = log.Begin("p");
            using (pipeline.Stage("s"))
            using (pipeline.Stage("inner"))
            {
                Assert.That(Task.Run(() => pipeline.Complete()).Wait(TimeSpan.FromSeconds(10)), Is.True, "The other flow did not complete the pipeline in time.");
            }
        });

        Assert.That(log.Summary.Properties.Keys, Does.Not.Contain("Stage").And.Not.Contain("StageElapsedMs"));
        Assert.That(log.StageEvent("s/inner").Properties.Keys, Does.Not.Contain("StageElapsedMs"));
    }

    [Test]
    public void PropertiesAlreadyOnTheEventWin()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("voice-turn");
        using (pipeline.Stage("stt"))
            log.Logger.Information("{Pipeline} {Stage}", "mine", "own");

        var e = log.Single("{Pipeline} {Stage}");
        Assert.That(e.Scalar("Pipeline"), Is.EqualTo("mine"));
        Assert.That(e.Scalar("Stage"), Is.EqualTo("own"));
        Assert.That(e.Properties, Does.Not.ContainKey("StageElapsedMs"));
        Assert.That(e.Scalar("PipelineId"), Is.EqualTo(pipeline.Id));
    }

    [Test]
    public void AStageCompletionEventKeepsItsOwnStageInsideAnOuterStage()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        using (pipeline.Stage("ingest"))
        {
            using (pipeline.Stage("parse")) log.Advance(2);
        }

        var completion = log.StageEvent("ingest/parse");
        Assert.That(completion.Properties, Does.Not.ContainKey("StageElapsedMs"));
        Assert.That(completion.Scalar("PipelineElapsedMs"), Is.EqualTo(2.0));
    }

    [Test]
    public void AStageEndedInAChildFlowIsRestoredInThatFlowOnly()
    {
        using var log = new TimedLog();
        Flow.Isolated(() =>
        {
            using var pipeline = log.Begin("p");
            var stage = pipeline.Stage("outer");
            var otherFlow = Task.Run(() =>
            {
                using (pipeline.Stage("other")) { }
                stage.Complete();   // restores the pipeline in this (child) flow only
                log.Logger.Information("Other flow");
            });
            Assert.That(otherFlow.Wait(TimeSpan.FromSeconds(10)), Is.True, "The other flow did not end in time.");
            log.Logger.Information("Own flow");
        });

        Assert.That(log.Single("Other flow").Properties.Keys, Does.Contain("Pipeline").And.Not.Contain("Stage"));
        // The parent flow cannot be reached from the child: the ended stage is still ambient there, but an event written
        // after its end is not inside it.
        Assert.That(log.Single("Own flow").Properties.Keys, Does.Contain("Pipeline").And.Not.Contain("Stage"));
        Assert.That(log.StageEvent("outer/other").Scalar("Outcome"), Is.EqualTo("completed"));
    }

    [Test]
    public void DisposingAStageOrPipelineInItsOwnFlowAfterAnotherFlowEndedItRestoresWhatWasAmbientBefore()
    {
        using var log = new TimedLog();
        Flow.Isolated(() =>
        {
            using (var pipeline = log.Begin("p"))
            {
                using (var stage = pipeline.Stage("s"))
                {
                    // A helper completes the stage in its own flow, as an async helper does.
                    Assert.That(Task.Run(stage.Complete).Wait(TimeSpan.FromSeconds(10)), Is.True);
                }
                log.Logger.Information("After stage");
                Assert.That(Task.Run(pipeline.Complete).Wait(TimeSpan.FromSeconds(10)), Is.True);
            }
            log.Logger.Information("After pipeline");
        });

        Assert.That(log.Single("After stage").Properties.Keys, Does.Contain("Pipeline").And.Not.Contain("Stage"));
        Assert.That(log.Single("After pipeline").Properties.Keys, Does.Not.Contain("Pipeline"));
    }

    [Test]
    public void DisposingAPipelineInItsOwnFlowAfterAnotherFlowEndedItAlsoRestoresPastItsStagesLeftOpen()
    {
        using var log = new TimedLog();
        Flow.Isolated(() =>
        {
            using (var pipeline = log.Begin("p"))
            {
                // Left open: the pipeline's end abandons it, as it does when this flow ends the pipeline itself.
                pipeline.Stage("s");
                Assert.That(Task.Run(pipeline.Complete).Wait(TimeSpan.FromSeconds(10)), Is.True);
            }
            log.Logger.Information("After pipeline");
        });

        Assert.That(log.StageEvent("s").Scalar("Outcome"), Is.EqualTo("abandoned"));
        Assert.That(log.Single("After pipeline").Properties.Keys, Does.Not.Contain("Pipeline").And.Not.Contain("Stage"));
    }

    [Test]
    public void EndingAPipelineInItsOwnFlowRestoresPastAStageAnotherFlowEndedThatIsStillAmbientHere()
    {
        using var log = new TimedLog();
        Flow.Isolated(() =>
        {
            using (var pipeline = log.Begin("p"))
            {
                var stage = pipeline.Stage("s");
                // A helper completes the stage in its own flow; this flow never disposes it.
                Assert.That(Task.Run(stage.Complete).Wait(TimeSpan.FromSeconds(10)), Is.True);
            }
            log.Logger.Information("After pipeline");
        });

        Assert.That(log.Single("After pipeline").Properties.Keys, Does.Not.Contain("Pipeline").And.Not.Contain("Stage"));
    }

    [Test]
    public async Task WorkStartedInsideAStageThatOutlivesItsPipelineNoLongerCarriesIt()
    {
        using var log = new TimedLog();
        var stageEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loggedInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loggedAfterStage = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipelineEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task background = Task.CompletedTask;
        Flow.Isolated(() =>
        {
            using var pipeline = log.Begin("ingest");
            using (pipeline.Stage("store"))
            {
                // A flusher the store starts on first use: it captures the stage's flow and lives on after it.
                background = Task.Run(async () =>
                {
                    log.Logger.Information("Flushing inside the stage");
                    loggedInside.SetResult();
                    await stageEnded.Task;
                    log.Logger.Information("Flushing after the stage");
                    loggedAfterStage.SetResult();
                    await pipelineEnded.Task;
                    log.Logger.Information("Flushing after the pipeline");
                });
                Assert.That(loggedInside.Task.Wait(TimeSpan.FromSeconds(10)), Is.True, "The background work did not start in time.");
            }
            stageEnded.SetResult();
            // The flusher logs while the pipeline still runs; it then ends.
            Assert.That(loggedAfterStage.Task.Wait(TimeSpan.FromSeconds(10)), Is.True, "The background work did not log in time.");
        });
        pipelineEnded.SetResult();
        await background.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(log.Single("Flushing inside the stage").Scalar("Stage"), Is.EqualTo("store"));
        Assert.That(log.Single("Flushing after the stage").Properties.Keys, Does.Contain("Pipeline").And.Not.Contain("Stage"));
        Assert.That(log.Single("Flushing after the pipeline").Properties.Keys, Has.None.StartsWith("Pipeline").And.None.StartsWith("Stage"));
    }

    [Test]
    public void ATimerCallbackCreatedInsideAStageNoLongerCarriesItOnceItsPipelineEnded()
    {
        using var log = new TimedLog();
        using var fired = new ManualResetEventSlim();
        Timer? timer = null;
        Flow.Isolated(() =>
        {
            using var pipeline = log.Begin("voice-turn");
            using (pipeline.Stage("tts"))
            {
                // Captures the stage's execution context; every tick runs in it.
                timer = new Timer(_ =>
                {
                    log.Logger.Information("Tick");
                    fired.Set();
                }, null, Timeout.Infinite, Timeout.Infinite);
            }
        });
        using (timer)
        {
            timer!.Change(0, Timeout.Infinite);
            Assert.That(fired.Wait(TimeSpan.FromSeconds(10)), Is.True, "The timer did not fire in time.");
        }

        Assert.That(log.Single("Tick").Properties.Keys, Has.None.StartsWith("Pipeline").And.None.StartsWith("Stage"));
    }

    [Test]
    public void AmbientStateSurvivesOtherContextChangesInsideAStage()
    {
        using var log = new TimedLog();
        using (var pipeline = log.Begin("p"))
        {
            var stage = pipeline.Stage("s");
            using (Serilog.Context.LogContext.PushProperty("Inner", 1))
            {
                // A context change inside the stage makes ending it take the general path; it must still restore the pipeline.
                stage.Complete();
                log.Logger.Information("After stage");
            }
        }
        log.Logger.Information("After pipeline");

        Assert.That(log.Single("After stage").Properties.Keys, Does.Contain("Pipeline").And.Not.Contain("Stage"));
        Assert.That(log.Single("After pipeline").Properties.Keys, Does.Not.Contain("Pipeline"));
    }
}

[NonParallelizable]
public class PipelineTimingEnricherFailureTests
{
    sealed class BrokenClock(FakeTimeProvider inner) : TimeProvider
    {
        public volatile bool Broken;
        public override long TimestampFrequency => inner.TimestampFrequency;
        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();
        public override long GetTimestamp() => Broken ? throw new InvalidOperationException("clock broke") : inner.GetTimestamp();
    }

    [Test]
    public void AFailureInsideTheEnricherIsReportedToSelfLogAndCountedAndTheEventIsStillWritten()
    {
        Serilog.Extensions.Observability.Timing.Internal.TimingReports.ResetAll();
        var clock = new BrokenClock(new FakeTimeProvider());
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.With(new PipelineTimingEnricher()).WriteTo.Sink(sink).CreateLogger();
        var selfLog = new List<string>();
        var failuresBefore = PipelineTimingEnricher.Failures;

        using (TemporarySelfLog.SaveTo(selfLog))
        using (var pipeline = PipelineTimer.Begin("p", logger, new PipelineTimingOptions { TimeProvider = clock }))
        {
            clock.Broken = true;
            Assert.That(() => logger.Information("Still written"), Throws.Nothing);
            clock.Broken = false;
        }

        Assert.That(sink.Events.Select(e => e.MessageTemplate.Text), Does.Contain("Still written"));
        Assert.That(selfLog, Has.Some.Contains("clock broke"));
        Assert.That(PipelineTimingEnricher.Failures, Is.EqualTo(failuresBefore + 1));
    }
}
