using System.Diagnostics;
using Serilog.Events;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog.Extensions.Observability.Timing;

/// <summary>
/// Times one run of a multi-stage pipeline (speech-to-text → LLM → text-to-speech, parse → chunk → embed → store):
/// one completion event per stage, one summary event with every stage's duration, the
/// <c>pipeline.stage.duration</c> and <c>pipeline.duration</c> histograms, and an <see cref="Activity"/> per
/// pipeline and stage, from one <c>using</c> scope.
/// </summary>
/// <example>
/// <code>
/// using var pipeline = PipelineTimer.Begin("voice-turn", logger);
/// using (pipeline.Stage("stt")) { ... }
/// await pipeline.StageAsync("tts", async () => { ... });
/// pipeline.Complete();
/// </code>
/// </example>
/// <remarks>
/// <para>While it runs, the pipeline (and each stage inside it) is ambient in the current async flow, so
/// <c>Enrich.WithPipelineTiming()</c> can attribute events to the innermost stage of their own flow.</para>
/// <para>Disposing without <see cref="Complete"/> or <see cref="Fail"/> ends the pipeline with
/// <see cref="PipelineTimingOptions.DisposeOutcome"/> (completed by default, the same rule as stages).
/// Stages still open when the pipeline ends are ended as <see cref="TimingOutcome.Abandoned"/> first.</para>
/// <para>Levels: stage completion at <see cref="PipelineTimingOptions.StageCompletionLevel"/> (Debug), summary at
/// <see cref="PipelineTimingOptions.SummaryLevel"/> (Information); over its threshold or abandoned at Warning; failed at Error;
/// but never below the configured level (a summary level of Error keeps a slow run at Error).</para>
/// </remarks>
public sealed class PipelineTimer : IDisposable
{
    readonly ILogger _logger;
    readonly PipelineTimingOptions _options;
    readonly long _start;
    long _end;
    int _outcome; // TimingOutcome; written once, after _end
    int _ending;  // 1 once Complete/Fail/Dispose has won
    readonly Activity? _activity;
    readonly Activity? _previousActivity; // current in the flow that began the pipeline, before its span
    readonly PipelineCollector? _collector; // told the stages when the pipeline ends, so it need not hold the pipeline
    AmbientScope _scope;

    /// <summary>
    /// The most distinct stage names a pipeline keeps apart. A long-lived pipeline that names a stage per message
    /// (<c>msg-</c> + id) would otherwise grow its entries, its name index and the summary's <c>Stages</c> without end:
    /// later names sum into one <see cref="OtherStages"/> entry, whose runs the summary counts in <c>OtherStageRuns</c>.
    /// </summary>
    internal const int MaxStageEntries = 256;

    /// <summary>The entry that sums the stages named after <see cref="MaxStageEntries"/> distinct names.</summary>
    internal const string OtherStages = "(other)";

    /// <summary>
    /// The most running stages a pipeline holds to abandon when it ends. Only stages begun and never ended come near
    /// it; one begun past it is timed, logged and counted if it ends before the pipeline, but is not abandoned with it.
    /// </summary>
    internal const int MaxOpenStages = 1024;

    static int s_entriesReported;
    static int s_openReported;

    // Guarded by _open: stages in first-start order (a repeated name sums into one entry) and the stages still running.
    readonly List<StageTimer> _open = new(4);
    StageEntry[] _entries = new StageEntry[4];
    int _entryCount;
    Dictionary<string, int>? _entryIndex; // only for pipelines with many distinct stage names
    int _otherEntry = -1;                 // the OtherStages entry, once names pass MaxStageEntries
    long _otherRuns;                      // runs summed into it

    struct StageEntry
    {
        public string Name;
        public bool IsNested;
        public long ElapsedTicks;
        public bool Finished;
    }

