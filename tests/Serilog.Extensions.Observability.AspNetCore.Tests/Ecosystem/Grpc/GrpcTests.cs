using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Serilog.AspNetCore;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem.Grpc;

/// <summary>
/// gRPC services (Grpc.AspNetCore 2.85) on real Kestrel over HTTP/2 without TLS, called by a real <see cref="GrpcChannel"/>
/// or a client from Grpc.Net.ClientFactory's <c>AddGrpcClient&lt;T&gt;()</c>, in hosts set up as the package README
/// says: <c>builder.AddObservability()</c>, <c>app.UseCorrelation()</c>, <c>app.UseSerilogRequestLogging()</c>.
/// A gRPC call is one HTTP/2 request (<c>POST /package.Service/Method</c>) whose outcome travels in the
/// <c>grpc-status</c> trailer (or header, in a trailers-only response), while the HTTP status stays 200: the
/// completion event, whose level comes from the HTTP status and an escaped exception, sees a success.
/// </summary>
[NonParallelizable] // Each host's AddObservability() replaces the process-wide Log.Logger.
public class GrpcTests
{
    const string GetOrderPath = "/observability.tests.Orders/GetOrder";
    const string WatchOrderPath = "/observability.tests.Orders/WatchOrder";
    const string CorrelationHeader = "X-Correlation-ID";

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    /// <summary>The service under test; the order id chooses how a call ends.</summary>
    sealed class OrdersService : Orders.OrdersBase
    {
        public override Task<OrderReply> GetOrder(OrderRequest request, ServerCallContext context) => request.Id switch
        {
            "missing" => throw new RpcException(new Status(StatusCode.NotFound, "No such order")),
            "broken" => throw new RpcException(new Status(StatusCode.Internal, "Order store failed")),
            "crash" => throw new InvalidOperationException("The order store is gone"),
            _ => Task.FromResult(new OrderReply { Id = request.Id, Status = "shipped" }),
        };

        public override async Task WatchOrder(OrderRequest request, IServerStreamWriter<OrderReply> responseStream, ServerCallContext context)
        {
            await responseStream.WriteAsync(new OrderReply { Id = request.Id, Status = "packing" });
            // After the response has started: grpc-status goes out in the trailers.
            if (request.Id == "lost") throw new RpcException(new Status(StatusCode.Unavailable, "The warehouse went away"));
            // Until the client goes: the call ends only through its cancellation.
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
    }

