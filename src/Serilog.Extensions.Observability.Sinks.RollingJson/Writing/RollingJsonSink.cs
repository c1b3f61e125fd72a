using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Sinks.RollingJson.Diagnostics;
using Serilog.Extensions.Observability.Sinks.RollingJson.Files;
using Serilog.Formatting;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Writing;

/// <summary>
/// The caller enqueues into a bounded ring and returns; one background thread formats batches into a pooled buffer,
/// appends them, rolls by time and size, and hands rolled files to the <see cref="Housekeeper"/>. While the writer is
/// behind (<see cref="RollingJsonOptions.CallerFormatBacklog"/>), callers format their own events and queue the lines.
/// </summary>
internal sealed class RollingJsonSink : ILogEventSink, IDisposable
{
    const int Running = 0, Stopping = 1, Stopped = 2;
    const int BatchBytes = 256 * 1024;

    /// <summary>The batch buffer's start size: a batch, and room for the event that ends it.</summary>
    internal const int BatchBufferBytes = BatchBytes + 16 * 1024;

    /// <summary>How long the writer sleeps when idle, and how often it checks the file is still at its path.</summary>
    internal static TimeSpan FileCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Idle time, in polls (<see cref="RollingJsonOptions.PollInterval"/>, 5 ms: while events keep coming the writer
    /// looks at the queue on its own, so callers seldom pay for waking it), after which the writer sleeps until a caller
    /// wakes it, so an idle sink costs nothing: 10 polls, 50 ms.
    /// </summary>
    internal const int IdlePollsBeforeSleep = 10;

    /// <summary>
    /// Queued events at which a caller wakes a polling writer early (capped at an eighth of the queue limit): bounds
    /// what a burst leaves queued before the writer's next look, while costing a wake on at most one call in this many.
    /// Not lower: Linux tends to run a thread woken by a caller on the caller's own core when the other cores are busy
    /// (a housekeeping pass gzipping a rolled file, say), so each such wake may preempt the caller. At 256 that cost one
    /// caller's p99.9 up to 100× the null sink's while files rolled and compressed on two cores (docs/benchmarks.md).
    /// With the built-in formatters, past <see cref="RollingJsonOptions.CallerFormatBacklog"/> queued events callers queue
    /// formatted lines instead of events, so what the GC must promote does not grow with this.
    /// </summary>
    internal const int WakeThreshold = 4096;

    /// <summary>Waits between attempts to write a failed batch; after the last, the batch is dropped.</summary>
    internal static TimeSpan[] RetryDelays = { TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1000) };

    /// <summary>
    /// How long the writer waits after a fault its catch-all took before it tries the next batch: such a fault (one that
    /// comes before an event is taken from the queue) would otherwise repeat as fast as the writer can loop. Disposal,
    /// or the process starting to end, ends the wait.
    /// </summary>
    internal static TimeSpan FaultDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The least time between two SelfLog reports of one kind of trouble.</summary>
    internal static TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    readonly FileNaming _naming;
    readonly BoundedEventQueue _queue;
    readonly EventEncoder _encoder;
    // The formatter callers may run themselves while the writer is behind (this package's own, which are thread-safe),
    // or null; see FormatOnCaller.
    readonly IUtf8Formatter? _callerFormatter;
    readonly long _callerFormatBacklog;
    // The culture the writer formats in, as it last saw it (null until it runs): Serilog writes a dictionary's keys, and
    // a scalar of a type other than the built-in ones, with the current culture's ToString(), so only a caller in that
    // very culture writes the bytes the writer would have. A caller's may differ: a request's, set by localization.
    CultureInfo? _writerCulture;
    readonly FormattedLinePool _lines = new();
    readonly PooledBufferWriter _buffer;
    readonly TimeProvider _time;
    readonly TimeZoneInfo _zone;
    readonly long? _fileSizeLimit;
    readonly bool _durable;
    readonly LogEventLevel _flushOnLevel;
    readonly bool _flushOnLevelEnabled;
    readonly bool _blockWhenFull;
    readonly TimeSpan _shutdownTimeout;
    readonly TimeSpan _writerStopMargin;
    readonly Housekeeper _housekeeper;
    readonly LivePaths.Claim _claim;
    readonly Thread _writer;
    // No spinning: the writer's waits are either timed polls or long idle sleeps.
    readonly ManualResetEventSlim _wake = new(false, spinCount: 1);
    readonly object _progressLock = new();
    readonly object _roomLock = new();
    readonly object _lateLock = new();
    // PauseWriter's pause (a test hook): _paused, _pauseGeneration and _parkedGeneration change under this lock.
    readonly object _pauseLock = new();
    // Set once disposal starts: ends a retry wait begun before it, which would otherwise run past the shutdown deadline
    // (and past disposal's wait for the writer).
    readonly ManualResetEventSlim _stopRequested = new(false);
    // Set when the process starts to end without disposal (see DrainAsProcessEnds, and the SIGTERM/SIGINT handler): ends
    // a retry wait, or the wait after a fault, once, so the drain's window is spent writing rather than waiting; the
    // writer resets it (the process may go on).
    readonly ManualResetEventSlim _processEnding = new(false);
    // The two above, as a retry wait, or the wait after a fault, waits for them: made once, so that the writer's
    // handling of a fault (perhaps a lack of memory) allocates nothing for its wait.
    readonly WaitHandle[] _endingHandles;

    readonly ThrottledReport _queueFullReport = new(ReportInterval);
    readonly ThrottledReport _ioReport = new(ReportInterval);
    readonly ThrottledReport _formatReport = new(ReportInterval);
    // A fault the writer's catch-all takes can repeat at every batch, and a flapping disk recovers at every flap.
    readonly ThrottledReport _faultReport = new(ReportInterval);
    // What those faults dropped (the batch the writer held, reason io_error): counted in the meter, and said here.
    readonly ThrottledReport _faultDropReport = new(ReportInterval);
    readonly ThrottledReport _resumeReport = new(ReportInterval);
    // A failure of the catch-all's own handling of a fault (see HandleFault): contained, counted and said here.
    readonly ThrottledReport _faultHandlingReport = new(ReportInterval);

    int _state;
    int _disposeCalled;
    // Set when the first disposal has returned (housekeeping waited for, the path's claim released): a second waits for it.
    readonly ManualResetEventSlim _disposed = new(initialState: false);
    int _lateDropReported;
    int _interruptReported;
    int _processEndReported;
    int _writerSleeping;
    int _writerPolling;
    readonly int _wakeThreshold;
    readonly TimeSpan _pollInterval;
    readonly TimeSpan _idleSleep;
    int _idlePolls;
    int _progressWaiters;
    int _roomWaiters;
    long _progressChecks;
    volatile bool _paused;
    volatile bool _parked;
    int _pauseGeneration;
    int _parkedGeneration;
    bool _pauseWaiting;
    long _shutdownDeadline;
    // Set (a Stopwatch timestamp) when the process starts to end without disposing the sink: from then on a caller waits
    // for its event to be written, until this deadline (see DrainAsProcessEnds).
    long _processEndDeadline;
    // The end of the latest window a process ending without disposal gave the writer to drain the queue (a Stopwatch
    // timestamp; DrainAsProcessEnds, or the SIGTERM/SIGINT handler, which makes no caller wait): a retry wait in it ends
    // by then, and a batch still failing then is dropped, as at disposal's deadline (see WriteOut).
    long _drainDeadline;
    readonly EventHandler _onProcessExit;
    readonly UnhandledExceptionEventHandler _onUnhandledException;
    readonly PosixSignalRegistration? _onTerminationSignal;
    readonly PosixSignalRegistration? _onInterruptSignal;

    // Counters: _droppedQueueFull and _droppedShutdown are written by callers, the rest by the writer only.
    long _droppedQueueFull;
    long _droppedQueueFullReported;
    long _droppedShutdown;
    long _droppedIo;
    long _droppedFormat;
    long _written;
    long _bytesWritten;
    long _rollovers;
    long _completed;
    long _callerWakes;
    long _directoryScans;

    // Writer-thread state.
    FileStream? _file;
    volatile string? _filePath;
    long _fileLength;
    DateTime _period = DateTime.MinValue;
    DateTimeOffset _nextCheckpoint = DateTimeOffset.MinValue;
    int _sequence = -1;
    bool _rollBeforeNextEvent;
    // Whether this sink created the dated file at _filePath (rather than opened one that was there, perhaps made by an
    // operator for its owner or ACLs): only a file it created is deleted when no write reached it (see DeleteIfEmpty).
    bool _createdFile;
    // The file length at which the next size roll is due: the size limit, or further on after a fixed current file
    // could not be renamed (it keeps growing, and the rename is tried again one limit later, not at every event).
    long _sizeRollAt;
    bool _faulted;
    long _lastFileCheck;
    long _lastChangeReport;
    // Counted at every event by the writer: padded away from the fields every caller reads (the state, the writer's
    // sleeping and polling flags), so that the writer's stores do not take that cache line from the callers' cores.
    WriterCount _buffered;
    // Events that failed to format after some of the buffered ones were taken: completed with the buffer.
    int _failedBehindBuffered;
    // A batch whose fsync failed and whose bytes could not be taken back through the failed handle: the file, and
    // where the batch starts and how many of its bytes are there (all, or what a write cut short left: see
    // TakeBackUnsynced).
    string? _unsyncedPath;
    long _unsyncedFrom;
    long _unsyncedBytes;
    // An event (or line) taken from the queue for after a size roll that faulted: the writer's catch-all drops it after
    // the batch, counted.
    object? _takenInFault;
    // Where each buffered event's line ends in the buffer: a write cut short keeps the whole lines that landed.
    readonly List<int> _lineEnds = new();

    [StructLayout(LayoutKind.Explicit, Size = 136)]
    struct WriterCount
    {
        [FieldOffset(64)] public int Events;
    }

    // The period and sequence a fixed current file was last renamed to: the next rename in that period goes after it
    // without listing the directory again (thousands of rolled files, at every size roll).
    DateTime _lastRenamedPeriod;
    int _lastRenamedSequence = -1;

    bool _housekeepingDue = true; // a first pass at start-up tidies what earlier runs left

