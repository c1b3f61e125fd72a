using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// An execution context captured inside a request, as a timer or a cache entry that a singleton creates on its first
/// request captures it and keeps it for as long as it lives; and a weak reference to that request's context.
/// </summary>
sealed class CapturedRequest
{
    ExecutionContext? _context;
    WeakReference? _request;

    /// <summary>For the handler: captures the flow and remembers <paramref name="request"/> weakly.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Capture(HttpContext request)
    {
        _context = ExecutionContext.Capture();
        _request = new WeakReference(request);
    }

    /// <summary>Whether the request's context survives full collections while the captured flow is still held.</summary>
    public bool RequestIsAlive()
    {
        var request = _request ?? throw new InvalidOperationException("No request captured.");
        var collected = Collected.Eventually(request);
        GC.KeepAlive(_context);
        return !collected;
    }

    /// <summary>The correlation id and user the captured flow sees.</summary>
    public (string? CorrelationId, string? UserId) Ambient()
    {
        string? id = null;
        string? user = null;
        ExecutionContext.Run(_context ?? throw new InvalidOperationException("No request captured."), _ =>
        {
            id = CorrelationContext.CurrentId;
            user = UserContext.Current?.UserId;
        }, null);
        return (id, user);
    }
}
