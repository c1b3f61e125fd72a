using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

/// <summary>
/// The request feature through which the outermost middleware and <see cref="CorrelationMiddleware"/> agree on who
/// answers an exception nobody handled. Two shared instances, so no request allocates one.
/// </summary>
sealed class UnhandledExceptionFeature
{
    /// <summary>The outermost middleware runs for this request: whatever escapes the pipeline reaches it.</summary>
    public static readonly UnhandledExceptionFeature Available = new();

    /// <summary>A correlation middleware echoes an id on this request's response: an escaping exception is answered with it.</summary>
    public static readonly UnhandledExceptionFeature Requested = new();

    UnhandledExceptionFeature() { }
}

/// <summary>
/// Put before everything the application adds (by <see cref="UnhandledExceptionStartupFilter"/>): answers an exception
/// that escaped every handler, so the correlation id reaches the client, while exception handlers the application
/// placed before <c>UseCorrelation()</c> (the developer exception page, <c>UseExceptionHandler</c>) still see it first.
/// An exception the completion event has written is ended here, never rethrown, so the server does not log it again;
/// what else the server does for one that escapes (its metric's <c>error.type</c>, its diagnostic event) is done here.
/// </summary>
sealed class UnhandledExceptionMiddleware(RequestDelegate next)
{
    public Task Invoke(HttpContext context)
    {
        context.Features.Set(UnhandledExceptionFeature.Available);
        return InvokeInRequestContext(context);
    }

    async Task InvokeInRequestContext(HttpContext context)
    {
        // Exception handlers placed before UseCorrelation() (the templates' order) log the exception after the request's
        // own scopes have ended: these scopes, around the whole pipeline, give such events the request's id and user.
        // The flow's async locals as they are on entry (null when flow is suppressed); see the finally block.
        var entry = ExecutionContext.Capture();
        var ids = new RequestIds(context);
        context.Features.Set(ids);
        using var correlation = CorrelationContext.BeginDeferred(ids.CorrelationId);
        using var user = UserContext.BeginDeferred(ids.User);
        try
        {
            await next(context);
        }
        catch (Exception ex) when (context.Response.HasStarted && RequestLoggingMiddleware.HasLogged(context, ex))
        {
            // The status line is on the wire and the completion event carries the exception: end the request as the
            // server would (it aborts the connection, or resets the HTTP/2 stream, so the client sees a broken
            // response, not a complete one), without the server's own second Error event for the same exception.
            TagUnhandled(context, ex);
            RaiseUnhandledException(context, ex);
            context.Abort();
        }
        // Answered here when a correlation id is to be echoed, or when the completion event has written the exception
        // (with or without UseCorrelation()), so the server does not write it a second time.
        catch (Exception ex) when (!context.Response.HasStarted
            && (ReferenceEquals(context.Features.Get<UnhandledExceptionFeature>(), UnhandledExceptionFeature.Requested) || RequestLoggingMiddleware.HasLogged(context, ex)))
        {
            var logged = RequestLoggingMiddleware.HasLogged(context, ex);
            if (logged) TagUnhandled(context, ex);
            await AnswerAsync(context, ex);
            if (!logged) throw;
            RaiseUnhandledException(context, ex);
        }
        finally
        {
            ids.End();
            // One switch back to the entry context instead of a new one for each scope disposed (the scopes then find
            // they are no longer current and only mark themselves ended); returning restores the caller's in any case.
            if (entry is not null) ExecutionContext.Restore(entry);
        }
    }

