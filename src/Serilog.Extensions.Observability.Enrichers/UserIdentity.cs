namespace Serilog.Extensions.Observability.Enrichers;

/// <summary>The user an operation runs for, as made ambient by <see cref="UserContext.Begin"/>.</summary>
public sealed class UserIdentity
{
    /// <summary>Creates an identity; any part may be <see langword="null"/> (not known).</summary>
    /// <param name="userId">The user's id, written as <c>UserId</c>.</param>
    /// <param name="tenantId">The tenant's id, written as <c>TenantId</c>.</param>
    /// <param name="sessionId">The session's id, written as <c>SessionId</c>.</param>
    public UserIdentity(string? userId, string? tenantId = null, string? sessionId = null)
    {
        UserId = userId;
        TenantId = tenantId;
        SessionId = sessionId;
    }

    /// <summary>The user's id, or <see langword="null"/> when not known (for example anonymous work).</summary>
    public string? UserId { get; }

    /// <summary>The tenant's id, or <see langword="null"/>.</summary>
    public string? TenantId { get; }

    /// <summary>The session's id, or <see langword="null"/>.</summary>
    public string? SessionId { get; }
}
