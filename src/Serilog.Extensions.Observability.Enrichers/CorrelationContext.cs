using System.Buffers;
using System.Diagnostics;
using Serilog.Extensions.Observability.Enrichers.Context;

namespace Serilog.Extensions.Observability.Enrichers;

/// <summary>
/// The ambient correlation id of the current async flow. <c>Enrich.WithCorrelation()</c> writes it as
/// <c>CorrelationId</c> on every event.
/// </summary>
/// <remarks>
/// <para>The id flows like <see cref="AsyncLocal{T}"/>: through <c>await</c>, <c>Task.Run</c>,
/// <c>Parallel.ForEachAsync</c>, timers and thread-pool work started inside the scope. Work started outside the
/// scope, or queued without the execution context (<see cref="ExecutionContext.SuppressFlow"/>,
/// <see cref="ThreadPool.UnsafeQueueUserWorkItem(WaitCallback, object)"/>), does not see it. A value set inside an
/// <c>async</c> method does not flow back to its caller.</para>
/// <para>Scopes nest; disposing one restores the id that was current when it began. Disposing out of order
/// does not corrupt the outer scope: disposing an outer scope while an inner one is still current leaves the
/// inner id in place, and when the inner scope is disposed it restores the nearest enclosing scope that was
/// not disposed out of order (or no id). Disposing twice does nothing. Disposal acts on the calling flow only:
/// dispose a scope in the flow that began it (a child task that disposes it changes only its own view). Work
/// started inside a scope keeps its id even after the scope is disposed, also after a scope of its own that it
/// begins and disposes.</para>
/// <para>Dispose every scope (<c>using</c>): a flow holds at most 1024 nested scopes, and past that depth (scopes begun
/// and never disposed, one per message of a loop) a new scope replaces the innermost one instead of nesting in it,
/// reported once through SelfLog.</para>
/// </remarks>
public static class CorrelationContext
{
    /// <summary>The longest correlation id accepted, in characters: 128.</summary>
    public const int MaxIdLength = 128;

    /// <summary>The correlation id of the current flow, or <see langword="null"/> outside any scope.</summary>
    public static string? CurrentId => CorrelationScope.Current?.Id;

    /// <summary>Makes <paramref name="correlationId"/> the current correlation id until the returned scope is disposed.</summary>
    /// <param name="correlationId">The id; when <see langword="null"/> or empty, a new id from <see cref="NewId"/>.
    /// Otherwise it must satisfy <see cref="IsValidId"/>.</param>
    /// <returns>A scope that restores the previous id when disposed.</returns>
    /// <exception cref="ArgumentException">The id is longer than <see cref="MaxIdLength"/> or holds a character
    /// other than ASCII letters, digits and <c>- _ . : + / = @</c>.</exception>
    public static IDisposable Begin(string? correlationId = null)
    {
        if (string.IsNullOrEmpty(correlationId))
        {
            correlationId = NewId();
        }
        else if (!IsValidId(correlationId))
        {
            // Never echo the rejected value: it may be hostile input.
            throw new ArgumentException(
                $"A correlation id must be 1 to {MaxIdLength} characters: ASCII letters, digits and - _ . : + / = @.",
                nameof(correlationId));
        }

        return CorrelationScope.Begin(correlationId);
    }

    /// <summary>
    /// Begins a scope whose id is read each time it is asked for (each event, each propagation), for hosts where the
    /// id becomes known after the scope opens: a web host's outermost middleware, whose events outlive the scope the
    /// correlation middleware opens further in. While <paramref name="resolve"/> returns <see langword="null"/> or an
    /// id <see cref="IsValidId"/> rejects, the enclosing scope's id is current (or none); a resolver that throws is
    /// reported through SelfLog and treated the same way. Inside <paramref name="resolve"/>, <see cref="CurrentId"/> is
    /// the enclosing scope's id.
    /// </summary>
    /// <param name="resolve">Returns the current id, or <see langword="null"/> while there is none. It must be cheap
    /// and thread-safe: it runs for every event written in the scope.</param>
    /// <returns>A scope that restores the previous id when disposed.</returns>
    public static IDisposable BeginDeferred(Func<string?> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        return CorrelationScope.Begin(resolve);
    }

    /// <summary>Creates a new random correlation id.</summary>
    /// <returns>32 lowercase hexadecimal characters (128 random bits), the shape of a W3C trace id.</returns>
    /// <remarks>
    /// Drawn as .NET draws a new W3C trace id (<see cref="ActivityTraceId.CreateRandom"/>: a per-thread generator seeded
    /// from the system's random source), not from <see cref="Guid.NewGuid"/>, which on Linux reads that source with a
    /// system call for every id (about 360 ns on a 2-core virtual machine, against 14 ns; docs/benchmarks.md). An id
    /// names a flow; it is not a secret, and is not made to be unguessable.
    /// </remarks>
    public static string NewId() => ActivityTraceId.CreateRandom().ToHexString();

    /// <summary>
    /// Whether <paramref name="correlationId"/> is safe to adopt from outside (a header or a message):
    /// 1 to <see cref="MaxIdLength"/> characters, each an ASCII letter, digit or one of <c>- _ . : + / = @</c>.
    /// </summary>
    /// <param name="correlationId">The candidate id.</param>
    /// <returns><see langword="true"/> when the id may be used as is.</returns>
    public static bool IsValidId(string? correlationId)
    {
        if (correlationId is null || correlationId.Length == 0 || correlationId.Length > MaxIdLength) return false;
        // Vectorised: every Begin validates, and in a web server that is once per request.
        return correlationId.AsSpan().IndexOfAnyExcept(AllowedCharacters) < 0;
    }

    static readonly SearchValues<char> AllowedCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:+/=@");
}
