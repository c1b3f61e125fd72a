using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers.Enrichment;

namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>
/// A user made ambient by <see cref="UserContext.Begin"/> (a fixed identity) or by
/// <see cref="UserContext.BeginDeferred"/> (an identity read when events are written).
/// </summary>
sealed class UserScope : AmbientScope<UserScope>
{
    readonly Func<UserIdentity?>? _resolve;
    UserProperties? _properties;

    UserScope(UserIdentity identity)
    {
        _properties = new UserProperties(identity);
    }

    UserScope(Func<UserIdentity?> resolve)
    {
        _resolve = resolve;
    }

    public UserIdentity? Identity => Properties?.Identity;

    /// <summary>
    /// The properties of the current identity. A resolved identity that is the same instance as last time reuses
    /// the properties built then, so a resolver that caches its answer costs no allocation per event.
    /// </summary>
    public UserProperties? Properties
    {
        get
        {
            if (_resolve is null) return _properties;

            var identity = Resolve();
            if (identity is null) return null;

            var cached = Volatile.Read(ref _properties);
            if (cached is not null && ReferenceEquals(cached.Identity, identity)) return cached;

            cached = new UserProperties(identity);
            Volatile.Write(ref _properties, cached);
            return cached;
        }
    }

    /// <summary>A resolver that throws does so on every read (every event in the scope): reported once per interval.</summary>
    internal static readonly SelfLogThrottle ResolverReport = new();

    /// <summary>
    /// The resolver's identity; inside its own resolver the enclosing scope's. A resolver that throws (a principal whose
    /// claims fail) is reported through SelfLog and gives no identity, as a resolver that returns none: never an
    /// exception for the event, or for application code that reads <c>UserContext.Current</c>.
    /// </summary>
    UserIdentity? Resolve()
    {
        // Inside its own resolver (here or up the stack, see Resolving): the enclosing scope's identity.
        if (Resolving<UserScope>.Contains(this)) return Parent?.Identity;

        Resolving<UserScope>.Push(this);
        try
        {
            return _resolve!();
        }
        catch (Exception ex)
        {
            ResolverReport.WriteLine("UserContext.BeginDeferred: the resolver threw, so no user identity was used ({0} more since the last report): {1}", ex);
            return null;
        }
        finally
        {
            Resolving<UserScope>.Pop();
        }
    }

    public static UserScope Begin(UserIdentity identity) => Activate(new UserScope(identity));

    public static UserScope Begin(Func<UserIdentity?> resolve) => Activate(new UserScope(resolve));
}

/// <summary>One identity and the properties built from it, each built once.</summary>
sealed class UserProperties
{
    LogEventProperty? _userId;
    LogEventProperty? _tenantId;
    LogEventProperty? _sessionId;
    PseudonymousUserId? _pseudonymousUserId;

    public UserProperties(UserIdentity identity)
    {
        Identity = identity;
    }

    public UserIdentity Identity { get; }

    public LogEventProperty? UserIdProperty(UserIdPseudonymizer? pseudonymizer)
    {
        var userId = Identity.UserId;
        if (userId is null) return null;
        if (pseudonymizer is null)
            return _userId ??= new LogEventProperty(UserPropertyNames.UserId, new ClearUserIdValue(userId));

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
