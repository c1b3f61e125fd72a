using Serilog.Extensions.Observability.Enrichers.Context;

namespace Serilog.Extensions.Observability.Enrichers;

/// <summary>
/// The ambient user of the current async flow. <c>Enrich.WithUser()</c> writes it as <c>UserId</c>,
/// <c>TenantId</c> and <c>SessionId</c> on every event.
/// </summary>
/// <remarks>
/// The same flow and disposal rules as <see cref="CorrelationContext"/>: the identity flows through
/// <c>await</c>, <c>Task.Run</c> and timers started inside the scope, never into work started outside it;
/// scopes nest and restore the previous identity on dispose; out-of-order disposal leaves the current
/// identity in place and is skipped when an inner scope restores its parent; past 1024 nested scopes (scopes never
/// disposed) a new scope replaces the innermost one.
/// </remarks>
public static class UserContext
{
    /// <summary>The identity of the current flow, or <see langword="null"/> outside any scope.</summary>
    public static UserIdentity? Current => UserScope.Current?.Identity;

    /// <summary>Makes the given identity current until the returned scope is disposed.</summary>
    /// <param name="userId">The user's id, or <see langword="null"/> for work on no user's behalf
    /// (an inner scope with no user hides the outer one).</param>
    /// <param name="tenantId">The tenant's id, or <see langword="null"/>.</param>
    /// <param name="sessionId">The session's id, or <see langword="null"/>.</param>
    /// <returns>A scope that restores the previous identity when disposed.</returns>
    public static IDisposable Begin(string? userId, string? tenantId = null, string? sessionId = null) =>
        UserScope.Begin(new UserIdentity(userId, tenantId, sessionId));

    /// <summary>
    /// Makes an identity that is read when each event is written current until the returned scope is disposed,
    /// for hosts where the user becomes known after the scope opens (ASP.NET Core authentication runs after the
    /// correlation middleware). Return the same <see cref="UserIdentity"/> instance while the user is unchanged:
    /// its properties are then built once. An exception from <paramref name="resolve"/> is reported to SelfLog and
    /// counts as no identity (events are written without user properties, <see cref="Current"/> is
    /// <see langword="null"/>); inside <paramref name="resolve"/>, <see cref="Current"/> is the enclosing scope's.
    /// </summary>
    /// <param name="resolve">Returns the current identity, or <see langword="null"/> while there is none.</param>
    /// <returns>A scope that restores the previous identity when disposed.</returns>
    public static IDisposable BeginDeferred(Func<UserIdentity?> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        return UserScope.Begin(resolve);
    }
}
