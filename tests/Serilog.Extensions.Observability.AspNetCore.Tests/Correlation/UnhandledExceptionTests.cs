using System.Diagnostics;
using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Correlation;

/// <summary>
/// Exceptions with <c>AddObservability()</c>: the template's order (exception handler first, then UseCorrelation)
/// keeps working and every answer carries the id. AddObservability sets the static Log.Logger.
/// </summary>
[NonParallelizable]
public class UnhandledExceptionTests
{
    WaitingSink _sink = null!;
    Logger _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _sink = new WaitingSink();
        _logger = TestWeb.CreateLogger(_sink);
    }

    [TearDown]
    public void TearDown()
    {
        _logger.Dispose();
        Log.CloseAndFlush();
    }

    async Task<RunningApp> StartAsync(string environment, Action<WebApplication>? beforeCorrelation = null, Action<CorrelationOptions>? correlation = null,
        Action<ObservabilityOptions>? observability = null, Action<WebApplication>? afterCorrelation = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None);
            observability?.Invoke(o);
        });
        var app = builder.Build();
        beforeCorrelation?.Invoke(app);
        app.UseCorrelation(o =>
        {
            o.Logger = _logger;
            correlation?.Invoke(o);
        });
        afterCorrelation?.Invoke(app);
        app.UseSerilogRequestLogging(o => o.Logger = _logger);
        app.MapGet("/boom", string () => throw new InvalidOperationException("unhandled-boom"));
        app.MapPost("/upload", string () => throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge));
        app.MapGet("/error", string () =>
        {
            _logger.Information("Rendering the error page");
            return "error page";
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new RunningApp(app, new Uri(address));
    }

    static HttpRequestMessage Request(HttpMethod method, string path, string id)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Correlation-ID", id);
        return request;
    }

    void AssertOneCompletionAtErrorWithTheException(string path, string id)
    {
        var completion = _sink.WaitForCompletion(path);
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(completion.Exception, Is.Not.Null);
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo(id));
        Assert.That(_sink.Events.Count(e => EventText.Scalar(e, "RequestPath") == path), Is.EqualTo(1));
    }

    [Test]
    public async Task UseExceptionHandlerBeforeUseCorrelationAnswersOutsideDevelopmentAndTheIdIsEchoed()
    {
        await using var app = await StartAsync(Environments.Production, a => a.UseExceptionHandler(error => error.Run(ctx =>
        {
            ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return ctx.Response.WriteAsync("sorry");
        })));
        using var client = app.CreateClient();
        using var request = Request(HttpMethod.Get, "/boom", "handled-1");

        var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("sorry"));
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("handled-1"));
        AssertOneCompletionAtErrorWithTheException("/boom", "handled-1");
        Assert.That(_sink.WaitForCompletion("/boom").Exception!.Message, Is.EqualTo("unhandled-boom"));
    }

    [Test]
    public async Task TheExceptionHandlersOwnErrorEventCarriesTheRequestsIdAndUser()
    {
        // UseExceptionHandler() first, as the templates and the README place it: it logs the exception after the
        // request's own correlation scope has ended, through Microsoft.Extensions.Logging.
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var app = await StartAsync(Environments.Production,
            a => a.UseExceptionHandler(error => error.Run(ctx =>
            {
                ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            })),
            observability: o => o.RollingJson(path),
            afterCorrelation: a => a.Use((ctx, next) =>
            {
                ctx.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice")], "test"));
                return next(ctx);
            }));
        await using (app)
        {
            using var client = app.CreateClient();
            using var request = Request(HttpMethod.Get, "/boom", "boom-4");
            var response = await client.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        }

        // Disposing the host flushed the file.
        var lines = Directory.GetFiles(folder.Path, "app-*.json").SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var handlerEvent = lines.Single(l => l.TryGetProperty("SourceContext", out var source)
            && source.GetString() == "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware");
        Assert.That(handlerEvent.GetProperty("@x").GetString(), Does.Contain("unhandled-boom"));
        Assert.That(handlerEvent.GetProperty("CorrelationId").GetString(), Is.EqualTo("boom-4"));
        Assert.That(handlerEvent.GetProperty("UserId").GetString(), Is.EqualTo("alice"));
    }

    [Test]
    public async Task AnExceptionHandlerThatRunsThePipelineAgainKeepsTheRequestsId()
    {
        // No id header and no trace-id fallback: each pass through UseCorrelation would choose a new random id.
        await using var app = await StartAsync(Environments.Production, a => a.UseExceptionHandler("/error"), o => o.UseTraceIdWhenMissing = false);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/boom");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("error page"));
        var echoed = response.Headers.GetValues("X-Correlation-ID").Single();
        var page = _sink.WaitFor(e => e.MessageTemplate.Text == "Rendering the error page").Single();
        Assert.That(EventText.Scalar(page, "CorrelationId"), Is.EqualTo(echoed));
        // Like Serilog.AspNetCore, each pass through request logging writes its completion event: the first for /boom,
        // with the exception, the second for the error page the handler ran the pipeline again with. Both belong to
        // this request and carry its id.
        var completions = _sink.WaitFor(IsCompletion, count: 2);
        Assert.That(completions.Select(e => (EventText.Scalar(e, "RequestPath"), e.Exception?.Message)),
            Is.EqualTo(new[] { ("/boom", "unhandled-boom"), ("/error", (string?)null) }));
        Assert.That(completions.Select(e => EventText.Scalar(e, "CorrelationId")), Is.All.EqualTo(echoed));
    }

    static bool IsCompletion(LogEvent logEvent) => EventText.Scalar(logEvent, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware";

    [Test]
    public async Task AnExceptionHandlerThatRunsThePipelineAgainKeepsTheRequestsIdAlsoWithoutTheEcho()
    {
        // The id is not echoed, so only the request itself can carry the first pass's id into the second.
        await using var app = await StartAsync(Environments.Production, a => a.UseExceptionHandler("/error"), o =>
        {
            o.UseTraceIdWhenMissing = false;
            o.EchoResponseHeader = false;
        });
        using var client = app.CreateClient();

        var response = await client.GetAsync("/boom");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("error page"));
        var page = _sink.WaitFor(e => e.MessageTemplate.Text == "Rendering the error page").Single();
        var completions = _sink.WaitFor(IsCompletion, count: 2);
        Assert.That(completions.Select(e => EventText.Scalar(e, "RequestPath")), Is.EqualTo(new[] { "/boom", "/error" }));
        var failed = completions.Single(e => e.Exception is not null);
        Assert.That(EventText.Scalar(failed, "CorrelationId"), Is.Not.Null);
        Assert.That(EventText.Scalar(page, "CorrelationId"), Is.EqualTo(EventText.Scalar(failed, "CorrelationId")));
        Assert.That(completions.Select(e => EventText.Scalar(e, "CorrelationId")), Is.All.EqualTo(EventText.Scalar(failed, "CorrelationId")));
    }

    [Test]
    public async Task AnExceptionHandlerThatFailsItselfStillLeavesA500WithTheId()
    {
        await using var app = await StartAsync(Environments.Production, a => a.UseExceptionHandler(error => error.Run(
            _ => throw new InvalidOperationException("handler-failed"))));
        using var client = app.CreateClient();
        using var request = Request(HttpMethod.Get, "/boom", "handler-failed-1");

        var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("handler-failed-1"));
        AssertOneCompletionAtErrorWithTheException("/boom", "handler-failed-1");
    }

    [Test]
    public async Task AnExceptionNobodyHandlesIsAnswered500WithTheIdAndLoggedOnce()
    {
        await using var app = await StartAsync(Environments.Production);
        using var client = app.CreateClient();
        using var request = Request(HttpMethod.Get, "/boom", "unhandled-1");

        var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty);
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("unhandled-1"));
        AssertOneCompletionAtErrorWithTheException("/boom", "unhandled-1");
    }

    [Test]
    public async Task AnUnhandledBadRequestExceptionKeepsItsStatusAndCarriesTheId()
    {
        await using var app = await StartAsync(Environments.Production);
        using var client = app.CreateClient();
        using var request = Request(HttpMethod.Post, "/upload", "too-large-2");

        var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("too-large-2"));
        AssertOneCompletionAtErrorWithTheException("/upload", "too-large-2");
    }

    [Test]
    public async Task InDevelopmentTheDeveloperExceptionPageShowsTheExceptionAndCarriesTheId()
    {
        await using var app = await StartAsync(Environments.Development);
        using var client = app.CreateClient();
        using var request = Request(HttpMethod.Get, "/boom", "dev-1");

        var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("unhandled-boom"));
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("dev-1"));
        AssertOneCompletionAtErrorWithTheException("/boom", "dev-1");
    }

    static void MapLate(WebApplication app) => app.MapGet("/late", async (HttpContext ctx) =>
    {
        await ctx.Response.WriteAsync("partial");
        await ctx.Response.Body.FlushAsync();
        throw new InvalidOperationException("late-boom");
    });

    [TestCase("Production", false)]
    [TestCase("Production", true)]
    [TestCase("Development", false)]
    public async Task AnExceptionAfterTheResponseStartedBreaksTheResponseAndIsNotLoggedAgainByTheServer(string environment, bool exceptionHandler)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var app = await StartAsync(environment,
            beforeCorrelation: exceptionHandler ? a => a.UseExceptionHandler(error => error.Run(ctx => ctx.Response.WriteAsync("sorry"))) : null,
            observability: o => o.RollingJson(path),
            afterCorrelation: MapLate);
        await using (app)
        {
            using var client = app.CreateClient();
            using var request = Request(HttpMethod.Get, "/late", "late-1");

            // The status line and part of the body were sent: the client must see the response cut, never complete.
            Assert.That(async () => await (await client.SendAsync(request)).Content.ReadAsStringAsync(), Throws.InstanceOf<HttpRequestException>());
            AssertOneCompletionAtErrorWithTheException("/late", "late-1");
        }

        // Disposing the host flushed the file: the server's own "unhandled exception" event would repeat the exception
        // the completion event carries. (The exception handler and the developer exception page log it themselves.)
        var server = LogFileEvents.Read(folder.Path).Where(e => LogFileEvents.Prop(e, "SourceContext")?.StartsWith("Microsoft.AspNetCore.Server") == true);
        Assert.That(server.Where(e => LogFileEvents.Prop(e, "@x") is not null).Select(e => LogFileEvents.Prop(e, "@mt")).ToArray(), Is.Empty);
    }

    [TestCase("/boom", HttpStatusCode.InternalServerError)]
    [TestCase("/late", null)]
    public async Task WithoutUseCorrelationAnExceptionTheCompletionEventWroteIsNotLoggedAgainByTheServer(string path, HttpStatusCode? status)
    {
        using var folder = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None);
            o.RollingJson(Path.Combine(folder.Path, "app-.json"));
        });
        var web = builder.Build();
        web.UseSerilogRequestLogging();
        web.MapGet("/boom", string () => throw new InvalidOperationException("unhandled-boom"));
        MapLate(web);
        await web.StartAsync();
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        await using (var app = new RunningApp(web, new Uri(address)))
        {
            using var client = app.CreateClient();
            if (status is { } expected)
                Assert.That((await client.GetAsync(path)).StatusCode, Is.EqualTo(expected));
            else
                Assert.That(async () => await (await client.GetAsync(path)).Content.ReadAsStringAsync(), Throws.InstanceOf<HttpRequestException>());
        }

        var withException = LogFileEvents.Read(folder.Path).Where(e => LogFileEvents.Prop(e, "@x") is not null).ToList();
        Assert.That(withException.Select(e => LogFileEvents.Prop(e, "SourceContext")).ToArray(), Is.EqualTo(new[] { "Serilog.AspNetCore.RequestLoggingMiddleware" }));
        Assert.That(LogFileEvents.Prop(withException[0], "StatusCode"), Is.EqualTo("500"));
    }

    [TestCase(true, "cancellation")]
    [TestCase(false, "cancellation")]
    [TestCase(true, "connection reset")]
    [TestCase(false, "connection reset")]
    public async Task WithThePresetARequestTheClientAbortedIsWrittenWithoutAnExceptionAndTheServerDoesNotLogOne(bool useCorrelation, string failure)
    {
        // The abort is accounted for by the 499 event: the cancellation it caused is neither attached to that event nor
        // left to escape to the server, which would write it as an unhandled exception at Error.
        using var folder = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None);
            o.RollingJson(Path.Combine(folder.Path, "app-.json"));
        });
        var web = builder.Build();
        if (useCorrelation) web.UseCorrelation();
        web.UseSerilogRequestLogging(o => o.LogAbortedRequestsAsClientClosed = true);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        web.MapGet("/gone", async (HttpContext ctx) =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            }
            catch (OperationCanceledException) when (failure == "connection reset")
            {
                // What a read or write on the connection the client closed throws in Kestrel.
                throw new Microsoft.AspNetCore.Connections.ConnectionResetException("The client reset the connection.");
            }
            return "never";
        });
        await web.StartAsync();
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        await using (var app = new RunningApp(web, new Uri(address)))
        {
            using var client = app.CreateClient();
            using var cancel = new CancellationTokenSource();
            var request = client.GetAsync("/gone", cancel.Token);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(15));
            cancel.Cancel();
            Assert.That(async () => await request, Throws.InstanceOf<OperationCanceledException>());
        }

        // Disposing the host waited for the request and flushed the file.
        var events = LogFileEvents.Read(folder.Path);
        var completion = events.Single(e => LogFileEvents.Prop(e, "RequestPath") == "/gone");
        Assert.That(LogFileEvents.Prop(completion, "StatusCode"), Is.EqualTo("499"));
        Assert.That(events.Where(e => LogFileEvents.Prop(e, "@x") is not null).Select(e => LogFileEvents.Prop(e, "@mt")).ToArray(), Is.Empty);
    }

    // With Serilog.AspNetCore the exception reaches the server, and ASP.NET Core's request duration metric carries it as
    // error.type: an exception answered here instead must keep that tag, or error-rate dashboards lose it.
    [TestCase(true, false, "/metric-boom")]
    [TestCase(true, false, "/metric-late")]
    [TestCase(false, true, "/metric-boom")]
    public async Task AnExceptionAnsweredHereKeepsItsTypeInTheServersRequestDurationMetric(bool addObservability, bool useCorrelation, string path)
    {
        var errorTypes = new List<string?>();
        using var meters = new System.Diagnostics.Metrics.MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Microsoft.AspNetCore.Hosting" && instrument.Name == "http.server.request.duration")
                listener.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            string? route = null, errorType = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "http.route") route = tag.Value as string;
                if (tag.Key == "error.type") errorType = tag.Value as string;
            }
            if (route == path) lock (errorTypes) errorTypes.Add(errorType);
        });
        meters.Start();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        if (addObservability) builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var web = builder.Build();
        if (useCorrelation) web.UseCorrelation(o => o.Logger = _logger);
        web.UseSerilogRequestLogging(o => o.Logger = _logger);
        web.MapGet("/metric-boom", string () => throw new InvalidOperationException("unhandled-boom"));
        web.MapGet("/metric-late", async (HttpContext ctx) =>
        {
            await ctx.Response.WriteAsync("partial");
            await ctx.Response.Body.FlushAsync();
            throw new InvalidOperationException("late-boom");
        });
        await web.StartAsync();
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        await using (var app = new RunningApp(web, new Uri(address)))
        {
            using var client = app.CreateClient();
            try { await (await client.GetAsync(path)).Content.ReadAsStringAsync(); } catch (HttpRequestException) { }
            _sink.WaitForCompletion(path);
        }

        // The host records the request's duration when it ends: stopping the host above waited for that.
        lock (errorTypes) Assert.That(errorTypes, Is.EqualTo(new[] { "System.InvalidOperationException" }));
    }

    /// <summary>Records the host's <c>Microsoft.AspNetCore.Hosting.UnhandledException</c> events for one exception message.</summary>
    sealed class UnhandledExceptionEvents : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
    {
        readonly string _message;
        readonly List<IDisposable> _subscriptions = new();
        readonly IDisposable _all;
        public readonly List<(Type Exception, string? Path)> Events = new();

        public UnhandledExceptionEvents(string message)
        {
            _message = message;
            _all = DiagnosticListener.AllListeners.Subscribe(this);
        }

        public void OnNext(DiagnosticListener listener)
        {
            if (listener.Name == "Microsoft.AspNetCore")
                lock (_subscriptions) _subscriptions.Add(listener.Subscribe(this));
        }

        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value.Key != "Microsoft.AspNetCore.Hosting.UnhandledException" || value.Value is null) return;
            // Read by property name, as tracing agents read it.
            var type = value.Value.GetType();
            if (type.GetProperty("exception")?.GetValue(value.Value) is Exception exception && exception.Message == _message)
                lock (Events) Events.Add((exception.GetType(), (type.GetProperty("httpContext")?.GetValue(value.Value) as HttpContext)?.Request.Path.Value));
        }

        public void OnCompleted() { }

        public void OnError(Exception error) { }

        public void Dispose()
        {
            _all.Dispose();
            lock (_subscriptions) _subscriptions.ForEach(s => s.Dispose());
        }
    }

    // With Serilog.AspNetCore the exception reaches the server, which raises the Microsoft.AspNetCore.Hosting.UnhandledException
    // diagnostic event that tracing agents (Application Insights, OpenTelemetry's RecordException) record exceptions from:
    // an exception answered or ended here must raise it too, once, or those agents see a 500 (or nothing) without it.
    [TestCase(true, false, true, "/diag-boom")]
    [TestCase(true, false, true, "/diag-late")]
    [TestCase(false, true, true, "/diag-boom")]
    [TestCase(true, true, false, "/diag-boom")]
    public async Task AnUnhandledExceptionRaisesTheServersUnhandledExceptionDiagnosticEventOnce(bool addObservability, bool useCorrelation, bool requestLogging, string path)
    {
        var message = "diag-" + Guid.NewGuid().ToString("N");
        using var events = new UnhandledExceptionEvents(message);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        if (addObservability) builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var web = builder.Build();
        if (useCorrelation) web.UseCorrelation(o => o.Logger = _logger);
        if (requestLogging) web.UseSerilogRequestLogging(o => o.Logger = _logger);
        web.MapGet("/diag-boom", string () => throw new InvalidOperationException(message));
        web.MapGet("/diag-late", async (HttpContext ctx) =>
        {
            await ctx.Response.WriteAsync("partial");
            await ctx.Response.Body.FlushAsync();
            throw new InvalidOperationException(message);
        });
        await web.StartAsync();
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        await using (var app = new RunningApp(web, new Uri(address)))
        {
            using var client = app.CreateClient();
            try { await (await client.GetAsync(path)).Content.ReadAsStringAsync(); } catch (HttpRequestException) { }
            if (requestLogging) _sink.WaitForCompletion(path);
        }

        // Stopping the host above waited for the request to end, where the host raises the event.
        lock (events.Events)
        {
            Assert.That(events.Events.ToArray(), Is.EqualTo(new[] { (typeof(InvalidOperationException), (string?)path) }));
        }
    }

    // With Serilog.AspNetCore an exception after the response started reaches the server, which marks the request's
    // Activity with it (error.type, an error status); ended here instead, the span must not look like a success.
    [Test]
    public async Task AnExceptionEndedHereAfterTheResponseStartedMarksTheRequestsActivityAsFailed()
    {
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(activities);
        Activity? request = null;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var web = builder.Build();
        web.UseSerilogRequestLogging(o => o.Logger = _logger);
        web.MapGet("/span-late", async (HttpContext ctx) =>
        {
            request = Activity.Current;
            await ctx.Response.WriteAsync("partial");
            await ctx.Response.Body.FlushAsync();
            throw new InvalidOperationException("span-late-boom");
        });
        await web.StartAsync();
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        await using (var app = new RunningApp(web, new Uri(address)))
        {
            using var client = app.CreateClient();
            Assert.That(async () => await (await client.GetAsync("/span-late")).Content.ReadAsStringAsync(), Throws.InstanceOf<HttpRequestException>());
            _sink.WaitForCompletion("/span-late");
        }

        // Stopping the host above waited for the request to end, where the host stops its activity.
        Assert.That(request, Is.Not.Null);
        Assert.That((request!.Status, request.GetTagItem("error.type")), Is.EqualTo((ActivityStatusCode.Error, (object)"System.InvalidOperationException")));
    }
}
