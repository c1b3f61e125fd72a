using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Serilog.Events;

namespace Serilog.AspNetCore;

/// <summary>
/// Options for <c>UseSerilogRequestLogging()</c>. The members and defaults of Serilog.AspNetCore 8's
/// <c>RequestLoggingOptions</c>, plus opt-in behaviours (path exclusion, level presets, header
/// allow-lists) that can be set from the <c>"Serilog:RequestLogging"</c> configuration section.
/// </summary>
public class RequestLoggingOptions
{
    const string DefaultRequestCompletionMessageTemplate =
        "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms";

    /// <summary>
    /// The key under which the elapsed milliseconds are stored in <see cref="HttpContext.Items"/> when
    /// <see cref="AddElapsedToHttpContext"/> is set.
    /// </summary>
    public const string HttpContextItemsElapsedKey = "Serilog.AspNetCore.ElapsedMs";

    /// <summary>
    /// Creates options with Serilog.AspNetCore's defaults.
    /// </summary>
    public RequestLoggingOptions()
    {
        MessageTemplate = DefaultRequestCompletionMessageTemplate;
        GetLevel = DefaultGetLevel;
        GetMessageTemplateProperties = DefaultMessageTemplateProperties;
    }

    /// <summary>
    /// The default <see cref="GetMessageTemplateProperties"/>, one instance for every options object: the middleware
    /// recognises it and adds the same four properties without the list (see RequestLoggingMiddleware).
    /// </summary>
    internal static readonly Func<HttpContext, string, double, int, IEnumerable<LogEventProperty>> DefaultMessageTemplateProperties =
        DefaultGetMessageTemplateProperties;

    /// <summary>
    /// The message template of the completion event. The default is
    /// <c>"HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms"</c>;
    /// it may name properties set through <see cref="IDiagnosticContext"/>.
    /// </summary>
    public string MessageTemplate { get; set; }

    /// <summary>
    /// Chooses the level of the completion event from the context, the elapsed milliseconds and the
    /// exception that escaped, if any. The default returns <see cref="LogEventLevel.Error"/> when an
    /// exception escaped or the status code is greater than 499, else <see cref="LogEventLevel.Information"/>,
    /// adjusted by <see cref="LogClientErrorsAsWarning"/>, <see cref="LogAbortedRequestsAsClientClosed"/>
    /// and <see cref="SlowRequestThreshold"/>. Replacing it replaces those presets too. A callback that wraps the
    /// default (<c>var inner = o.GetLevel; o.GetLevel = (c, ms, ex) => ... inner(c, ms, ex)</c>) keeps them, and the
    /// default it calls reads the presets of the options the middleware runs with, wherever it was wrapped: in
    /// <c>services.Configure&lt;RequestLoggingOptions&gt;()</c> or in the <c>UseSerilogRequestLogging()</c> callback,
    /// with the presets set in either (or bound from <c>"Serilog:RequestLogging"</c>). The default taken from an
    /// options object of your own (<c>new RequestLoggingOptions { ... }.GetLevel</c>) keeps that object's presets.
    /// </summary>
    public Func<HttpContext, double, Exception?, LogEventLevel> GetLevel { get; set; }

    /// <summary>A callback that sets additional properties on the completion event.</summary>
    public Action<IDiagnosticContext, HttpContext>? EnrichDiagnosticContext { get; set; }

    /// <summary>
    /// The logger that writes completion events. The default is the logger <c>builder.AddObservability()</c> created
    /// for this host (even when another host in the process has replaced <see cref="Log.Logger"/> since), else the
    /// static <see cref="Log"/> class. The default is taken when the property is still <see langword="null"/> after the
    /// <c>UseSerilogRequestLogging()</c> callback: the callback sees <see langword="null"/> unless registered options set
    /// a logger, as with Serilog.AspNetCore, so <c>o.Logger ??= myLogger</c> there makes <c>myLogger</c> write them.
    /// </summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// Include the query string in <c>RequestPath</c>. The values of parameters that may carry a credential are
    /// written as <c>[REDACTED]</c>: names containing what <see cref="RequestHeaders"/> masks (<c>token</c>,
    /// <c>key</c>, <c>secret</c>, ...); <c>sig</c>, <c>code</c>, <c>pwd</c>, <c>pass</c>, <c>jwt</c> and <c>otp</c>;
    /// <c>state</c>, <c>nonce</c> and <c>code_verifier</c> of OAuth and OpenID Connect; SAML's <c>SAMLResponse</c>,
    /// <c>SAMLRequest</c> and <c>RelayState</c>; the device flow's <c>device_code</c> and <c>user_code</c>; and <c>id</c>
    /// on a SignalR connection's requests, where it is the connection's token. A request target in absolute form
    /// (<c>http://user:password@host/p</c>) has its userinfo masked whole. The default is <see langword="false"/>.
    /// </summary>
    public bool IncludeQueryInRequestPath { get; set; }

