using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// <c>AddCorrelationPropagation()</c> beside Microsoft.Extensions.Http.Resilience's <c>AddStandardResilienceHandler()</c>
/// (retries send the same message again) and <c>AddStandardHedgingHandler()</c> (each hedged attempt sends a copy of the
/// message, concurrently), in both registration orders, against a real Kestrel downstream that fails the first attempts.
/// The caller is an ASP.NET Core service set up with <c>AddObservability()</c> writing CLEF files, or a
/// <c>CorrelationContext</c> scope as a worker opens one.
/// </summary>
[NonParallelizable] // AddObservability() replaces Log.Logger
public class HttpResilienceTests
{
    const string HeaderName = "X-Correlation-ID";

    /// <summary>Where <c>AddCorrelationPropagation()</c> goes: before (outside) or after (inside) the resilience handler.</summary>
    public enum Order
    {
        PropagationFirst,
        ResilienceFirst,
    }

    /// <summary>One attempt as the downstream received it: every value of each header, and the id it was handled with.</summary>
    sealed record Attempt(string Path, int Number, string[] CorrelationIds, string[] TraceParents, string? HandledWith);

    WaitingSink _downstreamSink = null!;
    Logger _downstreamLogger = null!;
    RunningApp _downstream = null!;
    readonly ConcurrentQueue<Attempt> _attempts = new();
    readonly ConcurrentDictionary<string, int> _attemptsPerPath = new();
    readonly ConcurrentDictionary<string, TaskCompletionSource> _secondAttemptArrived = new();

