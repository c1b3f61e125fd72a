namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// The innermost <see cref="PipelineTimer"/> or <see cref="StageTimer"/> of the current async flow.
/// One slot for both, so the enricher pays a single AsyncLocal read per event.
/// </summary>
static class TimingAmbient
{
    static readonly AsyncLocal<object?> s_current = new();

    public static object? Current => s_current.Value;

    /// <summary>Makes <paramref name="frame"/> current, remembering what to restore.</summary>
    public static void Enter(ref AmbientScope scope, object frame)
    {
        scope.Previous = s_current.Value;
        scope.ContextBefore = ExecutionContext.Capture();
        s_current.Value = frame;
        // Capture returns null while flow is suppressed; then the cheap restore below is not used.
        scope.ContextInside = scope.ContextBefore is null ? null : ExecutionContext.Capture();
    }

    /// <summary>
    /// Restores what was current before <paramref name="frame"/>, but only in a flow where the frame is still
    /// current: ending a stage from another flow, or out of order, leaves that flow as it is (never sets null blindly).
    /// </summary>
    public static void Exit(ref AmbientScope scope, object frame)
    {
        if (!ReferenceEquals(s_current.Value, frame)) return;

        // If nothing else changed the execution context since Enter, going back to the context captured
        // before Enter is exactly "unset the frame", and costs no allocation; setting the AsyncLocal would
        // allocate a new context and value map.
        var inside = scope.ContextInside;
        if (inside is not null && ReferenceEquals(ExecutionContext.Capture(), inside))
            ExecutionContext.Restore(scope.ContextBefore!);
        else
            s_current.Value = scope.Previous;
    }
}

struct AmbientScope
{
    public object? Previous;
    public ExecutionContext? ContextBefore;
    public ExecutionContext? ContextInside;
}
