namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>
/// The deferred scopes whose resolvers are running on this thread, innermost last. A resolver that reads the current
/// value (or logs an enriched event) asks a scope again; so may a resolver of an enclosing scope that it asks in turn.
/// A scope asked while its own resolver runs anywhere up the stack gives its enclosing scope's value, so that nested
/// deferred scopes end instead of recursing until the stack overflows (which ends the process).
/// </summary>
static class Resolving<TScope> where TScope : class
{
    [ThreadStatic] static TScope?[]? t_scopes;
    [ThreadStatic] static int t_count;

    public static bool Contains(TScope scope)
    {
        var scopes = t_scopes;
        for (var i = t_count - 1; i >= 0; i--)
        {
            if (ReferenceEquals(scopes![i], scope)) return true;
        }
        return false;
    }

    public static void Push(TScope scope)
    {
        var scopes = t_scopes ??= new TScope?[4];
        if (t_count == scopes.Length)
        {
            Array.Resize(ref scopes, scopes.Length * 2);
            t_scopes = scopes;
        }
        scopes[t_count++] = scope;
    }

    public static void Pop() => t_scopes![--t_count] = null;
}
