using System.Diagnostics;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>Builds the stage completion and pipeline summary events; templates parsed once.</summary>
static class TimingEvents
{
    public const string PipelineName = "Pipeline";
    public const string PipelineIdName = "PipelineId";
    public const string StageName = "Stage";
    public const string StageElapsedMsName = "StageElapsedMs";
    public const string PipelineElapsedMsName = "PipelineElapsedMs";
    public const string ElapsedMsName = "ElapsedMs";
    public const string OutcomeName = "Outcome";
    public const string StagesName = "Stages";
    public const string SlowestStageName = "SlowestStage";
    public const string OtherStageRunsName = "OtherStageRuns";

    static readonly MessageTemplate s_stageTemplate = Parse("{Pipeline} stage {Stage} {Outcome:l} in {ElapsedMs:0.0} ms");
    static readonly MessageTemplate s_summaryTemplate = Parse("{Pipeline} {Outcome:l} in {ElapsedMs:0.0} ms");
    static readonly MessageTemplate s_summaryWithSlowestTemplate = Parse("{Pipeline} {Outcome:l} in {ElapsedMs:0.0} ms, slowest stage {SlowestStage}");

    static readonly LogEventProperty s_completed = OutcomeProperty(TimingOutcome.Completed);
    static readonly LogEventProperty s_failed = OutcomeProperty(TimingOutcome.Failed);
    static readonly LogEventProperty s_abandoned = OutcomeProperty(TimingOutcome.Abandoned);

    /// <summary>A stage completion or pipeline summary event: it names its own stage (or none), never the ambient one.</summary>
    public static bool IsTimingEvent(LogEvent logEvent)
    {
        var template = logEvent.MessageTemplate;
        return ReferenceEquals(template, s_stageTemplate) || ReferenceEquals(template, s_summaryTemplate) || ReferenceEquals(template, s_summaryWithSlowestTemplate);
    }

    static MessageTemplate Parse(string template) => new MessageTemplateParser().Parse(template);

    static LogEventProperty OutcomeProperty(TimingOutcome outcome) =>
        new(OutcomeName, new ScalarValue(TimingDiagnostics.OutcomeName(outcome)));

    static LogEventProperty Outcome(TimingOutcome outcome) => outcome switch
    {
        TimingOutcome.Failed => s_failed,
        TimingOutcome.Abandoned => s_abandoned,
        _ => s_completed,
    };

    /// <summary>
    /// The configured level, raised to Error for a failure and to Warning for an abandoned or slow run; never lowered, so
    /// a level configured above Warning (summaries at Error) keeps a slow run there.
    /// </summary>
    public static LogEventLevel Level(TimingOutcome outcome, TimeSpan elapsed, TimeSpan? threshold, LogEventLevel configured)
    {
        var escalated = outcome switch
        {
            TimingOutcome.Failed => LogEventLevel.Error,
            TimingOutcome.Abandoned => LogEventLevel.Warning,
            _ when threshold is { } limit && elapsed > limit => LogEventLevel.Warning,
            _ => configured,
        };
        return escalated > configured ? escalated : configured;
    }

    public static void WriteStage(ILogger logger, LogEventLevel level, DateTimeOffset timestamp, PipelineTimer pipeline,
        LogEventProperty stage, TimeSpan elapsed, TimingOutcome outcome, Exception? exception, Activity? activity)
    {
        var properties = new[]
        {
            pipeline.PipelineProperty,
            pipeline.PipelineIdProperty,
            stage,
            new LogEventProperty(ElapsedMsName, new ScalarValue(elapsed.TotalMilliseconds)),
            Outcome(outcome),
        };
        Write(logger, new LogEvent(timestamp, level, exception, s_stageTemplate, properties, TraceIdOf(activity), SpanIdOf(activity)));
    }

    public static void WriteSummary(ILogger logger, LogEventLevel level, DateTimeOffset timestamp, PipelineTimer pipeline,
        TimeSpan elapsed, TimingOutcome outcome, Exception? exception, StageDurations stages, string? slowestStage, long otherStageRuns, Activity? activity)
    {
        var entries = new KeyValuePair<ScalarValue, LogEventPropertyValue>[stages.Count];
        var i = 0;
        foreach (var stage in stages)
            entries[i++] = new(new ScalarValue(stage.Key), new ScalarValue(stage.Value));

        var properties = new List<LogEventProperty>(6)
        {
            pipeline.PipelineProperty,
            pipeline.PipelineIdProperty,
            new(ElapsedMsName, new ScalarValue(elapsed.TotalMilliseconds)),
            Outcome(outcome),
            new(StagesName, new DictionaryValue(entries)),
        };
        if (slowestStage is not null) properties.Add(new LogEventProperty(SlowestStageName, new ScalarValue(slowestStage)));
        // Only past the limit of distinct stage names: how many runs the "(other)" entry of Stages sums.
        if (otherStageRuns > 0) properties.Add(new LogEventProperty(OtherStageRunsName, new ScalarValue(otherStageRuns)));

        var template = slowestStage is null ? s_summaryTemplate : s_summaryWithSlowestTemplate;
        Write(logger, new LogEvent(timestamp, level, exception, template, properties, TraceIdOf(activity), SpanIdOf(activity)));
    }

    // The event's own span when there is one (current while it is written, see TimingDiagnostics.RunAsCurrent); otherwise
    // the ids Serilog itself would have captured.
    static ActivityTraceId TraceIdOf(Activity? activity) => (activity ?? Activity.Current)?.TraceId ?? default;

    static ActivitySpanId SpanIdOf(Activity? activity) => (activity ?? Activity.Current)?.SpanId ?? default;

    static void Write(ILogger logger, LogEvent logEvent)
    {
        try
        {
            logger.Write(logEvent);
        }
        catch (Exception ex)
        {
            // Only an auditing sink throws; timing code runs inside the application's own flow and must not.
            TimingReports.EventWrite.WriteLine("Serilog.Extensions.Observability.Timing: writing a timing event failed ({0} more failures since the last report): {1}", ex);
            Interlocked.Increment(ref s_writeFailures);
        }
    }

    static long s_writeFailures;

    public static long WriteFailures => Interlocked.Read(ref s_writeFailures);
}
