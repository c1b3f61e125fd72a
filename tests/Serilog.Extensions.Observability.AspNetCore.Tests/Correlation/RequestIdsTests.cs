using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serilog.Extensions.Observability.AspNetCore.Correlation;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Correlation;

/// <summary>The request's id and user as the outermost middleware's deferred scopes read them.</summary>
public class RequestIdsTests
{
    /// <summary>A request context that runs an action the next time its features are read (the request ending on
    /// another thread right as an event reads them), and afterwards throws as a server's context does once the
    /// request has finished (DefaultHttpContext after Uninitialize).</summary>
    sealed class RecyclingContext : HttpContext
    {
        readonly FeatureCollection _features = new();
        bool _recycled;

        public Action? BeforeNextFeatures;

        public void Recycle() => _recycled = true;

        public override IFeatureCollection Features
        {
            get
            {
                if (BeforeNextFeatures is { } action)
                {
                    BeforeNextFeatures = null;
                    action();
                }
                return _recycled ? throw new ObjectDisposedException(nameof(HttpContext), "Request has finished and HttpContext disposed.") : _features;
            }
        }

        public override HttpRequest Request => throw new NotSupportedException();
        public override HttpResponse Response => throw new NotSupportedException();
        public override ConnectionInfo Connection => throw new NotSupportedException();
        public override WebSocketManager WebSockets => throw new NotSupportedException();
        public override System.Security.Claims.ClaimsPrincipal User { get; set; } = new();
        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
        public override IServiceProvider RequestServices { get; set; } = null!;
        public override CancellationToken RequestAborted { get; set; }
        public override string TraceIdentifier { get; set; } = "";
        public override ISession Session { get; set; } = null!;
        public override void Abort() { }
    }

    static (RecyclingContext Context, RequestIds Ids) RequestThatEndsAsItIsRead()
    {
        var context = new RecyclingContext();
        context.Features.Set(new CorrelationMiddleware.RequestState(CorrelationMiddleware.RequestRules.From(new CorrelationOptions()), "request-1"));
        var ids = new RequestIds(context);
        context.BeforeNextFeatures = () =>
        {
            ids.End();
            context.Recycle(); // the server takes the context back for the next request
        };
        return (context, ids);
    }

    [Test]
    public void AnEventReadingTheIdAsTheRequestEndsGetsTheRequestsId()
    {
        var (_, ids) = RequestThatEndsAsItIsRead();
        using (CorrelationContext.BeginDeferred(ids.CorrelationId))
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("request-1"));
    }

    [Test]
    public void ReadingTheUserAsTheRequestEndsThrowsNothingIntoTheApplication()
    {
        var (_, ids) = RequestThatEndsAsItIsRead();
        using (UserContext.BeginDeferred(ids.User))
            Assert.That(() => UserContext.Current, Throws.Nothing);
        Assert.That(ids.CorrelationId(), Is.EqualTo("request-1"));
    }
}