    PipelineTimer(string name, ILogger logger, PipelineTimingOptions options)
    {
        Name = name;
        _logger = logger;
        _options = options;
        TimeProvider = options.TimeProvider;

        if (TimingDiagnostics.Tracing)
        {
            // Past TimingAmbient.MaxDepth this pipeline takes the innermost frame's place, and its span nests where it does; a
            // span stopped in another flow (still current here) is not its parent.
            _previousActivity = TimingAmbient.SpanParentOfReplacement(Activity.Current, out var replaces);
            // Activity.Current cannot be set to a stopped span (the application's: a request's that ended, current in work
            // handed on from it), so the parent is also given: else the span would start under the stopped span still
            // current, the previous pipeline's, and a loop's pipelines would chain, each the child of the one before.
            if (replaces) Activity.Current = _previousActivity;
            _activity = TimingDiagnostics.StartActivity(name, parent: replaces ? _previousActivity : null, [new("pipeline", name)],
                ClockReads.UtcNow(TimeProvider));
        }
        // The span id joins the pipeline's logs to its trace; without a span a random id of the same shape. A hierarchical
        // span (under a hierarchical parent, or with Activity.DefaultIdFormat forced to it) has no span id: all zeros, the
        // same for every pipeline, so it gets a random one too.
        Id = (_activity is { IdFormat: ActivityIdFormat.W3C } ? _activity.SpanId : ActivitySpanId.CreateRandom()).ToHexString();
        // The id exists only once the span does, after the sampler decided. A span sampled out to propagation only
        // is never recorded: it gets no more tags.
        if (_activity is { IsAllDataRequested: true })
            _activity.SetTag("pipeline.id", Id);

        PipelineProperty = new LogEventProperty(TimingEvents.PipelineName, new ScalarValue(name));
        PipelineIdProperty = new LogEventProperty(TimingEvents.PipelineIdName, new ScalarValue(Id));

        _start = ClockReads.Timestamp(TimeProvider, fallback: ClockReads.Unknown);
        TimingAmbient.Enter(ref _scope, this);
        _collector = PipelineCollector.Register(this, out var sequence);
        CollectorSequence = sequence;
    }

    /// <summary>
    /// Starts timing a pipeline run and makes it ambient in the current async flow until it ends.
    /// </summary>
    /// <param name="name">The pipeline's name, e.g. <c>voice-turn</c>: the <c>Pipeline</c> property, the metric tag and the span name.
    /// Keep names short and low-cardinality (no ids): past 100 distinct names, or past 256 characters, the metric tag records <c>other</c>.</param>
    /// <param name="logger">Where the stage and summary events go. The default is <see cref="Log.Logger"/> as it is now.</param>
    /// <param name="options">Levels, thresholds and clock. The default is the options registered by the last
    /// <c>Enrich.WithPipelineTiming(...)</c> configuration (code or appsettings), else <see cref="PipelineTimingOptions"/>'s defaults.
    /// Copied here: later changes to the instance apply to pipelines begun after them, never to this one (the clock itself
    /// is shared).</param>
    /// <returns>The running pipeline; dispose it (or call <see cref="Complete"/> / <see cref="Fail"/>) to write its summary.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space, or a threshold of
    /// <paramref name="options"/> has a blank name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A threshold of <paramref name="options"/> is zero or negative.</exception>
    public static PipelineTimer Begin(string name, ILogger? logger = null, PipelineTimingOptions? options = null)
    {
        Guard.NotNullOrWhiteSpace(name);
        // A snapshot, validated as it is: the caller's instance may change while the pipeline runs (a shared options
        // object, reconfigured), and a pipeline must end by the rules it began with. The registered defaults are a copy
        // that no caller holds.
        var snapshot = options?.Copy();
        snapshot?.Validate();
        return new PipelineTimer(name, logger ?? Log.Logger, snapshot ?? PipelineTimingDefaults.Current);
    }

    /// <summary>The pipeline's name.</summary>
    public string Name { get; }

    /// <summary>A unique id for this run (16 hex digits): the pipeline span's id when a tracer listens and the span has a W3C
    /// id, else random (no span, or a hierarchical one, which has no span id).</summary>
    public string Id { get; }

