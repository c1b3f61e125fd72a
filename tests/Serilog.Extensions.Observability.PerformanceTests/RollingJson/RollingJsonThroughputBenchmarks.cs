using BenchmarkDotNet.Attributes;
using Serilog.Core;

namespace Serilog.Extensions.Observability.PerformanceTests.RollingJson;

/// <summary>
/// Issue 6, speed: one producer logs 1,000,000 events and the operation ends when disposal returns with all of them
/// in the file. One operation = one event (OperationsPerInvoke), so Mean is the cost per event end to end and
/// Allocated is per event on all threads (the caller's Serilog pipeline plus the sink's writer): our sink allocating
/// the same as the null-sink pipeline means its writer allocates nothing per event.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class RollingJsonThroughputBenchmarks
{
    const int Events = 1_000_000;

    string _folder = "";
    Logger? _serilog;
    NLog.LogFactory? _nlogFactory;
    NLog.Logger? _nlog;
    FileSinkPeers.SinkCounters? _counters;

    [GlobalSetup]
    public void GlobalSetup() => _counters = new FileSinkPeers.SinkCounters();

    [GlobalCleanup]
    public void GlobalCleanup() => _counters?.Dispose();

    [IterationSetup(Target = nameof(SerilogFile))]
    public void SetupSerilogFile() => _serilog = FileSinkPeers.SerilogFile(_folder = FileSinkPeers.FreshFolder("serilog-file"));

    [IterationSetup(Target = nameof(RollingJson))]
    public void SetupRollingJson()
    {
        _serilog = FileSinkPeers.RollingJson(_folder = FileSinkPeers.FreshFolder("rolling-json"));
        _counters!.TakeAndReset();
    }

    [IterationSetup(Target = nameof(NLogFileTarget))]
    public void SetupNLog() => _nlogFactory = FileSinkPeers.NLogFile(_folder = FileSinkPeers.FreshFolder("nlog"), out _nlog);

    [IterationSetup(Target = nameof(NullSink))]
    public void SetupNullSink() => _serilog = FileSinkPeers.NullSink();

    [IterationCleanup(Target = nameof(RollingJson))]
    public void CheckRollingJson()
    {
        var (written, dropped) = _counters!.TakeAndReset();
        Console.WriteLine($"// RollingJson iteration: written {written:N0}, dropped {dropped:N0}");
        if (written + dropped != Events) Console.WriteLine("// RollingJson iteration: COUNT MISMATCH");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public void SerilogFile()
    {
        var logger = _serilog!;
        for (var i = 0; i < Events; i++)
            logger.Information(FileSinkPeers.Template, i, FileSinkPeers.Customer(i), FileSinkPeers.Total(i), FileSinkPeers.At, FileSinkPeers.Region(i));
        logger.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public void RollingJson()
    {
        var logger = _serilog!;
        for (var i = 0; i < Events; i++)
            logger.Information(FileSinkPeers.Template, i, FileSinkPeers.Customer(i), FileSinkPeers.Total(i), FileSinkPeers.At, FileSinkPeers.Region(i));
        logger.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public void NLogFileTarget()
    {
        var logger = _nlog!;
        for (var i = 0; i < Events; i++)
            logger.Info(FileSinkPeers.Template, i, FileSinkPeers.Customer(i), FileSinkPeers.Total(i), FileSinkPeers.At, FileSinkPeers.Region(i));
        _nlogFactory!.Shutdown();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public void NullSink()
    {
        var logger = _serilog!;
        for (var i = 0; i < Events; i++)
            logger.Information(FileSinkPeers.Template, i, FileSinkPeers.Customer(i), FileSinkPeers.Total(i), FileSinkPeers.At, FileSinkPeers.Region(i));
        logger.Dispose();
    }
}
