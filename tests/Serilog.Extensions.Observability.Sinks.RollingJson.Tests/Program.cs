using Serilog.Extensions.Observability.Sinks.RollingJson;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests;

/// <summary>
/// The entry point of this assembly when the crash test starts it as a child process
/// (<c>dotnet Serilog...Tests.dll crash-child &lt;path&gt;</c>); the test runner never calls it.
/// It logs in a loop, says "ready" once lines are on disk, and goes on until it is killed.
/// </summary>
static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 2 || args[0] != "crash-child")
        {
            Console.Error.WriteLine("usage: crash-child <path>");
            return 2;
        }
        var options = new RollingJsonOptions
        {
            RollingInterval = RollingJsonInterval.Infinite,
            FileSizeLimitBytes = 256 * 1024,
            RetainedFileCountLimit = null,
        };
        var sink = RollingJsonLoggerConfigurationExtensions.CreateSink(args[1], options);
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var payload = new string('x', 200);
        for (long i = 0; ; i++)
        {
            logger.Information("Crash child event {Seq} {Payload}", i, payload);
            if (i == 2_000)
            {
                sink.WaitUntilWritten(TimeSpan.FromSeconds(30));
                Console.Out.WriteLine("ready");
                Console.Out.Flush();
            }
        }
    }
}
