using System.Diagnostics;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.Primitives;
using Serilog.Core;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

/// <summary>
/// Opens the request's correlation (and user) context, and echoes the id on the response.
/// </summary>
sealed class CorrelationMiddleware
{
    internal const string SourceContextName = "Serilog.Extensions.Observability.AspNetCore.CorrelationMiddleware";

    readonly RequestDelegate _next;
    readonly CorrelationOptions _options;
    readonly string[] _headerNames;
    readonly RequestRules _rules;
    static readonly Func<object, Task> EchoHeader = EchoHeaderOnStarting;

    readonly bool _leaveErrorsToOuterHandlers;

    public CorrelationMiddleware(RequestDelegate next, CorrelationOptions options, bool leaveErrorsToOuterHandlers)
    {
        _next = next;
        _options = options;
        _leaveErrorsToOuterHandlers = leaveErrorsToOuterHandlers;
        // Not trusting incoming ids: no header is read at all, so whatever a caller sends is neither used nor logged.
        var names = new List<string>();
        if (options.TrustIncomingId)
        {
            names.Add(options.HeaderName);
            foreach (var name in options.AdditionalHeaderNames)
            {
                if (!string.IsNullOrWhiteSpace(name)) names.Add(name);
            }
        }

        _headerNames = names.ToArray();
        _rules = RequestRules.From(options);
    }

    public async Task Invoke(HttpContext context)
    {
        // The flow's async locals as they are on entry (null when flow is suppressed); see the finally block.
        var entry = ExecutionContext.Capture();

        // The pipeline runs again for this request (UseExceptionHandler("/error"), UseStatusCodePagesWithReExecute
        // placed before this middleware): keep the id its first pass chose and echoes, rather than choose another.
        var earlier = context.Features.Get<RequestState>();

        // With AddObservability(), its outermost middleware already has deferred scopes open that read this request's
        // id and user from the state set below (and keep them for events written after this middleware returned, by
        // exception handlers placed before it): scopes of our own would only cost two more async-local writes. Unless
        // something in between opened scopes of its own, which ours must then override as before.
        var outerScopes = earlier is null && context.Features.Get<RequestIds>() is not null
            && CorrelationContext.CurrentId is null && UserContext.Current is null;

        RejectedHeader? rejected = null;
        var fromTrace = false;
        var id = earlier?.Id ?? ReadAcceptedId(context, out rejected) ?? FallbackId(out fromTrace);

        // One object per request serves as the user resolver and as the record of the id for the echo and a later pass,
        // echoed or not.
        var state = earlier;
        var echoing = false;
        if (state is null)
        {
            state = new RequestState(_rules, id);
            context.Features.Set(state);
            // OnStarting throws once the response has started (a middleware before this one wrote it): nothing to echo on.
            if (_options.EchoResponseHeader && !context.Response.HasStarted)
            {
                context.Response.OnStarting(EchoHeader, context);
                echoing = true;
            }
        }

        // Who answers an exception that escapes with the response not started, so that the id reaches the client: the
        // outermost middleware of AddObservability() when it runs for this request (exception handlers placed before
        // this middleware then see the exception first), else this one (outside Development, see UseCorrelation).
        var answerHere = false;
        if (echoing)
        {
            if (context.Features.Get<UnhandledExceptionFeature>() is not null)
                context.Features.Set(UnhandledExceptionFeature.Requested);
            else
                answerHere = !_leaveErrorsToOuterHandlers;
        }

        using var correlation = outerScopes ? null : CorrelationContext.Begin(id);
        // Written inside the request's correlation, so the warning carries the id the request is logged and answered with.
        if (rejected is { } header)
            (_options.Logger ?? Log.Logger).ForContext(Constants.SourceContextPropertyName, SourceContextName).Warning(
                // Says what replaced the header: on a traced request that is its trace id, not a new id.
                fromTrace
                    ? "Rejected the {HeaderName} request header ({ValueCount} value(s), {Length} characters); the trace id is used as the correlation id"
                    : "Rejected the {HeaderName} request header ({ValueCount} value(s), {Length} characters); a new correlation id is used",
                header.Name, header.ValueCount, header.Length);
        using var user = !outerScopes && _options.EnableUserContext ? UserContext.BeginDeferred(state.Resolve) : null;
        state.Enter(context);
        try
        {
            await _next(context);
        }
        catch (Exception ex) when (answerHere && !context.Response.HasStarted)
        {
            var logged = RequestLogging.RequestLoggingMiddleware.HasLogged(context, ex);
            if (logged) UnhandledExceptionMiddleware.TagUnhandled(context, ex);
            await UnhandledExceptionMiddleware.AnswerAsync(context, ex);
            if (!logged) throw;
            UnhandledExceptionMiddleware.RaiseUnhandledException(context, ex);
        }
        finally
        {
            // One switch back to the entry context instead of a new execution context for each scope disposed: the
            // scopes then find they are no longer current and only mark themselves ended. Nothing else runs in this
            // flow before this async method returns, which restores its caller's context in any case.
            if (entry is not null) ExecutionContext.Restore(entry);
            state.Leave(_options.EnableUserContext);
        }
    }

