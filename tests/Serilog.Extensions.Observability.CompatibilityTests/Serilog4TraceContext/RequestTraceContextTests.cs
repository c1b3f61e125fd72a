using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4TraceContext;

/// <summary>
/// On Serilog 4, the request completion event of <c>UseSerilogRequestLogging()</c> (with <c>UseCorrelation()</c> and
/// <c>AddObservability()</c>) and the events a handler logs around a call to another application through
/// <c>AddCorrelationPropagation()</c> carry the trace context of the request they belong to: the same ids natively
/// (<c>@tr</c>/<c>@sp</c>) and as <c>TraceId</c>/<c>SpanId</c> properties.
/// </summary>
[NonParallelizable] // AddObservability() sets the static Log.Logger; the span listeners are process-wide
public class RequestTraceContextTests
{
    const string Frontend = "frontend";
    const string Backend = "backend";

    static readonly ActivitySource Application = new("Serilog4TraceContext.Application");

    ActivityListener? _listener;

    [OneTimeSetUp]
    public void ListenAsATracerWould() => _listener = TraceContext.Listen("Microsoft.AspNetCore", "System.Net.Http", Application.Name);

    [OneTimeTearDown]
    public void StopListening() => _listener?.Dispose();

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    [Test]
    public async Task TheCompletionEventCarriesItsRequestsSpan()
    {
        await using var app = await App.StartAsync(Frontend, map: app => app.MapGet("/ok", () => "ok"));

        await app.GetAsync("/ok");
        await app.StopAsync();

        TraceContext.AssertCarries(app.Completion("/ok"), app.RequestSpan("/ok"), "completion event");
    }

    [Test]
    public async Task TheCompletionEventOfARequestThatFailedInsideASpanCarriesItsRequestsSpan()
    {
        await using var app = await App.StartAsync(Frontend, map: app => app.MapGet("/fails", async () =>
        {
            using var span = Application.StartActivity("load");
            await Task.Yield();
            throw new InvalidOperationException("The store is down.");
        }));

        await app.GetAsync("/fails");
        await app.StopAsync();

        var completion = app.Completion("/fails");
        Assert.That(completion.Exception, Is.InstanceOf<InvalidOperationException>());
        TraceContext.AssertCarries(completion, app.RequestSpan("/fails"), "completion event");
    }

    /// <summary>
    /// An exception thrown synchronously (a middleware written without <c>async</c>) reaches the request logging's
    /// exception filter before the frames it passed through have run their <c>finally</c> blocks: the span the throwing
    /// code had started is still <see cref="Activity.Current"/> there, and must not become the completion event's span.
    /// </summary>
    [Test]
    public async Task TheCompletionEventOfARequestThatThrewSynchronouslyInsideASpanCarriesItsRequestsSpan()
    {
        await using var app = await App.StartAsync(Frontend, use: app => app.Use(next => context =>
        {
            if (context.Request.Path != "/throws") return next(context);
            using var span = Application.StartActivity("authorize");
            throw new UnauthorizedAccessException("No such key.");
        }));

        await app.GetAsync("/throws");
        await app.StopAsync();

        var completion = app.Completion("/throws");
        Assert.That(completion.Exception, Is.InstanceOf<UnauthorizedAccessException>());
        TraceContext.AssertCarries(completion, app.RequestSpan("/throws"), "completion event");
    }

