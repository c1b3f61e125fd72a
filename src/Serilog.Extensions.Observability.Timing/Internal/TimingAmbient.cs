using System.Diagnostics;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// The innermost <see cref="PipelineTimer"/> or <see cref="StageTimer"/> of the current async flow.
/// One slot for both, so the enricher pays a single AsyncLocal read per event.
/// </summary>
static class TimingAmbient
{
    /// <summary>
    /// The most pipelines and stages nested in a flow (and the deepest stage path). Only timers begun and never ended
    /// come near it (a message loop that begins a pipeline per message without <c>using</c>): through the links to what
    /// was ambient before each would keep every earlier one alive, without end. Past it, a new timer takes the place of
    /// the innermost one instead of nesting in it, so the one it replaces can be collected; the first time is reported
    /// to SelfLog. The same rule as the Enrichers package's correlation and user scopes.
    /// </summary>
    internal const int MaxDepth = 1024;

    static readonly AsyncLocal<object?> s_current = new();
    static int s_depthReported;

    public static object? Current => s_current.Value;

    /// <summary>Makes <paramref name="frame"/> current, remembering what to restore.</summary>
    public static void Enter(ref AmbientScope scope, object frame)
    {
        var current = s_current.Value;
        var previous = Enclosing(current);
        var depth = DepthOf(previous);
        if (depth >= MaxDepth)
        {
            ReportDepth();
            // In place of the innermost frame: restores what that one would have. No context is captured, since both
            // would hold the replaced frame as their value; the exit sets the slot instead.
            scope.Previous = OuterOf(previous!);
            scope.Depth = depth;
            scope.ContextBefore = null;
            scope.ContextInside = null;
            s_current.Value = frame;
            return;
        }

        scope.Previous = previous;
        scope.Depth = depth + 1;
        // Past ended frames, the context before holds one of them as its value: the exit sets the slot instead.
        scope.ContextBefore = ReferenceEquals(previous, current) ? ExecutionContext.Capture() : null;
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
        // allocate a new context and value map. Read once each: another flow may forget them meanwhile.
        var before = scope.ContextBefore;
        var inside = scope.ContextInside;
        if (before is not null && inside is not null && ReferenceEquals(ExecutionContext.Capture(), inside))
            ExecutionContext.Restore(before);
        else
            s_current.Value = scope.Previous;
    }

    /// <summary>
    /// Drops the contexts captured at Enter, once the timer has ended and left the calling flow. They hold every
    /// AsyncLocal value of the timer's start, which a timer kept after its end (by a collector, or by code that reads
    /// its stages later) would otherwise keep alive. A flow that still holds the timer restores through
    /// <see cref="AmbientScope.Previous"/> instead.
    /// </summary>
    public static void Forget(ref AmbientScope scope)
    {
        scope.ContextBefore = null;
        scope.ContextInside = null;
    }

    /// <summary>
    /// The frame a timer begun now takes the place of (see <see cref="Enter"/>): the innermost one when the flow has
    /// <see cref="MaxDepth"/> nested; else <see langword="null"/>.
    /// </summary>
    public static object? FrameToReplace()
    {
        var enclosing = Enclosing(s_current.Value);
        return enclosing is not null && DepthOf(enclosing) >= MaxDepth ? enclosing : null;
    }

    /// <summary>
    /// The innermost of <paramref name="frame"/> and the frames under it that has not ended. A timer ended in another
    /// flow is still current in the flow that began it (an exit restores only the flow it runs in): a new one does not
    /// nest in it, as a new stage does not nest in an ended stage. Else a loop that begins a pipeline per message and
    /// has each ended elsewhere (a channel's consumer, a callback) would keep every earlier one alive, up to
    /// <see cref="MaxDepth"/>, and be reported as beginning timers and never ending them. An event written in such a
    /// flow is attributed to this frame too (<see cref="PipelineTimingEnricher"/>), not to a timer that has ended.
    /// </summary>
    public static object? Enclosing(object? frame)
    {
        while (frame is not null && HasEnded(frame)) frame = OuterOf(frame);
        return frame;
    }

    static bool HasEnded(object frame) => frame is StageTimer stage ? stage.HasEnded : ((PipelineTimer)frame).HasEnded;