    static async Task<RunningApp> StartGrpcAppAsync(WaitingSink sink, string service, Action<RequestLoggingOptions>? requestLogging = null)
    {
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).Service(service).WriteTo(w => w.Sink(sink)));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging(requestLogging);
        app.MapGrpcService<OrdersService>();
        return await StartAsync(app);
    }

    static async Task<RunningApp> StartAsync(WebApplication app)
    {
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new RunningApp(app, new Uri(address));
    }

    static GrpcChannel ChannelTo(RunningApp app) => GrpcChannel.ForAddress(app.BaseAddress);

    static Metadata WithCorrelationId(string id) => new() { { CorrelationHeader, id } };

    /// <summary>A client-side span, as a calling service has: HttpClient sends it as <c>traceparent</c>.</summary>
    static Activity StartClientSpan() => new Activity("grpc-client").SetIdFormat(ActivityIdFormat.W3C).Start();

    static object? Scalar(LogEvent e, string name) => e.Properties.TryGetValue(name, out var value) && value is ScalarValue s ? s.Value : null;

    // The host's ILogger events of a request carry its RequestPath too (from ASP.NET Core's log scope).
    static bool IsCompletion(LogEvent e, string path) =>
        Scalar(e, "SourceContext") as string == "Serilog.AspNetCore.RequestLoggingMiddleware" && Scalar(e, "RequestPath") as string == path;

    static LogEvent CompletionOf(WaitingSink sink, string path, string correlationId) =>
        sink.WaitFor(e => IsCompletion(e, path) && Scalar(e, "CorrelationId") as string == correlationId).Single();

    [Test]
    public async Task AUnaryCallHasOneCompletionEventWithItsPathStatusCorrelationIdAndTraceId()
    {
        var sink = new WaitingSink();
        await using var app = await StartGrpcAppAsync(sink, "orders");
        using var channel = ChannelTo(app);
        var client = new Orders.OrdersClient(channel);

        var traceIds = new List<string>();
        foreach (var correlationId in new[] { "grpc-unary-1", "grpc-unary-2" })
        {
            using var span = StartClientSpan();
            traceIds.Add(span.TraceId.ToHexString());
            using var call = client.GetOrderAsync(new OrderRequest { Id = "7" }, WithCorrelationId(correlationId));
            var headers = await call.ResponseHeadersAsync;
            var reply = await call.ResponseAsync;

            Assert.That(reply.Status, Is.EqualTo("shipped"));
            Assert.That(headers.GetValue("x-correlation-id"), Is.EqualTo(correlationId), "UseCorrelation() echoes the id in the response headers.");
            Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
        }

        var events = sink.WaitFor(e => IsCompletion(e, GetOrderPath), count: 2);
        Assert.That(events.Select(e => Scalar(e, "CorrelationId")), Is.EqualTo(new[] { "grpc-unary-1", "grpc-unary-2" }), "One event per call.");
        Assert.That(events.Select(e => Scalar(e, "TraceId")), Is.EqualTo(traceIds), "The trace id the client's traceparent carried.");
        foreach (var e in events)
        {
            Assert.That(e.Level, Is.EqualTo(LogEventLevel.Information));
            Assert.That(Scalar(e, "RequestMethod"), Is.EqualTo("POST"));
            Assert.That(Scalar(e, "StatusCode"), Is.EqualTo(200));
            Assert.That(Scalar(e, "ServiceName"), Is.EqualTo("orders"));
            Assert.That(e.Exception, Is.Null);
        }
    }

    [TestCase("missing", StatusCode.NotFound)]
    [TestCase("broken", StatusCode.Internal)]
    [TestCase("crash", StatusCode.Unknown)]
    public async Task AFailedCallIsACompletedRequestOf200AtInformationWithoutTheException(string orderId, StatusCode expected)
    {
        var sink = new WaitingSink();
        await using var app = await StartGrpcAppAsync(sink, "orders");
        using var channel = ChannelTo(app);
        var client = new Orders.OrdersClient(channel);
        var correlationId = "grpc-failed-" + orderId;

        var failure = Assert.ThrowsAsync<RpcException>(async () =>
            await client.GetOrderAsync(new OrderRequest { Id = orderId }, WithCorrelationId(correlationId)));
        Assert.That(failure!.StatusCode, Is.EqualTo(expected));
        Assert.That(failure.Trailers.GetValue("x-correlation-id"), Is.EqualTo(correlationId));

        // Grpc.AspNetCore answers the call itself (HTTP 200, grpc-status in a trailers-only response): nothing escapes to
        // the middleware, whose default GetLevel, as Serilog.AspNetCore's, sees a 200 and no exception.
        var completion = CompletionOf(sink, GetOrderPath, correlationId);
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(Scalar(completion, "StatusCode"), Is.EqualTo(200));
        Assert.That(completion.Exception, Is.Null);

        // The failure is in Grpc.AspNetCore's own event of the call, with the call's ids: an RpcException at Information
        // (the handler chose the status), any other exception at Error with the exception.
        var grpcEvent = sink.WaitFor(e => Scalar(e, "SourceContext") as string == "Grpc.AspNetCore.Server.ServerCallHandler"
            && Scalar(e, "CorrelationId") as string == correlationId).Single();
        Assert.That(grpcEvent.Properties["TraceId"], Is.EqualTo(completion.Properties["TraceId"]));
        if (expected == StatusCode.Unknown)
        {
            Assert.That(grpcEvent.Level, Is.EqualTo(LogEventLevel.Error));
            Assert.That(grpcEvent.Exception, Is.TypeOf<InvalidOperationException>());
        }
        else
        {
            Assert.That(grpcEvent.Level, Is.EqualTo(LogEventLevel.Information));
            Assert.That(Scalar(grpcEvent, "StatusCode"), Is.EqualTo(expected));
        }
    }

    [TestCase("7", StatusCode.OK, LogEventLevel.Information)]
    [TestCase("missing", StatusCode.NotFound, LogEventLevel.Warning)]
    [TestCase("broken", StatusCode.Internal, LogEventLevel.Error)]
    [TestCase("crash", StatusCode.Unknown, LogEventLevel.Error)]
    public async Task TheReadmeRecipeLogsAFailedCallAtTheLevelOfItsGrpcStatus(string orderId, StatusCode expected, LogEventLevel level)
    {
        var sink = new WaitingSink();
        await using var app = await StartGrpcAppAsync(sink, "orders", GrpcRequestLogging.Configure);
        using var channel = ChannelTo(app);
        var client = new Orders.OrdersClient(channel);
        var correlationId = "grpc-recipe-" + orderId;

        using var call = client.GetOrderAsync(new OrderRequest { Id = orderId }, WithCorrelationId(correlationId));
        try
        {
            await call.ResponseAsync;
        }
        catch (RpcException)
        {
        }
        Assert.That(call.GetStatus().StatusCode, Is.EqualTo(expected));

        var completion = CompletionOf(sink, GetOrderPath, correlationId);
        Assert.That(completion.Level, Is.EqualTo(level));
        Assert.That(Scalar(completion, "GrpcStatusCode"), Is.EqualTo(expected));
        Assert.That(Scalar(completion, "StatusCode"), Is.EqualTo(200));
    }

    [TestCase(false, LogEventLevel.Information)]
    [TestCase(true, LogEventLevel.Error)]
    public async Task AStreamingCallThatFailsAfterItsFirstMessageHasItsGrpcStatusInTheTrailersTheRecipeReads(bool recipe, LogEventLevel level)
    {
        var sink = new WaitingSink();
        await using var app = await StartGrpcAppAsync(sink, "orders", recipe ? GrpcRequestLogging.Configure : null);
        using var channel = ChannelTo(app);
        var client = new Orders.OrdersClient(channel);
        var correlationId = "grpc-lost-" + recipe;

        using var call = client.WatchOrder(new OrderRequest { Id = "lost" }, WithCorrelationId(correlationId));
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None), Is.True, "The first message arrives.");
        var failure = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.That(failure!.StatusCode, Is.EqualTo(StatusCode.Unavailable));

        var completion = CompletionOf(sink, WatchOrderPath, correlationId);
        Assert.That(Scalar(completion, "StatusCode"), Is.EqualTo(200));
        Assert.That(completion.Level, Is.EqualTo(level));
        Assert.That(completion.Exception, Is.Null);
        Assert.That(Scalar(completion, "GrpcStatusCode"), recipe ? Is.EqualTo(StatusCode.Unavailable) : Is.Null);
    }

    [TestCase(false, false, 200)]
    [TestCase(true, false, 499)]
    [TestCase(true, true, 499)]
    public async Task AStreamingCallTheClientCancelsIsLoggedAsAnAbortedRequest(bool preset, bool recipe, int statusCode)
    {
        var sink = new WaitingSink();
        await using var app = await StartGrpcAppAsync(sink, "orders", o =>
        {
            o.LogAbortedRequestsAsClientClosed = preset;
            if (recipe) GrpcRequestLogging.Configure(o);
        });
        using var channel = ChannelTo(app);
        var client = new Orders.OrdersClient(channel);
        var correlationId = "grpc-cancelled-" + preset + recipe;

        using var cancellation = new CancellationTokenSource();
        using var call = client.WatchOrder(new OrderRequest { Id = "9" }, WithCorrelationId(correlationId), cancellationToken: cancellation.Token);
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None), Is.True, "The first message arrives.");
        await cancellation.CancelAsync();
        var failure = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.That(failure!.StatusCode, Is.EqualTo(StatusCode.Cancelled));

        var completion = CompletionOf(sink, WatchOrderPath, correlationId);
        Assert.That(Scalar(completion, "StatusCode"), Is.EqualTo(statusCode));
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(completion.Exception, Is.Null);
        // The handler's cancellation leaves grpc-status Unknown in trailers that never went out: the recipe does not read it.
        Assert.That(completion.Properties.ContainsKey("GrpcStatusCode"), Is.False);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task AStreamingCallPastItsDeadlineIsLoggedAtInformation(bool preset)
    {
        var sink = new WaitingSink();
        await using var app = await StartGrpcAppAsync(sink, "orders", o => o.LogAbortedRequestsAsClientClosed = preset);
        using var channel = ChannelTo(app);
        var client = new Orders.OrdersClient(channel);
        var correlationId = "grpc-deadline-" + preset;

        using var call = client.WatchOrder(new OrderRequest { Id = "9" }, WithCorrelationId(correlationId), deadline: DateTime.UtcNow.AddMilliseconds(500));
        var failure = Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });
        Assert.That(failure!.StatusCode, Is.EqualTo(StatusCode.DeadlineExceeded));

        // The client gives up at the deadline and Grpc.AspNetCore, told it in grpc-timeout, ends the call there too, with
        // DeadlineExceeded in its trailers. The preset's 499 applies when the client's reset arrives first (the request is
        // aborted), else the status already sent (200) is logged: which side ends the call first is a race.
        var completion = CompletionOf(sink, WatchOrderPath, correlationId);
        Assert.That(Scalar(completion, "StatusCode"), preset ? Is.EqualTo(200).Or.EqualTo(499) : Is.EqualTo(200));
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(completion.Exception, Is.Null);
    }

    [Test]
    public async Task AGrpcClientWithCorrelationPropagationGivesBothAppsEventsTheSameCorrelationIdAndTraceId()
    {
        var sinkB = new WaitingSink();
        await using var appB = await StartGrpcAppAsync(sinkB, "orders");

        var sinkA = new WaitingSink();
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).Service("checkout").WriteTo(w => w.Sink(sinkA)));
        builder.Services.AddGrpcClient<Orders.OrdersClient>(o => o.Address = appB.BaseAddress).AddCorrelationPropagation();
        var web = builder.Build();
        web.UseCorrelation();
        web.UseSerilogRequestLogging();
        web.MapGet("/checkout/{id}", async (string id, Orders.OrdersClient orders) => (await orders.GetOrderAsync(new OrderRequest { Id = id })).Status);
        await using var appA = await StartAsync(web);

        using var span = StartClientSpan();
        using var http = new HttpClient { BaseAddress = appA.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/checkout/7");
        request.Headers.Add(CorrelationHeader, "checkout-42");
        using var response = await http.SendAsync(request);
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("shipped"));

        var eventA = CompletionOf(sinkA, "/checkout/7", "checkout-42");
        var eventB = CompletionOf(sinkB, GetOrderPath, "checkout-42");
        Assert.That(Scalar(eventA, "ServiceName"), Is.EqualTo("checkout"));
        Assert.That(Scalar(eventB, "ServiceName"), Is.EqualTo("orders"));
        Assert.That(Scalar(eventA, "TraceId"), Is.EqualTo(span.TraceId.ToHexString()));
        Assert.That(Scalar(eventB, "TraceId"), Is.EqualTo(span.TraceId.ToHexString()));
        Assert.That(Scalar(eventB, "StatusCode"), Is.EqualTo(200));
    }
}

