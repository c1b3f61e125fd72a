using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Serilog.Events;
using Serilog.Extensions.Observability.Timing.Internal;
using Serilog.Extensions.Observability.Timing.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests.Internal;

/// <summary>Listeners are process-wide: these tests do not run beside others.</summary>
[NonParallelizable]
public class TimingDiagnosticsTests
{
    const string SourceName = "Serilog.Extensions.Observability.Timing";

    sealed record Measurement(string Instrument, string? Unit, double Value, IReadOnlyDictionary<string, object?> Tags);

    static MeterListener ListenToMeasurements(List<Measurement> measurements)
    {
        var listener = new MeterListener
        {
            // On .NET 8 Dispose stops the measurements only when MeasurementsCompleted is set (dotnet/runtime#102465, fixed
            // in .NET 9): without it a disposed listener would go on receiving, or failing, the next test's measurements.
            MeasurementsCompleted = (_, _) => { },
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SourceName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            var copy = new Dictionary<string, object?>();
            foreach (var tag in tags) copy[tag.Key] = tag.Value;
            lock (measurements) measurements.Add(new Measurement(instrument.Name, instrument.Unit, value, copy));
        });
        listener.Start();
        return listener;
    }

    static ActivityListener ListenToActivities(List<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (stopped) stopped.Add(activity); },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    [Test]
    public void TheMeterAndActivitySourceCarryThePackageVersionWithoutItsCommit()
    {
        // OpenTelemetry exports these as the instrumentation scope's version: the package's (0.1.0, 1.2.0-beta.1),
        // not the assembly version (0.1.0.0), and without the "+commit" build metadata the SDK appends.
        var informational = typeof(PipelineTimer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var plus = informational.IndexOf('+');
        var expected = plus < 0 ? informational : informational[..plus];

        Assert.That(TimingDiagnostics.Source!.Version, Is.EqualTo(expected));
        Assert.That(TimingDiagnostics.StageDuration!.Meter.Version, Is.EqualTo(expected));
    }

    [TestCase("1.2.0-beta.1+5781c1b651a7f327d9c2971f3fd91572a6c1bc7e", "1.2.0-beta.1")]
    [TestCase("1.2.0", "1.2.0")]
    [TestCase("", "0.1.0.0")]
    [TestCase(null, "0.1.0.0")]
    public void TheVersionIsTheInformationalVersionWithoutBuildMetadataElseTheAssemblyVersion(string? informational, string expected) =>
        Assert.That(TimingDiagnostics.PackageVersion(informational, new Version(0, 1, 0, 0)), Is.EqualTo(expected));

    [Test]
    public void ListenersThatThrowCostTheMeasurementNeverTheStageOrItsEvents()
    {
        Serilog.Extensions.Observability.Timing.Internal.TimingReports.ResetAll();
        using var log = new TimedLog();
        var reports = new List<string>();
        Serilog.Debugging.SelfLog.Enable(m => { lock (reports) reports.Add(m); });
        using var meters = new MeterListener
        {
            // On .NET 8 Dispose stops the measurements only when MeasurementsCompleted is set (dotnet/runtime#102465, fixed
            // in .NET 9): without it a disposed listener would go on receiving, or failing, the next test's measurements.
            MeasurementsCompleted = (_, _) => { },
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SourceName) l.EnableMeasurementEvents(instrument);
            },
        };
        meters.SetMeasurementEventCallback<double>((_, _, _, _) => throw new InvalidOperationException("meter listener"));
        meters.Start();
        var throwOn = "start";
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = _ => { if (throwOn == "start") throw new InvalidOperationException("activity started"); },
            ActivityStopped = _ => { if (throwOn == "stop") throw new InvalidOperationException("activity stopped"); },
        };
        ActivitySource.AddActivityListener(activities);
        try
        {
            Assert.DoesNotThrow(() =>
            {
                using var pipeline = log.Begin("listeners-throw");
                using (pipeline.Stage("stt")) log.Advance(10);
                throwOn = "stop";
                using (pipeline.Stage("llm")) log.Advance(20);
                pipeline.Complete();
            });
        }
        finally
        {
            Serilog.Debugging.SelfLog.Disable();
        }

        Assert.That(log.StageEvents.Select(e => e.Scalar("Stage")), Is.EqualTo(new[] { "stt", "llm" }));
        Assert.That(log.Summary.StagesProperty().Select(p => p.Key), Is.EqualTo(new[] { "stt", "llm" }));
        Assert.That(reports, Has.Some.Contains("a metrics or tracing listener threw"));
    }

    [Test]
    public void AMeterListenerSeesStageAndPipelineDurationsInSecondsWithTheirTags()
    {
        var measurements = new List<Measurement>();
        using var log = new TimedLog();
        var name = "metered-" + Guid.NewGuid().ToString("n");
        using (ListenToMeasurements(measurements))
        {
            using var pipeline = log.Begin(name);
            using (pipeline.Stage("stt")) log.Advance(150);
            var llm = pipeline.Stage("llm");
            log.Advance(700);
            llm.Fail(new Exception("down"));
            pipeline.Complete();
        }

        var mine = measurements.Where(m => Equals(m.Tags["pipeline"], name)).ToArray();
        Assert.That(mine.Select(m => (m.Instrument, m.Unit, m.Value, Stage: m.Tags.GetValueOrDefault("stage"), Outcome: m.Tags["outcome"])), Is.EqualTo(new[]
        {
            ("pipeline.stage.duration", (string?)"s", 0.15, (object?)"stt", (object?)"completed"),
            ("pipeline.stage.duration", "s", 0.7, "llm", "failed"),
            ("pipeline.duration", "s", 0.85, null, "completed"),
        }));
    }

    [Test]
    public void PastTheLimitNewPipelineAndStageNamesAreRecordedAsOtherSoTheTagsStayBounded()
    {
        // Names carrying ids (a pipeline per import, a stage per message) would give an exporter a series per name.
        const int pipelineLimit = 100, stageLimit = 500;
        TimingDiagnostics.PipelineTag.Reset();
        TimingDiagnostics.StageTag.Reset();
        var pipelines = new HashSet<object?>();
        var stages = new HashSet<object?>();
        var selfLog = new List<string>();
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        using var listener = new MeterListener
        {
            // On .NET 8 Dispose stops the measurements only when MeasurementsCompleted is set (dotnet/runtime#102465, fixed
            // in .NET 9): without it a disposed listener would go on receiving, or failing, the next test's measurements.
            MeasurementsCompleted = (_, _) => { },
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SourceName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "pipeline") pipelines.Add(tag.Value);
                else if (tag.Key == "stage") stages.Add(tag.Value);
            }
        });
        listener.Start();
        try
        {
            using (Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog))
            {
                for (var i = 0; i < 100_000; i++)
                {
                    using var pipeline = log.Begin("import-" + i);
                    using (pipeline.Stage("doc-" + i)) { }
                }
            }
        }
        finally
        {
            TimingDiagnostics.PipelineTag.Reset();
            TimingDiagnostics.StageTag.Reset();
        }

        Assert.That(pipelines, Has.Count.LessThanOrEqualTo(pipelineLimit + 1));
        Assert.That(stages, Has.Count.LessThanOrEqualTo(stageLimit + 1));
        Assert.That(pipelines, Does.Contain("import-0").And.Contain("import-99").And.Contain("other"));
        Assert.That(stages, Does.Contain("doc-499").And.Contain("other"));
        Assert.That(selfLog.Count(m => m.Contains("the metric tag pipeline")), Is.EqualTo(1));
        Assert.That(selfLog.Count(m => m.Contains("the metric tag stage")), Is.EqualTo(1));
    }

    [Test]
    public void LongNamesAreRecordedAsOtherSoTheTagsKeepNoLongText()
    {
        // A name built from data (a prompt, a document title) would otherwise be kept for the life of the process: the
        // count limit alone lets 500 such names pin megabytes.
        var tag = new MetricTagValues("stage", 500);
        var selfLog = new List<string>();
        var longName = new string('x', 10_000);
        using (Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog))
        {
            for (var i = 0; i < 100_000; i++)
            {
                var name = i < 1_000 ? longName + i : "doc-" + i;
                var mapped = tag.Map(name);
                if (name.Length > MetricTagValues.MaxValueLength) Assert.That(mapped, Is.EqualTo(MetricTagValues.Other));
            }
        }

        Assert.That(tag.RetainedCharacters, Is.LessThanOrEqualTo((long)tag.Limit * MetricTagValues.MaxValueLength));
        Assert.That(tag.Map("doc-1000"), Is.EqualTo("doc-1000"), "short names still take the free places");
        Assert.That(tag.Map(new string('y', MetricTagValues.MaxValueLength)), Is.EqualTo(MetricTagValues.Other), "the places are taken by now");
        Assert.That(selfLog.Count(m => m.Contains("longer than")), Is.EqualTo(1));
    }

    [Test]
    public void AnActivityListenerSeesThePipelineAsAChildOfTheCurrentSpanAndEachStageAsItsChild()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        using var request = new Activity("request").Start();

        string pipelineId;
        using (var pipeline = log.Begin("voice-turn"))
        {
            pipelineId = pipeline.Id;
            using (pipeline.Stage("stt")) log.Logger.Information("Inside stt");
            using (pipeline.Stage("ingest"))
            using (pipeline.Stage("parse")) log.Logger.Information("Inside parse");
        }
        Assert.That(Activity.Current, Is.SameAs(request));

        var pipelineSpan = stopped.Single(a => a.OperationName == "voice-turn");
        var stt = stopped.Single(a => a.OperationName == "stt");
        var ingest = stopped.Single(a => a.OperationName == "ingest");
        var parse = stopped.Single(a => a.OperationName == "ingest/parse");

        Assert.That(pipelineSpan.TraceId, Is.EqualTo(request.TraceId));
        Assert.That(pipelineSpan.ParentSpanId, Is.EqualTo(request.SpanId));
        Assert.That(stt.ParentSpanId, Is.EqualTo(pipelineSpan.SpanId));
        Assert.That(ingest.ParentSpanId, Is.EqualTo(pipelineSpan.SpanId));
        Assert.That(parse.ParentSpanId, Is.EqualTo(ingest.SpanId));
        Assert.That(pipelineId, Is.EqualTo(pipelineSpan.SpanId.ToHexString()));
        Assert.That(stt.GetTagItem("pipeline"), Is.EqualTo("voice-turn"));
        Assert.That(stt.GetTagItem("stage"), Is.EqualTo("stt"));
        Assert.That(stt.GetTagItem("outcome"), Is.EqualTo("completed"));
        Assert.That(pipelineSpan.Source.Name, Is.EqualTo(SourceName));

        // The span id on each log event is its stage's span.
        Assert.That(log.Single("Inside stt").SpanId, Is.EqualTo(stt.SpanId));
        Assert.That(log.Single("Inside stt").TraceId, Is.EqualTo(request.TraceId));
        Assert.That(log.Single("Inside parse").SpanId, Is.EqualTo(parse.SpanId));
        Assert.That(log.StageEvent("stt").SpanId, Is.EqualTo(stt.SpanId));
        Assert.That(log.Summary.SpanId, Is.EqualTo(pipelineSpan.SpanId));
    }

    [Test]
    public async Task AConsumerThatEndsAnotherFlowsStageAndPipelineKeepsItsOwnSpanCurrent()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        using var request = new Activity("request").Start();
        var pipeline = log.Begin("voice-turn");
        var stage = pipeline.Stage("tts");
        Activity? afterStage = null, afterPipeline = null;

        // A channel consumer, running in its own span, completes the stage and the pipeline handed to it.
        await Task.Run(() =>
        {
            Activity.Current = null;
            using var consumer = new Activity("consumer").Start();
            stage.Complete();
            afterStage = Activity.Current;
            pipeline.Complete();
            afterPipeline = Activity.Current;
            log.Logger.Information("Consumed");
        }).WaitAsync(TimeSpan.FromSeconds(10));
        stage.Dispose();
        pipeline.Dispose();

        Assert.That(afterStage?.OperationName, Is.EqualTo("consumer"));
        Assert.That(afterPipeline?.OperationName, Is.EqualTo("consumer"));
        Assert.That(log.Single("Consumed").SpanId, Is.EqualTo(afterPipeline!.SpanId));
        Assert.That(Activity.Current, Is.SameAs(request));
        Assert.That(stopped.Select(a => a.OperationName), Is.EquivalentTo(new[] { "tts", "voice-turn" }));
    }

    [Test]
    public void AConsumerWhoseOwnSpanHasStoppedKeepsItCurrentWhenItEndsAnotherFlowsStage()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        var pipeline = log.Begin("voice-turn");
        var stage = pipeline.Stage("tts");
        Activity? handedOn = null, afterStage = null, afterPipeline = null;

        // Work handed on from a request that has ended since: the request's span, stopped, is current in it (Activity.Current
        // cannot be set to a stopped span, so the stopped stage's parent must not be left current there).
        Flow.Isolated(() =>
        {
            Activity.Current = null;
            var request = new Activity("request").Start();
            var handedOnWork = ExecutionContext.Capture()!;
            request.Stop();
            ExecutionContext.Run(handedOnWork, _ =>
            {
                handedOn = Activity.Current;
                stage.Complete();
                afterStage = Activity.Current;
                pipeline.Complete();
                afterPipeline = Activity.Current;
            }, null);
        });
        stage.Dispose();
        pipeline.Dispose();

        Assert.That(handedOn?.OperationName, Is.EqualTo("request"));
        Assert.That(afterStage?.OperationName, Is.EqualTo("request"));
        Assert.That(afterPipeline?.OperationName, Is.EqualTo("request"));
    }

    [Test]
    public void AStageEndedWhileAnotherLibrarysSpanBegunInsideItRunsLeavesThatSpanCurrent()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        Activity? afterStage = null;

        Flow.Isolated(() =>
        {
            using var pipeline = log.Begin("p");
            var stage = pipeline.Stage("call");
            // Another library's span (an HttpClient call's) begun inside the stage, still running as the stage ends.
            var client = new Activity("http-client").Start();
            stage.Dispose();
            afterStage = Activity.Current;
            log.Logger.Information("Call still running");
            client.Stop();
        });

        Assert.That(afterStage?.OperationName, Is.EqualTo("http-client"));
        Assert.That(log.Single("Call still running").SpanId, Is.EqualTo(afterStage!.SpanId));
        Assert.That(log.Single("Call still running").Properties.Keys, Does.Contain("Pipeline").And.Not.Contain("Stage"));
        Assert.That(stopped.Select(a => a.OperationName), Is.EquivalentTo(new[] { "call", "p" }));
    }

    [Test]
    public void StagesEndedOutOfOrderLeaveThePipelinesSpanAndTimingCurrent()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        using var request = new Activity("request").Start();

        Flow.Isolated(() =>
        {
            using (var pipeline = log.Begin("p"))
            {
                var outer = pipeline.Stage("outer");
                var inner = pipeline.Stage("inner");
                outer.Dispose();   // out of order: the inner stage is still running
                log.Logger.Information("Inner still running");
                inner.Dispose();
                log.Logger.Information("Both ended");
                Assert.That(Activity.Current?.OperationName, Is.EqualTo("p"));
            }
            Assert.That(Activity.Current, Is.SameAs(request));
        });

        var inner = stopped.Single(a => a.OperationName == "outer/inner");
        var pipelineSpan = stopped.Single(a => a.OperationName == "p");
        Assert.That(log.Single("Inner still running").SpanId, Is.EqualTo(inner.SpanId));
        Assert.That(log.Single("Inner still running").Scalar("Stage"), Is.EqualTo("outer/inner"));
        Assert.That(log.Single("Both ended").SpanId, Is.EqualTo(pipelineSpan.SpanId));
        Assert.That(log.Single("Both ended").Properties.Keys, Does.Contain("Pipeline").And.Not.Contain("Stage"));
    }

    [Test]
    public void AFailedStageSpanHasErrorStatusAndAnExceptionEvent()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);

        using (var pipeline = log.Begin("failing"))
            pipeline.Stage("llm").Fail(new InvalidOperationException("model unavailable"));

        var llm = stopped.Single(a => a.OperationName == "llm");
        Assert.That(llm.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(llm.StatusDescription, Is.EqualTo(typeof(InvalidOperationException).FullName));
        var exception = llm.Events.Single(e => e.Name == "exception");
        Assert.That(exception.Tags.Single(t => t.Key == "exception.type").Value, Is.EqualTo(typeof(InvalidOperationException).FullName));
        Assert.That(llm.GetTagItem("outcome"), Is.EqualTo("failed"));
    }

    static Exception Thrown(Exception exception)
    {
        try { throw exception; }
        catch (Exception caught) { return caught; }
    }

    [Test]
    public void AFailedSpanHasTheExceptionsTypesAndStackFramesButNoMessageWhereASecretCouldBeQuoted()
    {
        // No redaction reads a span: a password quoted in an exception's message reached every trace exporter.
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);

        using (var pipeline = log.Begin("connecting"))
        {
            pipeline.Stage("open").Fail(Thrown(new InvalidOperationException("Login failed", new IOException("Server=db;Password=hunter2"))));
            pipeline.Fail(Thrown(new AggregateException(new InvalidOperationException("access_token=hunter3"))));
        }

        var texts = stopped.SelectMany(a => a.Events.SelectMany(e => e.Tags).Select(t => t.Value?.ToString()).Append(a.StatusDescription)).ToList();
        Assert.That(texts, Has.None.Contain("hunter2").And.None.Contain("hunter3").And.None.Contain("Login failed"));
        var open = stopped.Single(a => a.OperationName == "open").Events.Single(e => e.Name == "exception").Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.That(open.ContainsKey("exception.message"), Is.False);
        Assert.That(open["exception.stacktrace"], Does.StartWith(typeof(InvalidOperationException).FullName + "\n ---> " + typeof(IOException).FullName)
            .And.Contain(nameof(Thrown)), "the types of the chain and their frames");
        Assert.That(log.StageEvent("open").Exception!.ToString(), Does.Contain("hunter2"), "the event keeps the exception, for the logger's redaction to mask");
    }

    [Test]
    public void WithRecordExceptionMessageOnSpansAFailedSpanHasTheMessageAsItsStatusAndInItsExceptionEventWithToStringAsItsStackTrace()
    {
        // The opt-in gives tracing users back what OpenTelemetry's exception convention records: exception.message, and
        // exception.stacktrace as the runtime's natural representation (ToString()), with the message as the status description.
        var stopped = new List<Activity>();
        using var log = new TimedLog(o => o.RecordExceptionMessageOnSpans = true);
        using var listener = ListenToActivities(stopped);
        var stageFailure = Thrown(new InvalidOperationException("Login failed", new IOException("Server=db;Password=hunter2")));
        var pipelineFailure = Thrown(new TimeoutException("the model did not answer"));

        using (var pipeline = log.Begin("connecting"))
        {
            pipeline.Stage("open").Fail(stageFailure);
            pipeline.Fail(pipelineFailure);
        }

        var open = stopped.Single(a => a.OperationName == "open");
        Assert.That(open.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(open.StatusDescription, Is.EqualTo("Login failed"));
        var tags = open.Events.Single(e => e.Name == "exception").Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.That(tags["exception.type"], Is.EqualTo(typeof(InvalidOperationException).FullName));
        Assert.That(tags["exception.message"], Is.EqualTo("Login failed"));
        Assert.That(tags["exception.stacktrace"], Is.EqualTo(stageFailure.ToString()), "inner exceptions' messages included, as ToString() writes them");
        var connecting = stopped.Single(a => a.OperationName == "connecting");
        Assert.That(connecting.StatusDescription, Is.EqualTo("the model did not answer"));
        Assert.That(connecting.Events.Single(e => e.Name == "exception").Tags.Single(t => t.Key == "exception.message").Value, Is.EqualTo("the model did not answer"));
    }

    [Test]
    public void WithRecordExceptionMessageOnSpansAMessageThatThrowsBecomesAPlaceholderAndTheSpanIsStillAnError()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog(o => o.RecordExceptionMessageOnSpans = true);
        using var listener = ListenToActivities(stopped);
        var reports = new List<string>();
        using var selfLog = TemporarySelfLog.SaveTo(reports);

        using (var pipeline = log.Begin("unreadable"))
            pipeline.Stage("parse").Fail(new UnreadableException());

        var parse = stopped.Single(a => a.OperationName == "parse");
        Assert.That(parse.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(parse.StatusDescription, Is.EqualTo("<UnreadableException.Message failed>"));
        var tags = parse.Events.Single(e => e.Name == "exception").Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.That(tags["exception.type"], Is.EqualTo(typeof(UnreadableException).FullName));
        Assert.That(tags["exception.message"], Is.EqualTo("<UnreadableException.Message failed>"));
        Assert.That(tags["exception.stacktrace"], Does.StartWith(typeof(UnreadableException).FullName + ": <UnreadableException.Message failed>"),
            "ToString() threw: the exception is written as far as it can be read");
        Assert.That(reports, Has.Some.Contain("Message"));
        Assert.That(log.StageEvent("parse").Level, Is.EqualTo(LogEventLevel.Error));
    }

    sealed class UnreadableException : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
    }

    [Test]
    public void AStageFailedByAnExceptionWhoseTextThrowsStillHasErrorStatusAndAnExceptionEventWithItsType()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);

        using (var pipeline = log.Begin("unreadable"))
            pipeline.Stage("parse").Fail(new UnreadableException());

        var parse = stopped.Single(a => a.OperationName == "parse");
        Assert.That(parse.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(parse.GetTagItem("outcome"), Is.EqualTo("failed"));
        var exception = parse.Events.Single(e => e.Name == "exception");
        Assert.That(exception.Tags.Single(t => t.Key == "exception.type").Value, Is.EqualTo(typeof(UnreadableException).FullName));
        Assert.That(log.StageEvent("parse").Exception, Is.TypeOf<UnreadableException>());
        Assert.That(log.StageEvent("parse").Level, Is.EqualTo(LogEventLevel.Error));
    }

    [Test]
    public void AStageFailedByAnExceptionChainedDeeperThanAnyRealOneDoesNotRenderItThroughTheRecursiveExceptionToString()
    {
        // Exception.ToString() calls InnerException.ToString(), one frame per link: a chain built by a retry loop that
        // wraps the last failure each time overflows the stack, which kills the process. 2,000 links fit any stack.
        var probe = new ExceptionFrameProbe();
        Exception exception = probe;
        for (var i = 0; i < 2_000; i++) exception = new InvalidOperationException("retry " + i, exception);
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);

        using (var pipeline = log.Begin("retrying"))
            pipeline.Stage("llm").Fail(exception);

        var llm = stopped.Single(a => a.OperationName == "llm");
        Assert.That(llm.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(llm.Events.Single(e => e.Name == "exception").Tags.Single(t => t.Key == "exception.stacktrace").Value, Does.EndWith(" ---> ..."));
        Assert.That(probe.DeepestFrames, Is.LessThan(1_000), "the chain's text was built one frame per link");
    }

    [Test]
    public void ASamplerSeesThePipelineAndStageAmongTheTagsItDecidesOn()
    {
        // OpenTelemetry samplers decide from ActivityCreationOptions (name, parent, tags) before the span exists:
        // tags set after the start come too late to keep one pipeline's traces or drop a noisy stage.
        var seen = new List<(string Name, Dictionary<string, object?> Tags)>();
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
            {
                var tags = new Dictionary<string, object?>();
                foreach (var tag in options.Tags ?? []) tags[tag.Key] = tag.Value;
                lock (seen) seen.Add((options.Name, tags));
                return ActivitySamplingResult.AllDataAndRecorded;
            },
            ActivityStopped = activity => { lock (stopped) stopped.Add(activity); },
        };
        ActivitySource.AddActivityListener(listener);

        string pipelineId;
        using (var pipeline = log.Begin("voice-turn"))
        {
            pipelineId = pipeline.Id;
            using (pipeline.Stage("ingest"))
            using (pipeline.Stage("parse")) { }
        }

        Assert.That(seen.Select(s => s.Name), Is.EqualTo(new[] { "voice-turn", "ingest", "ingest/parse" }));
        Assert.That(seen[0].Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["pipeline"] = "voice-turn" }),
            "the pipeline's id is its span's id, which does not exist before the sampler decides");
        Assert.That(seen[1].Tags, Is.EquivalentTo(new Dictionary<string, object?>
        {
            ["pipeline"] = "voice-turn", ["pipeline.id"] = pipelineId, ["stage"] = "ingest",
        }));
        Assert.That(seen[2].Tags["stage"], Is.EqualTo("ingest/parse"));
        // The recorded spans carry them as before, each once.
        var pipelineSpan = stopped.Single(a => a.OperationName == "voice-turn");
        Assert.That(pipelineSpan.TagObjects.Select(t => t.Key), Is.EquivalentTo(new[] { "pipeline", "pipeline.id", "outcome" }));
        Assert.That(pipelineSpan.GetTagItem("pipeline.id"), Is.EqualTo(pipelineId));
        var parse = stopped.Single(a => a.OperationName == "ingest/parse");
        Assert.That(parse.TagObjects.Select(t => t.Key), Is.EquivalentTo(new[] { "pipeline", "pipeline.id", "stage", "outcome" }));
    }

    [Test]
    public void SpansStartAndEndOnThePipelinesClockSoTheyLastWhatTheEventsAndMetricsSay()
    {
        var stopped = new List<Activity>();
        var measurements = new List<Measurement>();
        using var log = new TimedLog();
        var begun = log.Clock.GetUtcNow();
        using (ListenToActivities(stopped))
        using (ListenToMeasurements(measurements))
        {
            using var pipeline = log.Begin("clocked");
            log.Advance(40);
            using (pipeline.Stage("stt")) log.Advance(150);
            using (pipeline.Stage("llm")) log.Advance(700.25);
            log.Advance(10);
        }

        var pipelineSpan = stopped.Single(a => a.OperationName == "clocked");
        var stt = stopped.Single(a => a.OperationName == "stt");
        var llm = stopped.Single(a => a.OperationName == "llm");
        Assert.That(pipelineSpan.StartTimeUtc, Is.EqualTo(begun.UtcDateTime));
        Assert.That(stt.StartTimeUtc, Is.EqualTo(begun.UtcDateTime.AddMilliseconds(40)));
        Assert.That(llm.StartTimeUtc, Is.EqualTo(begun.UtcDateTime.AddMilliseconds(190)));
        Assert.That(new[] { stt.Duration, llm.Duration, pipelineSpan.Duration }, Is.EqualTo(new[]
        {
            TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(700.25), TimeSpan.FromMilliseconds(900.25),
        }));

        Assert.That(stt.Duration.TotalMilliseconds, Is.EqualTo(log.StageEvent("stt").Scalar("ElapsedMs")));
        Assert.That(llm.Duration.TotalMilliseconds, Is.EqualTo(log.StageEvent("llm").Scalar("ElapsedMs")));
        Assert.That(pipelineSpan.Duration.TotalMilliseconds, Is.EqualTo(log.Summary.Scalar("ElapsedMs")));
        var mine = measurements.Where(m => Equals(m.Tags["pipeline"], "clocked")).ToArray();
        Assert.That(mine.Select(m => m.Value), Is.EqualTo(new[]
        {
            stt.Duration.TotalSeconds, llm.Duration.TotalSeconds, pipelineSpan.Duration.TotalSeconds,
        }));
    }

    // NTP steps the wall clock back an hour during one stage and forward two during the next: every duration (event,
    // metric, span) comes from the monotonic clock, never from the difference of two wall-clock readings.
    [Test]
    public void DurationsIgnoreWallClockStepsBackAndForward()
    {
        var stopped = new List<Activity>();
        var measurements = new List<Measurement>();
        using var log = new TimedLog();
        using (ListenToActivities(stopped))
        using (ListenToMeasurements(measurements))
        {
            using var pipeline = log.Begin("stepped");
            using (pipeline.Stage("stt"))
            {
                log.Advance(100);
                log.Clock.StepWallClock(TimeSpan.FromHours(-1));
                log.Advance(50);
            }
            using (pipeline.Stage("llm"))
            {
                log.Advance(200);
                log.Clock.StepWallClock(TimeSpan.FromHours(2));
                log.Advance(100);
            }
        }

        Assert.That(log.StageEvent("stt").Scalar("ElapsedMs"), Is.EqualTo(150.0));
        Assert.That(log.StageEvent("llm").Scalar("ElapsedMs"), Is.EqualTo(300.0));
        Assert.That(log.Summary.Scalar("ElapsedMs"), Is.EqualTo(450.0));
        var spans = stopped.Where(a => a.OperationName is "stt" or "llm" or "stepped").OrderBy(a => a.OperationName).ToArray();
        Assert.That(spans.Select(a => a.Duration), Is.EqualTo(new[]
        {
            TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(450), TimeSpan.FromMilliseconds(150),
        }));
        var mine = measurements.Where(m => Equals(m.Tags["pipeline"], "stepped")).Select(m => m.Value).ToArray();
        Assert.That(mine, Is.EqualTo(new[] { 0.15, 0.3, 0.45 }));
    }

    [Test]
    public void ASpanThatTookNoTimeOnThePipelinesClockStillEndsOnThatClock()
    {
        // Activity.Stop takes a zero duration for "not set" and measures one on the system clock, hours away from a
        // test's clock: the shortest duration a span keeps is one tick.
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        var begun = log.Clock.GetUtcNow();
        using (ListenToActivities(stopped))
        using (var pipeline = log.Begin("instant"))
        using (pipeline.Stage("noop")) { }

        Assert.That(stopped.Select(a => a.OperationName), Is.EquivalentTo(new[] { "instant", "noop" }));
        Assert.That(stopped.Select(a => (a.StartTimeUtc, a.Duration)), Is.All.EqualTo((begun.UtcDateTime, TimeSpan.FromTicks(1))));
    }

    [Test]
    public void AnAbandonedStageOrPipelineSpanIsNotAnErrorAndSaysItWasAbandoned()
    {
        // Abandoned is written at Warning, failed at Error; OpenTelemetry keeps the Error status for failures.
        var stopped = new List<Activity>();
        using var log = new TimedLog(o => o.DisposeOutcome = TimingOutcome.Abandoned);
        using var listener = ListenToActivities(stopped);

        using (var pipeline = log.Begin("left-open"))
            pipeline.Stage("llm"); // never ended: the pipeline's end abandons it; the pipeline is disposed without Complete()

        Assert.That(stopped.Select(a => (a.OperationName, a.Status, a.StatusDescription, a.GetTagItem("outcome"))), Is.EquivalentTo(new[]
        {
            ("llm", ActivityStatusCode.Unset, (string?)null, (object?)"abandoned"),
            ("left-open", ActivityStatusCode.Unset, null, "abandoned"),
        }));
    }

    sealed class CountingException(string message) : Exception(message)
    {
        public int ToStringCalls;

        public override string ToString()
        {
            Interlocked.Increment(ref ToStringCalls);
            return base.ToString();
        }
    }

    [Test]
    public void ASpanASamplerDroppedToPropagationOnlyIsNotPopulated()
    {
        // OpenTelemetry's SDK answers PropagationData for every span its sampler drops: the span keeps the trace
        // going but is never exported, so tags, the exception event (a formatted stack trace) and status are waste.
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            ActivityStopped = activity => { lock (stopped) stopped.Add(activity); },
        };
        ActivitySource.AddActivityListener(listener);
        var failure = new CountingException("model unavailable");

        using (var pipeline = log.Begin("sampled-out"))
        {
            pipeline.Stage("llm").Fail(failure);
            pipeline.Fail(failure);
        }

        Assert.That(stopped.Select(a => a.OperationName), Is.EquivalentTo(new[] { "sampled-out", "llm" }));
        Assert.That(stopped.Select(a => a.IsAllDataRequested), Is.All.False);
        // Only the tags the sampler decided on, which the runtime keeps on every span it creates: nothing added after.
        Assert.That(stopped.SelectMany(a => a.TagObjects).Select(t => t.Key), Is.EquivalentTo(new[] { "pipeline", "pipeline", "pipeline.id", "stage" }));
        Assert.That(stopped.Select(a => a.Status), Is.All.EqualTo(ActivityStatusCode.Unset));
        Assert.That(stopped.SelectMany(a => a.Events), Is.Empty);
        Assert.That(failure.ToStringCalls, Is.Zero, "the exception was formatted for a span nobody records");
        // The events still join the trace through the unrecorded spans.
        Assert.That(log.StageEvent("llm").SpanId, Is.EqualTo(stopped.Single(a => a.OperationName == "llm").SpanId));
    }

    [Test]
    public void UnderAHierarchicalSpanEachPipelineGetsADistinctIdThatIsNotZero()
    {
        // A hierarchical span ("|root.1.") has no span id (all zeros): its pipelines' spans, hierarchical too, neither.
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        // The OpenTelemetry SDK, once loaded (OpenTelemetryExportTests), forces W3C ids on every span.
        var force = Activity.ForceDefaultIdFormat;
        IReadOnlyList<string> ids;
        try
        {
            Activity.ForceDefaultIdFormat = false;
            using var request = new Activity("request").SetIdFormat(ActivityIdFormat.Hierarchical).Start();
            ids = BeginAndCompletePipelines(log, 3);
        }
        finally
        {
            Activity.ForceDefaultIdFormat = force;
        }

        Assert.That(stopped.Select(s => s.IdFormat), Is.All.EqualTo(ActivityIdFormat.Hierarchical), "the pipelines' spans are hierarchical");
        AssertDistinctRandomIds(ids, log, stopped);
    }

    [Test]
    public void WithHierarchicalIdsForcedAsTheDefaultEachPipelineGetsADistinctIdThatIsNotZero()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        var (format, force) = (Activity.DefaultIdFormat, Activity.ForceDefaultIdFormat);
        IReadOnlyList<string> ids;
        try
        {
            Activity.DefaultIdFormat = ActivityIdFormat.Hierarchical;
            Activity.ForceDefaultIdFormat = true;
            ids = BeginAndCompletePipelines(log, 3);
        }
        finally
        {
            (Activity.DefaultIdFormat, Activity.ForceDefaultIdFormat) = (format, force);
        }

        Assert.That(stopped.Select(s => s.IdFormat), Is.All.EqualTo(ActivityIdFormat.Hierarchical), "the pipelines' spans are hierarchical");
        AssertDistinctRandomIds(ids, log, stopped);
    }

    static IReadOnlyList<string> BeginAndCompletePipelines(TimedLog log, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var pipeline = log.Begin("hierarchical");
            ids.Add(pipeline.Id);
        }
        return ids;
    }

    static void AssertDistinctRandomIds(IReadOnlyList<string> ids, TimedLog log, List<Activity> stopped)
    {
        Assert.That(ids, Is.Unique);
        Assert.That(ids, Has.None.EqualTo("0000000000000000"));
        Assert.That(ids, Has.All.Match("^[0-9a-f]{16}$"), "the shape of a span id");
        var summaries = log.Events.Where(e => e.Properties.ContainsKey("Stages")).Select(e => e.Scalar("PipelineId"));
        Assert.That(summaries, Is.EqualTo(ids));
        Assert.That(stopped.Select(s => s.GetTagItem("pipeline.id")), Is.EqualTo(ids), "the span carries the id its events have");
    }

    [Test]
    public async Task AStageBegunInAnotherFlowIsStillAChildOfItsPipelineSpan()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);

        var pipeline = await Task.Run(() => log.Begin("elsewhere"));
        using (pipeline.Stage("late")) { }
        pipeline.Complete();

        var span = stopped.Single(a => a.OperationName == "elsewhere");
        Assert.That(stopped.Single(a => a.OperationName == "late").ParentSpanId, Is.EqualTo(span.SpanId));
    }

    [Test]
    public void AStageOfTheOuterPipelineBegunInsideAnInnerPipelineIsAChildOfTheOuterPipelinesRunningStage()
    {
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);

        using (var outer = log.Begin("outer"))
        using (outer.Stage("ingest"))
        using (var inner = log.Begin("inner"))
        using (inner.Stage("embed"))
        {
            var embed = Activity.Current;
            using (outer.Stage("store")) { }
            Assert.That(Activity.Current, Is.SameAs(embed), "the inner pipeline's stage is current again");
        }

        var ingest = stopped.Single(a => a.OperationName == "ingest");
        var store = stopped.Single(a => a.OperationName == "ingest/store");
        Assert.That(store.ParentSpanId, Is.EqualTo(ingest.SpanId));
        Assert.That(store.GetTagItem("pipeline"), Is.EqualTo("outer"));
        Assert.That(stopped.Single(a => a.OperationName == "inner").ParentSpanId, Is.EqualTo(ingest.SpanId));
    }

    [Test]
    public void WithoutListenersNoSpanStartsAndNothingIsMeasured()
    {
        Assert.That(TimingDiagnostics.Source!.HasListeners(), Is.False, "A listener from another test is still attached.");
        Assert.That(TimingDiagnostics.StageDuration!.Enabled, Is.False);
        Assert.That(TimingDiagnostics.PipelineDuration!.Enabled, Is.False);
        using var log = new TimedLog();
        using var request = new Activity("request").Start();

        using (var pipeline = log.Begin())
        using (pipeline.Stage("stt"))
        {
            Assert.That(Activity.Current, Is.SameAs(request));
            log.Logger.Information("Inside");
        }

        Assert.That(log.Single("Inside").SpanId, Is.EqualTo(request.SpanId));
        Assert.That(log.Summary.SpanId, Is.EqualTo(request.SpanId));
    }

    /// <summary>Loads a fresh copy of the package, whose Meter, histograms and ActivitySource do not exist yet; everything
    /// else (Serilog, the runtime) is the default context's.</summary>
    sealed class FreshPackageCopy() : System.Runtime.Loader.AssemblyLoadContext("fresh Timing package")
    {
        protected override Assembly? Load(AssemblyName assemblyName) => null;
    }

    [TestCase("InstrumentPublished")]
    [TestCase("ShouldListenTo")]
    public void AListenerThatThrowsAsThePackagesMeterOrActivitySourceIsCreatedCostsItsMeasurementsNeverThePipelines(string when)
    {
        // The package creates its instruments and source once, on first use: a MeterListener's InstrumentPublished and an
        // ActivityListener's ShouldListenTo run inside that creation. This copy's exist already; a fresh copy's are created
        // under the listeners below.
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(TimingDiagnostics).TypeHandle);
        var armed = false;
        using var meterListener = new MeterListener
        {
            MeasurementsCompleted = (_, _) => { },
            InstrumentPublished = (instrument, _) =>
            {
                if (armed && when == "InstrumentPublished" && instrument.Meter.Name == SourceName) throw new InvalidOperationException("listener broke");
            },
        };
        meterListener.Start();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => armed && when == "ShouldListenTo" && source.Name == SourceName
                ? throw new InvalidOperationException("listener broke")
                : false,
        };
        ActivitySource.AddActivityListener(activityListener);
        armed = true;

        var package = new FreshPackageCopy().LoadFromAssemblyPath(typeof(PipelineTimer).Assembly.Location);
        var pipelineType = package.GetType(typeof(PipelineTimer).FullName!, throwOnError: true)!;
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var selfLog = new List<string>();
        try
        {
            using (TemporarySelfLog.SaveTo(selfLog))
            {
                Assert.That(() =>
                {
                    using var pipeline = (IDisposable)pipelineType.GetMethod(nameof(PipelineTimer.Begin))!.Invoke(null, ["p", logger, null])!;
                    using var stage = (IDisposable)pipelineType.GetMethod(nameof(PipelineTimer.Stage))!.Invoke(pipeline, ["s"])!;
                }, Throws.Nothing);
            }
        }
        finally
        {
            // The copy's source and meter are registered process-wide under the package's name: later listeners that
            // choose by name must not find them.
            armed = false;
            var diagnostics = package.GetType(typeof(TimingDiagnostics).FullName!, throwOnError: true)!;
            const BindingFlags statics = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
            try
            {
                (diagnostics.GetField(nameof(TimingDiagnostics.Source), statics)!.GetValue(null) as IDisposable)?.Dispose();
                (diagnostics.GetField("s_meter", statics)!.GetValue(null) as IDisposable)?.Dispose();
            }
            catch (TypeInitializationException)
            {
                // Before the fix the copy's type initializer had failed: it has no source or meter to dispose.
            }
        }

        Assert.That(sink.Events.Select(e => e.RenderMessage()), Has.Exactly(1).Match(@"^""p"" stage ""s"" completed in "));
        Assert.That(sink.Events.Select(e => e.RenderMessage()), Has.Exactly(1).Match(@"^""p"" completed in "));
        Assert.That(selfLog, Has.Some.Contains("listener broke"));
    }

    [TestCase("started")]
    [TestCase("stopped")]
    public void AListenerThatThrowsLeavesTheApplicationsSpanCurrent(string when)
    {
        Serilog.Extensions.Observability.Timing.Internal.TimingReports.ResetAll();
        // The runtime makes a span current before it calls ActivityStarted, and hands the current span back to the
        // parent only after ActivityStopped: a listener that throws must not leave the stage's span current.
        using var log = new TimedLog();
        using var request = new Activity("request").Start();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = when == "started" ? _ => throw new InvalidOperationException("started") : null,
            ActivityStopped = when == "stopped" ? _ => throw new InvalidOperationException("stopped") : null,
        };
        ActivitySource.AddActivityListener(listener);
        var selfLog = new List<string>();
        using (Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog))
        {
            using (var pipeline = log.Begin("p"))
            using (pipeline.Stage("s"))
                Assert.That(Activity.Current?.OperationName, Is.Not.EqualTo("p"), "a stage is current inside its block, or no span");
        }
        Assert.That(Activity.Current, Is.SameAs(request), $"current is {Activity.Current?.OperationName}");
        Assert.That(selfLog, Has.Some.Contains(when));
    }

    [Test]
    public void PipelinesBegunAndNeverEndedInOneFlowChainTheirSpansNoDeeperThanTheLimit()
    {
        // A message loop that begins a pipeline per message and never ends one, with a tracer listening: each span's
        // parent is the span current when it began (the last pipeline's), so the spans would chain, each keeping every
        // earlier one alive, without end, though the pipelines themselves are bounded (TimingAmbient.MaxDepth).
        const int maxDepth = 1024;
        var stopped = new List<Activity>();
        using var listener = ListenToActivities(stopped);
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var depth = 0;
        var alive = 0;
        var firstNest = false;
        var selfLog = new List<string>();
        using (Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog))
        {
            Flow.Isolated(() =>
            {
                var spans = BeginPipelinesAndNeverEndThem(log, 4 * maxDepth);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                alive = spans.Count(s => s.IsAlive);
                firstNest = spans[1].Target is Activity second && ReferenceEquals(second.Parent, spans[0].Target);
                for (var span = Activity.Current; span is not null; span = span.Parent) depth++;
            });
        }

        Assert.That(depth, Is.LessThanOrEqualTo(maxDepth));
        Assert.That(alive, Is.LessThanOrEqualTo(maxDepth));
        Assert.That(firstNest, Is.True, "the first ones nest as they always did");
        Assert.That(stopped, Is.Empty, "nothing ends a pipeline that is never ended");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static WeakReference[] BeginPipelinesAndNeverEndThem(TimedLog log, int count)
    {
        var spans = new WeakReference[count];
        for (var i = 0; i < count; i++) spans[i] = new WeakReference(log.Begin("leaked").Activity);
        return spans;
    }

    [Test]
    public void PipelinesBegunWithAStageAndNeverEndedInOneFlowChainTheirSpansNoDeeperThanTheLimit()
    {
        // As above, each message's pipeline with a stage begun and never ended: past the limit the stage takes its
        // pipeline's place among the flow's timers, but its span stays the pipeline's child, so the next pipeline must
        // not nest its span under that pipeline's either.
        const int maxDepth = 1024;
        var stopped = new List<Activity>();
        using var listener = ListenToActivities(stopped);
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var depth = 0;
        var selfLog = new List<string>();
        using (Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog))
        {
            Flow.Isolated(() =>
            {
                for (var i = 0; i < 4 * maxDepth; i++) log.Begin("leaked").Stage("s");
                for (var span = Activity.Current; span is not null; span = span.Parent) depth++;
            });
        }

        Assert.That(depth, Is.LessThanOrEqualTo(maxDepth + 1), "the innermost stage's span and its pipeline's over the limit's frames");
        Assert.That(stopped, Is.Empty);
    }

    [Test]
    public void APipelineEndedInAnotherFlowIsNeitherTheParentNorKeptAliveByTheNextOneBegunInTheFlowThatBeganIt()
    {
        // A consumer loop that begins a pipeline per message and hands it on to be completed elsewhere (a channel, a
        // callback): ending restores only the flow that ends it, so the ended pipeline is still ambient (and its span
        // current) in the loop. The next pipeline must not nest in it: each would keep the one before alive (and, past
        // the nesting limit, be reported as begun and never ended), and each message's span would be the child of the
        // previous message's, one trace for the whole loop.
        const int count = 2000;
        var stopped = new List<Activity>();
        using var listener = ListenToActivities(stopped);
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var alive = 0;
        var selfLog = new List<string>();
        using (Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog))
        {
            Flow.Isolated(() =>
            {
                var pipelines = BeginPipelinesAndEndThemInAnotherFlow(log, count);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                alive = pipelines.Count(p => p.IsAlive);
            });
        }

        Assert.That(alive, Is.LessThanOrEqualTo(1), "only the last is still ambient in the loop");
        Assert.That(stopped, Has.Count.EqualTo(count));
        Assert.That(stopped.Where(s => s.Parent is not null || s.ParentSpanId != default), Is.Empty, "each message's span is a root");
        Assert.That(selfLog, Has.None.Contains("nested in one flow"));
    }

    [Test]
    public void APipelineBegunUnderTheApplicationsSpanStoppedInAnotherFlowStaysInItsTrace()
    {
        // Work handed on from a request (fire and forget) begins its pipeline after the request's span stopped in the
        // flow that served it: that span is still current in the handed-on flow. It is the application's, not one of
        // this package's spans that a loop could chain: the pipeline's span stays its child, in the request's trace,
        // rather than starting a trace of its own (the request's span came from a remote parent: it has no Parent).
        var stopped = new List<Activity>();
        using var listener = ListenToActivities(stopped);
        using var requestSource = new ActivitySource("Serilog.Extensions.Observability.Timing.Tests.Request");
        using var requestListener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, requestSource),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(requestListener);
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var remoteParent = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        Activity? request = null;

        Flow.Isolated(() =>
        {
            request = requestSource.StartActivity("request", ActivityKind.Server, remoteParent)!;
            Flow.Isolated(() => request.Stop());
            Assert.That(Activity.Current, Is.SameAs(request), "stopped in another flow, still current in this one");

            log.Begin("background").Complete();
        });

        Assert.That(stopped, Has.Count.EqualTo(1));
        Assert.That(stopped[0].TraceId, Is.EqualTo(request!.TraceId), "the request's trace");
        Assert.That(stopped[0].ParentSpanId, Is.EqualTo(request.SpanId), "the request's span is its parent");
    }

    [Test]
    public void PipelinesBegunOneAfterAnotherUnderAStoppedRequestSpanAreEachItsChild(
        [Values] bool endedInAnotherFlow, [Values] bool withStage)
    {
        // A loop in work handed on from a request whose span has stopped (still current here) begins a pipeline per
        // message: each pipeline's span is the request's child, never the previous pipeline's.
        var stopped = new List<Activity>();
        using var listener = ListenToActivities(stopped);
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        Activity? request = null;
        Activity? currentAfter = null;

        Flow.Isolated(() =>
        {
            request = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
            Flow.Isolated(() => request.Stop());
            for (var i = 0; i < 3; i++)
            {
                var pipeline = log.Begin("message");
                var stage = withStage ? pipeline.Stage("handle") : null;
                if (endedInAnotherFlow)
                {
                    Flow.Isolated(() =>
                    {
                        stage?.Complete();
                        pipeline.Complete();
                    });
                }
                else
                {
                    stage?.Dispose();
                    pipeline.Dispose();
                }
            }
            currentAfter = Activity.Current;
        });

        var pipelines = stopped.Where(s => s.OperationName == "message").ToArray();
        Assert.That(pipelines, Has.Length.EqualTo(3));
        Assert.That(pipelines.Select(p => p.ParentSpanId), Is.All.EqualTo(request!.SpanId), "each one's parent is the request");
        Assert.That(pipelines.Select(p => p.TraceId), Is.All.EqualTo(request.TraceId));
        if (!endedInAnotherFlow)
            Assert.That(currentAfter, Is.SameAs(request), "the loop's flow has the request's span current again");
    }

    [Test]
    public void SpansOfStagesBegunInALoopAndEndedByAConsumerAreCollectable()
    {
        // One long-lived pipeline whose loop begins a stage per message and hands it to a consumer to end: each stage's
        // span, stopped there, is still current in the loop's flow when the next one starts.
        const int count = 2000;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var alive = 0;
        var parents = new HashSet<ActivitySpanId>();

        Flow.Isolated(() =>
        {
            using var pipeline = log.Begin("stream");
            var spans = BeginStagesAndEndThemInAnotherFlow(pipeline, count, parents);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            alive = spans.Count(s => s.IsAlive);
        });

        Assert.That(alive, Is.LessThanOrEqualTo(4), $"{alive} of {count} spans are still alive");
        Assert.That(parents, Has.Count.EqualTo(1), "every stage's span is the pipeline's child");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static WeakReference[] BeginStagesAndEndThemInAnotherFlow(PipelineTimer pipeline, int count, HashSet<ActivitySpanId> parents)
    {
        var spans = new WeakReference[count];
        for (var i = 0; i < count; i++)
        {
            var stage = pipeline.Stage("message");
            spans[i] = new WeakReference(stage.Activity);
            parents.Add(stage.Activity!.ParentSpanId);
            Flow.Isolated(() => stage.Complete());
        }
        return spans;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AFlowThatBeginsStagesOfAnotherFlowsPipelineGetsItsOwnSpanBackNotThePipelines(bool ownSpan)
    {
        // A worker, in its own span or none, begins stages of a pipeline begun elsewhere: one handed to a consumer that
        // ends it, then one in a using block. The stages are the pipeline's children, but the pipeline's span was never
        // current in the worker's flow and must not be left current there, nor be the parent of what it begins next.
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        using var pipeline = log.Begin("stream");
        Activity? own = null, afterStage = null, nextParent = null;
        ActivitySpanId stageParent = default;

        Flow.Isolated(() =>
        {
            Activity.Current = null;
            using var worker = ownSpan ? new Activity("worker").Start() : null;
            own = worker;
            var handedOn = pipeline.Stage("message");
            Flow.Isolated(() => handedOn.Complete());
            using (var stage = pipeline.Stage("message"))
                stageParent = stage.Activity!.ParentSpanId;
            afterStage = Activity.Current;
            var handedOnLast = pipeline.Stage("message");
            Flow.Isolated(() => handedOnLast.Complete());
            using var next = log.Begin("next");
            nextParent = next.Activity!.Parent;
        });

        Assert.That(stageParent, Is.EqualTo(pipeline.Activity!.SpanId), "the stage is still the pipeline's child");
        Assert.That(afterStage?.OperationName, Is.EqualTo(own?.OperationName), "what is current after the stage ended");
        Assert.That(nextParent?.OperationName, Is.EqualTo(own?.OperationName), "the parent of a pipeline begun afterwards");
    }

    [Test]
    public void StagesOfAnotherFlowsPipelineEndedOutOfOrderGiveTheFlowItsOwnSpanBack()
    {
        // The outer stage's span was started under the pipeline's as a context (not current in this flow), so it has no
        // Activity.Parent: once it has stopped, what this flow had before it is still known, through its timer.
        var stopped = new List<Activity>();
        using var log = new TimedLog();
        using var listener = ListenToActivities(stopped);
        using var pipeline = log.Begin("stream");
        Activity? after = null;

        Flow.Isolated(() =>
        {
            Activity.Current = null;
            using var worker = new Activity("worker").Start();
            var outer = pipeline.Stage("outer");
            var inner = pipeline.Stage("inner");
            outer.Dispose();
            inner.Dispose();
            after = Activity.Current;
        });

        Assert.That(after?.OperationName, Is.EqualTo("worker"));
    }

    public enum RequestSpan { None, Running, Stopped }

    [Test]
    public void SpansOfPipelinesAndStagesEndedByAConsumerAreCollectable(
        [Values] RequestSpan request, [Values] bool endedInAnotherFlow, [Values] bool withStage)
    {
        // A loop that begins a pipeline (and a stage) per message, with a tracer sampling every span. Nothing of this
        // package may keep an ended run's spans alive: not the spans current in the loop's flow, not the Parent link of
        // the next span, not a static.
        const int count = 2000;
        var stoppedCount = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref stoppedCount),
        };
        ActivitySource.AddActivityListener(listener);
        using var log = new TimedLog(minimumLevel: LogEventLevel.Fatal);
        var alive = 0;
        var total = 0;

        Flow.Isolated(() =>
        {
            var span = request == RequestSpan.None ? null : new Activity("request").Start();
            if (request == RequestSpan.Stopped) Flow.Isolated(() => span!.Stop());
            var spans = BeginRunsAndEndThem(log, count, endedInAnotherFlow, withStage);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            alive = spans.Count(s => s.IsAlive);
            total = spans.Length;
            GC.KeepAlive(span);
        });

        Assert.That(stoppedCount, Is.EqualTo(total), "every span was sampled and stopped");
        // The last run's spans may still be current in the loop's flow (an end in another flow cannot reach it), and the
        // JIT may keep a few more on the stack.
        Assert.That(alive, Is.LessThanOrEqualTo(4), $"{alive} of {total} spans are still alive");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static WeakReference[] BeginRunsAndEndThem(TimedLog log, int count, bool endedInAnotherFlow, bool withStage)
    {
        var spans = new List<WeakReference>(2 * count);
        for (var i = 0; i < count; i++)
        {
            var pipeline = log.Begin("message");
            spans.Add(new WeakReference(pipeline.Activity));
            var stage = withStage ? pipeline.Stage("handle") : null;
            if (stage is not null) spans.Add(new WeakReference(stage.Activity));
            if (endedInAnotherFlow)
            {
                Flow.Isolated(() =>
                {
                    stage?.Complete();
                    pipeline.Complete();
                });
            }
            else
            {
                stage?.Dispose();
                pipeline.Dispose();
            }
        }
        return spans.ToArray();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static WeakReference[] BeginPipelinesAndEndThemInAnotherFlow(TimedLog log, int count)
    {
        var pipelines = new WeakReference[count];
        for (var i = 0; i < count; i++)
        {
            var pipeline = log.Begin("message");
            pipelines[i] = new WeakReference(pipeline);
            Flow.Isolated(() => pipeline.Complete());
        }
        return pipelines;
    }
}
