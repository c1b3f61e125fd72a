using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Formatting.Json;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// Lines formatted by their callers (<see cref="RollingJsonOptions.CallerFormatBacklog"/>) under faults and disposal:
/// written + dropped equals logged, counted as events are, and no line is lost, counted twice or written after its
/// return to the pool. All capture SelfLog.
/// </summary>
[NonParallelizable]
public class CallerFormattingFaultTests
{
    readonly List<string> _selfLog = new();
    readonly List<string> _mountPoints = new();
    TemporarySelfLog? _capture;
    TempFolder? _folder;
    TimeSpan[] _retryDelays = RollingJsonSink.RetryDelays;
    TimeSpan _faultDelay = RollingJsonSink.FaultDelay;

    [SetUp]
    public void SetUp()
    {
        lock (_selfLog) _selfLog.Clear();
        _capture = TemporarySelfLog.SaveTo(_selfLog);
        _folder = TempFolder.ForCaller();
        _retryDelays = RollingJsonSink.RetryDelays;
        _faultDelay = RollingJsonSink.FaultDelay;
    }

    [TearDown]
    public void TearDown()
    {
        RollingJsonSink.RetryDelays = _retryDelays;
        RollingJsonSink.FaultDelay = _faultDelay;
        foreach (var mountPoint in _mountPoints) Mounts.UnmountAll(mountPoint);
        _mountPoints.Clear();
        _capture?.Dispose();
        _folder?.Dispose();
    }

    string SelfLogText()
    {
        lock (_selfLog) return string.Join("\n", _selfLog);
    }

    /// <summary>A sink whose events are formatted by their callers past the first queued one (or never).</summary>
    static RollingJsonSink CreateSink(string path, bool callersFormat, Action<RollingJsonOptions>? configure = null) => Create(path, o =>
    {
        o.Formatter = new CompactJsonFormatter();
        o.CallerFormatBacklog = callersFormat ? 1 : 0;
        configure?.Invoke(o);
    });

