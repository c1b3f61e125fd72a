using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Serilog.AspNetCore;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Timing;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.AspNetCore.RequestLogging;

/// <summary>
/// Writes one completion event per request, the way Serilog.AspNetCore's middleware does, with the
/// same source context so existing filters and dashboards keep working.
/// </summary>
sealed class RequestLoggingMiddleware
{
    internal const string SourceContextName = "Serilog.AspNetCore.RequestLoggingMiddleware";
    internal const int ClientClosedRequest = 499;

    // HttpContext.Items key: the exception the completion event accounted for (carried it, or left it out as the client's
    // abort), so an outer middleware knows it was logged and does not let the server log it again.
    static readonly object LoggedExceptionKey = new();

    internal static bool HasLogged(HttpContext httpContext, Exception exception) =>
        httpContext.Items.TryGetValue(LoggedExceptionKey, out var logged) && ReferenceEquals(logged, exception);

    readonly RequestDelegate _next;
    readonly DiagnosticContext _diagnosticContext;
    readonly MessageTemplate _messageTemplate;
    readonly Action<IDiagnosticContext, HttpContext>? _enrichDiagnosticContext;
    readonly Func<HttpContext, double, Exception?, LogEventLevel> _getLevel;
    readonly Func<HttpContext, string, double, int, IEnumerable<LogEventProperty>> _getMessageTemplateProperties;
    readonly ILogger? _logger;
    readonly RequestLoggingOptions _options;
    readonly PathMatcher _excludedPaths;
    readonly HeaderCapture? _requestHeaders;
    readonly HeaderCapture? _responseHeaders;

    // A callback or a logger that fails once fails on every request: each is reported once per interval with its count.
    readonly SelfLogThrottle _levelReport = new();
    readonly SelfLogThrottle _enrichReport = new();
    readonly SelfLogThrottle _completionReport = new();
    /// <summary>Whether each endpoint without a hub's metadata is a SignalR connection's (see <see cref="IsConnection"/>).</summary>
    readonly ConditionalWeakTable<RouteEndpoint, StrongBox<bool>> _connectionEndpoints = new();

    // How many properties the last completion event held once enriched: the next one is sized for as many.
    int _propertyCount;
    const int MaxPresizedProperties = 64;

    public RequestLoggingMiddleware(RequestDelegate next, DiagnosticContext diagnosticContext, RequestLoggingOptions options)
    {
        _next = next;
        _diagnosticContext = diagnosticContext;
        _options = options;
        _getLevel = options.GetLevel;
        _enrichDiagnosticContext = options.EnrichDiagnosticContext;
        _getMessageTemplateProperties = options.GetMessageTemplateProperties;
        _messageTemplate = new MessageTemplateParser().Parse(options.MessageTemplate);
        _logger = options.Logger?.ForContext(Constants.SourceContextPropertyName, SourceContextName);
        _excludedPaths = new PathMatcher(options.ExcludePaths);
        _requestHeaders = HeaderCapture.Create("RequestHeaders", options.RequestHeaders);
        _responseHeaders = HeaderCapture.Create("ResponseHeaders", options.ResponseHeaders);
    }

    public async Task Invoke(HttpContext httpContext)
    {
        if (_excludedPaths.Matches(httpContext.Request.Path))
        {
            await _next(httpContext);
            return;
        }

        // The flow's async locals as they are on entry (null when flow is suppressed); see the finally block.
        var entry = ExecutionContext.Capture();
        var start = Stopwatch.GetTimestamp();
        var collector = _diagnosticContext.BeginCollection();
        var pipelines = _options.IncludePipelineStages ? PipelineCollector.Begin() : null;
        // This middleware's own flow, in which the completion event of an exception thrown synchronously is written (see
        // LogCompletionInOwnFlow).
        var own = ExecutionContext.Capture();
        try
        {
            Task next;
            try
            {
                next = _next(httpContext);
            }
            catch (Exception ex)
                // Never caught either (see below). The frames it came through have not run their finally blocks yet.
                when (LogCompletionInOwnFlow(own, httpContext, collector, pipelines, ElapsedMilliseconds(start), ex))
            {
                // Never reached (the filter returns false); it tells the compiler that next is assigned after this try.
                throw;
            }
            try
            {
                // Back through an await, or from code that has returned: in the flow it left, as Serilog.AspNetCore
                // writes it (a LogContext property an inner middleware written without async pushed for the request).
                await next;
                LogCompletion(httpContext, collector, pipelines, ElapsedMilliseconds(start), null);
            }
            catch (Exception ex)
                // Never caught: LogCompletion returns false, so the exception keeps propagating with its stack intact
                // and the developer exception page or UseExceptionHandler still see it.
                when (LogCompletion(httpContext, collector, pipelines, ElapsedMilliseconds(start), ex))
            {
            }
        }
        finally
        {
            // One switch back to the entry context instead of a new execution context for each collector ended: the
            // pipeline collector then finds it is no longer current and only stops collecting. Nothing else runs in
            // this flow before this async method returns, which restores its caller's context in any case.
            if (entry is not null) ExecutionContext.Restore(entry);
            pipelines?.Dispose();
            collector.End();
        }
    }

