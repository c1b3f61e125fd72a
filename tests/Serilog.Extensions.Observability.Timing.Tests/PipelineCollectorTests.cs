using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests;

public class PipelineCollectorTests
{
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
    public async Task PipelinesIsAThreadSafeSnapshotWhilePipelinesBeginConcurrently()
    {
        using var log = new TimedLog();
        using var collector = PipelineCollector.Begin();
        const int writers = 8, perWriter = 100;
        using var go = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            go.Wait(TimeSpan.FromSeconds(10));
            for (var i = 0; i < perWriter; i++)
                using (log.Begin($"w{w}-{i}")) { }
        })).ToArray();
        go.Set();
        var seen = 0;
        while (!Task.WhenAll(tasks).IsCompleted)
        {
            var snapshot = collector.Pipelines;
            Assert.That(snapshot.Count, Is.GreaterThanOrEqualTo(seen));
            seen = snapshot.Count;
            await Task.Yield();
        }
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(collector.Pipelines, Has.Count.EqualTo(writers * perWriter));
        Assert.That(collector.Pipelines.Select(p => p.Id).Distinct().Count(), Is.EqualTo(writers * perWriter));
    }
}
