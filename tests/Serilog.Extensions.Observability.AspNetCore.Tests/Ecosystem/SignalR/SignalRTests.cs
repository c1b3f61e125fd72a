using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Serilog.AspNetCore;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem.SignalR;

/// <summary>
/// ASP.NET Core SignalR (the shared framework's server, Microsoft.AspNetCore.SignalR.Client 10.0 on net10.0 and 8.0 on
/// net8.0) beside <c>AddObservability()</c>, <c>UseCorrelation()</c> and <c>UseSerilogRequestLogging()</c> on real
/// Kestrel, over each transport, asserted on the RollingJson file the host wrote. A SignalR connection is a negotiate
/// request (<c>POST /hub/negotiate</c>), then its transport's requests: one WebSocket (<c>GET</c>, 101) or one event
/// stream (<c>GET</c>, <c>text/event-stream</c>) for its whole life, with a <c>POST</c> per message the client sends
/// over server-sent events; or, with long polling, a <c>GET</c> per poll and a <c>POST</c> per message. The hub runs in
/// the flow of the connection's first transport request (the WebSocket, the event stream, the first poll).
/// </summary>
[NonParallelizable] // Each host's AddObservability() replaces the process-wide Log.Logger; SelfLog is process-wide.
public class SignalRTests
{
    const string CompletionSource = "Serilog.AspNetCore.RequestLoggingMiddleware";
    const string Connected = "Hub connected {Caller}";
    const string Echo = "Hub echo {Text}";
    const string Disconnected = "Hub disconnected {Caller}";

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    /// <summary>The client names itself in the query string; the completion events get it from there.</summary>
    static void NameTheCaller(RequestLoggingOptions o) =>
        o.EnrichDiagnosticContext = (diagnostics, context) => diagnostics.Set("Caller", context.Request.Query["caller"].ToString());

    static IEnumerable<JsonElement> CompletionsOf(IEnumerable<JsonElement> events, string caller) =>
        events.Where(e => Prop(e, "SourceContext") == CompletionSource && Prop(e, "Caller") == caller);

    static JsonElement NegotiateOf(IEnumerable<JsonElement> events, string caller) =>
        CompletionsOf(events, caller).Single(e => Prop(e, "RequestPath") == SignalRApp.HubPath + "/negotiate");

    /// <summary>The request the connection's hub runs in: the WebSocket, the event stream, or the first poll.</summary>
    static JsonElement ConnectionRequestOf(IEnumerable<JsonElement> events, string caller, HttpTransportType transport)
    {
        var gets = CompletionsOf(events, caller).Where(e => Prop(e, "RequestMethod") == "GET" && Prop(e, "RequestPath") == SignalRApp.HubPath);
        // A client has one poll open at a time: the first written is the first sent.
        return transport == HttpTransportType.LongPolling
            ? gets.OrderBy(e => e.GetProperty("@t").GetDateTimeOffset()).First()
            : gets.Single();
    }

    static IEnumerable<JsonElement> HubEvents(IEnumerable<JsonElement> events, string caller) =>
        events.Where(e => Prop(e, "@mt") is Connected or Disconnected && Prop(e, "Caller") == caller
            || Prop(e, "@mt") == Echo && Prop(e, "Text")!.StartsWith(caller + "-", StringComparison.Ordinal));

    static Dictionary<string, string> CorrelationHeader(string id) => new() { ["X-Correlation-ID"] = id };

    static readonly HttpTransportType[] Transports = [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling];

