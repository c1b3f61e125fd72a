using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests;

public class PipelineTimerTests
{
    [Test]
    public void StageDurationsAreExactOnTheInjectedClockAndKeepStartOrder()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();

        using (pipeline.Stage("stt")) log.Advance(150);
        var llm = pipeline.Stage("llm");
        log.Advance(700);
        llm.Complete();
        using (pipeline.Stage("tts")) log.Advance(300.5);
        log.Advance(10);

        Assert.That(pipeline.Stages.ToArray(), Is.EqualTo(new[]
        {
            new KeyValuePair<string, double>("stt", 150),
            new KeyValuePair<string, double>("llm", 700),
            new KeyValuePair<string, double>("tts", 300.5),
        }));
        Assert.That(pipeline.Elapsed, Is.EqualTo(TimeSpan.FromMilliseconds(1160.5)));
        Assert.That(llm.Elapsed, Is.EqualTo(TimeSpan.FromMilliseconds(700)));
    }

    [Test]
    public void StagesLoggedAsAPropertyIsADictionaryInStartOrder()
    {
        // As a request completion event carries them when set through a diagnostic context, or a message argument:
        // Serilog captures only some dictionary types as dictionaries, any other IReadOnlyDictionary as a list of
        // "[stt, 150]" strings.
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        using (pipeline.Stage("stt")) log.Advance(150);
        using (pipeline.Stage("llm")) log.Advance(700);

        log.Logger.Information("Stages {Stages} {Empty}", pipeline.Stages, log.Begin("empty").Stages);

        var logged = log.Single("Stages {Stages} {Empty}");
        Assert.That(logged.Properties["Stages"], Is.InstanceOf<DictionaryValue>());
        Assert.That(((DictionaryValue)logged.Properties["Stages"]).Elements.Select(e => (e.Key.Value, ((ScalarValue)e.Value).Value)),
            Is.EqualTo(new (object?, object?)[] { ("stt", 150.0), ("llm", 700.0) }));
        Assert.That(logged.Properties["Empty"], Is.InstanceOf<DictionaryValue>().And.Property("Elements").Empty);
    }

    [Test]
    public void ElapsedAdvancesWhileRunningAndStopsWhenEnded()
    {
        using var log = new TimedLog();
        var pipeline = log.Begin();
        var stage = pipeline.Stage("stt");
        log.Advance(40);
        Assert.That(stage.Elapsed, Is.EqualTo(TimeSpan.FromMilliseconds(40)));
        Assert.That(stage.Outcome, Is.EqualTo(TimingOutcome.Running));
        stage.Complete();
        log.Advance(60);

        Assert.That(stage.Elapsed, Is.EqualTo(TimeSpan.FromMilliseconds(40)));
        Assert.That(pipeline.Elapsed, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        pipeline.Complete();
        log.Advance(1000);
        Assert.That(pipeline.Elapsed, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        Assert.That(pipeline.Outcome, Is.EqualTo(TimingOutcome.Completed));
    }

    [Test]
    public void CompleteWritesOneSummaryWithIdElapsedOutcomeStagesAndSlowestStageAtInformation()
    {
        using var log = new TimedLog();
        var pipeline = log.Begin("voice-turn");
        using (pipeline.Stage("stt")) log.Advance(150);
        using (pipeline.Stage("llm")) log.Advance(700);
        using (pipeline.Stage("tts")) log.Advance(300);
        pipeline.Complete();
        pipeline.Dispose();
        pipeline.Complete();

        var summary = log.Summary;
        Assert.That(summary.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(summary.Scalar("Pipeline"), Is.EqualTo("voice-turn"));
        Assert.That(summary.Scalar("PipelineId"), Is.EqualTo(pipeline.Id));
        Assert.That(pipeline.Id, Does.Match("^[0-9a-f]{16}$"));
        Assert.That(summary.Scalar("ElapsedMs"), Is.EqualTo(1150.0));
        Assert.That(summary.Scalar("Outcome"), Is.EqualTo("completed"));
        Assert.That(summary.Scalar("SlowestStage"), Is.EqualTo("llm"));
        Assert.That(summary.StagesProperty(), Is.EqualTo(new[]
        {
            new KeyValuePair<string, double>("stt", 150),
            new KeyValuePair<string, double>("llm", 700),
            new KeyValuePair<string, double>("tts", 300),
        }));
        Assert.That(summary.RenderMessage(), Is.EqualTo("\"voice-turn\" completed in 1150.0 ms, slowest stage \"llm\""));
        Assert.That(summary.Timestamp, Is.EqualTo(log.Clock.GetUtcNow()));
    }

    [Test]
    public void APipelineWithoutStagesHasNoSlowestStage()
    {
        using var log = new TimedLog();
        using (log.Begin("empty")) log.Advance(5);

        Assert.That(log.Summary.Properties, Does.Not.ContainKey("SlowestStage"));
        Assert.That(log.Summary.StagesProperty(), Is.Empty);
        Assert.That(log.Summary.Scalar("Outcome"), Is.EqualTo("completed"));
    }

    [Test]
    public void StageCompletionEventsCarryPipelineStageElapsedAndOutcomeAtDebug()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("voice-turn");
        using (pipeline.Stage("stt")) log.Advance(150);

        var completion = log.StageEvent("stt");
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Debug));
        Assert.That(completion.Scalar("Pipeline"), Is.EqualTo("voice-turn"));
        Assert.That(completion.Scalar("PipelineId"), Is.EqualTo(pipeline.Id));
        Assert.That(completion.Scalar("ElapsedMs"), Is.EqualTo(150.0));
        Assert.That(completion.Scalar("Outcome"), Is.EqualTo("completed"));
        Assert.That(completion.Exception, Is.Null);
        Assert.That(completion.RenderMessage(), Is.EqualTo("\"voice-turn\" stage \"stt\" completed in 150.0 ms"));
    }

    [Test]
    public void AFailedStageIsWrittenAtErrorWithItsException()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        var failure = new InvalidOperationException("model unavailable");
        var llm = pipeline.Stage("llm");
        log.Advance(20);
        llm.Fail(failure);
        llm.Complete();
        llm.Dispose();

        var completion = log.StageEvent("llm");
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(completion.Exception, Is.SameAs(failure));
        Assert.That(completion.Scalar("Outcome"), Is.EqualTo("failed"));
        Assert.That(llm.Outcome, Is.EqualTo(TimingOutcome.Failed));
        Assert.That(log.StageEvents, Has.Count.EqualTo(1));
    }

    [Test]
    public void AFailedPipelineWritesItsSummaryAtErrorWithTheException()
    {
        using var log = new TimedLog();
        var failure = new TimeoutException("tts timed out");
        using (var pipeline = log.Begin())
        {
            using (pipeline.Stage("stt")) log.Advance(10);
            pipeline.Fail(failure);
        }

        Assert.That(log.Summary.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(log.Summary.Exception, Is.SameAs(failure));
        Assert.That(log.Summary.Scalar("Outcome"), Is.EqualTo("failed"));
    }

    [Test]
    public void AStageOrPipelineDisposedWithoutCompleteCountsAsCompletedByDefault()
    {
        using var log = new TimedLog();
        var pipeline = log.Begin();
        var stage = pipeline.Stage("stt");
        log.Advance(5);
        stage.Dispose();
        pipeline.Dispose();

        Assert.That(stage.Outcome, Is.EqualTo(TimingOutcome.Completed));
        Assert.That(pipeline.Outcome, Is.EqualTo(TimingOutcome.Completed));
        Assert.That(log.StageEvent("stt").Level, Is.EqualTo(LogEventLevel.Debug));
        Assert.That(log.Summary.Level, Is.EqualTo(LogEventLevel.Information));
    }

    [Test]
    public void WhenTheDisposeOutcomeIsAbandonedUncompletedStagesAndPipelinesAreAbandonedAtWarning()
    {
        using var log = new TimedLog(o => o.DisposeOutcome = TimingOutcome.Abandoned);
        var pipeline = log.Begin();
        using (pipeline.Stage("stt")) log.Advance(5);
        using (var llm = pipeline.Stage("llm"))
        {
            log.Advance(5);
            llm.Complete();
        }
        pipeline.Dispose();

        Assert.That(log.StageEvent("stt").Scalar("Outcome"), Is.EqualTo("abandoned"));
        Assert.That(log.StageEvent("stt").Level, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(log.StageEvent("llm").Scalar("Outcome"), Is.EqualTo("completed"));
        Assert.That(log.Summary.Scalar("Outcome"), Is.EqualTo("abandoned"));
        Assert.That(log.Summary.Level, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(pipeline.Outcome, Is.EqualTo(TimingOutcome.Abandoned));
    }

    [Test]
    public void TheDisposeOutcomeCanOnlyBeCompletedOrAbandoned()
    {
        var options = new PipelineTimingOptions();
        Assert.That(() => options.DisposeOutcome = TimingOutcome.Failed,
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("Completed or Abandoned"));
        Assert.That(() => options.DisposeOutcome = TimingOutcome.Running, Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void StagesStillOpenWhenThePipelineEndsAreAbandonedInnermostFirst()
    {
        using var log = new TimedLog();
        var pipeline = log.Begin();
        var ingest = pipeline.Stage("ingest");
        var parse = pipeline.Stage("parse");
        log.Advance(30);
        pipeline.Complete();

        Assert.That(ingest.Outcome, Is.EqualTo(TimingOutcome.Abandoned));
        Assert.That(parse.Outcome, Is.EqualTo(TimingOutcome.Abandoned));
        Assert.That(log.StageEvents.Select(e => e.Scalar("Stage")), Is.EqualTo(new[] { "ingest/parse", "ingest" }));
        Assert.That(log.StageEvents.Select(e => e.Level), Is.All.EqualTo(LogEventLevel.Warning));
        Assert.That(pipeline.Stages["ingest"], Is.EqualTo(30.0));
        Assert.That(log.Summary.Scalar("Outcome"), Is.EqualTo("completed"));
    }

    [Test]
    public void NestedStagesAreNamedByTheirPath()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("rag");
        using (var ingest = pipeline.Stage("ingest"))
        {
            using (var parse = pipeline.Stage("parse"))
            {
                Assert.That(parse.Name, Is.EqualTo("ingest/parse"));
                log.Advance(10);
            }
            using (pipeline.Stage("chunk")) log.Advance(20);
            Assert.That(ingest.Name, Is.EqualTo("ingest"));
        }
        using (pipeline.Stage("embed")) log.Advance(5);

        Assert.That(pipeline.Stages.Keys, Is.EqualTo(new[] { "ingest", "ingest/parse", "ingest/chunk", "embed" }));
        Assert.That(pipeline.Stages["ingest"], Is.EqualTo(30.0));
    }

    [Test]
    public async Task AStageBegunAfterAStageEndedInAnotherFlowIsNotNestedUnderTheEndedStage()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("voice-turn");

        var stt = pipeline.Stage("stt");
        log.Advance(150);
        await RecognizeAsync(stt); // ends the stage in the helper's own async flow: this flow still holds it
        using (var llm = pipeline.Stage("llm"))
        {
            Assert.That(llm.Name, Is.EqualTo("llm"));
            log.Advance(700);
        }
        pipeline.Complete();

        Assert.That(pipeline.Stages.Keys, Is.EqualTo(new[] { "stt", "llm" }));
        Assert.That(log.Summary.Scalar("SlowestStage"), Is.EqualTo("llm"));

        static async Task RecognizeAsync(StageTimer stage)
        {
            await Task.Yield();
            stage.Complete();
        }
    }

    [Test]
    public void AStageBegunInsideAnEndedStageNestsUnderItsNearestRunningAncestor()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("rag");
        using (pipeline.Stage("ingest"))
        {
            var parse = pipeline.Stage("parse");
            Assert.That(Task.Run(() => parse.Complete()).Wait(TimeSpan.FromSeconds(10)), Is.True, "The other flow did not complete the stage in time.");
            using (var chunk = pipeline.Stage("chunk"))
                Assert.That(chunk.Name, Is.EqualTo("ingest/chunk"));
        }
    }

    [Test]
    public void AStageOfTheOuterPipelineBegunInsideAnInnerPipelineNestsUnderTheOuterPipelinesRunningStage()
    {
        using var log = new TimedLog();
        using var outer = log.Begin("outer");
        StageTimer? store = null;
        using (outer.Stage("ingest"))
        {
            log.Advance(1);
            using var inner = log.Begin("inner");
            using (inner.Stage("embed"))
            {
                // An explicit call on the outer pipeline: its stage, under the stage of its own that is still running here.
                using (store = outer.Stage("store"))
                {
                    log.Advance(50);
                    log.Logger.Information("Inside store");
                }
                log.Logger.Information("Back in embed");
            }
        }
        outer.Complete();

        Assert.That(store.Name, Is.EqualTo("ingest/store"));
        Assert.That(outer.Stages.Keys, Is.EqualTo(new[] { "ingest", "ingest/store" }));
        var summary = log.Events.Single(e => e.Properties.ContainsKey("Stages") && Equals(e.Scalar("Pipeline"), "outer"));
        Assert.That(summary.Scalar("SlowestStage"), Is.EqualTo("ingest"));
        Assert.That((log.Single("Inside store").Scalar("Pipeline"), log.Single("Inside store").Scalar("Stage")), Is.EqualTo(("outer", "ingest/store")));
        Assert.That((log.Single("Back in embed").Scalar("Pipeline"), log.Single("Back in embed").Scalar("Stage")), Is.EqualTo(("inner", "embed")));
    }

    [Test]
    public void TheSlowestStageIsTheTopLevelStageWithTheLargestTotal()
    {
        using var log = new TimedLog();
        var pipeline = log.Begin();
        using (pipeline.Stage("fetch")) log.Advance(40);
        using (pipeline.Stage("ingest"))
        {
            using (pipeline.Stage("parse")) log.Advance(35);
        }
        using (pipeline.Stage("fetch")) log.Advance(10);
        pipeline.Complete();

        Assert.That(log.Summary.Scalar("SlowestStage"), Is.EqualTo("fetch"));
    }

    [Test]
    public void ARepeatedStageNameSumsItsRunsInFirstStartOrder()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("rag");
        using (pipeline.Stage("embed")) log.Advance(10);
        using (pipeline.Stage("store")) log.Advance(1);
        using (pipeline.Stage("embed")) log.Advance(15);

        Assert.That(pipeline.Stages.ToArray(), Is.EqualTo(new[]
        {
            new KeyValuePair<string, double>("embed", 25),
            new KeyValuePair<string, double>("store", 1),
        }));
        Assert.That(log.StageEvents.Select(e => e.Scalar("ElapsedMs")), Is.EqualTo(new object[] { 10.0, 1.0, 15.0 }));
    }

    [Test]
    public void ManyDistinctStageNamesKeepTheirOrderAndDurations()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin("batch");
        for (var i = 0; i < 40; i++)
            using (pipeline.Stage("item-" + i)) log.Advance(i + 1);
        using (pipeline.Stage("item-7")) log.Advance(100);

        Assert.That(pipeline.Stages.Keys, Is.EqualTo(Enumerable.Range(0, 40).Select(i => "item-" + i)));
        Assert.That(pipeline.Stages["item-7"], Is.EqualTo(108.0));
        Assert.That(pipeline.Stages["item-39"], Is.EqualTo(40.0));
    }

    [Test]
    public void PastTheLimitOfDistinctStageNamesStagesAddUpUnderOtherWithTheirRunsCounted()
    {
        // A long-lived pipeline that names a stage per message would grow its entries and its summary without end.
        const int maxStageEntries = 256;
        using var log = new TimedLog(minimumLevel: LogEventLevel.Information);
        var pipeline = log.Begin("inbox");
        for (var i = 0; i < 100_000; i++)
            using (pipeline.Stage("msg-" + i)) log.Advance(1);
        pipeline.Complete();

        var stages = pipeline.Stages;
        Assert.That(stages, Has.Count.LessThanOrEqualTo(maxStageEntries + 1));
        Assert.That(stages.Keys.Take(maxStageEntries), Is.EqualTo(Enumerable.Range(0, maxStageEntries).Select(i => "msg-" + i)));
        Assert.That(stages["(other)"], Is.EqualTo(100_000.0 - maxStageEntries));
        Assert.That(stages.Values.Sum(), Is.EqualTo(100_000.0));
        Assert.That(log.Summary.StagesProperty(), Is.EqualTo(stages.ToArray()));
        Assert.That(log.Summary.Scalar("OtherStageRuns"), Is.EqualTo(100_000L - maxStageEntries));
        Assert.That(log.Summary.Scalar("SlowestStage"), Is.EqualTo("msg-0"), "a sum of many stages is not the slowest stage");
    }

    [Test]
    public void StagesBegunAndNeverEndedAreNotAllHeldByTheirPipeline()
    {
        const int maxOpenStages = 1024, begun = 10_000;
        using var log = new TimedLog(minimumLevel: LogEventLevel.Information);
        var pipeline = log.Begin("inbox");
        var stages = BeginStagesAndNeverEndThem(pipeline, begun);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.That(stages.Count(s => s.IsAlive), Is.LessThanOrEqualTo(maxOpenStages));
        StageTimer? late = null;
        Flow.Isolated(() => late = pipeline.Stage("late"));
        log.Advance(5);
        pipeline.Complete();
        // The stages it held are abandoned at its end; the rest were never ended and are not.
        Assert.That(log.StageEvents, Has.Count.EqualTo(maxOpenStages));
        Assert.That(log.StageEvents.Select(e => e.Scalar("Outcome")), Is.All.EqualTo("abandoned"));
        // One it did not hold, ended after the summary, is timed and logged but not added to the pipeline's stages.
        late!.Fail(new TimeoutException());
        Assert.That(late.Elapsed, Is.EqualTo(TimeSpan.FromMilliseconds(5)));
        Assert.That(log.StageEvent("late").Scalar("Outcome"), Is.EqualTo("failed"));
        Assert.That(pipeline.Stages.Keys, Is.EqualTo(new[] { "handle" }));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static WeakReference[] BeginStagesAndNeverEndThem(PipelineTimer pipeline, int count)
    {
        var stages = new WeakReference[count];
        // Each in a flow of its own, as a handler per message would: none nests in another or stays ambient here.
        for (var i = 0; i < count; i++)
            Flow.Isolated(() => stages[i] = new WeakReference(pipeline.Stage("handle")));
        return stages;
    }

    [Test]
    public void StagesIsASnapshotOfFinishedStagesOnly()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        using (pipeline.Stage("stt")) log.Advance(1);
        var snapshot = pipeline.Stages;
        var llm = pipeline.Stage("llm");

        Assert.That(pipeline.Stages.ContainsKey("llm"), Is.False);
        llm.Complete();
        Assert.That(snapshot, Has.Count.EqualTo(1));
        Assert.That(pipeline.Stages, Has.Count.EqualTo(2));
        Assert.That(pipeline.Stages.TryGetValue("missing", out _), Is.False);
        Assert.That(() => pipeline.Stages["missing"], Throws.InstanceOf<KeyNotFoundException>());
    }

    [Test]
    public async Task StageAsyncCompletesByItselfAndReturnsTheResult()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        await pipeline.StageAsync("tts", async () =>
        {
            await Task.Yield();
            log.Advance(300);
        });
        var text = await pipeline.StageAsync("llm", async () =>
        {
            await Task.Yield();
            log.Advance(700);
            return "hello";
        });

        Assert.That(text, Is.EqualTo("hello"));
        Assert.That(pipeline.Stages["tts"], Is.EqualTo(300.0));
        Assert.That(pipeline.Stages["llm"], Is.EqualTo(700.0));
        Assert.That(log.StageEvents.Select(e => e.Scalar("Outcome")), Is.All.EqualTo("completed"));
    }

    [Test]
    public void StageAsyncFailsByItselfAndRethrowsTheSameException()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        var failure = new InvalidOperationException("tts down");

        var thrown = Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.StageAsync("tts", async () =>
        {
            await Task.Yield();
            log.Advance(12);
            throw failure;
        }));
        var thrownGeneric = Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.StageAsync<int>("llm", () => throw failure));

        Assert.That(thrown, Is.SameAs(failure));
        Assert.That(thrownGeneric, Is.SameAs(failure));
        Assert.That(log.StageEvent("tts").Exception, Is.SameAs(failure));
        Assert.That(log.StageEvent("tts").Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(log.StageEvent("tts").Scalar("ElapsedMs"), Is.EqualTo(12.0));
        Assert.That(log.StageEvent("llm").Scalar("Outcome"), Is.EqualTo("failed"));
    }

    [Test]
    public void AStageAsyncWhoseTaskIsCancelledIsFailed()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.That(async () => await pipeline.StageAsync("llm", () => Task.FromCanceled(cancellation.Token)), Throws.InstanceOf<TaskCanceledException>());
        Assert.That(log.StageEvent("llm").Scalar("Outcome"), Is.EqualTo("failed"));
    }

    [Test]
    public void AStageOverItsThresholdIsWrittenAtWarning()
    {
        using var log = new TimedLog(o =>
        {
            o.StageThresholds["llm"] = TimeSpan.FromMilliseconds(500);
            o.StageThresholds["parse"] = TimeSpan.FromMilliseconds(50);
            o.StageThresholds["*"] = TimeSpan.FromSeconds(1);
        });
        using var pipeline = log.Begin();
        using (pipeline.Stage("llm")) log.Advance(500);     // at the threshold: not over
        using (pipeline.Stage("llm")) log.Advance(500.1);   // over
        using (pipeline.Stage("ingest"))                     // 1061 ms: over "*"
        {
            using (pipeline.Stage("parse")) log.Advance(60); // own name: over 50
            log.Advance(1001);
        }
        using (pipeline.Stage("stt")) log.Advance(999);     // under "*"

        Assert.That(log.StageEvents.Select(e => (e.Scalar("Stage"), e.Level)), Is.EqualTo(new (object?, LogEventLevel)[]
        {
            ("llm", LogEventLevel.Debug),
            ("llm", LogEventLevel.Warning),
            ("ingest/parse", LogEventLevel.Warning),
            ("ingest", LogEventLevel.Warning),
            ("stt", LogEventLevel.Debug),
        }));
    }

    [Test]
    public void AFullStagePathThresholdWinsOverItsOwnName()
    {
        using var log = new TimedLog(o =>
        {
            o.StageThresholds["ingest/parse"] = TimeSpan.FromMilliseconds(100);
            o.StageThresholds["parse"] = TimeSpan.FromMilliseconds(10);
        });
        using var pipeline = log.Begin();
        using (pipeline.Stage("ingest"))
        using (pipeline.Stage("parse")) log.Advance(50);
        using (pipeline.Stage("parse")) log.Advance(50);

        Assert.That(log.StageEvent("ingest/parse").Level, Is.EqualTo(LogEventLevel.Debug));
        Assert.That(log.StageEvent("parse").Level, Is.EqualTo(LogEventLevel.Warning));
    }

    [Test]
    public void APipelineOverItsThresholdWritesItsSummaryAtWarning()
    {
        using var log = new TimedLog(o =>
        {
            o.PipelineThresholds["voice-turn"] = TimeSpan.FromSeconds(2);
            o.PipelineThresholds["*"] = TimeSpan.FromSeconds(10);
        });
        using (log.Begin("voice-turn")) log.Advance(2001);
        using (log.Begin("voice-turn")) log.Advance(1999);
        using (log.Begin("other")) log.Advance(9000);

        var summaries = log.Events.Where(e => e.Properties.ContainsKey("Stages")).Select(e => e.Level);
        Assert.That(summaries, Is.EqualTo(new[] { LogEventLevel.Warning, LogEventLevel.Information, LogEventLevel.Information }));
    }

    [Test]
    public void ConfiguredLevelsApplyToOrdinaryCompletionAndSummaryEvents()
    {
        using var log = new TimedLog(o =>
        {
            o.StageCompletionLevel = LogEventLevel.Verbose;
            o.SummaryLevel = LogEventLevel.Debug;
        });
        using (var pipeline = log.Begin())
        using (pipeline.Stage("stt")) log.Advance(1);

        Assert.That(log.StageEvent("stt").Level, Is.EqualTo(LogEventLevel.Verbose));
        Assert.That(log.Summary.Level, Is.EqualTo(LogEventLevel.Debug));
    }

    [Test]
    public void ASlowAbandonedOrFailedRunIsNeverWrittenBelowItsConfiguredLevel()
    {
        // Configured above Warning: a slow or abandoned run stays at the configured level, only raised, never lowered.
        using var log = new TimedLog(o =>
        {
            o.StageCompletionLevel = LogEventLevel.Error;
            o.SummaryLevel = LogEventLevel.Error;
            o.StageThresholds["slow"] = TimeSpan.FromMilliseconds(10);
            o.PipelineThresholds["*"] = TimeSpan.FromMilliseconds(10);
        });
        using (var pipeline = log.Begin("slow-run"))
        {
            using (pipeline.Stage("slow")) log.Advance(20);
            pipeline.Stage("left-open");
            pipeline.Complete();
        }
        using var abandoned = new TimedLog(o =>
        {
            o.SummaryLevel = LogEventLevel.Error;
            o.DisposeOutcome = TimingOutcome.Abandoned;
        });
        using (abandoned.Begin("abandoned-run")) abandoned.Advance(1);

        Assert.That(log.StageEvent("slow").Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(log.StageEvent("left-open").Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(log.Events.Single(e => e.Properties.ContainsKey("Stages") && Equals(e.Scalar("Pipeline"), "slow-run")).Level,
            Is.EqualTo(LogEventLevel.Error));
        Assert.That((abandoned.Summary.Scalar("Outcome"), abandoned.Summary.Level), Is.EqualTo(("abandoned", LogEventLevel.Error)));

        // Configured at Fatal, a failure is written at Fatal too.
        using var fatal = new TimedLog(o =>
        {
            o.StageCompletionLevel = LogEventLevel.Fatal;
            o.SummaryLevel = LogEventLevel.Fatal;
        });
        using (var pipeline = fatal.Begin())
        {
            pipeline.Stage("stt").Fail(new InvalidOperationException("no audio"));
            pipeline.Fail(new InvalidOperationException("no audio"));
        }
        Assert.That(fatal.StageEvent("stt").Level, Is.EqualTo(LogEventLevel.Fatal));
        Assert.That(fatal.Summary.Level, Is.EqualTo(LogEventLevel.Fatal));
    }

    [Test]
    public void EventsBelowTheLoggersLevelAreNotWrittenButDurationsAreStillKept()
    {
        using var log = new TimedLog(minimumLevel: LogEventLevel.Information);
        using var pipeline = log.Begin();
        using (pipeline.Stage("stt")) log.Advance(150);
        pipeline.Complete();

        Assert.That(log.StageEvents, Is.Empty);
        Assert.That(log.Summary.StagesProperty().Single(), Is.EqualTo(new KeyValuePair<string, double>("stt", 150)));
    }

    [Test]
    public void BeginRejectsAMissingOrBlankName()
    {
        Assert.That(() => PipelineTimer.Begin(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("name"));
        Assert.That(() => PipelineTimer.Begin(" "), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
    }

    [Test]
    public void StageAndFailRejectMissingArguments()
    {
        using var log = new TimedLog();
        using var pipeline = log.Begin();
        using var stage = pipeline.Stage("stt");
        Assert.That(() => pipeline.Stage(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
        Assert.That(() => pipeline.StageAsync("x", null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("action"));
        Assert.That(() => pipeline.StageAsync<int>("x", null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("action"));
        Assert.That(() => stage.Fail(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("exception"));
        Assert.That(() => pipeline.Fail(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("exception"));
        Assert.That(() => new PipelineTimingOptions().TimeProvider = null!, Throws.ArgumentNullException);
    }

    [Test]
    public void ConcurrentCompleteAndDisposeWriteExactlyOneSummary()
    {
        using var log = new TimedLog();
        // Stages end on other threads, so this flow keeps them ambient: keep that out of the test runner's thread.
        Flow.Isolated(() => Race(log));

        Assert.That(log.Events.Count(e => e.Properties.ContainsKey("Stages")), Is.EqualTo(50));
        Assert.That(log.StageEvents, Has.Count.EqualTo(50));
    }

    static void Race(TimedLog log)
    {
        for (var round = 0; round < 50; round++)
        {
            var pipeline = log.Begin("race-" + round);
            var stage = pipeline.Stage("work");
            using var start = new ManualResetEventSlim();
            var racers = new[]
            {
                Task.Run(() => { start.Wait(); stage.Complete(); pipeline.Complete(); }),
                Task.Run(() => { start.Wait(); stage.Dispose(); pipeline.Dispose(); }),
                Task.Run(() => { start.Wait(); pipeline.Fail(new Exception("x")); }),
            };
            start.Set();
            Assert.That(Task.WaitAll(racers, TimeSpan.FromSeconds(10)), Is.True);
        }
    }
}

[NonParallelizable]
public class PipelineTimerDefaultLoggerTests
{
    [Test]
    public void WithoutALoggerEventsGoToLogLoggerAsItIsAtBegin()
    {
        var sink = new CollectingSink();
        var previous = Log.Logger;
        Log.Logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        try
        {
            using (PipelineTimer.Begin("default-logger", options: new PipelineTimingOptions { TimeProvider = new FakeTimeProvider() }))
            {
                Log.Logger = Logger.None;
            }
        }
        finally
        {
            Log.Logger = previous;
        }

        Assert.That(sink.SingleEvent.Scalar("Pipeline"), Is.EqualTo("default-logger"));
    }

    sealed class GateClock(FakeTimeProvider inner) : TimeProvider
    {
        // The next clock read on this thread blocks until released: a stage that has won its end waits there.
        public volatile int BlockThread = -1;
        public readonly ManualResetEventSlim Entered = new(), Release = new();
        public override long TimestampFrequency => inner.TimestampFrequency;
        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();
        public override long GetTimestamp()
        {
            if (Environment.CurrentManagedThreadId == BlockThread)
            {
                BlockThread = -1;
                Entered.Set();
                Release.Wait(TimeSpan.FromSeconds(10));
            }
            return inner.GetTimestamp();
        }
    }

    [Test]
    [NonParallelizable]
    public void AStageEndingWhileThePipelineEndsIsCountedInTheSummary()
    {
        var fake = new FakeTimeProvider();
        var clock = new GateClock(fake);
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var pipeline = PipelineTimer.Begin("p", logger, new PipelineTimingOptions { TimeProvider = clock });
        var stage = pipeline.Stage("embed");
        fake.Advance(TimeSpan.FromMilliseconds(40));

        // The stage ends on another thread and is held inside its end; the pipeline ends meanwhile.
        var worker = new Thread(() => { clock.BlockThread = Environment.CurrentManagedThreadId; stage.Complete(); });
        worker.Start();
        Assert.That(clock.Entered.Wait(TimeSpan.FromSeconds(10)), Is.True);
        var contention = Monitor.LockContentionCount;
        var ending = Task.Run(pipeline.Complete);
        // Let the stage go once the pipeline has either ended without it or is waiting for it to finish ending.
        Assert.That(SpinWait.SpinUntil(() => ending.IsCompleted || Monitor.LockContentionCount > contention, TimeSpan.FromSeconds(10)), Is.True);
        clock.Release.Set();
        worker.Join();
        Assert.That(ending.Wait(TimeSpan.FromSeconds(10)), Is.True);

        var summary = sink.Events.Single(e => e.Properties.ContainsKey("Stages"));
        var stages = ((DictionaryValue)summary.Properties["Stages"]).Elements;
        Assert.That(stages.Keys.Select(k => k.Value), Is.EqualTo(new[] { "embed" }), "the stage's duration is in the summary");
        Assert.That(stage.Outcome, Is.EqualTo(TimingOutcome.Completed));
        Assert.That(pipeline.Stages["embed"], Is.EqualTo(40));
    }

    [Test]
    [NonParallelizable]
    public void AStageBegunWhileThePipelineEndsOnAnotherThreadIsNeverTimedFromTheClocksZero()
    {
        var fake = new FakeTimeProvider();
        var clock = new GateClock(fake);
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var pipeline = PipelineTimer.Begin("p", logger, new PipelineTimingOptions { TimeProvider = clock });
        // Timestamps far from zero, as Stopwatch's are on a machine that has been up for a while.
        fake.Advance(TimeSpan.FromSeconds(1000));

        // The stage is begun on another thread and held inside its start; the pipeline ends meanwhile.
        var worker = new Thread(() =>
        {
            clock.BlockThread = Environment.CurrentManagedThreadId;
            using (pipeline.Stage("late")) { }
        });
        worker.Start();
        Assert.That(clock.Entered.Wait(TimeSpan.FromSeconds(10)), Is.True);
        pipeline.Complete();
        clock.Release.Set();
        Assert.That(worker.Join(TimeSpan.FromSeconds(10)), Is.True);

        // No time passed on the clock while the stage ran: whichever end won, it took 0 ms, not the clock's 1000 s.
        var stageEvent = sink.Events.Single(e => e.Properties.ContainsKey("Stage") && Equals(((ScalarValue)e.Properties["Stage"]).Value, "late"));
        Assert.That(((ScalarValue)stageEvent.Properties["ElapsedMs"]).Value, Is.EqualTo(0.0));
        Assert.That(pipeline.Stages.Values, Is.All.EqualTo(0.0));
    }

    [Test]
    public void AStageBegunAfterThePipelineEndedIsTimedButNotOneOfItsStages()
    {
        Serilog.Extensions.Observability.Timing.Internal.TimingReports.ResetAll();
        using var log = new TimedLog();
        var pipeline = log.Begin("p");
        using (pipeline.Stage("a")) log.Advance(10);
        pipeline.Complete();

        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (pipeline.Stage("late")) log.Advance(10);

        Assert.That(pipeline.Stages.Keys, Is.EqualTo(new[] { "a" }));
        Assert.That(log.StageEvent("late").Scalar("ElapsedMs"), Is.EqualTo(10.0));
        Assert.That(selfLog, Has.Some.Contains("late").And.Some.Contains("after pipeline p ended"));
    }

    [Test]
    public void BeginRejectsOptionsWithAThresholdThatIsNotPositive()
    {
        var options = new PipelineTimingOptions();
        options.StageThresholds["llm"] = TimeSpan.FromSeconds(-1);
        using var logger = new LoggerConfiguration().CreateLogger();
        Assert.That(() => PipelineTimer.Begin("p", logger, options),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("StageThresholds"));
    }

    [Test]
    public void OptionsChangedAfterBeginDoNotReachTheRunningPipeline()
    {
        using var log = new TimedLog(o => o.StageThresholds["llm"] = TimeSpan.FromSeconds(1));
        var pipeline = log.Begin();

        // Unvalidated (a negative threshold makes every stage slow), and made while the pipeline runs.
        log.Options.StageThresholds["llm"] = TimeSpan.FromSeconds(-1);
        log.Options.PipelineThresholds["*"] = TimeSpan.FromSeconds(-1);
        log.Options.StageCompletionLevel = LogEventLevel.Information;
        log.Options.SummaryLevel = LogEventLevel.Error;
        log.Options.DisposeOutcome = TimingOutcome.Abandoned;
        log.Options.TimeProvider = new FakeTimeProvider();
        using (pipeline.Stage("llm")) log.Advance(10);
        pipeline.Dispose();

        Assert.That((log.StageEvent("llm").Level, log.StageEvent("llm").Scalar("Outcome"), log.StageEvent("llm").Scalar("ElapsedMs")),
            Is.EqualTo((LogEventLevel.Debug, "completed", 10.0)));
        Assert.That((log.Summary.Level, log.Summary.Scalar("Outcome")), Is.EqualTo((LogEventLevel.Information, "completed")));

        // A pipeline begun after a (valid) change takes it.
        log.Options.StageThresholds.Clear();
        log.Options.PipelineThresholds.Clear();
        using (log.Begin("after")) { }
        Assert.That(log.Events.Last().Level, Is.EqualTo(LogEventLevel.Error));
    }

    [Test]
    public void ANestedPipelinesSummaryCarriesNoElapsedTimeOfTheOuterOne()
    {
        using var log = new TimedLog();
        using var outer = log.Begin("outer");
        log.Advance(100);
        var inner = log.Begin("inner");
        log.Advance(5);
        log.Logger.Information("Inside inner");
        inner.Complete();

        var summary = log.Events.Single(e => e.Properties.ContainsKey("Stages") && Equals(e.Scalar("Pipeline"), "inner"));
        Assert.That(summary.Scalar("ElapsedMs"), Is.EqualTo(5.0));
        Assert.That(summary.Properties.ContainsKey("PipelineElapsedMs"), Is.False, "the outer pipeline's 105 ms is not this event's");
        Assert.That(log.Single("Inside inner").Scalar("PipelineElapsedMs"), Is.EqualTo(5.0));
    }
}

[NonParallelizable]
public class PipelineTimerSelfLogTests
{
    [Test]
    public void ASelfLogOutputThatThrowsNeverReachesTheApplication()
    {
        // SelfLog.Enable(TextWriter) on a full disk throws from every line: a report must cost the line, not the stage.
        Serilog.Debugging.SelfLog.Enable(_ => throw new IOException("No space left on device"));
        try
        {
            var sink = new CollectingSink();
            using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
            var pipeline = PipelineTimer.Begin("selflog-throws", logger, new PipelineTimingOptions { TimeProvider = new FakeTimeProvider() });
            pipeline.Complete();

            Assert.DoesNotThrow(() =>
            {
                // Begun after its pipeline ended: reported through SelfLog, then timed and logged as usual.
                using var late = pipeline.Stage("late");
            });
            Assert.That(sink.Events.Any(e => e.Properties.TryGetValue("Stage", out var stage) && stage.ToString() == "\"late\""), Is.True);
        }
        finally
        {
            Serilog.Debugging.SelfLog.Disable();
        }
    }
}