    // In the Stopwatch's own resolution, as Serilog.AspNetCore computes it: a TimeSpan would round it to 100 ns.
    static double ElapsedMilliseconds(long start) => (Stopwatch.GetTimestamp() - start) * 1000.0 / Stopwatch.Frequency;

    // The static logger's contextual copy, rebuilt only when Log.Logger is replaced (not once per request).
    sealed record ContextualLogger(ILogger Root, ILogger Logger);

    ContextualLogger? _static;

    ILogger StaticLogger()
    {
        var root = Log.Logger;
        var cached = Volatile.Read(ref _static);
        if (cached is not null && ReferenceEquals(cached.Root, root)) return cached.Logger;
        cached = new ContextualLogger(root, root.ForContext(Constants.SourceContextPropertyName, SourceContextName));
        Volatile.Write(ref _static, cached);
        return cached.Logger;
    }

    int StatusCodeOf(HttpContext httpContext, Exception? exception, bool clientClosed)
    {
        if (clientClosed)
            return ClientClosedRequest;

        if (exception is null)
            return httpContext.Response.StatusCode;

        if (_options.UseExceptionStatusCode)
        {
            // Once the response has started its status line is on the wire: that is what the client got.
            if (httpContext.Response.HasStarted) return httpContext.Response.StatusCode;
            if (exception is BadHttpRequestException badRequest) return badRequest.StatusCode;
        }

        return StatusCodes.Status500InternalServerError;
    }

    /// <summary>
    /// <see cref="LogCompletion"/> of an exception the rest of the pipeline threw synchronously (a middleware written
    /// without <c>async</c>), in <paramref name="own"/>, this middleware's flow as it was before it called that pipeline.
    /// Such an exception reaches the exception filter before the frames it passed through have run their <c>finally</c>
    /// blocks: what the throwing code had made current there (its span, above all, which the event would otherwise name
    /// as its own) is still current on the thread. One that comes back through an <c>await</c> finds those frames ended.
    /// </summary>
    bool LogCompletionInOwnFlow(ExecutionContext? own, HttpContext httpContext, DiagnosticContextCollector collector, PipelineCollector? pipelines,
        double elapsedMs, Exception? exception)
    {
        // The throwing code changed nothing: no switch.
        if (own is null || ReferenceEquals(ExecutionContext.Capture(), own))
            return LogCompletion(httpContext, collector, pipelines, elapsedMs, exception);

        ExecutionContext.Run(own, static state =>
        {
            var (middleware, httpContext, collector, pipelines, elapsedMs, exception) =
                ((RequestLoggingMiddleware, HttpContext, DiagnosticContextCollector, PipelineCollector?, double, Exception?))state!;
            middleware.LogCompletion(httpContext, collector, pipelines, elapsedMs, exception);
        }, (this, httpContext, collector, pipelines, elapsedMs, exception));
        return false;
    }