    public RollingJsonSink(FileNaming naming, RollingJsonOptions options)
    {
        _naming = naming;
        // First: a second live sink on these files is refused before it starts anything.
        _claim = LivePaths.Take(naming);
        try
        {
            _queue = new BoundedEventQueue(options.QueueLimit);
            _buffer = new PooledBufferWriter(BatchBufferBytes, options.BufferPool);
            // A polling writer is woken early only when a burst could fill the queue before its next look.
            _wakeThreshold = Math.Max(1, Math.Min(options.QueueLimit / 8, WakeThreshold));
            _pollInterval = options.PollInterval;
            _idleSleep = options.IdleSleep ?? FileCheckInterval;
            var formatter = options.Formatter ?? DefaultFormatter();
            _encoder = new EventEncoder(formatter);
            _callerFormatBacklog = Math.Max(1, Math.Min(options.QueueLimit / 4, options.CallerFormatBacklog));
            if (options.CallerFormatBacklog > 0 && formatter is CompactJsonFormatter or RenderedCompactJsonFormatter or FlatJsonFormatter)
                _callerFormatter = (IUtf8Formatter)formatter;
            _time = options.TimeProvider;
            _zone = options.RollOnUtc ? TimeZoneInfo.Utc : _time.LocalTimeZone;
            _fileSizeLimit = options.FileSizeLimitBytes;
            _sizeRollAt = _fileSizeLimit ?? long.MaxValue;
            _durable = options.Durability == RollingJsonDurability.Durable;
            _flushOnLevelEnabled = options.FlushOnLevel is not null;
            _flushOnLevel = options.FlushOnLevel ?? LogEventLevel.Fatal;
            _blockWhenFull = options.BlockWhenFull;
            _shutdownTimeout = options.ShutdownTimeout;
            _writerStopMargin = options.WriterStopMargin;
            _housekeeper = new Housekeeper(naming, options, _zone, () => _filePath ?? _naming.FixedCurrentPath);
            _endingHandles = new[] { _stopRequested.WaitHandle, _processEnding.WaitHandle };
            _writer = new Thread(WriterLoop) { IsBackground = true, Name = "Serilog RollingJson writer" };
            SinkMetrics.Register(this);
            // Without the creating flow's execution context: the writer lives as long as the sink, and would otherwise
            // keep that flow's async-local values (an Activity and its parents, a request's scopes) alive all that time,
            // and hand them on to the housekeeping threads it starts.
            _writer.UnsafeStart();
            // The writer is a background thread, which the runtime stops dead when the process ends: returning from Main
            // or Environment.Exit() without Log.CloseAndFlush(), an exception no code caught, or SIGTERM (docker stop,
            // systemd, Kubernetes) or SIGINT (Ctrl+C) to a process without a host, which .NET 10 ends without ProcessExit
            // (.NET 8 raises it after SIGTERM, never after SIGINT). Each gives handlers a last chance to write what is queued.
            _onProcessExit = (_, _) => DrainAsProcessEnds();
            _onUnhandledException = (_, _) => DrainAsProcessEnds();
            AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
            AppDomain.CurrentDomain.UnhandledException += _onUnhandledException;
            _onTerminationSignal = RegisterTerminationSignal(PosixSignal.SIGTERM);
            _onInterruptSignal = RegisterTerminationSignal(PosixSignal.SIGINT);
        }
        catch
        {
            // No sink: nothing will dispose it, so the files are free for the next one at once.
            SinkMetrics.Unregister(this);
            _claim.Dispose();
            throw;
        }
    }

    static ITextFormatter DefaultFormatter() => new CompactJsonFormatter();

    internal int QueueLength => _queue.Count;

    /// <summary>Cells of the queue's ring the writer has committed ahead of callers (see <see cref="BoundedEventQueue.CommitAhead"/>); for tests.</summary>
    internal long QueueCommittedCellsForTests => _queue.CommittedCells;

    /// <summary>Lines formatted by callers, written, and kept for reuse (see <see cref="FormatOnCaller"/>); for tests.</summary>
    internal int PooledLines => _lines.Count;

    /// <summary>The pool of lines callers format into; for tests.</summary>
    internal FormattedLinePool LinesForTests => _lines;
    internal long EventsWritten => Interlocked.Read(ref _written);
    internal long BytesWritten => Interlocked.Read(ref _bytesWritten);
    internal long Rollovers => Interlocked.Read(ref _rollovers);

    /// <summary>How many times a caller had to wake the writer (each costs that caller a system call).</summary>
    internal long CallerWakes => Interlocked.Read(ref _callerWakes);

    internal bool WriterSleeping => Volatile.Read(ref _writerSleeping) != 0;
    internal bool WriterPolling => Volatile.Read(ref _writerPolling) != 0;
    internal long DroppedQueueFull => Interlocked.Read(ref _droppedQueueFull);
    internal long DroppedIoError => Interlocked.Read(ref _droppedIo);
    internal long DroppedFormatError => Interlocked.Read(ref _droppedFormat);
    internal long DroppedShutdown => Interlocked.Read(ref _droppedShutdown);
    internal long EventsDropped => DroppedQueueFull + DroppedIoError + DroppedFormatError + DroppedShutdown;
    internal string? CurrentFilePath => _filePath;

    /// <summary>How many times the writer listed the log directory (to find a sequence number); for tests.</summary>
    internal long DirectoryScans => Interlocked.Read(ref _directoryScans);

    /// <summary>Callers inside <see cref="WaitUntilWritten"/> (each has taken its target by then); for tests.</summary>
    internal int ProgressWaiters => Volatile.Read(ref _progressWaiters);

    /// <summary>
    /// How many times a caller inside <see cref="WaitUntilWritten"/> found its target not yet reached and went back to
    /// waiting; for tests, which wait for a fresh check instead of sleeping.
    /// </summary>
    internal long ProgressChecks => Interlocked.Read(ref _progressChecks);

    /// <summary>Callers of <see cref="Emit"/> waiting for room in a full queue (<see cref="RollingJsonOptions.BlockWhenFull"/>); for tests.</summary>
    internal int RoomWaiters => Volatile.Read(ref _roomWaiters);

    /// <summary>Whether a <see cref="PauseWriter"/> call waits for the writer to stop; for tests.</summary>
    internal bool PauseWaitingForTests { get { lock (_pauseLock) return _pauseWaiting; } }

    /// <summary>Whether the writer waits in <see cref="PauseWriter"/>'s pause; for tests.</summary>
    internal bool WriterParkedForTests => _parked;

    /// <summary>Test hook: stands in for <see cref="PosixSignalRegistration.Create"/> (a registration that fails).</summary>
    internal static Func<PosixSignal, Action<PosixSignalContext>, PosixSignalRegistration>? CreateSignalRegistrationForTests;

    /// <summary>Test hook: runs between <see cref="Emit"/>'s state check and its enqueue.</summary>
    internal Action? BeforeEnqueueForTests;

    /// <summary>Test hook: runs between a failed enqueue (the queue is full) and the count of that drop.</summary>
    internal Action? AfterQueueFullForTests;

    /// <summary>Test hook: runs on the writer after it has checked for <see cref="PauseWriter"/> and before it takes events.</summary>
    internal Action? AfterPauseCheckForTests;

    /// <summary>Test hook: runs on the writer as it leaves a <see cref="PauseWriter"/> pause, once resumed.</summary>
    internal Action? AfterResumedForTests;

    /// <summary>Test hook: runs on the writer between its last report and announcing <see cref="Stopped"/>.</summary>
    internal Action? BeforeStoppedForTests;

    /// <summary>
    /// Test hook: runs on the writer as its catch-all handles a fault (see <see cref="HandleFault"/>), at the step its
    /// argument names: <c>"report"</c>, as it reports the fault (when a report is due); <c>"wait"</c>, as it waits before
    /// the next batch. A hook that throws makes that step fail, as a report that finds no memory to box its count would.
    /// </summary>
    internal Action<string>? FaultHandlingForTests;

    /// <summary>
    /// Test hook: runs as the sink makes the report its argument names, when one is due. On the writer: <c>"resumed"</c>,
    /// writing resumed after failing; <c>"format"</c>, an event that failed to format; <c>"abandoned"</c>, queued events the
    /// shutdown deadline abandoned; <c>"queue full"</c>, queue-full drops. On a caller's thread: <c>"late"</c>, events
    /// logged during or after disposal; <c>"queue full after stop"</c>, queue-full drops counted after the writer's last
    /// report. On a caller's thread or a process-end handler: <c>"not written"</c>, events a process-end drain did not
    /// write. A hook that throws makes that report fail, as one that finds no memory to box its count would.
    /// </summary>
    internal Action<string>? ReportForTests;

    /// <summary>Test hook: runs on the writer just before it waits to retry a failed write.</summary>
    internal Action? BeforeRetryWaitForTests;

    /// <summary>Test hook: runs instead of the fsync of a batch (<see cref="RollingJsonDurability.Durable"/>, or an event at <c>flushOnLevel</c>).</summary>
    internal Action<FileStream>? FlushToDiskForTests;

    /// <summary>Test hook: runs after a batch's write (a hook that throws: a write that reports a failure after its bytes landed).</summary>
    internal Action<FileStream>? AfterWriteForTests;

    /// <summary>Test hook: runs on the writer as it copies a line its caller formatted into the batch (a fault there: a copy that fails).</summary>
    internal Action? LineCopyForTests;

    /// <summary>Test hook: runs in a second, concurrent <see cref="Dispose"/> just before it waits for the writer.</summary>
    internal Action? BeforeSecondDisposalWaitsForTests;

    /// <summary>Test hook: runs as a process-end drain whose wait timed out begins its report.</summary>
    internal Action? BeforeReportNotWrittenForTests;

    /// <summary>The compression and retention passes; for tests (which hold a pass in its flush).</summary>
    internal Housekeeper HousekeeperForTests => _housekeeper;

    /// <summary>Whether the writer thread has ended; for tests.</summary>
    internal bool WriterEnded => !_writer.IsAlive;

    public void Emit(LogEvent logEvent)
    {
        if (logEvent is null) return;
        if (Volatile.Read(ref _state) != Running)
        {
            DropAtShutdown(1);
            return;
        }
        BeforeEnqueueForTests?.Invoke();
        object item = logEvent;
        if (_callerFormatter is not null)
        {
            var backlog = _queue.Backlog;
            // Not when the queue looks full and the event would be dropped: a drop costs the caller nothing, and
            // formatting for it would only take the machine from the writer. (The backlog can read up to a hint
            // interval high: then an event that finds room is queued whole, as below the backlog.)
            if (backlog >= _callerFormatBacklog && (backlog < _queue.Capacity || _blockWhenFull)
                && ReferenceEquals(CultureInfo.CurrentCulture, Volatile.Read(ref _writerCulture)))
                item = FormatOnCaller(logEvent);
        }
        if (_queue.TryEnqueue(item))
        {
            Enqueued(logEvent.Level);
            if (Volatile.Read(ref _processEndDeadline) != 0) WaitAsProcessEnds();
            return;
        }
        // Never on the writer itself (a value's ToString() that logs while it is formatted): only the writer makes
        // room, so it would wait for itself until disposal.
        if (_blockWhenFull && Thread.CurrentThread != _writer)
        {
            if (EnqueueWhenRoom(item, logEvent.Level) && Volatile.Read(ref _processEndDeadline) != 0) WaitAsProcessEnds();
            return;
        }
        if (item is FormattedLine unqueued) _lines.Return(unqueued);
        AfterQueueFullForTests?.Invoke();
        // Counted here, reported by the writer: the caller never formats a message or takes a lock.
        Interlocked.Increment(ref _droppedQueueFull);
        // Unless the writer made its last report while this caller was between its failed enqueue and the count (a
        // full queue at disposal): then nobody else will add this drop to the meter or report it. The increment above
        // and the writer's announcement of Stopped are both full fences: either this caller sees Stopped, or the
        // writer's look after announcing it sees this count.
        if (Volatile.Read(ref _state) == Stopped) ReportQueueFullAfterStop();
    }

