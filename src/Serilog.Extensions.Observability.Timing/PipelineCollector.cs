using System.Runtime.InteropServices;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog.Extensions.Observability.Timing;

/// <summary>
/// Collects the stage durations of every <see cref="PipelineTimer"/> begun in the current async flow (and the flows it
/// starts) while it is ambient, e.g. the pipelines of one HTTP request, so a request completion event can carry them.
/// </summary>
/// <example>
/// <code>
/// using var collector = PipelineCollector.Begin();
/// await HandleAsync();                       // begins pipelines
/// IReadOnlyDictionary&lt;string, double&gt; stages = collector.Stages;
/// </code>
/// </example>
/// <remarks>
/// <para>Collectors nest: a pipeline registers with the innermost one only. Dispose restores the previous collector.
/// One disposed in another flow stays ambient in the flow that began it, but a collector or pipeline begun there goes to the
/// one it nested in, as after a disposal in that flow.</para>
/// <para>A collector may live long (a streaming request running a pipeline per message, a background service): it keeps
/// an ended pipeline's stage totals, not the pipeline. It lists the first 64 pipelines in <see cref="Pipelines"/>, holds
/// up to 256 running ones so that <see cref="Stages"/> shows their finished stages, and keeps 256 distinct keys in
/// <see cref="Stages"/>, adding the durations of later keys up under <c>(other)</c>.</para>
/// </remarks>
public sealed class PipelineCollector : IDisposable
{
    /// <summary>The most pipelines <see cref="Pipelines"/> lists.</summary>
    internal const int MaxListed = 64;

    /// <summary>
    /// The most running pipelines held for <see cref="Stages"/>. Only pipelines begun and never ended come near it; one
    /// begun past it has its stages in <see cref="Stages"/> once it ends.
    /// </summary>
    internal const int MaxRunning = 256;

    /// <summary>The most distinct pipeline/stage keys kept apart; later ones add up under <see cref="PipelineTimer.OtherStages"/>.</summary>
    internal const int MaxStageKeys = 256;

    static readonly AsyncLocal<PipelineCollector?> s_current = new();
    static int s_runningReported;
    static int s_depthReported;

    readonly PipelineCollector? _previous;
    readonly int _depth; // collectors this one's _previous links reach, itself included: never more than TimingAmbient.MaxDepth

    // Guarded by _listed. The other two are created with the first pipeline: a request that runs none (most of them)
    // pays for one list.
    readonly List<PipelineTimer> _listed = new();
    List<PipelineTimer>? _running;
    List<StageTotal>? _totals;
    Dictionary<(string? Pipeline, string Stage), int>? _totalIndex;
    long _begun;
    bool _disposed;

    /// <summary>The durations of one pipeline/stage key over the ended pipelines, and where it first appeared.</summary>
    struct StageTotal
    {
        public string? Pipeline; // null for the (other) entry, which no pipeline name qualifies
        public string Stage;
        public double Milliseconds;
        public long Sequence;    // the start order of the first pipeline that had it
        public int Index;        // its place among that pipeline's stages
    }

    PipelineCollector(PipelineCollector? previous)
    {
        _previous = previous;
        _depth = previous is null ? 1 : previous._depth + 1;
    }

    /// <summary>Makes a new collector ambient for the current async flow until it is disposed.</summary>
    /// <returns>The collector; dispose it to stop collecting and restore the previous one.</returns>
    /// <remarks>Past 1024 collectors nested in one flow (only collectors begun and never disposed come near it), a new
    /// one takes the place of the innermost one instead of nesting in it, as pipelines and stages do.</remarks>
    public static PipelineCollector Begin()
    {
        var previous = s_current.Value;
        // A collector disposed in another flow (handed on with a message and disposed where that is finished) is still
        // ambient in the flow that began it: disposal restores only the flow it runs in. A new one does not nest in it,
        // which would keep it and the pipelines it lists alive, and so on for every message of a loop.
        while (previous is not null && Volatile.Read(ref previous._disposed)) previous = previous._previous;
        // Through _previous each collector begun and never disposed would keep every earlier one (and their totals and
        // running pipelines) alive, without end.
        if (previous is not null && previous._depth >= TimingAmbient.MaxDepth)
        {
            if (Interlocked.Exchange(ref s_depthReported, 1) == 0)
                SafeSelfLog.WriteLine("{0}: more than {1} pipeline collectors are nested in one flow, so collectors are being begun and not disposed (dispose each with using). " +
                    "Past that depth a new one replaces the innermost one; reported once.", TimingDiagnostics.Name, TimingAmbient.MaxDepth);
            previous = previous._previous;
        }
        var collector = new PipelineCollector(previous);
        s_current.Value = collector;
        return collector;
    }