    /// <summary>
    /// Store the elapsed milliseconds in <see cref="HttpContext.Items"/> under <see cref="HttpContextItemsElapsedKey"/>
    /// before <see cref="EnrichDiagnosticContext"/> runs. The default is <see langword="false"/>.
    /// </summary>
    public bool AddElapsedToHttpContext { get; set; }

    /// <summary>
    /// Produces the properties the message template names from the context, the request path, the elapsed
    /// milliseconds and the status code. The default gives <c>RequestMethod</c>, <c>RequestPath</c>,
    /// <c>StatusCode</c> and <c>Elapsed</c>; they win over diagnostic-context properties of the same name.
    /// </summary>
    public Func<HttpContext, string, double, int, IEnumerable<LogEventProperty>> GetMessageTemplateProperties { get; set; }

    /// <summary>
    /// Request paths that produce no completion event: exact paths (<c>/health</c>) or prefixes ending
    /// in <c>*</c> (<c>/metrics/*</c>), compared without regard to case. Each must start with <c>/</c>;
    /// <c>UseSerilogRequestLogging()</c> rejects one that does not. The default is none.
    /// </summary>
    public string[] ExcludePaths { get; set; } = [];

    /// <summary>
    /// With the default <see cref="GetLevel"/>, wrapped or not (see there), log 4xx responses at
    /// <see cref="LogEventLevel.Warning"/>. The default is <see langword="false"/>.
    /// </summary>
    public bool LogClientErrorsAsWarning { get; set; }

    /// <summary>
    /// Log a request the client aborted with status code 499 and, with the default <see cref="GetLevel"/> (wrapped or
    /// not, see there), at <see cref="LogEventLevel.Information"/> rather than as an error. A request that ends with any exception
    /// other than a cancellation, an I/O error or a WebSocket closed without its close handshake is still a failure
    /// (500, Error), whoever left first. The request counts as aborted once <see cref="HttpContext.RequestAborted"/> is
    /// cancelled, which Kestrel does on the thread pool just after it sees the connection go: a handler that fails on
    /// the lost connection (a cut upload, a WebSocket receive) and returns before that is logged as the failure or the
    /// status it ended with (a minimal API answers a cut request body with 400). A request whose timeout
    /// (<c>UseRequestTimeouts()</c>) expired is not one the client aborted. The completion event of an aborted
    /// request carries no exception: the one the abort caused is left out (a custom <see cref="GetLevel"/> still receives
    /// it), while an exception set through <see cref="IDiagnosticContext.SetException"/> is attached as usual. The default
    /// is <see langword="false"/>.
    /// </summary>
    public bool LogAbortedRequestsAsClientClosed { get; set; }

    /// <summary>
    /// With the default <see cref="GetLevel"/>, wrapped or not (see there), log requests that take at least this long at
    /// <see cref="LogEventLevel.Warning"/>. WebSocket requests, server-sent event streams (a response of
    /// <c>text/event-stream</c>) and <c>GET</c> requests to an endpoint that disables request timeouts
    /// (<c>DisableRequestTimeout()</c>, as SignalR's connection endpoints do, whose long polls wait up to 90 seconds for
    /// a message) are left out: they last as long as their connection or their data by design. The default is
    /// <see langword="null"/> (off).
    /// </summary>
    public TimeSpan? SlowRequestThreshold { get; set; }

