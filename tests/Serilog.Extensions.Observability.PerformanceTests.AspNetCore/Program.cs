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
// Reference points outside our packages' configuration:
//   floor           bare + the least any request logger writing to the rolling JSON sink does: one Serilog event per
//                   request with RequestMethod, RequestPath, StatusCode and Elapsed, no enrichers, no redaction, no
//                   logging provider, no correlation (a plain logger and a four-line middleware)
//   floor-nofile    floor with no sink at all: the event is built and dispatched, and nothing written
//   peer            the stack a Serilog.AspNetCore user has where that package restores: Serilog as the logging
//                   provider (Serilog.Extensions.Logging), Microsoft.AspNetCore at Warning, Enrich.FromLogContext(),
//                   Serilog.Sinks.File 5.0 (buffered: true) with Serilog's JsonFormatter, and a middleware logging the
//                   same completion event (Serilog.AspNetCore's request logging modelled in a few lines; that package's
//                   restorable version needs Serilog 4, and these benchmarks run on Serilog 3.1.1)
//   peer-async      peer with the file sink behind Serilog.Sinks.Async 1.5 (the usual way to move file I/O off requests)
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Json;
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
    Console.Error.WriteLine("usage: serve <bare|host|correlation|requestlog|observed|observed-nofile|observed-lean|requestlog-off|floor|floor-nofile|peer|peer-async> [port] [log directory]");
    Console.Error.WriteLine("       load <url> <seconds> <connections>");
    return 2;
}

static async Task<int> Serve(string mode, int port, string? logDirectory)
{
    if (mode is not ("bare" or "host" or "correlation" or "requestlog" or "observed" or "observed-nofile" or "observed-lean" or "requestlog-off"
        or "floor" or "floor-nofile" or "peer" or "peer-async"))
        return Usage();

    var reference = mode is "floor" or "floor-nofile" or "peer" or "peer-async";
    var useSerilog = mode != "bare" && !reference;
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

    Serilog.Core.Logger? referenceLogger = null;
    if (reference)
    {
        var configuration = new LoggerConfiguration().MinimumLevel.Information();
        if (mode == "floor")
        {
            configuration.WriteTo.RollingJson(Path.Combine(logDirectory, "bench-.json"));
        }
        else if (mode != "floor-nofile")
        {
            // As Serilog.AspNetCore's README sets it up, and as AddObservability() does by default.
            configuration.MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning).Enrich.FromLogContext();
            var file = Path.Combine(logDirectory, "peer-.json");
            if (mode == "peer-async")
                configuration.WriteTo.Async(a => a.File(new JsonFormatter(), file, rollingInterval: RollingInterval.Day, buffered: true));
            else
                configuration.WriteTo.File(new JsonFormatter(), file, rollingInterval: RollingInterval.Day, buffered: true);
        }
        referenceLogger = configuration.CreateLogger();
        if (mode.StartsWith("peer", StringComparison.Ordinal)) builder.Logging.AddSerilog(referenceLogger);
    }

    var app = builder.Build();
    if (withCorrelation) app.UseCorrelation();
    if (withRequestLogging) app.UseSerilogRequestLogging();
    if (referenceLogger is not null)
    {
        var requestLogger = referenceLogger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Serilog.AspNetCore.RequestLoggingMiddleware");
        app.Use(async (context, next) =>
        {
            var start = Stopwatch.GetTimestamp();
            await next(context);
            requestLogger.Information(
                "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms",
                context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        });
    }
    app.MapGet("/ping", () => "pong");

    await app.StartAsync();
    Console.WriteLine($"listening {app.Urls.First()} mode={mode}");
    await app.WaitForShutdownAsync();
    // Disposing the host flushes and closes the logger, so the counts below are final.
    await app.DisposeAsync();
    referenceLogger?.Dispose();
    Console.WriteLine($"sink written={sinkCounters.Written} dropped={sinkCounters.Dropped}");
    // Whole-process totals (start-up included, a few MB): the script divides them by the requests answered.
    Console.WriteLine($"gc allocated={GC.GetTotalAllocatedBytes(precise: true)} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)}");
    // Time the GC held the process paused, thread-pool work items and contended locks (each a possible wake-up).
    Console.WriteLine($"runtime gcpause={GC.GetTotalPauseDuration().TotalMilliseconds:F0}ms workitems={ThreadPool.CompletedWorkItemCount} lockcontention={Monitor.LockContentionCount}");
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