    /// <summary>
    /// The first 64 pipelines begun while this collector was ambient, in start order; later ones count in
    /// <see cref="Stages"/> only. A thread-safe snapshot; still readable after dispose.
    /// </summary>
    public IReadOnlyList<PipelineTimer> Pipelines
    {
        get
        {
            lock (_listed) return _listed.ToArray();
        }
    }

    /// <summary>
    /// The milliseconds of the finished stages of every pipeline begun while this collector was ambient, those still
    /// running included. With one pipeline the keys are its stage names; with several they are qualified by the pipeline
    /// name (<c>ingest/chunk</c>), and a key that several runs share (one pipeline run per document) holds their sum. In
    /// the order the pipelines started, then the order of their stages. At most 256 distinct keys are kept apart: later
    /// ones add up under <c>(other)</c>. A thread-safe snapshot; still readable after dispose. Logged as a property
    /// (<c>diagnosticContext.Set("Stages", collector.Stages)</c>), it is captured as a dictionary, in this order.
    /// </summary>
    public IReadOnlyDictionary<string, double> Stages
    {
        get
        {
            StageDurations stages;
            lock (_listed) stages = SnapshotStages();
            return stages.ToLoggable();
        }
    }

    /// <summary>Stops collecting and, in the flow where it is still ambient, restores the previous collector.</summary>
    public void Dispose()
    {
        lock (_listed) _disposed = true;
        if (ReferenceEquals(s_current.Value, this)) s_current.Value = _previous;
    }

    /// <summary>Registers a starting pipeline with the ambient collector.</summary>
    /// <param name="pipeline">The pipeline.</param>
    /// <param name="sequence">Its start order in the collector.</param>
    /// <returns>The collector to tell when the pipeline ends, or <see langword="null"/>.</returns>
    internal static PipelineCollector? Register(PipelineTimer pipeline, out long sequence)
    {
        sequence = 0;
        // A collector disposed in another flow is still ambient in this one: the pipeline belongs to the nearest one not
        // disposed, as a collector begun now nests in it (see Begin).
        for (var collector = s_current.Value; collector is not null; collector = collector._previous)
        {
            if (TryRegister(collector, pipeline, ref sequence)) return collector;
        }
        return null;
    }

    static bool TryRegister(PipelineCollector collector, PipelineTimer pipeline, ref long sequence)
    {
        lock (collector._listed)
        {
            if (collector._disposed) return false;
            sequence = collector._begun++;
            if (collector._listed.Count < MaxListed) collector._listed.Add(pipeline);
            var running = collector._running ??= new List<PipelineTimer>();
            if (running.Count < MaxRunning)
                running.Add(pipeline);
            else if (Interlocked.Exchange(ref s_runningReported, 1) == 0)
                SafeSelfLog.WriteLine("{0}: a pipeline collector has {1} pipelines running, so pipelines are being begun and not ended (end each with using, Complete or Fail); " +
                    "later ones count in its Stages once they end. Reported once.", TimingDiagnostics.Name, MaxRunning);
        }
        return true;
    }

    /// <summary>Folds an ended pipeline's final stage durations into the totals and stops holding it.</summary>
    internal void PipelineEnded(PipelineTimer pipeline, long sequence, StageDurations stages)
    {
        lock (_listed)
        {
            _running?.Remove(pipeline);
            for (var i = 0; i < stages.Count; i++)
                Add(pipeline.Name, stages.NameAt(i), stages.MillisecondsAt(i), sequence, i);
        }
    }