    /// <summary>Time since <see cref="Begin"/>; fixed once the pipeline has ended.</summary>
    public TimeSpan Elapsed => ElapsedAt(TimeProvider.GetTimestamp());

    /// <summary><see cref="TimingOutcome.Running"/> until the pipeline ends, then how it ended.</summary>
    public TimingOutcome Outcome => (TimingOutcome)Volatile.Read(ref _outcome);

    /// <summary>
    /// The milliseconds each finished stage took, in the order the stages first started. Nested stages appear under
    /// their path (<c>ingest/parse</c>); a name that ran more than once holds the sum of its runs. A snapshot: later
    /// stages do not change a dictionary already returned. At most 256 distinct names are kept apart: the stages of
    /// later names sum into one <c>(other)</c> entry (the summary event counts their runs in <c>OtherStageRuns</c>).
    /// Logged as a property (<c>{Stages}</c>), it is captured as a dictionary, in this order.
    /// </summary>
    public IReadOnlyDictionary<string, double> Stages => SnapshotStages().ToLoggable();

    internal StageDurations SnapshotStages()
    {
        lock (_open) return SnapshotStages(out _);
    }

    /// <summary>
    /// Starts timing a stage of this pipeline and makes it ambient in the current async flow. A stage begun while
    /// another stage of this pipeline is ambient in the same flow is nested: its name becomes <c>outer/inner</c>.
    /// That holds also when another pipeline (and its stages) has begun inside that stage since: the new stage is
    /// this pipeline's, under this pipeline's stage. A stage that has already ended (in another flow) is not a
    /// parent: the new stage nests under the nearest ambient stage that is still running, or is top-level.
    /// </summary>
    /// <param name="name">The stage's name, e.g. <c>stt</c>. Keep names short and low-cardinality (no ids): past 500 distinct
    /// stage names, or for a full path longer than 256 characters, the metric tag records <c>other</c>.</param>
    /// <returns>The running stage: call <see cref="StageTimer.Complete"/> or <see cref="StageTimer.Fail"/>, or dispose it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    public StageTimer Stage(string name)
    {
        Guard.NotNullOrWhiteSpace(name);
        if (Volatile.Read(ref _ending) != 0)
            TimingReports.LateStage.WriteLine(TimingDiagnostics.Name + ": stage {1} was begun after pipeline {2} ended; it is timed and logged, but is not one of the pipeline's stages ({0} more since the last report).",
                name, Name);
        var parent = AmbientStage();
        // A stage ended in another async flow (a helper method, a callback) is still ambient in this one; a new
        // stage is not part of it, so it nests under the nearest stage that is still running (or none).
        while (parent is not null && parent.HasEnded) parent = parent.Parent;
        // Stages begun and never ended in one flow nest ever deeper, each keeping its parents (and a longer path name):
        // past the limit a new stage takes the innermost one's place under its parent.
        if (parent is not null && parent.Nesting >= TimingAmbient.MaxDepth)
        {
            TimingAmbient.ReportDepth();
            parent = parent.Parent;
        }
        return new StageTimer(this, name, parent);
    }

    /// <summary>
    /// Runs <paramref name="action"/> as a stage: completed when its task completes, failed (and the exception
    /// rethrown unchanged) when it throws or its task faults or is cancelled.
    /// </summary>
    /// <param name="name">The stage's name.</param>
    /// <param name="action">The stage's work.</param>
    /// <returns>A task that completes when the stage has ended.</returns>
    public Task StageAsync(string name, Func<Task> action)
    {
        Guard.NotNullOrWhiteSpace(name);
        Guard.NotNull(action);
        return RunStageAsync(name, action);
    }

    /// <summary>
    /// Runs <paramref name="action"/> as a stage and returns its result: completed when its task completes, failed
    /// (and the exception rethrown unchanged) when it throws or its task faults or is cancelled.
    /// </summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="name">The stage's name.</param>
    /// <param name="action">The stage's work.</param>
    /// <returns>The result of <paramref name="action"/>.</returns>
    public Task<T> StageAsync<T>(string name, Func<Task<T>> action)
    {
        Guard.NotNullOrWhiteSpace(name);
        Guard.NotNull(action);
        return RunStageAsync(name, action);
    }

