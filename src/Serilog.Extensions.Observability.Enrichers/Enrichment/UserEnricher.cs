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
            if (scope is null) return;
            if (scope.UserIdProperty(_pseudonymizer) is { } userId)
            {
                // A user enricher without a key that ran first (WithObservability() adds one) left the clear id: a
                // keyed one replaces it. Any UserId holding the current user's clear id is replaced, so that id is
                // never written; another user's id that the event brings itself is kept.
                if (_pseudonymizer is not null
                    && logEvent.Properties.TryGetValue(UserPropertyNames.UserId, out var present)
                    && present is ScalarValue { Value: string clear }
                    && string.Equals(clear, scope.Identity.UserId, StringComparison.Ordinal))
                    logEvent.AddOrUpdateProperty(userId);
                else
                    logEvent.AddPropertyIfAbsent(userId);
            }
            if (scope.TenantIdProperty is { } tenantId) logEvent.AddPropertyIfAbsent(tenantId);
            if (scope.SessionIdProperty is { } sessionId) logEvent.AddPropertyIfAbsent(sessionId);
        }
        catch (Exception ex)
        {
            EnricherFailures.Report(nameof(UserEnricher), ex);
        }
    }
}
