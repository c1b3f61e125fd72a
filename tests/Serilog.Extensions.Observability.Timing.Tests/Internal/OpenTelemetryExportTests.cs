using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

/// <summary>The OpenTelemetry SDK, with exporters written here, receives the spans and histograms unchanged.</summary>
[NonParallelizable]
public class OpenTelemetryExportTests
{
    const string SourceName = "Serilog.Extensions.Observability.Timing";

    static TracerProvider CollectSpans(List<Activity> spans) => Sdk.CreateTracerProviderBuilder()
        .AddSource(SourceName)
        .AddProcessor(new SimpleActivityExportProcessor(new CollectingSpanExporter(spans)))
        .Build();

    static MeterProvider CollectMetrics(List<HistogramPoint> points) => Sdk.CreateMeterProviderBuilder()
        .AddMeter(SourceName)
        .AddReader(new BaseExportingMetricReader(new CollectingMetricExporter(points)))
        .Build();

    sealed class CollectingSpanExporter(List<Activity> spans) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            lock (spans)
                foreach (var activity in batch) spans.Add(activity);
            return ExportResult.Success;
        }
    }

    sealed record HistogramPoint(string Metric, string Unit, IReadOnlyDictionary<string, object?> Tags, long Count, double Sum,
        IReadOnlyList<(double Bound, long Count)> Buckets);

    sealed class CollectingMetricExporter(List<HistogramPoint> points) : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch)
        {
            lock (points)
            {
                foreach (var metric in batch)
                {
                    foreach (ref readonly var point in metric.GetMetricPoints())
                    {
                        var tags = new Dictionary<string, object?>();
                        foreach (var tag in point.Tags) tags[tag.Key] = tag.Value;
                        var buckets = new List<(double, long)>();
                        foreach (var bucket in point.GetHistogramBuckets()) buckets.Add((bucket.ExplicitBound, bucket.BucketCount));
                        points.Add(new HistogramPoint(metric.Name, metric.Unit, tags, point.GetHistogramCount(), point.GetHistogramSum(), buckets));
                    }
                }
            }
            return ExportResult.Success;
        }
    }

    [Test]
    public void ATracerProviderAndAMeterProviderReceiveTheStageSpansAndDurations()
    {
        var spans = new List<Activity>();
        var points = new List<HistogramPoint>();
        HistogramPoint[] flushed;
        var name = "otel-" + Guid.NewGuid().ToString("n");
        using var log = new TimedLog();

        using (var tracing = CollectSpans(spans))
        using (var metrics = CollectMetrics(points))
        {
            using (var pipeline = log.Begin(name))
            {
                using (pipeline.Stage("stt")) log.Advance(150);
                using (pipeline.Stage("stt")) log.Advance(50);
                using (pipeline.Stage("llm")) log.Advance(700);
            }
            Assert.That(metrics!.ForceFlush(10_000), Is.True);
            // Shutdown exports the cumulative points once more: keep what the flush delivered.
            lock (points) flushed = points.ToArray();
        }

        var root = spans.Single(s => s.OperationName == name);
        Assert.That(spans.Where(s => s.ParentSpanId == root.SpanId).Select(s => s.OperationName), Is.EqualTo(new[] { "stt", "stt", "llm" }));

        var mine = flushed.Where(p => Equals(p.Tags["pipeline"], name)).ToArray();
        var stt = mine.Single(p => p.Metric == "pipeline.stage.duration" && Equals(p.Tags["stage"], "stt"));
        Assert.That((stt.Count, stt.Sum, stt.Unit, stt.Tags["outcome"]), Is.EqualTo((2L, 0.2, "s", (object?)"completed")));
        var llm = mine.Single(p => p.Metric == "pipeline.stage.duration" && Equals(p.Tags["stage"], "llm"));
        Assert.That((llm.Count, llm.Sum), Is.EqualTo((1L, 0.7)));
        var total = mine.Single(p => p.Metric == "pipeline.duration");
        Assert.That((total.Count, total.Sum, total.Tags["outcome"]), Is.EqualTo((1L, 0.9, (object?)"completed")));
    }

    [Test]
    public void WithTheSdksDefaultAggregationStageDurationsInSecondsFallIntoDistinctBuckets()
    {
        // The SDK's own default buckets (0, 5, 10, 25, ... 10000) are meant for milliseconds: without advice from the
        // instrument, every stage under five seconds would land in the one bucket (0, 5].
        var points = new List<HistogramPoint>();
        HistogramPoint[] flushed;
        var name = "buckets-" + Guid.NewGuid().ToString("n");
        using var log = new TimedLog();

        using (var metrics = CollectMetrics(points))
        {
            using (var pipeline = log.Begin(name))
            {
                using (pipeline.Stage("chunk")) log.Advance(8);
                using (pipeline.Stage("embed")) log.Advance(150);
                using (pipeline.Stage("llm")) log.Advance(1_800);
            }
            Assert.That(metrics!.ForceFlush(10_000), Is.True);
            lock (points) flushed = points.ToArray();
        }

        static double UpperBoundOf(HistogramPoint point) => point.Buckets.Single(b => b.Count > 0).Bound;
        var stages = flushed.Where(p => p.Metric == "pipeline.stage.duration" && Equals(p.Tags["pipeline"], name))
            .ToDictionary(p => (string)p.Tags["stage"]!, UpperBoundOf);
        Assert.That(stages.Keys, Is.EquivalentTo(new[] { "chunk", "embed", "llm" }));
        Assert.That(stages["chunk"], Is.LessThan(stages["embed"]), "an 8 ms and a 150 ms stage share a bucket");
        Assert.That(stages["embed"], Is.LessThan(stages["llm"]), "a 150 ms and a 1.8 s stage share a bucket");
        Assert.That(stages["embed"], Is.LessThanOrEqualTo(0.25), "the bucket of a 150 ms stage is wider than a quarter second");
        var total = flushed.Single(p => p.Metric == "pipeline.duration" && Equals(p.Tags["pipeline"], name));
        Assert.That(UpperBoundOf(total), Is.LessThanOrEqualTo(2.5), "the bucket of a 2 s pipeline");
    }

    /// <summary>Records the span each event is enriched under, as <c>Enrich.WithSpan()</c> reads it.</summary>
    sealed class CurrentSpanEnricher : ILogEventEnricher
    {
        public readonly List<(LogEvent Event, Activity? Current)> Seen = new();

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            lock (Seen) Seen.Add((logEvent, Activity.Current));
        }
    }

    [Test]
    public async Task StageAndSummaryEventsAreWrittenWhileTheirSpanIsCurrentSoEnrichersSeeItsParentAndName()
    {
        // Enrich.WithSpan() takes ParentSpanId, OperationName, tags and baggage from Activity.Current: written after
        // the span had stopped, a completion event had its span's ids but its enrichers saw the parent's span.
        var spans = new List<Activity>();
        var enricher = new CurrentSpanEnricher();
        var options = new PipelineTimingOptions { TimeProvider = new FakeTimeProvider() };
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().Enrich.With(enricher).CreateLogger();
        using var app = new ActivitySource("otel-tests-app");

        using (Sdk.CreateTracerProviderBuilder()
                   .AddSource(SourceName, app.Name)
                   .AddProcessor(new SimpleActivityExportProcessor(new CollectingSpanExporter(spans)))
                   .Build())
        using (var request = app.StartActivity("request"))
        {
            var pipeline = PipelineTimer.Begin("voice-turn", logger, options);
            using (pipeline.Stage("stt")) { }
            var llm = pipeline.Stage("llm");
            llm.Fail(new InvalidOperationException("model unavailable"));
            // Begun in another flow and abandoned by the pipeline's end in this one, where another span is current.
            await Task.Run(() => pipeline.Stage("tts"));
            pipeline.Complete();
            Assert.That(Activity.Current, Is.SameAs(request), "the application's span is current again");
        }

        Activity Exported(string name) => spans.Single(s => s.OperationName == name);
        var names = new[] { "stt", "llm", "tts", "voice-turn" };
        Assert.That(enricher.Seen.Select(s => s.Current?.OperationName), Is.EqualTo(names), "the span current while each event was enriched");
        Assert.That(enricher.Seen.Select(s => s.Current), Is.EqualTo(names.Select(Exported)), "the exported spans");
        Assert.That(enricher.Seen.Select(s => s.Event.SpanId), Is.EqualTo(names.Select(n => (ActivitySpanId?)Exported(n).SpanId)));
        Assert.That(enricher.Seen.Select(s => s.Current?.GetTagItem("outcome")), Is.EqualTo(new[] { "completed", "failed", "abandoned", "completed" }));
        Assert.That(Exported("stt").ParentSpanId, Is.EqualTo(Exported("voice-turn").SpanId));
        Assert.That(Exported("voice-turn").ParentSpanId, Is.EqualTo(Exported("request").SpanId));
    }

    [Test]
    public void WithAlwaysOffTheSdkCreatesOnlyAnUnrecordedPipelineSpanAndAStagesEventsCarryIt()
    {
        // The SDK keeps a root it drops as propagation only, so the trace id goes on, but creates nothing under it.
        var spans = new List<Activity>();
        using var log = new TimedLog();
        string id;
        using (Sdk.CreateTracerProviderBuilder()
                   .AddSource(SourceName)
                   .SetSampler(new AlwaysOffSampler())
                   .AddProcessor(new SimpleActivityExportProcessor(new CollectingSpanExporter(spans)))
                   .Build())
        using (var pipeline = log.Begin("always-off"))
        {
            id = pipeline.Id;
            using (pipeline.Stage("stt")) log.Logger.Information("Inside stt");
        }

        Assert.That(spans, Is.Empty);
        var inside = log.Single("Inside stt");
        Assert.That(inside.SpanId?.ToHexString(), Is.EqualTo(id), "the pipeline's unrecorded span");
        Assert.That(log.StageEvent("stt").SpanId, Is.EqualTo(inside.SpanId));
        Assert.That(log.Summary.TraceId, Is.EqualTo(inside.TraceId).And.Not.EqualTo(default(ActivityTraceId)));
    }

    [Test]
    public void UnderAnUnsampledLocalParentTheSdkCreatesNoSpanAndTheEventsCarryTheParents()
    {
        var spans = new List<Activity>();
        using var log = new TimedLog();
        using var incoming = new Activity("incoming")
            .SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None)
            .Start();
        string id;
        using (Sdk.CreateTracerProviderBuilder()
                   .AddSource(SourceName)
                   .SetSampler(new ParentBasedSampler(new AlwaysOnSampler()))
                   .AddProcessor(new SimpleActivityExportProcessor(new CollectingSpanExporter(spans)))
                   .Build())
        using (var pipeline = log.Begin("unsampled"))
        {
            id = pipeline.Id;
            using (pipeline.Stage("stt")) log.Logger.Information("Inside stt");
        }

        Assert.That(spans, Is.Empty);
        Assert.That(log.Events.Select(e => (e.TraceId, e.SpanId)), Is.All.EqualTo(((ActivityTraceId?)incoming.TraceId, (ActivitySpanId?)incoming.SpanId)));
        Assert.That(id, Has.Length.EqualTo(16).And.Not.EqualTo(incoming.SpanId.ToHexString()), "a random id of a span's shape");
    }

    static string ReadmeSection(string heading)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "src", SourceName, "README.md"));
        var start = readme.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"The README has no '{heading}'.");
        var end = readme.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? readme[start..] : readme[start..end];
    }

    [Test]
    public void TheReadmesOpenTelemetrySetupNamesTheSourceAndMeterAndItsNet8ViewHasTheAdvisedBuckets()
    {
        // On .NET 8 the view is all that keeps durations out of the SDK's millisecond-sized buckets: its boundaries must be
        // the ones the instruments advise from .NET 9, and its names the package's.
        var section = ReadmeSection("## OpenTelemetry");
        Assert.That(section, Does.Contain($"AddSource(\"{SourceName}\")").And.Contain($"AddMeter(\"{SourceName}\")")
            .And.Contain($"instrument.Meter.Name == \"{SourceName}\""));
        var list = System.Text.RegularExpressions.Regex.Match(section, @"Boundaries = \[([^\]]*)\]");
        Assert.That(list.Success, Is.True, "The README's view lists no Boundaries.");
        var documented = list.Groups[1].Value.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var points = new List<HistogramPoint>();
        var name = "readme-" + Guid.NewGuid().ToString("n");
        using var log = new TimedLog();
        // No view: on .NET 10 the instruments' advice gives the buckets the README's .NET 8 view must repeat.
        using (var metrics = CollectMetrics(points))
        {
            using (var pipeline = log.Begin(name))
            using (pipeline.Stage("stt")) log.Advance(150);
            Assert.That(metrics!.ForceFlush(10_000), Is.True);
        }

        HistogramPoint[] mine;
        lock (points) mine = points.Where(p => p.Tags.Values.Contains(name)).ToArray();
        Assert.That(mine.Select(p => p.Metric).Distinct(), Is.EquivalentTo(new[] { "pipeline.stage.duration", "pipeline.duration" }));
        foreach (var point in mine)
            Assert.That(point.Buckets.Select(b => b.Bound).Where(double.IsFinite), Is.EqualTo(documented), point.Metric);
    }

    sealed class ExemplarExporter(Dictionary<string, List<ActivitySpanId>> exemplars, string pipeline) : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch)
        {
            lock (exemplars)
            {
                foreach (var metric in batch)
                {
                    foreach (ref readonly var point in metric.GetMetricPoints())
                    {
                        string? pipelineName = null, stage = null;
                        foreach (var tag in point.Tags)
                        {
                            if (tag.Key == "pipeline") pipelineName = tag.Value as string;
                            if (tag.Key == "stage") stage = tag.Value as string;
                        }
                        if (pipelineName != pipeline || !point.TryGetExemplars(out var collected)) continue;
                        var key = metric.Name + ":" + (stage ?? "-");
                        if (!exemplars.TryGetValue(key, out var spanIds)) exemplars[key] = spanIds = new List<ActivitySpanId>();
                        foreach (ref readonly var exemplar in collected) spanIds.Add(exemplar.SpanId);
                    }
                }
            }
            return ExportResult.Success;
        }
    }

    [Test]
    public async Task AStageEndedInAnotherFlowRecordsItsDurationWithAnExemplarOfItsOwnSpan()
    {
        // An exemplar joins a histogram bucket to the span that was current when the value was recorded: a stage ended in
        // another flow than it began (where its pipeline's span, or another one, is current) must still point at its own.
        var spans = new List<Activity>();
        var exemplars = new Dictionary<string, List<ActivitySpanId>>();
        var name = "exemplars-" + Guid.NewGuid().ToString("n");
        using var log = new TimedLog();
        using (CollectSpans(spans))
        using (var metrics = Sdk.CreateMeterProviderBuilder()
                   .AddMeter(SourceName)
                   .SetExemplarFilter(ExemplarFilterType.TraceBased)
                   .AddReader(new BaseExportingMetricReader(new ExemplarExporter(exemplars, name)))
                   .Build())
        {
            using (var pipeline = log.Begin(name))
            {
                using (pipeline.Stage("stt")) log.Advance(10);
                var embed = await Task.Run(() => pipeline.Stage("embed"));
                log.Advance(20);
                embed.Complete(); // here the pipeline's span is current, not the stage's
                await Task.Run(() => pipeline.Stage("store")); // abandoned by the pipeline's end, in this flow
            }
            Assert.That(metrics!.ForceFlush(10_000), Is.True);
        }

        ActivitySpanId SpanOf(string operation) => spans.Single(s => s.OperationName == operation).SpanId;
        lock (exemplars)
        {
            Assert.That(exemplars.GetValueOrDefault("pipeline.stage.duration:stt")?.Distinct(), Is.EqualTo(new[] { SpanOf("stt") }));
            Assert.That(exemplars.GetValueOrDefault("pipeline.stage.duration:embed")?.Distinct(), Is.EqualTo(new[] { SpanOf("embed") }));
            Assert.That(exemplars.GetValueOrDefault("pipeline.stage.duration:store")?.Distinct(), Is.EqualTo(new[] { SpanOf("store") }));
            Assert.That(exemplars.GetValueOrDefault("pipeline.duration:-")?.Distinct(), Is.EqualTo(new[] { SpanOf(name) }));
        }
    }

    [Test]
    public async Task AUsingBlockWhoseStageOrPipelineEndedInAnotherFlowPutsTheEnclosingSpanBackForLaterEvents()
    {
        // The other flow stopped the span, which hands the current span back there only: in the flow that began it, the
        // stopped span stayed current, and later events named it as their span although they were written outside it.
        var spans = new List<Activity>();
        using var log = new TimedLog();
        using var app = new ActivitySource("otel-tests-app");
        using (Sdk.CreateTracerProviderBuilder()
                   .AddSource(SourceName, app.Name)
                   .AddProcessor(new SimpleActivityExportProcessor(new CollectingSpanExporter(spans)))
                   .Build())
        using (var request = app.StartActivity("request"))
        {
            using (var pipeline = log.Begin("outer"))
            {
                using (var stage = pipeline.Stage("stt")) await Task.Run(() => stage.Complete());
                log.Logger.Information("Between stages");
                using (var inner = log.Begin("inner")) await Task.Run(() => inner.Complete());
                log.Logger.Information("After the inner pipeline");
            }
            log.Logger.Information("After the pipeline");
            Assert.That(Activity.Current, Is.SameAs(request));
        }

        ActivitySpanId SpanOf(string operation) => spans.Single(s => s.OperationName == operation).SpanId;
        Assert.That(log.Single("Between stages").SpanId, Is.EqualTo(SpanOf("outer")), "not the ended stage's span");
        Assert.That(log.Single("After the inner pipeline").SpanId, Is.EqualTo(SpanOf("outer")), "not the ended inner pipeline's span");
        Assert.That(log.Single("After the pipeline").SpanId, Is.EqualTo(SpanOf("request")));
    }
}