    /// <summary>
    /// The process is ending and nothing disposed the sink (<c>ProcessExit</c>, or an unhandled exception): writes what is
    /// queued, waiting at most <see cref="RollingJsonOptions.ShutdownTimeout"/> from the first such call (or from this one, when
    /// that window has closed and the process went on). The sink stays
    /// open, and from now on each <see cref="Emit"/> waits for its event to be written within the same deadline: what a
    /// later handler logs (an unhandled exception's <c>Log.Fatal</c>) would otherwise be lost when the runtime stops the
    /// writer thread. Never disposes: another handler may still log, and a disposal of its own drains as usual. Internal
    /// for tests, which stand in for the runtime's events with it.
    /// </summary>
    internal void DrainAsProcessEnds()
    {
        try
        {
            var now = Stopwatch.GetTimestamp();
            var deadline = now + (long)(_shutdownTimeout.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                // A window still open is kept. One that closed while the process went on does not cover this end: a UI
                // framework raises UnhandledException (ExceptionHandling.RaiseAppDomainUnhandledExceptionEvent) for an
                // exception its handler may mark handled, and the application runs on; its ProcessExit gets a window of its own.
                var current = Volatile.Read(ref _processEndDeadline);
                if (current != 0 && current > now) break;
                if (Interlocked.CompareExchange(ref _processEndDeadline, deadline, current) != current) continue;
                Volatile.Write(ref _processEndReported, 0);
                ExtendDrainDeadline(deadline);
                _processEnding.Set();
                break;
            }
            WaitAsProcessEnds();
        }
        catch (Exception ex)
        {
            // Never out of a ProcessExit or UnhandledException handler: that would end the process as an unhandled
            // exception and skip the handlers after this one. (Setting the writer's signal may take a lock, which an
            // interrupt pending on this thread cuts short.)
            ReportProcessEndFailure(ex);
        }
    }

    /// <summary>A failure of a process-end drain's own steps (see <see cref="DrainAsProcessEnds"/>): reported, never thrown.</summary>
    void ReportProcessEndFailure(Exception failure)
    {
        SafeSelfLog.WriteLine("RollingJson sink {0}: writing what is queued as the process began to end failed: {1}", _naming.Directory, failure);
        // An interrupt (Thread.Interrupt) is the application's: kept pending for its next wait, after the report's own.
        if (failure is ThreadInterruptedException) Thread.CurrentThread.Interrupt();
    }

    /// <summary>
    /// SIGTERM and SIGINT (Ctrl+C): writes what is queued, within the shutdown timeout, and never cancels, so whether the
    /// signal ends the process is up to the other handlers. .NET 8 and 10 run every registered handler whether or not one
    /// cancels (10 last registered first, 8 in an order it does not promise): this runs beside a host's or a <c>Console.CancelKeyPress</c>
    /// handler that cancels too, where its wait is only redundant, and when it runs before theirs it delays them by that
    /// wait. It does not make callers wait as <see cref="DrainAsProcessEnds"/> does: another handler may still cancel the
    /// signal, and the process would go on with every call waiting.
    /// </summary>
    PosixSignalRegistration? RegisterTerminationSignal(PosixSignal signal)
    {
        Action<PosixSignalContext> handler = context =>
        {
            try
            {
                // As at ProcessExit, which .NET 10 does not raise here: a writer waiting to retry a failed write tries
                // again now, within this wait, and waits no longer than it. Should another handler cancel the signal, the
                // writer has only retried early (and dropped a batch still failing when this wait ended, as disposal would).
                ExtendDrainDeadline(Stopwatch.GetTimestamp() + (long)(_shutdownTimeout.TotalSeconds * Stopwatch.Frequency));
                _processEnding.Set();
                if (!WaitUntilWritten(_shutdownTimeout)) ReportNotWritten(context.Signal + " began to end the process");
            }
            catch (Exception ex)
            {
                // Never out of the handler, whose exception would end the process unhandled instead of by the signal.
                ReportProcessEndFailure(ex);
            }
        };
        try
        {
            return CreateSignalRegistrationForTests is { } create ? create(signal, handler) : PosixSignalRegistration.Create(signal, handler);
        }
        catch (PlatformNotSupportedException)
        {
            // No such signals here (browser, WASI, mobile).
            return null;
        }
        catch (Exception ex)
        {
            // Not only IOException: the runtime sets signal handling up in a type initializer, so a failure there is a
            // TypeInitializationException (every later registration too), and a refused handler UnauthorizedAccessException.
            // Thrown from here it would fail the configuration and leave this sink's writer running with nobody to dispose
            // it and its path unclaimed; the sink works without the signal, it only cannot drain the queue when it ends the process.
            SafeSelfLog.WriteLine("RollingJson sink {0}: {1} cannot be handled, so what is queued when it ends the process is lost: {2}", _naming.Directory, signal, ex.Message);
            return null;
        }
    }

    /// <summary>Moves <see cref="_drainDeadline"/> on to <paramref name="deadline"/>, never back.</summary>
    void ExtendDrainDeadline(long deadline)
    {
        var current = Volatile.Read(ref _drainDeadline);
        while (current < deadline)
        {
            var seen = Interlocked.CompareExchange(ref _drainDeadline, deadline, current);
            if (seen == current) return;
            current = seen;
        }
    }