    static List<long> Sequences(IEnumerable<string> lines) =>
        lines.Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()).ToList();

    [Test]
    public void ALineWhoseCopyIntoTheBatchFailsIsCountedAsDroppedAndTheWriterGoesOn()
    {
        // The copy grows the batch buffer (an OutOfMemoryException), or meets any bug: before the fix it was outside the
        // writer's handling of a failed event, so the line was neither written nor counted, and WaitUntilWritten (and
        // disposal) waited for it until its timeout.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true);
        var copies = 0;
        sink.LineCopyForTests = () =>
        {
            if (Interlocked.Increment(ref copies) == 3) throw new OutOfMemoryException("no room to grow the batch, on purpose");
        };
        try
        {
            sink.PauseWriter();
            for (var i = 0; i < 10; i++) sink.Emit(Event(i));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        // Events 1 to 9 were lines; the third copied (event 3) failed.
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 1, 2, 4, 5, 6, 7, 8, 9 }));
        Assert.That((sink.EventsWritten, sink.DroppedFormatError, sink.EventsDropped), Is.EqualTo((9L, 1L, 1L)));
        Assert.That(sink.PooledLines, Is.EqualTo(9), "Every line, the one that failed too, went back to the pool.");
        Assert.That(SelfLogText(), Does.Contain("1 event(s) dropped").And.Contain("on purpose"));
        Assert.That(SelfLogText(), Does.Not.Contain("writer fault"));
    }

    [Test]
    public void ACallerThatCannotGetALineQueuesItsEventWholeAndNothingIsThrownOrLost()
    {
        // The pool is empty and the new line it allocates finds no memory. Before the fix the line was taken outside the
        // caller's handling of a failed format, so the OutOfMemoryException went up through Emit into the application
        // (or Serilog's sink guard, which loses the event uncounted).
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true);
        var allocations = 0;
        sink.LinesForTests.NewLineForTests = () =>
            Interlocked.Increment(ref allocations) == 2 ? throw new OutOfMemoryException("no line, on purpose") : new FormattedLine();
        try
        {
            sink.PauseWriter();
            Assert.DoesNotThrow(() =>
            {
                for (var i = 0; i < 5; i++) sink.Emit(Event(i));
            });
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }));
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((5L, 0L)));
        Assert.That(sink.PooledLines, Is.EqualTo(3), "Events 1, 3 and 4 were lines; event 2 was queued whole.");
    }

    [Test]
    public void ACallerInterruptedAsItFormatsItsLineQueuesItsEventWholeAndTheInterruptIsKept()
    {
        // A caller formatting its own line (a backlog) is interrupted (Thread.Interrupt) in a wait the formatting makes (a
        // value's ToString() that takes a contended lock; here the new line's allocation, which sleeps). The event is
        // queued whole and the writer formats it, as for any format failure on the caller; the interrupt is the
        // application's, as everywhere else in Emit. Before the fix the caller's catch-all swallowed it.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true);
        Exception? escaped = null;
        var interruptKept = false;
        var waits = 0;
        try
        {
            sink.PauseWriter();
            sink.Emit(Event(0));
            var thread = new Thread(() =>
            {
                sink.LinesForTests.NewLineForTests = () =>
                {
                    Interlocked.Increment(ref waits);
                    // Interrupted before its wait, as a thread the application interrupts just then: the wait throws.
                    Thread.CurrentThread.Interrupt();
                    Thread.Sleep(WaitLimit);
                    return new FormattedLine();
                };
                try
                {
                    sink.Emit(Event(1));
                }
                catch (Exception ex)
                {
                    escaped = ex;
                    return;
                }
                finally
                {
                    sink.LinesForTests.NewLineForTests = null;
                }
                try
                {
                    Thread.Sleep(WaitLimit);
                }
                catch (ThreadInterruptedException)
                {
                    interruptKept = true;
                }
            });
            thread.Start();
            Assert.That(thread.Join(WaitLimit + WaitLimit + WaitLimit), Is.True);
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(waits, Is.EqualTo(1), "the premise: the caller formatted its line and waited");
        Assert.That(escaped, Is.Null);
        Assert.That(interruptKept, Is.True, "The caller's interrupt was swallowed.");
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 1 }));
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((2L, 0L)));
    }

    /// <summary>Makes the pool's next <paramref name="failures"/> keeps of a line throw, as a queue segment that finds no memory.</summary>
    static void FailNextKeeps(RollingJsonSink sink, int failures) => sink.LinesForTests.KeepForTests = () =>
    {
        if (Interlocked.Decrement(ref failures) >= 0) throw new OutOfMemoryException("no memory to keep the line, on purpose");
    };

    sealed class FailingValueFormatter() : JsonValueFormatter(typeTagName: "$type")
    {
        protected override void FormatLiteralValue(object? value, TextWriter output)
        {
            if (value is "boom") throw new FormatException("cannot format this value on purpose");
            base.FormatLiteralValue(value, output);
        }
    }

    [Test]
    public void ACallerWhoseFailedLineThePoolCannotTakeBackQueuesItsEventAndNothingIsThrown()
    {
        // The caller's formatting fails, and handing its line back to the pool throws too (no memory). Before the fix
        // that second exception went up through Emit into the application, and the event was neither queued nor counted.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true, o => o.Formatter = new CompactJsonFormatter(new FailingValueFormatter()));
        // The first keep is that line's: the writer, paused, hands back none before it.
        FailNextKeeps(sink, 1);
        try
        {
            sink.PauseWriter();
            Assert.DoesNotThrow(() =>
            {
                for (var i = 0; i < 5; i++) sink.Emit(Event(i, text: i == 2 ? "boom" : "fine"));
            });
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        // The writer formats event 2 itself, fails too, and drops and reports it.
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 1, 3, 4 }));
        Assert.That((sink.EventsWritten, sink.DroppedFormatError, sink.EventsDropped), Is.EqualTo((4L, 1L, 1L)));
        Assert.That(SelfLogText(), Does.Contain("the formatter failed, 1 event(s) dropped").And.Contain("on purpose"));
        Assert.That(sink.PooledLines, Is.EqualTo(3), "Lines 1, 3 and 4 were kept; the one the pool could not take back was left to the GC.");
    }

    /// <summary>A value whose first <c>ToString()</c> logs <paramref name="count"/> events into the sink: its caller's line then finds the queue full.</summary>
    sealed class FillingValue(RollingJsonSink sink, int firstSequence, int count)
    {
        int _calls;

        public override string ToString()
        {
            if (Interlocked.Increment(ref _calls) == 1)
                for (var i = 0; i < count; i++) sink.Emit(Event(firstSequence + i));
            return "filling";
        }
    }

    [Test]
    public void ACallerWhoseLineFindsTheQueueFullAndCannotBeTakenBackIsCountedAsDroppedAndNothingIsThrown()
    {
        // The caller formatted its line, the queue filled meanwhile (here by what the value's ToString() logs), and
        // handing the line back to the pool throws (no memory). Before the fix the exception went up through Emit into
        // the application, and the drop was neither counted nor reported.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true, o => o.QueueLimit = 4);
        FailNextKeeps(sink, 1);
        try
        {
            sink.PauseWriter();
            sink.Emit(Event(0));
            var filling = Some.LogEvent("Event {Seq} {Value}", properties: new[] { Some.Property("Seq", 1L), Some.Property("Value", new ScalarValue(new FillingValue(sink, 2, 3))) });
            Assert.DoesNotThrow(() => sink.Emit(filling));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 2, 3, 4 }));
        Assert.That((sink.EventsWritten, sink.DroppedQueueFull, sink.EventsDropped), Is.EqualTo((4L, 1L, 1L)));
        Assert.That(SelfLogText(), Does.Contain("1 event(s) dropped"));
    }

    [Test]
    public void ALineThePoolCannotTakeBackAfterItsCopyCostsNeitherItsEventNorItsBatch()
    {
        // The writer copied the line into its batch and hands it back to the pool, which throws (no memory). Before the
        // fix the writer's catch-all took that exception and dropped the batch it held (io_error, a "writer fault").
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true);
        FailNextKeeps(sink, 1);
        try
        {
            EmitWhilePausedAndWait(sink, Enumerable.Range(0, 10).Select(i => Event(i)));
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (long)i)));
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((10L, 0L)));
        Assert.That(sink.PooledLines, Is.EqualTo(8), "Lines 1 to 9 but the one the pool could not take back were kept.");
        Assert.That(SelfLogText(), Does.Not.Contain("writer fault"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AnItemTakenWhenTheSizeRollBeforeItFailsWithAWriterFaultIsCountedAsDropped(bool callersFormat)
    {
        // The first event fills the file, so the next is taken with a roll due: the batch before it is written out and
        // its fsync throws an exception the retry does not take, so the writer's catch-all drops the batch. Before the fix
        // the item already taken (an event, or a line) was dropped with it without being counted, and SelfLog said
        // nothing of the batch's drop.
        RollingJsonSink.FaultDelay = TimeSpan.FromMilliseconds(1);
        var logs = Path.Combine(_folder!.Path, "logs");
        var sink = CreateSink(Path.Combine(logs, "app-.json"), callersFormat, o =>
        {
            o.Durability = RollingJsonDurability.Durable;
            o.FileSizeLimitBytes = 1024;
        });
        var flushes = 0;
        sink.FlushToDiskForTests = file =>
        {
            if (Interlocked.Increment(ref flushes) == 1) throw new InvalidOperationException("fsync failed oddly");
            file.Flush(flushToDisk: true);
        };
        try
        {
            sink.PauseWriter();
            sink.Emit(Event(0, text: new string('r', 1_500)));
            sink.Emit(Event(1));
            sink.Emit(Event(2));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(Sequences(LogFiles.AllLines(logs)), Is.EqualTo(new long[] { 2 }));
        Assert.That((sink.EventsWritten, sink.DroppedIoError, sink.EventsDropped), Is.EqualTo((1L, 2L, 2L)));
        Assert.That(sink.PooledLines, Is.EqualTo(callersFormat ? 2 : 0), "Every line went back to the pool.");
        // Counted in the meter, and said in SelfLog: the catch-all's own line names only the fault.
        Assert.That(SelfLogText(), Does.Contain("2 event(s) the writer held when it faulted dropped (reason io_error)"));
    }

    /// <summary>The counts and files of one sink's run; the same for events queued whole and for lines.</summary>
    sealed record Outcome(long Written, long DroppedIo, long BytesWritten, long Rollovers, string[] Files);

    static Outcome OutcomeOf(RollingJsonSink sink, string logs) => new(sink.EventsWritten, sink.DroppedIoError, sink.BytesWritten, sink.Rollovers,
        LogFiles.Names(logs).Select(n => n + ": " + Convert.ToHexString(File.ReadAllBytes(Path.Combine(logs, n)))).ToArray());

    [Test]
    public void OnAFullDiskLinesAreWrittenDroppedAndCountedExactlyAsEvents()
    {
        // 128 KB left on each disk, then one batch of about 200 KB: the write lands in part, the whole lines that landed
        // stay, the rest is retried and dropped (io_error).
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        const int batch = 200;
        // The same events for both sinks: the files are compared byte for byte.
        var events = Enumerable.Range(0, batch)
            .Select(i => Event(i, i == batch - 1 ? LogEventLevel.Error : LogEventLevel.Information, new string('f', 1000))).ToArray();
        var outcomes = new Dictionary<bool, Outcome>();
        foreach (var callersFormat in new[] { false, true })
        {
            var mountPoint = Path.Combine(_folder!.Path, callersFormat ? "lines" : "events");
            Mounts.MountTmpfsOrIgnore(mountPoint, "1m");
            _mountPoints.Add(mountPoint);
            File.WriteAllBytes(Path.Combine(mountPoint, "filler"), new byte[1024 * 1024 - 128 * 1024]);
            var logs = Path.Combine(mountPoint, "logs");
            var sink = CreateSink(Path.Combine(logs, "app.json"), callersFormat, o => o.FileSizeLimitBytes = null);
            try
            {
                EmitWhilePausedAndWait(sink, events);
            }
            finally
            {
                sink.Dispose();
            }
            var outcome = outcomes[callersFormat] = OutcomeOf(sink, logs);
            var lines = LogFiles.AllLines(logs);
            Assert.That(outcome.Written + sink.EventsDropped, Is.EqualTo(batch));
            Assert.That(outcome.DroppedIo, Is.GreaterThan(0), "the premise: the disk filled");
            Assert.That(lines, Has.Count.EqualTo(outcome.Written));
            Assert.That(outcome.BytesWritten, Is.EqualTo(new FileInfo(Path.Combine(logs, "app.json")).Length));
            foreach (var line in lines) Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose());
            Assert.That(sink.PooledLines, Is.EqualTo(callersFormat ? batch - 1 : 0));
        }
        Assert.That(outcomes[true], Is.EqualTo(outcomes[false]).Using<Outcome>(SameOutcome));
    }

    static bool SameOutcome(Outcome a, Outcome b) =>
        (a.Written, a.DroppedIo, a.BytesWritten, a.Rollovers) == (b.Written, b.DroppedIo, b.BytesWritten, b.Rollovers) && a.Files.SequenceEqual(b.Files);

    [Test]
    public void SizeRollsFallOnTheSameLinesForLinesAsForEvents()
    {
        // Events of several lengths around a small limit: each roll is decided on the length of what was buffered.
        var events = Enumerable.Range(0, 60).Select(i => Event(i, text: new string('s', i * 37 % 700))).ToArray();
        var outcomes = new Dictionary<bool, Outcome>();
        foreach (var callersFormat in new[] { false, true })
        {
            var logs = Path.Combine(_folder!.Path, callersFormat ? "lines" : "events");
            var sink = CreateSink(Path.Combine(logs, "app-.json"), callersFormat, o => o.FileSizeLimitBytes = 2_000);
            try
            {
                EmitWhilePausedAndWait(sink, events);
            }
            finally
            {
                sink.Dispose();
            }
            outcomes[callersFormat] = OutcomeOf(sink, logs);
            Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((60L, 0L)));
            Assert.That(sink.Rollovers, Is.GreaterThan(5), "the premise: the files rolled");
        }
        Assert.That(outcomes[true], Is.EqualTo(outcomes[false]).Using<Outcome>(SameOutcome));
    }

    [Test]
    public void LinesQueuedWhenTheFileWasDeletedAreWrittenAtThePath()
    {
        var fileCheckInterval = RollingJsonSink.FileCheckInterval;
        RollingJsonSink.FileCheckInterval = TimeSpan.Zero;
        var path = Path.Combine(_folder!.Path, "app.json");
        try
        {
            var sink = CreateSink(path, callersFormat: true);
            try
            {
                EmitAndWait(sink, Event(0));
                File.Delete(path);
                EmitWhilePausedAndWait(sink, Enumerable.Range(1, 19).Select(i => Event(i)));
            }
            finally
            {
                sink.Dispose();
            }
            Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(Enumerable.Range(1, 19).Select(i => (long)i)));
            Assert.That((sink.EventsWritten, sink.EventsDropped, sink.PooledLines), Is.EqualTo((20L, 0L, 18)));
        }
        finally
        {
            RollingJsonSink.FileCheckInterval = fileCheckInterval;
        }
    }

    /// <summary>A value whose first <c>ToString()</c> waits until released: its caller is held while it formats.</summary>
    sealed class HeldValue
    {
        public readonly ManualResetEventSlim Entered = new();
        public readonly ManualResetEventSlim Release = new();
        int _calls;

        public override string ToString()
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                Entered.Set();
                if (!Release.Wait(WaitLimit)) throw new TimeoutException("The held caller was never released.");
            }
            return "held";
        }
    }

    public enum Released
    {
        WhileTheWriterDrains,
        AsTheWriterStops,
        AfterDisposalReturned,
    }

    [TestCase(Released.WhileTheWriterDrains, 3L, 0L)]
    [TestCase(Released.AsTheWriterStops, 2L, 1L)]
    [TestCase(Released.AfterDisposalReturned, 2L, 1L)]
    public void ACallerFormattingItsLineAsTheSinkIsDisposedIsWrittenOrCountedOnce(Released released, long written, long droppedAtShutdown)
    {
        // The caller passed the state check while the sink was running and formats its line while disposal runs; it
        // enqueues while the writer drains (written), between the writer's last look and its announcing Stopped (the
        // writer's own last step takes it), or after disposal returned (the caller takes it itself).
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true, o => o.Durability = RollingJsonDurability.Durable);
        var value = new HeldValue();
        var callerDone = new ManualResetEventSlim();
        var callerFinishedInTime = true;
        // Also run on the writer (no assertion there: it would end the writer thread, and the process).
        void ReleaseCallerAndWait()
        {
            value.Release.Set();
            if (!callerDone.Wait(WaitLimit)) callerFinishedInTime = false;
        }
        if (released == Released.WhileTheWriterDrains)
        {
            var flushes = 0;
            sink.FlushToDiskForTests = file =>
            {
                if (Interlocked.Increment(ref flushes) == 1) ReleaseCallerAndWait();
                file.Flush(flushToDisk: true);
            };
        }
        else if (released == Released.AsTheWriterStops)
        {
            sink.BeforeStoppedForTests = ReleaseCallerAndWait;
        }

        sink.PauseWriter();
        sink.Emit(Event(0));
        sink.Emit(Event(1));
        var caller = new Thread(() =>
        {
            sink.Emit(Some.LogEvent("Event {Seq} {Value}", properties: new[] { Some.Property("Seq", 2L), Some.Property("Value", new ScalarValue(value)) }));
            callerDone.Set();
        }) { IsBackground = true };
        caller.Start();
        Assert.That(value.Entered.Wait(WaitLimit), Is.True, "The caller did not start formatting.");
        var disposal = Task.Run(sink.Dispose);
        Assert.That(disposal.Wait(WaitLimit), Is.True, "Disposal did not return.");
        if (released == Released.AfterDisposalReturned) ReleaseCallerAndWait();
        Assert.That(caller.Join(WaitLimit) && callerFinishedInTime, Is.True, "The held caller did not finish.");

        Assert.That((sink.EventsWritten, sink.DroppedShutdown, sink.EventsDropped), Is.EqualTo((written, droppedAtShutdown, droppedAtShutdown)));
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(Enumerable.Range(0, (int)written).Select(i => (long)i)));
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        Assert.That(value.Release.IsSet, Is.True, "the premise: the caller was held until then");
        // Event 1's line, and the held caller's when it was written; one taken at shutdown is not reused.
        Assert.That(sink.PooledLines, Is.EqualTo(released == Released.WhileTheWriterDrains ? 2 : 1));
    }
}
