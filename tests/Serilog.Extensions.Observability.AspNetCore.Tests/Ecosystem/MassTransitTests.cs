using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using MassTransit;
using MassTransit.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Answer = Serilog.Extensions.Observability.AspNetCore.Tests.Support.EndpointAnswer;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// MassTransit 8.5.12 with its in-memory transport in an API set up as the READMEs show: <c>AddObservability()</c> writing
/// CLEF to a RollingJson file, <c>UseCorrelation()</c>, <c>UseSerilogRequestLogging()</c>, on real Kestrel, with
/// <c>AddMassTransit()</c> and one receive endpoint that consumes one message at a time. A request publishes or sends a
/// message; the consumer logs through <c>ILogger&lt;T&gt;</c> and signals the test. Without filters a consumer's events
/// carry nothing of the request; with the README's filters (<see cref="CorrelationSendFilter{T}"/>,
/// <see cref="CorrelationConsumeFilter"/> and <see cref="ConsumeTimerFilter{T}"/>, registered by
/// <see cref="MessageCorrelationConfigurationExtensions.UseMessageCorrelation"/>) they carry the request's correlation
/// id. Asserted on the file's lines.
/// </summary>
[NonParallelizable] // Log.Logger and ActivityListeners are process-wide.
public class MassTransitTests
{
    const string UserHeader = EndpointAnswer.UserHeader;
    const string Queue = ReportConsumer.Queue;

    /// <summary>Where the application configures MassTransit's retry middleware (<c>UseMessageRetry</c>), if anywhere.</summary>
    public enum Retry
    {
        None,
        BusBeforeTheFilters,
        BusAfterTheFilters,
        EndpointsCallback,
        Consumer,
    }