    /// <summary>A correlation header that was not accepted: its name and shape, never its raw value.</summary>
    readonly record struct RejectedHeader(string Name, int ValueCount, int Length);

    string? ReadAcceptedId(HttpContext context, out RejectedHeader? rejected)
    {
        rejected = null;
        foreach (var name in _headerNames)
        {
            if (!context.Request.Headers.TryGetValue(name, out StringValues values) || values.Count == 0)
                continue;

            // One empty field value (or optional white space alone, which RFC 9110 strips around a value; Kestrel does,
            // the test server does not) says nothing: the header counts as absent (Serilog.Enrichers.CorrelationId took an
            // empty one for none too), and the next name is tried. Several lines stay several values, rejected below.
            if (values.Count == 1 && CorrelationId.IsBlank(values[0]))
                continue;

            if (values.Count == 1 && values[0] is { } candidate && CorrelationId.IsAcceptable(candidate))
                return candidate;

            // Never echo or log the raw value: it may carry CRLF, markup or a secret.
            var length = 0;
            foreach (var value in values) length += value?.Length ?? 0;
            rejected = new RejectedHeader(name, values.Count, length);
            return null;
        }

        return null;
    }

    string FallbackId(out bool fromTrace)
    {
        if (_options.UseTraceIdWhenMissing && Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            fromTrace = true;
            return activity.TraceId.ToHexString();
        }

        fromTrace = false;
        return CorrelationContext.NewId();
    }

