using System.Diagnostics;
using Serilog.Events;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog.Extensions.Observability.Timing;

/// <summary>
/// One stage of a <see cref="PipelineTimer"/>, begun with <see cref="PipelineTimer.Stage"/>. Ambient in the async flow
/// that began it until it ends, so events written inside carry it (with <c>Enrich.WithPipelineTiming()</c>).
/// </summary>
/// <remarks>
/// Ending writes one completion event (<c>Pipeline</c>, <c>PipelineId</c>, <c>Stage</c>, <c>ElapsedMs</c>,
/// <c>Outcome</c>), records <c>pipeline.stage.duration</c> and stops the stage's <see cref="Activity"/>.
/// Disposing without <see cref="Complete"/> or <see cref="Fail"/> ends it with
/// <see cref="PipelineTimingOptions.DisposeOutcome"/>: completed by default, so a <c>using</c> block is enough;
/// an exception leaving the block is not seen, so call <see cref="Fail"/> or use <see cref="PipelineTimer.StageAsync(string, Func{Task})"/>.
/// </remarks>
public sealed class StageTimer : IDisposable
{
    readonly string _leafName;
    readonly StageTimer? _parent;
    readonly int _nesting; // 1 for a top-level stage; never more than TimingAmbient.MaxDepth
    readonly int _entry;
    readonly long _start;
    long _end;
    int _outcome; // TimingOutcome; written once, after _end
    int _ending;  // 1 once an end has won
    readonly Activity? _activity;
    readonly Activity? _previousActivity; // current in the flow that began the stage, before its span
    LogEventProperty? _stageProperty;
    AmbientScope _scope;

    internal StageTimer(PipelineTimer pipeline, string name, StageTimer? parent)
    {
        Pipeline = pipeline;
        _leafName = name;
        _parent = parent;
        _nesting = parent is null ? 1 : parent._nesting + 1;
        Name = parent is null ? name : parent.Name + "/" + name;

        if (TimingDiagnostics.Tracing)
        {
            // A span of this package's stopped in another flow is passed over, as StartActivity makes current in its place.
            _previousActivity = TimingAmbient.PastStoppedTimingSpans(Activity.Current);
            _activity = TimingDiagnostics.StartActivity(Name, parent?._activity ?? pipeline.Activity,
                [new("pipeline", pipeline.Name), new("pipeline.id", pipeline.Id), new("stage", Name)],
                ClockReads.UtcNow(pipeline.TimeProvider));
        }

        // Started before the stage is registered: once registered, a pipeline ending on another thread may abandon it at
        // once, and must find its start (not zero, which would time it from the clock's origin).
        _start = ClockReads.Timestamp(pipeline.TimeProvider, fallback: ClockReads.Unknown);
        _entry = pipeline.StageStarted(this, Name, _parent is not null);
        // Entered after the activity started, so ending can restore the context that still has the activity current.
        TimingAmbient.Enter(ref _scope, this);
    }

    /// <summary>The stage's name; a nested stage's is its path, <c>outer/inner</c>.</summary>
    public string Name { get; }

    /// <summary>Time since the stage began; fixed once it has ended.</summary>
    public TimeSpan Elapsed => ElapsedAt(Pipeline.TimeProvider.GetTimestamp());

    /// <summary><see cref="TimingOutcome.Running"/> until the stage ends, then how it ended.</summary>
    public TimingOutcome Outcome => (TimingOutcome)Volatile.Read(ref _outcome);

    /// <summary>Ends the stage as completed. Does nothing if it has already ended.</summary>
    public void Complete() => End(TimingOutcome.Completed, null);

    /// <summary>Ends the stage as failed; its completion event is written at Error (or
    /// <see cref="PipelineTimingOptions.StageCompletionLevel"/> if that is higher) with <paramref name="exception"/>. Does nothing
    /// if it has already ended.</summary>
    /// <param name="exception">Why the stage failed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public void Fail(Exception exception)
    {
        Guard.NotNull(exception);
        End(TimingOutcome.Failed, exception);
    }

    /// <summary>Ends the stage with <see cref="PipelineTimingOptions.DisposeOutcome"/> unless it has already ended; either
    /// way the stage is no longer ambient in the calling flow (also when another flow ended it).</summary>
    public void Dispose() => End(Pipeline.Options.DisposeOutcome, null);

    internal PipelineTimer Pipeline { get; }

    /// <summary>The stage this one is nested in, or <see langword="null"/> for a top-level stage.</summary>
    internal StageTimer? Parent => _parent;

    /// <summary>The stage's span, or <see langword="null"/>.</summary>
    internal Activity? Activity => _activity;

    /// <summary>The span current in the flow that began the stage, before its own.</summary>
    internal Activity? PreviousActivity => _previousActivity;