    bool LogCompletion(HttpContext httpContext, DiagnosticContextCollector collector, PipelineCollector? pipelines, double elapsedMs, Exception? exception)
    {
        try
        {
            // Decided once, for the status, the exception and the default level alike: the abort token, cancelled on the
            // thread pool, may be cancelled between two reads.
            var aborted = _options.LogAbortedRequestsAsClientClosed && RequestLoggingOptions.AbortedByClient(httpContext);
            var clientClosed = RequestLoggingOptions.ClientClosed(aborted, exception);
            var statusCode = StatusCodeOf(httpContext, exception, clientClosed);
            var logger = _logger ?? StaticLogger();
            LogEventLevel level;
            // A default level wrapped where the registered options were configured reads this middleware's presets
            // (see RequestLoggingOptions.Running); an outer call's options are put back after, whatever happens.
            var outer = RequestLoggingOptions.Running;
            var outerAborted = RequestLoggingOptions.RunningAbortedByClient;
            RequestLoggingOptions.Running = _options;
            RequestLoggingOptions.RunningAbortedByClient = aborted;
            try
            {
                level = _getLevel(httpContext, elapsedMs, exception);
            }
            catch (Exception failure)
            {
                // The application's callback failed: the request is still logged, at the level a failure or a
                // server error would have by default.
                _levelReport.WriteLine("The request logging GetLevel callback failed for {1}; the default level was used ({0} more failures since the last report): {2}", Describe(httpContext), failure);
                level = exception is not null || statusCode > 499 ? LogEventLevel.Error : LogEventLevel.Information;
            }
            finally
            {
                RequestLoggingOptions.Running = outer;
                RequestLoggingOptions.RunningAbortedByClient = outerAborted;
            }
            if (!logger.IsEnabled(level)) return false;

            if (_options.AddElapsedToHttpContext)
                httpContext.Items[RequestLoggingOptions.HttpContextItemsElapsedKey] = elapsedMs;

            try
            {
                _enrichDiagnosticContext?.Invoke(_diagnosticContext, httpContext);
            }
            catch (Exception failure)
            {
                // The request is still logged, with what the callback set before it failed.
                _enrichReport.WriteLine("The request logging EnrichDiagnosticContext callback failed for {1}; the request is logged with what it set before failing ({0} more failures since the last report): {2}", Describe(httpContext), failure);
            }

            collector.TryComplete(out var collected, out var collectedException);

            var activity = Activity.Current;
            var logEvent = new LogEvent(
                DateTimeOffset.Now,
                level,
                // A request the client aborted is not a failure: the cancellation or I/O error its leaving caused is left
                // out (GetLevel still sees it); one the application set through IDiagnosticContext is its own choice.
                (clientClosed ? null : exception) ?? collectedException,
                _messageTemplate,
                [],
                activity?.TraceId ?? default,
                activity?.SpanId ?? default);
            // Serilog's event grows its property dictionary as properties arrive, a new pair of arrays each time (3, 7,
            // 17 entries...), and the enrichers add as many again: it is sized once, for what the last completion
            // event held after enrichment. Only the capacity is touched, and only if it is the dictionary it has been.
            if (logEvent.Properties is Dictionary<string, LogEventPropertyValue> dictionary)
                dictionary.EnsureCapacity(Math.Max(Volatile.Read(ref _propertyCount), collected.Count + 4));

            // Later entries win (assigned by name, keeping the first one's place), so the template's own properties
            // override diagnostic-context properties of the same name, as in Serilog.AspNetCore.
            if (collected.Count > 0) AddAll(logEvent, collected);
            AddHeaders(logEvent, _requestHeaders, httpContext.Request.Headers);
            AddHeaders(logEvent, _responseHeaders, httpContext.Response.Headers);
            if (pipelines is not null) AddStages(logEvent, pipelines);
            var requestPath = GetPath(httpContext, _options.IncludeQueryInRequestPath);
            if (ReferenceEquals(_getMessageTemplateProperties, RequestLoggingOptions.DefaultMessageTemplateProperties))
                TemplateProperties.AddDefaults(logEvent, httpContext.Request.Method, requestPath, elapsedMs, statusCode);
            else
                AddAll(logEvent, _getMessageTemplateProperties(httpContext, requestPath, elapsedMs, statusCode));

            logger.Write(logEvent);
            Volatile.Write(ref _propertyCount, Math.Min(logEvent.Properties.Count, MaxPresizedProperties));
            if (exception is not null) httpContext.Items[LoggedExceptionKey] = exception;
        }
        catch (Exception failure)
        {
            // Logging never throws into the application.
            _completionReport.WriteLine("Failed to write the request completion event for {1} ({0} more failures since the last report): {2}", Describe(httpContext), failure);
        }

        return false;
    }

