using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// Our ASP.NET Core package beside OpenTelemetry tracing as applications set it up (OpenTelemetry.Extensions.Hosting,
/// its ASP.NET Core and HttpClient instrumentation, an exporter): the ids our events carry are the exported spans', and
/// an exception our request logging wrote is still recorded on the span. AddObservability sets the static Log.Logger.
/// </summary>
[NonParallelizable]
public class OpenTelemetryTracingTests
{
    const string CompletionSource = "Serilog.AspNetCore.RequestLoggingMiddleware";

    /// <summary>The Timing package's ActivitySource and Meter, as its README names them.</summary>
    const string TimingSource = "Serilog.Extensions.Observability.Timing";

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    /// <summary>What the in-memory exporter is given: spans may end on several threads at once.</summary>
    sealed class ExportedSpans : Collection<Activity>
    {
        protected override void InsertItem(int index, Activity item)
        {
            lock (this) base.InsertItem(index, item);
        }

        public Activity[] Snapshot()
        {
            lock (this) return this.ToArray();
        }

        // Every tracer provider of the process listens to every host's activities: each app's exporter sees the other's.
        public Activity Server(string path) =>
            Snapshot().Single(a => a.Kind == ActivityKind.Server && (string?)a.GetTagItem("url.path") == path);

        public Activity Client(string path) =>
            Snapshot().Single(a => a.Kind == ActivityKind.Client && ((string?)a.GetTagItem("url.full"))?.EndsWith(path, StringComparison.Ordinal) == true);
    }

    /// <summary>
    /// A Kestrel app set up as the README and OpenTelemetry's documentation show it: <c>AddObservability()</c>,
    /// <c>AddOpenTelemetry().WithTracing(...)</c>, then <c>UseCorrelation()</c> and <c>UseSerilogRequestLogging()</c>.
    /// </summary>
    static async Task<RunningApp> StartAsync(WaitingSink sink, ExportedSpans spans, Action<WebApplication> endpoints,
        Action<WebApplication>? beforeCorrelation = null, Action<IServiceCollection>? services = null)
    {
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing
            .AddAspNetCoreInstrumentation(o => o.RecordException = true)
            .AddHttpClientInstrumentation()
            .AddInMemoryExporter(spans));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        beforeCorrelation?.Invoke(app);
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        endpoints(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new RunningApp(app, new Uri(address));
    }

    static bool IsCompletion(LogEvent e) => EventText.Scalar(e, "SourceContext") == CompletionSource;

    // Events written through ILogger<T> in a request carry RequestPath too (the host's logging scope).
    static LogEvent WaitForCompletion(WaitingSink sink, string path) =>
        sink.WaitFor(e => IsCompletion(e) && EventText.Scalar(e, "RequestPath") == path).Single();

    static (string? TraceId, string? SpanId) Ids(LogEvent e) => (e.TraceId?.ToHexString(), e.SpanId?.ToHexString());

    static (string? TraceId, string? SpanId) Ids(Activity a) => (a.TraceId.ToHexString(), a.SpanId.ToHexString());

    [Test]
    public async Task TheCompletionEventTheHandlersEventsAndTheFallbackCorrelationIdAreTheExportedServerSpans()
    {
        var sink = new WaitingSink();
        var spans = new ExportedSpans();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var app = await StartAsync(sink, spans, a => a.MapGet("/orders/{id}", (int id, ILoggerFactory loggers, IDiagnosticContext diagnostics) =>
            {
                diagnostics.Set("OrderId", id);
                loggers.CreateLogger("Orders").LogInformation("Loading order {OrderId}", id);
                return "ok";
            }));
            await using (app)
            {
                using var client = app.CreateClient();
                var response = await client.GetAsync("/orders/7");
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                WaitForCompletion(sink, "/orders/7");
            }
        }