    static Task EchoHeaderOnStarting(object state)
    {
        // The context is the callback's state, not the request state: the server may start the response after the
        // request state has let go of the context (see RequestState).
        var context = (HttpContext)state;
        if (context.Features.Get<RequestState>() is { } echo)
        {
            var headers = context.Response.Headers;
            var headerName = echo.Rules.HeaderName;
            if (!headers.ContainsKey(headerName))
                headers[headerName] = echo.Id;
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// What a request's state needs of the middleware's options. Not the middleware itself: every execution context
    /// captured during a request holds the request's state (see <see cref="RequestState"/>), and through the middleware
    /// it would hold the rest of the application's pipeline, its services and the configured logger, keeping an app
    /// that has been disposed alive for as long as a timer or cache entry created during one of its requests lives.
    /// </summary>
    internal sealed class RequestRules(string headerName, bool userContextEnabled, string[] userIdClaims, string[] tenantIdClaims, string[] sessionIdClaims)
    {
        public static RequestRules From(CorrelationOptions options) =>
            new(options.HeaderName, options.EnableUserContext, options.UserIdClaimTypes.ToArray(),
                options.TenantIdClaimTypes.ToArray(), options.SessionIdClaimTypes.ToArray());

        public string HeaderName => headerName;
        public bool UserContextEnabled => userContextEnabled;
        public string[] UserIdClaims => userIdClaims;
        public string[] TenantIdClaims => tenantIdClaims;
        public string[] SessionIdClaims => sessionIdClaims;
    }

    /// <summary>
    /// The request's id for the response header, and its user: read from <see cref="HttpContext.User"/> when an event
    /// is enriched, so identities set by authentication later in the pipeline are seen; the result is reused while the
    /// principal is unchanged.
    /// </summary>
    /// <remarks>
    /// The request's deferred scopes hold this object, and so does every execution context captured while the request
    /// ran (a timer a singleton created on its first request, work that outlives the request): it holds the
    /// <see cref="HttpContext"/> only while a pass runs, so that none of those keeps the request, and with Kestrel's
    /// pooled context the connection, alive for as long as they live.
    /// </remarks>
    internal sealed class RequestState(RequestRules rules, string id)
    {
        /// <summary>A principal whose claims throw does so on every request: reported once per interval.</summary>
        internal static readonly SelfLogThrottle UserReport = new();

        // The principal and the identity read from it, published together once the identity is known: events are
        // enriched on any thread, and one that saw the principal before its identity was read would go without a user.
        sealed class Resolved(ClaimsPrincipal? principal, UserIdentity? identity)
        {
            public static readonly Resolved Anonymous = new(null, null);

            public ClaimsPrincipal? Principal => principal;

            public UserIdentity? Identity => identity;
        }

        Resolved? _resolved;

        // Passes of the pipeline running for this request (more than one while a re-executed pass runs). Once none
        // runs, the HttpContext is no longer this request's to read: Kestrel reuses it for the next request on the
        // same connection, whose user work that outlived this request must not take.
        int _running;

        // The request's context while a pass runs; null once none does.
        HttpContext? _context;

        public RequestRules Rules => rules;

        /// <summary>Whether the middleware that chose the id also opens the request's user context.</summary>
        public bool UserContextEnabled => rules.UserContextEnabled;

        public string Id => id;

        /// <summary>Begins a pass. Every pass of a request runs with the same context.</summary>
        public void Enter(HttpContext context)
        {
            Volatile.Write(ref _context, context);
            Interlocked.Increment(ref _running);
        }

        /// <summary>
        /// Ends a pass. The last one reads the user once more while the context is still this request's, so work that
        /// outlives the request keeps the user the request ended with.
        /// </summary>
        public void Leave(bool resolveUser)
        {
            try
            {
                if (resolveUser && Volatile.Read(ref _running) == 1) Resolve();
            }
            catch (Exception ex)
            {
                // A principal whose claims throw: the enricher reports the same when an event needs the user; the request
                // must not fail for it.
                UserReport.WriteLine("UseCorrelation: reading the user of a request that ended failed; the request was not failed for it ({0} more failures since the last report): {1}", ex);
            }
            finally
            {
                if (Interlocked.Decrement(ref _running) == 0) Volatile.Write(ref _context, null);
            }
        }

        public UserIdentity? Resolve()
        {
            // The request has ended (a background task outlived it): keep the last identity seen.
            var context = Volatile.Read(ref _running) == 0 ? null : Volatile.Read(ref _context);
            if (context is null) return Volatile.Read(ref _resolved)?.Identity;

            ClaimsPrincipal? principal;
            try
            {
                // DefaultHttpContext.User creates (and stores) an empty principal when nothing has signed in; the
                // feature tells the same thing without that allocation on every request.
                principal = context is DefaultHttpContext
                    ? context.Features.Get<IHttpAuthenticationFeature>()?.User
                    : context.User;
            }
            catch (ObjectDisposedException)
            {
                // The request has ended (a background task outlived it): keep the last identity seen.
                return Volatile.Read(ref _resolved)?.Identity;
            }

            var last = Volatile.Read(ref _resolved);
            if (last is not null && ReferenceEquals(principal, last.Principal)) return last.Identity;
            // A new principal: it is this request's only if the request was still running after it was read (a full
            // fence, so the read above cannot move past this check); otherwise it may be the next request's.
            if (Interlocked.CompareExchange(ref _running, 0, 0) == 0) return Volatile.Read(ref _resolved)?.Identity;
            if (principal is null)
            {
                Volatile.Write(ref _resolved, Resolved.Anonymous);
                return null;
            }

            UserIdentity? identity = null;
            if (principal.Identity?.IsAuthenticated == true)
            {
                var userId = FirstClaim(principal, rules.UserIdClaims);
                if (userId is not null)
                    identity = new UserIdentity(userId, FirstClaim(principal, rules.TenantIdClaims), FirstClaim(principal, rules.SessionIdClaims));
            }

            Volatile.Write(ref _resolved, new Resolved(principal, identity));
            return identity;
        }

        static string? FirstClaim(ClaimsPrincipal principal, string[] types)
        {
            foreach (var type in types)
            {
                var value = principal.FindFirst(type)?.Value;
                if (!string.IsNullOrEmpty(value)) return value;
            }

            return null;
        }
    }
}
