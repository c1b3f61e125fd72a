using System.Text;
using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Formatting.Json;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

public class RollingJsonSinkTests
{
    static readonly AsyncLocal<object?> Ambient = new();

    [Test]
    public void TheWriterDoesNotKeepTheAmbientValuesOfTheFlowThatCreatedTheSink()
    {
        // A sink is often built inside some flow (a logger built during a request, the late logger a host builds as it is
        // disposed, a test with its Activity): its writer lives as long as the sink, and must not hold that flow's
        // async-local values (an Activity and its parents, a request's scopes) for all that time.
        using var folder = TempFolder.ForCaller();
        var (sink, ambient) = CreateInAFlowWithAnAmbientValue(folder.AllocateFilename());
        try
        {
            EmitAndWait(sink, Event(1));
            for (var i = 0; i < 3 && ambient.IsAlive; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            Assert.That(ambient.IsAlive, Is.False, "the sink's threads keep the creating flow's async-local values");
        }
        finally
        {
            sink.Dispose();
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static (RollingJsonSink Sink, WeakReference Ambient) CreateInAFlowWithAnAmbientValue(string path)
    {
        RollingJsonSink? sink = null;
        WeakReference? ambient = null;
        ExecutionContext.Run(ExecutionContext.Capture()!, _ =>
        {
            var value = new object();
            Ambient.Value = value;
            ambient = new WeakReference(value);
            sink = Create(path);
        }, null);
        return (sink!, ambient!);
    }

    [Test]
    public void EachEventIsOneJsonLineInUtf8WithoutBom()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "logs", "app-.json");
        var sink = Create(path);
        EmitAndWait(sink, Event(1, text: "Grüße, 世界 \"quoted\"\nnewline"), Event(2));
        sink.Dispose();

        var file = Path.Combine(folder.Path, "logs", "app-.json");
        var bytes = File.ReadAllBytes(file);
        Assert.That(bytes.Take(3).ToArray(), Is.Not.EqualTo(Encoding.UTF8.GetPreamble()));
        var lines = LogFiles.Lines(file);
        Assert.That(lines, Has.Count.EqualTo(2));
        var first = LogFiles.Parse(lines[0]);
        Assert.That(LogFiles.Property(first, "Text").GetString(), Is.EqualTo("Grüße, 世界 \"quoted\"\nnewline"));
        Assert.That(LogFiles.Property(LogFiles.Parse(lines[1]), "Seq").GetInt64(), Is.EqualTo(2));
    }

    [Test]
    public void AUtf8FormatterIsCalledThroughItsUtf8Path()
    {
        using var folder = TempFolder.ForCaller();
        var formatter = new TestUtf8Formatter();
        var sink = Create(folder.AllocateFilename(), o => o.Formatter = formatter);
        EmitAndWait(sink, Event(1), Event(2), Event(3));
        sink.Dispose();
        Assert.That((formatter.Utf8Calls, formatter.TextCalls), Is.EqualTo((3, 0)));
    }

    [Test]
    public void AnyTextFormatterWorksAndItsOutputIsWrittenUnchanged()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var logEvent = Event(7, text: "ünïcødé ✓ 😀");
        var expected = new StringWriter();
        new JsonFormatter().Format(logEvent, expected);

        var sink = Create(path, o => o.Formatter = new JsonFormatter());
        EmitAndWait(sink, logEvent, logEvent);
        sink.Dispose();

        Assert.That(File.ReadAllText(path, new UTF8Encoding(false)), Is.EqualTo(expected.ToString() + expected));
    }