    /// <summary>
    /// When an exception escapes, log the status code the client will receive where it is known instead of 500:
    /// the status already sent when the response had started, else the exception's own
    /// (<see cref="BadHttpRequestException.StatusCode"/>). The default is <see langword="false"/>, which logs 500 as
    /// Serilog.AspNetCore does.
    /// </summary>
    public bool UseExceptionStatusCode { get; set; }

    /// <summary>
    /// Request headers copied into the event's <c>RequestHeaders</c> property when present.
    /// Headers that may carry a credential are always masked: every name containing <c>auth</c>, <c>cookie</c>,
    /// <c>key</c>, <c>token</c>, <c>secret</c>, <c>password</c>, <c>credential</c>, <c>signature</c> or <c>session</c>
    /// (ignoring case, <c>-</c> and <c>_</c>), such as <c>Authorization</c>, <c>Cookie</c> and
    /// <c>Ocp-Apim-Subscription-Key</c>. The default is none.
    /// </summary>
    public string[] RequestHeaders { get; set; } = [];

    /// <summary>
    /// Response headers copied into the event's <c>ResponseHeaders</c> property when present.
    /// Headers that may carry a credential (<c>Set-Cookie</c>, and every name <see cref="RequestHeaders"/> describes)
    /// are always masked. The default is none.
    /// </summary>
    public string[] ResponseHeaders { get; set; } = [];

    /// <summary>
    /// Add the stage durations of every <c>PipelineTimer</c> that ran inside the request as the
    /// <c>Stages</c> property. The default is <see langword="true"/>; it costs nothing when no pipeline ran.
    /// The request keeps stage totals, not the pipelines (a long-lived request may run one per message): up to 256
    /// distinct keys, later ones added up under <c>(other)</c>.
    /// </summary>
    public bool IncludePipelineStages { get; set; } = true;

    /// <summary>
    /// A copy for one <c>UseSerilogRequestLogging</c> call, so that calls (a branch of the pipeline, another host's
    /// pipeline on the same services) never change each other's settings. The default level callback reads the
    /// copy's settings, and so does this instance's default wrapped in another callback (see <see cref="Running"/>);
    /// the path and header lists are copied too.
    /// </summary>
    internal RequestLoggingOptions Copy()
    {
        var copy = (RequestLoggingOptions)MemberwiseClone();
        copy._copiedFrom = this;
        if (GetLevel is { } getLevel && ReferenceEquals(getLevel.Target, this)) copy.GetLevel = copy.DefaultGetLevel;
        copy.ExcludePaths = (string[]?)ExcludePaths?.Clone()!;
        copy.RequestHeaders = (string[]?)RequestHeaders?.Clone()!;
        copy.ResponseHeaders = (string[]?)ResponseHeaders?.Clone()!;
        return copy;
    }

    /// <summary>
    /// Whether the request ended because its client went away: aborted, and with no exception or only the one an
    /// abort causes (a cancellation, an I/O error on the closed connection, or a WebSocket closed without its close
    /// handshake). Any other exception is a failure of the application, whoever left first. A request timeout is not
    /// the client leaving: <c>UseRequestTimeouts()</c> placed before the middleware hands the rest of the pipeline a
    /// <see cref="HttpContext.RequestAborted"/> that its timeout cancels, and then answers the request itself (504).
    /// </summary>
    internal static bool ClientClosed(HttpContext context, Exception? exception) => ClientClosed(AbortedByClient(context), exception);

    /// <summary><see cref="ClientClosed(HttpContext, Exception?)"/> with the abort read once already (<see cref="AbortedByClient"/>).</summary>
    internal static bool ClientClosed(bool abortedByClient, Exception? exception) =>
        abortedByClient && (exception is null || IsCausedByAbort(exception));

    /// <summary>
    /// Whether <see cref="HttpContext.RequestAborted"/> is cancelled, and not by a request timeout. Kestrel cancels it on
    /// the thread pool: read it once per completion event, so its status, exception and level agree.
    /// </summary>
    internal static bool AbortedByClient(HttpContext context) =>
        context.RequestAborted.IsCancellationRequested
        && context.Features.Get<IHttpRequestTimeoutFeature>() is not { RequestTimeoutToken.IsCancellationRequested: true };

