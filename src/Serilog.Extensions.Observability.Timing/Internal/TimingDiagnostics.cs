using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>The package's Meter and ActivitySource; both named after the package.</summary>
static class TimingDiagnostics
{
    public const string Name = "Serilog.Extensions.Observability.Timing";

    static readonly string? s_version = Observability.PackageVersion.Of(typeof(TimingDiagnostics));

    // Creating the source runs every ActivityListener's ShouldListenTo, and creating an instrument every MeterListener's
    // InstrumentPublished, inside this type's initializer: one that throws would make every later use of the package
    // throw a TypeInitializationException. It costs the spans or that histogram instead (null), reported once.

    /// <summary>The package's spans; <see langword="null"/> when a listener threw as it was created.</summary>
    public static readonly ActivitySource? Source = CreateOrReport(static () => new ActivitySource(Name, s_version), "ActivitySource " + Name);

    static readonly Meter s_meter = new(Name, s_version);

    // Values are in seconds, but an aggregator without advice (the OpenTelemetry SDK's defaults are 0, 5, 10, 25, ...
    // 10000, chosen for milliseconds) would put every stage under five seconds into one bucket. The advice is the
    // semantic conventions' duration buckets (http.server.request.duration), extended to a minute for model calls.
    // InstrumentAdvice exists from .NET 9; on .NET 8 only where the application loads System.Diagnostics.DiagnosticSource
    // 9 or later (AdvisedHistogram), else a user sets the buckets with a view (see the README).
    // Declared before the histograms: static fields initialize in text order.
    static readonly double[] s_bucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

    /// <summary><c>pipeline.stage.duration</c>; <see langword="null"/> when a listener threw as it was created.</summary>
    public static readonly Histogram<double>? StageDuration = CreateOrReport(static () => CreateDurationHistogram(
        "pipeline.stage.duration", "Duration of one pipeline stage."), "histogram pipeline.stage.duration");

    /// <summary><c>pipeline.duration</c>; <see langword="null"/> when a listener threw as it was created.</summary>
    public static readonly Histogram<double>? PipelineDuration = CreateOrReport(static () => CreateDurationHistogram(
        "pipeline.duration", "Duration of one pipeline run."), "histogram pipeline.duration");

    static Histogram<double> CreateDurationHistogram(string name, string description) =>
#if NET9_0_OR_GREATER
        s_meter.CreateHistogram(name, unit: "s", description: description, tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_bucketBoundaries });
#else
        AdvisedHistogram.TryCreate(s_meter, name, "s", description, s_bucketBoundaries)
            ?? s_meter.CreateHistogram<double>(name, unit: "s", description: description);
