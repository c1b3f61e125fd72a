using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers.Enrichment;

namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>A user identity made ambient by <see cref="UserContext.Begin"/>, with the properties built from it.</summary>
sealed class UserScope : AmbientScope<UserScope>
{
    LogEventProperty? _userId;
    LogEventProperty? _tenantId;
    LogEventProperty? _sessionId;
    PseudonymousUserId? _pseudonymousUserId;

    UserScope(UserIdentity identity)
    {
        Identity = identity;
    }

    public UserIdentity Identity { get; }

    public static UserScope Begin(UserIdentity identity) => Activate(new UserScope(identity));

    public LogEventProperty? UserIdProperty(UserIdPseudonymizer? pseudonymizer)
    {
        var userId = Identity.UserId;
        if (userId is null) return null;
        if (pseudonymizer is null)
            return _userId ??= new LogEventProperty(UserPropertyNames.UserId, new ScalarValue(userId));

        // One slot: a second logger with another key recomputes, which is correct, only slower.
        var cached = _pseudonymousUserId;
        if (cached is not null && ReferenceEquals(cached.Pseudonymizer, pseudonymizer)) return cached.Property;

        cached = new PseudonymousUserId(
            pseudonymizer,
            new LogEventProperty(UserPropertyNames.UserId, new ScalarValue(pseudonymizer.Pseudonymize(userId))));
        _pseudonymousUserId = cached;
        return cached.Property;
    }

    public LogEventProperty? TenantIdProperty =>
        Identity.TenantId is { } tenantId
            ? _tenantId ??= new LogEventProperty(UserPropertyNames.TenantId, new ScalarValue(tenantId))
            : null;

    public LogEventProperty? SessionIdProperty =>
        Identity.SessionId is { } sessionId
            ? _sessionId ??= new LogEventProperty(UserPropertyNames.SessionId, new ScalarValue(sessionId))
            : null;

    sealed class PseudonymousUserId
    {
        public PseudonymousUserId(UserIdPseudonymizer pseudonymizer, LogEventProperty property)
        {
            Pseudonymizer = pseudonymizer;
            Property = property;
        }

        public UserIdPseudonymizer Pseudonymizer { get; }

        public LogEventProperty Property { get; }
    }
}
