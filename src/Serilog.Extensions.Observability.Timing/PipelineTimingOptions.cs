using Serilog.Events;

namespace Serilog.Extensions.Observability.Timing;

/// <summary>
/// Levels, thresholds, clock and what failed spans carry, for pipeline timing. Pass an instance to
/// <see cref="PipelineTimer.Begin(string, ILogger?, PipelineTimingOptions?)"/>, or let
/// <c>Enrich.WithPipelineTiming(...)</c> (in code or from the appsettings <c>"Serilog"</c> section) register
/// the process-wide defaults that every pipeline begun without options uses.
/// </summary>
/// <remarks>
/// <c>Enrich.WithPipelineTiming(options)</c> registers a copy: later changes to the instance do not reach the defaults.
/// <c>PipelineTimer.Begin</c> copies the instance passed to it too: a later change applies to the pipelines begun after
/// it, never to one already running.
/// The type binds with <c>IConfiguration.Bind(options)</c>: the threshold dictionaries are keyed by name
/// with <c>TimeSpan</c> values such as <c>"00:00:02.5"</c>.
/// </remarks>
public sealed class PipelineTimingOptions
{
    /// <summary>The key that sets the threshold of every stage (or pipeline) without its own entry.</summary>
    public const string AnyName = "*";

    IDictionary<string, TimeSpan> _stageThresholds = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
    IDictionary<string, TimeSpan> _pipelineThresholds = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
    TimingOutcome _disposeOutcome = TimingOutcome.Completed;
    TimeProvider _timeProvider = TimeProvider.System;
    LogEventLevel _stageCompletionLevel = LogEventLevel.Debug;
    LogEventLevel _summaryLevel = LogEventLevel.Information;

    /// <summary>
    /// Duration above which a stage's completion event is written at <see cref="LogEventLevel.Warning"/> (or at
    /// <see cref="StageCompletionLevel"/> if that is higher).
    /// Keyed by the stage's full name (<c>ingest/parse</c>), then its own name (<c>parse</c>), then
    /// <see cref="AnyName"/>. Empty by default: no stage is slow. Names are case-sensitive. A dictionary that is set
    /// is copied, so later changes to it have no effect.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value set is null.</exception>
    public IDictionary<string, TimeSpan> StageThresholds
    {
        get => _stageThresholds;
        set => _stageThresholds = OwnCopy(Guard.NotNull(value));
    }

    /// <summary>
    /// Duration above which a pipeline's summary event is written at <see cref="LogEventLevel.Warning"/> (or at
    /// <see cref="SummaryLevel"/> if that is higher),
    /// keyed by pipeline name, then <see cref="AnyName"/>. Empty by default. Names are case-sensitive. A dictionary
    /// that is set is copied, so later changes to it have no effect.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value set is null.</exception>
    public IDictionary<string, TimeSpan> PipelineThresholds
    {
        get => _pipelineThresholds;
        set => _pipelineThresholds = OwnCopy(Guard.NotNull(value));
    }

    /// <summary>
    /// Level of a stage completion event that is neither slow, abandoned nor failed, and the lowest level of any stage
    /// completion event: a slow or abandoned stage is raised to Warning and a failed one to Error, never lowered to them.
    /// The default is <see cref="LogEventLevel.Debug"/>.
    /// </summary>
    public LogEventLevel StageCompletionLevel
    {
        get => _stageCompletionLevel;
        set => _stageCompletionLevel = DefinedLevel(value, nameof(value));
    }

    /// <summary>
    /// Level of a pipeline summary event that is neither slow, abandoned nor failed, and the lowest level of any summary
    /// event: a slow or abandoned run is raised to Warning and a failed one to Error, never lowered to them. The default is
    /// <see cref="LogEventLevel.Information"/>.
    /// </summary>
    public LogEventLevel SummaryLevel
    {
        get => _summaryLevel;
        set => _summaryLevel = DefinedLevel(value, nameof(value));
    }

    /// <summary>
    /// The outcome of a stage or pipeline disposed without <c>Complete()</c> or <c>Fail()</c>:
    /// <see cref="TimingOutcome.Completed"/> (the default, so a <c>using</c> block is enough) or
    /// <see cref="TimingOutcome.Abandoned"/> (written at Warning or the configured level if higher, like SerilogTimings'
    /// <c>Operation.Begin</c>).
    /// An exception passing through a <c>using</c> block cannot be seen: call <c>Fail(exception)</c> or use <c>StageAsync</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is neither Completed nor Abandoned.</exception>
    public TimingOutcome DisposeOutcome
    {
        get => _disposeOutcome;
        set
        {
            if (value is not (TimingOutcome.Completed or TimingOutcome.Abandoned))
                throw new ArgumentOutOfRangeException(nameof(value), value, "A disposed stage or pipeline is either Completed or Abandoned.");
            _disposeOutcome = value;
        }
    }

