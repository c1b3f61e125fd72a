using System.Globalization;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers.Context;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>Adds <c>UserId</c> (raw or pseudonymous), <c>TenantId</c> and <c>SessionId</c> from <see cref="UserContext"/>.</summary>
sealed class UserEnricher : ILogEventEnricher
{
    readonly UserIdPseudonymizer? _pseudonymizer;

    public UserEnricher(UserIdPseudonymizer? pseudonymizer)
    {
        _pseudonymizer = pseudonymizer;
    }

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        try
        {
            var scope = UserScope.Current?.Properties;
            if (_pseudonymizer is not null && logEvent.Properties.TryGetValue(UserPropertyNames.UserId, out var present))
            {
                if (present is ClearUserIdValue written)
                {
                    // A user enricher without a key that ran first (WithObservability() adds one) left a clear id: a keyed
                    // one replaces it with that id's pseudonym, whatever user it resolves itself now (a deferred identity
                    // may have changed in between, or be gone), so the event keeps one user and never a clear id.
                    logEvent.AddOrUpdateProperty(
                        scope?.Identity.UserId is { } current && string.Equals(written.UserId, current, StringComparison.Ordinal)
                            ? scope.UserIdProperty(_pseudonymizer)!
                            : new LogEventProperty(UserPropertyNames.UserId, new ScalarValue(_pseudonymizer.Pseudonymize(written.UserId))));
                }
                else if (scope?.Identity.UserId is { } current
                    && present is ScalarValue { Value: { } clear }
                    && IsSameId(clear, current))
                {
                    // The event brings the current user's clear id itself (as text, or as the number or Guid the
                    // application holds it as): it is never written; another user's id that the event brings itself is kept.
                    logEvent.AddOrUpdateProperty(scope.UserIdProperty(_pseudonymizer)!);
                }
            }

            if (scope is null) return;
            if (scope.UserIdProperty(_pseudonymizer) is { } userId) logEvent.AddPropertyIfAbsent(userId);
            if (scope.TenantIdProperty is { } tenantId) logEvent.AddPropertyIfAbsent(tenantId);
            if (scope.SessionIdProperty is { } sessionId) logEvent.AddPropertyIfAbsent(sessionId);
        }
        catch (Exception ex)
        {
            EnricherFailures.Report(nameof(UserEnricher), ex);
        }
    }

    /// <summary>
    /// Whether a value the event carries is <paramref name="userId"/>: the same text, or a Guid or an integer whose text it
    /// is. Claims, and so scopes, hold ids as text, while the application often logs the <c>Guid</c> or <c>int</c> it
    /// keeps them as (<c>"Order placed by {UserId}", user.Id</c>).
    /// </summary>
    static bool IsSameId(object value, string userId)
    {
        switch (value)
        {
            case string text:
                return string.Equals(text, userId, StringComparison.Ordinal);
            case Guid guid:
                // Any of Guid's text forms and either case: the same id.
                return Guid.TryParse(userId, out var parsed) && guid == parsed;
            case int or long or short or sbyte or uint or ulong or ushort or byte:
                // Formatted into the stack, not a string: this runs for every event that carries a UserId.
                Span<char> digits = stackalloc char[24];
                return ((ISpanFormattable)value).TryFormat(digits, out var written, default, CultureInfo.InvariantCulture)
                    && digits[..written].SequenceEqual(userId);
            default:
                return false;
        }
    }
}