    static void AddAll(LogEvent logEvent, IEnumerable<LogEventProperty> properties)
    {
        // A list (the default template properties are one) is walked without an enumerator object.
        if (properties is IReadOnlyList<LogEventProperty> list)
        {
            for (var i = 0; i < list.Count; i++) logEvent.AddOrUpdateProperty(list[i]);
            return;
        }
        foreach (var property in properties) logEvent.AddOrUpdateProperty(property);
    }

    static void AddHeaders(LogEvent logEvent, HeaderCapture? capture, IHeaderDictionary headers)
    {
        if (capture is null) return;
        var property = capture.Capture(headers);
        if (property is not null) logEvent.AddOrUpdateProperty(property);
    }

    static void AddStages(LogEvent logEvent, PipelineCollector collector)
    {
        // No pipeline ran: no property. The collector keeps the stage totals (several runs of one pipeline name add
        // up, as a DictionaryValue cannot hold a key twice), not the pipelines: a streaming request may run thousands.
        if (collector.Pipelines.Count == 0) return;
        var totals = collector.Stages;
        var stages = new KeyValuePair<ScalarValue, LogEventPropertyValue>[totals.Count];
        var i = 0;
        foreach (var stage in totals)
            stages[i++] = new(new ScalarValue(stage.Key), new ScalarValue(stage.Value));
        logEvent.AddOrUpdateProperty(new LogEventProperty("Stages", new DictionaryValue(stages)));
    }

    /// <summary>
    /// The request, for a SelfLog line: its method and correlation id, never its path. SelfLog is written outside the
    /// redaction, and a path can hold a credential (<c>/reset;token=...</c>) that the completion event's
    /// <c>RequestPath</c> has masked.
    /// </summary>
    static string Describe(HttpContext httpContext) =>
        CorrelationContext.CurrentId is { } correlationId
            ? httpContext.Request.Method + " request " + correlationId
            : httpContext.Request.Method + " request";

    string GetPath(HttpContext httpContext, bool includeQueryInRequestPath)
    {
        var feature = httpContext.Features.Get<IHttpRequestFeature>();
        if (includeQueryInRequestPath)
        {
            var target = feature?.RawTarget;
            // Some hosts (the test server among them) report an empty target here.
            if (string.IsNullOrEmpty(target))
                target = httpContext.Request.Path.ToString() + httpContext.Request.QueryString.ToString();
            return QueryMasking.Mask(target, target.Contains('?') && IsConnection(httpContext));
        }
        var requestPath = feature?.Path;
        // Some hosts (the test server among them) report an empty path here.
        return string.IsNullOrEmpty(requestPath) ? httpContext.Request.Path.ToString() : requestPath;
    }

    /// <summary>
    /// Whether the request is one of a SignalR connection's, whose <c>id</c> is its token: an endpoint that <c>MapHub</c>
    /// mapped (it carries <see cref="HubMetadata"/>; the collection caches each type's lookup, so this allocates nothing),
    /// or <c>MapConnectionHandler</c>, whose endpoint carries no public metadata: it is known by its negotiate endpoint
    /// (<see cref="NegotiateMetadata"/>) at its own pattern followed by <c>/negotiate</c>. That is looked up once per
    /// endpoint, held weakly: an endpoint a data source replaces leaves nothing behind.
    /// </summary>
    bool IsConnection(HttpContext httpContext)
    {
        var endpoint = httpContext.GetEndpoint();
        if (endpoint is null) return false;
        if (endpoint.Metadata.GetMetadata<HubMetadata>() is not null) return true;
        if (endpoint is not RouteEndpoint route) return false;
        if (_connectionEndpoints.TryGetValue(route, out var known)) return known.Value;
        var isConnection = HasNegotiateEndpoint(route, httpContext.RequestServices?.GetService<EndpointDataSource>());
        _connectionEndpoints.AddOrUpdate(route, new StrongBox<bool>(isConnection));
        return isConnection;
    }

    static bool HasNegotiateEndpoint(RouteEndpoint endpoint, EndpointDataSource? endpoints)
    {
        const string negotiate = "/negotiate";
        if (endpoints is null || endpoint.RoutePattern.RawText is not { } raw) return false;
        var pattern = raw.AsSpan().TrimEnd('/');
        foreach (var candidate in endpoints.Endpoints)
        {
            if (candidate is RouteEndpoint { RoutePattern.RawText: { } negotiateRaw }
                && negotiateRaw.EndsWith(negotiate, StringComparison.OrdinalIgnoreCase)
                && negotiateRaw.AsSpan(0, negotiateRaw.Length - negotiate.Length).TrimEnd('/').Equals(pattern, StringComparison.OrdinalIgnoreCase)
                && candidate.Metadata.GetMetadata<NegotiateMetadata>() is not null)
                return true;
        }
        return false;
    }