    [TestCaseSource(nameof(Transports))]
    public async Task HubEventsCarryTheCorrelationIdOfTheRequestTheConnectionRunsInNotOfItsNegotiate(HttpTransportType transport)
    {
        List<JsonElement> events;
        await using (var app = await SignalRApp.StartAsync(NameTheCaller))
        {
            // One connection names its id; the other sends none, so each of its requests gets its own (its trace id).
            var a = await app.ConnectAsync("a", transport, CorrelationHeader("signalr-a"));
            var b = await app.ConnectAsync("b", transport);
            await a.InvokeAsync<string>("Echo", "a-1");
            await b.InvokeAsync<string>("Echo", "b-1");
            await a.InvokeAsync<string>("Echo", "a-2");
            await b.InvokeAsync<string>("Echo", "b-2");
            events = await app.StopAndReadAsync();
        }

        var connection = ConnectionRequestOf(events, "b", transport);
        var negotiate = NegotiateOf(events, "b");
        Assert.Multiple(() =>
        {
            foreach (var caller in new[] { "a", "b" })
            {
                var hubEvents = HubEvents(events, caller).ToList();
                Assert.That(hubEvents.Select(e => Prop(e, "@mt")), Is.EquivalentTo(new[] { Connected, Echo, Echo, Disconnected }), caller);
                Assert.That(hubEvents.Select(e => Prop(e, "CorrelationId")).Distinct(),
                    Is.EqualTo(new[] { Prop(ConnectionRequestOf(events, caller, transport), "CorrelationId") }), caller);
            }

            Assert.That(HubEvents(events, "a").Select(e => Prop(e, "CorrelationId")).Distinct(), Is.EqualTo(new[] { "signalr-a" }));
            Assert.That(Prop(connection, "CorrelationId"), Is.EqualTo(Prop(connection, "@tr")), "without a header, the request's trace id");
            Assert.That(Prop(negotiate, "CorrelationId"), Is.Not.EqualTo(Prop(connection, "CorrelationId")));

            var connectedEvent = HubEvents(events, "b").Single(e => Prop(e, "@mt") == Connected);
            Assert.That(Prop(connectedEvent, "@tr"), Is.EqualTo(Prop(connection, "@tr")), "OnConnectedAsync runs in the request's trace");
#if NET9_0_OR_GREATER
            // SignalR 9 and later start an activity of their own for each invocation (Microsoft.AspNetCore.SignalR.Server,
            // when logging or a listener is on), in a trace of its own: the hub method's events carry that trace, while
            // their CorrelationId stays the connection's.
            foreach (var echo in HubEvents(events, "b").Where(e => Prop(e, "@mt") == Echo))
            {
                Assert.That(Prop(echo, "@tr"), Is.Not.Null.And.Not.EqualTo(Prop(connection, "@tr")));
                Assert.That(Prop(echo, "TraceId"), Is.EqualTo(Prop(echo, "@tr")));
            }
#endif
        });
    }

    [TestCaseSource(nameof(Transports))]
    public async Task ConcurrentConnectionsNeverSeeEachOthersIdsDiagnosticPropertiesScopesOrStages(HttpTransportType transport)
    {
        const int Calls = 25;
        var selfLog = new List<string>();
        List<JsonElement> events;
        using (TemporarySelfLog.SaveTo(selfLog))
        await using (var app = await SignalRApp.StartAsync(NameTheCaller))
        {
            var x = await app.ConnectAsync("x", transport, CorrelationHeader("signalr-x"));
            var y = await app.ConnectAsync("y", transport, CorrelationHeader("signalr-y"));
            // The two connections' invocations interleave on the server.
            await Task.WhenAll(Enumerable.Range(0, Calls).SelectMany(i => new[]
            {
                x.InvokeAsync<string>("Echo", $"x-{i}"),
                y.InvokeAsync<string>("Echo", $"y-{i}"),
                x.InvokeAsync<string>("Scoped", $"x-{i}"),
                y.InvokeAsync<string>("Scoped", $"y-{i}"),
            })).WaitAsync(SignalRApp.Bound);
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            foreach (var caller in new[] { "x", "y" })
            {
                var id = "signalr-" + caller;
                Assert.That(HubEvents(events, caller).Count(e => Prop(e, "@mt") == Echo), Is.EqualTo(Calls), caller);
                Assert.That(HubEvents(events, caller).Select(e => Prop(e, "CorrelationId")).Distinct(), Is.EqualTo(new[] { id }), caller);
                Assert.That(CompletionsOf(events, caller).Select(e => Prop(e, "CorrelationId")).Distinct(), Is.EqualTo(new[] { id }), caller);
            }

            // A logger scope a hub method opened is on its own events only.
            var scoped = events.Where(e => Prop(e, "@mt") == "Hub scoped {Text}").ToList();
            Assert.That(scoped, Has.Count.EqualTo(2 * Calls));
            foreach (var e in scoped) Assert.That(Prop(e, "Scope"), Is.EqualTo(Prop(e, "Text")));
            Assert.That(events.Where(e => Prop(e, "@mt") != "Hub scoped {Text}" && Prop(e, "Scope") is not null), Is.Empty);

            // IDiagnosticContext.Set in a hub method, and the stages of a PipelineTimer run there, reach the completion
            // event of the request the hub runs in: the WebSocket's or the event stream's, each with its own
            // connection's only. A first poll has ended before them.
            var withEcho = events.Where(e => Prop(e, "LastEcho") is not null).ToList();
            var withStages = events.Where(e => Prop(e, "SourceContext") == CompletionSource && Prop(e, "Stages") is not null).ToList();
            if (transport == HttpTransportType.LongPolling)
            {
                Assert.That(withEcho, Is.Empty);
                Assert.That(withStages, Is.Empty);
            }
            else
            {
                Assert.That(withEcho.Select(e => Prop(e, "Caller")), Is.EquivalentTo(new[] { "x", "y" }));
                foreach (var e in withEcho) Assert.That(Prop(e, "LastEcho"), Does.StartWith(Prop(e, "Caller") + "-"));
                Assert.That(withStages.Select(e => Prop(e, "Caller")), Is.EquivalentTo(new[] { "x", "y" }));
                foreach (var e in withStages)
                    Assert.That(e.GetProperty("Stages").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "chat/" + Prop(e, "Caller") + "-stage" }));
            }

