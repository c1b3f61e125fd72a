// Request-rate benchmark for UseCorrelation() + UseSerilogRequestLogging(), driven by build/bench-aspnetcore.sh.
//
//   serve <mode> [port] [log directory]   serves GET /ping on 127.0.0.1 (port 0 = any free port) and prints
//                                         "listening <url> mode=<mode>"; stops on SIGTERM/Ctrl+C and then prints
//                                         how many events the rolling JSON sink wrote and dropped.
//   load <url> <seconds> <connections>    fallback load generator when wrk is missing: <connections> HttpClient
//                                         loops until the time is up; prints "Requests/sec: N" like wrk.
//
// Modes (each one step from "bare" to "observed", to attribute the cost):
//   bare            no Serilog, no logging providers, no middleware
//   host            AddObservability() with the rolling JSON file, no middleware
//   correlation     host + UseCorrelation()
//   requestlog      host + UseSerilogRequestLogging()
//   observed        host + UseCorrelation() + UseSerilogRequestLogging()   (the configuration the goal is about)
//   observed-nofile observed without the rolling JSON file (no sink at all)
//   observed-lean   observed with every WithObservability() enricher turned off (redaction stays on)
//   requestlog-off  observed, but the completion event is below the minimum level (middleware cost without an event)
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Serilog;
using Serilog.Events;
using Serilog.Extensions.Observability;

return args switch
{
    ["serve", var mode] => await Serve(mode, 0, null),
    ["serve", var mode, var port] => await Serve(mode, int.Parse(port, CultureInfo.InvariantCulture), null),
    ["serve", var mode, var port, var logDirectory] => await Serve(mode, int.Parse(port, CultureInfo.InvariantCulture), logDirectory),
    ["load", var url, var seconds, var connections] => await Load(
        new Uri(url),
        TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture)),
        int.Parse(connections, CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: serve <bare|host|correlation|requestlog|observed|observed-nofile|observed-lean|requestlog-off> [port] [log directory]");
    Console.Error.WriteLine("       load <url> <seconds> <connections>");
    return 2;
}

static async Task<int> Serve(string mode, int port, string? logDirectory)
{
    if (mode is not ("bare" or "host" or "correlation" or "requestlog" or "observed" or "observed-nofile" or "observed-lean" or "requestlog-off"))
        return Usage();

    var useSerilog = mode != "bare";
    var withFile = useSerilog && mode != "observed-nofile";
    var withCorrelation = mode is "correlation" or "observed" or "observed-nofile" or "observed-lean" or "requestlog-off";
    var withRequestLogging = mode is "requestlog" or "observed" or "observed-nofile" or "observed-lean" or "requestlog-off";
    logDirectory ??= Path.Combine(Path.GetTempPath(), "seo-bench-aspnetcore-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

    using var sinkCounters = new SinkCounters();

    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
    builder.WebHost.UseUrls("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));
    if (useSerilog)
    {
        builder.AddObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None);
            if (withFile) o.RollingJson(Path.Combine(logDirectory, "bench-.json"));
            if (mode == "observed-lean") o.Without(ObservabilityEnrichers.All);
            if (mode == "requestlog-off") o.MinimumLevel("Serilog.AspNetCore.RequestLoggingMiddleware", LogEventLevel.Warning);
        });
    }
    else
    {
        // The baseline logs nothing at all (CreateBuilder's default console provider would log every request).
        builder.Logging.ClearProviders();
    }

    var app = builder.Build();
    if (withCorrelation) app.UseCorrelation();
    if (withRequestLogging) app.UseSerilogRequestLogging();
    app.MapGet("/ping", () => "pong");

    await app.StartAsync();
    Console.WriteLine($"listening {app.Urls.First()} mode={mode}");
    await app.WaitForShutdownAsync();
    // Disposing the host flushes and closes the logger, so the counts below are final.
    await app.DisposeAsync();
    Console.WriteLine($"sink written={sinkCounters.Written} dropped={sinkCounters.Dropped}");
    // Whole-process totals (start-up included, a few MB): the script divides them by the requests answered.
    Console.WriteLine($"gc allocated={GC.GetTotalAllocatedBytes(precise: true)} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)}");
    return 0;
}

static async Task<int> Load(Uri url, TimeSpan duration, int connections)
{
    if (connections < 1 || duration <= TimeSpan.Zero) return Usage();

    using var handler = new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseProxy = false,
        UseCookies = false,
    };
    using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };

    var start = Stopwatch.GetTimestamp();
    var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var loops = new Task<LoopResult>[connections];
    for (var i = 0; i < loops.Length; i++)
        loops[i] = Task.Run(() => Drive(client, url, deadline));

    var results = await Task.WhenAll(loops);
    var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    long ok = 0, failed = 0;
    foreach (var result in results)
    {
        ok += result.Ok;
        failed += result.Failed;
    }

    Console.WriteLine($"{ok} requests in {seconds:F2}s, {failed} failed");
    Console.WriteLine($"Requests/sec: {(ok / seconds).ToString("F2", CultureInfo.InvariantCulture)}");
    return ok == 0 ? 1 : 0;
}

static async Task<LoopResult> Drive(HttpClient client, Uri url, long deadline)
{
    long ok = 0, failed = 0;
    while (Stopwatch.GetTimestamp() < deadline)
    {
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead);
            if (response.IsSuccessStatusCode) ok++;
            else failed++;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            failed++;
        }
    }

    return new LoopResult(ok, failed);
}

readonly record struct LoopResult(long Ok, long Failed);

/// <summary>Listens to the rolling JSON sink's counters (added to once per batch by its writer thread).</summary>
sealed class SinkCounters : IDisposable
{
    const string MeterName = "Serilog.Extensions.Observability.Sinks.RollingJson";
    const string WrittenName = "serilog.rolling_json.events.written";
    const string DroppedName = "serilog.rolling_json.events.dropped";

    readonly MeterListener _listener = new();
    long _written, _dropped;

    public SinkCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name is WrittenName or DroppedName)
                listener.EnableMeasurementEvents(instrument, this);
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, _, state) =>
        {
            var self = (SinkCounters)state!;
            if (instrument.Name == WrittenName) Interlocked.Add(ref self._written, value);
            else Interlocked.Add(ref self._dropped, value);
        });
        _listener.Start();
    }

    public long Written => Interlocked.Read(ref _written);

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Dispose() => _listener.Dispose();
}
