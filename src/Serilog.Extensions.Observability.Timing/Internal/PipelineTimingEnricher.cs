using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// Adds Pipeline, PipelineId, Stage, StageElapsedMs and PipelineElapsedMs from the innermost timer of the
/// current async flow. The three name properties are cached on the timers; only the two elapsed values are new.
/// </summary>
sealed class PipelineTimingEnricher : ILogEventEnricher
{
    static long s_failures;

    public static long Failures => Interlocked.Read(ref s_failures);

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        var frame = TimingAmbient.Current;
        if (frame is null) return;

        try
        {
            // A timer ended where its end could not reach this flow (work started inside it that outlives it: a
            // background loop, a timer, a consumer) is still ambient here; an event written after its end is not inside
            // it, and goes to the innermost timer still running (or none). A completion or summary event, written as its
            // timer ends, keeps the frame as it is.
            var timingEvent = TimingEvents.IsTimingEvent(logEvent);
            if (!timingEvent)
            {
                frame = TimingAmbient.Enclosing(frame);
                if (frame is null) return;
            }
            var stage = frame as StageTimer;
            var pipeline = stage is null ? (PipelineTimer)frame : stage.Pipeline;
            // An event about another pipeline (a nested pipeline's summary, written once it has left the flow) gets
            // no timing of this one.
            if (logEvent.Properties.TryGetValue(TimingEvents.PipelineIdName, out var id)
                && !(id is ScalarValue { Value: string named } && string.Equals(named, pipeline.Id, StringComparison.Ordinal)))
                return;
            var now = pipeline.TimeProvider.GetTimestamp();

            logEvent.AddPropertyIfAbsent(pipeline.PipelineProperty);
            logEvent.AddPropertyIfAbsent(pipeline.PipelineIdProperty);
            // An event that names its own stage keeps it and gets no other stage's elapsed time; a completion or
            // summary event of this package is about its own stage (or the whole pipeline), whatever flow ends it.
            if (stage is not null && !timingEvent && !logEvent.Properties.ContainsKey(TimingEvents.StageName))
            {
                logEvent.AddPropertyIfAbsent(stage.StageProperty);
                logEvent.AddPropertyIfAbsent(new LogEventProperty(TimingEvents.StageElapsedMsName, new ScalarValue(stage.ElapsedAt(now).TotalMilliseconds)));
            }
            logEvent.AddPropertyIfAbsent(new LogEventProperty(TimingEvents.PipelineElapsedMsName, new ScalarValue(pipeline.ElapsedAt(now).TotalMilliseconds)));
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref s_failures);
            TimingReports.Enricher.WriteLine("Serilog.Extensions.Observability.Timing: enriching an event with pipeline timing failed; the event is written without it ({0} more failures since the last report): {1}", ex);
        }
    }
}
