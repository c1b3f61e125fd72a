namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>
/// One ambient scope in an <see cref="AsyncLocal{T}"/> chain. Each closed type has its own slot, so
/// correlation and user scopes nest independently.
/// </summary>
/// <remarks>
/// Disposal rules (the same for every scope type):
/// <list type="bullet">
/// <item>Disposing the current scope restores its parent, skipping parents this flow disposed out of order.</item>
/// <item>Disposing an outer scope while an inner one is current in this flow (out of order) leaves the current
/// value alone, and the scope next inside it in this flow's chain restores past it from then on. Only that link
/// changes: other flows that hold the outer scope itself (work started inside it before the inner one began) still
/// restore it when a scope of their own ends.</item>
/// <item>A scope disposed in order is never skipped: work started inside it that outlives it (fire-and-forget)
/// still sees it, and a scope that work begins and disposes restores it, not an older value.</item>
/// <item>Disposing twice does nothing more: the second call finds the scope no longer current.</item>
/// <item>Disposal acts on the calling flow only. A child flow that disposes a scope it inherited restores
/// the parent in the child; the flow that began the scope still restores it with its own dispose.</item>
/// </list>
/// Work started inside a scope captured the scope when it started (that is how <see cref="AsyncLocal{T}"/>
/// flows) and keeps seeing it after the starter disposes it, so fire-and-forget work stays correlated.
/// <para>A flow holds at most <see cref="MaxDepth"/> nested scopes of one type (see there).</para>
/// </remarks>
abstract class AmbientScope<TSelf> : IDisposable
    where TSelf : AmbientScope<TSelf>
{
    static readonly AsyncLocal<TSelf?> CurrentSlot = new();

    /// <summary>
    /// The most scopes of one type nested in a flow. Only scopes begun and never disposed come near it (a message loop
    /// that begins a scope per message without <c>using</c>): through the parent links each would keep every earlier one
    /// alive, without end. Past it, a new scope takes the place of the innermost one instead of nesting in it, so the
    /// scope it replaces (never disposed, and current no longer) can be collected; the first time is reported to SelfLog.
    /// </summary>
    internal const int MaxDepth = 1024;

    static int s_depthReported;

    readonly TSelf? _parent;
    readonly int _depth;
    int _disposed;
    // What Dispose restores: the parent, or past it once this flow disposed the parent (and so on up) out of order.
    // A link of this scope, not a mark on the parent, so that flows holding the parent itself are not affected.
    TSelf? _restore;

    protected AmbientScope()
    {
        var parent = CurrentSlot.Value;
        if (parent is not null && parent._depth >= MaxDepth)
        {
            if (Interlocked.Exchange(ref s_depthReported, 1) == 0)
                SafeSelfLog.WriteLine("{0}: more than {1} scopes are nested in one flow, so scopes are being begun and not disposed (dispose each with using). " +
                    "Past that depth a new scope replaces the innermost one; reported once.", typeof(TSelf).Name, MaxDepth);
            parent = Volatile.Read(ref parent._restore);
        }

        _parent = parent;
        _restore = parent;
        _depth = parent is null ? 1 : parent._depth + 1;
    }

    public static TSelf? Current => CurrentSlot.Value;

    /// <summary>The scope that was current when this one began (its parent, past <see cref="MaxDepth"/>).</summary>
    protected TSelf? Parent => _parent;

    /// <summary>How many scopes this one's parent links reach, itself included: never more than <see cref="MaxDepth"/>.</summary>
    internal int Depth => _depth;

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
            // Out of order (an inner scope of this flow is still current): leave the current value alone, and make
            // the scope next inside this one in this flow's chain restore past it. A scope this flow does not hold
            // (disposed twice, or from unrelated work) changes nothing: work started inside it still restores it.
            for (var scope = current; scope is not null;)
            {
                var next = Volatile.Read(ref scope._restore);
                if (ReferenceEquals(next, this))
                {
                    Volatile.Write(ref scope._restore, Volatile.Read(ref _restore));
                    break;
                }

                scope = next;
            }

            return;
        }

        CurrentSlot.Value = Volatile.Read(ref _restore);
    }
}
