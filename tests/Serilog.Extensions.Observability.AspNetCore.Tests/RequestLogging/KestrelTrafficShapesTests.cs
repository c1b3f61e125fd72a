using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.AspNetCore;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.RequestLogging;

/// <summary>
/// <c>UseCorrelation()</c> and <c>UseSerilogRequestLogging()</c> on real Kestrel under the traffic it sees besides plain
/// request and response: HTTP/2 streams sharing a connection, responses streamed over time, clients that leave during
/// a download, an upload or a WebSocket, HEAD, 204 and 304, re-executed status pages, endpoint metadata.
/// </summary>
public class KestrelTrafficShapesTests
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    WaitingSink _sink = null!;
    Logger _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _sink = new WaitingSink();
        _logger = TestWeb.CreateLogger(_sink);
    }

    [TearDown]
    public void TearDown() => _logger.Dispose();

    async Task<RunningApp> StartAsync(Action<WebApplication> endpoints, Action<RequestLoggingOptions>? configure = null,
        HttpProtocols protocols = HttpProtocols.Http1AndHttp2, Action<WebApplication>? before = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = protocols)).UseUrls("http://127.0.0.1:0");
        DiagnosticContextRegistration.Add(builder.Services, _logger);
        var app = builder.Build();
        before?.Invoke(app);
        app.UseCorrelation(o => o.Logger = _logger);
        app.UseSerilogRequestLogging(o =>
        {
            o.Logger = _logger;
            configure?.Invoke(o);
        });
        endpoints(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new RunningApp(app, new Uri(address));
    }

    static bool IsCompletion(LogEvent e) => e.Properties.ContainsKey("StatusCode") && e.Properties.ContainsKey("Elapsed");

    static object? Value(LogEvent e, string name) => ((ScalarValue)e.Properties[name]).Value;

    static HttpRequestMessage Request(HttpMethod method, string path, string id, Version? version = null) =>
        new(method, path)
        {
            Headers = { { "X-Correlation-ID", id } },
            Version = version ?? HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    /// <summary>Stops the app, which waits for its requests to end, and returns every completion event written.</summary>
    async Task<LogEvent[]> CompletionsAfterStopAsync(RunningApp app)
    {
        await app.DisposeAsync();
        return _sink.Events.Where(IsCompletion).ToArray();
    }

    /// <summary>
    /// Waits until the server has cancelled <see cref="HttpContext.RequestAborted"/>: Kestrel cancels it on the thread
    /// pool after it has seen the client go, so a handler may fail for the lost connection before that.
    /// </summary>
    static async Task ClientGoneAsync(HttpContext context)
    {
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (context.RequestAborted.Register(() => gone.TrySetResult()))
            await gone.Task.WaitAsync(Bound);
    }

    [Test]
    public async Task ConcurrentHttp2StreamsOnOneConnectionEachKeepTheirOwnId()
    {
        const int streams = 40;
        var arrived = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(a => a.MapGet("/h2", async () =>
            {
                // Every stream is open at once before any is answered.
                if (Interlocked.Increment(ref arrived) == streams) all.SetResult();
                await all.Task.WaitAsync(Bound);
                return "ok";
            }),
            o => o.EnrichDiagnosticContext = (d, ctx) => d.Set("Protocol", ctx.Request.Protocol),
            HttpProtocols.Http2);
        using var client = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = false }) { BaseAddress = app.BaseAddress };
        var ids = Enumerable.Range(0, streams).Select(i => $"h2-stream-{i}").ToArray();

        var responses = await Task.WhenAll(ids.Select(id => client.SendAsync(Request(HttpMethod.Get, "/h2", id, HttpVersion.Version20))));

        Assert.That(responses.Select(r => r.Version), Is.All.EqualTo(HttpVersion.Version20));
        Assert.That(responses.Select(r => r.Headers.GetValues("X-Correlation-ID").Single()), Is.EqualTo(ids));
        var events = _sink.WaitFor(IsCompletion, streams);
        Assert.That(events.Select(e => EventText.Scalar(e, "CorrelationId")), Is.EquivalentTo(ids));
        Assert.That(events.Select(e => EventText.Scalar(e, "Protocol")), Is.All.EqualTo("HTTP/2"));
        Assert.That(await CompletionsAfterStopAsync(app), Has.Length.EqualTo(streams));
    }

    [Test]
    public async Task AnHttp2StreamTheClientResetsIsLoggedAsClosedWhileItsNeighbourOnTheConnectionCompletes()
    {
        var resetArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(a => a.MapGet("/h2/{name}", async (string name, HttpContext ctx) =>
            {
                if (name == "kept") return "kept";
                resetArrived.SetResult();
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
                return "never";
            }),
            o => o.LogAbortedRequestsAsClientClosed = true,
            HttpProtocols.Http2);
        using var client = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = false }) { BaseAddress = app.BaseAddress };
        using var cts = new CancellationTokenSource();

        var reset = client.SendAsync(Request(HttpMethod.Get, "/h2/reset", "h2-reset", HttpVersion.Version20), cts.Token);
        await resetArrived.Task.WaitAsync(Bound);
        // A second stream on the same connection, answered while the first is still open.
        using var kept = await client.SendAsync(Request(HttpMethod.Get, "/h2/kept", "h2-kept", HttpVersion.Version20));
        cts.Cancel();
        Assert.That(async () => await reset, Throws.InstanceOf<OperationCanceledException>());

        Assert.That(await kept.Content.ReadAsStringAsync(), Is.EqualTo("kept"));
        Assert.That(kept.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("h2-kept"));
        var resetEvent = _sink.WaitForCompletion("/h2/reset");
        Assert.That(Value(resetEvent, "StatusCode"), Is.EqualTo(499));
        Assert.That(EventText.Scalar(resetEvent, "CorrelationId"), Is.EqualTo("h2-reset"));
        Assert.That(EventText.Scalar(_sink.WaitFor(e => EventText.Scalar(e, "CorrelationId") == "h2-kept" && IsCompletion(e)).Single(), "StatusCode"), Is.EqualTo("200"));
        Assert.That(await CompletionsAfterStopAsync(app), Has.Length.EqualTo(2));
    }

    [Test]
    public async Task AStreamedResponseIsLoggedOnceWhenItEndsAndItsFirstChunkCarriesTheId()
    {
        const int chunks = 5;
        var acknowledged = new SemaphoreSlim(0);
        var streamed = TimeSpan.Zero;
        await using var app = await StartAsync(a => a.MapGet("/sse", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/event-stream";
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < chunks; i++)
            {
                await ctx.Response.WriteAsync($"data: {i}\n\n");
                await ctx.Response.Body.FlushAsync();
                // The next chunk only once the client has read this one: the response spans the whole exchange.
                if (!await acknowledged.WaitAsync(Bound)) throw new TimeoutException();
            }
            streamed = watch.Elapsed;
        }));
        using var client = app.CreateClient();

        using var response = await client.SendAsync(Request(HttpMethod.Get, "/sse", "sse-1"), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("sse-1"));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        for (var i = 0; i < chunks; i++)
        {
            Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo($"data: {i}"));
            await reader.ReadLineAsync().WaitAsync(Bound);
            Assert.That(_sink.Events.Where(IsCompletion), Is.Empty, "no completion event while the response streams");
            acknowledged.Release();
        }
        Assert.That(await reader.ReadToEndAsync().WaitAsync(Bound), Is.Empty);

        var evt = _sink.WaitForCompletion("/sse");
        Assert.That(Value(evt, "StatusCode"), Is.EqualTo(200));
        Assert.That((double)Value(evt, "Elapsed")!, Is.GreaterThanOrEqualTo(streamed.TotalMilliseconds));
        Assert.That(EventText.Scalar(evt, "CorrelationId"), Is.EqualTo("sse-1"));
        Assert.That(await CompletionsAfterStopAsync(app), Has.Length.EqualTo(1));
    }

    // A producer that stops quietly when the client has gone (the usual server-sent events loop), and one that lets
    // the cancellation escape.
    [TestCase(false, false, 200, LogEventLevel.Information)]
    [TestCase(false, true, 499, LogEventLevel.Information)]
    [TestCase(true, false, 500, LogEventLevel.Error)]
    [TestCase(true, true, 499, LogEventLevel.Information)]
    public async Task AStreamTheClientLeavesIsLoggedOnce(bool throwOnAbort, bool preset, int status, LogEventLevel level)
    {
        await using var app = await StartAsync(a => a.MapGet("/feed", async (HttpContext ctx) =>
            {
                ctx.Response.ContentType = "text/event-stream";
                await ctx.Response.WriteAsync("data: 0\n\n");
                await ctx.Response.Body.FlushAsync();
                try
                {
                    await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
                }
                catch (OperationCanceledException) when (!throwOnAbort)
                {
                }
            }),
            o => o.LogAbortedRequestsAsClientClosed = preset);
        // No draining of the unread response on disposal: the connection closes at once.
        var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = app.BaseAddress };

        var response = await client.SendAsync(Request(HttpMethod.Get, "/feed", "feed-1"), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("feed-1"));
        var stream = await response.Content.ReadAsStreamAsync();
        Assert.That(await stream.ReadAsync(new byte[64]).AsTask().WaitAsync(Bound), Is.GreaterThan(0));
        response.Dispose();
        client.Dispose();

        var evt = _sink.WaitForCompletion("/feed");
        Assert.That(Value(evt, "StatusCode"), Is.EqualTo(status));
        Assert.That(evt.Level, Is.EqualTo(level));
        Assert.That(EventText.Scalar(evt, "CorrelationId"), Is.EqualTo("feed-1"));
        Assert.That(await CompletionsAfterStopAsync(app), Has.Length.EqualTo(1));
    }

    [TestCase(false, 500, LogEventLevel.Error)]
    [TestCase(true, 499, LogEventLevel.Information)]
    public async Task AnUploadTheClientAbandonsIsLoggedOnce(bool preset, int status, LogEventLevel level)
    {
        var partReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(a => a.MapPost("/upload", async (HttpContext ctx) =>
            {
                var buffer = new byte[1024];
                try
                {
                    while (await ctx.Request.Body.ReadAsync(buffer) > 0) partReceived.TrySetResult();
                }
                catch (Microsoft.AspNetCore.Http.BadHttpRequestException)
                {
                    // "Unexpected end of request content": the server has seen the client go.
                    await ClientGoneAsync(ctx);
                    throw;
                }
                return "done";
            }),
            o => o.LogAbortedRequestsAsClientClosed = preset);
        using var client = app.CreateClient();
        using var cts = new CancellationTokenSource();
        using var request = Request(HttpMethod.Post, "/upload", "upload-1");
        request.Content = new AbandonedUpload(partReceived.Task, cts);

        Assert.That(async () => await client.SendAsync(request, cts.Token), Throws.InstanceOf<OperationCanceledException>());

        var evt = _sink.WaitForCompletion("/upload");
        Assert.That(Value(evt, "StatusCode"), Is.EqualTo(status));
        Assert.That(evt.Level, Is.EqualTo(level));
        Assert.That(EventText.Scalar(evt, "CorrelationId"), Is.EqualTo("upload-1"));
        Assert.That(await CompletionsAfterStopAsync(app), Has.Length.EqualTo(1));
    }

    /// <summary>Sends and flushes the first 100 of 1,000,000 bytes, then cancels the upload once the server has them.</summary>
    sealed class AbandonedUpload(Task serverHasAPart, CancellationTokenSource cancel) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, default);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(new byte[100], cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await serverHasAPart.WaitAsync(Bound, cancellationToken);
            cancel.Cancel();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 1_000_000;
            return true;
        }
    }

    [Test]
    public async Task HeadNoContentAndNotModifiedAreLoggedWithTheirStatusAndCarryTheId()
    {
        await using var app = await StartAsync(a =>
        {
            a.MapMethods("/doc", ["GET", "HEAD"], () => "document body");
            a.MapDelete("/doc", () => Results.NoContent());
            // Results.StatusCode writes no body: a lambda that returns the int it assigned has it written as the body,
            // which a 304 cannot have (Kestrel 8 throws, so the request ends in an exception).
            a.MapGet("/cached", () => Results.StatusCode(StatusCodes.Status304NotModified));
        });
        using var client = app.CreateClient();

        using var head = await client.SendAsync(Request(HttpMethod.Head, "/doc", "head-1"));
        using var deleted = await client.SendAsync(Request(HttpMethod.Delete, "/doc", "delete-1"));
        using var cached = await client.SendAsync(Request(HttpMethod.Get, "/cached", "cached-1"));

        Assert.That(new[] { head.StatusCode, deleted.StatusCode, cached.StatusCode },
            Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.NoContent, HttpStatusCode.NotModified }));
        Assert.That(new[] { head, deleted, cached }.Select(r => r.Headers.GetValues("X-Correlation-ID").Single()),
            Is.EqualTo(new[] { "head-1", "delete-1", "cached-1" }));
        var events = _sink.WaitFor(IsCompletion, 3);
        Assert.That(events.Select(e => $"{EventText.Scalar(e, "RequestMethod")} {EventText.Scalar(e, "RequestPath")} {Value(e, "StatusCode")} {EventText.Scalar(e, "CorrelationId")}"),
            Is.EquivalentTo(new[] { "HEAD /doc 200 head-1", "DELETE /doc 204 delete-1", "GET /cached 304 cached-1" }));
    }

    // Kestrel accepts a request target in absolute form, userinfo included, and reports it as the raw target that
    // IncludeQueryInRequestPath writes; Serilog.AspNetCore writes the password as it came.
    [Test]
    public async Task WithTheQueryAnAbsoluteFormTargetsUserinfoIsMaskedInTheRequestPath()
    {
        var app = await StartAsync(a => a.MapGet("/p", () => "ok"), o => o.IncludeQueryInRequestPath = true);
        string response;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port).WaitAsync(Bound);
            var stream = tcp.GetStream();
            var authority = app.BaseAddress.Authority;
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"GET http://user:s3cret@{authority}/p?access_token=t0k&x=1 HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            response = await reader.ReadToEndAsync().WaitAsync(Bound);
        }

        Assert.That(response, Does.StartWith("HTTP/1.1 200"));
        var completion = (await CompletionsAfterStopAsync(app)).Single();
        Assert.That(EventText.Scalar(completion, "RequestPath"),
            Is.EqualTo($"http://[REDACTED]@{app.BaseAddress.Authority}/p?access_token=[REDACTED]&x=1"));
    }

    [Test]
    public async Task TheSlowRequestThresholdLeavesAServerSentEventStreamAtInformationButNotAPlainRequest()
    {
        await using var app = await StartAsync(a =>
            {
                a.MapGet("/events", async (HttpContext ctx) =>
                {
                    ctx.Response.ContentType = "text/event-stream; charset=utf-8";
                    await ctx.Response.WriteAsync("data: one\n\n");
                    await ctx.Response.Body.FlushAsync();
                    await ctx.Response.WriteAsync("data: two\n\n");
                });
                a.MapGet("/plain", () => "plain");
            },
            o => o.SlowRequestThreshold = TimeSpan.FromTicks(1));
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        Assert.That(await client.GetStringAsync("/events").WaitAsync(Bound), Is.EqualTo("data: one\n\ndata: two\n\n"));
        Assert.That(await client.GetStringAsync("/plain").WaitAsync(Bound), Is.EqualTo("plain"));

        Assert.That(_sink.WaitForCompletion("/events").Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(_sink.WaitForCompletion("/plain").Level, Is.EqualTo(LogEventLevel.Warning));
    }

    [Test]
    public async Task TheSlowRequestThresholdLeavesAGetWithoutARequestTimeoutAtInformationButNotAPostToTheSameEndpoint()
    {
        // What SignalR's connection endpoints declare: a long poll (a GET) waits for a message by design; a send (a
        // POST) to the same endpoint is an ordinary request.
        await using var app = await StartAsync(a =>
                a.MapMethods("/poll", ["GET", "POST"], () => "polled").DisableRequestTimeout(),
            o => o.SlowRequestThreshold = TimeSpan.FromTicks(1));
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        Assert.That(await client.GetStringAsync("/poll").WaitAsync(Bound), Is.EqualTo("polled"));
        _sink.WaitForCompletion("/poll");
        using var posted = await client.PostAsync("/poll", null).WaitAsync(Bound);

        var levels = _sink.WaitFor(e => IsCompletion(e) && Value(e, "RequestPath") as string == "/poll", count: 2)
            .ToDictionary(e => (string)Value(e, "RequestMethod")!, e => e.Level);
        Assert.That(levels, Is.EqualTo(new Dictionary<string, LogEventLevel> { ["GET"] = LogEventLevel.Information, ["POST"] = LogEventLevel.Warning }));
    }

    // HTTP/1.1 upgrades with 101; HTTP/2 opens the WebSocket with an extended CONNECT answered 200 (RFC 8441).
    [TestCase(HttpProtocols.Http1, 101)]
    [TestCase(HttpProtocols.Http2, 200)]
    public async Task AWebSocketIsLoggedOnceWhenItClosesAndItsHandshakeResponseCarriesTheId(HttpProtocols protocol, int status)
    {
        const int messages = 50;
        await using var app = await StartAsync(a => a.Map("/ws", async (HttpContext ctx, IDiagnosticContext diagnostics) =>
            {
                using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[256];
                var count = 0;
                while (true)
                {
                    var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                        return;
                    }
                    // One name for the whole connection, whatever the number of messages.
                    diagnostics.Set("Messages", ++count);
                    await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None);
                }
            }),
            // A WebSocket lasts as long as its client stays: the slow-request threshold leaves it at Information.
            configure: o => o.SlowRequestThreshold = TimeSpan.FromTicks(1),
            protocols: protocol,
            before: a => a.UseWebSockets());
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-Correlation-ID", "ws-1");
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.HttpVersion = protocol == HttpProtocols.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());

        await socket.ConnectAsync(new Uri($"ws://{app.BaseAddress.Authority}/ws"), invoker, CancellationToken.None).WaitAsync(Bound);
        Assert.That((int)socket.HttpStatusCode, Is.EqualTo(status));
        Assert.That(socket.HttpResponseHeaders!["X-Correlation-ID"].Single(), Is.EqualTo("ws-1"));
        var reply = new byte[256];
        for (var i = 0; i < messages; i++)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes($"m{i}"), WebSocketMessageType.Text, true, CancellationToken.None);
            var r = await socket.ReceiveAsync(reply, CancellationToken.None).WaitAsync(Bound);
            Assert.That(Encoding.UTF8.GetString(reply, 0, r.Count), Is.EqualTo($"m{i}"));
        }
        Assert.That(_sink.Events.Where(IsCompletion), Is.Empty, "no completion event while the WebSocket is open");
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WaitAsync(Bound);

        var evt = _sink.WaitForCompletion("/ws");
        Assert.That(Value(evt, "StatusCode"), Is.EqualTo(status));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(Value(evt, "Messages"), Is.EqualTo(messages));
        Assert.That(evt.Properties.Keys, Is.EquivalentTo(new[] { "Messages", "RequestMethod", "RequestPath", "StatusCode", "Elapsed", "SourceContext", "CorrelationId" }));
        Assert.That(EventText.Scalar(evt, "CorrelationId"), Is.EqualTo("ws-1"));
        Assert.That(await CompletionsAfterStopAsync(app), Has.Length.EqualTo(1));
    }

    [TestCase(HttpProtocols.Http1, false, 500, LogEventLevel.Error)]
    [TestCase(HttpProtocols.Http1, true, 499, LogEventLevel.Information)]
    [TestCase(HttpProtocols.Http2, false, 500, LogEventLevel.Error)]
    [TestCase(HttpProtocols.Http2, true, 499, LogEventLevel.Information)]
    public async Task AWebSocketWhoseClientVanishesWithoutTheCloseHandshakeIsLoggedOnce(HttpProtocols protocol, bool preset, int status, LogEventLevel level)
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(a => a.Map("/ws", async (HttpContext ctx) =>
            {
                using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[256];
                try
                {
                    while (true)
                    {
                        await socket.ReceiveAsync(buffer, CancellationToken.None);
                        received.TrySetResult();
                    }
                }
                catch (WebSocketException)
                {
                    // "The remote party closed the WebSocket connection without completing the close handshake."
                    await ClientGoneAsync(ctx);
                    throw;
                }
            }),
            o => o.LogAbortedRequestsAsClientClosed = preset,
            protocol,
            before: a => a.UseWebSockets());
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-Correlation-ID", "ws-gone");
        socket.Options.HttpVersion = protocol == HttpProtocols.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        await socket.ConnectAsync(new Uri($"ws://{app.BaseAddress.Authority}/ws"), invoker, CancellationToken.None).WaitAsync(Bound);
        await socket.SendAsync(Encoding.UTF8.GetBytes("hello"), WebSocketMessageType.Text, true, CancellationToken.None);
        await received.Task.WaitAsync(Bound);

        socket.Abort();
        socket.Dispose();

        var evt = _sink.WaitForCompletion("/ws");
        Assert.That(Value(evt, "StatusCode"), Is.EqualTo(status));
        Assert.That(evt.Level, Is.EqualTo(level));
        // With the preset the client's leaving is no failure: the event carries no exception.
        Assert.That(evt.Exception, preset ? Is.Null : Is.TypeOf<WebSocketException>());
        Assert.That(EventText.Scalar(evt, "CorrelationId"), Is.EqualTo("ws-gone"));
        Assert.That(await CompletionsAfterStopAsync(app), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task ACustomTemplateNamesAPropertyTheEnrichCallbackReadsFromTheEndpoint()
    {
        await using var app = await StartAsync(
            a => a.MapGet("/orders/{id:int}", (int id) => id).WithName("GetOrder"),
            o =>
            {
                o.MessageTemplate = "HTTP {RequestMethod} {EndpointName} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms";
                o.EnrichDiagnosticContext = (d, ctx) =>
                {
                    d.Set("EndpointName", ctx.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName);
                    d.Set("RouteTemplate", (ctx.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText);
                };
            });
        using var client = app.CreateClient();

        await client.SendAsync(Request(HttpMethod.Get, "/orders/7", "ep-1"));
        await client.SendAsync(Request(HttpMethod.Get, "/nowhere", "ep-2"));

        var evt = _sink.WaitForCompletion("/orders/7");
        Assert.That(evt.RenderMessage(), Does.StartWith("HTTP \"GET\" \"GetOrder\" \"/orders/7\" responded 200 in "));
        Assert.That(EventText.Scalar(evt, "RouteTemplate"), Is.EqualTo("/orders/{id:int}"));
        var unmatched = _sink.WaitForCompletion("/nowhere");
        Assert.That(Value(unmatched, "StatusCode"), Is.EqualTo(404));
        Assert.That(unmatched.RenderMessage(), Does.StartWith("HTTP \"GET\" null \"/nowhere\" responded 404 in "));
    }

    [Test]
    public async Task AStatusPageReExecutedBeforeRequestLoggingIsASecondEventWithItsPathAndTheRequestsId()
    {
        await using var app = await StartAsync(a => a.MapGet("/status/{code:int}", (int code) => $"status page {code}"),
            before: a => a.UseStatusCodePagesWithReExecute("/status/{0}"));
        using var client = app.CreateClient();

        using var response = await client.SendAsync(Request(HttpMethod.Get, "/missing", "status-1"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("status page 404"));
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("status-1"));
        // As with Serilog.AspNetCore, each pass through request logging writes its event, the second with the path it ran.
        var events = await CompletionsAfterStopAsync(app);
        Assert.That(events.Select(e => $"{EventText.Scalar(e, "RequestPath")} {Value(e, "StatusCode")} {EventText.Scalar(e, "CorrelationId")}"),
            Is.EqualTo(new[] { "/missing 404 status-1", "/status/404 404 status-1" }));
    }
}