#endif

    static T? CreateOrReport<T>(Func<T> create, string what) where T : class
    {
        try
        {
            return create();
        }
        catch (Exception ex)
        {
            SafeSelfLog.WriteLine("{0}: a metrics or tracing listener threw as the {1} was created, so it records nothing for the life of the process; stages, pipelines and their events are not affected: {2}",
                Name, what, ex);
            return null;
        }
    }

    /// <summary>True when the source exists and a listener wants its spans.</summary>
    public static bool Tracing => Source is { } source && source.HasListeners();

    /// <summary>The <c>pipeline</c> tag: the first 100 distinct pipeline names, then <see cref="MetricTagValues.Other"/>.</summary>
    public static readonly MetricTagValues PipelineTag = new("pipeline", 100);

    /// <summary>The <c>stage</c> tag: the first 500 distinct stage names (full paths, of all pipelines), then <see cref="MetricTagValues.Other"/>.</summary>
    public static readonly MetricTagValues StageTag = new("stage", 500);

    /// <summary>The informational version without its build metadata (the SDK appends <c>+commit</c>); else the assembly version.</summary>
    internal static string? PackageVersion(string? informationalVersion, Version? assemblyVersion) =>
        Observability.PackageVersion.Parse(informationalVersion, assemblyVersion);

    public static string OutcomeName(TimingOutcome outcome) => outcome switch
    {
        TimingOutcome.Completed => "completed",
        TimingOutcome.Failed => "failed",
        TimingOutcome.Abandoned => "abandoned",
        _ => "running",
    };

    // Listeners (a MeterListener callback, an ActivityListener's Sample/ActivityStarted/ActivityStopped) run inside
    // Record, StartActivity and Stop: one that throws must cost the application its measurement, never its stage.

    public static void RecordStage(TimeSpan elapsed, string pipeline, string stage, TimingOutcome outcome)
    {
        // TagList holds up to eight tags inline: no allocation.
        var tags = new TagList
        {
            { "pipeline", PipelineTag.Map(pipeline) },
            { "stage", StageTag.Map(stage) },
            { "outcome", OutcomeName(outcome) },
        };
        try
        {
            StageDuration?.Record(elapsed.TotalSeconds, tags);
        }
        catch (Exception ex)
        {
            ReportListenerFault(ex);
        }
    }

    public static void RecordPipeline(TimeSpan elapsed, string pipeline, TimingOutcome outcome)
    {
        var tags = new TagList
        {
            { "pipeline", PipelineTag.Map(pipeline) },
            { "outcome", OutcomeName(outcome) },
        };
        try
        {
            PipelineDuration?.Record(elapsed.TotalSeconds, tags);
        }
        catch (Exception ex)
        {
            ReportListenerFault(ex);
        }
    }

    /// <param name="name">The span's name.</param>
    /// <param name="parent">The parent span; <see langword="null"/> for <see cref="Activity.Current"/>. One that is not current
    /// (also after a stopped span of this package's current here was replaced, see below) is given to the new span as its
    /// parent's context: the new span then has no <see cref="Activity.Parent"/>.</param>
    /// <param name="tags">Tags given at creation, so a sampler (<c>ActivityCreationOptions.Tags</c>) decides with them.</param>
    /// <param name="startTime">Now on the pipeline's clock; <see cref="EndActivity"/> ends the span on it too.</param>
    public static Activity? StartActivity(string name, Activity? parent, KeyValuePair<string, object?>[] tags, DateTimeOffset startTime)
    {
        var previous = Activity.Current;
        // Activity.Start() keeps the span current when it starts for the life of the new span (to make it current again
        // when that stops). A span of this package's that stopped in another flow and is still current here must not be
        // kept so: a loop that begins a pipeline or stage per message and has each ended elsewhere would chain them, each
        // span keeping every earlier one alive. What was current in this flow before it is made current instead (not the
        // parent given, which may never have been current here), or none where that has stopped too (an application's
        // span, such as an ended request's, cannot be made current again).
        if (previous is { IsStopped: true } && ReferenceEquals(previous.Source, Source))
        {
            Activity.Current = TimingAmbient.PastStoppedTimingSpans(previous) is { IsStopped: false } running ? running : null;
            previous = Activity.Current;
        }
        try
        {
            // A stage begun in another flow than its parent still becomes the parent's child. A default context
            // makes Activity.Current the parent, as StartActivity without one does. So does a hierarchical parent's, which
            // is all zeros; giving its id instead would make no span for a listener without SampleUsingParentId.
            var parentContext = parent is not null && !ReferenceEquals(previous, parent) ? parent.Context : default;
            return Source?.StartActivity(name, ActivityKind.Internal, parentContext, tags, startTime: startTime);
        }
        catch (Exception ex)
        {
            ReportListenerFault(ex);
            // The span had become current before the listener threw: nobody will stop it, so stop it here and put
            // the application's span back.
            var orphan = Activity.Current;
            if (orphan is not null && !ReferenceEquals(orphan, previous) && ReferenceEquals(orphan.Source, Source))
            {
                try
                {
                    orphan.Stop();
                }
                catch (Exception stopFault)
                {
                    ReportListenerFault(stopFault);
                }
            }
            Activity.Current = previous;
            return null;
        }
    }

    /// <summary>
    /// Gives a span its end time, outcome, status and exception event, but leaves it running: its duration is recorded
    /// and its completion event written while it is the current span (<see cref="RunAsCurrent"/>), then
    /// <see cref="StopActivity"/> stops it.
    /// </summary>
    /// <param name="activity">A span from <see cref="StartActivity"/>.</param>
    /// <param name="outcome">How the stage or pipeline ended.</param>
    /// <param name="exception">Why it failed, or <see langword="null"/>.</param>
    /// <param name="elapsed">Its duration on the pipeline's clock, as its event and metric have it.</param>
    /// <param name="recordMessage"><see cref="PipelineTimingOptions.RecordExceptionMessageOnSpans"/>.</param>
    public static void EndActivity(Activity activity, TimingOutcome outcome, Exception? exception, TimeSpan elapsed, bool recordMessage)
    {
        try
        {
            EndActivityCore(activity, outcome, exception, elapsed, recordMessage);
        }
        catch (Exception ex)
        {
            // A listener that throws while the span is tagged: the span loses what was left, never its stop.
            ReportListenerFault(ex);
        }
    }

    /// <summary>
    /// Ends a stage's or pipeline's span, runs <paramref name="finish"/> (its duration and event) while the span is still
    /// current (<see cref="RunAsCurrent"/>), then stops it; with no span, only runs <paramref name="finish"/>.
    /// </summary>
    /// <param name="activity">The span from <see cref="StartActivity"/>, or <see langword="null"/>.</param>
    /// <param name="outcome">How the stage or pipeline ended.</param>
    /// <param name="exception">Why it failed, or <see langword="null"/>.</param>
    /// <param name="elapsed">Its duration on the pipeline's clock.</param>
    /// <param name="recordMessage"><see cref="PipelineTimingOptions.RecordExceptionMessageOnSpans"/>.</param>
    /// <param name="state">What <paramref name="finish"/> needs, so it need not capture it.</param>
    /// <param name="finish">Records the duration and writes the event.</param>
    public static void End<TState>(Activity? activity, TimingOutcome outcome, Exception? exception, TimeSpan elapsed, bool recordMessage,
        TState state, Action<TState> finish)
    {
        if (activity is null)
        {
            finish(state);
            return;
        }
        EndActivity(activity, outcome, exception, elapsed, recordMessage);
        try
        {
            RunAsCurrent(activity, state, finish);
        }
        finally
        {
            StopActivity(activity);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> while <paramref name="activity"/> is <see cref="Activity.Current"/>: the duration's
    /// exemplar and the completion event's enrichers (<c>Enrich.WithSpan()</c>: parent, name, tags) take the span that
    /// was current. That is so already where the stage or pipeline ends in the flow that began it; elsewhere (ended in
    /// another flow, abandoned by the pipeline's end) the span is made current in a copy of the flow, so nothing of it
    /// leaks into the caller's.
    /// </summary>
    /// <param name="activity">A span ended by <see cref="EndActivity"/>, not yet stopped.</param>
    /// <param name="state">What <paramref name="action"/> needs, so it need not capture it.</param>
    /// <param name="action">Records the duration and writes the event.</param>
    public static void RunAsCurrent<TState>(Activity activity, TState state, Action<TState> action)
    {
        if (ReferenceEquals(Activity.Current, activity) || activity.IsStopped)
        {
            action(state);
            return;
        }
        var context = ExecutionContext.Capture();
        if (context is null)
        {
            action(state); // flow suppressed by the application: no copy to make the span current in
            return;
        }
        ExecutionContext.Run(context, static boxed =>
        {
            var (activity, state, action) = ((Activity, TState, Action<TState>))boxed!;
            Activity.Current = activity;
            action(state);
        }, (activity, state, action));
    }

    /// <summary>
    /// Puts back, in the calling flow, the span that was current before <paramref name="activity"/> started, if
    /// <paramref name="activity"/> is still current here. Stopping a span hands the current span back only in the flow
    /// that stops it: a stage or pipeline ended in another flow leaves its span current in the flow that began it, where
    /// later events would name it as their span. Its end here (a <c>using</c> block) must restore what was current.
    /// </summary>
    /// <param name="activity">The stage's or pipeline's span, or <see langword="null"/>.</param>
    /// <param name="previous">What was current when it started; if that has stopped since, the nearest running parent.</param>
    public static void LeaveActivity(Activity? activity, Activity? previous)
    {
        if (activity is null || !ReferenceEquals(Activity.Current, activity)) return;
        while (previous is { IsStopped: true })
            previous = ReferenceEquals(previous.Source, Source) ? TimingAmbient.PastStoppedTimingSpans(previous) : previous.Parent;
        Activity.Current = previous;
    }

    /// <summary>Stops a span that <see cref="EndActivity"/> has ended.</summary>
    /// <param name="activity">A span from <see cref="StartActivity"/>.</param>
    public static void StopActivity(Activity activity)
    {
        var before = Activity.Current;
        // Activity.Current cannot be set back to a stopped span (a request's, current in work handed on from it): the
        // flow as it was is put back instead.
        var flowBefore = before is { IsStopped: true } && !ReferenceEquals(before, activity) ? ExecutionContext.Capture() : null;
        try
        {
            activity.Stop();
        }
        catch (Exception ex)
        {
            ReportListenerFault(ex);
            // Stopping hands the current span back to the parent after the listeners ran; a listener that threw
            // skipped that.
            if (ReferenceEquals(Activity.Current, activity)) Activity.Current = activity.Parent;
        }
        var current = Activity.Current;
        if (!ReferenceEquals(before, activity))
        {
            // Stop() makes the stopped span's parent current in the calling flow even where another span is current
            // there: a consumer ending a stage or pipeline handed to it, or stages ended out of order. That span stays.
            if (ReferenceEquals(current, before)) return;
            if (flowBefore is not null) ExecutionContext.Restore(flowBefore);
            else if (before is not { IsStopped: true }) Activity.Current = before;
            return;
        }
        // It hands back the span that was current when this one started: a stage of this package's that has stopped
        // since (stages ended out of order, the outer one first) is passed over for its nearest running parent, so that
        // later events do not name a span that has ended.
        // One started under its parent given as a context has no Parent: its timer, in this flow's frames, knows what was
        // current before it.
        var running = TimingAmbient.PastStoppedTimingSpans(current);
        if (!ReferenceEquals(running, current)) Activity.Current = running;
    }

    static void ReportListenerFault(Exception exception) =>
        TimingReports.Listener.WriteLine("{1}: a metrics or tracing listener threw; the measurement is lost ({0} more since the last report): {2}", Name, exception);

    static void EndActivityCore(Activity activity, TimingOutcome outcome, Exception? exception, TimeSpan elapsed, bool recordMessage)
    {
        // The span lasts what the event and the metric say, on the same clock it started on. Stop() takes a zero
        // duration for "not set" and would measure one on the system clock: one tick is the shortest it keeps.
        activity.SetEndTime(activity.StartTimeUtc + (elapsed > TimeSpan.Zero ? elapsed : TimeSpan.FromTicks(1)));
        // A span sampled out to propagation only (OpenTelemetry's answer for every span its sampler drops) is never
        // recorded: outcome, status and above all the exception's formatted stack trace would be work for nobody.
        if (!activity.IsAllDataRequested) return;
        // The outcome tag tells an abandoned run (written at Warning) from a completed one; its status stays Unset, since
        // OpenTelemetry keeps Error for failures and a run left unfinished (or disposed as Abandoned by choice) is not one.
        activity.SetTag("outcome", OutcomeName(outcome));
        if (exception is not null)
        {
            // A span goes to a tracing exporter that no redaction reads, and an exception's message is where a secret is
            // most often quoted (a connection string, a URL, a response body): unless the user opted in, the span gets the
            // types and stack frames only. The failed run's Error event, written under this span, carries the exception
            // through the logger's sinks.
            // Past the bounds the text is walked without recursion: Exception.ToString() recurses once per inner exception
            // and writes a shared one once per path to it, so it would overflow the stack or take exponential time.
            var small = BoundedExceptionText.IsSmall(exception);
            if (!small)
                LargeExceptionReport.WriteLine("{1}: a failure with more than {2} inner exceptions, or chained deeper than Exception.ToString() is safe for, was written to its span in part ({0} more since the last report)",
                    Name, BoundedExceptionText.MaxExceptions);
            var type = exception.GetType().FullName ?? exception.GetType().Name;
            // OpenTelemetry's exception event convention (exception.message is optional beside exception.type, and
            // exception.stacktrace is the runtime's natural text, ToString() in .NET); Activity.AddException exists only from .NET 9.
            var tags = new ActivityTagsCollection { { "exception.type", type } };
            var description = type;
            if (recordMessage)
            {
                var message = Message(exception, small);
                tags.Add("exception.message", message);
                tags.Add("exception.stacktrace", small ? FullText(exception) : BoundedExceptionText.Walk(exception, small: false, Name));
                if (message.Length > 0) description = message;
            }
            else
            {
                tags.Add("exception.stacktrace", BoundedExceptionText.Walk(exception, small, Name, messages: false));
            }
            activity.AddEvent(new ActivityEvent("exception", tags: tags));
            activity.SetStatus(ActivityStatusCode.Error, description);
        }
    }

    /// <summary>The exception's message (an aggregate of a large tree's is not read), or a placeholder where it throws.</summary>
    static string Message(Exception exception, bool small)
    {
        try
        {
            return BoundedExceptionText.Message(exception, small) ?? ""; // an override may return null
        }
        catch (Exception ex)
        {
            TimingReports.SpanMessage.WriteLine("{1}: the failure's Message threw, so its span got a placeholder ({0} more since the last report): {2}", Name, ex);
            return "<" + exception.GetType().Name + ".Message failed>";
        }
    }

    /// <summary>
    /// <see cref="Exception.ToString()"/> of a small tree; where that throws (an override, or a member of the exception or
    /// of an inner one), the tree as far as it can be read, in the same shape, with a placeholder saying so.
    /// </summary>
    static string FullText(Exception exception)
    {
        try
        {
            return exception.ToString();
        }
        catch (Exception ex)
        {
            TimingReports.SpanText.WriteLine("{1}: the failure's ToString() threw, so its span got the text as far as it could be read ({0} more since the last report): {2}", Name, ex);
            return BoundedExceptionText.Walk(exception, small: true, Name) + "\n<" + exception.GetType().Name + ".ToString() failed>";
        }
    }

    static readonly SelfLogThrottle LargeExceptionReport = new();
}
