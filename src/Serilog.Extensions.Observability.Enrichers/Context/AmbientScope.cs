namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>
/// One ambient scope in an <see cref="AsyncLocal{T}"/> chain. Each closed type has its own slot, so
/// correlation and user scopes nest independently.
/// </summary>
/// <remarks>
/// Disposal rules (the same for every scope type):
/// <list type="bullet">
/// <item>Disposing the current scope restores its parent, skipping parents that were already disposed.</item>
/// <item>Disposing a scope that is not current in this flow (an outer scope disposed before an inner one)
/// only marks it disposed: the current value is left alone, and the scope is skipped when an inner scope
/// later restores its parent.</item>
/// <item>Disposing twice does nothing more: the second call finds the scope no longer current.</item>
/// <item>Disposal acts on the calling flow only. A child flow that disposes a scope it inherited restores
/// the parent in the child; the flow that began the scope still restores it with its own dispose.</item>
/// </list>
/// Work started inside a scope captured the scope when it started (that is how <see cref="AsyncLocal{T}"/>
/// flows) and keeps seeing it after the starter disposes it, so fire-and-forget work stays correlated.
/// </remarks>
abstract class AmbientScope<TSelf> : IDisposable
    where TSelf : AmbientScope<TSelf>
{
    static readonly AsyncLocal<TSelf?> CurrentSlot = new();

    readonly TSelf? _parent;
    int _disposed;

    protected AmbientScope()
    {
        _parent = CurrentSlot.Value;
    }

    public static TSelf? Current => CurrentSlot.Value;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Makes <paramref name="scope"/> the current value of this flow.</summary>
    protected static TSelf Activate(TSelf scope)
    {
        CurrentSlot.Value = scope;
        return scope;
    }

    public void Dispose()
    {
        // Not an early return on a second call: a child flow may have disposed first, and the flow that
        // began the scope must still be able to restore its parent.
        Volatile.Write(ref _disposed, 1);

        // Out of order (an inner scope is still current) or not in this flow: leave the current value alone.
        if (!ReferenceEquals(CurrentSlot.Value, this)) return;

        var restore = _parent;
        while (restore is not null && restore.IsDisposed) restore = restore._parent;
        CurrentSlot.Value = restore;
    }
}
