using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Core;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Correlation;

/// <summary>
/// <c>AddCorrelationPropagation()</c> against a real Kestrel receiver running <c>UseCorrelation()</c>, beside what .NET's
/// own HTTP instrumentation writes (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>). The assembly's activity
/// listener samples System.Net.Http, as OpenTelemetry's HTTP instrumentation would.
/// </summary>
public class CorrelationPropagationHandlerTests
{
    WaitingSink _sink = null!;
    Logger _logger = null!;
    RunningApp _receiver = null!;
    readonly ConcurrentQueue<Received> _received = new();
    const int ConcurrentFlows = 16;
    int _flowsArrived;
    readonly TaskCompletionSource _allFlowsArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What one request reached the receiver with: every value of each header, and the id it was handled with.</summary>
    sealed record Received(string Path, string[] CorrelationIds, string[] TraceParents, string[] Baggage,
        string[] CorrelationContextHeader, string? HandledWith);

    /// <summary>
    /// Where .NET's own HTTP instrumentation puts baggage: its propagator (<c>DistributedContextPropagator.Current</c>)
    /// is System.Diagnostics.DiagnosticSource's, which writes the W3C <c>baggage</c> header from version 10 on and
    /// <c>Correlation-Context</c> before. A .NET 8 application loads version 10 where a package lifts it (OpenTelemetry
    /// 1.20 does; the net8.0 run with -p:DiagnosticSource10=true), so the version loaded decides, not the runtime.
    /// </summary>
    static readonly bool s_propagatorWritesW3CBaggage = typeof(Activity).Assembly.GetName().Version!.Major >= 10;

    [SetUp]
    public async Task SetUp()
    {
        _sink = new WaitingSink();
        _logger = TestWeb.CreateLogger(_sink);
        _received.Clear();
        _receiver = await TestWeb.StartKestrelAsync(b =>
        {
            b.UseCorrelation(o => o.Logger = _logger);
            b.UseSerilogRequestLogging(o => o.Logger = _logger);
            b.MapMethods("/echo", ["GET", "POST"], Record);
            b.MapGet("/redirect", (string to) => Results.Redirect(to));
            b.MapPost("/redirect", (string to) => Results.Redirect(to));
            b.MapGet("/flow/{n}", async (HttpContext context) =>
            {
                var result = Record(context);
                // Every flow's request is in flight before any is answered.
                if (Interlocked.Increment(ref _flowsArrived) == ConcurrentFlows) _allFlowsArrived.TrySetResult();
                await _allFlowsArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return result;
            });
        });
    }

    [TearDown]
    public async Task TearDown()
    {
        await _receiver.DisposeAsync();
        _logger.Dispose();
    }

    string Record(HttpContext context)
    {
        var headers = context.Request.Headers;
        _received.Enqueue(new Received(context.Request.Path, headers["X-Correlation-ID"].ToArray()!, headers["traceparent"].ToArray()!,
            headers["baggage"].ToArray()!, headers["Correlation-Context"].ToArray()!, CorrelationContext.CurrentId));
        return "ok";
    }

    Received OnlyRequest(string path = "/echo") => _received.Single(r => r.Path == path);

    /// <summary>Clients from IHttpClientFactory, as an application registers them.</summary>
    static ServiceProvider Clients(Action<IServiceCollection> register)
    {
        var services = new ServiceCollection();
        register(services);
        return services.BuildServiceProvider();
    }

    static HttpClient Named(ServiceProvider provider) => provider.GetRequiredService<IHttpClientFactory>().CreateClient("downstream");

    /// <summary>The client "downstream", pointed at the receiver.</summary>
    IHttpClientBuilder Downstream(IServiceCollection services) =>
        services.AddHttpClient("downstream", c => c.BaseAddress = _receiver.BaseAddress);

    void AssertNoRejection() =>
        Assert.That(_sink.Events.Where(e => e.MessageTemplate.Text.StartsWith("Rejected the", StringComparison.Ordinal)), Is.Empty,
            "The receiving UseCorrelation() rejected the correlation header it was sent.");

