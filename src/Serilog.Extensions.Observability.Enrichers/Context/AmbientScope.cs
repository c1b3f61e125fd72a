namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>
/// One ambient scope in an <see cref="AsyncLocal{T}"/> chain. Each closed type has its own slot, so
/// correlation and user scopes nest independently.
/// </summary>
/// <remarks>
/// Disposal rules (the same for every scope type):
/// <list type="bullet">
/// <item>Disposing the current scope restores its parent, skipping parents that were already disposed.</item>
/// <item>Disposing an outer scope while an inner one is current in this flow (out of order) leaves the current
/// value alone and marks the outer scope abandoned: it is skipped when an inner scope later restores its parent.</item>
/// <item>A scope disposed in order is not abandoned: work started inside it that outlives it (fire-and-forget)
/// still sees it, and a scope that work begins and disposes restores it, not an older value.</item>
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
    int _abandoned; // disposed out of order: restores skip it

    protected AmbientScope()
    {
        _parent = CurrentSlot.Value;
    }

    public static TSelf? Current => CurrentSlot.Value;

    /// <summary>The scope that was current when this one began.</summary>
    protected TSelf? Parent => _parent;

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

        var current = CurrentSlot.Value;
        if (!ReferenceEquals(current, this))
        {
            // Out of order (an inner scope of this flow is still current): leave the current value alone, and let
            // the inner scope skip this one when it restores. A scope this flow does not hold (disposed twice, or
            // from unrelated work) is not abandoned: work started inside it still restores it.
            for (var scope = current; scope is not null; scope = scope._parent)
            {
                if (ReferenceEquals(scope, this))
                {
                    Volatile.Write(ref _abandoned, 1);
                    break;
                }
            }

            return;
        }

        var restore = _parent;
        while (restore is not null && Volatile.Read(ref restore._abandoned) != 0) restore = restore._parent;
        CurrentSlot.Value = restore;
    }
}
