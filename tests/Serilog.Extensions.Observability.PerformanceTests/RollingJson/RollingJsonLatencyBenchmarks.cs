using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Serilog.Core;
using Serilog.Extensions.Observability.Sinks.RollingJson;

namespace Serilog.Extensions.Observability.PerformanceTests.RollingJson;

/// <summary>
/// Issue 6, caller latency: the time one Log call takes on the calling thread, per call (Stopwatch.GetTimestamp
/// around each call, the same overhead for every peer). BenchmarkDotNet reports means; the percentiles are printed
/// after each iteration as "// LATENCY ..." lines. "RollingJsonRollingAndCompressing" rolls every 8 MB and gzips
/// each rolled file in the background while the caller logs.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class RollingJsonLatencyBenchmarks
{
    const int Events = 1_000_000;

    readonly long[] _latencies = new long[Events];
    Logger? _logger;
    string _peer = "";

    [IterationSetup(Target = nameof(NullSink))]
    public void SetupNullSink()
    {
        _peer = nameof(NullSink);
        _logger = FileSinkPeers.NullSink();
    }

    [IterationSetup(Target = nameof(RollingJson))]
    public void SetupRollingJson()
    {
        _peer = nameof(RollingJson);
        _logger = FileSinkPeers.RollingJson(FileSinkPeers.FreshFolder("latency-rolling-json"));
    }

    [IterationSetup(Target = nameof(RollingJsonRollingAndCompressing))]
    public void SetupRollingAndCompressing()
    {
        _peer = nameof(RollingJsonRollingAndCompressing);
        _logger = FileSinkPeers.RollingJson(FileSinkPeers.FreshFolder("latency-rolling-compress"), new RollingJsonOptions
        {
            FileSizeLimitBytes = 8 * 1024 * 1024,
            CompressRolledFiles = true,
            RetainedFileCountLimit = 100,
        });
    }

    [IterationCleanup]
    public void Report()
    {
        // Sorted in place: the next iteration writes every element again. A copy would put 8 MB on the large object
        // heap each iteration, and the full collections it brings would land in the next iteration's calls.
        var sorted = _latencies;
        Array.Sort(sorted);
        double Ns(long ticks) => ticks * 1_000_000_000.0 / Stopwatch.Frequency;
        double At(double q) => Ns(sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(q * sorted.Length) - 1)]);
        Console.WriteLine($"// LATENCY {_peer}: p50 {At(0.50):F0} ns, p99 {At(0.99):F0} ns, p99.9 {At(0.999):F0} ns, p99.99 {At(0.9999):F0} ns, max {Ns(sorted[^1]) / 1000:F0} us");
    }

    void Run()
    {
        var logger = _logger!;
        var latencies = _latencies;
        for (var i = 0; i < Events; i++)
        {
            var start = Stopwatch.GetTimestamp();
            logger.Information(FileSinkPeers.Template, i, FileSinkPeers.Customer(i), FileSinkPeers.Total(i), FileSinkPeers.At, FileSinkPeers.Region(i));
            latencies[i] = Stopwatch.GetTimestamp() - start;
        }
        logger.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public void NullSink() => Run();

    [Benchmark(OperationsPerInvoke = Events)]
    public void RollingJson() => Run();

    [Benchmark(OperationsPerInvoke = Events)]
    public void RollingJsonRollingAndCompressing() => Run();
}