    [Test]
    public async Task AnIdOnTheRequestContentIsTheOnlyOneSentAndTheReceiverKeepsIt()
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StringContent("{}") };
        request.Content.Headers.TryAddWithoutValidation("X-Correlation-ID", "explicit-on-content");

        using (CorrelationContext.Begin("ambient-1"))
        {
            using var response = await Named(provider).SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var received = OnlyRequest();
        Assert.That(received.CorrelationIds, Is.EqualTo(new[] { "explicit-on-content" }),
            "A second value beside the request's own makes the receiver reject both.");
        Assert.That(received.HandledWith, Is.EqualTo("explicit-on-content"));
        AssertNoRejection();
    }

    [Test]
    public async Task AnIdTheCallerSetOnTheRequestIsTheOnlyOneSent()
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo");
        request.Headers.Add("x-correlation-id", "explicit-on-request");

        using (CorrelationContext.Begin("ambient-0"))
            (await Named(provider).SendAsync(request)).Dispose();

        Assert.That(OnlyRequest().CorrelationIds, Is.EqualTo(new[] { "explicit-on-request" }));
        AssertNoRejection();
    }

    [Test]
    public async Task TheIdIsReadWhenARequestIsSentNotWhenTheHandlerWasCreated()
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        HttpClient client;
        // The factory builds the handler chain on the first CreateClient, here inside one flow's scope; later clients
        // share that chain until its lifetime ends.
        using (CorrelationContext.Begin("created-in"))
            client = Named(provider);

        using (CorrelationContext.Begin("sent-in-1"))
            await client.GetStringAsync("/echo");
        using (CorrelationContext.Begin("sent-in-2"))
            await Named(provider).GetStringAsync("/echo");
        await client.GetStringAsync("/echo");

        Assert.That(_received.Select(r => r.CorrelationIds), Is.EqualTo(new[] { new[] { "sent-in-1" }, new[] { "sent-in-2" }, Array.Empty<string>() }));
    }

    [Test]
    public async Task ConcurrentFlowsOnOneClientEachSendTheirOwnId()
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        var client = Named(provider);

        await Task.WhenAll(Enumerable.Range(0, ConcurrentFlows).Select(n => Task.Run(async () =>
        {
            using (CorrelationContext.Begin($"flow-{n}"))
                await client.GetStringAsync($"/flow/{n}");
        })));

        var received = _received.ToArray();
        Assert.That(received, Has.Length.EqualTo(ConcurrentFlows));
        foreach (var request in received)
        {
            var flow = "flow-" + request.Path["/flow/".Length..];
            Assert.That(request.CorrelationIds, Is.EqualTo(new[] { flow }), request.Path);
            Assert.That(request.HandledWith, Is.EqualTo(flow), request.Path);
        }
    }

    [Test]
    public async Task AnIdInTheClientsDefaultHeadersIsKeptAndNotDoubled()
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        var client = Named(provider);
        client.DefaultRequestHeaders.Add("X-Correlation-ID", "client-default-1");

        using (CorrelationContext.Begin("ambient-2"))
            await client.GetStringAsync("/echo");

        Assert.That(OnlyRequest().CorrelationIds, Is.EqualTo(new[] { "client-default-1" }));
        AssertNoRejection();
    }

    [Test]
    public async Task AHandlerAddedTwiceToATypedClientSendsTheIdOnce()
    {
        using var provider = Clients(s => s.AddHttpClient<TypedDownstream>(c => c.BaseAddress = _receiver.BaseAddress)
            .AddCorrelationPropagation()
            .AddCorrelationPropagation());

        using (CorrelationContext.Begin("typed-1"))
            await provider.GetRequiredService<TypedDownstream>().EchoAsync();

        var received = OnlyRequest();
        Assert.That(received.CorrelationIds, Is.EqualTo(new[] { "typed-1" }));
        Assert.That(received.HandledWith, Is.EqualTo("typed-1"));
    }

    sealed class TypedDownstream(HttpClient client)
    {
        public Task<string> EchoAsync() => client.GetStringAsync("/echo");
    }

    [TestCase(true, TestName = "ARetryHandlerBeforeThePropagationSendsTheIdOnceOnEveryAttempt")]
    [TestCase(false, TestName = "ARetryHandlerAfterThePropagationSendsTheIdOnceOnEveryAttempt")]
    public async Task AMessageSentAgainCarriesTheIdOnce(bool retryOutside)
    {
        using var provider = Clients(s =>
        {
            var builder = Downstream(s);
            if (retryOutside) builder.AddHttpMessageHandler(() => new SendTwiceHandler()).AddCorrelationPropagation();
            else builder.AddCorrelationPropagation().AddHttpMessageHandler(() => new SendTwiceHandler());
        });

        using (CorrelationContext.Begin("retried-1"))
            await Named(provider).GetStringAsync("/echo");

        var attempts = _received.ToArray();
        Assert.That(attempts, Has.Length.EqualTo(2));
        foreach (var attempt in attempts)
        {
            Assert.That(attempt.CorrelationIds, Is.EqualTo(new[] { "retried-1" }));
            Assert.That(attempt.TraceParents, Has.Length.EqualTo(1), ".NET replaces its own traceparent on a second send.");
        }
        AssertNoRejection();
    }

    /// <summary>Sends the same message twice, as a retry policy does after a failed attempt.</summary>
    sealed class SendTwiceHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            (await base.SendAsync(request, cancellationToken)).Dispose();
            return await base.SendAsync(request, cancellationToken);
        }
    }

    [Test]
    public async Task TraceContextIsLeftToDotNetAndTravelsOnceBesideTheId()
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        using var parent = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        parent.AddBaggage("tenant", "t-1");

        using (CorrelationContext.Begin("beside-trace-1"))
            await Named(provider).GetStringAsync("/echo");
        parent.Stop();

        var received = OnlyRequest();
        Assert.That(received.CorrelationIds, Is.EqualTo(new[] { "beside-trace-1" }));
        Assert.That(received.TraceParents, Has.Length.EqualTo(1));
        Assert.That(received.TraceParents[0], Does.StartWith($"00-{parent.TraceId.ToHexString()}-"));
        if (s_propagatorWritesW3CBaggage)
        {
            Assert.That(received.Baggage, Is.EqualTo(new[] { "tenant = t-1" }));
            Assert.That(received.CorrelationContextHeader, Is.Empty);
        }
        else
        {
            Assert.That(received.CorrelationContextHeader, Is.EqualTo(new[] { "tenant=t-1" }));
            Assert.That(received.Baggage, Is.Empty);
        }
        var completion = _sink.WaitForCompletion("/echo");
        Assert.That(completion.TraceId?.ToHexString(), Is.EqualTo(parent.TraceId.ToHexString()));
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo("beside-trace-1"));
    }

    [Test]
    public async Task ThroughTestServersHandlerNoTraceContextIsSentButTheIdStillIs()
    {
        // WebApplicationFactory's way: the receiver's TestServer handler as the client's primary handler. It is not
        // SocketsHttpHandler, which is where HttpClient writes traceparent.
        var received = new ConcurrentQueue<Received>();
        await using var receiver = await TestWeb.StartTestServerAsync(b =>
        {
            b.UseCorrelation(o => o.Logger = _logger);
            b.MapGet("/echo", (HttpContext context) =>
            {
                received.Enqueue(new Received(context.Request.Path, context.Request.Headers["X-Correlation-ID"].ToArray()!,
                    context.Request.Headers["traceparent"].ToArray()!, [], [], CorrelationContext.CurrentId));
                return "ok";
            });
        });
        using var provider = Clients(s => s.AddHttpClient("downstream", c => c.BaseAddress = receiver.BaseAddress)
            .ConfigurePrimaryHttpMessageHandler(() => receiver.TestServer.CreateHandler())
            .AddCorrelationPropagation());
        using var parent = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();

        using (CorrelationContext.Begin("test-server-1"))
            await Named(provider).GetStringAsync("/echo");
        parent.Stop();

        var request = received.Single();
        Assert.That(request.TraceParents, Is.Empty);
        Assert.That(request.CorrelationIds, Is.EqualTo(new[] { "test-server-1" }));
        Assert.That(request.HandledWith, Is.EqualTo("test-server-1"));
    }

    [Test]
    [NonParallelizable] // DistributedContextPropagator.Current is process-wide
    public async Task WithANoOutputPropagatorNoTraceContextIsSentButTheIdStillIs()
    {
        var previous = DistributedContextPropagator.Current;
        DistributedContextPropagator.Current = DistributedContextPropagator.CreateNoOutputPropagator();
        try
        {
            // HttpClient's handler takes the propagator when it is created: a provider built after the change.
            using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
            using var parent = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();

            using (CorrelationContext.Begin("no-output-1"))
                await Named(provider).GetStringAsync("/echo");
            parent.Stop();

            var received = OnlyRequest();
            Assert.That(received.TraceParents, Is.Empty, "Nothing of ours writes traceparent.");
            Assert.That(received.CorrelationIds, Is.EqualTo(new[] { "no-output-1" }));
            Assert.That(_sink.WaitForCompletion("/echo").TraceId?.ToHexString(), Is.Not.EqualTo(parent.TraceId.ToHexString()));
        }
        finally
        {
            DistributedContextPropagator.Current = previous;
        }
    }

    [Test]
    public async Task ARedirectToAnotherHostKeepsTheIdAsItKeepsTraceparent()
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        var otherHost = new UriBuilder(_receiver.BaseAddress) { Host = "localhost", Path = "/echo" }.Uri;
        using var parent = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();

        using (CorrelationContext.Begin("redirected-1"))
            await Named(provider).GetStringAsync("/redirect?to=" + Uri.EscapeDataString(otherHost.ToString()));

        var received = OnlyRequest();
        Assert.That(received.CorrelationIds, Is.EqualTo(new[] { "redirected-1" }));
        Assert.That(received.TraceParents.Single(), Does.StartWith($"00-{parent.TraceId.ToHexString()}-"));
    }

    [TestCase(false, "redirect-post-1", TestName = "AnAmbientIdSurvivesARedirectThatTurnsAPostIntoAGet")]
    [TestCase(true, null, TestName = "AnIdTheCallerPutOnAPostsContentIsDroppedWithTheContentByARedirectToAGet")]
    public async Task ARedirectThatTurnsAPostIntoAGet(bool idOnContent, string? expected)
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/redirect?to=%2Fecho") { Content = new StringContent("{}") };
        if (idOnContent) request.Content.Headers.TryAddWithoutValidation("X-Correlation-ID", "on-content-1");

        using (CorrelationContext.Begin("redirect-post-1"))
            (await Named(provider).SendAsync(request)).Dispose();

        // HttpClient follows a 302 after a POST with a GET without the content, and so without the content's headers.
        var received = OnlyRequest();
        Assert.That(received.CorrelationIds, Is.EqualTo(expected is null ? Array.Empty<string>() : new[] { expected }));
    }

    public static IEnumerable<TestCaseData> IdsTheReceiverWouldReject()
    {
        // Ids CorrelationContext.Begin takes (message-queue ids) but UseCorrelation() rejects.
        foreach (var id in new[] { "msg/abc", "abc+def", "abc==", "user@host", new string('a', 127) + "+" })
            yield return new TestCaseData(id, false).SetName($"NotSent_Begin_{TestName(id)}");
        // Hostile values cannot become the ambient id at all: a deferred resolver returning one leaves no id.
        foreach (var id in new[] { "abc\r\nX-Injected: yes", "abc\nX-Injected: yes", "id,with,commas", "ünïcödé", "has space", new string('a', 129), "" })
            yield return new TestCaseData(id, true).SetName($"NotSent_Deferred_{TestName(id)}");
    }

    static string TestName(string id) => id.Length == 0 ? "Empty" : id.Length > 100 ? $"Length{id.Length}" : Uri.EscapeDataString(id);

    [TestCaseSource(nameof(IdsTheReceiverWouldReject))]
    public async Task AnIdTheReceiverWouldRejectIsNeverSent(string id, bool deferred)
    {
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());

        using (deferred ? CorrelationContext.BeginDeferred(() => id) : CorrelationContext.Begin(id))
            await Named(provider).GetStringAsync("/echo");

        var received = OnlyRequest();
        Assert.That(received.CorrelationIds, Is.Empty);
        Assert.That(received.HandledWith, Does.Match("^[A-Za-z0-9._:-]{1,128}$").And.Not.EqualTo(id));
        AssertNoRejection();
    }

    [Test]
    public async Task TheLongestIdTheReceiverAcceptsIsSentWhole()
    {
        var id = new string('a', 64) + "._:-" + new string('Z', 60);
        Assert.That(id, Has.Length.EqualTo(CorrelationOptions.MaxIdLength));
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());

        using (CorrelationContext.Begin(id))
            await Named(provider).GetStringAsync("/echo");

        Assert.That(OnlyRequest().HandledWith, Is.EqualTo(id));
        AssertNoRejection();
    }

    [Test]
    public async Task OutsideAnyScopeNoIdIsSentAndTheReceiverTakesTheTraceIdTheCallerLogs()
    {
        // A background service that began no CorrelationContext, inside an activity of its own.
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation());
        using var work = new Activity("background-work").SetIdFormat(ActivityIdFormat.W3C).Start();
        Assert.That(CorrelationContext.CurrentId, Is.Null);
        _logger.Information("Background work calls downstream");

        await Named(provider).GetStringAsync("/echo");
        work.Stop();

        var callerEvent = _sink.WaitFor(e => e.MessageTemplate.Text == "Background work calls downstream").Single();
        var received = OnlyRequest();
        Assert.That(received.CorrelationIds, Is.Empty);
        Assert.That(received.HandledWith, Is.EqualTo(work.TraceId.ToHexString()));
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/echo"), "CorrelationId"), Is.EqualTo(EventText.Scalar(callerEvent, "CorrelationId")),
            "Both sides log the trace id as the correlation id.");
    }

    [Test]
    public async Task AHeaderNameOfAStandardRequestHeaderNeverFailsARequestWithContent()
    {
        // A standard request header that content headers may not hold: looking it up among them must not throw.
        using var provider = Clients(s => Downstream(s).AddCorrelationPropagation("From"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StringContent("{}") };

        using (CorrelationContext.Begin("from-1"))
        {
            using var response = await Named(provider).SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [TestCase("traceparent")]
    [TestCase("TraceParent")]
    [TestCase("tracestate")]
    [TestCase("baggage")]
    [TestCase("Request-Id")]
    [TestCase("Correlation-Context")]
    public void ATraceContextHeaderNameIsRejectedAtConfiguration(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddHttpClient("x").AddCorrelationPropagation(name));
        Assert.That(ex!.ParamName, Is.EqualTo("headerName"));
        Assert.That(ex.Message, Does.Contain("trace context"));
    }

    [TestCase("Content-Type")]
    [TestCase("Content-Length")]
    public void AContentHeaderNameIsRejectedAtConfiguration(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddHttpClient("x").AddCorrelationPropagation(name));
        Assert.That(ex!.ParamName, Is.EqualTo("headerName"));
    }

    [Test]
    public void ANullHeaderNameIsRejectedAtConfigurationAsNull()
    {
        var ex = Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddHttpClient("x").AddCorrelationPropagation(null!));
        Assert.That(ex!.ParamName, Is.EqualTo("headerName"));
    }

    [TestCase("", TestName = "AnEmptyHeaderNameIsRejectedWithTheTokenRule")]
    [TestCase(" ", TestName = "AWhiteSpaceHeaderNameIsRejectedWithTheTokenRule")]
    [TestCase("X Correlation", TestName = "AHeaderNameWithASpaceIsRejectedWithTheTokenRule")]
    [TestCase("X-Correlation-ID:", TestName = "AHeaderNameWithAColonIsRejectedWithTheTokenRule")]
    [TestCase("X-Korrelation-\u00e4", TestName = "AHeaderNameWithANonAsciiLetterIsRejectedWithTheTokenRule")]
    public void AHeaderNameThatIsNotAnHttpTokenIsRejectedWithTheRule(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddHttpClient("x").AddCorrelationPropagation(name));
        Assert.That(ex!.ParamName, Is.EqualTo("headerName"));
        Assert.That(ex.Message, Does.Contain("visible ASCII").And.Contain("white space").And.Contain("separator"),
            "The message says what a header name may hold, not only that this one is wrong.");
    }

    // Headers HttpClient or the connection act on, and credentials: on HTTP/1.1 "Transfer-Encoding: <id>" got every request
    // answered 400 and "Host: <id>" addressed every request to a virtual host named after the id; HTTP/2 and HTTP/3 forbid
    // the connection-specific ones.
    [TestCase("Host")]
    [TestCase("host")]
    [TestCase("Transfer-Encoding")]
    [TestCase("Connection")]
    [TestCase("Keep-Alive")]
    [TestCase("Proxy-Connection")]
    [TestCase("Upgrade")]
    [TestCase("TE")]
    [TestCase("Trailer")]
    [TestCase("Expect")]
    [TestCase("Authorization")]
    [TestCase("Proxy-Authorization")]
    [TestCase("Cookie")]
    public void AHeaderNameHttpClientOrTheConnectionActsOnIsRejectedAtConfiguration(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddHttpClient("x").AddCorrelationPropagation(name));
        Assert.That(ex!.ParamName, Is.EqualTo("headerName"));
        Assert.That(ex.Message, Does.Contain("framed, routed or authenticated"));
    }

    /// <summary>A service as the README sets one up: AddObservability() writing CLEF files, on Kestrel.</summary>
    static WebApplication ObservedService(string service, string logFolder, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).Service(service).RollingJson(Path.Combine(logFolder, "app-.json")));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        return app;
    }

    static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    [Test]
    [NonParallelizable] // AddObservability() replaces Log.Logger
    public async Task EveryEventOfACallAcrossTwoObservedServicesSharesTheCorrelationIdAndTheTrace()
    {
        using var logsA = TempFolder.ForCaller();
        using var logsB = TempFolder.ForCaller();
        var seenByB = new ConcurrentDictionary<string, (string[] Ids, string[] TraceParents)>();

        var b = ObservedService("inventory", logsB.Path);
        b.MapGet("/inventory/{call}", (string call, HttpContext context, ILogger<CorrelationPropagationHandlerTests> log) =>
        {
            seenByB[call] = (context.Request.Headers["X-Correlation-ID"].ToArray()!, context.Request.Headers["traceparent"].ToArray()!)!;
            log.LogInformation("Inventory served call {Call}", call);
            return "7";
        });
        await b.StartAsync();
        var a = ObservedService("orders", logsA.Path,
            s => s.AddHttpClient("inventory", c => c.BaseAddress = Address(b)).AddCorrelationPropagation());
        a.MapGet("/order/{call}", async (string call, IHttpClientFactory clients, ILogger<CorrelationPropagationHandlerTests> log) =>
        {
            var stock = await clients.CreateClient("inventory").GetStringAsync($"/inventory/{call}");
            log.LogInformation("Orders got stock {Stock} for call {Call}", stock, call);
            return stock;
        });
        await a.StartAsync();

        var echoed = new Dictionary<string, string>();
        try
        {
            using var client = new HttpClient { BaseAddress = Address(a) };
            using var withId = new HttpRequestMessage(HttpMethod.Get, "/order/with-id");
            withId.Headers.Add("X-Correlation-ID", "e2e-order-1");
            using var withoutId = new HttpRequestMessage(HttpMethod.Get, "/order/without-id");
            foreach (var (call, request) in new[] { ("with-id", withId), ("without-id", withoutId) })
            {
                using var response = await client.SendAsync(request);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                echoed[call] = response.Headers.GetValues("X-Correlation-ID").Single();
            }
        }
        finally
        {
            // Disposing flushes: every accepted event is in the files after this.
            await a.StopAsync();
            await a.DisposeAsync();
            await b.StopAsync();
            await b.DisposeAsync();
            Log.CloseAndFlush();
        }

        var eventsA = LogFileEvents.Read(logsA.Path);
        var eventsB = LogFileEvents.Read(logsB.Path);
        foreach (var call in new[] { "with-id", "without-id" })
        {
            var completionA = eventsA.Single(e => LogFileEvents.Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"
                && LogFileEvents.Prop(e, "RequestPath") == $"/order/{call}");
            var traceId = LogFileEvents.Prop(completionA, "@tr");
            Assert.That(traceId, Does.Match("^[0-9a-f]{32}$"), call);
            var expectedId = call == "with-id" ? "e2e-order-1" : traceId;
            Assert.That(echoed[call], Is.EqualTo(expectedId), call);

            // Every event of the call on either side: the handlers', the completions', HttpClient's own.
            var inA = eventsA.Where(e => LogFileEvents.Prop(e, "@tr") == traceId).ToList();
            var inB = eventsB.Where(e => LogFileEvents.Prop(e, "@tr") == traceId).ToList();
            Assert.That(inA.Select(e => LogFileEvents.Prop(e, "@mt")), Has.Member("Orders got stock {Stock} for call {Call}")
                .And.Member("Start processing HTTP request {HttpMethod} {Uri}"), call);
            Assert.That(inB.Select(e => LogFileEvents.Prop(e, "@mt")), Has.Member("Inventory served call {Call}")
                .And.Member("HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms"), call);
            foreach (var e in inA.Concat(inB))
                Assert.That(LogFileEvents.Prop(e, "CorrelationId"), Is.EqualTo(expectedId), $"{call}: {e}");

            var (ids, traceParents) = seenByB[call];
            Assert.That(ids, Is.EqualTo(new[] { expectedId }), $"{call}: one correlation header value");
            Assert.That(traceParents, Has.Length.EqualTo(1), $"{call}: one traceparent");
            var parts = traceParents[0].Split('-');
            Assert.That(parts[1], Is.EqualTo(traceId), call);
            Assert.That(inB.Select(e => LogFileEvents.Prop(e, "ParentSpanId")), Has.All.EqualTo(parts[2]),
                $"{call}: service B's request span is the child of the span traceparent named");
        }
    }
}
