using BenchmarkDotNet.Running;

namespace Serilog.Extensions.Observability.PerformanceTests;

static class Program
{
    // build/bench.sh passes its arguments through: --filter '*Formatter*' --job short
    static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
