using Microsoft.Extensions.DependencyInjection;
using Serilog.Extensions.Observability.AspNetCore.Correlation;

namespace Serilog;

/// <summary>Correlation propagation for <see cref="System.Net.Http.HttpClient"/>.</summary>
public static class ObservabilityHttpClientBuilderExtensions
{
    // The headers .NET's built-in propagators (DistributedContextPropagator) read and write: W3C trace context and
    // baggage, and the legacy hierarchical ones. A correlation id under one of them would stop HttpClient from writing
    // the real value (it leaves a header the request has), or be read by the receiving server as the parent trace.
    static readonly string[] TraceContextHeaders = ["traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context"];

    // Headers HttpClient, the connection or a proxy act on, and credentials. On HTTP/1.1 "Transfer-Encoding: <id>" gets
    // every request answered 400 and "Host: <id>" addresses it to a virtual host named after the id; HTTP/2 and HTTP/3
    // forbid the connection-specific ones; an id under Authorization or Cookie would be offered as credentials.
    static readonly string[] MessageControlHeaders =
        ["Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Expect",
         "Authorization", "Proxy-Authorization", "Cookie"];

    /// <summary>
    /// Adds the ambient correlation id (<c>CorrelationContext.CurrentId</c>) to every outgoing request of this client
    /// under <paramref name="headerName"/>, when it is an id <c>UseCorrelation()</c> accepts (1 to 128 characters of
    /// <c>[A-Za-z0-9._:-]</c>; a message id holding <c>+ / = @</c> is not sent).
    /// </summary>
    /// <remarks>
    /// <para>A request that carries the header already keeps its value, and only that one: set on the request, on its
    /// content, or in the client's <c>DefaultRequestHeaders</c>. A message sent again by a retry handler carries the id
    /// once; so does a client with this handler added twice.</para>
    /// <para>Outside any correlation scope (a background service that began none) nothing is added: the receiving
    /// <c>UseCorrelation()</c> then takes the W3C trace id that <c>traceparent</c> brings, which is what
    /// <c>WithCorrelation()</c> logs on this side. Begin a <c>CorrelationContext</c> per message to send its id.</para>
    /// <para><c>traceparent</c>, <c>tracestate</c> and <c>baggage</c> are .NET's: HttpClient writes them through
    /// <see cref="System.Diagnostics.DistributedContextPropagator.Current"/> in its default primary handler
    /// (<see cref="SocketsHttpHandler"/>; a primary handler of another kind, such as TestServer's, sends none), and this
    /// handler never touches them. The
    /// correlation id does not depend on that propagator: with a no-output propagator it is still sent, and it is the
    /// trace id when the incoming request brought no id of its own (<c>CorrelationOptions.UseTraceIdWhenMissing</c>).
    /// Leave this handler off clients whose calls must not carry it.</para>
    /// <para>Redirects that HttpClient follows (<c>AllowAutoRedirect</c>) keep the header, to any host, as they keep
    /// <c>traceparent</c>. A redirect that turns a POST into a GET drops the content, and with it an id the caller put on
    /// the content's headers.</para>
    /// </remarks>
    /// <param name="builder">The HTTP client builder.</param>
    /// <param name="headerName">The header to write. The default is <c>X-Correlation-ID</c>. It must be an HTTP token
    /// (visible ASCII characters, no white space, none of <c>" ( ) , / : ; &lt; = &gt; ? @ [ \ ] { }</c>). It cannot be a trace
    /// context header (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>, <c>Request-Id</c>,
    /// <c>Correlation-Context</c>), a header by which the request is framed, routed or authenticated (<c>Host</c>,
    /// <c>Connection</c>, <c>Keep-Alive</c>, <c>Proxy-Connection</c>, <c>Transfer-Encoding</c>, <c>TE</c>, <c>Trailer</c>,
    /// <c>Upgrade</c>, <c>Expect</c>, <c>Authorization</c>, <c>Proxy-Authorization</c>, <c>Cookie</c>) nor a content
    /// header (<c>Content-Type</c>).</param>
    /// <returns>The HTTP client builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="headerName"/> is
    /// <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="headerName"/> is not an HTTP token, or is one of the headers it
    /// cannot be (above).</exception>
    public static IHttpClientBuilder AddCorrelationPropagation(this IHttpClientBuilder builder, string headerName = "X-Correlation-ID")
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(headerName);
        if (!CorrelationHeader.IsValidName(headerName))
            throw new ArgumentException(
                "The header name must be " + CorrelationHeader.NameRule,
                nameof(headerName));
        foreach (var traceHeader in TraceContextHeaders)
        {
            if (string.Equals(headerName, traceHeader, StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException(
                    "The header name cannot be a trace context header (traceparent, tracestate, baggage, Request-Id, Correlation-Context): HttpClient writes those itself.",
                    nameof(headerName));
        }

        foreach (var controlHeader in MessageControlHeaders)
        {
            if (string.Equals(headerName, controlHeader, StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException(
                    "The header name cannot be one by which a request is framed, routed or authenticated (Host, Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, TE, Trailer, Upgrade, Expect, Authorization, Proxy-Authorization, Cookie).",
                    nameof(headerName));
        }

        // A content header (Content-Type) has no place among a request's own headers: nothing would ever be sent.
        using (var probe = new HttpRequestMessage())
        {
            if (!probe.Headers.TryAddWithoutValidation(headerName, "x"))
                throw new ArgumentException("The header name must be one a request carries, not a content header such as Content-Type.", nameof(headerName));
        }

        return builder.AddHttpMessageHandler(() => new CorrelationPropagationHandler(headerName));
    }
}