    /// <summary>
    /// An exception ended here never reaches the server, whose request duration metric (<c>http.server.request.duration</c>)
    /// and request <see cref="Activity"/> would then lack its <c>error.type</c>: tag them as the host tags them for one
    /// that escapes (the type's full name, and an error status with the exception's message on the activity), so metrics
    /// and traces count it as they do with Serilog.AspNetCore, which lets it escape. A request answered with a 5xx here
    /// gets the host's own tags for that status when it ends; one cut after the response started keeps these.
    /// </summary>
    internal static void TagUnhandled(HttpContext context, Exception exception)
    {
        var errorType = exception.GetType().FullName;
        context.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new("error.type", errorType));
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        }
    }

    const string UnhandledExceptionEventName = "Microsoft.AspNetCore.Hosting.UnhandledException";

    /// <summary>
    /// An exception ended here never reaches the server, which would raise the <c>Microsoft.AspNetCore.Hosting.UnhandledException</c>
    /// diagnostic event for it: the event tracing agents record unhandled exceptions from (Application Insights,
    /// OpenTelemetry's <c>RecordException</c>). Raised here instead, on the host's listener, with the payload's property
    /// names (<c>httpContext</c>, <c>timestamp</c>, <c>exception</c>), so they see it as they do with Serilog.AspNetCore,
    /// which lets it escape. A listener that throws is reported through SelfLog, never to the request.
    /// </summary>
    internal static void RaiseUnhandledException(HttpContext context, Exception exception)
    {
        try
        {
            if (context.RequestServices?.GetService(typeof(DiagnosticListener)) is DiagnosticListener listener && listener.IsEnabled(UnhandledExceptionEventName))
                listener.Write(UnhandledExceptionEventName, new UnhandledExceptionData(context, Stopwatch.GetTimestamp(), exception));
        }
        catch (Exception ex)
        {
            SafeSelfLog.WriteLine("The {0} diagnostic event for an exception the completion event wrote failed: {1}", UnhandledExceptionEventName, ex);
        }
    }

    /// <summary>The host's payload for the event: listeners read it by these property names.</summary>
    sealed class UnhandledExceptionData(HttpContext httpContext, long timestamp, Exception exception)
    {
#pragma warning disable IDE1006 // The names listeners bind to (the host's, which kept an anonymous object's).
        public HttpContext httpContext { get; } = httpContext;

        public long timestamp { get; } = timestamp;

        public Exception exception { get; } = exception;
#pragma warning restore IDE1006

        public override string ToString() => $"{{ httpContext = {httpContext}, timestamp = {timestamp}, exception = {exception} }}";
    }

    /// <summary>
    /// The server answers an unhandled exception with a bare 500 after clearing every header (and without running the
    /// response's OnStarting callbacks), so the echoed id would be lost: send that answer here instead, with the status
    /// the server would give (a bad request keeps its own), and complete it so the id's OnStarting callback runs.
    /// When request logging has already written the exception, the caller ends the request; otherwise it rethrows so
    /// the server logs it (it then closes the connection, after the complete response).
    /// </summary>
    internal static Task AnswerAsync(HttpContext context, Exception exception)
    {
        context.Response.Clear();
        context.Response.StatusCode = exception is BadHttpRequestException badRequest ? badRequest.StatusCode : StatusCodes.Status500InternalServerError;
        context.Response.ContentLength = 0;
        return context.Response.CompleteAsync();
    }
}

/// <summary>
/// The id and user that <see cref="CorrelationMiddleware"/> chose for a request, for events written in the request but
/// outside that middleware's scopes. Read from the request while it runs; once it has ended, the context belongs to the
/// next request on the connection (Kestrel reuses it), so only what was read before that is used.
/// </summary>
sealed class RequestIds(HttpContext context)
{
    HttpContext? _context = context;
    CorrelationMiddleware.RequestState? _state;

    CorrelationMiddleware.RequestState? State
    {
        get
        {
            if (Volatile.Read(ref _state) is { } known) return known;
            var current = Volatile.Read(ref _context);
            if (current is null) return Volatile.Read(ref _state);
            CorrelationMiddleware.RequestState? state;
            try
            {
                state = current.Features.Get<CorrelationMiddleware.RequestState>();
            }
            catch (ObjectDisposedException)
            {
                // The request ended since the read above and the server took its context back: End has stored this
                // request's state. Never an exception for the event (or for UserContext.Current in application code).
                return Volatile.Read(ref _state);
            }
            // None yet (UseCorrelation() has not run, or the application does not use it): nothing to check, and the
            // common case for events before UseCorrelation() costs no fence.
            if (state is null) return Volatile.Read(ref _state);
            // Only if the request was still running after the read (a full fence, so the read cannot move past this
            // check); otherwise it may be the next request's, and End has stored this request's.
            if (Interlocked.CompareExchange(ref _context, null, null) is null) return Volatile.Read(ref _state);
            Volatile.Write(ref _state, state);
            return state;
        }
    }

    public string? CorrelationId() => State?.Id;

    public UserIdentity? User() => State is { UserContextEnabled: true } state ? state.Resolve() : null;

    /// <summary>The request ends: keep what it chose and stop reading the context.</summary>
    public void End()
    {
        if (Volatile.Read(ref _state) is null && Volatile.Read(ref _context) is { } current)
            Volatile.Write(ref _state, current.Features.Get<CorrelationMiddleware.RequestState>());
        Interlocked.Exchange(ref _context, null);
    }
}

/// <summary>Registered by <c>AddObservability()</c>: puts <see cref="UnhandledExceptionMiddleware"/> first in the pipeline.</summary>
sealed class UnhandledExceptionStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static inner => new UnhandledExceptionMiddleware(inner).Invoke);
        next(app);
    };
}
