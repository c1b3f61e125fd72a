using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.PerformanceTests.AspNetCore;

/// <summary>
/// What <c>UseCorrelation()</c> + <c>UseSerilogRequestLogging()</c> cost a request thread, without Kestrel, sockets or a
/// load generator, whose run-to-run spread (±1–2 µs per request on the 2-core VM) hides changes of a few hundred
/// nanoseconds in <c>build/bench-aspnetcore.sh</c>. Each operation is one request through a pipeline built as the host
/// builds it (the registered startup filters around the application's middleware, so <c>AddObservability()</c>'s
/// outermost middleware runs too), on a <see cref="DefaultHttpContext"/> for <c>GET /ping</c> inside an
/// <see cref="Activity"/> started and stopped as the host starts one for each request.
/// <para>
/// <c>Host</c> is the baseline: <c>AddObservability()</c> without the pair (the "without"). <c>Observed</c> adds
/// the pair, and its completion event goes through every enricher and both redaction passes to a sink that discards it,
/// inside <c>WriteTo.Redacted</c> as <c>WithObservability()</c>'s own sinks are; <c>ObservedToFile</c> writes it to the
/// rolling JSON sink instead (the caller's side: the queue, or formatting when the writer is behind; the writer competes
/// for the other core). The difference between <c>Observed</c> and <c>Host</c> is the pair's cost on the request
/// thread. Not measured here: Kestrel's own work for the echoed header, and the MEL scope the host opens per request.
/// </para>
/// </summary>
[MemoryDiagnoser]
public class RequestPipelineBenchmarks
{
    const string SourceName = "Serilog.Extensions.Observability.PerformanceTests.RequestPipeline";
    static readonly ActivitySource Source = new(SourceName);
    ActivityListener _listener = null!;
    readonly List<WebApplication> _apps = new();
    RequestDelegate _host = null!, _observed = null!, _observedToFile = null!;
    string _directory = null!;

    [GlobalSetup]
    public void Setup()
    {
        // The host starts an activity per request when anything listens; a tracing listener is the common case.
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(_listener);
        using (var probe = Source.StartActivity("probe"))
        {
            // A request without a W3C activity would take a new id from the operating system's random source instead.
            if (probe is not { IdFormat: ActivityIdFormat.W3C }) throw new InvalidOperationException("No W3C activity is started.");
        }
        _directory = Path.Combine(Path.GetTempPath(), "seo-bench-pipeline-" + Environment.ProcessId);
        _host = Build(pair: false, file: false);
        _observed = Build(pair: true, file: false);
        _observedToFile = Build(pair: true, file: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var app in _apps) ((IDisposable)app).Dispose();
        _listener.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    RequestDelegate Build(bool pair, bool file)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.AddObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None);
            if (file) o.RollingJson(Path.Combine(_directory, "pipeline-.json"));
            else o.WriteTo(w => w.Sink(new DiscardingSink()));
        });
        var app = builder.Build();
        _apps.Add(app);

        // As the host composes its pipeline: each startup filter wraps what follows it.
        Action<IApplicationBuilder> configure = application =>
        {
            if (pair)
            {
                application.UseCorrelation();
                application.UseSerilogRequestLogging();
            }
            application.Run(static context =>
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                return Task.CompletedTask;
            });
        };
        foreach (var filter in app.Services.GetServices<IStartupFilter>().Reverse())
            configure = filter.Configure(configure);
        var applicationBuilder = new ApplicationBuilder(app.Services);
        configure(applicationBuilder);
        return applicationBuilder.Build();
    }

    static Task Request(RequestDelegate pipeline)
    {
        using var activity = Source.StartActivity("Microsoft.AspNetCore.Hosting.HttpRequestIn", ActivityKind.Server);
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = "/ping";
        return pipeline(context);
    }

    [Benchmark(Baseline = true)]
    public Task Host() => Request(_host);

    [Benchmark]
    public Task Observed() => Request(_observed);

    [Benchmark]
    public Task ObservedToFile() => Request(_observedToFile);

    sealed class DiscardingSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
        }
    }
}
