namespace Serilog.Extensions.Observability.Timing;

/// <summary>How a <see cref="PipelineTimer"/> or a <see cref="StageTimer"/> ended.</summary>
/// <remarks>Events and metric tags carry the lower-case name: <c>completed</c>, <c>failed</c>, <c>abandoned</c>.</remarks>
public enum TimingOutcome
{
    /// <summary>Still running: neither completed, failed nor disposed.</summary>
    Running = 0,

    /// <summary>Ended by <c>Complete()</c>, or disposed without it while <see cref="PipelineTimingOptions.DisposeOutcome"/> is <see cref="Completed"/> (the default).</summary>
    Completed = 1,

    /// <summary>Ended by <c>Fail(exception)</c>, or by an exception escaping <see cref="PipelineTimer.StageAsync(string, Func{Task})"/>.</summary>
    Failed = 2,

    /// <summary>
    /// Never finished: a stage still open when its pipeline ended, or a stage or pipeline disposed without
    /// <c>Complete()</c>/<c>Fail()</c> while <see cref="PipelineTimingOptions.DisposeOutcome"/> is <see cref="Abandoned"/>.
    /// </summary>
    Abandoned = 3,
}
