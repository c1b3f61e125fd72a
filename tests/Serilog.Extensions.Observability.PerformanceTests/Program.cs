using BenchmarkDotNet.Running;

namespace Serilog.Extensions.Observability.PerformanceTests;

static class Program
{
    // build/bench.sh passes its arguments through: --filter '*Formatter*' --job short
    // build/bench.sh sink-diagnostics [mode] [rounds]: see RollingJson/SinkDiagnostics.cs
    static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "sink-diagnostics")
            RollingJson.SinkDiagnostics.Run(args[1..]);
        else
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
