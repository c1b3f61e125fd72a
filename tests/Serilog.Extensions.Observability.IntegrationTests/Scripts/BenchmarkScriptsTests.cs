using Serilog.Extensions.Observability.IntegrationTests.Support;

namespace Serilog.Extensions.Observability.IntegrationTests.Scripts;

/// <summary>
/// The benchmark scripts the README names still run. Smoke runs only: one-second loads on loopback, no timing asserted.
/// </summary>
[NonParallelizable]
public class BenchmarkScriptsTests
{
    [Test]
    public async Task BenchShListsTheBenchmarksOfEveryPackage()
    {
        var result = await ChildProcess.RunAsync("bash", "build/bench.sh --list flat", Repository.Root, TimeSpan.FromMinutes(5));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        foreach (var benchmark in new[]
                 {
                     "Formatting.JsonFormatterBenchmarks", "Enrichers.EnrichersBenchmarks", "Redaction.RedactionEventPassBenchmarks",
                     "Redaction.RedactionDestructuringBenchmarks", "Timing.StageEnrichmentBenchmarks", "RollingJson.RollingJsonThroughputBenchmarks",
                 })
            Assert.That(result.Output, Does.Contain(benchmark));
    }

    [Test]
    public async Task BenchAspNetCoreShMeasuresBothModesAndLogsEveryRequest()
    {
        var result = await ChildProcess.RunAsync("bash", "build/bench-aspnetcore.sh --runs 1 --duration 1 --warmup 1 --loader dotnet",
            Repository.Root, TimeSpan.FromMinutes(5));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("| bare |").And.Contain("| observed |"));
        Assert.That(result.Output, Does.Contain("dropped=0"));
    }
}
