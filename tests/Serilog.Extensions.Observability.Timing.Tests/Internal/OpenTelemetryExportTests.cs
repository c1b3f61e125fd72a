using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

/// <summary>The OpenTelemetry SDK, with exporters written here, receives the spans and histograms unchanged.</summary>
[NonParallelizable]
public class OpenTelemetryExportTests
{
    const string SourceName = "Serilog.Extensions.Observability.Timing";

    sealed class CollectingSpanExporter(List<Activity> spans) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            lock (spans)
                foreach (var activity in batch) spans.Add(activity);
            return ExportResult.Success;
        }
    }

    sealed record HistogramPoint(string Metric, string Unit, IReadOnlyDictionary<string, object?> Tags, long Count, double Sum);

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
                        points.Add(new HistogramPoint(metric.Name, metric.Unit, tags, point.GetHistogramCount(), point.GetHistogramSum()));
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

        using (var tracing = Sdk.CreateTracerProviderBuilder()
                   .AddSource(SourceName)
                   .AddProcessor(new SimpleActivityExportProcessor(new CollectingSpanExporter(spans)))
                   .Build())
        using (var metrics = Sdk.CreateMeterProviderBuilder()
                   .AddMeter(SourceName)
                   .AddReader(new BaseExportingMetricReader(new CollectingMetricExporter(points)))
                   .Build())
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
}