    /// <summary>Exact and trailing-<c>*</c> prefix path patterns, matched without regard to case.</summary>
    sealed class PathMatcher
    {
        readonly HashSet<string> _exact = new(StringComparer.OrdinalIgnoreCase);
        readonly List<string> _prefixes = new();

        public PathMatcher(string[]? patterns)
        {
            foreach (var pattern in patterns ?? [])
            {
                if (string.IsNullOrWhiteSpace(pattern)) continue;
                var trimmed = pattern.Trim();
                if (trimmed.EndsWith('*')) _prefixes.Add(trimmed.TrimEnd('*'));
                else _exact.Add(trimmed.Length > 1 ? trimmed.TrimEnd('/') : trimmed);
            }
        }

        public bool Matches(PathString path)
        {
            if (_exact.Count == 0 && _prefixes.Count == 0) return false;
            var value = path.Value ?? "";
            if (_exact.Contains(value.Length > 1 ? value.TrimEnd('/') : value)) return true;
            foreach (var prefix in _prefixes)
            {
                if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return true;
            }

            return false;
        }
    }

    /// <summary>Copies allow-listed headers into one dictionary property, masking credentials always.</summary>
    internal sealed class HeaderCapture
    {
        const string Mask = "[REDACTED]";
        readonly string _propertyName;
        readonly string[] _names;

        HeaderCapture(string propertyName, string[] names)
        {
            _propertyName = propertyName;
            _names = names;
        }

        public static HeaderCapture? Create(string propertyName, string[]? names)
        {
            if (names is null || names.Length == 0) return null;
            var kept = new List<string>(names.Length);
            // Header names are case-insensitive: a name listed again ("x-tenant" after "X-Tenant") is the same header,
            // and a second copy would write the same JSON key twice. The first spelling is the one logged.
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var name in names)
            {
                if (!string.IsNullOrWhiteSpace(name) && seen.Add(name.Trim())) kept.Add(name.Trim());
            }

            return kept.Count == 0 ? null : new HeaderCapture(propertyName, kept.ToArray());
        }

        public LogEventProperty? Capture(IHeaderDictionary headers)
        {
            List<KeyValuePair<ScalarValue, LogEventPropertyValue>>? entries = null;
            foreach (var name in _names)
            {
                if (!headers.TryGetValue(name, out StringValues values)) continue;
                entries ??= new();
                var value = IsAlwaysMasked(name) ? Mask : values.ToString();
                entries.Add(new(new ScalarValue(name), new ScalarValue(value)));
            }

            return entries is null ? null : new LogEventProperty(_propertyName, new DictionaryValue(entries));
        }

        /// <summary>Header-name fragments (lower case, without separators) that mark a credential.</summary>
        static readonly string[] CredentialWords = ["auth", "cookie", "key", "token", "secret", "password", "credential", "signature", "session"];

        internal static bool IsAlwaysMasked(ReadOnlySpan<char> headerName)
        {
            Span<char> buffer = stackalloc char[Math.Min(headerName.Length, 128)];
            var length = 0;
            foreach (var c in headerName)
            {
                if (length == buffer.Length) break;
                if (c is '-' or '_' or '.' or ' ') continue;
                // Both Turkish i's read as 'i': a query name cased under tr-TR ("sessıon", "SİGNATURE") is still one.
                buffer[length++] = c is '\u0130' or '\u0131' ? 'i' : char.ToLowerInvariant(c);
            }

            // Fail closed: any name that may carry a credential, not only the standard ones. API gateways name their
            // keys freely (Ocp-Apim-Subscription-Key, X-Functions-Key, X-Amz-Security-Token, X-Hub-Signature), and
            // a session id is as good as the session's cookie.
            var normalized = buffer[..length];
            foreach (var word in CredentialWords)
            {
                if (normalized.IndexOf(word, StringComparison.Ordinal) >= 0) return true;
            }
            return false;
        }
    }
}
