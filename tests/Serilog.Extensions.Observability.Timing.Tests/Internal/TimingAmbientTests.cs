using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Timing.Internal;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

public class TimingAmbientTests
{
    const int MaxDepth = 1024;

    static readonly AsyncLocal<byte[]?> s_large = new();

    static void CollectGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Test]
    public void AnEndedPipelineKeptByTheApplicationDoesNotKeepTheAsyncLocalValuesOfItsStartAlive()
    {
        // A collector, or code that reads Stages later, keeps the pipeline; that must not keep the flow's values.
        using var log = new TimedLog();
        PipelineTimer? kept = null;
        WeakReference? large = null;
        Flow.Isolated(() => (kept, large) = RunWithALargeAsyncLocal(log));
        CollectGarbage();

        Assert.That(large!.IsAlive, Is.False);
        Assert.That(kept!.Stages["stt"], Is.EqualTo(1.0));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static (PipelineTimer, WeakReference) RunWithALargeAsyncLocal(TimedLog log)
    {
        s_large.Value = new byte[16 << 20];
        var large = new WeakReference(s_large.Value);
        var pipeline = log.Begin("kept");
        using (pipeline.Stage("stt")) log.Advance(1);
        pipeline.Complete();
        s_large.Value = null;
        return (pipeline, large);
    }

    [Test]
    public void PipelinesBegunAndNeverEndedInOneFlowChainNoDeeperThanTheLimit()
    {
        // A message loop that begins a pipeline per message and never ends one: the flow holds the innermost.
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var depth = 0;
        var alive = 0;
        var firstAlive = false;
        Flow.Isolated(() =>
        {
            var pipelines = BeginPipelinesAndNeverEndThem(log, 100_000);
            CollectGarbage();
            alive = pipelines.Count(p => p.IsAlive);
            firstAlive = pipelines[0].IsAlive && pipelines[MaxDepth - 2].IsAlive;
            for (var frame = TimingAmbient.Current; frame is not null; frame = ((PipelineTimer)frame).OuterFrame) depth++;
        });

        Assert.That(depth, Is.LessThanOrEqualTo(MaxDepth));
        Assert.That(alive, Is.LessThanOrEqualTo(MaxDepth));
        Assert.That(firstAlive, Is.True, "the first ones nest as they always did");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference[] BeginPipelinesAndNeverEndThem(TimedLog log, int count)
    {
        var pipelines = new WeakReference[count];
        for (var i = 0; i < count; i++) pipelines[i] = new WeakReference(log.Begin("leaked"));
        return pipelines;
    }

    [Test]
    public void StagesBegunAndNeverEndedInOneFlowNestNoDeeperThanTheLimit()
    {
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var pipeline = log.Begin("loop");
        StageTimer? last = null;
        var depth = 0;
        Flow.Isolated(() =>
        {
            for (var i = 0; i < 3 * MaxDepth; i++) last = pipeline.Stage("s");
            for (var frame = TimingAmbient.Current; frame is StageTimer stage; frame = stage.OuterFrame) depth++;
        });

        var nesting = 0;
        for (var stage = last; stage is not null; stage = stage.Parent) nesting++;
        Assert.That(nesting, Is.LessThanOrEqualTo(MaxDepth));
        Assert.That(depth, Is.LessThanOrEqualTo(MaxDepth));
        Assert.That(last!.Name.Split('/'), Has.Length.LessThanOrEqualTo(MaxDepth));
        pipeline.Complete();
    }
}