    async Task RunStageAsync(string name, Func<Task> action)
    {
        var stage = Stage(name);
        try
        {
            await action().ConfigureAwait(false);
        }
        // Observe without swallowing: the filter records the failure and returns false, so the exception propagates as it is.
        catch (Exception ex) when (stage.FailAndContinue(ex))
        {
        }
        stage.Complete();
    }

    async Task<T> RunStageAsync<T>(string name, Func<Task<T>> action)
    {
        var stage = Stage(name);
        T result;
        try
        {
            result = await action().ConfigureAwait(false);
        }
        // Observe without swallowing: see RunStageAsync(string, Func<Task>).
        catch (Exception ex) when (stage.FailAndContinue(ex))
        {
            throw; // unreachable: the filter returns false
        }
        stage.Complete();
        return result;
    }

    /// <summary>
    /// This pipeline's innermost stage in the calling flow: the current frame, or the nearest one under frames of other
    /// pipelines begun inside it (a pipeline begun in one of this pipeline's stages, and that pipeline's stages).
    /// Nothing under this pipeline's own frame is its stage.
    /// </summary>
    StageTimer? AmbientStage()
    {
        var frame = TimingAmbient.Current;
        while (frame is not null && !ReferenceEquals(frame, this))
        {
            if (frame is StageTimer stage)
            {
                if (ReferenceEquals(stage.Pipeline, this)) return stage;
                frame = stage.OuterFrame;
            }
            else
            {
                frame = ((PipelineTimer)frame).OuterFrame;
            }
        }
        return null;
    }

    /// <summary>Ends the pipeline as completed and writes its summary. Does nothing if it has already ended.</summary>
    public void Complete() => End(TimingOutcome.Completed, null);

    /// <summary>Ends the pipeline as failed and writes its summary at Error (or <see cref="PipelineTimingOptions.SummaryLevel"/> if
    /// that is higher) with <paramref name="exception"/>. Does nothing if it has already ended.</summary>
    /// <param name="exception">Why the pipeline failed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public void Fail(Exception exception)
    {
        Guard.NotNull(exception);
        End(TimingOutcome.Failed, exception);
    }

    /// <summary>Ends the pipeline with <see cref="PipelineTimingOptions.DisposeOutcome"/> unless it has already ended; either
    /// way the pipeline is no longer ambient in the calling flow (also when another flow ended it).</summary>
    public void Dispose() => End(_options.DisposeOutcome, null);

    internal TimeProvider TimeProvider { get; }

    internal PipelineTimingOptions Options => _options;

    internal ILogger Logger => _logger;

    internal Activity? Activity => _activity;

    /// <summary>True once Complete, Fail or Dispose has ended the pipeline (in any flow).</summary>
    internal bool HasEnded => Volatile.Read(ref _ending) != 0;

    /// <summary>The span current in the flow that began the pipeline, before its own.</summary>
    internal Activity? PreviousActivity => _previousActivity;

    internal LogEventProperty PipelineProperty { get; }

    internal LogEventProperty PipelineIdProperty { get; }

    /// <summary>The pipeline's start order in its <see cref="PipelineCollector"/>.</summary>
    internal long CollectorSequence { get; }

    /// <summary>What was ambient in the flow that began the pipeline, under it.</summary>
    internal object? OuterFrame => _scope.Previous;

    /// <summary>How many frames the flow that began the pipeline had nested, itself included.</summary>
    internal int Depth => _scope.Depth;

    internal TimeSpan ElapsedAt(long timestamp)
    {
        var end = Volatile.Read(ref _outcome) == (int)TimingOutcome.Running ? timestamp : Volatile.Read(ref _end);
        return ClockReads.Elapsed(TimeProvider, _start, end);
    }

    /// <summary>Registers a starting stage; returns its entry index.</summary>
    /// <summary>Guards the stages' entries and the open stages; a stage ends under it (see <see cref="StageTimer"/>).</summary>
    internal object StagesLock => _open;

