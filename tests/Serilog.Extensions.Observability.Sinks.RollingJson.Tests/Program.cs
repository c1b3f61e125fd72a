using System.Globalization;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Sinks.RollingJson;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests;

/// <summary>
/// The entry point of this assembly when a test starts it as a child process; the test runner never calls it.
/// <c>crash-child &lt;path&gt;</c> logs in a loop, says "ready" once lines are on disk, and goes on until it is killed.
/// <c>culture-child &lt;folder&gt;</c> writes a few fixed events as CLEF and flat JSON under the culture and globalization
/// mode its environment gives it, prints the culture's name and exits.
/// </summary>
static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "culture-child") return CultureChild(args[1]);
        if (args.Length != 2 || args[0] != "crash-child")
        {
            Console.Error.WriteLine("usage: crash-child <path> | culture-child <folder>");
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

    static int CultureChild(string folder)
    {
        using (var logger = new LoggerConfiguration()
                   .WriteTo.RollingJson(Path.Combine(folder, "clef-.json"), rollOnUtc: true)
                   .WriteTo.RollingJson(Path.Combine(folder, "flat-.json"), new FlatJsonFormatter(), rollOnUtc: true)
                   .CreateLogger())
        {
            var template = new MessageTemplateParser().Parse(
                "Paid {Total:0.00} of {Limit:N2} on {Day:d}, due {Due:0}, in {Elapsed:0.0} ms ({Ratio:P1}) at {When}");
            logger.Write(new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.FromHours(3)), LogEventLevel.Warning, null, template,
            [
                new LogEventProperty("Total", new ScalarValue(-1234.5m)),
                new LogEventProperty("Limit", new ScalarValue(1234567.891)),
                new LogEventProperty("Day", new ScalarValue(new DateOnly(2026, 11, 22))),
                new LogEventProperty("Due", new ScalarValue(new DateTime(2026, 12, 1))),
                new LogEventProperty("Elapsed", new ScalarValue(12.25)),
                new LogEventProperty("Ratio", new ScalarValue(0.5f)),
                new LogEventProperty("When", new ScalarValue(new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.FromHours(-5)))),
                new LogEventProperty("Span", new ScalarValue(TimeSpan.FromMilliseconds(-1500.5))),
            ]));
        }
        Console.Out.WriteLine(CultureInfo.CurrentCulture.Name);
        return 0;
    }
}