            Assert.That(selfLog, Is.Empty);
        });
    }

    static readonly SymmetricSecurityKey Key = new(RandomNumberGenerator.GetBytes(32)) { KeyId = "signalr-test-key" };

    static string TokenFor(string userId) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = "https://login.example/",
        Audience = "api://chat",
        Claims = new Dictionary<string, object> { ["sub"] = userId, ["tid"] = "tenant-" + userId },
        Expires = DateTime.UtcNow.AddMinutes(30),
        SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
    });

    // With IncludeQueryInRequestPath a connection's requests are written with their query, which holds SignalR's
    // connection token (?id=, which lets its holder read and send the connection's messages) and, from a browser, the
    // access token. Both are masked in RequestPath; SignalR's own events (Http.Connections at Debug) name the
    // connection by its id, which is no token, and write no query, but for the one that removes a connection.
    [TestCaseSource(nameof(Transports))]
    public async Task TheConnectionTokenAndTheAccessTokenInTheQueryAreMaskedWhileTheConnectionLives(HttpTransportType transport)
    {
        const string accessToken = "at-5e1f0c9a2b7d";
        var tokens = new System.Collections.Concurrent.ConcurrentQueue<string>();
        List<JsonElement> events;
        await using (var app = await SignalRApp.StartAsync(o =>
            {
                NameTheCaller(o);
                o.IncludeQueryInRequestPath = true;
            },
            afterRequestLogging: a => a.Use((context, next) =>
            {
                if (context.Request.Query["id"] is [{ } token]) tokens.Enqueue(token);
                return next(context);
            }),
            configuration: new Dictionary<string, string?>
            {
                ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Http.Connections"] = "Debug",
            }))
        {
            var ann = await app.ConnectAsync("ann", transport, query: "&access_token=" + accessToken);
            await ann.InvokeAsync<string>("Echo", "ann-1").WaitAsync(SignalRApp.Bound);
            events = await app.StopAndReadAsync();
        }

        var text = string.Join("\n", events.Select(e => e.GetRawText()));
        var connectionPaths = CompletionsOf(events, "ann").Select(e => Prop(e, "RequestPath")!)
            .Where(p => p.StartsWith(SignalRApp.HubPath + "?", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(tokens, Is.Not.Empty);
            Assert.That(events.Where(e => Prop(e, "SourceContext")?.StartsWith("Microsoft.AspNetCore.Http.Connections", StringComparison.Ordinal) == true),
                Is.Not.Empty, "SignalR's own events");
            Assert.That(connectionPaths, Is.Not.Empty);
            Assert.That(connectionPaths, Has.All.Contains("&id=[REDACTED]").And.All.Contains("access_token=[REDACTED]"));
            // SignalR names the connection by its token once, at Debug, as it removes it: the token opens nothing by then.
            foreach (var token in tokens.Distinct())
            {
                Assert.That(events.Where(e => e.GetRawText().Contains(token, StringComparison.Ordinal)).Select(e => Prop(e, "@mt")).Distinct(),
                    Is.EqualTo(new[] { "Removing connection {TransportConnectionId} from the list of connections." }).Or.Empty);
            }
            Assert.That(text, Does.Not.Contain(accessToken));
        });
    }

    // MapConnectionHandler's endpoints are SignalR's connections without a hub (the same dispatcher, the same ?id= token
    // on each poll and each message sent): the token is masked there too.
    [Test]
    public async Task TheConnectionTokenOfAConnectionHandlerWithoutAHubIsMaskedToo()
    {
        var tokens = new System.Collections.Concurrent.ConcurrentQueue<string>();
        List<JsonElement> events;
        await using (var app = await SignalRApp.StartAsync(o =>
            {
                NameTheCaller(o);
                o.IncludeQueryInRequestPath = true;
            },
            afterRequestLogging: a =>
            {
                a.Use((context, next) =>
                {
                    if (context.Request.Path.StartsWithSegments("/raw") && context.Request.Query["id"] is [{ } token]) tokens.Enqueue(token);
                    return next(context);
                });
                a.MapConnectionHandler<EchoConnectionHandler>("/raw");
                a.MapGet("/orders", () => "ok");
            }))
        {
            // Elsewhere "id" is an ordinary id.
            using (var client = new HttpClient { BaseAddress = app.BaseAddress })
                (await client.GetAsync("/orders?caller=raw&id=42").WaitAsync(SignalRApp.Bound)).EnsureSuccessStatusCode();
            var connection = new HttpConnection(new HttpConnectionOptions
            {
                Url = new Uri(app.BaseAddress, "/raw?caller=raw"),
                Transports = HttpTransportType.LongPolling,
            }, loggerFactory: null);
            await using (connection)
            {
                await connection.StartAsync(TransferFormat.Text).WaitAsync(SignalRApp.Bound);
                await connection.Transport.Output.WriteAsync("hello"u8.ToArray()).AsTask().WaitAsync(SignalRApp.Bound);
                var echoed = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(SignalRApp.Bound);
                connection.Transport.Input.AdvanceTo(echoed.Buffer.End);
            }
            events = await app.StopAndReadAsync();
        }

        var paths = CompletionsOf(events, "raw").Select(e => Prop(e, "RequestPath")!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(tokens, Is.Not.Empty);
            Assert.That(paths.Where(p => p.StartsWith("/raw?", StringComparison.Ordinal)), Is.Not.Empty.And.All.Contains("&id=[REDACTED]"));
            Assert.That(paths, Does.Contain("/orders?caller=raw&id=42"));
            foreach (var token in tokens.Distinct()) Assert.That(paths, Has.None.Contains(token));
        });
    }

    /// <summary>A connection handler mapped without a hub: it writes back what it reads.</summary>
    public sealed class EchoConnectionHandler : ConnectionHandler
    {
        public override async Task OnConnectedAsync(ConnectionContext connection)
        {
            while (true)
            {
                var read = await connection.Transport.Input.ReadAsync();
                foreach (var segment in read.Buffer) await connection.Transport.Output.WriteAsync(segment);
                connection.Transport.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled) break;
            }
        }
    }

    [TestCaseSource(nameof(Transports))]
    public async Task AHubCallOfAnAuthenticatedUserCarriesThatUsersIdsAndNoOtherConnectionsUser(HttpTransportType transport)
    {
        List<JsonElement> events;
        await using (var app = await SignalRApp.StartAsync(NameTheCaller,
            services: builder =>
            {
                builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
                    o.TokenValidationParameters = new TokenValidationParameters
                    {
                        ValidIssuer = "https://login.example/",
                        ValidAudience = "api://chat",
                        IssuerSigningKey = Key,
                    });
                builder.Services.AddAuthorization();
            },
            afterRequestLogging: a =>
            {
                a.UseAuthentication();
                a.UseAuthorization();
            },
            hub: h => h.RequireAuthorization()))
        {
            var alice = await app.ConnectAsync("alice", transport, accessToken: () => Task.FromResult<string?>(TokenFor("user-alice")));
            var bob = await app.ConnectAsync("bob", transport, accessToken: () => Task.FromResult<string?>(TokenFor("user-bob")));
            await Task.WhenAll(Enumerable.Range(0, 10).SelectMany(i => new[]
            {
                alice.InvokeAsync<string>("Echo", $"alice-{i}"),
                bob.InvokeAsync<string>("Echo", $"bob-{i}"),
            })).WaitAsync(SignalRApp.Bound);
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            foreach (var caller in new[] { "alice", "bob" })
            {
                var hubEvents = HubEvents(events, caller).ToList();
                Assert.That(hubEvents, Has.Count.EqualTo(12), caller);
                Assert.That(hubEvents.Select(e => Prop(e, "UserId")).Distinct(), Is.EqualTo(new[] { "user-" + caller }), caller);
                Assert.That(hubEvents.Select(e => Prop(e, "TenantId")).Distinct(), Is.EqualTo(new[] { "tenant-user-" + caller }), caller);
                // Every request of the connection, negotiate included, is the user's.
                Assert.That(CompletionsOf(events, caller).Select(e => Prop(e, "UserId")).Distinct(), Is.EqualTo(new[] { "user-" + caller }), caller);
            }
        });
    }

    [TestCase(HttpTransportType.WebSockets, 101)]
    [TestCase(HttpTransportType.ServerSentEvents, 200)]
    public async Task AStreamingConnectionIsOneCompletionEventWrittenWhenItClosesWithItsLifetimeAsElapsedAndItsLastDiagnosticValues(
        HttpTransportType transport, int status)
    {
        List<JsonElement> events;
        double lifetimeSeenByTheClient;
        await using (var app = await SignalRApp.StartAsync(NameTheCaller))
        {
            var c = await app.ConnectAsync("c", transport);
            // The server's request began before StartAsync returned and ends after StopAsync began: its Elapsed spans this.
            var open = Stopwatch.StartNew();
            for (var i = 0; i < 3; i++) await c.InvokeAsync<string>("Echo", $"c-{i}");
            lifetimeSeenByTheClient = open.Elapsed.TotalMilliseconds;
            events = await app.StopAndReadAsync();
        }

        var connection = ConnectionRequestOf(events, "c", transport);
        var completions = CompletionsOf(events, "c").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(Prop(connection, "StatusCode"), Is.EqualTo(status.ToString()));
            Assert.That(connection.TryGetProperty("@l", out _), Is.False, "Information");
            Assert.That(connection.GetProperty("Elapsed").GetDouble(), Is.GreaterThanOrEqualTo(lifetimeSeenByTheClient));
            Assert.That(Prop(connection, "LastEcho"), Is.EqualTo("c-2"), "the last value a hub method set");
            // Written once the hub has seen the connection go.
            Assert.That(events.IndexOf(connection), Is.GreaterThan(events.FindIndex(e => Prop(e, "@mt") == Disconnected)));
            Assert.That(Prop(NegotiateOf(events, "c"), "StatusCode"), Is.EqualTo("200"));
            // Over WebSockets the negotiate and the socket are the whole connection; server-sent events add a POST per
            // message the client sends (its handshake, each invocation, and its close).
            var sends = completions.Count(e => Prop(e, "RequestMethod") == "POST" && Prop(e, "RequestPath") == SignalRApp.HubPath);
            if (transport == HttpTransportType.WebSockets) Assert.That(sends, Is.Zero);
            else Assert.That(sends, Is.GreaterThanOrEqualTo(4));
            Assert.That(completions, Has.Count.EqualTo(2 + sends));
        });
    }

    // The client's stop sends a close message, then a DELETE unless the server's answer to the close (the open poll
    // ending with 204) reaches it first: 0 or 1 DELETE, as the client's race goes. What is asserted is what the server
    // got: one completion event for each request of the connection that reached it.
    [Test]
    public async Task ALongPollingConnectionIsACompletionEventPerPollAndPerMessageSent()
    {
        List<JsonElement> events;
        var received = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await using (var app = await SignalRApp.StartAsync(NameTheCaller, afterRequestLogging: a => a.Use((context, next) =>
        {
            if (context.Request.Query["caller"] == "c") received.AddOrUpdate(context.Request.Method, 1, (_, n) => n + 1);
            return next(context);
        })))
        {
            var c = await app.ConnectAsync("c", HttpTransportType.LongPolling);
            for (var i = 0; i < 3; i++) await c.InvokeAsync<string>("Echo", $"c-{i}");
            events = await app.StopAndReadAsync();
        }

        var completions = CompletionsOf(events, "c").ToList();
        var polls = completions.Where(e => Prop(e, "RequestMethod") == "GET").ToList();
        var sends = completions.Where(e => Prop(e, "RequestMethod") == "POST" && Prop(e, "RequestPath") == SignalRApp.HubPath).ToList();
        Assert.Multiple(() =>
        {
            // The first poll returns at once; then one returns with each result (and the handshake's answer), and the last
            // one when the connection ends.
            Assert.That(polls, Has.Count.GreaterThanOrEqualTo(4));
            Assert.That(sends, Has.Count.GreaterThanOrEqualTo(4), "the handshake, three invocations (and the client's close)");
            Assert.That(completions.GroupBy(e => Prop(e, "RequestMethod")!).ToDictionary(g => g.Key, g => g.Count()),
                Is.EquivalentTo(received), "one event per request the server got");
            Assert.That(completions.Count(e => Prop(e, "RequestMethod") == "DELETE"), Is.LessThanOrEqualTo(1), "the client's stop");
            Assert.That(completions.Select(e => Prop(e, "LastEcho")), Has.All.Null, "the first poll had ended");
            Assert.That(completions.Where(e => e.TryGetProperty("@l", out _)), Is.Empty, "all at Information");
        });
    }

    [Test]
    public async Task TheSlowRequestThresholdLeavesLongPollsAtInformation()
    {
        List<JsonElement> events;
        // Every request is slow by this threshold: only those long-lived by design are left out.
        await using (var app = await SignalRApp.StartAsync(o =>
        {
            NameTheCaller(o);
            o.SlowRequestThreshold = TimeSpan.FromTicks(1);
        }))
        {
            var c = await app.ConnectAsync("c", HttpTransportType.LongPolling);
            for (var i = 0; i < 3; i++) await c.InvokeAsync<string>("Echo", $"c-{i}");
            events = await app.StopAndReadAsync();
        }

        var completions = CompletionsOf(events, "c").ToList();
        Assert.Multiple(() =>
        {
            var polls = completions.Where(e => Prop(e, "RequestMethod") == "GET").ToList();
            Assert.That(polls, Is.Not.Empty);
            Assert.That(polls.Select(e => Prop(e, "@l")), Has.All.Null, "a poll waits for a message by design");
            Assert.That(Prop(NegotiateOf(events, "c"), "@l"), Is.EqualTo("Warning"), "the threshold is on");
        });
    }

    [TestCase(HttpTransportType.WebSockets, new[] { "POST /hubs/chat/negotiate", "GET /hubs/chat" })]
    [TestCase(HttpTransportType.ServerSentEvents, new[] { "POST /hubs/chat/negotiate", "GET /hubs/chat" })]
    [TestCase(HttpTransportType.LongPolling, new[] { "POST /hubs/chat/negotiate" })]
    public async Task TheReadmesRecipeLeavesAConnectionItsNegotiateAndItsStreamButNotARequestPerMessage(HttpTransportType transport, string[] kept)
    {
        List<JsonElement> events;
        await using (var app = await SignalRApp.StartAsync(o =>
        {
            NameTheCaller(o);
            SignalRRequestLevels.MessagesAtDebug(o);
        }))
        {
            var c = await app.ConnectAsync("c", transport);
            for (var i = 0; i < 3; i++) await c.InvokeAsync<string>("Echo", $"c-{i}");
            // A message for a connection the server does not know: refused, but not a failure of the server.
            using var client = new HttpClient { BaseAddress = app.BaseAddress };
            using var unknown = await client.PostAsync(SignalRApp.HubPath + "?caller=stranger&id=unknown", null).WaitAsync(SignalRApp.Bound);
            Assert.That((int)unknown.StatusCode, Is.EqualTo(404));
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(CompletionsOf(events, "c").Select(e => Prop(e, "RequestMethod") + " " + Prop(e, "RequestPath")), Is.EqualTo(kept));
            Assert.That(CompletionsOf(events, "stranger"), Is.Empty);
            Assert.That(HubEvents(events, "c").Count(e => Prop(e, "@mt") == Echo), Is.EqualTo(3), "the hub's own events stay");
        });
    }

    [Test]
    public void TheReadmeShowsTheRecipeTestedHere() =>
        ReadmeCode.AssertSectionShows("## SignalR", Path.Combine("Ecosystem", "SignalR", "SignalRRequestLevels.cs"), ReadmeCode.PackageReadme);

    [TestCaseSource(nameof(Transports))]
    public async Task AnExceptionAHubMethodThrowsIsSignalRsOneErrorEventWithTheConnectionsIdsAndTheConnectionStaysASuccess(HttpTransportType transport)
    {
        var selfLog = new List<string>();
        List<JsonElement> events;
        using (TemporarySelfLog.SaveTo(selfLog))
        await using (var app = await SignalRApp.StartAsync(NameTheCaller))
        {
            var c = await app.ConnectAsync("c", transport, CorrelationHeader("signalr-c"));
            // The client gets a generic error (the exception's message only with EnableDetailedErrors) and stays connected.
            Assert.ThrowsAsync<HubException>(() => c.InvokeAsync<string>("Fail", "c-1").WaitAsync(SignalRApp.Bound));
            Assert.That(await c.InvokeAsync<string>("Echo", "c-2"), Is.EqualTo("c-2"));
            events = await app.StopAndReadAsync();
        }

        var failing = events.Single(e => Prop(e, "@mt") == "Hub failing {Text}");
        var errors = events.Where(e => Prop(e, "@l") == "Error").ToList();
        Assert.Multiple(() =>
        {
            // Written by SignalR's hub dispatcher, at Error, so AddObservability()'s Warning for Microsoft.AspNetCore keeps it.
            Assert.That(errors, Has.Count.EqualTo(1));
            var error = errors.Single();
            Assert.That(Prop(error, "SourceContext"), Does.StartWith("Microsoft.AspNetCore.SignalR"));
            Assert.That(Prop(error, "@x"), Does.StartWith("System.InvalidOperationException: The order store is gone"));
            Assert.That(Prop(error, "CorrelationId"), Is.EqualTo("signalr-c"));
            Assert.That(Prop(error, "@tr"), Is.EqualTo(Prop(failing, "@tr")), "the invocation's trace");
            // The completion events see no failure: the connection went on.
            Assert.That(CompletionsOf(events, "c").Where(e => e.TryGetProperty("@l", out _) || e.TryGetProperty("@x", out _)), Is.Empty);
            Assert.That(selfLog, Is.Empty);
        });
    }

    [TestCaseSource(nameof(Transports))]
    public async Task DisposingTheHostWithOpenConnectionsLosesNothingAndThrowsNothing(HttpTransportType transport)
    {
        var selfLog = new List<string>();
        List<JsonElement> events;
        using (TemporarySelfLog.SaveTo(selfLog))
        await using (var app = await SignalRApp.StartAsync(NameTheCaller))
        {
            var a = await app.ConnectAsync("a", transport, CorrelationHeader("signalr-a"));
            var b = await app.ConnectAsync("b", transport, CorrelationHeader("signalr-b"));
            await a.InvokeAsync<string>("Echo", "a-1");
            await b.InvokeAsync<string>("Echo", "b-1");
            events = await app.StopAndReadAsync(stopConnections: false);
        }

        Assert.Multiple(() =>
        {
            foreach (var caller in new[] { "a", "b" })
            {
                Assert.That(HubEvents(events, caller).Select(e => Prop(e, "@mt")), Is.EqualTo(new[] { Connected, Echo, Disconnected }), caller);
                Assert.That(HubEvents(events, caller).Select(e => Prop(e, "CorrelationId")).Distinct(), Is.EqualTo(new[] { "signalr-" + caller }), caller);
                var connection = ConnectionRequestOf(events, caller, transport);
                Assert.That(Prop(connection, "CorrelationId"), Is.EqualTo("signalr-" + caller));
                // The server closed it: a success, at Information, without an exception.
                Assert.That(Prop(connection, "@l") ?? Prop(connection, "@x"), Is.Null, caller);
                if (transport != HttpTransportType.LongPolling) Assert.That(Prop(connection, "LastEcho"), Is.EqualTo(caller + "-1"));
            }

            Assert.That(selfLog, Is.Empty);
        });
    }
}
