namespace Serilog.Extensions.Observability.Timing;

/// <summary>
/// Collects every <see cref="PipelineTimer"/> begun in the current async flow (and the flows it starts) while it
/// is ambient, e.g. the pipelines of one HTTP request, so a request completion event can carry their stages.
/// </summary>
/// <example>
/// <code>
/// using var collector = PipelineCollector.Begin();
/// await HandleAsync();                       // begins pipelines
/// foreach (var pipeline in collector.Pipelines) { ... pipeline.Stages ... }
/// </code>
/// </example>
/// <remarks>Collectors nest: a pipeline registers with the innermost one only. Dispose restores the previous collector.</remarks>
public sealed class PipelineCollector : IDisposable
{
    static readonly AsyncLocal<PipelineCollector?> s_current = new();

    readonly PipelineCollector? _previous;
    readonly List<PipelineTimer> _pipelines = new();
    bool _disposed;

    PipelineCollector(PipelineCollector? previous) => _previous = previous;

    /// <summary>Makes a new collector ambient for the current async flow until it is disposed.</summary>
    /// <returns>The collector; dispose it to stop collecting and restore the previous one.</returns>
    public static PipelineCollector Begin()
    {
        var collector = new PipelineCollector(s_current.Value);
        s_current.Value = collector;
        return collector;
    }

    /// <summary>The pipelines begun while this collector was ambient, in start order. A thread-safe snapshot; still readable after dispose.</summary>
    public IReadOnlyList<PipelineTimer> Pipelines
    {
        get
        {
            lock (_pipelines) return _pipelines.ToArray();
        }
    }

    /// <summary>Stops collecting and, in the flow where it is still ambient, restores the previous collector.</summary>
    public void Dispose()
    {
        lock (_pipelines) _disposed = true;
        if (ReferenceEquals(s_current.Value, this)) s_current.Value = _previous;
    }

    internal static void Register(PipelineTimer pipeline)
    {
        var collector = s_current.Value;
        if (collector is null) return;
        lock (collector._pipelines)
        {
            if (!collector._disposed) collector._pipelines.Add(pipeline);
        }
    }
}