    /// <summary>What was ambient in the flow that began the stage, under it.</summary>
    internal object? OuterFrame => _scope.Previous;

    /// <summary>How many frames the flow that began the stage had nested, itself included.</summary>
    internal int Depth => _scope.Depth;

    /// <summary>How many stages its path has, itself included.</summary>
    internal int Nesting => _nesting;

    /// <summary>True once Complete, Fail, Dispose or the pipeline's end has ended the stage.</summary>
    internal bool HasEnded => Volatile.Read(ref _ending) != 0;

    /// <summary>Built on first use by the enricher, then reused by every event of the stage.</summary>
    internal LogEventProperty StageProperty =>
        _stageProperty ??= new LogEventProperty(TimingEvents.StageName, new ScalarValue(Name));

    internal TimeSpan ElapsedAt(long timestamp)
    {
        var end = Volatile.Read(ref _outcome) == (int)TimingOutcome.Running ? timestamp : Volatile.Read(ref _end);
        return ClockReads.Elapsed(Pipeline.TimeProvider, _start, end);
    }

    internal void Abandon() => End(TimingOutcome.Abandoned, null);

    /// <summary>Restores what was ambient before this stage, in a flow where it is still current. Only for an ended stage.</summary>
    internal void LeaveAmbient()
    {
        TimingAmbient.Exit(ref _scope, this);
        TimingAmbient.Forget(ref _scope);
        TimingDiagnostics.LeaveActivity(_activity, _previousActivity);
    }

    /// <summary>For exception filters: records the failure and returns false so the exception keeps propagating.</summary>
    internal bool FailAndContinue(Exception exception)
    {
        End(TimingOutcome.Failed, exception);
        return false;
    }

    void End(TimingOutcome outcome, Exception? exception)
    {
        var pipeline = Pipeline;
        TimeSpan elapsed = default;
        var won = false;
        // Won and recorded under the pipeline's lock: a pipeline ending at the same moment either still finds this
        // stage open (and abandons it) or finds its duration recorded, never a stage that ended but is not counted.
        lock (pipeline.StagesLock)
        {
            if (_ending == 0)
            {
                won = true;
                Volatile.Write(ref _ending, 1);
                // A clock that throws ends the stage where it began: a zero duration, never an exception from Dispose.
                var end = ClockReads.Timestamp(pipeline.TimeProvider, fallback: _start);
                Volatile.Write(ref _end, end);
                Volatile.Write(ref _outcome, (int)outcome);
                elapsed = ClockReads.Elapsed(pipeline.TimeProvider, _start, end);
                pipeline.StageEnded(this, _entry, elapsed);
            }
        }

        // Also when another flow (a helper, the pipeline's end) ended the stage first: this flow may still hold it, and
        // its own end (a using block) must restore what was ambient before it here. Nothing else is done twice.
        TimingAmbient.Exit(ref _scope, this);
        // Ended, here or in another flow: the contexts of its start are no longer needed.
        TimingAmbient.Forget(ref _scope);
        if (!won)
        {
            // Its span was stopped in the flow that ended it; here it may still be current.
            TimingDiagnostics.LeaveActivity(_activity, _previousActivity);
            return;
        }

        // Recorded and written while the span is current, whichever flow ends the stage: the duration's exemplar and
        // the event's enrichers (its parent, name, tags) see the stage's own span. Then the span stops.
        TimingDiagnostics.End(_activity, outcome, exception, elapsed, Pipeline.Options.RecordExceptionMessageOnSpans, (this, elapsed, outcome, exception),
            static s => s.Item1.Finish(s.elapsed, s.outcome, s.exception));
    }

    /// <summary>Records the stage's duration and writes its completion event.</summary>
    void Finish(TimeSpan elapsed, TimingOutcome outcome, Exception? exception)
    {
        var pipeline = Pipeline;
        if (TimingDiagnostics.StageDuration is { Enabled: true })
            TimingDiagnostics.RecordStage(elapsed, pipeline.Name, Name, outcome);
        var level = TimingEvents.Level(outcome, elapsed, Threshold(), pipeline.Options.StageCompletionLevel);
        if (!pipeline.Logger.IsEnabled(level)) return;
        TimingEvents.WriteStage(pipeline.Logger, level, ClockReads.UtcNow(pipeline.TimeProvider), pipeline, StageProperty,
            elapsed, outcome, exception, _activity);
    }

    TimeSpan? Threshold()
    {
        var thresholds = Pipeline.Options.StageThresholds;
        if (thresholds.Count == 0) return null;
        if (thresholds.TryGetValue(Name, out var own)) return own;
        if (_parent is not null && thresholds.TryGetValue(_leafName, out var leaf)) return leaf;
        if (thresholds.TryGetValue(PipelineTimingOptions.AnyName, out var any)) return any;
        return null;
    }
}