    /// <returns>The stage's entry, or -1 for a stage begun after the pipeline ended: it is not one of its stages.</returns>
    internal int StageStarted(StageTimer stage, string name, bool nested)
    {
        lock (_open)
        {
            if (Volatile.Read(ref _ending) != 0) return -1;
            if (_open.Count < MaxOpenStages)
                _open.Add(stage);
            else if (Interlocked.Exchange(ref s_openReported, 1) == 0)
                SafeSelfLog.WriteLine("{0}: pipeline {1} has {2} stages running, so stages are being begun and not ended (end each with using, Complete or Fail). " +
                    "Later ones are not abandoned when the pipeline ends; reported once.", TimingDiagnostics.Name, Name, MaxOpenStages);
            return FindOrAddEntry(name, nested);
        }
    }

    internal void StageEnded(StageTimer stage, int entry, TimeSpan elapsed)
    {
        if (entry < 0) return;
        lock (_open)
        {
            // A stage begun past MaxOpenStages is not open here: once the pipeline has ended (its summary written), it
            // is no longer one of its stages.
            if (!_open.Remove(stage) && Volatile.Read(ref _ending) != 0) return;
            _entries[entry].ElapsedTicks += elapsed.Ticks;
            _entries[entry].Finished = true;
            if (entry == _otherEntry) _otherRuns++;
        }
    }

    int FindOrAddEntry(string name, bool nested)
    {
        var found = FindEntry(name);
        if (found >= 0) return found;
        if (_entryCount >= MaxStageEntries) return OtherEntry();
        return AddEntry(name, nested);
    }

    int OtherEntry()
    {
        if (_otherEntry >= 0) return _otherEntry;
        if (Interlocked.Exchange(ref s_entriesReported, 1) == 0)
            SafeSelfLog.WriteLine("{0}: pipeline {1} has {2} distinct stage names; later ones are summed as (other). " +
                "Give stages low-cardinality names (no ids, no per-message names); reported once.", TimingDiagnostics.Name, Name, MaxStageEntries);
        // A stage the application itself named so (before the limit) is that entry; it then holds the overflow too.
        var found = FindEntry(OtherStages);
        _otherEntry = found >= 0 ? found : AddEntry(OtherStages, nested: false);
        return _otherEntry;
    }

    int FindEntry(string name)
    {
        if (_entryIndex is not null)
            return _entryIndex.TryGetValue(name, out var found) ? found : -1;
        for (var i = 0; i < _entryCount; i++)
            if (string.Equals(_entries[i].Name, name, StringComparison.Ordinal)) return i;
        return -1;
    }

