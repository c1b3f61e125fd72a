using Serilog.Configuration;
using Serilog.Extensions.Observability;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Enrichers.Enrichment;

namespace Serilog;

/// <summary>
/// Adds correlation, span, user and thread enrichers to <see cref="LoggerEnrichmentConfiguration"/>. Every
/// enricher adds its properties only when absent (a value the event already carries wins, except a clear user id that a
/// keyed <c>WithUser</c> replaces with its pseudonym), never throws
/// (a failure goes to <c>SelfLog</c>), and reuses the property it built while the value is unchanged.
/// </summary>
public static class ObservabilityEnrichersLoggerConfigurationExtensions
{
    /// <summary>
    /// Adds the correlation id of <see cref="CorrelationContext"/>; outside any correlation scope, the W3C
    /// trace id of <see cref="System.Diagnostics.Activity.Current"/> (unless turned off); nothing when neither exists.
    /// </summary>
    /// <param name="enrich">Logger enrichment configuration.</param>
    /// <param name="propertyName">The property name; default <c>CorrelationId</c>.</param>
    /// <param name="useTraceIdWhenMissing">Whether to fall back to the current W3C trace id; default <see langword="true"/>.
    /// Hierarchical activity ids are never used.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="propertyName"/> is empty or white space.</exception>
    public static LoggerConfiguration WithCorrelation(
        this LoggerEnrichmentConfiguration enrich,
        string propertyName = "CorrelationId",
        bool useTraceIdWhenMissing = true)
    {
        Guard.NotNull(enrich);
        Guard.NotNullOrWhiteSpace(propertyName);
        return enrich.With(new CorrelationIdEnricher(propertyName, useTraceIdWhenMissing));
    }

    /// <summary>
    /// Adds <c>TraceId</c>, <c>SpanId</c> and <c>ParentSpanId</c> (when there is a parent) of
    /// <see cref="System.Diagnostics.Activity.Current"/>: 32 and 16 lowercase hex characters for W3C ids; for
    /// hierarchical ids the root id, the id and the parent id. Nothing when there is no current activity.
    /// </summary>
    /// <param name="enrich">Logger enrichment configuration.</param>
    /// <param name="includeOperationName">Also add <c>OperationName</c>; default <see langword="false"/>.</param>
    /// <param name="includeBaggage">Also add <c>Baggage</c>, a dictionary of the activity's baggage (nearest value
    /// per key); default <see langword="false"/>. Built on every event, so it allocates.</param>
    /// <param name="includeTags">Also add <c>Tags</c>, a dictionary of the activity's tags; default
    /// <see langword="false"/>. Built on every event, so it allocates.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    public static LoggerConfiguration WithSpan(
        this LoggerEnrichmentConfiguration enrich,
        bool includeOperationName = false,
        bool includeBaggage = false,
        bool includeTags = false)
    {
        Guard.NotNull(enrich);
        return enrich.With(new SpanEnricher(includeOperationName, includeBaggage, includeTags));
    }

    /// <summary>
    /// Adds <c>UserId</c>, <c>TenantId</c> and <c>SessionId</c> of <see cref="UserContext"/> (each only when known).
    /// </summary>
    /// <param name="enrich">Logger enrichment configuration.</param>
    /// <param name="pseudonymKey">When set, <c>UserId</c> is written as HMAC-SHA256(key, UTF-8 user id) in
    /// 64 lowercase hex characters instead of the raw id: stable for the same key, unrelated across keys, not
    /// reversible without the key. The key's UTF-8 form must be at least 16 bytes; keep it secret (configuration
    /// secrets, not source). Default <see langword="null"/>: raw ids. With a key, a <c>UserId</c> the event already carries is
    /// replaced by its pseudonym when it is the current user's clear id (as text, or as the <c>Guid</c> or integer the
    /// application logs it as) or one an unkeyed <c>WithUser()</c> wrote (which
    /// <c>WithObservability()</c> adds); another user's id the event brings itself is kept. Tenant and session ids are never
    /// changed.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="pseudonymKey"/> is shorter than 16 bytes (an empty
    /// key is refused, not taken as "off", so a missing secret cannot silently expose raw ids), or is an environment
    /// variable reference such as <c>%USER_ID_KEY%</c> that appsettings left unexpanded because the variable is not
    /// set.</exception>
    public static LoggerConfiguration WithUser(
        this LoggerEnrichmentConfiguration enrich,
        string? pseudonymKey = null)
    {
        Guard.NotNull(enrich);
        var pseudonymizer = pseudonymKey is null ? null : UserIdPseudonymizer.FromString(pseudonymKey);
        return enrich.With(new UserEnricher(pseudonymizer));
    }

    /// <summary>
    /// Adds <c>ThreadId</c>, the managed id of the thread that writes the event
    /// (<see cref="Environment.CurrentManagedThreadId"/>), like Serilog.Enrichers.Thread.
    /// </summary>
    /// <param name="enrich">Logger enrichment configuration.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    public static LoggerConfiguration WithThreadId(this LoggerEnrichmentConfiguration enrich)
    {
        Guard.NotNull(enrich);
        return enrich.With(new ThreadIdEnricher());
    }

    /// <summary>
    /// Adds <c>ThreadName</c>, the name of the thread that writes the event, only when it has one, like
    /// Serilog.Enrichers.Thread.
    /// </summary>
    /// <param name="enrich">Logger enrichment configuration.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    public static LoggerConfiguration WithThreadName(this LoggerEnrichmentConfiguration enrich)
    {
        Guard.NotNull(enrich);
        return enrich.With(new ThreadNameEnricher());
    }
}
