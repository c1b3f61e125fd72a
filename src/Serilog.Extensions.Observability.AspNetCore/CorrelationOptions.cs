using System.Security.Claims;

namespace Serilog.Extensions.Observability.AspNetCore;

/// <summary>
/// Options for <c>UseCorrelation()</c>. <c>builder.AddObservability()</c> binds them from the
/// <c>"Serilog:Correlation"</c> configuration section (all but <see cref="Logger"/>); <c>UseCorrelation()</c>'s callback
/// runs after that and wins.
/// </summary>
public sealed class CorrelationOptions
{
    /// <summary>The default correlation header, <c>X-Correlation-ID</c>.</summary>
    public const string DefaultHeaderName = "X-Correlation-ID";

    /// <summary>The longest correlation id accepted from a request header: 128 characters.</summary>
    public const int MaxIdLength = Enrichers.CorrelationContext.MaxIdLength;

    /// <summary>
    /// The request header the id is read from (unless <see cref="TrustIncomingId"/> is off), and the response header it is
    /// echoed on. The default is <c>X-Correlation-ID</c>. A header with one empty value, or spaces and tabs alone, counts as
    /// absent; one with several values (several lines, or one line listing them) is rejected.
    /// </summary>
    public string HeaderName { get; set; } = DefaultHeaderName;

    /// <summary>
    /// Further request headers tried, in order, when <see cref="HeaderName"/> is absent or empty (for example
    /// <c>X-Request-ID</c>). The default is none. Not read when <see cref="TrustIncomingId"/> is off.
    /// </summary>
    public IList<string> AdditionalHeaderNames { get; set; } = new List<string>();

    /// <summary>
    /// Take the correlation id from the request's headers (<see cref="HeaderName"/>, then
    /// <see cref="AdditionalHeaderNames"/>) when it is acceptable. The default is <see langword="true"/>.
    /// </summary>
    /// <remarks>
    /// Set it to <see langword="false"/> on a service that faces the public internet, where a caller must not choose the id
    /// its requests are logged under: no request header is read, and every request gets the id a request without one gets
    /// (see <see cref="UseTraceIdWhenMissing"/>: the W3C trace id, else a new id). Nothing is logged about the ignored
    /// headers, whatever they hold, so a caller cannot make the service write a warning per request either (the request
    /// logging's <c>RequestHeaders</c> still copies a header it names into the completion event: leave these out of it).
    /// The id is still echoed on <see cref="HeaderName"/> when <see cref="EchoResponseHeader"/> is on, never the value the
    /// caller sent there; <see cref="AdditionalHeaderNames"/> are still validated, not read. A caller that sends a
    /// <c>traceparent</c> still chooses the trace id (ASP.NET Core continues the caller's trace): set
    /// <see cref="UseTraceIdWhenMissing"/> to <see langword="false"/> as well for a new id on every request, whatever the
    /// caller sends.
    /// </remarks>
    public bool TrustIncomingId { get; set; } = true;

    /// <summary>
    /// Use the current W3C trace id when the request carries no acceptable id. The default is
    /// <see langword="true"/>; otherwise, or when there is no trace id, a new id is generated.
    /// </summary>
    public bool UseTraceIdWhenMissing { get; set; } = true;

    /// <summary>Echo the id on the response header. The default is <see langword="true"/>.</summary>
    public bool EchoResponseHeader { get; set; } = true;

    /// <summary>
    /// Open a <c>UserContext</c> for the request from <c>HttpContext.User</c>, read when events are written,
    /// so it reflects authentication that runs later in the pipeline. The default is <see langword="true"/>.
    /// </summary>
    public bool EnableUserContext { get; set; } = true;

    /// <summary>
    /// The logger that reports rejected correlation headers (their length, never their value).
    /// The default is the logger <c>builder.AddObservability()</c> created for this host (even when another host in
    /// the process has replaced <see cref="Log.Logger"/> since), else the static <see cref="Log"/> class. Set in code
    /// only: the <c>"Serilog:Correlation"</c> section cannot give it. The default is taken when the property is still
    /// <see langword="null"/> after the <c>UseCorrelation()</c> callback: the callback sees <see langword="null"/> unless
    /// registered options (<c>services.Configure&lt;CorrelationOptions&gt;()</c>) set a logger, so
    /// <c>o.Logger ??= myLogger</c> there makes <c>myLogger</c> report them.
    /// </summary>
    public ILogger? Logger { get; set; }

    // Microsoft.IdentityModel's inbound claim map (MapInboundClaims) renames "tid" to this; "sub" becomes
    // ClaimTypes.NameIdentifier, already a default, and "sid" stays as it is.
    const string MappedTenantIdClaimType = "http://schemas.microsoft.com/identity/claims/tenantid";

    /// <summary>Claim types tried, in order, for the user id. The default is <c>sub</c>, then <see cref="ClaimTypes.NameIdentifier"/>.</summary>
    public IList<string> UserIdClaimTypes { get; set; } = new List<string> { "sub", ClaimTypes.NameIdentifier };

    /// <summary>
    /// Claim types tried, in order, for the tenant id. The default is <c>tid</c>, then <c>tenant_id</c>, then
    /// <c>http://schemas.microsoft.com/identity/claims/tenantid</c>, the name JwtBearer gives <c>tid</c> when it maps
    /// inbound claims (<c>MapInboundClaims</c>, on by default).
    /// </summary>
    public IList<string> TenantIdClaimTypes { get; set; } = new List<string> { "tid", "tenant_id", MappedTenantIdClaimType };

    /// <summary>
    /// Claim types tried, in order, for the session id. The default is <c>sid</c>, which JwtBearer keeps as it is when it
    /// maps inbound claims. <see cref="ClaimTypes.Sid"/> is not tried: it is the Windows security identifier claim, where
    /// applications often keep a user's key.
    /// </summary>
    public IList<string> SessionIdClaimTypes { get; set; } = new List<string> { "sid" };

    /// <summary>
    /// A copy for one <c>UseCorrelation()</c> call, so that calls (a branch of the pipeline) never change each other's
    /// settings or those registered. The lists are copied too.
    /// </summary>
    internal CorrelationOptions Copy()
    {
        var copy = (CorrelationOptions)MemberwiseClone();
        copy.AdditionalHeaderNames = CopyOf(AdditionalHeaderNames);
        copy.UserIdClaimTypes = CopyOf(UserIdClaimTypes);
        copy.TenantIdClaimTypes = CopyOf(TenantIdClaimTypes);
        copy.SessionIdClaimTypes = CopyOf(SessionIdClaimTypes);
        return copy;
    }

    // Null stays null, for UseCorrelation() to reject.
    static IList<string> CopyOf(IList<string>? list) => list is null ? null! : new List<string>(list);
}