    /// <summary>
    /// The clock for timestamps and durations. The default is <see cref="TimeProvider.System"/>. A read that throws
    /// where a stage or pipeline begins or ends is reported through SelfLog and costs only that time: a stage whose
    /// start or end cannot be read lasts zero, and an event whose time cannot be read takes the system's. A duration
    /// over which the clock went backwards is zero, never negative.
    /// </summary>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        set => _timeProvider = Guard.NotNull(value);
    }

    /// <summary>
    /// Whether a failed stage's or pipeline's span also carries the exception's message: as its status description
    /// (otherwise the exception's type), as <c>exception.message</c> on its <c>exception</c> event, and in its
    /// <c>exception.stacktrace</c>, which is then <see cref="Exception.ToString()"/> (messages of the inner exceptions
    /// included) instead of the types and stack frames alone. The default is <see langword="false"/>.
    /// </summary>
    /// <remarks>
    /// The message is not redacted: no redaction reads a span, so a password, token or connection string quoted in an
    /// exception's message goes as it is to every <c>ActivityListener</c> and trace exporter, while the failed run's
    /// Error event, which carries the exception either way, is masked by the logger's redaction (<c>WriteTo.Redacted</c>).
    /// Turn it on only where the tracing back end may hold what exception messages hold.
    /// </remarks>
    public bool RecordExceptionMessageOnSpans { get; set; }

    /// <summary>
    /// <paramref name="level"/> when it is one of <see cref="LogEventLevel"/>'s values; an undefined one (a number from
    /// configuration) would write events above <see cref="LogEventLevel.Fatal"/>, past every minimum level.
    /// </summary>
    internal static LogEventLevel DefinedLevel(LogEventLevel level, string parameterName) =>
        Enum.IsDefined(level)
            ? level
            : throw new ArgumentOutOfRangeException(parameterName, level, "The level must be one of Verbose, Debug, Information, Warning, Error or Fatal.");

    // The setters exist for Serilog.Settings.Configuration 10, which builds an options object from appsettings itself
    // and sets only properties that have a setter (8 binds it with Microsoft.Extensions.Configuration.Binder, which
    // fills a get-only dictionary in place). The copy keeps names case-sensitive whatever the given dictionary compares.
    static Dictionary<string, TimeSpan> OwnCopy(IDictionary<string, TimeSpan> thresholds) =>
        new(thresholds, StringComparer.Ordinal);

    internal static void ValidateThresholds(IEnumerable<KeyValuePair<string, TimeSpan>>? thresholds, string parameterName)
    {
        if (thresholds is null) return;
        foreach (var threshold in thresholds)
        {
            if (string.IsNullOrWhiteSpace(threshold.Key))
                throw new ArgumentException("A threshold needs a stage or pipeline name (or \"*\").", parameterName);
            if (threshold.Value <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(parameterName, threshold.Value, $"The threshold of '{threshold.Key}' must be greater than zero.");
        }
    }

    /// <summary>
    /// A copy whose threshold dictionaries are its own (the time provider is shared): what a configuration registers and
    /// what a pipeline begun with options runs by, so that a later change to the caller's instance, unvalidated and
    /// possibly made while pipelines read it, never applies.
    /// </summary>
    internal PipelineTimingOptions Copy()
    {
        var copy = new PipelineTimingOptions
        {
            _stageCompletionLevel = _stageCompletionLevel,
            _summaryLevel = _summaryLevel,
            _disposeOutcome = _disposeOutcome,
            _timeProvider = _timeProvider,
            RecordExceptionMessageOnSpans = RecordExceptionMessageOnSpans,
        };
        foreach (var threshold in StageThresholds) copy.StageThresholds[threshold.Key] = threshold.Value;
        foreach (var threshold in PipelineThresholds) copy.PipelineThresholds[threshold.Key] = threshold.Value;
        return copy;
    }

    internal void Validate()
    {
        ValidateThresholds(StageThresholds, nameof(StageThresholds));
        ValidateThresholds(PipelineThresholds, nameof(PipelineThresholds));
    }
}