    [SetUp]
    public async Task SetUp()
    {
        _attempts.Clear();
        _attemptsPerPath.Clear();
        _secondAttemptArrived.Clear();
        _downstreamSink = new WaitingSink();
        _downstreamLogger = TestWeb.CreateLogger(_downstreamSink);
        _downstream = await TestWeb.StartKestrelAsync(app =>
        {
            app.UseCorrelation(o => o.Logger = _downstreamLogger);
            app.UseSerilogRequestLogging(o => o.Logger = _downstreamLogger);
            // 503 on the first two attempts, then 200: retried twice.
            app.MapMethods("/flaky/{key}", ["GET", "POST"], (HttpContext context) =>
                Record(context) <= 2 ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable) : Results.Text("ok"));
            // The first attempt is answered only once a second one has arrived: that one is a hedged attempt, in flight
            // beside the first. The first answers 503 (or is cancelled when the second's 200 wins).
            app.MapMethods("/slow-first/{key}", ["GET", "POST"], async (HttpContext context) =>
            {
                var secondArrived = SecondAttemptArrived(context.Request.Path.Value!);
                if (Record(context) == 1)
                {
                    await secondArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
                    return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
                }

                secondArrived.TrySetResult();
                return Results.Text("ok");
            });
        });
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var arrived in _secondAttemptArrived.Values) arrived.TrySetResult();
        await _downstream.DisposeAsync();
        _downstreamLogger.Dispose();
    }

    TaskCompletionSource SecondAttemptArrived(string path) =>
        _secondAttemptArrived.GetOrAdd(path, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    int Record(HttpContext context)
    {
        var path = context.Request.Path.Value!;
        var number = _attemptsPerPath.AddOrUpdate(path, 1, (_, n) => n + 1);
        var headers = context.Request.Headers;
        _attempts.Enqueue(new Attempt(path, number, headers[HeaderName].ToArray()!, headers["traceparent"].ToArray()!,
            CorrelationContext.CurrentId));
        return number;
    }

    Attempt[] AttemptsAt(string path) => _attempts.Where(a => a.Path == path).OrderBy(a => a.Number).ToArray();

    /// <summary>Retries without waiting: the downstream's answers, not the clock, decide what happens.</summary>
    static void Retries(IHttpClientBuilder client) =>
        client.AddStandardResilienceHandler(o =>
        {
            o.Retry.Delay = TimeSpan.Zero;
            o.Retry.UseJitter = false;
        });

    /// <summary>
    /// The standard hedging handler, whose hedged attempt starts once the first has been in flight for the delay: the
    /// downstream holds the first until the hedged one arrives, so the two are always concurrent.
    /// </summary>
    static void Hedging(IHttpClientBuilder client) =>
        client.AddStandardHedgingHandler().Configure(o =>
        {
            o.Hedging.Delay = TimeSpan.FromMilliseconds(50);
            o.Hedging.MaxHedgedAttempts = 1;
        });

    static void Compose(IHttpClientBuilder client, Order order, Action<IHttpClientBuilder> resilience)
    {
        if (order == Order.PropagationFirst)
        {
            client.AddCorrelationPropagation();
            resilience(client);
        }
        else
        {
            resilience(client);
            client.AddCorrelationPropagation();
        }
    }

    /// <summary>A typed client, as applications register one.</summary>
    sealed class DownstreamClient(HttpClient client)
    {
        public async Task<int> GetAsync(string path, string? explicitId)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (explicitId is not null) request.Headers.Add(HeaderName, explicitId);
            using var response = await client.SendAsync(request);
            return (int)response.StatusCode;
        }
    }

    /// <summary>What a call through the observed caller service left behind.</summary>
    sealed record CallerRun(int Status, string Echoed, string CallerTraceId, List<JsonElement> CallerEvents);

    /// <summary>
    /// Starts the caller (AddObservability() with RollingJson, UseCorrelation(), request logging, a typed client to the
    /// downstream), sends it one request with <paramref name="callerId"/>, and reads its log files once it is disposed.
    /// </summary>
    async Task<CallerRun> CallThroughCallerAsync(Order order, Action<IHttpClientBuilder> resilience, string downstreamPath,
        string callerId, string? explicitId = null)
    {
        using var logs = TempFolder.ForCaller();
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).Service("caller")
            .RollingJson(Path.Combine(logs.Path, "app-.json")));
        Compose(builder.Services.AddHttpClient<DownstreamClient>(c => c.BaseAddress = _downstream.BaseAddress), order, resilience);
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        app.MapGet("/call", async (DownstreamClient downstream) => Results.Text((await downstream.GetAsync(downstreamPath, explicitId)).ToString()));

        int status;
        string echoed;
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/call");
            request.Headers.Add(HeaderName, callerId);
            using var response = await client.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            status = int.Parse(await response.Content.ReadAsStringAsync());
            echoed = response.Headers.GetValues(HeaderName).Single();
        }
        finally
        {
            // Disposing flushes: every accepted event is in the files after this.
            await app.StopAsync();
            await app.DisposeAsync();
            Log.CloseAndFlush();
        }

        var events = LogFileEvents.Read(logs.Path);
        var completion = events.Single(e => LogFileEvents.Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"
            && LogFileEvents.Prop(e, "RequestPath") == "/call");
        return new CallerRun(status, echoed, LogFileEvents.Prop(completion, "@tr")!, events);
    }

    static string TraceIdOf(string traceParent) => traceParent.Split('-')[1];

    /// <summary>Every attempt carries exactly one correlation header, <paramref name="expectedHeader"/>, and one traceparent of the caller's trace.</summary>
    static void AssertEveryAttemptCarries(Attempt[] attempts, string expectedHeader, string callerTraceId)
    {
        foreach (var attempt in attempts)
        {
            Assert.That(attempt.CorrelationIds, Is.EqualTo(new[] { expectedHeader }), $"attempt {attempt.Number}: one correlation header value");
            Assert.That(attempt.HandledWith, Is.EqualTo(expectedHeader), $"attempt {attempt.Number}: the downstream accepted it");
            Assert.That(attempt.TraceParents, Has.Length.EqualTo(1), $"attempt {attempt.Number}: one traceparent");
            Assert.That(TraceIdOf(attempt.TraceParents[0]), Is.EqualTo(callerTraceId), $"attempt {attempt.Number}: the caller's trace");
        }
    }

    /// <summary>The downstream's completion events for <paramref name="path"/>, one per attempt, once <paramref name="count"/> are written.</summary>
    IReadOnlyList<LogEvent> DownstreamCompletions(string path, int count) =>
        _downstreamSink.WaitFor(e => e.Properties.TryGetValue("RequestPath", out var p) && p is ScalarValue { Value: string s } && s == path, count);

    static List<JsonElement> PollyEvents(CallerRun run) =>
        run.CallerEvents.Where(e => LogFileEvents.Prop(e, "SourceContext")?.StartsWith("Polly", StringComparison.Ordinal) == true).ToList();

    [TestCase(Order.PropagationFirst)]
    [TestCase(Order.ResilienceFirst)]
    public async Task EveryRetriedAttemptCarriesTheCallersIdOnceAndItsTrace(Order order)
    {
        var callerId = "retry-" + order;
        var run = await CallThroughCallerAsync(order, Retries, "/flaky/a", callerId);

        Assert.That(run.Status, Is.EqualTo(200), "Retried past the two 503s.");
        Assert.That(run.Echoed, Is.EqualTo(callerId));
        var attempts = AttemptsAt("/flaky/a");
        Assert.That(attempts, Has.Length.EqualTo(3));
        AssertEveryAttemptCarries(attempts, callerId, run.CallerTraceId);

        var completions = DownstreamCompletions("/flaky/a", 3);
        Assert.That(completions.Select(e => EventText.Scalar(e, "StatusCode")), Is.EquivalentTo(new[] { "503", "503", "200" }));
        Assert.That(completions.Select(e => EventText.Scalar(e, "CorrelationId")), Has.All.EqualTo(callerId));
    }

    [TestCase(Order.PropagationFirst)]
    [TestCase(Order.ResilienceFirst)]
    public async Task PollysRetryEventsInTheCallersLogCarryTheCallersId(Order order)
    {
        var callerId = "retry-log-" + order;
        var run = await CallThroughCallerAsync(order, Retries, "/flaky/b", callerId);

        var polly = PollyEvents(run);
        var retries = polly.Where(e => LogFileEvents.Prop(e, "EventName") == "OnRetry").ToList();
        Assert.That(retries, Has.Count.EqualTo(2), string.Join("\n", polly));
        Assert.That(retries.Select(e => LogFileEvents.Prop(e, "@l")), Has.All.EqualTo("Warning"));
        foreach (var e in polly)
        {
            Assert.That(LogFileEvents.Prop(e, "CorrelationId"), Is.EqualTo(callerId), e.ToString());
            Assert.That(LogFileEvents.Prop(e, "@tr"), Is.EqualTo(run.CallerTraceId), e.ToString());
        }

        // Everything else the caller wrote for the call too: HttpClient's own events for each attempt, the completion.
        var ofTheCall = run.CallerEvents.Where(e => LogFileEvents.Prop(e, "@tr") == run.CallerTraceId).ToList();
        Assert.That(ofTheCall.Count(e => LogFileEvents.Prop(e, "@mt") == "Sending HTTP request {HttpMethod} {Uri}"), Is.EqualTo(3));
        Assert.That(ofTheCall.Select(e => LogFileEvents.Prop(e, "CorrelationId")), Has.All.EqualTo(callerId));
    }

    [TestCase(Order.PropagationFirst)]
    [TestCase(Order.ResilienceFirst)]
    public async Task AnIdTheApplicationSetOnTheRequestIsKeptOnEveryRetry(Order order)
    {
        var run = await CallThroughCallerAsync(order, Retries, "/flaky/c", "ambient-" + order, explicitId: "explicit-" + order);

        Assert.That(run.Status, Is.EqualTo(200));
        var attempts = AttemptsAt("/flaky/c");
        Assert.That(attempts, Has.Length.EqualTo(3));
        AssertEveryAttemptCarries(attempts, "explicit-" + order, run.CallerTraceId);
    }

    [TestCase(Order.PropagationFirst)]
    [TestCase(Order.ResilienceFirst)]
    public async Task EveryHedgedAttemptCarriesTheCallersIdOnceAndItsTrace(Order order)
    {
        var callerId = "hedged-" + order;
        var run = await CallThroughCallerAsync(order, Hedging, "/slow-first/d", callerId);

        Assert.That(run.Status, Is.EqualTo(200), "The hedged attempt's answer won.");
        var attempts = AttemptsAt("/slow-first/d");
        Assert.That(attempts, Has.Length.EqualTo(2), "The first attempt and one hedged attempt, in flight together.");
        AssertEveryAttemptCarries(attempts, callerId, run.CallerTraceId);

        var hedging = PollyEvents(run).Where(e => LogFileEvents.Prop(e, "EventName") == "OnHedging").ToList();
        Assert.That(hedging, Is.Not.Empty, string.Join("\n", PollyEvents(run)));
        Assert.That(PollyEvents(run).Select(e => LogFileEvents.Prop(e, "CorrelationId")), Has.All.EqualTo(callerId));
        Assert.That(DownstreamCompletions("/slow-first/d", 2).Select(e => EventText.Scalar(e, "CorrelationId")), Has.All.EqualTo(callerId));
    }

    [TestCase(Order.PropagationFirst)]
    [TestCase(Order.ResilienceFirst)]
    public async Task AnIdTheApplicationSetOnTheRequestIsKeptOnEveryHedgedAttempt(Order order)
    {
        var run = await CallThroughCallerAsync(order, Hedging, "/slow-first/e", "ambient-h-" + order, explicitId: "explicit-h-" + order);

        Assert.That(run.Status, Is.EqualTo(200));
        var attempts = AttemptsAt("/slow-first/e");
        Assert.That(attempts, Has.Length.EqualTo(2));
        AssertEveryAttemptCarries(attempts, "explicit-h-" + order, run.CallerTraceId);
    }

    [TestCase(Order.PropagationFirst, false)]
    [TestCase(Order.ResilienceFirst, false)]
    [TestCase(Order.PropagationFirst, true)]
    [TestCase(Order.ResilienceFirst, true)]
    public async Task AnIdOnTheRequestContentIsKeptOnEveryAttempt(Order order, bool hedged)
    {
        // The hedging handler sends a copy of the message per attempt: the content's headers must come along.
        var services = new ServiceCollection();
        Compose(services.AddHttpClient("downstream", c => c.BaseAddress = _downstream.BaseAddress), order, hedged ? Hedging : Retries);
        using var provider = services.BuildServiceProvider();
        var path = hedged ? "/slow-first/content" : "/flaky/content";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{}") };
        request.Content.Headers.TryAddWithoutValidation(HeaderName, "explicit-on-content");
        using var message = new Activity("message").SetIdFormat(ActivityIdFormat.W3C).Start();

        using (CorrelationContext.Begin("ambient-content"))
        {
            using var response = await provider.GetRequiredService<IHttpClientFactory>().CreateClient("downstream").SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        message.Stop();

        var attempts = AttemptsAt(path);
        Assert.That(attempts, Has.Length.EqualTo(hedged ? 2 : 3));
        AssertEveryAttemptCarries(attempts, "explicit-on-content", message.TraceId.ToHexString());
    }

    [TestCase(Order.PropagationFirst, false)]
    [TestCase(Order.ResilienceFirst, false)]
    [TestCase(Order.PropagationFirst, true)]
    [TestCase(Order.ResilienceFirst, true)]
    public async Task AWorkersNamedClientSendsItsScopesIdOnEveryAttempt(Order order, bool hedged)
    {
        var services = new ServiceCollection();
        Compose(services.AddHttpClient("downstream", c => c.BaseAddress = _downstream.BaseAddress), order, hedged ? Hedging : Retries);
        using var provider = services.BuildServiceProvider();
        var path = hedged ? "/slow-first/w" : "/flaky/w";
        using var message = new Activity("message").SetIdFormat(ActivityIdFormat.W3C).Start();

        using (CorrelationContext.Begin("message-42"))
        {
            using var response = await provider.GetRequiredService<IHttpClientFactory>().CreateClient("downstream").GetAsync(path);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        message.Stop();

        var attempts = AttemptsAt(path);
        Assert.That(attempts, Has.Length.EqualTo(hedged ? 2 : 3));
        AssertEveryAttemptCarries(attempts, "message-42", message.TraceId.ToHexString());
    }

    [TestCase(Order.PropagationFirst, false)]
    [TestCase(Order.ResilienceFirst, false)]
    [TestCase(Order.PropagationFirst, true)]
    [TestCase(Order.ResilienceFirst, true)]
    public async Task ConcurrentFlowsOnOneClientEachSendTheirOwnIdOnEveryAttempt(Order order, bool hedged)
    {
        const int flows = 8;
        var services = new ServiceCollection();
        Compose(services.AddHttpClient("downstream", c => c.BaseAddress = _downstream.BaseAddress), order, hedged ? Hedging : Retries);
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("downstream");
        var prefix = hedged ? "/slow-first/flow-" : "/flaky/flow-";

        var traceIds = await Task.WhenAll(Enumerable.Range(0, flows).Select(n => Task.Run(async () =>
        {
            using var message = new Activity("message").SetIdFormat(ActivityIdFormat.W3C).Start();
            using (CorrelationContext.Begin($"flow-{n}"))
            {
                using var response = await client.GetAsync(prefix + n);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"flow-{n}");
            }
            return message.TraceId.ToHexString();
        })));

        for (var n = 0; n < flows; n++)
        {
            var attempts = AttemptsAt(prefix + n);
            Assert.That(attempts, Has.Length.EqualTo(hedged ? 2 : 3), $"flow-{n}");
            AssertEveryAttemptCarries(attempts, $"flow-{n}", traceIds[n]);
        }
    }
}