    [Test]
    public void TheFlatJsonFormatterCanBeChosen()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => o.Formatter = new Serilog.Extensions.Observability.Formatting.FlatJsonFormatter());
        EmitAndWait(sink, Event(9));
        sink.Dispose();
        var line = LogFiles.Parse(LogFiles.Lines(path).Single());
        Assert.That((line.GetProperty("message_template").GetString(), line.GetProperty("seq").GetInt64()), Is.EqualTo(("Event {Seq}", 9L)));
    }

    [Test]
    public void ALineWithoutATerminatorGetsANewline()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => o.Formatter = new JsonFormatter(closingDelimiter: ""));
        EmitAndWait(sink, Event(1), Event(2));
        sink.Dispose();
        var lines = LogFiles.Lines(path);
        Assert.That(lines, Has.Count.EqualTo(2));
        Assert.That(lines.Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void TheDefaultFormatIsClefFromTheFormattingPackage()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var logEvent = Event(42, LogEventLevel.Warning);
        var sink = Create(path, o => o.Formatter = null);
        EmitAndWait(sink, logEvent);
        sink.Dispose();

        var expected = new StringWriter { NewLine = "\n" };
        new Serilog.Extensions.Observability.Formatting.CompactJsonFormatter().Format(logEvent, expected);
        Assert.That(File.ReadAllText(path), Is.EqualTo(expected.ToString()));
        var line = LogFiles.Parse(LogFiles.Lines(path).Single());
        Assert.That((line.GetProperty("@mt").GetString(), line.GetProperty("@l").GetString(), line.GetProperty("Seq").GetInt64()),
            Is.EqualTo(("Event {Seq}", "Warning", 42L)));
    }

    [Test]
    public void APausedWriterTakesNothingQueuedAfterThePauseReturnedEvenIfItHadJustCheckedForAPause()
    {
        // CI failed once in DisposalDrainsEveryAcceptedEvent: 17042 of 20000 events queued while paused. The writer had
        // read "not paused" just before PauseWriter set it, and went on to take what the test queued after the call.
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path);
        using var atCheck = new ManualResetEventSlim();
        using var queued = new ManualResetEventSlim();
        var held = 0;
        sink.AfterPauseCheckForTests = () =>
        {
            if (Interlocked.Exchange(ref held, 1) != 0) return;
            atCheck.Set();
            // Held between its check and its take until the events are queued, or until the pause waits for it.
            SpinWait.SpinUntil(() => queued.IsSet || sink.PauseWaitingForTests, WaitLimit);
        };
        Assert.That(atCheck.Wait(WaitLimit), Is.True, "The writer did not reach its pause check.");
        var producer = Task.Run(() =>
        {
            sink.PauseWriter();
            for (var i = 0; i < 100; i++) sink.Emit(Event(i));
            queued.Set();
        });
        Assert.That(producer.Wait(WaitLimit), Is.True, "The pause or the events did not return.");
        Assert.That(SpinWait.SpinUntil(() => sink.WriterParkedForTests, WaitLimit), Is.True, "The writer did not pause.");
        Assert.That(sink.QueueLength, Is.EqualTo(100));
        sink.Dispose();
        Assert.That((sink.EventsWritten, LogFiles.Lines(path).Count), Is.EqualTo((100L, 100)));
    }

    [Test]
    public void APauseRightAfterAResumeWaitsForTheWriterThatIsLeavingThePauseBefore()
    {
        // A writer resumed but not yet out of its pause still looked paused: a PauseWriter then returned at once, and the
        // writer went on to take what the caller queued next.
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path);
        sink.PauseWriter();
        using var leaving = new ManualResetEventSlim();
        using var queued = new ManualResetEventSlim();
        var held = 0;
        sink.AfterResumedForTests = () =>
        {
            if (Interlocked.Exchange(ref held, 1) != 0) return;
            leaving.Set();
            // Held as it leaves the pause until the events are queued, or until the next pause waits for it.
            SpinWait.SpinUntil(() => queued.IsSet || sink.PauseWaitingForTests, WaitLimit);
        };
        sink.ResumeWriter();
        Assert.That(leaving.Wait(WaitLimit), Is.True, "The writer did not leave its pause.");
        var producer = Task.Run(() =>
        {
            sink.PauseWriter();
            for (var i = 0; i < 100; i++) sink.Emit(Event(i));
            queued.Set();
        });
        Assert.That(producer.Wait(WaitLimit), Is.True, "The pause or the events did not return.");
        Assert.That(SpinWait.SpinUntil(() => sink.WriterParkedForTests && Volatile.Read(ref held) == 1, WaitLimit), Is.True, "The writer did not pause.");
        Assert.That(sink.QueueLength, Is.EqualTo(100));
        sink.Dispose();
        Assert.That((sink.EventsWritten, LogFiles.Lines(path).Count), Is.EqualTo((100L, 100)));
    }

    [Test]
    public void DisposalDrainsEveryAcceptedEvent()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => o.QueueLimit = 50_000);
        sink.PauseWriter();
        for (var i = 0; i < 20_000; i++) sink.Emit(Event(i));
        Assert.That(sink.QueueLength, Is.EqualTo(20_000));
        sink.Dispose();

        var lines = LogFiles.Lines(path);
        Assert.That(lines, Has.Count.EqualTo(20_000));
        Assert.That(LogFiles.Property(LogFiles.Parse(lines[^1]), "Seq").GetInt64(), Is.EqualTo(19_999));
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((20_000L, 0L)));
    }

    [Test]
    public void ClosingTheLoggerDrainsTheSink()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var logger = new LoggerConfiguration()
            .WriteTo.RollingJson(path, rollingInterval: RollingJsonInterval.Infinite)
            .CreateLogger();
        for (var i = 0; i < 5_000; i++) logger.Information("Event {Seq}", i);
        logger.Dispose();
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(5_000));
    }

    [Test, NonParallelizable]
    public void AFullQueueDropsCountsExactlyAndReportsOncePerInterval()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => o.QueueLimit = 100);
        sink.PauseWriter();
        for (var i = 0; i < 1_100; i++) sink.Emit(Event(i));
        Assert.That(sink.DroppedQueueFull, Is.EqualTo(1_000));
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Emit(Event(5_000)); // room again: accepted
        sink.Dispose();

        var sequences = LogFiles.Lines(path).Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()).ToList();
        Assert.That(sequences, Is.EqualTo(Enumerable.Range(0, 100).Select(i => (long)i).Append(5_000)));
        Assert.That((sink.EventsWritten, sink.DroppedQueueFull), Is.EqualTo((101L, 1_000L)));
        List<string> reports;
        lock (selfLog) reports = selfLog.Where(m => m.Contains("queue was full", StringComparison.Ordinal)).ToList();
        Assert.That(reports, Has.Count.EqualTo(1), string.Join("\n", selfLog));
        Assert.That(reports[0], Does.Contain("1000 event(s) dropped"));
    }

    [Test, NonParallelizable]
    public void DropsOfTheLastReportIntervalAreReportedAtDisposal()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename(), o => o.QueueLimit = 10);
        List<string> Reports()
        {
            lock (selfLog) return selfLog.Where(m => m.Contains("queue was full", StringComparison.Ordinal)).ToList();
        }

        sink.PauseWriter();
        for (var i = 0; i < 15; i++) sink.Emit(Event(i));
        sink.ResumeWriter();
        Assert.That(SpinWait.SpinUntil(() => Reports().Count == 1, WaitLimit), Is.True, "The first drops are reported at once.");

        // More drops well within the report interval, then disposal: they must not go unreported.
        sink.PauseWriter();
        var first = sink.DroppedQueueFull;
        for (var i = 0; sink.DroppedQueueFull < first + 7; i++)
        {
            Assert.That(i, Is.LessThan(1_000), "The paused writer should let the queue fill.");
            sink.Emit(Event(100 + i));
        }
        sink.Dispose();

        var reported = Reports().Sum(m => long.Parse(System.Text.RegularExpressions.Regex.Match(m, @"(\d+) event\(s\) dropped").Groups[1].Value));
        Assert.That(reported, Is.EqualTo(sink.DroppedQueueFull), string.Join("\n", Reports()));
    }

    [Test]
    public void BlockWhenFullMakesTheCallerWaitInsteadOfDropping()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => { o.QueueLimit = 10; o.BlockWhenFull = true; });
        sink.PauseWriter();
        for (var i = 0; i < 10; i++) sink.Emit(Event(i));
        using var started = new ManualResetEventSlim();
        var producer = Task.Factory.StartNew(() =>
        {
            started.Set();
            for (var i = 10; i < 1_000; i++) sink.Emit(Event(i));
        }, TaskCreationOptions.LongRunning);
        Assert.That(started.Wait(WaitLimit), Is.True);
        // Only the paused writer can make room: the producer either waits for it, or (wrongly) drops and finishes.
        Assert.That(SpinWait.SpinUntil(() => sink.RoomWaiters == 1 || producer.IsCompleted, WaitLimit), Is.True);
        Assert.That((producer.IsCompleted, sink.QueueLength, sink.EventsDropped), Is.EqualTo((false, 10, 0L)), "The producer should wait while the queue is full.");
        sink.ResumeWriter();
        Assert.That(producer.Wait(WaitLimit), Is.True);
        sink.Dispose();

        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(1_000));
        Assert.That(sink.EventsDropped, Is.EqualTo(0));
    }

    [Test]
    public void EventsAfterDisposalAreCountedNotThrown()
    {
        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename());
        sink.Dispose();
        Assert.DoesNotThrow(() => sink.Emit(Event(1)));
        Assert.That(sink.DroppedShutdown, Is.EqualTo(1));
        Assert.DoesNotThrow(sink.Dispose);
    }

    [Test]
    public void AnEventEnqueuedAfterTheWriterStoppedIsCountedNotLeftInTheQueue()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path);
        EmitAndWait(sink, Event(1));
        // The second call passes the state check, then the whole disposal runs before it enqueues: the writer is gone
        // and nobody else will ever look at the queue.
        sink.BeforeEnqueueForTests = () =>
        {
            sink.BeforeEnqueueForTests = null;
            sink.Dispose();
        };
        Assert.DoesNotThrow(() => sink.Emit(Event(2)));

        Assert.That((sink.EventsWritten, sink.DroppedShutdown, sink.QueueLength), Is.EqualTo((1L, 1L, 0)));
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(1));
    }

    [Test, NonParallelizable]
    public void EventsDroppedAtOrAfterDisposalAreReportedThroughSelfLog()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        int Reports()
        {
            lock (selfLog) return selfLog.Count(m => m.Contains("during or after disposal", StringComparison.Ordinal));
        }

        // A caller that passed the running check before disposal and enqueued after the writer stopped.
        var raced = Create(folder.AllocateFilename());
        raced.BeforeEnqueueForTests = () =>
        {
            raced.BeforeEnqueueForTests = null;
            raced.Dispose();
        };
        raced.Emit(Event(1));
        Assert.That(raced.DroppedShutdown, Is.EqualTo(1));
        Assert.That(Reports(), Is.EqualTo(1), "The event accepted while the sink was disposed was lost without a report.");

        // Callers after disposal: reported once per sink, not once per event.
        var disposed = Create(folder.AllocateFilename());
        disposed.Dispose();
        for (var i = 0; i < 3; i++) disposed.Emit(Event(i));
        Assert.That(disposed.DroppedShutdown, Is.EqualTo(3));
        Assert.That(Reports(), Is.EqualTo(2));
    }

    [Test]
    public void TheMeterCarriesThePackageVersionWithoutItsCommit()
    {
        // OpenTelemetry exports it as the instrumentation scope's version: the package's, not the assembly's 0.1.0.0.
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Serilog.Extensions.Observability.Sinks.RollingJson.Diagnostics.SinkMetrics).TypeHandle);
        string? version = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == "Serilog.Extensions.Observability.Sinks.RollingJson") version = instrument.Meter.Version;
        };
        listener.Start();
        var informational = typeof(RollingJsonSink).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;

        Assert.That(version, Is.EqualTo(informational.Split('+')[0]).And.Not.EqualTo(typeof(RollingJsonSink).Assembly.GetName().Version!.ToString()));
    }

    /// <summary>Listens to the sink meter's <c>events.dropped</c> counter: each measurement with its reason.</summary>
    static System.Diagnostics.Metrics.MeterListener ListenToDrops(Action<long, string?> measured)
    {
        // On .NET 8 Dispose stops the measurements only when MeasurementsCompleted is set (dotnet/runtime#102465, fixed
        // in .NET 9): without it a disposed throwing listener would keep failing the next test's measurements.
        var listener = new System.Diagnostics.Metrics.MeterListener { MeasurementsCompleted = (_, _) => { } };
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Serilog.Extensions.Observability.Sinks.RollingJson" && instrument.Name == "serilog.rolling_json.events.dropped")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? reason = null;
            foreach (var tag in tags)
                if (tag.Key == "reason") reason = tag.Value as string;
            measured(value, reason);
        });
        listener.Start();
        return listener;
    }

    /// <summary>A sink whose queue (limit 1) is full: its writer is paused with one event taken in.</summary>
    static RollingJsonSink FullSink(TempFolder folder)
    {
        var sink = Create(folder.AllocateFilename(), o => o.QueueLimit = 1);
        sink.PauseWriter();
        sink.Emit(Event(0));
        return sink;
    }

    /// <summary>Queue-full drops as the meter and SelfLog see them (SelfLog is process-wide: callers are NonParallelizable).</summary>
    sealed class QueueFullReports : IDisposable
    {
        readonly List<string> _selfLog = new();
        readonly IDisposable _selfLogScope;
        readonly System.Diagnostics.Metrics.MeterListener _listener;
        long _metered;

        public QueueFullReports()
        {
            _selfLogScope = TemporarySelfLog.SaveTo(_selfLog);
            _listener = ListenToDrops((value, reason) =>
            {
                if (reason == "queue_full") Interlocked.Add(ref _metered, value);
            });
        }

        public void AssertOneDropMeteredAndReported()
        {
            Assert.That(Interlocked.Read(ref _metered), Is.EqualTo(1), "The drop is counted but never reaches the meter.");
            lock (_selfLog) Assert.That(_selfLog.Count(m => m.Contains("queue was full", StringComparison.Ordinal)), Is.EqualTo(1), string.Join("\n", _selfLog));
        }

        public void Dispose()
        {
            _listener.Dispose();
            _selfLogScope.Dispose();
        }
    }

    [Test, NonParallelizable]
    public void AQueueFullDropCountedAfterTheWritersLastReportIsStillMeteredAndReported()
    {
        using var reports = new QueueFullReports();
        using var folder = TempFolder.ForCaller();
        var sink = FullSink(folder);
        // The queue is full. This caller fails to enqueue, and the whole disposal (drain, the writer's last report)
        // runs before it counts its drop.
        sink.AfterQueueFullForTests = () =>
        {
            sink.AfterQueueFullForTests = null;
            sink.Dispose();
        };
        sink.Emit(Event(1));

        Assert.That((sink.EventsWritten, sink.DroppedQueueFull), Is.EqualTo((1L, 1L)));
        reports.AssertOneDropMeteredAndReported();
    }

    [Test, NonParallelizable]
    public void AFailedReportOfAQueueFullDropCountedAfterTheWritersLastReportNeitherThrowsIntoTheCallerNorLosesTheMeter()
    {
        // As above, and the caller's report of its drop throws (no memory to box its counts). Before the fix the boxing was
        // outside the guarded SelfLog call: the exception reached Emit.
        long metered = 0;
        using var listener = ListenToDrops((value, reason) =>
        {
            if (reason == "queue_full") Interlocked.Add(ref metered, value);
        });
        using var folder = TempFolder.ForCaller();
        var sink = FullSink(folder);
        var failedReports = 0;
        sink.ReportForTests = report =>
        {
            if (report != "queue full after stop") return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        sink.AfterQueueFullForTests = () =>
        {
            sink.AfterQueueFullForTests = null;
            sink.Dispose();
        };

        Assert.DoesNotThrow(() => sink.Emit(Event(1)));

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the caller's report failed");
        Assert.That((sink.EventsWritten, sink.DroppedQueueFull), Is.EqualTo((1L, 1L)));
        Assert.That(Interlocked.Read(ref metered), Is.EqualTo(1), "The drop is counted but never reaches the meter.");
    }

    [Test, NonParallelizable]
    public void AQueueFullDropCountedBetweenTheWritersLastReportAndItsStopIsStillMeteredAndReported()
    {
        using var reports = new QueueFullReports();
        using var folder = TempFolder.ForCaller();
        var sink = FullSink(folder);
        using var callerFull = new ManualResetEventSlim();
        using var lastReportMade = new ManualResetEventSlim();
        using var callerCounted = new ManualResetEventSlim();
        // The queue is full: the caller fails to enqueue and counts its drop after the writer's last report, but before
        // the writer announces that it stopped, so it sees the sink still stopping.
        sink.AfterQueueFullForTests = () =>
        {
            sink.AfterQueueFullForTests = null;
            callerFull.Set();
            lastReportMade.Wait(WaitLimit);
        };
        sink.BeforeStoppedForTests = () =>
        {
            lastReportMade.Set();
            callerCounted.Wait(WaitLimit);
        };
        var caller = Task.Factory.StartNew(() =>
        {
            sink.Emit(Event(1));
            callerCounted.Set();
        }, TaskCreationOptions.LongRunning);
        Assert.That(callerFull.Wait(WaitLimit), Is.True);
        sink.Dispose();
        Assert.That(caller.Wait(WaitLimit), Is.True);

        Assert.That((sink.EventsWritten, sink.DroppedQueueFull), Is.EqualTo((1L, 1L)));
        reports.AssertOneDropMeteredAndReported();
    }

    [Test]
    public void ASecondConcurrentDisposalReturnsOnlyOnceEverythingIsWritten()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        using var formatting = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        var sink = Create(path, o => o.Formatter = new GatedFormatter(formatting, gate));
        for (var i = 0; i < 100; i++) sink.Emit(Event(i));
        Assert.That(formatting.Wait(WaitLimit), Is.True);

        Thread? secondCaller = null;
        sink.BeforeSecondDisposalWaitsForTests = () => Volatile.Write(ref secondCaller, Thread.CurrentThread);
        // Each disposal notes, as it returns, how many events were written by then.
        long DisposeAndCount()
        {
            sink.Dispose();
            return sink.EventsWritten;
        }

        Task<long> first, second;
        try
        {
            first = Task.Factory.StartNew(DisposeAndCount, TaskCreationOptions.LongRunning);
            second = Task.Factory.StartNew(DisposeAndCount, TaskCreationOptions.LongRunning);
            // The writer is held in the first event. The gate opens only once whichever call came second is blocked
            // waiting for the writer, or has (wrongly) returned already: then its count is taken with nothing written.
            Assert.That(SpinWait.SpinUntil(() => first.IsCompleted || second.IsCompleted
                || (Volatile.Read(ref secondCaller) is { } caller && (caller.ThreadState & ThreadState.WaitSleepJoin) != 0), WaitLimit), Is.True);
        }
        finally
        {
            gate.Set();
        }

        Assert.That(Task.WaitAll(new Task[] { first, second }, WaitLimit), Is.True);
        Assert.That((first.Result, second.Result), Is.EqualTo((100L, 100L)), "A disposal returned before the events were written.");
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(100));
    }

    [Test]
    public void ASecondConcurrentDisposalReturnsOnlyOnceHousekeepingHasEndedAndThePathIsFree()
    {
        // Log.CloseAndFlush() beside the host's disposal, then a new logger on the same files: the second disposal
        // returned once the writer had stopped, while the first still waited for a compression (on the housekeeping
        // thread, at the lowest priority) and still held the path.
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        using var flushing = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var sink = Create(path, o =>
        {
            o.FileSizeLimitBytes = 1;
            o.CompressRolledFiles = true;
        });
        var housekeeper = sink.HousekeeperForTests;
        var flushFile = housekeeper.FlushFileToDisk;
        housekeeper.FlushFileToDisk = file =>
        {
            flushing.Set();
            release.Wait(WaitLimit);
            flushFile(file);
        };
        EmitAndWait(sink, Event(0));
        EmitAndWait(sink, Event(1)); // rolls app-.json: the pass that compresses it is held in its flush
        Assert.That(flushing.Wait(WaitLimit), Is.True);

        Thread? secondCaller = null;
        sink.BeforeSecondDisposalWaitsForTests = () => Volatile.Write(ref secondCaller, Thread.CurrentThread);
        Task first, second;
        try
        {
            first = Task.Factory.StartNew(sink.Dispose, TaskCreationOptions.LongRunning);
            Assert.That(SpinWait.SpinUntil(() => sink.WriterEnded, WaitLimit), Is.True);
            second = Task.Factory.StartNew(() =>
            {
                sink.Dispose();
                // What the caller sees as the disposal returns: the compression done, and the path free for a new sink.
                Assert.That(File.Exists(path + ".gz") && !File.Exists(path), Is.True, "The disposal returned while the compression was still running.");
                Create(path).Dispose();
            }, TaskCreationOptions.LongRunning);
            Assert.That(SpinWait.SpinUntil(() => second.IsCompleted
                || (Volatile.Read(ref secondCaller) is { } caller && (caller.ThreadState & ThreadState.WaitSleepJoin) != 0), WaitLimit), Is.True);
        }
        finally
        {
            release.Set();
        }

        Assert.That(Task.WaitAll(new[] { first, second }, WaitLimit), Is.True);
    }

    /// <summary>Writes <c>{}</c>, holding the writer in its first event until the gate opens.</summary>
    sealed class GatedFormatter(ManualResetEventSlim formatting, ManualResetEventSlim gate) : Serilog.Formatting.ITextFormatter
    {
        public void Format(LogEvent logEvent, TextWriter output)
        {
            formatting.Set();
            gate.Wait();
            output.Write("{}");
        }
    }

    [Test]
    public void AnEventLoggedWhileTheWriterFormatsIsDroppedNotWaitedForWhenTheQueueIsFull()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        using var returned = new ManualResetEventSlim();
        RollingJsonSink? sink = null;
        // Formatting event 0 logs two events: the first takes the slot event 0 freed, the second finds the queue full.
        var formatter = new LoggingFormatter(logEvent =>
        {
            if (!Equals(((ScalarValue)logEvent.Properties["Seq"]).Value, 0L)) return;
            sink!.Emit(Event(100));
            sink.Emit(Event(101));
            returned.Set();
        });
        sink = Create(path, o => { o.QueueLimit = 2; o.BlockWhenFull = true; o.Formatter = formatter; });
        sink.PauseWriter();
        sink.Emit(Event(0));
        sink.Emit(Event(1));
        sink.ResumeWriter();

        Assert.That(returned.Wait(WaitLimit), Is.True, "The writer waited for room only it could make.");
        sink.Dispose();
        Assert.That((sink.EventsWritten, sink.DroppedQueueFull), Is.EqualTo((3L, 1L)));
    }

    /// <summary>Writes <c>{}</c> after running an action on the event, as a value's <c>ToString()</c> that logs would.</summary>
    sealed class LoggingFormatter(Action<LogEvent> whileFormatting) : Serilog.Formatting.ITextFormatter
    {
        public void Format(LogEvent logEvent, TextWriter output)
        {
            whileFormatting(logEvent);
            output.Write("{}");
        }
    }

    [Test]
    public void ConcurrentCallersDuringDisposalAreAllWrittenOrCounted()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path);
        const int producers = 4;
        var logged = new long[producers];
        var disposed = 0;
        using var running = new CountdownEvent(producers);
        var threads = new Thread[producers];
        for (var t = 0; t < producers; t++)
        {
            var index = t;
            threads[t] = new Thread(() =>
            {
                // Every producer is mid-stream when disposal starts, and goes on until well after it returned: calls
                // before, during and after disposal must all be written or counted. Bounded, so it stops by itself.
                var after = 0;
                for (var i = 0; i < 2_000_000 && after < 1_000; i++)
                {
                    sink.Emit(Event(i));
                    logged[index]++;
                    if (i == 1_000) running.Signal();
                    if (Volatile.Read(ref disposed) != 0) after++;
                }
            });
            threads[t].Start();
        }
        Assert.That(running.Wait(WaitLimit), Is.True);
        sink.Dispose();
        Volatile.Write(ref disposed, 1);
        foreach (var thread in threads) Assert.That(thread.Join(WaitLimit), Is.True);

        var total = 0L;
        foreach (var count in logged) total += count;
        Assert.That((sink.EventsWritten + sink.EventsDropped, sink.QueueLength), Is.EqualTo((total, 0)));
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(sink.EventsWritten));
        // Not vacuous: events were written before disposal, and calls after it were counted as dropped at shutdown.
        Assert.That(sink.EventsWritten, Is.GreaterThanOrEqualTo(producers * 1_000L));
        Assert.That(sink.DroppedShutdown, Is.GreaterThanOrEqualTo(producers * 1_000L));
    }

    [Test, NonParallelizable]
    public void AMeterListenerThatThrowsNeverReachesTheCallerThatCountsADrop()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var listener = ListenToDrops((_, _) => throw new InvalidOperationException("listener failed"));

        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename());
        sink.Dispose();

        // Logged after disposal: counted (reason shutdown) on the caller's thread, which the listener must not reach.
        Assert.DoesNotThrow(() => sink.Emit(Event(1)));
        Assert.That(sink.DroppedShutdown, Is.EqualTo(1));
        Assert.That(selfLog, Has.Some.Contains("listener failed"));
    }

    [Test, NonParallelizable]
    public void AFormatterThatThrowsLosesOnlyThatEventAndIsReported()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var formatter = new TestUtf8Formatter { ThrowWhen = e => e.Properties["Seq"] is ScalarValue { Value: 2L } };
        var sink = Create(path, o => o.Formatter = formatter);
        EmitAndWait(sink, Event(1), Event(2), Event(3));
        sink.Dispose();
        Assert.That(LogFiles.Lines(path).Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()), Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(sink.DroppedFormatError, Is.EqualTo(1));
        lock (selfLog) Assert.That(selfLog, Has.Some.Contains("formatter failed"));
    }

    sealed class ThrowingText : IFormattable
    {
        public override string ToString() => throw new InvalidOperationException("no text");
        public string ToString(string? format, IFormatProvider? formatProvider) => throw new InvalidOperationException("no formatted text");
    }

    [Test, NonParallelizable]
    public void AValueThatThrowsWhileTheWriterFormatsItCostsItsTextNotItsEventEvenWhenSelfLogThrows()
    {
        // SelfLog.Enable(TextWriter) on a full disk throws from every line: the writer's formatting must still succeed.
        using var failingSelfLog = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.Failing();
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => o.Formatter = null); // the Formatting package's CLEF, on the writer thread
        var hostile = Some.LogEvent("Event {Seq} {V} {Total:0.00}",
            properties: [Some.Property("Seq", 2L), Some.Property("V", new ThrowingText()), Some.Property("Total", new ThrowingText())]);
        EmitAndWait(sink, Event(1), hostile, Event(3));
        sink.Dispose();

        var lines = LogFiles.Lines(path);
        Assert.That(lines.Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(lines[1], Does.Contain("<ThrowingText.ToString() failed>"));
        Assert.That(sink.EventsDropped, Is.Zero);
    }

    [Test]
    public void AMissingDirectoryIsCreated()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "a", "b", "c", "app.json");
        var sink = Create(path);
        EmitAndWait(sink, Event(1));
        sink.Dispose();
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(1));
    }

    [Test]
    public void AnIncompleteLastLineIsEndedBeforeTheNextEvent()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        File.WriteAllText(path, "{\"Seq\":0}\n{\"cut\":\"by a cra", new UTF8Encoding(false));
        var sink = Create(path);
        EmitAndWait(sink, Event(1));
        sink.Dispose();
        var lines = LogFiles.Lines(path);
        Assert.That(lines, Has.Count.EqualTo(3));
        Assert.That(lines[1], Is.EqualTo("{\"cut\":\"by a cra"));
        Assert.That(LogFiles.Property(LogFiles.Parse(lines[2]), "Seq").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    public void AnExistingFileIsAppendedTo()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var first = Create(path);
        EmitAndWait(first, Event(1));
        first.Dispose();
        var second = Create(path);
        EmitAndWait(second, Event(2));
        second.Dispose();
        Assert.That(LogFiles.Lines(path).Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void TheEventThatCrossesTheSizeLimitIsWrittenWholeAndTheNextGoesToANewFile()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var sink = Create(path, o => o.FileSizeLimitBytes = 1_000);
        var payload = new string('x', 300);
        for (var i = 0; i < 10; i++) EmitAndWait(sink, Event(i, text: payload));
        sink.Dispose();

        var names = LogFiles.Names(folder.Path);
        Assert.That(names, Is.EqualTo(new[] { "app-.json", "app-_001.json", "app-_002.json", "app-_003.json" }));
        var lineLength = new FileInfo(Path.Combine(folder.Path, "app-.json")).Length / 3;
        foreach (var name in names.Take(3))
        {
            var file = Path.Combine(folder.Path, name);
            Assert.That(LogFiles.Lines(file), Has.Count.EqualTo(3), name);
            Assert.That(new FileInfo(file).Length, Is.GreaterThanOrEqualTo(1_000).And.LessThan(1_000 + lineLength), name);
        }
        Assert.That(LogFiles.AllLines(folder.Path), Has.Count.EqualTo(10));
        Assert.That(sink.Rollovers, Is.EqualTo(3));
    }

    [Test]
    public void AFixedCurrentFileRollingBySizeScansTheDirectoryOncePerPeriodNotAtEveryRoll()
    {
        // A directory of months of rolled files: a scan of it at every size roll held up the writer for each one.
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var sink = Create(path, o => { o.FixedCurrentFileName = true; o.FileSizeLimitBytes = 1_000; });
        for (var i = 0; i < 30; i++) EmitAndWait(sink, Event(i, text: new string('x', 300)));
        sink.Dispose();

        Assert.That(sink.Rollovers, Is.EqualTo(9));
        Assert.That(sink.DirectoryScans, Is.EqualTo(1));
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json" }.Concat(Enumerable.Range(1, 8).Select(i => $"app-_{i:000}.json")).Append("app.json")));
        var lines = LogFiles.Lines(Path.Combine(folder.Path, "app-.json"));
        foreach (var name in Enumerable.Range(1, 8).Select(i => $"app-_{i:000}.json").Append("app.json"))
            lines.AddRange(LogFiles.Lines(Path.Combine(folder.Path, name)));
        Assert.That(lines.Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()), Is.EqualTo(Enumerable.Range(0, 30).Select(i => (long)i)));
    }

    [TestCase(false, "app-_2147483647.json.gz", new[] { "app-_002.json", "app-_003.json", "app-_2147483647.json.gz" })]
    [TestCase(false, "app-_99999999.json.gz", new[] { "app-_100000002.json", "app-_100000003.json" })]
    [TestCase(true, "app-_2147483647.json.gz", new[] { "app-_002.json", "app-_2147483647.json.gz", "app.json" })]
    [TestCase(true, "app-_99999999.json.gz", new[] { "app-_100000002.json", "app.json" })]
    public void AFileWithAHugeSequenceNumberDoesNotMakeTheSequenceOverflow(bool fixedCurrentFileName, string planted, string[] expected)
    {
        // Planted or left by another tool in a shared directory: continuing after _2147483647 wrapped around to
        // _-2147483648, a name retention does not recognise, so files piled up past every limit from then on. Every
        // name the writer continues with stays one that retention recognises.
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        File.WriteAllText(Path.Combine(folder.Path, planted), "");
        var sink = Create(path, o => { o.FileSizeLimitBytes = 1_000; o.RetainedFileCountLimit = 2; o.FixedCurrentFileName = fixedCurrentFileName; });
        for (var i = 0; i < 10; i++) EmitAndWait(sink, Event(i, text: new string('x', 300)));
        sink.Dispose();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(expected));
    }

    [Test]
    public void ARestartContinuesTheNewestFileOfThePeriodUnlessItIsFull()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var payload = new string('x', 300);
        var first = Create(path, o => o.FileSizeLimitBytes = 1_000);
        for (var i = 0; i < 4; i++) EmitAndWait(first, Event(i, text: payload));
        first.Dispose();
        var second = Create(path, o => o.FileSizeLimitBytes = 1_000);
        EmitAndWait(second, Event(4, text: payload));
        second.Dispose();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json", "app-_001.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-_001.json")), Has.Count.EqualTo(2));
    }

    [Test]
    public void DurableModeAndFlushOnLevelWriteEverything()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => { o.Durability = RollingJsonDurability.Durable; o.FlushOnLevel = LogEventLevel.Warning; });
        EmitAndWait(sink, Event(1), Event(2, LogEventLevel.Error), Event(3));
        // Written before disposal: the error's batch was flushed on its own.
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(3));
        sink.Dispose();
    }

    [Test]
    public void ThrowingFromTheFileSystemNeverReachesTheCaller()
    {
        using var folder = TempFolder.ForCaller();
        // A directory stands where the file should be: every open fails.
        var path = Path.Combine(folder.Path, "blocked.json");
        Directory.CreateDirectory(path);
        var sink = Create(path, o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        Assert.DoesNotThrow(() => EmitAndWait(sink, Event(1), Event(2)));
        sink.Dispose();
        Assert.That((sink.EventsWritten, sink.DroppedIoError), Is.EqualTo((0L, 2L)));
    }

    [Test]
    public void AStreamOfEventsSeldomMakesACallerWakeTheWriter()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path);
        const int events = 20_000;
        for (var i = 0; i < events; i++) sink.Emit(Event(i));
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        var wakes = sink.CallerWakes;
        sink.Dispose();

        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(events));
        // A polling writer is woken by a caller at most once per WakeThreshold queued events (plus the first event,
        // and a few more if this machine stalls the loop long enough for the writer to fall asleep).
        Assert.That(wakes, Is.LessThanOrEqualTo(events / RollingJsonSink.WakeThreshold + 10));
    }

    [Test]
    public void TheWriterCommitsTheQueuesRingAheadOfCallersAndNoFurther()
    {
        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename());
        EmitAndWait(sink, Enumerable.Range(0, 10).Select(i => Event(i)).ToArray());
        var committed = sink.QueueCommittedCellsForTests;
        sink.Dispose();
        // The default limit's ring is 131,072 cells: a window past the first events, taken by the writer before its
        // batch, so that callers do not take the page faults; not the whole ring for ten events.
        Assert.That(committed, Is.InRange(BoundedEventQueue.CommitAheadCells, BoundedEventQueue.CommitAheadCells + 10));
    }

    [Test]
    public void AnEventReachesTheFileWithoutAFlushAfterTheWriterFellAsleep()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        // A writer that, once asleep, would sleep for an hour: only the caller's wake can get the event written, and no
        // timed-out sleep can leave a moment in which the writer is awake but not polling.
        var sink = Create(path, o => o.IdleSleep = TimeSpan.FromHours(1));
        // Idle long enough for the writer to stop polling and sleep until a caller wakes it.
        var asleep = SpinWait.SpinUntil(() => sink.WriterSleeping, WaitLimit);
        sink.Emit(Event(1));
        var written = SpinWait.SpinUntil(() => sink.EventsWritten == 1, WaitLimit);
        sink.Dispose();
        Assert.That((asleep, written, sink.CallerWakes), Is.EqualTo((true, true, 1L)));
    }

    [Test]
    public void AFlushOnLevelEventEndsThePollEarly()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        // A writer that would otherwise look at the queue once an hour.
        var sink = Create(path, o => { o.FlushOnLevel = LogEventLevel.Error; o.PollInterval = TimeSpan.FromHours(1); });
        EmitAndWait(sink, Event(0));
        var polling = SpinWait.SpinUntil(() => sink.WriterPolling, WaitLimit);
        sink.Emit(Event(1));
        sink.Emit(Event(2, LogEventLevel.Error));
        var written = SpinWait.SpinUntil(() => sink.EventsWritten == 3, WaitLimit);
        sink.Dispose();
        Assert.That((polling, written), Is.EqualTo((true, true)));
    }

    [Test]
    public void CallersLeaveAPollingWriterAloneUntil4096EventsAreQueued()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        // A writer that would otherwise look at the queue once an hour. A caller's wake is counted on the caller's own
        // thread, so the counts below are read without waiting for the writer.
        var sink = Create(path, o => o.PollInterval = TimeSpan.FromHours(1));
        EmitAndWait(sink, Event(0));
        var polling = SpinWait.SpinUntil(() => sink.WriterPolling, WaitLimit);
        var before = sink.CallerWakes;
        for (var i = 1; i < 4096; i++) sink.Emit(Event(i));
        var below = sink.CallerWakes - before;
        sink.Emit(Event(4096));
        var at = sink.CallerWakes - before;
        var written = SpinWait.SpinUntil(() => sink.EventsWritten == 4097, WaitLimit);
        sink.Dispose();
        // Each wake may preempt the caller (see RollingJsonSink.WakeThreshold): not one for 4,095 queued events; the
        // 4,096th ends the hour-long poll, and the writer writes them all.
        Assert.That((polling, below, at, written), Is.EqualTo((true, 0L, 1L, true)));
    }

    /// <summary>Formats slowly (a value whose ToString() is slow): the writer is inside one batch at the deadline.</summary>
    sealed class SlowFormatter : Serilog.Formatting.ITextFormatter
    {
        public void Format(LogEvent logEvent, TextWriter output)
        {
            Thread.Sleep(20); // the work being slow, not a wait for another thread
            output.Write("{}\n");
        }
    }

    [Test]
    public void WhenTheShutdownTimeoutPassesInsideABatchEveryAcceptedEventIsWrittenOrCounted()
    {
        using var folder = TempFolder.ForCaller();
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.Formatter = new SlowFormatter();
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
        });
        sink.PauseWriter();
        for (var i = 0; i < 200; i++) sink.Emit(Event(i)); // about 4 s of formatting, far past the timeout
        sink.Dispose();

        Assert.That(sink.EventsWritten + sink.EventsDropped, Is.EqualTo(200));
        Assert.That(sink.EventsDropped, Is.GreaterThan(0));
    }

    /// <summary>Runs an action on each event (on the writer), then writes <c>{}</c>; the action may throw.</summary>
    sealed class ScriptedFormatter(Action<long> onEvent) : Serilog.Formatting.ITextFormatter
    {
        public void Format(LogEvent logEvent, TextWriter output)
        {
            onEvent((long)((ScalarValue)logEvent.Properties["Seq"]).Value!);
            output.Write("{}");
        }
    }

    [Test]
    public void WaitUntilWrittenDoesNotReturnWhileAnEarlierEventIsStillBufferedBehindAFormatFailure()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        using var formatting = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // Event 0 is held in the formatter, event 1 fails to format, event 2 holds the writer in the same batch, with
        // event 0 formatted into the buffer but not yet written.
        var sink = Create(path, o => o.Formatter = new ScriptedFormatter(seq =>
        {
            if (seq == 0) { formatting.Set(); gate.Wait(WaitLimit); }
            else if (seq == 1) throw new InvalidOperationException("formatter failure on purpose");
            else if (seq == 2) { holding.Set(); release.Wait(WaitLimit); }
        }));
        try
        {
            sink.Emit(Event(0));
            Assert.That(formatting.Wait(WaitLimit), Is.True);
            // The waiter's target is event 0 only; events 1 and 2 come after it.
            var waiter = Task.Factory.StartNew(() =>
            {
                var done = sink.WaitUntilWritten(WaitLimit);
                return (done, lines: File.Exists(path) ? LogFiles.Lines(path).Count : 0);
            }, TaskCreationOptions.LongRunning);
            Assert.That(SpinWait.SpinUntil(() => sink.ProgressWaiters > 0, WaitLimit), Is.True);
            sink.Emit(Event(1));
            sink.Emit(Event(2));
            gate.Set();
            Assert.That(holding.Wait(WaitLimit), Is.True);
            // Event 1 has failed by now. Before event 0 can be written, let the waiter look again at least once after
            // that failure: one (wrongly) released by it returns, a correct one goes back to waiting. Two more checks,
            // as the first may have read the position before the failure.
            var checks = sink.ProgressChecks;
            Assert.That(SpinWait.SpinUntil(() => waiter.IsCompleted || sink.ProgressChecks >= checks + 2, WaitLimit), Is.True);
            release.Set();
            Assert.That(waiter.Wait(WaitLimit), Is.True);
            var (done, lines) = waiter.Result;
            Assert.That(done, Is.True);
            Assert.That(lines, Is.GreaterThanOrEqualTo(1), "WaitUntilWritten returned while event 0 was still in the writer's buffer.");
        }
        finally
        {
            gate.Set();
            release.Set();
            sink.Dispose();
        }
        Assert.That((sink.EventsWritten, sink.DroppedFormatError), Is.EqualTo((2L, 1L)));
    }

    [Test]
    public void WaitUntilWrittenCountsAnEventDroppedAfterTheWriterStoppedAsDone()
    {
        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename());
        EmitAndWait(sink, Event(1));
        // Accepted into the queue after the writer stopped: dropped at shutdown, so nothing is left to wait for.
        sink.BeforeEnqueueForTests = () =>
        {
            sink.BeforeEnqueueForTests = null;
            sink.Dispose();
        };
        sink.Emit(Event(2));
        Assert.That(sink.DroppedShutdown, Is.EqualTo(1));
        Assert.That(sink.WaitUntilWritten(TimeSpan.FromSeconds(2)), Is.True, "WaitUntilWritten waited for an event already counted as dropped.");
    }

    [Test]
    public void DisposalWithTheLongestShutdownTimeoutAllowedDoesNotThrow()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(int.MaxValue));
        sink.Emit(Event(1));
        Assert.DoesNotThrow(sink.Dispose);
        Assert.DoesNotThrow(sink.Dispose);
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(1));
    }
}
