using System.Diagnostics.Metrics;
using NLog.Layouts;
using NLog.Targets;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Sinks.RollingJson;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.PerformanceTests.RollingJson;

/// <summary>
/// The peers of the file sink benchmarks, each built fresh in a clean folder: our sink, Serilog.Sinks.File 5.0
/// (buffered, Serilog's JsonFormatter), NLog 6.2's FileTarget with a JsonLayout, and a Serilog logger with a null sink.
/// Every peer logs the formatter benchmark's 5-property template (one format specifier).
/// </summary>
static class FileSinkPeers
{
    public const string Template = "Order {OrderId} for {Customer} totalling {Total:0.00} at {When} from {Region}";
    public const long FileSizeLimit = 100L * 1024 * 1024;

    static readonly string[] Regions = { "eu-west", "us-east", "ap-south \"2\"", "eu-central" };
    static readonly string[] Customers = { "Zoë Ångström", "customer-1", "customer-2" };
    static readonly DateTimeOffset When = new(2026, 11, 22, 10, 30, 15, TimeSpan.Zero);

    public static string Region(int i) => Regions[i & 3];
    public static string Customer(int i) => Customers[i % 3];
    public static decimal Total(int i) => 12.5m * (i & 15) + 0.99m;
    public static DateTimeOffset At => When;

    public static string FreshFolder(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "seo-bench", name);
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        Directory.CreateDirectory(path);
        return path;
    }

    public static Logger NullSink() =>
        new LoggerConfiguration().MinimumLevel.Information().WriteTo.Sink(new NullSinkImpl()).CreateLogger();

    public static Logger RollingJson(string folder, RollingJsonOptions? options = null) =>
        new LoggerConfiguration().MinimumLevel.Information()
            .WriteTo.RollingJson(Path.Combine(folder, "ours-.json"), options ?? new RollingJsonOptions())
            .CreateLogger();

    public static Logger SerilogFile(string folder) =>
        new LoggerConfiguration().MinimumLevel.Information()
            .WriteTo.File(new JsonFormatter(), Path.Combine(folder, "serilog-.json"),
                buffered: true, rollingInterval: RollingInterval.Day, fileSizeLimitBytes: FileSizeLimit, rollOnFileSizeLimit: true)
            .CreateLogger();

    public static NLog.LogFactory NLogFile(string folder, out NLog.Logger logger)
    {
        var factory = new NLog.LogFactory();
        var layout = new JsonLayout { IncludeEventProperties = true };
        layout.Attributes.Add(new JsonAttribute("time", "${date:format=o}"));
        layout.Attributes.Add(new JsonAttribute("level", "${level}"));
        layout.Attributes.Add(new JsonAttribute("message", "${message}"));
        var target = new FileTarget("file")
        {
            FileName = Path.Combine(folder, "nlog.json"),
            Layout = layout,
            KeepFileOpen = true,
            AutoFlush = false, // buffered, like the Serilog peer
            ArchiveAboveSize = FileSizeLimit,
        };
        var configuration = new NLog.Config.LoggingConfiguration(factory);
        configuration.AddRuleForAllLevels(target);
        factory.Configuration = configuration;
        logger = factory.GetLogger("bench");
        return factory;
    }

    sealed class NullSinkImpl : ILogEventSink
    {
        public void Emit(LogEvent logEvent) { }
    }

    /// <summary>Counts what our sink wrote and dropped, through its public Meter.</summary>
    public sealed class SinkCounters : IDisposable
    {
        readonly MeterListener _listener = new();
        long _written, _dropped;

        public SinkCounters()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Serilog.Extensions.Observability.Sinks.RollingJson") l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == "serilog.rolling_json.events.written") Interlocked.Add(ref _written, value);
                else if (instrument.Name == "serilog.rolling_json.events.dropped") Interlocked.Add(ref _dropped, value);
            });
            _listener.Start();
        }

        public (long Written, long Dropped) TakeAndReset() => (Interlocked.Exchange(ref _written, 0), Interlocked.Exchange(ref _dropped, 0));

        /// <summary>Events written or dropped so far: every event the sink has finished with.</summary>
        public long Settled => Interlocked.Read(ref _written) + Interlocked.Read(ref _dropped);

        public void Dispose() => _listener.Dispose();
    }
}
