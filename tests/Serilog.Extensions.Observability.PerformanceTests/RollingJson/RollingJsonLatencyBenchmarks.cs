using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Serilog.Core;
using Serilog.Extensions.Observability.Sinks.RollingJson;

namespace Serilog.Extensions.Observability.PerformanceTests.RollingJson;

/// <summary>
/// Issue 6, caller latency: the time one Log call takes on the calling thread, per call (Stopwatch.GetTimestamp
/// around each call, the same overhead for every peer). BenchmarkDotNet reports means; the percentiles are printed
/// after each iteration as "// LATENCY ..." lines. "RollingJsonRollingAndCompressing" rolls every 8 MB and gzips
/// each rolled file in the background while the caller logs. The others build a new sink in an emptied folder for each
/// iteration; "RollingJsonKeptAcrossIterations" keeps one sink for all of them, as a service keeps one, and waits for its
/// writer after each iteration's calls (its files, and the page cache they fill, stay from iteration to iteration).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class RollingJsonLatencyBenchmarks
{
    const int Events = 1_000_000;

    readonly long[] _latencies = new long[Events];
    Logger? _logger;
    string _peer = "";
    Logger? _kept;
    FileSinkPeers.SinkCounters? _keptCounters;
    long _keptLogged;

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

    [GlobalSetup(Target = nameof(RollingJsonKeptAcrossIterations))]
    public void SetupKept()
    {
        _keptCounters = new FileSinkPeers.SinkCounters();
        _kept = FileSinkPeers.RollingJson(FileSinkPeers.FreshFolder("latency-kept"));
    }

    [IterationSetup(Target = nameof(RollingJsonKeptAcrossIterations))]
    public void SetupKeptIteration()
    {
        _peer = nameof(RollingJsonKeptAcrossIterations);
        _logger = _kept;
    }

    [GlobalCleanup(Target = nameof(RollingJsonKeptAcrossIterations))]
    public void CleanupKept()
    {
        _kept?.Dispose();
        _keptCounters?.Dispose();
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
        LogAndTime(logger);
        logger.Dispose();
    }

    void LogAndTime(Logger logger)
    {
        var latencies = _latencies;
        for (var i = 0; i < Events; i++)
        {
            var start = Stopwatch.GetTimestamp();
            logger.Information(FileSinkPeers.Template, i, FileSinkPeers.Customer(i), FileSinkPeers.Total(i), FileSinkPeers.At, FileSinkPeers.Region(i));
            latencies[i] = Stopwatch.GetTimestamp() - start;
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public void NullSink() => Run();

    [Benchmark(OperationsPerInvoke = Events)]
    public void RollingJson() => Run();

    [Benchmark(OperationsPerInvoke = Events)]
    public void RollingJsonRollingAndCompressing() => Run();

    [Benchmark(OperationsPerInvoke = Events)]
    public void RollingJsonKeptAcrossIterations()
    {
        LogAndTime(_logger!);
        _keptLogged += Events;
        // Every event of this iteration written (or dropped) before the next begins, as disposal makes sure for the others.
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (_keptCounters!.Settled < _keptLogged)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new InvalidOperationException($"The sink settled {_keptCounters.Settled:N0} of {_keptLogged:N0} events within 60 s.");
            Thread.Sleep(1);
        }
    }
}
