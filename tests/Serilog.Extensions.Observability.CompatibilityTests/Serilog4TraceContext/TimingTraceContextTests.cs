using System.Diagnostics;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4TraceContext;

/// <summary>
/// On Serilog 4, the Timing package's stage completion and pipeline summary events carry their own span (the Timing
/// package's README: each is written while its span is still current) when a tracer listens to its source, and the
/// application's span around the pipeline when none does: the same ids natively (<c>@tr</c>/<c>@sp</c>) and as
/// <c>TraceId</c>/<c>SpanId</c> properties.
/// </summary>
[NonParallelizable] // the span listeners are process-wide
public class TimingTraceContextTests
{
    const string TimingSource = "Serilog.Extensions.Observability.Timing";

    static readonly ActivitySource Application = new("Serilog4TraceContext.Timing.Application");

    [Test]
    public async Task StageAndSummaryEventsCarryTheirOwnSpans()
    {
        using var listener = TraceContext.Listen(Application.Name, TimingSource);
        var sink = new CollectingSink();
        using var logger = Logger(sink);
        using var turn = Application.StartActivity("turn")!;
        Activity pipelineSpan, sttSpan, llmSpan = null!;

        using (var pipeline = PipelineTimer.Begin("voice-turn", logger))
        {
            pipelineSpan = Activity.Current!;
            using (pipeline.Stage("stt"))
            {
                sttSpan = Activity.Current!;
                logger.Information("Transcribing");
            }
            await pipeline.StageAsync("llm", async () =>
            {
                llmSpan = Activity.Current!;
                await Task.Yield();
            });
            pipeline.Complete();
        }

        Assert.That(new[] { pipelineSpan, sttSpan, llmSpan }.Select(s => s.Source.Name), Has.All.EqualTo(TimingSource), "The pipeline and stages have spans.");
        Assert.That(pipelineSpan.Parent, Is.SameAs(turn));
        TraceContext.AssertCarries(Single(sink, e => e.MessageTemplate.Text == "Transcribing"), sttSpan.Context, "event inside stt");
        TraceContext.AssertCarries(StageEvent(sink, "stt"), sttSpan.Context, "stt completion event");
        TraceContext.AssertCarries(StageEvent(sink, "llm"), llmSpan.Context, "llm completion event");
        TraceContext.AssertCarries(Summary(sink), pipelineSpan.Context, "summary event");
    }

    /// <summary>A stage ended in a flow where its span is not current (handed on, or abandoned by its pipeline's end).</summary>
    [Test]
    public async Task AStageEndedOutsideTheFlowThatBeganItStillCarriesItsOwnSpan()
    {
        using var listener = TraceContext.Listen(Application.Name, TimingSource);
        var sink = new CollectingSink();
        using var logger = Logger(sink);
        using var turn = Application.StartActivity("turn")!;
        Activity pipelineSpan;
        (StageTimer Stage, Activity Span) handedOn, abandoned;

        using (var pipeline = PipelineTimer.Begin("ingest", logger))
        {
            pipelineSpan = Activity.Current!;
            handedOn = await BeginInAnotherFlow(pipeline, "parse");
            abandoned = await BeginInAnotherFlow(pipeline, "embed");
            Assert.That(Activity.Current, Is.SameAs(pipelineSpan), "The stages' spans are not current here.");
            handedOn.Stage.Complete();
            pipeline.Complete();
        }

        Assert.That(abandoned.Stage.Outcome, Is.EqualTo(TimingOutcome.Abandoned));
        TraceContext.AssertCarries(StageEvent(sink, "parse"), handedOn.Span.Context, "parse completion event");
        TraceContext.AssertCarries(StageEvent(sink, "embed"), abandoned.Span.Context, "embed (abandoned) completion event");
        TraceContext.AssertCarries(Summary(sink), pipelineSpan.Context, "summary event");
    }

    [Test]
    public void WithoutATracerOnTheTimingSourceTheEventsCarryTheApplicationsSpan()
    {
        using var listener = TraceContext.Listen(Application.Name);
        var sink = new CollectingSink();
        using var logger = Logger(sink);
        using var turn = Application.StartActivity("turn")!;

        using (var pipeline = PipelineTimer.Begin("voice-turn", logger))
        {
            using (pipeline.Stage("stt")) Assert.That(Activity.Current, Is.SameAs(turn), "No span of the Timing package.");
            pipeline.Complete();
        }

        TraceContext.AssertCarries(StageEvent(sink, "stt"), turn.Context, "stt completion event");
        TraceContext.AssertCarries(Summary(sink), turn.Context, "summary event");
    }

    static async Task<(StageTimer, Activity)> BeginInAnotherFlow(PipelineTimer pipeline, string name)
    {
        await Task.Yield();
        var stage = pipeline.Stage(name);
        return (stage, Activity.Current!);
    }

    static Core.Logger Logger(CollectingSink sink) => new LoggerConfiguration()
        .MinimumLevel.Debug()
        .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(writeTo => writeTo.Sink(sink)))
        .CreateLogger();

    static LogEvent StageEvent(CollectingSink sink, string stage) =>
        Single(sink, e => e.MessageTemplate.Text.Contains(" stage ", StringComparison.Ordinal) && TraceContext.Property(e, "Stage") == stage);

    static LogEvent Summary(CollectingSink sink) => Single(sink, e => e.Properties.ContainsKey("Stages") && !e.Properties.ContainsKey("Stage"));

    static LogEvent Single(CollectingSink sink, Func<LogEvent, bool> match)
    {
        var found = sink.Events.Where(match).ToList();
        Assert.That(found, Has.Count.EqualTo(1));
        return found[0];
    }
}
