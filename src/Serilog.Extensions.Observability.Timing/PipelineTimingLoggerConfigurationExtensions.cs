using Serilog.Configuration;
using Serilog.Events;
using Serilog.Extensions.Observability;
using Serilog.Extensions.Observability.Timing;
using Serilog.Extensions.Observability.Timing.Internal;

namespace Serilog;

/// <summary>Adds <c>Enrich.WithPipelineTiming()</c> to the logger configuration.</summary>
public static class PipelineTimingLoggerConfigurationExtensions
{
    /// <summary>
    /// Adds <c>Pipeline</c>, <c>PipelineId</c>, <c>Stage</c>, <c>StageElapsedMs</c> and <c>PipelineElapsedMs</c>
    /// to every event written inside a <see cref="PipelineTimer"/>, from the innermost stage of the event's own
    /// async flow (<c>Stage</c> and <c>StageElapsedMs</c> only inside a stage). Properties already on the event win.
    /// </summary>
    /// <remarks>
    /// The arguments become the process-wide defaults of every pipeline begun without its own
    /// <see cref="PipelineTimingOptions"/>; the last configuration applied wins. Called with every argument at its
    /// default (as <c>WithObservability()</c> does), it only adds the enricher and leaves defaults configured elsewhere
    /// (appsettings, an earlier call) in place. All of them can be given in the
    /// appsettings <c>"Serilog"</c> section: <c>{ "Name": "WithPipelineTiming", "Args": { "stageThresholds": { "llm": "00:00:02" } } }</c>.
    /// </remarks>
    /// <param name="enrichmentConfiguration">Logger enrichment configuration.</param>
    /// <param name="stageThresholds">Stage name (full path, own name, or <c>"*"</c> for any) → duration above which the
    /// stage's completion event is written at Warning (or <paramref name="stageCompletionLevel"/> if higher). Each must be
    /// greater than zero. The default is none.</param>
    /// <param name="pipelineThresholds">Pipeline name (or <c>"*"</c>) → duration above which its summary event is written at
    /// Warning (or <paramref name="summaryLevel"/> if higher). Each must be greater than zero. The default is none.</param>
    /// <param name="stageCompletionLevel">Level of an ordinary stage completion event, and the lowest of any: a slow or
    /// abandoned stage is raised to Warning, a failed one to Error, never lowered. The default is Debug.</param>
    /// <param name="summaryLevel">Level of an ordinary pipeline summary event, and the lowest of any: a slow or abandoned run
    /// is raised to Warning, a failed one to Error, never lowered. The default is Information.</param>
    /// <param name="disposeOutcome">Outcome of a stage or pipeline disposed without Complete() or Fail():
    /// <see cref="TimingOutcome.Completed"/> (the default) or <see cref="TimingOutcome.Abandoned"/>.</param>
    /// <param name="recordExceptionMessageOnSpans">Whether a failed stage's or pipeline's span also carries the exception's
    /// message (status description, <c>exception.message</c>, and <see cref="Exception.ToString()"/> as
    /// <c>exception.stacktrace</c>). The message is not redacted: what it quotes reaches every trace exporter as it is.
    /// The default is <see langword="false"/>: the span has the exception's type and stack frames only. See
    /// <see cref="PipelineTimingOptions.RecordExceptionMessageOnSpans"/>.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="enrichmentConfiguration"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A threshold is zero or negative, or <paramref name="disposeOutcome"/> is neither Completed nor Abandoned.</exception>
    public static LoggerConfiguration WithPipelineTiming(
        this LoggerEnrichmentConfiguration enrichmentConfiguration,
        IDictionary<string, TimeSpan>? stageThresholds = null,
        IDictionary<string, TimeSpan>? pipelineThresholds = null,
        LogEventLevel stageCompletionLevel = LogEventLevel.Debug,
        LogEventLevel summaryLevel = LogEventLevel.Information,
        TimingOutcome disposeOutcome = TimingOutcome.Completed,
        bool recordExceptionMessageOnSpans = false)
    {
        Guard.NotNull(enrichmentConfiguration);
        PipelineTimingOptions.ValidateThresholds(stageThresholds, nameof(stageThresholds));
        PipelineTimingOptions.ValidateThresholds(pipelineThresholds, nameof(pipelineThresholds));
        PipelineTimingOptions.DefinedLevel(stageCompletionLevel, nameof(stageCompletionLevel));
        PipelineTimingOptions.DefinedLevel(summaryLevel, nameof(summaryLevel));
        if (disposeOutcome is not (TimingOutcome.Completed or TimingOutcome.Abandoned))
            throw new ArgumentOutOfRangeException(nameof(disposeOutcome), disposeOutcome, "A disposed stage or pipeline is either Completed or Abandoned.");

        if (stageThresholds is null && pipelineThresholds is null && stageCompletionLevel == LogEventLevel.Debug
            && summaryLevel == LogEventLevel.Information && disposeOutcome == TimingOutcome.Completed && !recordExceptionMessageOnSpans)
        {
            // Nothing to configure: adding the properties must not wipe thresholds another configuration set.
            return enrichmentConfiguration.With(new PipelineTimingEnricher());
        }

        var options = new PipelineTimingOptions
        {
            StageCompletionLevel = stageCompletionLevel,
            SummaryLevel = summaryLevel,
            DisposeOutcome = disposeOutcome,
            RecordExceptionMessageOnSpans = recordExceptionMessageOnSpans,
        };
        if (stageThresholds is not null)
            foreach (var threshold in stageThresholds) options.StageThresholds[threshold.Key] = threshold.Value;
        if (pipelineThresholds is not null)
            foreach (var threshold in pipelineThresholds) options.PipelineThresholds[threshold.Key] = threshold.Value;

        return Configure(enrichmentConfiguration, options);
    }

    /// <summary>
    /// Adds the pipeline timing properties (see the other overload) and registers <paramref name="options"/> as the
    /// process-wide defaults of every pipeline begun without its own options; the last configuration applied wins.
    /// </summary>
    /// <param name="enrichmentConfiguration">Logger enrichment configuration.</param>
    /// <param name="options">Levels, thresholds and clock for pipelines begun without options; copied, so later changes to
    /// the instance have no effect (the clock itself is shared).</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A threshold is zero or negative.</exception>
    public static LoggerConfiguration WithPipelineTiming(
        this LoggerEnrichmentConfiguration enrichmentConfiguration,
        PipelineTimingOptions options)
    {
        Guard.NotNull(enrichmentConfiguration);
        Guard.NotNull(options);
        var copy = options.Copy();
        copy.Validate();
        return Configure(enrichmentConfiguration, copy);
    }

    static LoggerConfiguration Configure(LoggerEnrichmentConfiguration enrichmentConfiguration, PipelineTimingOptions options)
    {
        PipelineTimingDefaults.Replace(options);
        return enrichmentConfiguration.With(new PipelineTimingEnricher());
    }
}
