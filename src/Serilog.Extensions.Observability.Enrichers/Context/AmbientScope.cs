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
/// value alone, and this flow's entries for the scopes inside it are replaced by entries of its own that restore past
/// it. Entries are never changed, so no other flow is affected: work started inside either scope, and the flow a child
/// that disposes an inherited scope out of order was started from, still restore it when a scope of theirs ends.</item>
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
abstract class AmbientScope<TSelf> : AmbientScopeEntry<TSelf>, IDisposable
    where TSelf : AmbientScope<TSelf>
{
    static readonly AsyncLocal<AmbientScopeEntry<TSelf>?> CurrentSlot = new();

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

    protected AmbientScope() : this(EnclosingEntry())
    {
    }

    AmbientScope(AmbientScopeEntry<TSelf>? enclosing) : base(null, enclosing)
    {
        _parent = enclosing?.Scope;
        _depth = _parent is null ? 1 : _parent._depth + 1;
    }

    /// <summary>What a scope begun now nests in and restores: the current entry, or past <see cref="MaxDepth"/> the one it restores.</summary>
    static AmbientScopeEntry<TSelf>? EnclosingEntry()
    {
        var current = CurrentSlot.Value;
        if (current is not null && current.Scope._depth >= MaxDepth)
        {
            if (Interlocked.Exchange(ref s_depthReported, 1) == 0)
                SafeSelfLog.WriteLine("{0}: more than {1} scopes are nested in one flow, so scopes are being begun and not disposed (dispose each with using). " +
                    "Past that depth a new scope replaces the innermost one; reported once.", typeof(TSelf).Name, MaxDepth);
            return current.Restore;
        }

        return current;
    }

    public static TSelf? Current => CurrentSlot.Value?.Scope;

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
        if (current is null) return;
        if (ReferenceEquals(current.Scope, this))
        {
            CurrentSlot.Value = current.Restore;
            return;
        }

        // Out of order (an inner scope of this flow is still current): the current scope stays current, and this
        // flow's entries down to this scope are replaced by entries of its own that restore past it. Entries other
        // flows hold are not changed. A scope this flow does not hold (disposed twice, or from unrelated work) changes
        // nothing: work started inside it still restores it.
        var inner = new List<TSelf>();
        var entry = current;
        for (; entry is not null && !ReferenceEquals(entry.Scope, this); entry = entry.Restore) inner.Add(entry.Scope);
        if (entry is null) return;

        var restore = entry.Restore;
        for (var i = inner.Count - 1; i >= 0; i--) restore = new AmbientScopeEntry<TSelf>(inner[i], restore);
        CurrentSlot.Value = restore;
    }
}

/// <summary>
/// One entry of a flow's chain of scopes: the scope it stands for and what disposing that scope restores. A scope is
/// the entry it begins with; a flow that disposes a scope out of order gets entries of its own for the scopes inside
/// it. Never changed once made, so flows that share an entry (work started inside a scope) cannot affect each other.
/// </summary>
class AmbientScopeEntry<TSelf>
    where TSelf : AmbientScope<TSelf>
{
    readonly TSelf? _scope;

    internal AmbientScopeEntry(TSelf? scope, AmbientScopeEntry<TSelf>? restore)
    {
        _scope = scope;
        Restore = restore;
    }

    /// <summary>The scope this entry stands for: the entry itself unless it was made for an out-of-order disposal.</summary>
    internal TSelf Scope => _scope ?? (TSelf)this;

    /// <summary>What disposing <see cref="Scope"/> restores in the flows holding this entry.</summary>
    internal AmbientScopeEntry<TSelf>? Restore { get; }
}