    int AddEntry(string name, bool nested)
    {
        if (_entryCount == _entries.Length) Array.Resize(ref _entries, _entries.Length * 2);
        var index = _entryCount++;
        _entries[index] = new StageEntry { Name = name, IsNested = nested };

        if (_entryIndex is null && _entryCount > 16)
        {
            _entryIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < _entryCount; i++) _entryIndex[_entries[i].Name] = i;
        }
        else
        {
            _entryIndex?.Add(name, index);
        }
        return index;
    }

    /// <summary>Caller holds the lock. The slowest stage is the top-level stage with the largest total (first wins a tie);
    /// the <see cref="OtherStages"/> sum of many stages is none.</summary>
    StageDurations SnapshotStages(out string? slowest)
    {
        slowest = null;
        var count = 0;
        for (var i = 0; i < _entryCount; i++)
            if (_entries[i].Finished) count++;
        if (count == 0) return StageDurations.Empty;

        var names = new string[count];
        var milliseconds = new double[count];
        long slowestTicks = -1;
        var j = 0;
        for (var i = 0; i < _entryCount; i++)
        {
            ref var entry = ref _entries[i];
            if (!entry.Finished) continue;
            names[j] = entry.Name;
            milliseconds[j] = TimeSpan.FromTicks(entry.ElapsedTicks).TotalMilliseconds;
            j++;
            if (!entry.IsNested && i != _otherEntry && entry.ElapsedTicks > slowestTicks)
            {
                slowestTicks = entry.ElapsedTicks;
                slowest = entry.Name;
            }
        }
        return new StageDurations(names, milliseconds);
    }

    void End(TimingOutcome outcome, Exception? exception)
    {
        // Stages left open never finished: end them, innermost (latest) first so each restores its parent. Ending
        // is claimed under the stages' lock, so no stage can be added to this pipeline after the snapshot.
        StageTimer[]? open = null;
        var ended = false;
        lock (_open)
        {
            if (Interlocked.Exchange(ref _ending, 1) != 0) ended = true;
            else if (_open.Count > 0) open = _open.ToArray();
        }
        if (ended)
        {
            // Ended already, in another flow: this flow may still hold the pipeline (and its span, which was stopped in
            // that flow), and its own end (a using block) must still restore what was ambient before it here.
            LeaveAmbient();
            TimingDiagnostics.LeaveActivity(_activity, _previousActivity);
            return;
        }
        if (open is not null)
        {
            for (var i = open.Length - 1; i >= 0; i--) open[i].Abandon();
        }

        // A clock that throws ends the pipeline where it began: a zero duration, never an exception from Dispose.
        var end = ClockReads.Timestamp(TimeProvider, fallback: _start);
        Volatile.Write(ref _end, end);
        Volatile.Write(ref _outcome, (int)outcome);

        var elapsed = ClockReads.Elapsed(TimeProvider, _start, end);
        LeaveAmbient();

        // Recorded and written while the span is current, whichever flow ends the pipeline: the duration's exemplar and
        // the event's enrichers (its parent, name, tags) see the pipeline's own span. Then the span stops.
        TimingDiagnostics.End(_activity, outcome, exception, elapsed, _options.RecordExceptionMessageOnSpans, (this, elapsed, outcome, exception),
            static s => s.Item1.Finish(s.elapsed, s.outcome, s.exception));
    }

    /// <summary>Records the pipeline's duration, tells its collector and writes its summary.</summary>
    void Finish(TimeSpan elapsed, TimingOutcome outcome, Exception? exception)
    {
        if (TimingDiagnostics.PipelineDuration is { Enabled: true })
            TimingDiagnostics.RecordPipeline(elapsed, Name, outcome);
        var level = TimingEvents.Level(outcome, elapsed, Threshold(), _options.SummaryLevel);
        var write = _logger.IsEnabled(level);
        if (!write && _collector is null) return;

        // Final: every open stage was abandoned above, and no stage is added once the pipeline is ending.
        StageDurations stages;
        string? slowest;
        long otherRuns;
        lock (_open)
        {
            stages = SnapshotStages(out slowest);
            otherRuns = _otherRuns;
        }
        _collector?.PipelineEnded(this, CollectorSequence, stages);
        if (!write) return;
        TimingEvents.WriteSummary(_logger, level, ClockReads.UtcNow(TimeProvider), this, elapsed, outcome, exception, stages, slowest, otherRuns, _activity);
    }

    /// <summary>
    /// Restores what was ambient before the pipeline in this flow. Its stages that ended in another flow (a helper, or
    /// the pipeline's end there) may still be ambient above it here: they are left first, innermost first, as the
    /// stages this flow's end abandons leave themselves.
    /// </summary>
    void LeaveAmbient()
    {
        while (TimingAmbient.Current is StageTimer stage && ReferenceEquals(stage.Pipeline, this) && stage.HasEnded)
            stage.LeaveAmbient();
        TimingAmbient.Exit(ref _scope, this);
        // Ended (this is only called from End): the contexts of its start are no longer needed.
        TimingAmbient.Forget(ref _scope);
    }

    TimeSpan? Threshold()
    {
        var thresholds = _options.PipelineThresholds;
        if (thresholds.Count == 0) return null;
        if (thresholds.TryGetValue(Name, out var own)) return own;
        if (thresholds.TryGetValue(PipelineTimingOptions.AnyName, out var any)) return any;
        return null;
    }
}