    // The host's late logger (events after it is disposed) becomes Log.Logger; the next test must not inherit it.
    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    sealed class App(WebApplication web, TempFolder logs, MessageProbe probe) : IAsyncDisposable
    {
        bool _disposed;

        public MessageProbe Probe => probe;

        public IBus Bus => web.Services.GetRequiredService<IBus>();

        public HttpClient Client { get; } = new()
        {
            BaseAddress = new Uri(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()),
        };

        /// <summary>Stops the host (the bus stops its endpoints), which flushes and closes the file; its events.</summary>
        public async Task<List<JsonElement>> StopAndReadAsync()
        {
            await StopAsync();
            return LogFileEvents.Read(logs.Path);
        }

        async Task StopAsync()
        {
            if (_disposed) return;
            _disposed = true;
            Client.Dispose();
            await web.StopAsync();
            await web.DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await StopAsync();
            }
            finally
            {
                logs.Dispose();
            }
        }
    }

    static async Task<App> StartAsync(bool withFilters, Func<IDisposable>? startInside = null, bool publishFilter = true,
        int concurrentMessageLimit = 1, Retry retry = Retry.None, [CallerMemberName] string caller = "")
    {
        var logs = TempFolder.ForCaller(caller);
        var probe = new MessageProbe();
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Services.AddSingleton(probe);
        builder.Services.AddMassTransit(x =>
        {
            x.AddConsumer<ReportConsumer>((_, c) =>
            {
                if (retry == Retry.Consumer) c.UseMessageRetry(r => r.Immediate(2));
            }).Endpoint(e =>
            {
                e.Name = Queue;
                e.ConcurrentMessageLimit = concurrentMessageLimit;
            });
            if (retry == Retry.EndpointsCallback) x.AddConfigureEndpointsCallback((_, cfg) => cfg.UseMessageRetry(r => r.Immediate(2)));
            x.AddConsumer<ReportFaultConsumer>();
            x.AddConsumer<ReportStatusConsumer>();
            x.UsingInMemory((context, cfg) =>
            {
                if (retry == Retry.BusBeforeTheFilters) cfg.UseMessageRetry(r => r.Immediate(2));
                if (withFilters && publishFilter)
                {
                    cfg.UseMessageCorrelation(context);
                }
                else if (withFilters)
                {
                    // UseMessageCorrelation() without its publish filter.
                    cfg.UseSendFilter(typeof(CorrelationSendFilter<>), context);
                    cfg.AddPrePipeSpecification(new FilterPipeSpecification<ConsumeContext>(new CorrelationConsumeFilter()));
                    cfg.UseConsumeFilter(typeof(ConsumeTimerFilter<>), context);
                }
                if (retry == Retry.BusAfterTheFilters) cfg.UseMessageRetry(r => r.Immediate(2));
                cfg.ConfigureEndpoints(context);
            });
        });
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        // Authentication as far as UseCorrelation() is concerned: the request's user, from a header.
        app.Use((context, next) =>
        {
            if (context.Request.Headers.TryGetValue(UserHeader, out var user))
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", user.ToString())], "Test"));
            return next(context);
        });
        app.MapPost("/reports/{tag}", async (string tag, string? then, string? sendThen, bool? send, bool? fail, int? failAttempts,
            IPublishEndpoint publish, ISendEndpointProvider senders, ILogger<MassTransitTests> logger) =>
        {
            var message = new ReportRequested(tag) { Then = then, SendThen = sendThen, Fail = fail == true, FailAttempts = failAttempts ?? 0 };
            if (send == true) await (await senders.GetSendEndpoint(new Uri("queue:" + Queue))).Send(message);
            else await publish.Publish(message);
            logger.LogInformation("Requested report {Tag}", tag);
            return EndpointAnswer.Current();
        });
        app.MapPost("/status/{tag}", async (string tag, IRequestClient<ReportStatusRequest> client, ILogger<MassTransitTests> logger) =>
        {
            var response = await client.GetResponse<ReportStatus>(new ReportStatusRequest(tag));
            logger.LogInformation("Status of {Tag} answered in {ResponderCorrelationId}", tag, response.Message.CorrelationId ?? "none");
            return EndpointAnswer.Current();
        });
        using (startInside?.Invoke())
            await app.StartAsync();
        return new App(app, logs, probe);
    }

    static Task<Answer> PostAsync(App app, string path, string? correlationId = null, string? user = null) =>
        EndpointAnswer.PostAsync(app.Client, path, correlationId, user);

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    /// <summary>The event the consumer logged for <paramref name="tag"/>.</summary>
    static JsonElement Consumer(List<JsonElement> events, string tag) =>
        events.Single(e => Prop(e, "@mt") == ReportConsumer.Message && Prop(e, "Tag") == tag);

    /// <summary>The event the fault consumer logged for the <c>Fault&lt;T&gt;</c> of <paramref name="tag"/>.</summary>
    static JsonElement FaultConsumer(List<JsonElement> events, string tag) =>
        events.Single(e => Prop(e, "@mt") == ReportFaultConsumer.Message && Prop(e, "Tag") == tag);

    /// <summary>The timer summaries of the messages of type <typeparamref name="T"/>, in order.</summary>
    static List<JsonElement> Summaries<T>(List<JsonElement> events) =>
        events.Where(e => Prop(e, "Pipeline") == typeof(T).Name && e.TryGetProperty("Stages", out _)).ToList();

    [Test]
    public async Task WithoutFiltersAMessagePublishedOrSentDuringARequestIsConsumedWithNoneOfTheRequestsIds()
    {
        List<JsonElement> events;
        Consumed a, b;
        await using (var app = await StartAsync(withFilters: false))
        {
            await PostAsync(app, "/reports/a", "request-a", "ann");
            a = await app.Probe.WaitAsync("a");
            await PostAsync(app, "/reports/b?send=true", "request-b", "bob");
            b = await app.Probe.WaitAsync("b");
            events = await app.StopAndReadAsync();
        }

        var requested = events.Where(e => Prop(e, "@mt") == "Requested report {Tag}").ToList();
        Assert.Multiple(() =>
        {
            // The requests' own events have their ids: what the consumers could have carried.
            Assert.That(requested.Select(e => Prop(e, "CorrelationId")), Is.EqualTo(new[] { "request-a", "request-b" }));
            Assert.That(requested.Select(e => Prop(e, "UserId")), Is.EqualTo(new[] { "ann", "bob" }));
            Assert.That(requested.Select(e => Prop(e, "TraceId")), Has.All.Not.Null);
            foreach (var tag in new[] { "a", "b" })
            {
                var consumed = Consumer(events, tag);
                Assert.That(consumed.TryGetProperty("CorrelationId", out _), Is.False, tag);
                Assert.That(consumed.TryGetProperty("UserId", out _), Is.False, tag);
                Assert.That(consumed.TryGetProperty("TraceId", out _), Is.False, tag);
            }
            // Nor did the consumers run inside them: MassTransit does not flow the publisher's execution context.
            Assert.That(a, Is.EqualTo(new Consumed("a", null, null, null)));
            Assert.That(b, Is.EqualTo(new Consumed("b", null, null, null)));
        });
    }

    [TestCase(false, TestName = "{m}(without filters)")]
    [TestCase(true, TestName = "{m}(with the README's filters)")]
    public async Task ScopesAConsumerLeavesOpenDoNotReachTheNextMessage(bool withFilters)
    {
        List<JsonElement> events;
        Consumed next;
        await using (var app = await StartAsync(withFilters))
        {
            await app.Bus.Publish(new ReportRequested("leaving") { LeaveCorrelationOpen = "left-open", LeaveUserOpen = "carl" });
            await app.Probe.WaitAsync("leaving");
            await app.Bus.Publish(new ReportRequested("next"));
            next = await app.Probe.WaitAsync("next");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(Prop(Consumer(events, "leaving"), "CorrelationId"), Is.EqualTo("left-open"));
            Assert.That(Prop(Consumer(events, "leaving"), "UserId"), Is.EqualTo("carl"));
            Assert.That(Prop(Consumer(events, "next"), "CorrelationId"), withFilters ? Does.Match("^[0-9a-f]{32}$") : Is.Null);
            Assert.That(Prop(Consumer(events, "next"), "UserId"), Is.Null);
            Assert.That(next.CorrelationId, Is.EqualTo(Prop(Consumer(events, "next"), "CorrelationId")));
        });
    }

    [TestCase(false, TestName = "{m}(without filters)")]
    [TestCase(true, TestName = "{m}(with the README's filters)")]
    public async Task ABusStartedInsideScopesGivesItsConsumersThoseScopesUnlessTheFiltersOpenTheMessagesOwn(bool withFilters)
    {
        // The receive endpoints' loops are started with the execution context of the flow that starts the host, so a
        // Program.cs that starts the host inside scopes of its own gives every consumer that id and that user.
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters,
                         startInside: () => new Scopes(CorrelationContext.Begin("startup"), UserContext.Begin("startup-user"))))
        {
            await PostAsync(app, "/reports/a", "request-a", "ann");
            await app.Probe.WaitAsync("a");
            await app.Bus.Publish(new ReportRequested("b"));
            await app.Probe.WaitAsync("b");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(Prop(Consumer(events, "a"), "CorrelationId"), withFilters ? Is.EqualTo("request-a") : Is.EqualTo("startup"));
            Assert.That(Prop(Consumer(events, "b"), "CorrelationId"), withFilters ? Does.Match("^[0-9a-f]{32}$") : Is.EqualTo("startup"));
            Assert.That(Prop(Consumer(events, "a"), "UserId"), withFilters ? Is.Null : Is.EqualTo("startup-user"));
            Assert.That(Prop(Consumer(events, "b"), "UserId"), withFilters ? Is.Null : Is.EqualTo("startup-user"));
        });
    }

    [Test]
    public async Task WithTheFiltersAMessagePublishedOrSentDuringARequestIsConsumedWithThatRequestsCorrelationIdAndNoUser()
    {
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters: true))
        {
            await PostAsync(app, "/reports/a", "request-a", "ann");
            await app.Probe.WaitAsync("a");
            await PostAsync(app, "/reports/b?send=true", "request-b", "bob");
            await app.Probe.WaitAsync("b");
            await PostAsync(app, "/reports/c?then=c-child", "request-c");
            await app.Probe.WaitAsync("c-child");
            await PostAsync(app, "/reports/d?sendThen=d-child", "request-d");
            await app.Probe.WaitAsync("d-child");
            events = await app.StopAndReadAsync();
        }

        var summaries = Summaries<ReportRequested>(events);
        Assert.Multiple(() =>
        {
            Assert.That(Prop(Consumer(events, "a"), "CorrelationId"), Is.EqualTo("request-a"));
            Assert.That(Prop(Consumer(events, "b"), "CorrelationId"), Is.EqualTo("request-b"));
            Assert.That(Prop(Consumer(events, "c"), "CorrelationId"), Is.EqualTo("request-c"));
            Assert.That(Prop(Consumer(events, "c-child"), "CorrelationId"), Is.EqualTo("request-c"), "published by a consumer");
            Assert.That(Prop(Consumer(events, "d-child"), "CorrelationId"), Is.EqualTo("request-d"), "sent by a consumer");
            foreach (var tag in new[] { "a", "b", "c", "c-child", "d", "d-child" })
            {
                Assert.That(Prop(Consumer(events, tag), "UserId"), Is.Null, tag);
                Assert.That(Prop(Consumer(events, tag), "TraceId"), Is.Null, tag);
            }

            // The timer's summary of each message, in the message's correlation.
            Assert.That(summaries.Select(e => Prop(e, "CorrelationId")),
                Is.EqualTo(new[] { "request-a", "request-b", "request-c", "request-c", "request-d", "request-d" }));
            Assert.That(summaries.Select(e => Prop(e, "Outcome")), Has.All.EqualTo("completed"));
            Assert.That(summaries.Select(e => Prop(e, "@l")), Has.All.Null, "Information");
        });
    }

    [Test]
    public async Task ASendFilterAloneDoesNotSeePublishedMessages()
    {
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters: true, publishFilter: false))
        {
            await PostAsync(app, "/reports/a", "request-a");
            await app.Probe.WaitAsync("a");
            await PostAsync(app, "/reports/b?send=true", "request-b");
            await app.Probe.WaitAsync("b");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(Prop(Consumer(events, "a"), "CorrelationId"), Does.Match("^[0-9a-f]{32}$"), "published: a new id");
            Assert.That(Prop(Consumer(events, "b"), "CorrelationId"), Is.EqualTo("request-b"), "sent");
        });
    }

    [Test]
    public async Task WithTheFiltersMessagesConsumedConcurrentlyEachLogTheirOwnRequestsCorrelationId()
    {
        const int Count = 16;
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters: true, concurrentMessageLimit: 8))
        {
            await Task.WhenAll(Enumerable.Range(0, Count).Select(i =>
                PostAsync(app, $"/reports/m{i}?then=m{i}-child", $"request-{i}", $"user-{i}")));
            await Task.WhenAll(Enumerable.Range(0, Count).Select(i => app.Probe.WaitAsync($"m{i}-child")));
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            for (var i = 0; i < Count; i++)
            {
                Assert.That(Prop(Consumer(events, $"m{i}"), "CorrelationId"), Is.EqualTo($"request-{i}"));
                Assert.That(Prop(Consumer(events, $"m{i}-child"), "CorrelationId"), Is.EqualTo($"request-{i}"));
                Assert.That(Prop(Consumer(events, $"m{i}"), "UserId"), Is.Null);
            }
        });
    }

    [Test]
    public async Task WithTheFiltersAMessagePublishedDuringARequestWithoutACorrelationHeaderCarriesTheRequestsTraceId()
    {
        Answer request;
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters: true))
        {
            request = await PostAsync(app, "/reports/a");
            await app.Probe.WaitAsync("a");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(request.TraceId, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(request.CorrelationId, Is.EqualTo(request.TraceId));
            Assert.That(Prop(Consumer(events, "a"), "CorrelationId"), Is.EqualTo(request.TraceId));
        });
    }

    [Test]
    public async Task WithTheFiltersMessagesPublishedOutsideAnyScopeGetAnIdEachAndAMessagePublishedByAConsumerGetsItsId()
    {
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters: true))
        {
            Assert.That(CorrelationContext.CurrentId, Is.Null);
            Assert.That(Activity.Current, Is.Null);
            await app.Bus.Publish(new ReportRequested("a"));
            await app.Probe.WaitAsync("a");
            await app.Bus.Publish(new ReportRequested("b") { Then = "b-child" });
            await app.Probe.WaitAsync("b-child");
            events = await app.StopAndReadAsync();
        }

        var a = Prop(Consumer(events, "a"), "CorrelationId");
        var b = Prop(Consumer(events, "b"), "CorrelationId");
        Assert.Multiple(() =>
        {
            Assert.That(a, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(b, Does.Match("^[0-9a-f]{32}$").And.Not.EqualTo(a));
            Assert.That(Prop(Consumer(events, "b-child"), "CorrelationId"), Is.EqualTo(b));
        });
    }

    [Test]
    public async Task WithTheFiltersAFailedMessagesSummaryIsAnErrorInItsCorrelationAndTheNextMessageHasAnIdOfItsOwn()
    {
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters: true))
        {
            await PostAsync(app, "/reports/fail-a?fail=true", "request-f");
            await app.Probe.WaitAsync("fail-a");
            await app.Probe.WaitAsync("fault:fail-a");
            await app.Bus.Publish(new ReportRequested("next"));
            await app.Probe.WaitAsync("next");
            events = await app.StopAndReadAsync();
        }

        var failed = Summaries<ReportRequested>(events).Single(e => Prop(e, "Outcome") == "failed");
        var fault = events.Single(e => Prop(e, "SourceContext") == "MassTransit.ReceiveTransport" && Prop(e, "@l") == "Error");
        Assert.Multiple(() =>
        {
            Assert.That(Prop(Consumer(events, "fail-a"), "CorrelationId"), Is.EqualTo("request-f"));
            Assert.That(Prop(failed, "CorrelationId"), Is.EqualTo("request-f"));
            Assert.That(Prop(failed, "@l"), Is.EqualTo("Error"));
            Assert.That(Prop(failed, "@x"), Does.Contain("The report failed."));
            Assert.That(Prop(Consumer(events, "next"), "CorrelationId"), Does.Match("^[0-9a-f]{32}$"));
            // MassTransit's own report of the fault is written inside the consume filter: it carries the message's id.
            Assert.That(Prop(fault, "@x"), Does.Contain("The report failed."));
            Assert.That(Prop(fault, "CorrelationId"), Is.EqualTo("request-f"));
            // The Fault<T> MassTransit publishes is consumed in the message's correlation.
            Assert.That(Prop(FaultConsumer(events, "fail-a"), "CorrelationId"), Is.EqualTo("request-f"));
            // Its summary is named with the type argument, not Fault`1.
            Assert.That(events.Where(e => Prop(e, "Pipeline") == "Fault<ReportRequested>" && e.TryGetProperty("Stages", out _))
                .Select(e => Prop(e, "CorrelationId")), Is.EqualTo(new[] { "request-f" }));
        });
    }

    [TestCase(Retry.BusBeforeTheFilters)]
    [TestCase(Retry.BusAfterTheFilters)]
    [TestCase(Retry.EndpointsCallback)]
    [TestCase(Retry.Consumer)]
    public async Task WithTheFiltersEveryAttemptOfARetriedMessageAndMassTransitsRetryAndFaultReportsCarryTheMessagesCorrelationId(Retry retry)
    {
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters: true, retry: retry))
        {
            // Immediate(2): three attempts. "once" fails the first, "always" every one.
            await PostAsync(app, "/reports/once?failAttempts=1", "request-once");
            await app.Probe.WaitAsync("once");
            await PostAsync(app, "/reports/always?failAttempts=3", "request-always");
            await app.Probe.WaitAsync("fault:always");
            // Sent outside any scope and trace: no header, a new id for the message.
            await app.Bus.Publish(new ReportRequested("unscoped") { FailAttempts = 1 });
            await app.Probe.WaitAsync("unscoped");
            await app.Bus.Publish(new ReportRequested("next"));
            await app.Probe.WaitAsync("next");
            events = await app.StopAndReadAsync();
        }

        List<JsonElement> Attempts(string tag) =>
            events.Where(e => Prop(e, "@mt") == ReportConsumer.AttemptMessage && Prop(e, "Tag") == tag).ToList();
        List<JsonElement> Reports(string level, string prefix) =>
            events.Where(e => Prop(e, "SourceContext") == "MassTransit.ReceiveTransport" && Prop(e, "@l") == level
                && Prop(e, "@mt")!.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var retries = Reports("Warning", "R-RETRY");
        var fault = Reports("Error", "R-FAULT").Single();
        var unscoped = Attempts("unscoped").Select(e => Prop(e, "CorrelationId")).Distinct().ToList();
        var next = Prop(Consumer(events, "next"), "CorrelationId");
        var outcomes = Summaries<ReportRequested>(events).Select(e => (Prop(e, "CorrelationId"), Prop(e, "Outcome"))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(Attempts("once").Select(e => Prop(e, "Attempt")), Is.EqualTo(new[] { "1", "2" }));
            Assert.That(Attempts("once").Select(e => Prop(e, "CorrelationId")), Has.All.EqualTo("request-once"));
            Assert.That(Attempts("always").Select(e => Prop(e, "Attempt")), Is.EqualTo(new[] { "1", "2", "3" }));
            Assert.That(Attempts("always").Select(e => Prop(e, "CorrelationId")), Has.All.EqualTo("request-always"));
            Assert.That(Prop(FaultConsumer(events, "always"), "CorrelationId"), Is.EqualTo("request-always"));
            Assert.That(Attempts("unscoped"), Has.Count.EqualTo(2));
            Assert.That(unscoped, Has.Count.EqualTo(1), "one new id for all of a message's attempts");
            Assert.That(unscoped, Has.All.Match("^[0-9a-f]{32}$"));
            Assert.That(next, Does.Match("^[0-9a-f]{32}$").And.Not.EqualTo(unscoped.FirstOrDefault()));
            // MassTransit's own reports of the retry and of the fault are in the message's correlation, wherever the
            // retry is configured.
            Assert.That(retries.Select(e => Prop(e, "CorrelationId")),
                Is.EqualTo(new[] { "request-once", "request-always", unscoped.FirstOrDefault() }),
                "one R-RETRY per message that failed an attempt");
            Assert.That(Prop(fault, "@x"), Does.Contain("Attempt 3 failed."));
            Assert.That(Prop(fault, "CorrelationId"), Is.EqualTo("request-always"));
            Assert.That(outcomes, Is.EqualTo(retry == Retry.Consumer
                // The retry runs inside the timer: one summary covers all of a message's attempts.
                ? new[]
                {
                    ("request-once", "completed"), ("request-always", "failed"),
                    (unscoped.FirstOrDefault(), "completed"), (next, "completed"),
                }
                // It runs outside it, whichever is configured first: each attempt passes the timer again (a summary
                // each).
                : new[]
                {
                    ("request-once", "failed"), ("request-once", "completed"),
                    ("request-always", "failed"), ("request-always", "failed"), ("request-always", "failed"),
                    (unscoped.FirstOrDefault(), "failed"), (unscoped.FirstOrDefault(), "completed"),
                    (next, "completed"),
                }));
        });
    }

    [TestCase(false, TestName = "{m}(without filters)")]
    [TestCase(true, TestName = "{m}(with the README's filters)")]
    public async Task ARequestClientsResponderCarriesTheRequestingHttpRequestsCorrelationIdWithTheFilters(bool withFilters)
    {
        Answer answer;
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters))
        {
            answer = await PostAsync(app, "/status/q", "request-q");
            events = await app.StopAndReadAsync();
        }

        var responder = events.Single(e => Prop(e, "@mt") == ReportStatusConsumer.Message);
        var answered = events.Single(e => Prop(e, "@mt")!.StartsWith("Status of", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(Prop(responder, "CorrelationId"), withFilters ? Is.EqualTo("request-q") : Is.Null);
            Assert.That(Prop(answered, "ResponderCorrelationId"), Is.EqualTo(withFilters ? "request-q" : "none"));
            // The endpoint resumes after the response in its own request's scope, with or without the filters.
            Assert.That(Prop(answered, "CorrelationId"), Is.EqualTo("request-q"));
            Assert.That(answer.CorrelationId, Is.EqualTo("request-q"));
        });
    }

    public static IEnumerable<TestCaseData> HostileHeaders()
    {
        yield return new TestCaseData("evil\r\n{\"UserId\":\"admin\"}").SetArgDisplayNames("a line break");
        yield return new TestCaseData("<script>evil</script>").SetArgDisplayNames("markup");
        yield return new TestCaseData(new string('e', 129)).SetArgDisplayNames("129 characters");
        yield return new TestCaseData(new Dictionary<string, string> { ["evil"] = "admin" }).SetArgDisplayNames("an object");
        yield return new TestCaseData(42).SetArgDisplayNames("a number");
    }

    [TestCaseSource(nameof(HostileHeaders))]
    public async Task WithTheFiltersAnInvalidIdInTheMessagesHeaderIsReplacedByANewIdAndNeverWritten(object hostile)
    {
        List<JsonElement> events;
        string file;
        await using (var app = await StartAsync(withFilters: true))
        {
            // Outside any scope and trace the send filter writes nothing: the header arrives as the publisher set it.
            await app.Bus.Publish(new ReportRequested("a"), context => context.Headers.Set(CorrelationPropagation.DefaultHeaderName, hostile));
            await app.Probe.WaitAsync("a");
            events = await app.StopAndReadAsync();
            file = string.Join("\n", events.Select(e => e.GetRawText()));
        }

        Assert.Multiple(() =>
        {
            Assert.That(Prop(Consumer(events, "a"), "CorrelationId"), Does.Match("^[0-9a-f]{32}$"));
            Assert.That(file, Does.Not.Contain("evil").And.Not.Contain("eeeeeeee"));
        });
    }

    [TestCase(false, TestName = "{m}(without filters)")]
    [TestCase(true, TestName = "{m}(with the README's filters)")]
    public async Task WithAListenerOnMassTransitsActivitySourceAConsumerJoinsThePublishingRequestsTrace(bool withFilters)
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        Answer request;
        List<JsonElement> events;
        await using (var app = await StartAsync(withFilters))
        {
            request = await PostAsync(app, "/reports/a", "request-a");
            await app.Probe.WaitAsync("a");
            events = await app.StopAndReadAsync();
        }

        var consumed = Consumer(events, "a");
        Assert.Multiple(() =>
        {
            Assert.That(request.TraceId, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(Prop(consumed, "TraceId"), Is.EqualTo(request.TraceId));
            // Without the filters, WithCorrelation() falls back to the trace id: the request's, not its correlation id.
            Assert.That(Prop(consumed, "CorrelationId"), Is.EqualTo(withFilters ? "request-a" : request.TraceId));
        });
    }

    [Test]
    public void TheReadmeShowsTheFiltersTestedHere() =>
        ReadmeCode.AssertSectionShows("## Messaging (MassTransit)", Path.Combine("Ecosystem", "CorrelationMessageFilters.cs"));
}
