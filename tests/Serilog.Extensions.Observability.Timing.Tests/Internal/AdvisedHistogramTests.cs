using System.Diagnostics;
using System.Diagnostics.Metrics;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

/// <summary>
/// The net8.0 build's way to advise bucket boundaries when the application loads a DiagnosticSource that can (as
/// OpenTelemetry makes it do). The System.Diagnostics.DiagnosticSource loaded decides, not the target framework: .NET 10's
/// can, as can version 10 on .NET 8 (-p:DiagnosticSource10=true, with OpenTelemetry); the net8.0 run is a .NET 8
/// application on its own DiagnosticSource 8, which has no advice, so the histograms are created without.
/// </summary>
[NonParallelizable] // SelfLog is process-wide
public class AdvisedHistogramTests
{
    static readonly int DiagnosticSourceMajor = typeof(Activity).Assembly.GetName().Version!.Major;

    static readonly double[] Documented = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

    /// <summary>
    /// The histogram's advised boundaries, read by reflection: the test assembly compiles against DiagnosticSource 8 in
    /// the net8.0 run, where <c>Instrument.Advice</c> does not exist.
    /// </summary>
    static object? AdvisedBoundaries(Instrument instrument)
    {
        var advice = instrument.GetType().GetProperty("Advice")!.GetValue(instrument);
        return advice?.GetType().GetProperty("HistogramBucketBoundaries")!.GetValue(advice);
    }

    [Test]
    public void WhereTheLoadedDiagnosticSourceCanAdviseTheHistogramCarriesTheBucketBoundariesElseNoneIsCreatedAndNothingReported()
    {
        using var meter = new Meter("advised-" + Guid.NewGuid().ToString("n"));
        double[] boundaries = [0.005, 0.25, 60];
        var selfLog = new List<string>();

        Histogram<double>? histogram;
        using (TemporarySelfLog.SaveTo(selfLog))
            histogram = AdvisedHistogram.TryCreate(meter, "pipeline.stage.duration", "s", "Duration of one pipeline stage.", boundaries);
        boundaries[0] = 99;

        Assert.That(selfLog, Is.Empty, "no advice to give is not a fault");
        if (DiagnosticSourceMajor >= 9)
        {
            Assert.That(histogram, Is.Not.Null);
            Assert.That((histogram!.Name, histogram.Unit, histogram.Description, histogram.Meter),
                Is.EqualTo(("pipeline.stage.duration", (string?)"s", (string?)"Duration of one pipeline stage.", meter)));
            Assert.That(AdvisedBoundaries(histogram), Is.EqualTo(new[] { 0.005, 0.25, 60 }));
        }
        else
        {
            Assert.That(DiagnosticSourceMajor, Is.EqualTo(8), ".NET 8's own");
            Assert.That(histogram, Is.Null, "the caller creates it without advice");
        }
    }

    [Test]
    public void ThePackagesHistogramsAdviseTheDocumentedBucketsWhereTheLoadedDiagnosticSourceCanElseExistWithoutAdvice()
    {
        Histogram<double>[] histograms = [TimingDiagnostics.StageDuration!, TimingDiagnostics.PipelineDuration!];

        Assert.That(histograms.Select(h => (h.Meter.Name, h.Name, h.Unit, h.Description)), Is.EqualTo(new[]
        {
            (TimingDiagnostics.Name, "pipeline.stage.duration", (string?)"s", (string?)"Duration of one pipeline stage."),
            (TimingDiagnostics.Name, "pipeline.duration", "s", "Duration of one pipeline run."),
        }));
        if (DiagnosticSourceMajor >= 9)
        {
            Assert.That(histograms.Select(AdvisedBoundaries), Is.All.EqualTo(Documented));
        }
        else
        {
            // DiagnosticSource 8 has no advice: an SDK takes the README's view for the buckets.
            Assert.That(DiagnosticSourceMajor, Is.EqualTo(8), ".NET 8's own");
            Assert.That(typeof(Instrument<double>).GetProperty("Advice"), Is.Null);
            Assert.That(Type.GetType("System.Diagnostics.Metrics.InstrumentAdvice`1, System.Diagnostics.DiagnosticSource"), Is.Null);
        }
    }
}
