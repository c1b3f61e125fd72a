using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.PerformanceTests.Enrichers;

/// <summary>
/// A new correlation id, as a worker takes one per message (<c>CorrelationContext.Begin()</c> without an id) and
/// <c>UseCorrelation()</c> takes one for a request without an acceptable header or a W3C activity. The baseline is
/// <c>Guid.NewGuid().ToString("n")</c>, the same 32 lowercase hexadecimal characters, which on Linux reads the kernel's
/// random source with a system call for every id.
/// </summary>
[MemoryDiagnoser]
public class CorrelationIdBenchmarks
{
    [Benchmark(Baseline = true)]
    public string GuidNewGuid() => Guid.NewGuid().ToString("n");

    [Benchmark]
    public string NewId() => CorrelationContext.NewId();

    [Benchmark]
    public string BeginAndDispose()
    {
        using var scope = CorrelationContext.Begin();
        return CorrelationContext.CurrentId!;
    }
}