    [Test]
    public async Task EventsAroundACallToAnotherApplicationCarryTheSpanOfTheRequestTheyWereLoggedIn()
    {
        await using var backend = await App.StartAsync(Backend, map: app => app.MapGet("/stock", (ILogger<Stock> log) =>
        {
            log.LogInformation("Counting stock");
            return "3";
        }));
        await using var frontend = await App.StartAsync(Frontend, map: app => app.MapGet("/order", async (IHttpClientFactory clients, ILogger<Order> log) =>
        {
            log.LogInformation("Before the call");
            var stock = await clients.CreateClient(Backend).GetStringAsync("/stock");
            log.LogInformation("After the call");
            return stock;
        }), client: (Backend, backend.Address));

        await frontend.GetAsync("/order");
        await frontend.StopAsync();
        await backend.StopAsync();

        var order = frontend.RequestSpan("/order");
        var stock = backend.RequestSpan("/stock");
        Assert.That(stock.TraceId, Is.EqualTo(order.TraceId), "The backend's request continues the frontend's trace.");
        TraceContext.AssertCarries(frontend.Event("Before the call"), order, "before the call");
        TraceContext.AssertCarries(frontend.Event("After the call"), order, "after the call");
        TraceContext.AssertCarries(frontend.Completion("/order"), order, "frontend completion event");
        TraceContext.AssertCarries(backend.Event("Counting stock"), stock, "backend event");
        TraceContext.AssertCarries(backend.Completion("/stock"), stock, "backend completion event");
        Assert.That(TraceContext.Property(backend.Event("Counting stock"), "CorrelationId"),
            Is.EqualTo(TraceContext.Property(frontend.Event("Before the call"), "CorrelationId")).And.Not.Null);
    }

    sealed class Order;

    sealed class Stock;

    /// <summary>
    /// An application set up as the README shows (<c>AddObservability()</c>, <c>UseCorrelation()</c>,
    /// <c>UseSerilogRequestLogging()</c>) on Kestrel at 127.0.0.1 port 0, its events collected; it notes each request's
    /// own span (<see cref="IHttpActivityFeature"/>) by path.
    /// </summary>
    sealed class App : IAsyncDisposable
    {
        readonly WebApplication _app;
        readonly CollectingSink _sink;
        readonly ConcurrentDictionary<string, ActivityContext> _requestSpans;

        App(WebApplication app, CollectingSink sink, ConcurrentDictionary<string, ActivityContext> requestSpans)
        {
            _app = app;
            _sink = sink;
            _requestSpans = requestSpans;
            Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        }

        public Uri Address { get; }

        public static async Task<App> StartAsync(string name, Action<WebApplication>? use = null, Action<WebApplication>? map = null, (string Name, Uri Address)? client = null)
        {
            var sink = new CollectingSink();
            var requestSpans = new ConcurrentDictionary<string, ActivityContext>();
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, ApplicationName = name });
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(writeTo => writeTo.Sink(sink)));
            if (client is { } other)
                builder.Services.AddHttpClient(other.Name, http => http.BaseAddress = other.Address).AddCorrelationPropagation();

            var app = builder.Build();
            app.Use((context, next) =>
            {
                requestSpans[context.Request.Path.Value!] = context.Features.Get<IHttpActivityFeature>()!.Activity.Context;
                return next(context);
            });
            app.UseCorrelation();
            app.UseSerilogRequestLogging();
            use?.Invoke(app);
            map?.Invoke(app);
            await app.StartAsync();
            return new App(app, sink, requestSpans);
        }

        public async Task GetAsync(string path)
        {
            using var client = new HttpClient { BaseAddress = Address };
            using var response = await client.GetAsync(path);
        }

        public ActivityContext RequestSpan(string path)
        {
            Assert.That(_requestSpans.TryGetValue(path, out var span), Is.True, $"No request to {path} was seen.");
            Assert.That(span.TraceId, Is.Not.EqualTo(default(ActivityTraceId)), $"The request to {path} had no span.");
            return span;
        }

        public LogEvent Completion(string path) => Single(e =>
            TraceContext.Property(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware" && TraceContext.Property(e, "RequestPath") == path,
            $"the completion event of {path}");

        public LogEvent Event(string message) => Single(e => e.MessageTemplate.Text == message, message);

        LogEvent Single(Func<LogEvent, bool> match, string what)
        {
            var found = _sink.Events.Where(match).ToList();
            Assert.That(found, Has.Count.EqualTo(1), $"Expected one event: {what}.");
            return found[0];
        }

        /// <summary>Stops the host, which waits for the requests to leave the pipeline: their completion events are written by then.</summary>
        public Task StopAsync() => _app.StopAsync();

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
