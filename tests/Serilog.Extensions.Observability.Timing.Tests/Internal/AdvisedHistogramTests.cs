using System.Diagnostics.Metrics;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

/// <summary>
/// The net8.0 build's way to advise bucket boundaries when the application loads a DiagnosticSource that can (as
/// OpenTelemetry makes it do). The tests run on .NET 10, whose DiagnosticSource can: what the net8.0 build meets
/// in such an application.
/// </summary>
public class AdvisedHistogramTests
{
    [Test]
    public void WhereTheLoadedDiagnosticSourceCanAdviseTheHistogramCarriesTheBucketBoundaries()
    {
        using var meter = new Meter("advised-" + Guid.NewGuid().ToString("n"));
        double[] boundaries = [0.005, 0.25, 60];

        var histogram = AdvisedHistogram.TryCreate(meter, "pipeline.stage.duration", "s", "Duration of one pipeline stage.", boundaries);
        boundaries[0] = 99;

        Assert.That(histogram, Is.Not.Null);
        Assert.That((histogram!.Name, histogram.Unit, histogram.Description, histogram.Meter),
            Is.EqualTo(("pipeline.stage.duration", (string?)"s", (string?)"Duration of one pipeline stage.", meter)));
        Assert.That(histogram.Advice?.HistogramBucketBoundaries, Is.EqualTo(new[] { 0.005, 0.25, 60 }));
    }

    [Test]
    public void ThePackagesHistogramsAdviseTheDocumentedBucketsWhateverTheBuild()
    {
        double[] documented = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];
        Assert.That(TimingDiagnostics.StageDuration.Advice?.HistogramBucketBoundaries, Is.EqualTo(documented));
        Assert.That(TimingDiagnostics.PipelineDuration.Advice?.HistogramBucketBoundaries, Is.EqualTo(documented));
    }
}