/// <summary>
/// The package README's recipe for gRPC services, as written there: the completion event at the level of the call's
/// grpc-status, with that status as <c>GrpcStatusCode</c>.
/// </summary>
static class GrpcRequestLogging
{
    public static void Configure(RequestLoggingOptions o)
    {
        var inner = o.GetLevel; // the default, with its presets (LogAbortedRequestsAsClientClosed, ...)
        o.GetLevel = (context, elapsedMs, exception) => GrpcStatus(context) switch
        {
            null or StatusCode.OK or StatusCode.Cancelled => inner(context, elapsedMs, exception),
            StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Unimplemented or StatusCode.Internal
                or StatusCode.Unavailable or StatusCode.DataLoss => LogEventLevel.Error,
            _ => LogEventLevel.Warning,
        };
        o.EnrichDiagnosticContext = (diagnostics, context) =>
        {
            if (GrpcStatus(context) is { } status) diagnostics.Set("GrpcStatusCode", status);
        };
    }

    // A trailer, or a header when the call failed before its first message (a trailers-only response); none when the
    // client left (cancelled, or gone at its deadline): what the server put there then never reached it.
    static StatusCode? GrpcStatus(HttpContext context)
    {
        if (context.RequestAborted.IsCancellationRequested) return null;
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        var value = trailers?["grpc-status"] is { Count: > 0 } trailer ? trailer : context.Response.Headers["grpc-status"];
        return int.TryParse(value, out var code) ? (StatusCode)code : null;
    }
}