    void WaitAsProcessEnds()
    {
        // The writer cannot wait for itself (a value's ToString() that logs, or ends the process).
        if (Thread.CurrentThread == _writer) return;
        try
        {
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), Volatile.Read(ref _processEndDeadline));
            // Past the window a caller no longer waits: the process has outlived it (see DrainAsProcessEnds), or is ending
            // anyway, and a caller that waited in it and timed out has reported that.
            if (left <= TimeSpan.Zero || WaitUntilWritten(left)) return;
        }
        catch (ThreadInterruptedException)
        {
            // Interrupted as it waited (Thread.Interrupt): it stops waiting, as asked, and the exception does not reach the
            // application through a logging call. Its event is queued: the writer writes or counts it as any other. The
            // interrupt is the application's: kept pending for the caller's next wait of its own.
            Thread.CurrentThread.Interrupt();
            return;
        }
        if (Interlocked.Exchange(ref _processEndReported, 1) == 0) ReportNotWritten("the process began to end");
    }

    /// <summary>
    /// Says how many events a process-end drain did not write within its window, and about where they are: still queued,
    /// or taken by the writer (a write under way, or one that failed and waits to be retried), which the queue no longer
    /// counts. The split is approximate, not a snapshot: the two counts are read apart while the writer runs on, and what
    /// the writer took also counts events it is formatting and those it failed to format behind a batch not yet written.
    /// Synchronising them would cost every event. A batch still failing as the window ends is then dropped and reported
    /// by the writer (see WriteOut); when that happened after the wait timed out, nothing is left to report.
    /// </summary>
    void ReportNotWritten(string ending)
    {
        BeforeReportNotWrittenForTests?.Invoke();
        var unfinished = Unfinished;
        // All written or dropped since the wait timed out: the writer drops a batch still failing as the window closes,
        // at about the moment the wait ends, and says so itself.
        if (unfinished == 0) return;
        // Guarded whole, the formatting of the counts included: this runs on a caller's thread or in a process-end
        // handler, which a report that finds no memory must not fail. Nothing is counted here: only the line is lost.
        try
        {
            ReportForTests?.Invoke("not written");
            var queued = Math.Min(_queue.Count, unfinished);
            SafeSelfLog.WriteLine("RollingJson sink {0}: {1} and {2}", _naming.Directory, ending, string.Format(System.Globalization.CultureInfo.InvariantCulture,
                "{0} event(s) were not written within the shutdown timeout, lost if it ends now: about {1} still queued and {2} taken by the writer but not yet written (a write under way, or one that failed and waits to be retried).",
                unfinished, queued, unfinished - queued));
        }
        catch (Exception)
        {
            // Nowhere left to report it.
        }
    }

    /// <summary>
    /// Events accepted and neither written nor dropped yet: those queued, and those the writer holds (a batch it waits to
    /// retry on a failing disk), which the queue no longer counts.
    /// </summary>
    long Unfinished => Math.Max(0, _queue.EnqueuedPosition - Volatile.Read(ref _completed));

    /// <summary>Meters and reports queue-full drops counted after the writer's last report; any thread, once each.</summary>
    void ReportQueueFullAfterStop()
    {
        while (true)
        {
            // The writer wrote _droppedQueueFullReported for the last time before it announced Stopped (a full fence).
            var reported = Interlocked.Read(ref _droppedQueueFullReported);
            var dropped = Interlocked.Read(ref _droppedQueueFull);
            if (dropped <= reported) return;
            if (Interlocked.CompareExchange(ref _droppedQueueFullReported, dropped, reported) != reported) continue;
            SinkMetrics.AddDropped(dropped - reported, SinkMetrics.ReasonQueueFull);
            // Metered above whatever the report does; guarded whole, the boxing of its counts included: on a caller's
            // thread a report that finds no memory must not reach Emit.
            try
            {
                ReportForTests?.Invoke("queue full after stop");
                SafeSelfLog.WriteLine("RollingJson sink {0}: the queue was full ({1} events) as the sink stopped, {2} event(s) dropped.", _naming.Directory, _queue.Capacity, dropped - reported);
            }
            catch (Exception)
            {
                // Only the line is lost.
            }
            return;
        }
    }

    /// <summary>
    /// The writer is behind: the caller formats its event itself, so that what waits in the queue is one pooled line
    /// (long-lived, so a collection has nothing to promote) rather than the event's graph of young objects, which every
    /// collection would promote while the backlog lasts and which leaves the writer working through cold memory. The
    /// caller's own share grows by the formatting while the writer catches up on lines it only copies. Returns the
    /// event itself when formatting fails, or when no line can be had (no memory for a new one): the writer then
    /// formats it again, and drops and reports it as for any event it cannot format. Returns it too for a line longer
    /// than the pool keeps: such a line is mostly one large value (an exception's text, a document), which queued events
    /// often share (a contextual property, the same exception logged by every request of a burst) while each line would
    /// hold a copy of its own, and a backlog of them could hold the queue limit times that value's size. Only a caller
    /// in the writer's culture gets here (see <see cref="_writerCulture"/>).
    /// </summary>
    object FormatOnCaller(LogEvent logEvent)
    {
        FormattedLine? line = null;
        try
        {
            // In the try: a line the pool has to allocate may find no memory, and the writer then formats the event.
            line = _lines.Rent();
            _callerFormatter!.Format(logEvent, line);
            // One event per line, as the writer's encoder makes it (our formatters always end theirs).
            if (line.Length == 0 || line.Bytes[^1] != (byte)'\n')
            {
                line.GetSpan(1)[0] = (byte)'\n';
                line.Advance(1);
            }
            if (line.Capacity > FormattedLine.MaxRetainedCapacity)
            {
                _lines.Return(line);
                return logEvent;
            }
            line.Level = logEvent.Level;
            return line;
        }
        catch (Exception ex)
        {
            if (line is not null) _lines.Return(line);
            // An interrupt (Thread.Interrupt) that cut short a wait of the formatting (a value's ToString() taking a
            // contended lock) is the application's: set again for the caller's next wait, as everywhere else in Emit.
            if (ex is ThreadInterruptedException) Thread.CurrentThread.Interrupt();
            return logEvent;
        }
    }

    void Enqueued(LogEventLevel level)
    {
        // A caller that passed the state check before disposal but enqueued after the writer's last look: nobody else
        // will take its event, so it counts it (the compare-and-swap that claimed the slot orders this read after it).
        if (Volatile.Read(ref _state) == Stopped)
        {
            DropLate();
            return;
        }
        NudgeWriter(level);
    }

    /// <summary>
    /// Takes and counts as dropped at shutdown whatever is queued once the writer has stopped. Callers that enqueued
    /// late and the writer's own last step may run it at once: the lock keeps the queue single-consumer.
    /// </summary>
    void DropLate()
    {
        var late = 0;
        // On a caller's thread an interrupt pending on it (Thread.Interrupt) is thrown by the first wait that blocks: the
        // lock, when contended, or a spin that sleeps. Neither may end this early: the events taken would be neither
        // written nor counted, and the one this caller queued may be one only this call takes. The exception spends the
        // interrupt, so the wait is taken again; the interrupt is set again at the end, for the caller's next wait.
        var interrupted = false;
        var taken = false;
        while (!taken)
        {
            try
            {
                Monitor.Enter(_lateLock, ref taken);
            }
            catch (ThreadInterruptedException)
            {
                interrupted = true;
            }
        }
        try
        {
            var spin = new SpinWait();
            while (!_queue.IsEmpty)
            {
                // A claimed slot is published by its producer in a moment: wait for it rather than leave it behind.
                if (_queue.TryDequeue(out _)) late++;
                else
                {
                    try
                    {
                        spin.SpinOnce();
                    }
                    catch (ThreadInterruptedException)
                    {
                        interrupted = true;
                    }
                }
            }
            // Done with, as far as WaitUntilWritten is concerned. Only after the writer's last Complete (it announced
            // Stopped, or has ended), and under the lock, so this is the only writer of _completed now.
            if (late > 0) Interlocked.Add(ref _completed, late);
        }
        finally
        {
            Monitor.Exit(_lateLock);
        }
        if (late > 0)
        {
            DropAtShutdown(late);
            try
            {
                SignalProgress();
            }
            catch (ThreadInterruptedException)
            {
                // Counted and completed: a waiter only finds that out at its next look, within 50 ms.
                interrupted = true;
            }
        }
        if (interrupted) Thread.CurrentThread.Interrupt();
    }

    /// <summary>
    /// Counts events a caller gave the sink during or after its disposal, which no writer will take. The writer's
    /// reports are over by then, so the first such loss is reported here, on the caller's thread, and later ones are
    /// only counted: one line per sink, never one per event.
    /// </summary>
    void DropAtShutdown(int count)
    {
        Interlocked.Add(ref _droppedShutdown, count);
        SinkMetrics.AddDropped(count, SinkMetrics.ReasonShutdown);
        if (Interlocked.Exchange(ref _lateDropReported, 1) != 0) return;
        // Counted and metered above whatever the report does; guarded whole, the boxing of its count included: on a
        // caller's thread a report that finds no memory must not reach Emit.
        try
        {
            ReportForTests?.Invoke("late");
            SafeSelfLog.WriteLine("RollingJson sink {0}: {1} event(s) logged during or after disposal dropped; later ones are counted (reason shutdown), not reported.", _naming.Directory, count);
        }
        catch (Exception)
        {
            // Only the line is lost.
        }
    }

    /// <summary>
    /// The caller's side of the hand-off. A sleeping writer must be woken; a polling one is left alone unless the event
    /// asks for a prompt flush or the queue is filling faster than the writer looks at it.
    /// </summary>
    void NudgeWriter(LogEventLevel level)
    {
        if (Volatile.Read(ref _writerSleeping) != 0)
        {
            WakeWriter();
            return;
        }
        if (Volatile.Read(ref _writerPolling) == 0) return;
        if ((_flushOnLevelEnabled && level >= _flushOnLevel) || _queue.Count >= _wakeThreshold)
        {
            // One caller ends the poll; the others see the flag cleared and go on.
            if (Interlocked.Exchange(ref _writerPolling, 0) != 0)
            {
                Interlocked.Increment(ref _callerWakes);
                SetWakeFromCaller();
            }
        }
    }

    void WakeWriter()
    {
        // The compare-and-swap that claimed the slot was a full fence, so this read cannot pass it: either the writer
        // sees our slot before sleeping, or we see it asleep here.
        if (Volatile.Read(ref _writerSleeping) != 0 && Interlocked.Exchange(ref _writerSleeping, 0) != 0)
        {
            Interlocked.Increment(ref _callerWakes);
            SetWakeFromCaller();
        }
    }

    /// <summary>
    /// Wakes the writer from a caller's thread, whose event is queued. Setting the signal may take its lock, and a
    /// contended lock throws an interrupt pending on the caller (Thread.Interrupt): then the signal is set but perhaps
    /// not seen by a writer about to wait, which looks at the queue again at the end of its poll or idle sleep by itself.
    /// The interrupt is the application's: set again, for the caller's next wait.
    /// </summary>
    void SetWakeFromCaller()
    {
        try
        {
            _wake.Set();
        }
        catch (ThreadInterruptedException)
        {
            Thread.CurrentThread.Interrupt();
        }
    }

    /// <summary>
    /// <see cref="RollingJsonOptions.BlockWhenFull"/>: waits for room in the full queue. True when the event was queued;
    /// false when it was dropped and counted instead: the sink began to stop (reason shutdown), or the caller was
    /// interrupted as it waited (reason queue_full, see below).
    /// </summary>
    bool EnqueueWhenRoom(object item, LogEventLevel level)
    {
        Interlocked.Increment(ref _roomWaiters);
        try
        {
            var spin = new SpinWait();
            while (true)
            {
                if (Volatile.Read(ref _state) != Running)
                {
                    DropAtShutdown(1);
                    return false;
                }
                if (_queue.TryEnqueue(item))
                {
                    Enqueued(level);
                    return true;
                }
                if (!spin.NextSpinWillYield)
                {
                    spin.SpinOnce();
                    continue;
                }
                try
                {
                    lock (_roomLock)
                    {
                        if (_queue.Count >= _queue.Capacity)
                            Monitor.Wait(_roomLock, 10);
                    }
                }
                catch (ThreadInterruptedException)
                {
                    DropInterrupted(item);
                    return false;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _roomWaiters);
        }
    }

    /// <summary>
    /// A caller waiting for room (<see cref="EnqueueWhenRoom"/>) was interrupted (Thread.Interrupt): it stops waiting, as
    /// it was asked to, and the exception does not reach the application through a logging call. Its event found the
    /// queue full and is not queued: dropped and counted as such (reason queue_full, metered and reported by the writer
    /// with the other queue-full drops), and said once per sink. The interrupt is the application's (it meant to end a
    /// wait of its own): set again, for the caller's next wait, rather than swallowed.
    /// </summary>
    void DropInterrupted(object item)
    {
        if (item is FormattedLine line) _lines.Return(line);
        Interlocked.Increment(ref _droppedQueueFull);
        // As for any queue-full drop: the writer's last report may have passed already (see Emit).
        if (Volatile.Read(ref _state) == Stopped) ReportQueueFullAfterStop();
        if (Interlocked.Exchange(ref _interruptReported, 1) == 0)
            SafeSelfLog.WriteLine("RollingJson sink {0}: a caller waiting for room in the full queue was interrupted (Thread.Interrupt): its event was dropped (reason queue_full) and the interrupt kept for its next wait; later ones are counted, not reported.", _naming.Directory);
        // Last: the report's own wait (a SelfLog output's lock) would otherwise take it.
        Thread.CurrentThread.Interrupt();
    }

    /// <summary>
    /// Test hook: the writer stops before taking its next event until <see cref="ResumeWriter"/>. Called off the writer,
    /// it returns once the writer waits: nothing queued after the call is taken before the resume.
    /// </summary>
    internal void PauseWriter()
    {
        // Once it runs: until then callers do not know its culture, and leave every event to it (see FormatOnCaller).
        if (!SpinWait.SpinUntil(() => Volatile.Read(ref _writerCulture) is not null, TimeSpan.FromSeconds(30)))
            throw new TimeoutException("The writer did not start.");
        int generation;
        lock (_pauseLock)
        {
            generation = ++_pauseGeneration;
            _paused = true;
        }
        // A writer that had read "not paused" just before, or that a resume had just let go but that still looked parked,
        // would otherwise go on to take what the caller queues next: this pause is the writer's once it parks for it.
        if (Thread.CurrentThread == _writer) return;
        _wake.Set();
        var stopwatch = Stopwatch.StartNew();
        lock (_pauseLock)
        {
            try
            {
                while (_paused && _parkedGeneration != generation && _writer.IsAlive)
                {
                    _pauseWaiting = true;
                    if (stopwatch.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("The writer did not pause.");
                    Monitor.Wait(_pauseLock, 50);
                }
            }
            finally
            {
                _pauseWaiting = false;
            }
        }
    }

    internal void ResumeWriter()
    {
        lock (_pauseLock)
        {
            _paused = false;
            Monitor.PulseAll(_pauseLock);
        }
        _wake.Set();
    }

    /// <summary>
    /// Waits until every event accepted before the call is written or dropped; false on timeout. For tests and for
    /// callers that need a checkpoint; disposal does this by itself.
    /// </summary>
    internal bool WaitUntilWritten(TimeSpan timeout)
    {
        var target = _queue.EnqueuedPosition;
        var stopwatch = Stopwatch.StartNew();
        Interlocked.Increment(ref _progressWaiters);
        try
        {
            _wake.Set();
            lock (_progressLock)
            {
                while (Volatile.Read(ref _completed) < target)
                {
                    var left = timeout - stopwatch.Elapsed;
                    if (left <= TimeSpan.Zero) return false;
                    Interlocked.Increment(ref _progressChecks);
                    Monitor.Wait(_progressLock, left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50));
                }
            }
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _progressWaiters);
        }
    }

    void WriterLoop()
    {
        PublishCulture();
        while (true)
        {
            try
            {
                if (_paused)
                {
                    lock (_pauseLock)
                    {
                        // A pause asked for again before the writer left the last one is this one's too.
                        while (_paused)
                        {
                            _parkedGeneration = _pauseGeneration;
                            _parked = true;
                            Monitor.PulseAll(_pauseLock);
                            Monitor.Wait(_pauseLock);
                        }
                        _parked = false;
                    }
                    AfterResumedForTests?.Invoke();
                }
                AfterPauseCheckForTests?.Invoke();
                var stopping = Volatile.Read(ref _state) != Running;
                if (stopping && Stopwatch.GetTimestamp() > Volatile.Read(ref _shutdownDeadline))
                {
                    AbandonQueue();
                    break;
                }
                var taken = WriteBatch();
                ReportDrops();
                if (taken > 0)
                {
                    _idlePolls = 0;
                    continue;
                }
                if (!_queue.IsEmpty)
                {
                    // A producer claimed a slot and is about to publish it.
                    Thread.Yield();
                    continue;
                }
                if (stopping) break;
                if (_idlePolls < IdlePollsBeforeSleep)
                {
                    _idlePolls++;
                    WaitForEvents(ref _writerPolling, _pollInterval);
                }
                else
                {
                    WaitForEvents(ref _writerSleeping, _idleSleep);
                }
            }
            catch (Exception ex)
            {
                // The writer must outlive anything: drop and count what it held, report, and carry on with the next batch
                // after a wait. Never throws (see HandleFault).
                HandleFault(ex);
            }
        }
        // The last steps are contained one by one, as the handling of a fault is: whatever fails (a report that finds no
        // memory), the writer still announces Stopped, takes what callers enqueued late, and ends normally.
        try
        {
            CloseFile(flushToDisk: true);
            // A dated file that no write reached (opened by a roll, then every write failed on a full disk) is not left
            // behind empty: retention would count it as a file of events.
            if (_naming.FixedCurrentPath is null && _filePath is { } last && DeleteIfEmpty(last)) _filePath = null;
        }
        catch (Exception ex)
        {
            ReportStopFailure(ex);
        }
        try
        {
            ReportDrops(final: true);
            BeforeStoppedForTests?.Invoke();
        }
        catch (Exception ex)
        {
            ReportStopFailure(ex);
        }
        // A full fence between announcing Stopped and the last look at the queue: a caller's slot claimed before it is
        // taken here, one claimed after it sees Stopped and takes its event itself (see Enqueued).
        Interlocked.Exchange(ref _state, Stopped);
        try
        {
            // The same fence for queue-full drops: one counted after the last report but before Stopped was announced is
            // metered here, as its caller saw the sink still stopping; one counted later is metered by its caller.
            ReportQueueFullAfterStop();
        }
        catch (Exception ex)
        {
            ReportStopFailure(ex);
        }
        try
        {
            DropLate();
            SignalProgress();
        }
        catch (Exception ex)
        {
            ReportStopFailure(ex);
        }
    }

    /// <summary>
    /// The writer's catch-all: forgets and counts what the writer held, so that the next batch starts clean; reports the
    /// fault and the drop; completes the dropped events for their waiters; waits before the next batch (see
    /// <see cref="FaultDelay"/>). Never throws: each step is contained on its own, so that a failure in one (a report that
    /// finds no memory to box its count) skips neither the counting, which comes first, nor the completion, nor the wait,
    /// and is reported as far as it can be. What escaped here would end the writer thread with an unhandled exception,
    /// which ends the process, and leave every event accepted since unwritten.
    /// </summary>
    void HandleFault(Exception fault)
    {
        Exception? failure = null;
        try
        {
            CloseFile(flushToDisk: false);
        }
        catch (Exception ex)
        {
            // The handle is given up all the same (CloseFile lets go of it first): the next batch opens the file anew.
            failure = ex;
        }
        // As the retry's own drop (see WriteOut): a batch counted as dropped is not left in the file, where a failed
        // fsync left a copy that its handle could not take back (before the drop: the buffer still holds the batch,
        // which the take-back compares with the file's end)...
        if (_unsyncedPath is not null)
        {
            try { TakeBackUnsynced(); } catch (Exception) { /* reported with the fault */ }
            _unsyncedPath = null;
        }
        var dropped = 0;
        var done = 0;
        try
        {
            dropped = ForgetBuffered(SinkMetrics.ReasonIoError, out done);
            if (_takenInFault is { } taken)
            {
                // The event (or line) taken for after a size roll that faulted, not in the batch: after it, as taken.
                _takenInFault = null;
                _droppedIo++;
                SinkMetrics.AddDropped(1, SinkMetrics.ReasonIoError);
                dropped++;
                done++;
                if (taken is FormattedLine line) _lines.Return(line);
            }
        }
        catch (Exception ex)
        {
            failure ??= ex;
        }
        // ...nor is a roll due for what was dropped: the file did not grow (rolling would start a new file per fault).
        // Only cleared, never set: after a fault between a new period and its file, the length is the old file's.
        _rollBeforeNextEvent &= _fileLength >= _sizeRollAt;
        // Reported before the dropped events are completed, so that a caller waiting for them (a process-end drain,
        // after which the process may end at once) finds the reports made.
        try
        {
            if (_faultReport.Add(1, out var faults))
            {
                FaultHandlingForTests?.Invoke("report");
                // The exception shown is this fault's: the latest of those the count sums, not the first.
                if (faults == 1) ThrottledReport.Write("RollingJson sink {0}: writer fault: {1}", _naming.Directory, fault);
                else ThrottledReport.Write("RollingJson sink {0}: writer faults ({1} since the last report), the latest: {2}", _naming.Directory, faults, fault);
            }
        }
        catch (Exception ex)
        {
            failure ??= ex;
        }
        try
        {
            if (_faultDropReport.Add(dropped, out var lost))
                ThrottledReport.Write("RollingJson sink {0}: {1} event(s) the writer held when it faulted dropped (reason io_error).", _naming.Directory, lost);
        }
        catch (Exception ex)
        {
            failure ??= ex;
        }
        try
        {
            if (done > 0) Complete(done);
        }
        catch (Exception ex)
        {
            // Counted as completed all the same (Complete records it before it wakes anyone): only a wake-up was lost, and
            // waiters look again within 50 ms.
            failure ??= ex;
        }
        if (failure is not null) ReportFaultHandlingFailure(failure);
        // Not at once: a fault that comes before an event is taken repeats at every batch, and the writer would loop on a
        // whole core until it stopped. Disposal ends the wait, and so does the process starting to end (the drain's window
        // is for writing); while stopping there is none (the shutdown deadline bounds the loop, and what is left then is
        // counted as dropped).
        try
        {
            FaultHandlingForTests?.Invoke("wait");
            WaitUnlessEnding(FaultDelay);
        }
        catch (Exception ex)
        {
            // A wait that threw (the thread interrupted) waited for nothing: once more, which an interrupt does not cut
            // short again (its exception spent it). Should that fail too, the next fault waits anew.
            ReportFaultHandlingFailure(ex);
            try { WaitUnlessEnding(FaultDelay); } catch (Exception) { /* see above */ }
        }
    }

    /// <summary>A failure of the writer's handling of a fault (see <see cref="HandleFault"/>): counted, and reported once per interval.</summary>
    void ReportFaultHandlingFailure(Exception failure)
    {
        try
        {
            if (_faultHandlingReport.Add(1, out var failures))
            {
                if (failures == 1) ThrottledReport.Write("RollingJson sink {0}: the writer's handling of a fault failed, and the writer goes on: {1}", _naming.Directory, failure);
                else ThrottledReport.Write("RollingJson sink {0}: the writer's handling of a fault failed ({1} times since the last report), and the writer goes on; the latest: {2}", _naming.Directory, failures, failure);
            }
        }
        catch (Exception)
        {
            // No memory even for this report: the failure is lost from SelfLog, never the writer.
        }
    }

    /// <summary>A failure in the writer's last steps as it stops: reported (these run once), and the writer goes on stopping.</summary>
    void ReportStopFailure(Exception failure) =>
        SafeSelfLog.WriteLine("RollingJson sink {0}: the writer failed as it stopped, and goes on stopping: {1}", _naming.Directory, failure);

    /// <summary>
    /// Waits for events, announcing how through <paramref name="flag"/>: <see cref="_writerPolling"/> for a short poll
    /// that callers need not end (see <see cref="IdlePollsBeforeSleep"/>), <see cref="_writerSleeping"/> for an idle
    /// sleep that the next caller ends.
    /// </summary>
    void WaitForEvents(ref int flag, TimeSpan timeout)
    {
        _wake.Reset();
        Volatile.Write(ref flag, 1);
        Interlocked.MemoryBarrier();
        if (_queue.IsEmpty && Volatile.Read(ref _state) == Running)
            _wake.Wait(timeout);
        Volatile.Write(ref flag, 0);
    }

    /// <summary>Tells callers the culture the writer formats in (see <see cref="_writerCulture"/>).</summary>
    void PublishCulture()
    {
        var culture = CultureInfo.CurrentCulture;
        if (!ReferenceEquals(culture, _writerCulture)) Volatile.Write(ref _writerCulture, culture);
    }

    /// <summary>Takes what the queue holds (up to a buffer's worth), writes it, and returns how many events it took.</summary>
    int WriteBatch()
    {
        if (_queue.IsEmpty) return 0;
        // A new ring's pages fault on this thread, not on callers (see BoundedEventQueue.CommitAhead).
        _queue.CommitAhead();
        // The writer never sets its culture, but CultureInfo.DefaultThreadCurrentCulture may change what it gets.
        PublishCulture();

        var now = _time.GetUtcNow();
        if (now >= _nextCheckpoint) EnterPeriodOf(now);
        if (_file is null && !_faulted) TryOpen();
        else if (_file is not null && Stopwatch.GetElapsedTime(_lastFileCheck) >= FileCheckInterval) CheckFileIsAtPath();

        var taken = 0;
        var flushToDisk = _durable;
        // While stopping, the shutdown deadline also bounds a batch (slow formatting): what is left when it passes is
        // counted as dropped by the writer loop, never left unwritten and uncounted.
        var stopping = Volatile.Read(ref _state) != Running;
        while (_buffer.WrittenCount < BatchBytes
               && !(stopping && taken > 0 && Stopwatch.GetTimestamp() > Volatile.Read(ref _shutdownDeadline))
               && _queue.TryDequeue(out var item))
        {
            taken++;
            if (_rollBeforeNextEvent)
            {
                try
                {
                    WriteOut(flushToDisk);
                    // A write that failed was dropped (see WriteOut): the file did not grow, so it may no longer be due.
                    if (_rollBeforeNextEvent) RollBySize();
                }
                catch (Exception)
                {
                    // Taken, but not in the batch the writer's catch-all drops: dropped with it (see WriterLoop), else it
                    // would be lost uncounted.
                    _takenInFault = item;
                    throw;
                }
            }
            LogEventLevel level;
            FormattedLine? copied = null;
            if (item is FormattedLine line)
            {
                // Formatted by its caller while the writer was behind: only copied. A copy that fails is dropped and
                // counted as an event that fails to format is (a safeguard: a queued line is at most 4 KB, and the batch
                // always has that much room left, so the buffer does not grow here).
                var start = _buffer.WrittenCount;
                try
                {
                    LineCopyForTests?.Invoke();
                    line.Bytes.CopyTo(_buffer.GetSpan(line.Length));
                    _buffer.Advance(line.Length);
                }
                catch (Exception ex)
                {
                    _buffer.Truncate(start);
                    DropUnformatted(item, ex);
                    continue;
                }
                level = line.Level;
                copied = line;
            }
            else
            {
                var logEvent = (LogEvent)item;
                level = logEvent.Level;
                try
                {
                    _encoder.Encode(logEvent, _buffer);
                }
                catch (Exception ex)
                {
                    DropUnformatted(item, ex);
                    continue;
                }
            }
            _buffered.Events++;
            _lineEnds.Add(_buffer.WrittenCount);
            // Back to the pool once its bytes are part of the batch, which a fault from here on drops whole, counted.
            if (copied is not null) _lines.Return(copied);
            if (_fileLength + _buffer.WrittenCount >= _sizeRollAt)
                _rollBeforeNextEvent = true;
            if (_flushOnLevelEnabled && level >= _flushOnLevel)
            {
                flushToDisk = true;
                break;
            }
        }
        WriteOut(flushToDisk);
        return taken;
    }

    /// <summary>Counts a taken event (or line) that could not be formatted (or copied) into the batch as dropped.</summary>
    void DropUnformatted(object item, Exception ex)
    {
        _droppedFormat++;
        SinkMetrics.AddDropped(1, SinkMetrics.ReasonFormatError);
        try
        {
            if (_formatReport.Add(1, out var total))
            {
                ReportForTests?.Invoke("format");
                ThrottledReport.Write("RollingJson sink {0}: the formatter failed, {1} event(s) dropped: {2}", _naming.Directory, total, ex);
            }
        }
        finally
        {
            // Counted as dropped: completed (or left to be completed with the batch before it) even when the report finds
            // no memory to box its count. The writer's catch-all then takes that, and drops and completes that batch.
            CompleteTaken(item);
        }
    }

    /// <summary>Completes an event taken and dropped before it reached the batch; a line goes back to the pool.</summary>
    void CompleteTaken(object item)
    {
        // _completed is a queue position for WaitUntilWritten: while events taken before this one are still buffered, it
        // is completed with them, never ahead of them.
        if (_buffered.Events == 0) Complete(1);
        else _failedBehindBuffered++;
        if (item is FormattedLine line) _lines.Return(line);
    }

    /// <summary>Appends the buffered events, retrying with backoff; when every attempt fails they are dropped and counted.</summary>
    void WriteOut(bool flushToDisk)
    {
        if (_buffered.Events == 0)
        {
            _buffer.Clear();
            _lineEnds.Clear();
            return;
        }
        // The end of the process-end drain's window that a retry wait of this batch was bounded by (see RetryWindowEnd).
        long drainEnd = 0;
        // The end of the window (the drain's, or disposal's) that the last retry wait ran to: the window is over when the
        // retry after it fails, however the wait's end was rounded.
        long waitedTo = 0;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (_unsyncedPath is not null) TakeBackUnsynced();
                if (_file is null) Open();
                else if (_file.Length != _fileLength) ReopenChangedFile();
                var file = _file!;
                var before = _fileLength;
                try
                {
                    file.Write(_buffer.WrittenSpan);
                    AfterWriteForTests?.Invoke(file);
                }
                catch
                {
                    KeepWholeLinesOfCutWrite(file, before, flushToDisk);
                    throw;
                }
                try
                {
                    if (flushToDisk) FlushToDisk(file);
                }
                catch
                {
                    // Not known to be on the disk: taken back, and written again by the retry.
                    try
                    {
                        file.SetLength(before);
                    }
                    catch (Exception)
                    {
                        // Still in the file: taken back before the batch is written again (or dropped), else it would be
                        // in the file twice, or in it and counted as dropped.
                        _unsyncedPath = _filePath;
                        _unsyncedFrom = before;
                        _unsyncedBytes = _buffer.WrittenCount;
                    }
                    throw;
                }
                _fileLength = before + _buffer.WrittenCount;
                var events = _buffered.Events;
                _written += events;
                _bytesWritten += _buffer.WrittenCount;
                SinkMetrics.AddWritten(events, _buffer.WrittenCount);
                _buffer.Clear();
                _lineEnds.Clear();
                _buffered.Events = 0;
                var failedBehind = _failedBehindBuffered;
                _failedBehindBuffered = 0;
                try
                {
                    if (_faulted)
                    {
                        _faulted = false;
                        if (_resumeReport.Add(1, out var resumed))
                        {
                            ReportForTests?.Invoke("resumed");
                            if (resumed == 1) ThrottledReport.Write("RollingJson sink {0}: writing resumed.", _filePath);
                            else ThrottledReport.Write("RollingJson sink {0}: writing resumed ({1} times since the last report).", _filePath, resumed);
                        }
                    }
                }
                finally
                {
                    // Written and counted: completed even when the report finds no memory to box its count (the writer's
                    // catch-all then takes that, with nothing left to drop).
                    Complete(events + failedBehind);
                }
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ObjectDisposedException)
            {
                CloseFile(flushToDisk: false);
                _faulted = true;
                var delay = attempt < RetryDelays.Length ? RetryDelays[attempt] : TimeSpan.Zero;
                var stopping = Volatile.Read(ref _state) != Running;
                var windowEnd = RetryWindowEnd(stopping, ref drainEnd);
                var windowOver = false;
                var toWindowEnd = false;
                if (windowEnd != 0)
                {
                    var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), windowEnd);
                    windowOver = left <= TimeSpan.Zero || waitedTo == windowEnd;
                    if (left < delay)
                    {
                        delay = left;
                        toWindowEnd = true;
                    }
                }
                if (attempt >= RetryDelays.Length || delay <= TimeSpan.Zero || windowOver)
                {
                    var dropped = _buffered.Events;
                    // Every io_error drop so far, this one included (DropBuffered below counts it), as the counters have it.
                    var droppedSoFar = _droppedIo + dropped;
                    if (!stopping && windowOver)
                    {
                        // The process may be ending: a throttled report might never be written before it does. It may also
                        // go on (a cancelled SIGTERM, a UI framework's handled exception), so this says only that it began to.
                        SafeSelfLog.WriteLine("RollingJson sink {0}: the process began to end and writing still failed when its shutdown window closed: {1}: {2}", _naming.Directory,
                            string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0} event(s) the writer held to retry dropped (reason io_error, {1} so far)", dropped, droppedSoFar), ex.Message);
                    }
                    else if (_ioReport.Add(dropped, out _))
                        ThrottledReport.Write("RollingJson sink {0}: writing failed after retries, {1} event(s) dropped so far: {2}", _naming.Directory, droppedSoFar, ex.Message);
                    if (_unsyncedPath is not null)
                    {
                        // Dropped, so not left in the file either (as far as it can be taken back).
                        try { TakeBackUnsynced(); } catch (Exception) { /* reported with the drop */ }
                        _unsyncedPath = null;
                    }
                    DropBuffered(SinkMetrics.ReasonIoError);
                    // The roll was due because of what was buffered; none of it reached the file. Rolling anyway would
                    // start a new file per failed batch on a full disk: empty files, false rollovers, and with
                    // retention by count the files of written events deleted to make room for them.
                    _rollBeforeNextEvent = _fileLength >= _sizeRollAt;
                    return;
                }
                BeforeRetryWaitForTests?.Invoke();
                waitedTo = toWindowEnd ? windowEnd : 0;
                if (stopping) Thread.Sleep(delay);
                else
                {
                    var waitBegan = Stopwatch.GetTimestamp();
                    // Disposal began during the wait: try again now, then wait within its deadline like any retry while
                    // stopping. So does the process starting to end without disposal: the drain's window is for writing.
                    if (WaitUnlessEnding(delay))
                    {
                        attempt--;
                        waitedTo = 0;
                        // A window that ends after the wait began cut it short: it bounds this batch's retries, even one
                        // that fails only after it closed (a writer the machine did not run within it). Taken for a window
                        // the process outlived, the batch would wait its next delay out past the drain, never counted.
                        var cutBy = Volatile.Read(ref _drainDeadline);
                        if (cutBy > waitBegan) drainEnd = cutBy;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The Stopwatch timestamp a retry wait must end by, 0 for none: disposal's deadline while stopping; else the end of
    /// a process-end drain's window (see <see cref="_drainDeadline"/>) that is open, or that an earlier wait of this batch
    /// was bounded or cut short by (<paramref name="drainEnd"/>, which this updates): reached, the batch is dropped. A window
    /// that closed before the batch failed or waited (the process went on) bounds nothing: the batch is retried as usual.
    /// </summary>
    long RetryWindowEnd(bool stopping, ref long drainEnd)
    {
        if (stopping) return Volatile.Read(ref _shutdownDeadline);
        var end = Volatile.Read(ref _drainDeadline);
        if (end == 0 || (end <= Stopwatch.GetTimestamp() && end != drainEnd)) return 0;
        return drainEnd = end;
    }

    /// <summary>
    /// Waits <paramref name="delay"/> on the writer unless disposal has started or the process starts to end; true when
    /// cut short. The process's end cuts one wait short: the signal is reset, as the process may go on.
    /// </summary>
    bool WaitUnlessEnding(TimeSpan delay)
    {
        if (WaitHandle.WaitAny(_endingHandles, delay) == WaitHandle.WaitTimeout)
            return false;
        _processEnding.Reset();
        return true;
    }

    /// <summary>
    /// Takes back a batch whose fsync failed and whose bytes the failed handle could not take back: through a new handle,
    /// and only while the file ends with those bytes as this sink left it (never a file changed or replaced since, even
    /// one regrown to the same length, nor a link planted at its name). The buffer still holds the batch: every caller
    /// takes it back before the batch is written again or dropped. Throws (and stays due) when the truncation fails again.
    /// </summary>
    void TakeBackUnsynced()
    {
        var path = _unsyncedPath!;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            if (file.Length == _unsyncedFrom + _unsyncedBytes && !SymbolicLinks.IsLink(path) && EndsWithUnsynced(file))
                file.SetLength(_unsyncedFrom);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Gone: nothing left to take back.
        }
        _unsyncedPath = null;
    }

    /// <summary>Whether the file's bytes from where the unsynced batch started are the batch's, still in the buffer.</summary>
    bool EndsWithUnsynced(FileStream file)
    {
        var batch = _buffer.WrittenSpan;
        // Not the batch the bytes were left by (never expected): nothing to compare with, so the file is left alone.
        if (batch.Length < _unsyncedBytes) return false;
        // All of the batch (its fsync failed), or the whole lines that landed of a write cut short (see SyncKeptLines).
        batch = batch[..(int)_unsyncedBytes];
        var chunk = ArrayPool<byte>.Shared.Rent(Math.Min(batch.Length, 64 * 1024));
        try
        {
            var offset = _unsyncedFrom;
            while (!batch.IsEmpty)
            {
                var read = RandomAccess.Read(file.SafeFileHandle, chunk.AsSpan(0, Math.Min(chunk.Length, batch.Length)), offset);
                if (read == 0 || !chunk.AsSpan(0, read).SequenceEqual(batch[..read])) return false;
                batch = batch[read..];
                offset += read;
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>The fsync of a batch, or the test hook that stands in for it.</summary>
    void FlushToDisk(FileStream file)
    {
        if (FlushToDiskForTests is { } flush) flush(file);
        else file.Flush(flushToDisk: true);
    }

    /// <summary>
    /// A write cut short (disk full): the whole lines that landed stay, counted as written, and only the cut line after
    /// them is taken back, so the retry goes on where they end. Taking back all of the write would shrink the file under
    /// a shipper that has already read (and sent) those lines: it would then read the next lines from the middle of one,
    /// or the whole file again. A batch to be forced to the disk (<see cref="RollingJsonDurability.Durable"/>, or an event
    /// at <c>flushOnLevel</c>) keeps them only once an fsync has put them there: when it fails they are taken back with
    /// the cut line, as after any failed fsync, and the retry writes the whole batch again.
    /// </summary>
    void KeepWholeLinesOfCutWrite(FileStream file, long before, bool flushToDisk)
    {
        long landed;
        try
        {
            landed = file.Length - before;
        }
        catch (Exception)
        {
            landed = 0;
        }
        var lines = 0;
        while (lines < _lineEnds.Count && _lineEnds[lines] <= landed) lines++;
        var kept = lines == 0 ? 0 : _lineEnds[lines - 1];
        var inFile = landed;
        try
        {
            file.SetLength(before + kept);
            inFile = kept;
        }
        catch (Exception)
        {
            // The reopen adds a newline instead.
        }
        if (lines == 0) return;
        if (flushToDisk && !SyncKeptLines(file, before, inFile)) return;
        _fileLength = before + kept;
        _written += lines;
        _bytesWritten += kept;
        SinkMetrics.AddWritten(lines, kept);
        _buffer.RemovePrefix(kept);
        _lineEnds.RemoveRange(0, lines);
        for (var i = 0; i < _lineEnds.Count; i++) _lineEnds[i] -= kept;
        _buffered.Events -= lines;
        // Events that failed to format are completed with the rest of the buffer, never ahead of those still in it: here
        // when the write kept every line, as nothing is left to complete them with (a retry, or a drop, of no events).
        var completed = lines;
        if (_buffered.Events == 0)
        {
            completed += _failedBehindBuffered;
            _failedBehindBuffered = 0;
        }
        Complete(completed);
    }

    /// <summary>
    /// Forces the lines a cut write kept to the disk; false when the fsync failed, and they are taken back (or left for
    /// <see cref="TakeBackUnsynced"/> when the handle cannot take them back): not on the disk, so neither kept nor written.
    /// </summary>
    bool SyncKeptLines(FileStream file, long before, long inFile)
    {
        try
        {
            FlushToDisk(file);
            return true;
        }
        catch (Exception)
        {
            // The write's own error is what the retry reports; this one only decides that the lines are not kept.
            try
            {
                file.SetLength(before);
            }
            catch (Exception)
            {
                _unsyncedPath = _filePath;
                _unsyncedFrom = before;
                _unsyncedBytes = inFile;
            }
            return false;
        }
    }

    /// <summary>Drops and counts the buffered events; returns how many.</summary>
    int DropBuffered(string reason)
    {
        var dropped = ForgetBuffered(reason, out var done);
        if (done > 0) Complete(done);
        return dropped;
    }

    /// <summary>
    /// Drops and counts the buffered events and clears the batch, but leaves their completion to the caller:
    /// <paramref name="done"/> events (those dropped, and those that failed to format behind them) for
    /// <see cref="Complete"/>. Returns how many were dropped.
    /// </summary>
    int ForgetBuffered(string reason, out int done)
    {
        var dropped = _buffered.Events;
        var failedBehind = _failedBehindBuffered;
        _buffered.Events = 0;
        _failedBehindBuffered = 0;
        _buffer.Clear();
        _lineEnds.Clear();
        done = 0;
        if (dropped == 0) return 0;
        if (reason == SinkMetrics.ReasonIoError) _droppedIo += dropped;
        else Interlocked.Add(ref _droppedShutdown, dropped);
        SinkMetrics.AddDropped(dropped, reason);
        done = dropped + failedBehind;
        return dropped;
    }

    void Complete(int events)
    {
        Volatile.Write(ref _completed, _completed + events);
        SignalProgress();
        if (Volatile.Read(ref _roomWaiters) > 0)
            lock (_roomLock) Monitor.PulseAll(_roomLock);
    }

    void SignalProgress()
    {
        if (Volatile.Read(ref _progressWaiters) > 0)
            lock (_progressLock) Monitor.PulseAll(_progressLock);
    }

    /// <summary>Reports what was dropped since the last report of each kind; <paramref name="final"/> ignores the interval.</summary>
    void ReportDrops(bool final = false)
    {
        var droppedQueueFull = Interlocked.Read(ref _droppedQueueFull);
        var newly = droppedQueueFull - _droppedQueueFullReported;
        _droppedQueueFullReported = droppedQueueFull;
        // Dropped before entering the queue, so never part of _completed.
        if (newly > 0) SinkMetrics.AddDropped(newly, SinkMetrics.ReasonQueueFull);
        // Each report is contained on its own (one that finds no memory to box its count): a failed one skips none after
        // it, which at the final report would never be made. The first failure is thrown once all were tried: to the
        // writer's catch-all, or at the final report to the writer's last steps, which report it.
        Exception? failure = null;
        try
        {
            if (final ? _queueFullReport.AddFinal(newly, out var total) : _queueFullReport.Add(newly, out total))
            {
                ReportForTests?.Invoke("queue full");
                ThrottledReport.Write("RollingJson sink {0}: the queue was full ({1} events), {2} event(s) dropped.", _naming.Directory, _queue.Capacity, total);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        ReportMore(_formatReport, final, "RollingJson sink {0}: the formatter failed, {1} more event(s) dropped.", ref failure);
        ReportMore(_ioReport, final, "RollingJson sink {0}: writing failed, {1} more event(s) dropped.", ref failure);
        ReportMore(_faultDropReport, final, "RollingJson sink {0}: {1} more event(s) the writer held when it faulted dropped.", ref failure);
        ReportMore(_faultReport, final, "RollingJson sink {0}: {1} more writer fault(s).", ref failure);
        ReportMore(_resumeReport, final, "RollingJson sink {0}: writing resumed {1} more time(s) after failing.", ref failure);
        ReportMore(_faultHandlingReport, final, "RollingJson sink {0}: the writer's handling of a fault failed {1} more time(s).", ref failure);
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>One of <see cref="ReportDrops"/>' reports of what its interval held back; a failure is kept in <paramref name="failure"/> (the first).</summary>
    void ReportMore(ThrottledReport report, bool final, string format, ref Exception? failure)
    {
        try
        {
            if (final ? report.AddFinal(0, out var total) : report.Add(0, out total))
                ThrottledReport.Write(format, _naming.Directory, total);
        }
        catch (Exception ex)
        {
            failure ??= ex;
        }
    }

    void AbandonQueue()
    {
        DropBuffered(SinkMetrics.ReasonShutdown);
        var abandoned = 0;
        while (_queue.TryDequeue(out _)) abandoned++;
        if (abandoned == 0) return;
        Interlocked.Add(ref _droppedShutdown, abandoned);
        SinkMetrics.AddDropped(abandoned, SinkMetrics.ReasonShutdown);
        try
        {
            ReportForTests?.Invoke("abandoned");
            SafeSelfLog.WriteLine("RollingJson sink {0}: the shutdown timeout passed, {1} queued event(s) dropped.", _naming.Directory, abandoned);
        }
        finally
        {
            // Taken from the queue: completed even when the report finds no memory to box its count (the writer's
            // catch-all then takes that, and the loop ends at its next look, with nothing left to abandon).
            Complete(abandoned);
        }
    }

    // ---- periods, files, rolling (writer thread) ----

    void EnterPeriodOf(DateTimeOffset now)
    {
        var period = _naming.PeriodStart(PeriodClock.ToWallClock(now, _zone));
        if (period != _period)
        {
            if (_filePath is not null)
            {
                // A file was in use in the period that ended.
                CloseFile(flushToDisk: false);
                // A fixed current file that could not be renamed did not roll: it keeps growing (see RenameFixedFile).
                // Nor did an empty one: the new period goes on in it. A dated file that no write reached (the disk was
                // full all the period) is deleted rather than rolled: kept, it would count for retention as a file of
                // events, and push a file that holds events out.
                if (_naming.FixedCurrentPath is null ? !DeleteIfEmpty(_filePath) : RenameFixedFile(_period)) CountRollover();
            }
            _period = period;
            _sequence = -1;
            _rollBeforeNextEvent = false;
            _sizeRollAt = _fileSizeLimit ?? long.MaxValue;
            _filePath = null;
        }
        // In the hour that repeats when daylight-saving time ends, the next period starts at the occurrence still to
        // come, not at the one already past.
        var next = PeriodClock.ToUtc(_naming.NextPeriodStart(period), _zone, now);
        // A daylight-saving oddity must not make the writer recompute on every batch.
        _nextCheckpoint = next > now ? next : now.AddMinutes(1);
    }

    void RollBySize()
    {
        _rollBeforeNextEvent = false;
        if (_file is null && _filePath is null) return;
        CloseFile(flushToDisk: false);
        if (_naming.FixedCurrentPath is not null)
        {
            if (!RenameFixedFile(_period))
            {
                // No file was rolled (the rename failed and was reported, or the file was emptied under us): keep
                // writing where we were until one limit more.
                TryOpen();
                _sizeRollAt = _fileLength + _fileSizeLimit.GetValueOrDefault();
                return;
            }
            _sizeRollAt = _fileSizeLimit ?? long.MaxValue;
        }
        else _sequence++;
        _filePath = null;
        _fileLength = 0;
        CountRollover();
        // Open now so the size check of the next event measures the new file.
        TryOpen();
    }

    void CountRollover()
    {
        _rollovers++;
        SinkMetrics.AddRollover();
        // Housekeeping starts once the next file is open, so it knows which file is current.
        _housekeepingDue = true;
    }

    void TryOpen()
    {
        try
        {
            Open();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // WriteOut retries with backoff and reports.
            CloseFile(flushToDisk: false);
        }
    }

    void Open()
    {
        Directory.CreateDirectory(_naming.Directory);
        string path;
        if (_naming.FixedCurrentPath is { } fixedPath)
        {
            path = fixedPath;
            if (_sequence < 0)
            {
                // A file left by an earlier run belongs to the period it was last written in.
                var existing = new FileInfo(fixedPath);
                if (existing.Exists && existing.Length > 0)
                {
                    var lastPeriod = _naming.PeriodStart(PeriodClock.ToWallClock(new DateTimeOffset(existing.LastWriteTimeUtc, TimeSpan.Zero), _zone));
                    if (lastPeriod != _period || (_fileSizeLimit is { } limit && existing.Length >= limit))
                    {
                        if (RenameFixedFile(lastPeriod)) CountRollover();
                    }
                }
                _sequence = 0;
            }
        }
        else
        {
            if (_sequence < 0) _sequence = LatestSequence(_period);
            path = _naming.DatedPath(_period, _sequence);
            while (true)
            {
                // A link at a dated name was planted by someone else (see SymbolicLinks): the next name is used instead.
                if (SymbolicLinks.IsLink(path)) SymbolicLinks.ReportLeftAlone(path);
                else if (!(_fileSizeLimit is { } limit && File.Exists(path) && new FileInfo(path).Length >= limit)) break;
                else if (path == _filePath)
                {
                    // Reopened after a fault, the file this sink was writing is full: going on in the next file is its
                    // size roll, counted as one, and the roll that was due is done (rolling again would leave this new
                    // file empty).
                    _filePath = null;
                    _rollBeforeNextEvent = false;
                    CountRollover();
                }
                path = _naming.DatedPath(_period, ++_sequence);
            }
        }

        var created = false;
        var file = _naming.FixedCurrentPath is null
            ? OpenDated(path, out created)
            : new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        try
        {
            var length = file.Length;
            if (length > 0)
            {
                // A crash can cut the last line; keep its remains on their own line so the next event is whole.
                file.Seek(-1, SeekOrigin.End);
                if (file.ReadByte() != '\n')
                {
                    file.Seek(0, SeekOrigin.End);
                    file.WriteByte((byte)'\n');
                    length++;
                }
            }
            file.Seek(0, SeekOrigin.End);
            _fileLength = length;
            // A file under the limit (new, emptied by copytruncate, or replaced) rolls at the limit again, whatever
            // a failed rename of a fixed current file put off.
            if (_fileSizeLimit is { } limit && length < limit) _sizeRollAt = limit;
        }
        catch
        {
            file.Dispose();
            throw;
        }
        _file = file;
        // Reopened after a fault, the file this sink created is still its own.
        _createdFile = created || (_createdFile && path == _filePath);
        _filePath = path;
        _lastFileCheck = Stopwatch.GetTimestamp();
        if (_housekeepingDue)
        {
            _housekeepingDue = false;
            _housekeeper.Schedule();
        }
    }

    /// <summary>
    /// Opens a dated file without following a link planted at its name: a new file is created exclusively (which no link
    /// can redirect); an existing one is opened and refused (IOException, retried and reported by the writer) if a link
    /// took its place meanwhile. <paramref name="created"/> tells which.
    /// </summary>
    static FileStream OpenDated(string path, out bool created)
    {
        try
        {
            var made = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            created = true;
            return made;
        }
        catch (IOException) when (File.Exists(path) || SymbolicLinks.IsLink(path))
        {
        }
        created = false;
        var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        if (!SymbolicLinks.IsLink(path)) return file;
        file.Dispose();
        throw new IOException($"{path} is a symbolic link, which the sink never makes: it is not written through.");
    }

    /// <summary>The sequence to continue in this period: the newest uncompressed file under the limit, else a new one.</summary>
    int LatestSequence(DateTime period)
    {
        if (!Directory.Exists(_naming.Directory)) return 0;
        Interlocked.Increment(ref _directoryScans);
        var latest = -1;
        var latestCompressed = false;
        foreach (var path in Directory.EnumerateFiles(_naming.Directory))
        {
            if (!_naming.TryParse(Path.GetFileName(path), out var filePeriod, out var sequence, out var compressed) || filePeriod != period
                || sequence > FileNaming.MaxContinuedSequence)
                continue;
            if (sequence > latest || (sequence == latest && compressed))
            {
                latest = sequence;
                latestCompressed = compressed;
            }
        }
        if (latest < 0) return 0;
        return latestCompressed ? latest + 1 : latest;
    }

    /// <summary>The highest sequence of the period's files, compressed or not; -1 when it has none.</summary>
    int HighestSequence(DateTime period)
    {
        Interlocked.Increment(ref _directoryScans);
        var highest = -1;
        foreach (var path in Directory.EnumerateFiles(_naming.Directory))
        {
            if (_naming.TryParse(Path.GetFileName(path), out var filePeriod, out var sequence, out _) && filePeriod == period && sequence > highest
                && sequence <= FileNaming.MaxContinuedSequence)
                highest = sequence;
        }
        return highest;
    }

    /// <summary>
    /// A closed dated file that this sink created and that holds nothing, deleted; false when it holds something, was
    /// there before the sink opened it (an operator's, made for its owner or ACLs), or could not be deleted.
    /// </summary>
    bool DeleteIfEmpty(string path)
    {
        if (_fileLength != 0 || !_createdFile) return false;
        try
        {
            var file = new FileInfo(path);
            // Someone else's since (a link, or lines another writer appended): not ours to delete.
            if (!file.Exists || file.Length != 0 || SymbolicLinks.IsLink(path)) return false;
            file.Delete();
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Gives the fixed current file its dated name. False when no file was rolled: the file is empty (no events to
    /// keep, so it stays the current file rather than leave an empty dated file behind), or it could not be renamed
    /// (reported).
    /// </summary>
    bool RenameFixedFile(DateTime period)
    {
        var source = _naming.FixedCurrentPath!;
        try
        {
            var file = new FileInfo(source);
            if (!file.Exists) return true;
            if (file.Length == 0) return false;
            // After the newest rolled file of the period, never into a gap retention left: retention orders by
            // sequence, so a reused low number would make the newest content look oldest and be deleted first.
            // Within a period this sink renamed into already, its own last rename is the newest: no need to list the
            // directory again. The checks below still step over any name taken since.
            var sequence = _lastRenamedSequence >= 0 && _lastRenamedPeriod == period ? _lastRenamedSequence + 1 : HighestSequence(period) + 1;
            string target;
            while (File.Exists(target = _naming.DatedPath(period, sequence)) || File.Exists(FileNaming.CompressedPath(target)))
                sequence++;
            File.Move(source, target);
            _lastRenamedPeriod = period;
            _lastRenamedSequence = sequence;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SafeSelfLog.WriteLine("RollingJson sink {0}: could not rename the current file on roll, it keeps growing: {1}", source, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// The open file is not as this sink left it: truncated in place (logrotate's <c>copytruncate</c>) or appended to
    /// by another writer. Writing on at the old offset would leave a hole of zero bytes, or overwrite the other's
    /// lines: reopen and continue at the file's end (after a newline, when its last line is cut).
    /// </summary>
    void ReopenChangedFile()
    {
        if (Stopwatch.GetElapsedTime(_lastChangeReport) >= ReportInterval || _lastChangeReport == 0)
        {
            _lastChangeReport = Stopwatch.GetTimestamp();
            SafeSelfLog.WriteLine("RollingJson sink {0}: the file was truncated or written by someone else; writing continues at its end.", _filePath);
        }
        CloseFile(flushToDisk: false);
        Open();
    }

    /// <summary>
    /// Log rotation tools delete or rename the file under us; writes to the old handle would vanish. When the path no
    /// longer shows the file we wrote (missing, or another length), reopen at the path.
    /// </summary>
    void CheckFileIsAtPath()
    {
        _lastFileCheck = Stopwatch.GetTimestamp();
        var path = _filePath;
        if (path is null) return;
        FileInfo info;
        try
        {
            info = new FileInfo(path);
            if (info.Exists && info.Length == _fileLength) return;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        SafeSelfLog.WriteLine("RollingJson sink {0}: the file was removed or replaced; writing continues at the path.", path);
        CloseFile(flushToDisk: false);
        TryOpen();
    }

    void CloseFile(bool flushToDisk)
    {
        var file = _file;
        _file = null;
        if (file is null) return;
        try
        {
            if (flushToDisk) file.Flush(flushToDisk: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
        }
        try
        {
            file.Dispose();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// The shutdown timeout and a margin for a write stuck in the kernel (<see cref="RollingJsonOptions.WriterStopMargin"/>),
    /// within what <see cref="Thread.Join(TimeSpan)"/> accepts: the configuration allows a timeout up to
    /// <see cref="int.MaxValue"/> milliseconds.
    /// </summary>
    TimeSpan WriterJoinTimeout()
    {
        var limit = TimeSpan.FromMilliseconds(int.MaxValue);
        return _shutdownTimeout >= limit - _writerStopMargin ? limit : _shutdownTimeout + _writerStopMargin;
    }

    public void Dispose()
    {
        // An interrupt (Thread.Interrupt) pending on the disposing thread, or one that arrives as it waits for the writer
        // or housekeeping, would end the disposal half way: its events not yet written, the path still claimed, the
        // process-end handlers still subscribed. It is the application's: taken here, so that disposal completes
        // (Log.CloseAndFlush in a finally of an interrupted thread), and set again at the end for the thread's next wait.
        var interrupted = TakePendingInterrupt();
        try
        {
            DisposeOnce(ref interrupted);
        }
        finally
        {
            if (interrupted) Thread.CurrentThread.Interrupt();
        }
    }

    /// <summary>Takes an interrupt pending on this thread (see <see cref="Dispose"/>); true when there was one.</summary>
    static bool TakePendingInterrupt()
    {
        try
        {
            // A sleep of zero throws an interrupt pending on the thread, and otherwise only yields.
            Thread.Sleep(0);
            return false;
        }
        catch (ThreadInterruptedException)
        {
            return true;
        }
    }

    /// <summary>
    /// Waits as <paramref name="wait"/> does, for at most <paramref name="timeout"/> in all: an interrupt that cuts the
    /// wait short (its exception spent it) is noted in <paramref name="interrupted"/> and the wait taken again.
    /// </summary>
    static bool WaitThroughInterrupts(Func<TimeSpan, bool> wait, TimeSpan timeout, ref bool interrupted)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var left = timeout - stopwatch.Elapsed;
            try
            {
                return wait(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (ThreadInterruptedException)
            {
                interrupted = true;
            }
        }
    }

    void DisposeOnce(ref bool interrupted)
    {
        if (Interlocked.Exchange(ref _disposeCalled, 1) != 0)
        {
            // A second, concurrent disposal (the host and Log.CloseAndFlush) returns no earlier than the first: every
            // accepted event is written before either returns.
            if (Thread.CurrentThread != _writer)
            {
                BeforeSecondDisposalWaitsForTests?.Invoke();
                WaitThroughInterrupts(_writer.Join, WriterJoinTimeout(), ref interrupted);
                // And no earlier than the first's housekeeping wait and release of the path: a pass still compressing or
                // deleting, or a claim still held, would meet a sink the caller configures on the same path next.
                WaitThroughInterrupts(_disposed.Wait, WriterJoinTimeout(), ref interrupted);
            }
            return;
        }
        var stopwatch = Stopwatch.StartNew();
        // The deadline first: the writer reads it as soon as it sees Stopping.
        Volatile.Write(ref _shutdownDeadline, Stopwatch.GetTimestamp() + (long)(_shutdownTimeout.TotalSeconds * Stopwatch.Frequency));
        Interlocked.Exchange(ref _state, Stopping);
        _stopRequested.Set();
        lock (_pauseLock)
        {
            _paused = false;
            Monitor.PulseAll(_pauseLock);
        }
        _wake.Set();
        lock (_roomLock) Monitor.PulseAll(_roomLock);

        // The writer gives up on its own at the deadline; the margin covers a write stuck in the kernel.
        if (!WaitThroughInterrupts(_writer.Join, WriterJoinTimeout(), ref interrupted))
            SafeSelfLog.WriteLine("RollingJson sink {0}: the writer did not finish within the shutdown timeout.", _naming.Directory);
        else
            DropLate(); // the writer did this as it stopped; a no-op unless a caller enqueued since

        if (!WaitThroughInterrupts(_housekeeper.WaitIdle, _shutdownTimeout - stopwatch.Elapsed, ref interrupted))
            SafeSelfLog.WriteLine("RollingJson sink {0}: compression or retention was still running at the shutdown timeout.", _naming.Directory);
        SinkMetrics.Unregister(this);
        // Last: a sink configured on the same path from now on (a logger replacing this one) finds the files free. Also
        // after a timeout: a writer stuck in the kernel must not keep the path from every later logger of the process.
        _claim.Dispose();
        // Last too: a process that ends during the disposal waits in DrainAsProcessEnds for the queue it is writing. A
        // disposed sink holds no events, and the process-wide events must not keep it alive.
        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
        AppDomain.CurrentDomain.UnhandledException -= _onUnhandledException;
        _onTerminationSignal?.Dispose();
        _onInterruptSignal?.Dispose();
        _disposed.Set();
    }
}