    /// <summary>
    /// The span to make current before a pipeline begun now starts its own. While the span of the frame it replaces
    /// (<see cref="FrameToReplace"/>) is the current one, that is the span current inside the frame the replacement
    /// nests in instead (<see cref="OuterOf"/>): a span's parent is the span current when it starts, so without this the
    /// spans of pipelines begun and never ended would chain, each keeping every earlier one alive, past the depth their
    /// timers are held to. A stopped span of this package's is passed over for its nearest parent that is running or not
    /// this package's. Otherwise
    /// <paramref name="current"/>, and <paramref name="replaces"/> is false.
    /// </summary>
    public static Activity? SpanParentOfReplacement(Activity? current, out bool replaces)
    {
        replaces = false;
        var parent = current;
        if (current is not null && FrameToReplace() is { } replaced && ReferenceEquals(current, SpanOf(replaced)))
        {
            replaces = true;
            var outer = OuterOf(replaced);
            parent = outer is null ? SpanBefore(replaced) : SpanOf(outer) ?? SpanBefore(outer);
        }
        // A span of this package's stopped in another flow is still current in this one (see Enclosing): never a parent.
        // The application's own (a request's, stopped when the request ended, current in work handed on from it) stays the
        // parent, as it always was: no loop of timers chains through it, and past it the trace would be lost (a span with a
        // remote parent has no Parent).
        var running = PastStoppedTimingSpans(parent);
        if (!ReferenceEquals(running, parent)) replaces = true;
        return running;
    }

    /// <summary>
    /// <paramref name="span"/>, or where it is a span of this package's that has stopped (in another flow, still current
    /// in this one), the span current in this flow when it started, walked the same way: the nearest that is running or
    /// the application's. Not the parent it was given: a stage begun in a flow where its pipeline's span is not current
    /// is that span's child, but must give the flow back what it had.
    /// </summary>
    public static Activity? PastStoppedTimingSpans(Activity? span)
    {
        while (span is { IsStopped: true } && ReferenceEquals(span.Source, TimingDiagnostics.Source)) span = ParentOf(span);
        return span;
    }

    /// <summary>
    /// The span <paramref name="span"/> (one of this package's) started under. One started under a stopped span of the
    /// application's that could not be made current has no <see cref="Activity.Parent"/> (its parent was given as a
    /// context): the timer that started it, still in this flow's frames, knows what it started under.
    /// </summary>
    static Activity? ParentOf(Activity span)
    {
        if (span.Parent is { } parent) return parent;
        for (var frame = s_current.Value; frame is not null; frame = OuterOf(frame))
        {
            if (ReferenceEquals(SpanOf(frame), span)) return SpanBefore(frame);
        }
        return null;
    }

    static Activity? SpanOf(object frame) => frame is StageTimer stage ? stage.Activity : ((PipelineTimer)frame).Activity;

    static Activity? SpanBefore(object frame) => frame is StageTimer stage ? stage.PreviousActivity : ((PipelineTimer)frame).PreviousActivity;

    /// <summary>Once per process: a nesting past <see cref="MaxDepth"/> (of frames, or of stage paths).</summary>
    public static void ReportDepth()
    {
        if (Interlocked.Exchange(ref s_depthReported, 1) == 0)
            SafeSelfLog.WriteLine("{0}: more than {1} pipelines or stages are nested in one flow, so they are being begun and not ended (end each with using, Complete or Fail). " +
                "Past that depth a new one replaces the innermost one; reported once.", TimingDiagnostics.Name, MaxDepth);
    }

    static int DepthOf(object? frame) => frame switch
    {
        StageTimer stage => stage.Depth,
        PipelineTimer pipeline => pipeline.Depth,
        _ => 0,
    };

    static object? OuterOf(object frame) =>
        frame is StageTimer stage ? stage.OuterFrame : ((PipelineTimer)frame).OuterFrame;
}

struct AmbientScope
{
    public object? Previous;
    public int Depth; // frames in this flow's chain, this one included: never more than TimingAmbient.MaxDepth
    public ExecutionContext? ContextBefore;
    public ExecutionContext? ContextInside;
}