        // Stopping the host above waited for the request to end, where its span is exported.
        var server = spans.Server("/orders/7");
        var completion = sink.Events.Single(IsCompletion);
        var handler = sink.Events.Single(e => e.MessageTemplate.Text == "Loading order {OrderId}");
        Assert.That(Ids(completion), Is.EqualTo(Ids(server)));
        Assert.That(Ids(handler), Is.EqualTo(Ids(server)));
        // No X-Correlation-ID came in: UseCorrelation() took the trace id, the one the trace is exported under.
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo(server.TraceId.ToHexString()));
        Assert.That(EventText.Scalar(handler, "CorrelationId"), Is.EqualTo(server.TraceId.ToHexString()));
        Assert.That(selfLog, Is.Empty);
    }

    [Test]
    public async Task AnExceptionTheCompletionEventWroteIsRecordedOnTheExportedSpanOnceAndLoggedOnce()
    {
        var sink = new WaitingSink();
        var spans = new ExportedSpans();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var app = await StartAsync(sink, spans, endpoints: MapFailingEndpoints, beforeCorrelation: UseExceptionHandlers);
            await using (app)
            {
                await RequestFailingEndpointsAsync(app);
                foreach (var path in FailingPaths) WaitForCompletion(sink, path);
            }
        }

        // Stopping the host above waited for the requests to end, where their spans are exported.
        foreach (var (path, _, _) in ExpectedFailingSpans)
        {
            var span = AssertFailingSpan(spans, path);
            var completion = WaitForCompletion(sink, path);
            Assert.That(Ids(completion), Is.EqualTo(Ids(span)), path);
            Assert.That(completion.Exception?.Message, Is.EqualTo(path + " failed"), path);
        }

        // The completion event carries each exception, and only a handler that dealt with one writes it again (as with
        // Serilog.AspNetCore): never the server's "An unhandled exception was thrown by the application.".
        var withException = sink.Events.Where(e => e.Exception is not null)
            .Select(e => (e.Exception!.Message, EventText.Scalar(e, "SourceContext"))).ToArray();
        Assert.That(withException, Is.EquivalentTo(new (string, string?)[]
        {
            ("/boom failed", CompletionSource),
            ("/dev/boom failed", CompletionSource),
            ("/dev/boom failed", "Microsoft.AspNetCore.Diagnostics.DeveloperExceptionPageMiddleware"),
            ("/handled/boom failed", "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware"),
            ("/handled/boom failed", CompletionSource),
            ("/late failed", CompletionSource),
        }));
        Assert.That(selfLog, Is.Empty);
    }

    [Test]
    public async Task WithoutOurPackageTheExportedSpansOfTheFailingRequestsAreTheSame()
    {
        // What the README says the span is "without this package": the same app, OpenTelemetry alone.
        var spans = new ExportedSpans();
        var app = await TestWeb.StartKestrelAsync(a =>
            {
                UseExceptionHandlers(a);
                MapFailingEndpoints(a);
            },
            services => services.AddOpenTelemetry().WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.RecordException = true)
                .AddInMemoryExporter(spans)));
        await using (app)
        {
            await RequestFailingEndpointsAsync(app);
        }

        // Stopping the host above waited for the requests to end, where their spans are exported.
        foreach (var (path, _, _) in ExpectedFailingSpans) AssertFailingSpan(spans, path);
    }

    [Test]
    public async Task TracerAndMeterProvidersRegisteredAfterAddObservabilityGetTheRequestsIdsAndTheTimingMetrics()
    {
        // OpenTelemetry's providers are built when the host starts, whatever the order of the registrations; ours read
        // Activity.Current and the instruments' listeners when each event or measurement is made, not when registered.
        var sink = new WaitingSink();
        var spans = new ExportedSpans();
        var metrics = new List<MetricSnapshot>();
        MetricSnapshot[] flushed;
        var pipeline = "checkout-" + Guid.NewGuid().ToString("n");
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddSource(TimingSource).AddInMemoryExporter(spans))
            .WithMetrics(meters => meters.AddMeter(TimingSource).AddInMemoryExporter(metrics));
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        app.MapGet("/checkout", (ILoggerFactory loggers) =>
        {
            using var timer = PipelineTimer.Begin(pipeline);
            using (timer.Stage("pricing")) loggers.CreateLogger("Checkout").LogInformation("Pricing the basket");
            return "ok";
        });
        await app.StartAsync();
        var running = new RunningApp(app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()));
        await using (running)
        {
            using var client = running.CreateClient();
            Assert.That((await client.GetAsync("/checkout")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            WaitForCompletion(sink, "/checkout");
            Assert.That(app.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000), Is.True);
            // What that flush exported (cumulative): the provider exports again when the host disposes it.
            flushed = metrics.ToArray();
        }

        // Stopping the host above waited for the request to end, where its spans are exported.
        var server = spans.Server("/checkout");
        var handler = sink.Events.Single(e => e.MessageTemplate.Text == "Pricing the basket");
        Assert.That(Ids(handler).TraceId, Is.EqualTo(server.TraceId.ToHexString()));
        Assert.That(EventText.Scalar(handler, "CorrelationId"), Is.EqualTo(server.TraceId.ToHexString()));
        Assert.That(EventText.Scalar(handler, "Stage"), Is.EqualTo("pricing"));
        var pipelineSpan = spans.Snapshot().Single(a => a.Source.Name == TimingSource && a.ParentSpanId == server.SpanId);
        Assert.That(pipelineSpan.TraceId, Is.EqualTo(server.TraceId));
        var stageRuns = flushed.Where(m => m.Name == "pipeline.stage.duration")
            .SelectMany(m => m.MetricPoints)
            .Where(p => HasTag(p, "pipeline", pipeline))
            .Sum(p => p.GetHistogramCount());
        Assert.That(stageRuns, Is.EqualTo(1));
    }

    static bool HasTag(MetricPoint point, string key, string value)
    {
        foreach (var tag in point.Tags)
            if (tag.Key == key && value.Equals(tag.Value)) return true;
        return false;
    }

    static readonly string[] FailingPaths = ["/handled/boom", "/dev/boom", "/boom", "/late"];

    static void MapFailingEndpoints(WebApplication a)
    {
        foreach (var prefix in new[] { "/handled", "/dev", "" })
            a.MapGet(prefix + "/boom", string () => throw new InvalidOperationException(prefix + "/boom failed"));
        a.MapGet("/late", async (HttpContext ctx) =>
        {
            await ctx.Response.WriteAsync("partial");
            await ctx.Response.Body.FlushAsync();
            throw new InvalidOperationException("/late failed");
        });
    }

    /// <summary>
    /// Handlers first, where the templates put them; each for its own paths, so that one host's OpenTelemetry reads the
    /// exception from the developer exception page's diagnostic event (its payload type) first, then from ours for the
    /// exceptions nobody handled.
    /// </summary>
    static void UseExceptionHandlers(WebApplication a)
    {
        a.UseWhen(ctx => ctx.Request.Path.StartsWithSegments("/handled"), branch => branch.UseExceptionHandler(error => error.Run(ctx =>
        {
            ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        })));
        a.UseWhen(ctx => ctx.Request.Path.StartsWithSegments("/dev"), branch => branch.UseDeveloperExceptionPage());
    }

    static async Task RequestFailingEndpointsAsync(RunningApp app)
    {
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/handled/boom")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((await client.GetAsync("/dev/boom")).StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That((await client.GetAsync("/boom")).StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(async () => await (await client.GetAsync("/late")).Content.ReadAsStringAsync(), Throws.InstanceOf<HttpRequestException>());
    }

    /// <summary>
    /// UseExceptionHandler reports the exception it handled as Microsoft.AspNetCore.Diagnostics.HandledException, which
    /// OpenTelemetry does not record (with or without our package): that span is an error only for the 503 the handler
    /// answered.
    /// </summary>
    static readonly (string Path, string[] Recorded, string ErrorType)[] ExpectedFailingSpans =
    [
        ("/handled/boom", [], "503"),
        ("/dev/boom", ["/dev/boom failed"], "System.InvalidOperationException"),
        ("/boom", ["/boom failed"], "System.InvalidOperationException"),
        ("/late", ["/late failed"], "System.InvalidOperationException"),
    ];

    static Activity AssertFailingSpan(ExportedSpans spans, string path)
    {
        var (_, recorded, errorType) = ExpectedFailingSpans.Single(e => e.Path == path);
        var span = spans.Server(path);
        var exceptions = span.Events.Where(e => e.Name == "exception").ToArray();
        Assert.That(exceptions.Select(e => e.Tags.Single(t => t.Key == "exception.message").Value), Is.EqualTo(recorded), path);
        Assert.That(exceptions.Select(e => e.Tags.Single(t => t.Key == "exception.type").Value), Is.All.EqualTo("System.InvalidOperationException"), path);
        // The instrumentation sets the error status without a description (on /boom and /late, over the message ours set).
        Assert.That((span.Status, span.StatusDescription, span.GetTagItem("error.type")), Is.EqualTo((ActivityStatusCode.Error, (string?)null, (object)errorType)), path);
        return span;
    }

    [Test]
    public async Task ACallFromOneAppToAnotherIsOneTraceInTheExportedSpansAndBothAppsEvents()
    {
        var sinkA = new WaitingSink();
        var sinkB = new WaitingSink();
        var spansA = new ExportedSpans();
        var spansB = new ExportedSpans();
        var b = await StartAsync(sinkB, spansB, a => a.MapGet("/b", (ILoggerFactory loggers) =>
        {
            loggers.CreateLogger("B").LogInformation("Serving B");
            return "from b";
        }));
        await using (b)
        {
            var a = await StartAsync(sinkA, spansA,
                endpoints: app => app.MapGet("/a", async (ILoggerFactory loggers, IHttpClientFactory clients) =>
                {
                    loggers.CreateLogger("A").LogInformation("Calling B");
                    return await clients.CreateClient("b").GetStringAsync("/b");
                }),
                services: s => s.AddHttpClient("b", c => c.BaseAddress = b.BaseAddress).AddCorrelationPropagation());
            await using (a)
            {
                using var client = a.CreateClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, "/a");
                request.Headers.Add("X-Correlation-ID", "checkout-7");
                var response = await client.SendAsync(request);
                Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("from b"));
                WaitForCompletion(sinkA, "/a");
                WaitForCompletion(sinkB, "/b");
            }
        }

        // Both hosts have stopped: every span has ended and been exported.
        var serverA = spansA.Server("/a");
        var clientA = spansA.Client("/b");
        var serverB = spansB.Server("/b");
        var trace = serverA.TraceId;
        Assert.That(new[] { clientA.TraceId, serverB.TraceId }, Is.All.EqualTo(trace));
        Assert.That(clientA.ParentSpanId, Is.EqualTo(serverA.SpanId));
        Assert.That(serverB.ParentSpanId, Is.EqualTo(clientA.SpanId));

        var eventsA = sinkA.Events.Where(e => IsCompletion(e) || e.MessageTemplate.Text == "Calling B").ToArray();
        var eventsB = sinkB.Events.Where(e => IsCompletion(e) || e.MessageTemplate.Text == "Serving B").ToArray();
        Assert.That(eventsA.Select(Ids), Is.EqualTo(new[] { Ids(serverA), Ids(serverA) }));
        Assert.That(eventsB.Select(Ids), Is.EqualTo(new[] { Ids(serverB), Ids(serverB) }));
        // The id A was called with reached B through A's client (without it, B would take its trace id).
        Assert.That(eventsA.Concat(eventsB).Select(e => EventText.Scalar(e, "CorrelationId")), Is.All.EqualTo("checkout-7"));
    }
}
