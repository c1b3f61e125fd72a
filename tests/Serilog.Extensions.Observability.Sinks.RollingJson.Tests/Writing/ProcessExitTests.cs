using System.Diagnostics;
using System.Runtime.InteropServices;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// A process that ends without <c>Log.CloseAndFlush()</c>: the child (see Program.cs) queues events behind a held
/// writer and lets it go only as the process ends, so only what the sink does at the end writes them.
/// </summary>
public class ProcessExitTests
{
    const int Events = 20_000;

    [TestCase("return", 0)]
    [TestCase("exit", 3)]
    public void EveryQueuedEventIsWrittenWhenTheProcessExitsWithoutCloseAndFlush(string how, int exitCode)
    {
        var (code, lines, error) = RunChild(how);
        Assert.That(code, Is.EqualTo(exitCode), error);
        Assert.That(lines.Count, Is.EqualTo(Events), error);
    }

    [TestCase(15, 143)]
    [TestCase(2, 130)]
    public void EveryQueuedEventIsWrittenWhenSigtermOrSigintEndsTheProcess(int signal, int exitCode)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Ignore("Signals need a Unix system.");
        var (code, lines, error) = RunChild("signal", signal);
        Assert.That(code, Is.EqualTo(exitCode), error);
        Assert.That(lines.Count, Is.EqualTo(Events), error);
    }

    [TestCase(15, 143)]
    [TestCase(2, 130)]
    public void EveryQueuedEventIsWrittenWhenSigtermOrSigintEndsAChildStartedWithTheSignalIgnored(int signal, int exitCode)
    {
        // A test runner started as a background job of a non-interactive shell (a CI step or a load loop that runs
        // `dotnet test ... &`) has SIGINT ignored, and so has every process it starts: the runtime keeps an ignored signal
        // ignored, and the test above then waited out its limit for a child that its SIGINT could not end.
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Ignore("Signals need a Unix system.");
        var (code, lines, error) = RunChild(signal, folder => ChildProcesses.IgnoringSignal(signal,
            ChildProcesses.ThisAssembly("exit-child", Path.Combine(folder, "exit-.json"), Events.ToString(System.Globalization.CultureInfo.InvariantCulture), "signal")));
        Assert.That(code, Is.EqualTo(exitCode), error);
        Assert.That(lines.Count, Is.EqualTo(Events), error);
    }

    [Test]
    public void EveryQueuedEventAndTheFatalEventOfTheUnhandledExceptionAreWrittenWhenItEndsTheProcess()
    {
        var (code, lines, error) = RunChild("unhandled");
        Assert.That(code, Is.Not.EqualTo(0), error);
        Assert.That(error, Does.Contain("Exit child worker failed"));
        // The application's own UnhandledException handler, subscribed after the logger was built, logged it last.
        Assert.That(lines.Count, Is.EqualTo(Events + 1), error);
        Assert.That(lines[^1], Does.Contain("Unhandled exception").And.Contain("Exit child worker failed"));
    }

    [Test]
    public void EveryQueuedEventIsWrittenAtExitAfterAnUnhandledExceptionEventTheApplicationSurvivedLongerThanTheShutdownTimeout()
    {
        // A UI framework raises UnhandledException for an exception its handler may mark handled, and the process goes
        // on: the window that event opened has long closed when the process really ends.
#if !NET9_0_OR_GREATER
        Assert.Ignore("Needs ExceptionHandling.RaiseAppDomainUnhandledExceptionEvent, which is .NET 9 and later: .NET 8 has no way to raise UnhandledException for an exception the application survives.");
#endif
        var (code, lines, error) = RunChildMode("raised-child", 2_000);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines.Count, Is.EqualTo(2_000), error);
    }

    [Test]
    public void EventsTheWriterHoldsInARetryWaitWhenTheProcessEndsAreReportedAsNotWritten()
    {
        // The writer took the whole queue in one batch and waits to retry it when the process ends: the events are no
        // longer queued, yet not written. Before the fix the report counted only the queue: "0 queued event(s)". Five
        // more events are queued behind the batch: the report says how many are lost, and which are where (before this
        // fix "15 queued event(s)", though 10 of them were in the writer's batch, and nothing said they were lost).
        var (code, lines, error) = RunChild(0, folder => ChildProcesses.ThisAssembly("retrying-exit-child", Path.Combine(folder, "app.json"), "10", "stay"));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain("the process began to end and 15 event(s) were not written within the shutdown timeout, lost if it ends now: about 5 still queued and 10 taken by the writer but not yet written (a write under way, or one that failed and waits to be retried)."), error);
        Assert.That(error, Does.Not.Contain("queued event(s)"), error);
    }

    [Test]
    public void AProcessEndCutsTheWritersRetryWaitShortSoTheDrainWritesTheBatch()
    {
        // The writer waits (an hour) to retry a batch when the process starts to end, and the path is writable again by
        // then. Before the fix the drain spent its window while the writer slept, and the batch was lost.
        var (code, lines, error) = RunChild(0, folder => ChildProcesses.ThisAssembly("retrying-exit-child", Path.Combine(folder, "app.json"), "10", "recover"));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines, Has.Count.EqualTo(10), error);
        Assert.That(error, Does.Not.Contain("were not written"), error);
    }

    [TestCase(PosixSignal.SIGTERM)]
    [TestCase(PosixSignal.SIGINT)]
    [NonParallelizable]
    public void ASignalCutsTheWritersRetryWaitShortSoItsHandlerWritesTheBatch(PosixSignal signal)
    {
        // .NET 10 ends a process without a host on SIGTERM and SIGINT without ProcessExit (.NET 8 on SIGINT): the
        // signal's handler is the only drain. The writer waits (an hour) to retry a batch, and the path is writable again
        // when the signal comes. Before the fix only ProcessExit cut the wait short: the handler spent its shutdown
        // timeout while the writer slept, and the batch was lost.
        using var folder = TempFolder.ForCaller();
        // The handler's window, which the retried write must make: the handler returns as soon as it does.
        var failing = new FailingSink(folder, Support.Sinks.WaitLimit, new[] { TimeSpan.FromHours(1) });
        using (failing)
        {
            failing.Sink.Emit(Support.Sinks.Event(0));
            failing.WaitForTheFirstRetryWait();
            Directory.Delete(failing.Path);

            failing.Signal(signal);

            Assert.That(failing.Sink.EventsWritten, Is.EqualTo(1), "The signal's drain passed while the writer waited to retry.");
        }
        Assert.That(LogFiles.Lines(failing.Path), Has.Count.EqualTo(1));
    }

    [TestCase("SIGTERM")]
    [TestCase("SIGINT")]
    [TestCase("ProcessExit")]
    [NonParallelizable]
    public void ARetryWaitAfterTheDrainsFirstRetryEndsWithTheDrainsWindowAndTheBatchIsDroppedAndCounted(string ending)
    {
        // Every write fails (a directory stands at the path). The process's end (a signal's handler, or ProcessExit and
        // an unhandled exception, which make callers wait too) cuts the writer's first retry wait short; its retry fails
        // too. Before the fix the next wait ran its whole length (an hour here) past the drain's window, and the batch was
        // neither written nor counted when the window closed and the process ended; now it ends with the window and the
        // batch is dropped and counted, as at disposal's timeout.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        using (var failing = new FailingSink(folder, TimeSpan.FromMilliseconds(500), new[] { TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.FromHours(1) }))
        {
            failing.Sink.Emit(Support.Sinks.Event(0));
            failing.WaitForTheFirstRetryWait();

            if (ending == "ProcessExit") failing.Sink.DrainAsProcessEnds();
            else failing.Signal(Enum.Parse<PosixSignal>(ending));

            Assert.That(failing.Sink.WaitUntilWritten(Support.Sinks.WaitLimit), Is.True, "A retry wait outlasted the drain's window.");
            Assert.That((failing.Sink.EventsWritten, failing.Sink.DroppedIoError), Is.EqualTo((0L, 1L)));
        }
        // Reported at once, not throttled: the process may be ending.
        lock (selfLog)
            Assert.That(selfLog, Has.Some.Contains("the process began to end and writing still failed when its shutdown window closed: 1 event(s) the writer held to retry dropped (reason io_error, 1 so far)"), string.Join("\n", selfLog));
    }

    [TestCase("SIGTERM")]
    [TestCase("ProcessExit")]
    [NonParallelizable]
    public void ABatchDroppedAtTheEndOfADrainsWindowThatTheProcessOutlivedIsReportedTrulyAndInTheRunningTotal(string ending)
    {
        // As above, but the process goes on after the window (another handler cancelled the SIGTERM, a UI framework's
        // ProcessExit or UnhandledException handler did not end it): the drop's line must not say the process is ending,
        // and the next drop's "so far" must count it, as the counters do. Before the fix it said "the process is ending",
        // and the next line "1 event(s) dropped so far" with 2 dropped.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        using (var failing = new FailingSink(folder, TimeSpan.FromMilliseconds(200), new[] { TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.FromHours(1) }))
        {
            var sink = failing.Sink;
            sink.Emit(Support.Sinks.Event(0));
            failing.WaitForTheFirstRetryWait();
            if (ending == "ProcessExit") sink.DrainAsProcessEnds();
            else failing.Signal(PosixSignal.SIGTERM);
            var returned = Stopwatch.StartNew();
            Assert.That(sink.WaitUntilWritten(Support.Sinks.WaitLimit), Is.True, "A retry wait outlasted the drain's window.");
            Assert.That(sink.DroppedIoError, Is.EqualTo(1L));
            // The drop may come a rounding of the wait before the window's end: a batch failing in what is left of it
            // would be bounded by it. The window, set before the call returned, has closed once its length has passed since.
            SpinWait.SpinUntil(() => returned.Elapsed > TimeSpan.FromMilliseconds(200));

            // The process went on. A later batch, failing every attempt, runs out of retries (the window closed before
            // it failed, so it bounds nothing) and is reported throttled: the first such report, so at once.
            RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1) };
            sink.Emit(Support.Sinks.Event(1));
            Assert.That(sink.WaitUntilWritten(Support.Sinks.WaitLimit), Is.True);
            Assert.That((sink.EventsWritten, sink.DroppedIoError), Is.EqualTo((0L, 2L)));
        }
        lock (selfLog)
        {
            var all = string.Join("\n", selfLog);
            Assert.That(selfLog, Has.Some.Contains("the process began to end and writing still failed when its shutdown window closed: 1 event(s) the writer held to retry dropped (reason io_error, 1 so far)"), all);
            Assert.That(selfLog, Has.Some.Contains("writing failed after retries, 2 event(s) dropped so far"), all);
            Assert.That(selfLog, Has.None.Contains("the process is ending").And.None.Contains("is ending the process"), all);
            Assert.That(selfLog, Has.None.Contains("writing failed after retries, 1 event(s)"), all);
        }
    }

    [TestCase("SIGTERM")]
    [TestCase("ProcessExit")]
    [NonParallelizable]
    public void ARetryThatTheDrainsWindowCutShortAndThatFailsOnlyAfterTheWindowClosedIsDroppedAndCounted(string ending)
    {
        // The window cuts the writer's retry wait short, and the writer fails its retry only once the window has closed:
        // held here in the retry's fsync, as a loaded machine that does not schedule the writer within the window (200 ms
        // in the tests above) holds it. Before the fix that failure was taken for one after a window the process had
        // outlived: the batch went back to an hour's retry wait, neither written nor counted when the drain ended, and
        // those tests failed ("A retry wait outlasted the drain's window.") whenever the writer was that late.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        var window = TimeSpan.FromMilliseconds(200);
        using var windowClosed = new ManualResetEventSlim();
        var flushes = 0;
        using (var failing = new FailingSink(folder, window, new[] { TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.FromHours(1) },
            o => o.Durability = RollingJsonDurability.Durable))
        {
            var sink = failing.Sink;
            // Writes open and land; every fsync fails, so the write is taken back and the batch retried.
            Directory.Delete(failing.Path);
            sink.FlushToDiskForTests = _ =>
            {
                if (Interlocked.Increment(ref flushes) == 2) windowClosed.Wait(Support.Sinks.WaitLimit);
                throw new IOException("fsync failed, on purpose");
            };
            sink.Emit(Support.Sinks.Event(0));
            failing.WaitForTheFirstRetryWait();

            if (ending == "ProcessExit") sink.DrainAsProcessEnds();
            else failing.Signal(PosixSignal.SIGTERM);
            // Both return once the window they opened has passed, or a rounding of the wait before: wait out its length.
            var returned = Stopwatch.StartNew();
            SpinWait.SpinUntil(() => returned.Elapsed > window);
            windowClosed.Set();

            Assert.That(sink.WaitUntilWritten(Support.Sinks.WaitLimit), Is.True, "A retry wait outlasted the drain's window.");
            Assert.That((sink.EventsWritten, sink.DroppedIoError, Volatile.Read(ref flushes)), Is.EqualTo((0L, 1L, 2)));
        }
        lock (selfLog)
            Assert.That(selfLog, Has.Some.Contains("the process began to end and writing still failed when its shutdown window closed: 1 event(s) the writer held to retry dropped (reason io_error, 1 so far)"), string.Join("\n", selfLog));
    }

    [Test, NonParallelizable]
    public void ADrainsWindowThatClosedBeforeAWriteFailedDoesNotCutItsRetriesShort()
    {
        // An UnhandledException the application survived (a UI framework's) opened a drain's window, which closed, and
        // the process went on. A write failing later is retried as usual, not dropped as at the window's end.
        using var folder = TempFolder.ForCaller();
        var failing = new FailingSink(folder, TimeSpan.FromTicks(1), new[] { TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1) });
        using (failing)
        {
            var sink = failing.Sink;
            sink.DrainAsProcessEnds();
            var closed = Stopwatch.StartNew();
            SpinWait.SpinUntil(() => closed.Elapsed > TimeSpan.FromTicks(1));
            var waits = 0;
            sink.BeforeRetryWaitForTests = () =>
            {
                // The path is writable again before the last retry.
                if (++waits == 3) Directory.Delete(failing.Path);
            };

            sink.Emit(Support.Sinks.Event(0));

            Assert.That(sink.WaitUntilWritten(Support.Sinks.WaitLimit), Is.True);
            Assert.That((sink.EventsWritten, sink.DroppedIoError, waits), Is.EqualTo((1L, 0L, 3)));
        }
        Assert.That(LogFiles.Lines(failing.Path), Has.Count.EqualTo(1));
    }

    [Test, NonParallelizable]
    public void ABatchThatRunsOutOfRetriesWithinTheDrainsWindowIsReportedAsSuchNotAsDroppedAtItsEnd()
    {
        // The window is long; the retries after the one the drain cuts short (1 ms each) run out well within it.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        using (var failing = new FailingSink(folder, Support.Sinks.WaitLimit, new[] { TimeSpan.FromHours(1) }))
        {
            failing.Sink.Emit(Support.Sinks.Event(0));
            failing.WaitForTheFirstRetryWait();
            // Read at each failure: the writer waits out the hour it has begun until the drain cuts it short.
            RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1) };

            failing.Sink.DrainAsProcessEnds();

            Assert.That((failing.Sink.EventsWritten, failing.Sink.DroppedIoError), Is.EqualTo((0L, 1L)));
        }
        lock (selfLog)
        {
            Assert.That(selfLog, Has.Some.Contains("writing failed after retries, 1 event(s) dropped"), string.Join("\n", selfLog));
            Assert.That(selfLog, Has.None.Contains("shutdown timeout"), string.Join("\n", selfLog));
        }
    }

    [Test, NonParallelizable]
    public void TheSignalsReportSaysHowManyEventsAreLostAndWhereTheyAre()
    {
        // As EventsTheWriterHoldsInARetryWaitWhenTheProcessEndsAreReportedAsNotWritten, for the SIGTERM handler: the
        // writer holds one event in a failing batch (held in the retry hook as the window passes), two more are queued.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        using (var failing = new FailingSink(folder, TimeSpan.FromMilliseconds(200), new[] { TimeSpan.FromHours(1) }))
        {
            var sink = failing.Sink;
            failing.HoldLaterRetryWaitsUntilDisposed();
            sink.Emit(Support.Sinks.Event(0));
            failing.WaitForTheFirstRetryWait();
            sink.Emit(Support.Sinks.Event(1));
            sink.Emit(Support.Sinks.Event(2));

            failing.Signal(PosixSignal.SIGTERM);
        }
        lock (selfLog)
            Assert.That(selfLog, Has.Some.Contains("SIGTERM began to end the process and 3 event(s) were not written within the shutdown timeout, lost if it ends now: about 2 still queued and 1 taken by the writer but not yet written (a write under way, or one that failed and waits to be retried)."), string.Join("\n", selfLog));
    }

    [Test, NonParallelizable]
    public void TheSignalsHandlerSaysNothingOfEventsTheWriterDroppedAfterItsWaitTimedOut()
    {
        // The writer drops a batch still failing as the window closes, and says so itself; the handler's wait times out at
        // about the same moment. Here the writer drops it between the two: the report then had nothing left to count and
        // said "0 event(s) were not written", beside the writer's own line.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        using (var failing = new FailingSink(folder, TimeSpan.FromMilliseconds(200), new[] { TimeSpan.FromHours(1) }))
        {
            var sink = failing.Sink;
            failing.HoldLaterRetryWaitsUntilDisposed();
            sink.Emit(Support.Sinks.Event(0));
            failing.WaitForTheFirstRetryWait();
            sink.BeforeReportNotWrittenForTests = () =>
            {
                failing.ReleaseRetryWaits();
                // Dropped counts as done with: the wait the handler timed out in would now succeed.
                Assert.That(sink.WaitUntilWritten(Support.Sinks.WaitLimit), Is.True, "the writer should drop its batch once its window has closed");
                Assert.That(sink.DroppedIoError, Is.EqualTo(1L));
            };

            failing.Signal(PosixSignal.SIGTERM);
        }
        lock (selfLog)
        {
            Assert.That(selfLog, Has.Some.Contains("writing still failed when its shutdown window closed: 1 event(s) the writer held to retry dropped"), string.Join("\n", selfLog));
            Assert.That(selfLog, Has.None.Contains("were not written"), string.Join("\n", selfLog));
        }
    }

    [Test, NonParallelizable]
    public void TheSignalsReportCountsAnEventTheWriterFailedToFormatBehindItsHeldBatchAsTakenByTheWriter()
    {
        // The split is approximate: an event whose formatting failed behind a batch not yet written is dropped
        // (format_error) yet completed only with that batch, so the report counts it among those the writer took. The
        // line says "about" and "taken by the writer", not that every one of them is in a failed write.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        using (var failing = new FailingSink(folder, TimeSpan.FromMilliseconds(200), new[] { TimeSpan.FromHours(1) },
            o => o.Formatter = new TestUtf8Formatter { ThrowWhen = e => e.Properties["Seq"] is Serilog.Events.ScalarValue { Value: 1L } }))
        {
            var sink = failing.Sink;
            failing.HoldLaterRetryWaitsUntilDisposed();
            // One batch: event 0, then event 1, which the formatter fails.
            sink.PauseWriter();
            sink.Emit(Support.Sinks.Event(0));
            sink.Emit(Support.Sinks.Event(1));
            sink.ResumeWriter();
            failing.WaitForTheFirstRetryWait();
            Assert.That(sink.DroppedFormatError, Is.EqualTo(1L), "the premise: event 1 failed to format");
            sink.Emit(Support.Sinks.Event(2));

            failing.Signal(PosixSignal.SIGTERM);
        }
        lock (selfLog)
            Assert.That(selfLog, Has.Some.Contains("SIGTERM began to end the process and 3 event(s) were not written within the shutdown timeout, lost if it ends now: about 1 still queued and 2 taken by the writer but not yet written"), string.Join("\n", selfLog));
    }

    [Test, NonParallelizable]
    public void ASinkWhoseSignalHandlersCannotBeRegisteredStillLogsAndSaysSo()
    {
        // PosixSignalRegistration sets the runtime's signal handling up in a type initializer: where that fails (no thread
        // or pipe left for it), every registration throws TypeInitializationException, and UnauthorizedAccessException
        // where the system refuses a handler. Neither is a reason to refuse the sink.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        RollingJsonSink.CreateSignalRegistrationForTests = (signal, _) =>
            throw new TypeInitializationException(typeof(PosixSignalRegistration).FullName, new IOException("no signal handling thread"));
        RollingJsonSink sink;
        try
        {
            sink = Support.Sinks.Create(path);
        }
        finally
        {
            RollingJsonSink.CreateSignalRegistrationForTests = null;
        }
        Support.Sinks.EmitAndWait(sink, Support.Sinks.Event(1));
        sink.Dispose();

        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(1));
        lock (selfLog) Assert.That(selfLog, Has.Some.Contains("SIGTERM").And.Some.Contains("SIGINT"));
    }

    [Test]
    public void ADisposedSinkIsNotKeptAliveByTheProcessEndHandlers()
    {
        // ProcessExit, UnhandledException and the signal registrations are process-wide: a sink they still referenced
        // after its disposal would keep its queue and buffers for the life of the process.
        using var folder = TempFolder.ForCaller();
        var sink = CreateWriteAndDispose(folder.AllocateFilename());
        Assert.That(Collected.Eventually(sink), Is.True, "something process-wide keeps a disposed sink alive");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static WeakReference CreateWriteAndDispose(string path)
    {
        var sink = Support.Sinks.Create(path);
        Support.Sinks.EmitAndWait(sink, Support.Sinks.Event(1));
        sink.Dispose();
        return new WeakReference(sink);
    }

    static (int ExitCode, List<string> Lines, string Error) RunChild(string how, int signal = 0) =>
        RunChild(signal, folder => ChildProcesses.ThisAssembly("exit-child", Path.Combine(folder, "exit-.json"), Events.ToString(System.Globalization.CultureInfo.InvariantCulture), how));

    static (int ExitCode, List<string> Lines, string Error) RunChildMode(string mode, int events) =>
        RunChild(0, folder => ChildProcesses.ThisAssembly(mode, Path.Combine(folder, "exit-.json"), events.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    static (int ExitCode, List<string> Lines, string Error) RunChild(int signal, Func<string, ProcessStartInfo> start)
    {
        using var folder = TempFolder.ForCaller();
        var (exitCode, error) = ChildProcesses.Run(start(folder.Path), "logged", signal);
        var lines = LogFiles.AllLines(folder.Path);
        return (exitCode, lines, error);
    }

    /// <summary>
    /// A sink whose every write fails, a directory standing at its <see cref="Path"/> until the test deletes it, with
    /// the retry delays given and the signal handlers it registers kept for <see cref="Signal"/> instead of registered
    /// with the process. Disposing it disposes the sink and restores the retry delays.
    /// </summary>
    sealed class FailingSink : IDisposable
    {
        readonly TimeSpan[] _retryDelays = RollingJsonSink.RetryDelays;
        readonly Dictionary<PosixSignal, Action<PosixSignalContext>> _handlers = new();
        readonly ManualResetEventSlim _retryWaiting = new();
        readonly ManualResetEventSlim _release = new();
        int _retryWaits;
        bool _holdLaterRetryWaits;

        public FailingSink(TempFolder folder, TimeSpan shutdownTimeout, TimeSpan[] retryDelays, Action<RollingJsonOptions>? configure = null)
        {
            Path = System.IO.Path.Combine(folder.Path, "app.json");
            Directory.CreateDirectory(Path);
            RollingJsonSink.RetryDelays = retryDelays;
            RollingJsonSink.CreateSignalRegistrationForTests = (registered, handler) =>
            {
                _handlers[registered] = handler;
                return null!;
            };
            try
            {
                Sink = Support.Sinks.Create(Path, o =>
                {
                    o.FileSizeLimitBytes = null;
                    o.ShutdownTimeout = shutdownTimeout;
                    configure?.Invoke(o);
                });
            }
            finally
            {
                RollingJsonSink.CreateSignalRegistrationForTests = null;
            }
            Sink.BeforeRetryWaitForTests = () =>
            {
                if (Interlocked.Increment(ref _retryWaits) > 1 && _holdLaterRetryWaits) _release.Wait();
                _retryWaiting.Set();
            };
        }

        public string Path { get; }

        public RollingJsonSink Sink { get; }

        /// <summary>Before the first event: the writer waits in each retry wait after the first until disposal.</summary>
        public void HoldLaterRetryWaitsUntilDisposed() => _holdLaterRetryWaits = true;

        public void WaitForTheFirstRetryWait() =>
            Assert.That(_retryWaiting.Wait(Support.Sinks.WaitLimit), Is.True, "The first write should fail on the directory.");

        /// <summary>Lets a retry wait held by <see cref="HoldLaterRetryWaitsUntilDisposed"/> go on before disposal.</summary>
        public void ReleaseRetryWaits() => _release.Set();

        /// <summary>Runs the sink's handler for the signal, as the runtime does when the signal comes.</summary>
        public void Signal(PosixSignal signal) => _handlers[signal](new PosixSignalContext(signal));

        public void Dispose()
        {
            _release.Set();
            Sink.Dispose();
            RollingJsonSink.RetryDelays = _retryDelays;
            _release.Dispose();
            _retryWaiting.Dispose();
        }
    }
}