    // A WebSocket whose connection closes under it throws neither a cancellation nor an I/O error but a
    // WebSocketException ("closed without completing the close handshake"), the way a browser tab closed mid-session ends.
    static bool IsCausedByAbort(Exception exception) => exception is OperationCanceledException or System.IO.IOException
        or System.Net.WebSockets.WebSocketException { WebSocketErrorCode: System.Net.WebSockets.WebSocketError.ConnectionClosedPrematurely }
        or System.Net.WebSockets.WebSocketException { InnerException: OperationCanceledException or System.IO.IOException };

    // The registered options this copy was made from (see Copy), else null.
    RequestLoggingOptions? _copiedFrom;

    [ThreadStatic] static RequestLoggingOptions? t_running;

    /// <summary>
    /// The options of the middleware whose <see cref="GetLevel"/> call is running on this thread, else null; the
    /// middleware sets it around that call and restores what it found. A callback registered through
    /// <c>services.Configure</c> that wraps the default captures the registered instance's default, not the copy's
    /// the middleware runs with: the default reads its presets from here when they are a copy of its own instance,
    /// so presets set in the <c>UseSerilogRequestLogging()</c> callback still apply. A thread-static field, read only
    /// within that synchronous call: nothing is stored on the request and nothing is allocated.
    /// </summary>
    internal static RequestLoggingOptions? Running
    {
        get => t_running;
        set => t_running = value;
    }

    [ThreadStatic] static bool t_runningAbortedByClient;

    /// <summary>
    /// <see cref="AbortedByClient"/> as the middleware of <see cref="Running"/> read it for the event being written (with
    /// <see cref="LogAbortedRequestsAsClientClosed"/>); set and restored with <see cref="Running"/>.
    /// </summary>
    internal static bool RunningAbortedByClient
    {
        get => t_runningAbortedByClient;
        set => t_runningAbortedByClient = value;
    }

    LogEventLevel DefaultGetLevel(HttpContext context, double elapsedMs, Exception? exception)
    {
        // The presets of the options the middleware runs with when this is their default, or the default of the
        // registered options they were copied from; else (an options object of the application's own) this one's.
        var presets = t_running is { } running && (ReferenceEquals(running, this) || ReferenceEquals(running._copiedFrom, this))
            ? running
            : this;

        // The running middleware has read the abort already, for the status and the exception: the level follows the same
        // reading, even if the token has been cancelled since.
        if (presets.LogAbortedRequestsAsClientClosed
            && ClientClosed(ReferenceEquals(presets, t_running) ? t_runningAbortedByClient : AbortedByClient(context), exception))
            return LogEventLevel.Information;

        if (exception is not null || context.Response.StatusCode > 499)
            return LogEventLevel.Error;

        if (presets.LogClientErrorsAsWarning && context.Response.StatusCode >= 400)
            return LogEventLevel.Warning;

        if (presets.SlowRequestThreshold is { } threshold && elapsedMs >= threshold.TotalMilliseconds && !IsLongLivedByDesign(context))
            return LogEventLevel.Warning;

        return LogEventLevel.Information;
    }

    // A WebSocket or a server-sent event stream lasts as long as its client stays, and a GET its endpoint lets run without
    // a time limit (SignalR's connection endpoints carry that metadata: a long poll waits up to LongPollingOptions.PollTimeout,
    // 90 seconds by default, for a message) as long as its data takes: its duration says nothing of speed.
    static bool IsLongLivedByDesign(HttpContext context) =>
        context.WebSockets.IsWebSocketRequest
        || (context.Response.ContentType is { } contentType && contentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
        || (HttpMethods.IsGet(context.Request.Method) && context.GetEndpoint()?.Metadata.GetMetadata<DisableRequestTimeoutAttribute>() is not null);

    static IEnumerable<LogEventProperty> DefaultGetMessageTemplateProperties(HttpContext context, string requestPath, double elapsedMs, int statusCode) =>
    [
        new LogEventProperty("RequestMethod", new ScalarValue(context.Request.Method)),
        new LogEventProperty("RequestPath", new ScalarValue(requestPath)),
        new LogEventProperty("StatusCode", new ScalarValue(statusCode)),
        new LogEventProperty("Elapsed", new ScalarValue(elapsedMs)),
    ];
}