    void Add(string pipeline, string stage, double milliseconds, long sequence, int index)
    {
        var totals = _totals ??= new List<StageTotal>();
        var found = Find(pipeline, stage);
        if (found < 0 && totals.Count >= MaxStageKeys)
        {
            // Past the limit (a stream running a pipeline per message under a name of its own): one entry for the rest.
            found = Find(null, PipelineTimer.OtherStages);
            if (found < 0) found = Append(null, PipelineTimer.OtherStages, sequence, index);
        }
        else if (found < 0)
        {
            found = Append(pipeline, stage, sequence, index);
        }

        ref var total = ref CollectionsMarshal.AsSpan(totals)[found];
        total.Milliseconds += milliseconds;
    }

    int Find(string? pipeline, string stage)
    {
        if (_totalIndex is not null) return _totalIndex.TryGetValue((pipeline, stage), out var found) ? found : -1;
        var totals = _totals!;
        for (var i = 0; i < totals.Count; i++)
        {
            var total = totals[i];
            if (string.Equals(total.Pipeline, pipeline, StringComparison.Ordinal) && string.Equals(total.Stage, stage, StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    int Append(string? pipeline, string stage, long sequence, int index)
    {
        var totals = _totals!;
        totals.Add(new StageTotal { Pipeline = pipeline, Stage = stage, Sequence = sequence, Index = index });
        var added = totals.Count - 1;
        if (_totalIndex is null && totals.Count > 16)
        {
            _totalIndex = new Dictionary<(string?, string), int>();
            for (var i = 0; i < totals.Count; i++) _totalIndex[(totals[i].Pipeline, totals[i].Stage)] = i;
        }
        else
        {
            _totalIndex?.Add((pipeline, stage), added);
        }
        return added;
    }

    /// <summary>Caller holds the lock. The ended pipelines' totals and the running ones' finished stages, in start order.</summary>
    StageDurations SnapshotStages()
    {
        if (_totals is not { Count: > 0 } && _running is not { Count: > 0 }) return StageDurations.Empty;
        var totals = _totals ?? [];
        var running = _running ?? [];

        var single = _begun == 1;
        var keys = new List<(string Key, double Milliseconds, long Sequence, int Index)>(totals.Count + 8);
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var total in totals)
            Merge(keys, byKey, KeyOf(total.Pipeline, total.Stage, single), total.Milliseconds, total.Sequence, total.Index);
        foreach (var pipeline in running)
        {
            var stages = pipeline.SnapshotStages();
            for (var i = 0; i < stages.Count; i++)
                Merge(keys, byKey, KeyOf(pipeline.Name, stages.NameAt(i), single), stages.MillisecondsAt(i), pipeline.CollectorSequence, i);
        }
        if (keys.Count == 0) return StageDurations.Empty;

        // A key sits where it first appeared: the pipelines in start order, each one's stages in theirs.
        keys.Sort(static (a, b) => a.Sequence != b.Sequence ? a.Sequence.CompareTo(b.Sequence) : a.Index.CompareTo(b.Index));
        var names = new string[keys.Count];
        var milliseconds = new double[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            names[i] = keys[i].Key;
            milliseconds[i] = keys[i].Milliseconds;
        }
        return new StageDurations(names, milliseconds);
    }

    // One pipeline: stage names as they are; several: qualified by the pipeline name.
    static string KeyOf(string? pipeline, string stage, bool single) =>
        single || pipeline is null ? stage : pipeline + "/" + stage;

    static void Merge(List<(string Key, double Milliseconds, long Sequence, int Index)> keys, Dictionary<string, int> byKey,
        string key, double milliseconds, long sequence, int index)
    {
        if (!byKey.TryGetValue(key, out var at))
        {
            byKey.Add(key, keys.Count);
            keys.Add((key, milliseconds, sequence, index));
            return;
        }
        var existing = keys[at];
        var earlier = sequence < existing.Sequence || (sequence == existing.Sequence && index < existing.Index);
        keys[at] = (key, existing.Milliseconds + milliseconds, earlier ? sequence : existing.Sequence, earlier ? index : existing.Index);
    }
}
