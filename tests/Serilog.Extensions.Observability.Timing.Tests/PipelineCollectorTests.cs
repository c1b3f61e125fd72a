using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests;

public class PipelineCollectorTests
{
    [Test]
    public void CollectorsBegunAndNeverDisposedInOneFlowChainNoDeeperThanTheLimit()
    {
        // A loop that begins a collector per message and never disposes one: each kept every earlier one alive.
        const int MaxDepth = 1024;
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var alive = 0;
        var firstAlive = false;
        string[]? collected = null;
        Flow.Isolated(() =>
        {
            var collectors = BeginCollectorsAndNeverDisposeThem(10_000);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            alive = collectors.Count(c => c.IsAlive);
            firstAlive = collectors[0].IsAlive && collectors[MaxDepth - 2].IsAlive;
            using (log.Begin("innermost")) { }
            collected = ((PipelineCollector)collectors[^1].Target!).Pipelines.Select(p => p.Name).ToArray();
        });

        Assert.That(alive, Is.LessThanOrEqualTo(MaxDepth));
        Assert.That(firstAlive, Is.True, "the first ones nest as they always did");
        Assert.That(collected, Is.EqualTo(new[] { "innermost" }), "a pipeline registers with the innermost collector");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference[] BeginCollectorsAndNeverDisposeThem(int count)
    {
        var collectors = new WeakReference[count];
        for (var i = 0; i < count; i++) collectors[i] = new WeakReference(PipelineCollector.Begin());
        return collectors;
    }

    [Test]
    public void ACollectorDisposedInAnotherFlowIsNotKeptAliveByTheNextOneBegunInTheFlowThatBeganIt()
    {
        // A loop that begins a collector per message and hands it on with the message, to be read and disposed where the
        // message is finished: disposal restores only the flow that disposes, so the loop's next collector nested in the
        // disposed one, keeping it (and the pipelines it lists) alive, and so on up to the nesting limit.
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var alive = 0;
        string[]? collected = null;
        Flow.Isolated(() =>
        {
            var collectors = BeginCollectorsAndDisposeThemInAnotherFlow(log, 2000);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            alive = collectors.Count(c => c.IsAlive);
            var last = PipelineCollector.Begin();
            using (log.Begin("after")) { }
            collected = last.Pipelines.Select(p => p.Name).ToArray();
        });

        Assert.That(alive, Is.LessThanOrEqualTo(1), "only the last is still ambient in the loop");
        Assert.That(collected, Is.EqualTo(new[] { "after" }));
    }

    [Test]
    public void APipelineBegunAfterTheInnerCollectorWasDisposedInAnotherFlowIsCollectedByTheOuterOne()
    {
        // As when the inner collector is disposed in this flow (which makes the outer one ambient again): one disposed in
        // another flow is still ambient here, but no longer collects; the pipelines begun after it belong to the
        // collector it nested in, as a collector begun after it nests in that one.
        using var log = new TimedLog();
        using var outer = PipelineCollector.Begin();
        var inner = PipelineCollector.Begin();
        using (log.Begin("inner")) { }
        Flow.Isolated(() => inner.Dispose());

        using (log.Begin("after")) { }

        Assert.That(inner.Pipelines.Select(p => p.Name), Is.EqualTo(new[] { "inner" }));
        Assert.That(outer.Pipelines.Select(p => p.Name), Is.EqualTo(new[] { "after" }));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference[] BeginCollectorsAndDisposeThemInAnotherFlow(TimedLog log, int count)
    {
        var collectors = new WeakReference[count];
        for (var i = 0; i < count; i++)
        {
            var collector = PipelineCollector.Begin();
            using (log.Begin("message")) { }
            collectors[i] = new WeakReference(collector);
            Flow.Isolated(() => collector.Dispose());
        }
        return collectors;
    }

    [Test]
    public async Task PipelinesBegunInsideTheCollectorIncludingChildFlowsAreCollectedInStartOrder()
    {
        using var log = new TimedLog();
        using var collector = PipelineCollector.Begin();

        using (var first = log.Begin("first"))
        using (first.Stage("stt")) log.Advance(15);
        await Task.Run(() =>
        {
            using var second = log.Begin("second");
            using (second.Stage("llm")) log.Advance(20);
        });

        Assert.That(collector.Pipelines.Select(p => p.Name), Is.EqualTo(new[] { "first", "second" }));
        Assert.That(collector.Pipelines[1].Stages["llm"], Is.EqualTo(20.0));
    }

    [Test]
    public void StagesLoggedAsAPropertyIsADictionaryInStartOrder()
    {
        // What an application on Serilog.AspNetCore sets on the request completion event: diagnosticContext.Set("Stages",
        // collector.Stages). Serilog captures only some dictionary types as dictionaries, any other as a list of strings.
        using var log = new TimedLog();
        using var collector = PipelineCollector.Begin();
        using var empty = PipelineCollector.Begin();
        var emptyStages = empty.Stages;
        empty.Dispose();
        using (var first = log.Begin("first"))
        using (first.Stage("stt")) log.Advance(15);
        using (var second = log.Begin("second"))
        using (second.Stage("llm")) log.Advance(20);

        log.Logger.Information("Stages {Stages} {Empty}", collector.Stages, emptyStages);

        var logged = log.Single("Stages {Stages} {Empty}");
        Assert.That(logged.Properties["Stages"], Is.InstanceOf<DictionaryValue>());
        Assert.That(((DictionaryValue)logged.Properties["Stages"]).Elements.Select(e => (e.Key.Value, ((ScalarValue)e.Value).Value)),
            Is.EqualTo(new (object?, object?)[] { ("first/stt", 15.0), ("second/llm", 20.0) }));
        Assert.That(logged.Properties["Empty"], Is.InstanceOf<DictionaryValue>().And.Property("Elements").Empty);
    }

    [Test]
    public void PipelinesOutsideAnyCollectorOrAfterDisposeAreNotCollected()
    {
        using var log = new TimedLog();
        using (log.Begin("before")) { }
        var collector = PipelineCollector.Begin();
        using (log.Begin("inside")) { }
        collector.Dispose();
        using (log.Begin("after")) { }

        Assert.That(collector.Pipelines.Select(p => p.Name), Is.EqualTo(new[] { "inside" }));
    }

    [Test]
    public void CollectorsNestAndDisposeRestoresThePreviousOne()
    {
        using var log = new TimedLog();
        using var outer = PipelineCollector.Begin();
        using (var inner = PipelineCollector.Begin())
        {
            using (log.Begin("inner")) { }
            Assert.That(inner.Pipelines.Select(p => p.Name), Is.EqualTo(new[] { "inner" }));
        }
        using (log.Begin("outer")) { }

        Assert.That(outer.Pipelines.Select(p => p.Name), Is.EqualTo(new[] { "outer" }));
    }

    [Test]
    public async Task PipelinesAndStagesAreThreadSafeSnapshotsWhilePipelinesRunConcurrently()
    {
        using var collector = PipelineCollector.Begin();
        const int writers = 8, perWriter = 100, listed = 64;
        using var go = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            using var log = new TimedLog(); // a clock per writer: each advances its own
            go.Wait(TimeSpan.FromSeconds(10));
            for (var i = 0; i < perWriter; i++)
            {
                using var pipeline = log.Begin("turn");
                using (pipeline.Stage("stt")) log.Advance(1);
            }
        })).ToArray();
        go.Set();
        var seen = 0;
        var sum = 0.0;
        while (!Task.WhenAll(tasks).IsCompleted)
        {
            var snapshot = collector.Pipelines;
            Assert.That(snapshot.Count, Is.GreaterThanOrEqualTo(seen));
            seen = snapshot.Count;
            var stages = collector.Stages;
            Assert.That(stages.Values.Sum(), Is.GreaterThanOrEqualTo(sum));
            sum = stages.Values.Sum();
            await Task.Yield();
        }
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));

        // The first 64 are listed; every run's stage is in the totals.
        Assert.That(collector.Pipelines, Has.Count.EqualTo(listed));
        Assert.That(collector.Pipelines.Select(p => p.Id).Distinct().Count(), Is.EqualTo(listed));
        Assert.That(collector.Stages.ToArray(), Is.EqualTo(new[] { new KeyValuePair<string, double>("turn/stt", writers * perWriter) }));
    }

    [Test]
    public void ACollectorDoesNotHoldTheEndedPipelinesOfALongLivedFlow()
    {
        // A streaming request or a background service: one collector, a pipeline per message.
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        using var collector = PipelineCollector.Begin();
        var pipelines = RunPipelines(log, 10_000);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.That(pipelines.Count(p => p.IsAlive), Is.LessThanOrEqualTo(64), "only the ones Pipelines lists");
        GC.KeepAlive(collector);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference[] RunPipelines(TimedLog log, int count)
    {
        var pipelines = new WeakReference[count];
        for (var i = 0; i < count; i++)
        {
            using var pipeline = log.Begin("turn");
            pipelines[i] = new WeakReference(pipeline);
            using (pipeline.Stage("stt")) log.Advance(1);
        }
        return pipelines;
    }

    [Test]
    public void ACollectorHoldsABoundedNumberOfPipelinesThatNeverEnd()
    {
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        using var collector = PipelineCollector.Begin();
        var pipelines = BeginPipelinesAndNeverEndThem(log, 10_000);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.That(pipelines.Count(p => p.IsAlive), Is.LessThanOrEqualTo(256));
        GC.KeepAlive(collector);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference[] BeginPipelinesAndNeverEndThem(TimedLog log, int count)
    {
        var pipelines = new WeakReference[count];
        // Each in a flow of its own, as a handler per message would: none nests in another.
        for (var i = 0; i < count; i++)
            Flow.Isolated(() => pipelines[i] = new WeakReference(log.Begin("turn")));
        return pipelines;
    }

    [Test]
    public void StagesSumsEveryPipelineOfALongLivedFlowWithinItsLimit()
    {
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        using var collector = PipelineCollector.Begin();
        for (var i = 0; i < 10_000; i++)
        {
            using var pipeline = log.Begin("turn");
            using (pipeline.Stage("stt")) log.Advance(1);
            using (pipeline.Stage("llm")) log.Advance(2);
        }
        for (var i = 0; i < 10_000; i++)
        {
            using var pipeline = log.Begin("import-" + i);
            using (pipeline.Stage("parse")) log.Advance(1);
        }

        var stages = collector.Stages;
        Assert.That(stages, Has.Count.LessThanOrEqualTo(256 + 1));
        Assert.That(stages.Keys.Take(3), Is.EqualTo(new[] { "turn/stt", "turn/llm", "import-0/parse" }));
        Assert.That(stages["turn/stt"], Is.EqualTo(10_000.0));
        Assert.That(stages["turn/llm"], Is.EqualTo(20_000.0));
        Assert.That(stages["(other)"], Is.EqualTo(10_000.0 - (256 - 2)));
        Assert.That(stages.Values.Sum(), Is.EqualTo(40_000.0));
    }

    [Test]
    public void StagesKeepsTheRequestRuleOneNameAsItIsSeveralQualifiedInStartOrderWithRunningPipelinesFinishedStages()
    {
        using var log = new TimedLog();
        using var collector = PipelineCollector.Begin();
        Assert.That(collector.Stages, Is.Empty);

        var first = log.Begin("voice-turn");
        using (first.Stage("stt")) log.Advance(15);
        // One pipeline, still running: its finished stages under their own names.
        Assert.That(collector.Stages.ToArray(), Is.EqualTo(new[] { new KeyValuePair<string, double>("stt", 15) }));

        Flow.Isolated(() =>
        {
            using var second = log.Begin("ingest");
            using (second.Stage("chunk")) log.Advance(5);
        });
        Flow.Isolated(() =>
        {
            using var third = log.Begin("ingest");
            using (third.Stage("chunk")) log.Advance(7);
            using (third.Stage("embed")) log.Advance(1);
        });
        using (first.Stage("tts")) log.Advance(20);
        // Several: qualified, in the pipelines' start order although the first ends last; one name's runs add up.
        first.Complete();

        Assert.That(collector.Stages.ToArray(), Is.EqualTo(new[]
        {
            new KeyValuePair<string, double>("voice-turn/stt", 15),
            new KeyValuePair<string, double>("voice-turn/tts", 20),
            new KeyValuePair<string, double>("ingest/chunk", 12),
            new KeyValuePair<string, double>("ingest/embed", 1),
        }));
    }
}
