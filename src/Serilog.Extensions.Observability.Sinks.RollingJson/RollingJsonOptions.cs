using System.Buffers;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Serilog.Extensions.Observability.Sinks.RollingJson;

/// <summary>
/// Every option of the rolling JSON sink, with the same names and defaults as the optional parameters of
/// <see cref="RollingJsonLoggerConfigurationExtensions.RollingJson(Serilog.Configuration.LoggerSinkConfiguration, string, RollingJsonOptions)"/>.
/// Values are validated when the sink is configured.
/// </summary>
public sealed class RollingJsonOptions
{
    /// <summary>The default <see cref="FileSizeLimitBytes"/>: 100 MB.</summary>
    public const long DefaultFileSizeLimitBytes = 100L * 1024 * 1024;

    /// <summary>The default <see cref="RetainedFileCountLimit"/>: 31 files, the current one included.</summary>
    public const int DefaultRetainedFileCountLimit = 31;

    /// <summary>The default <see cref="QueueLimit"/>: 100,000 events.</summary>
    public const int DefaultQueueLimit = 100_000;

    /// <summary>The largest <see cref="QueueLimit"/>: 2^30 events (16 GB of queue slots).</summary>
    public const int MaxQueueLimit = 1 << 30;

    /// <summary>The default <see cref="ShutdownTimeout"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Formats each event as one line. The default (<see langword="null"/>) is the Formatting package's
    /// <c>CompactJsonFormatter</c> (CLEF). A formatter that implements <c>IUtf8Formatter</c> writes straight to
    /// UTF-8; any other <see cref="ITextFormatter"/> goes through a reused text buffer. A line that does not end
    /// with a newline gets one.
    /// </summary>
    public ITextFormatter? Formatter { get; set; }

    /// <summary>How often a new file is started. The default is <see cref="RollingJsonInterval.Day"/>.</summary>
    public RollingJsonInterval RollingInterval { get; set; } = RollingJsonInterval.Day;

    /// <summary>
    /// When <see langword="true"/>, periods start and file names are dated in UTC; when <see langword="false"/>
    /// (the default), in the local time zone.
    /// </summary>
    public bool RollOnUtc { get; set; }

    /// <summary>
    /// The size in bytes at which a file is closed and the next one started: the event that crosses the limit is
    /// written whole, the next goes to a new file (<c>_001</c>, <c>_002</c>, ...). The default is 100 MB;
    /// <see langword="null"/> means no limit.
    /// </summary>
    public long? FileSizeLimitBytes { get; set; } = DefaultFileSizeLimitBytes;

    /// <summary>
    /// The most files kept, the current one included; older ones are deleted after each roll. The default is 31;
    /// <see langword="null"/> means no limit.
    /// </summary>
    public int? RetainedFileCountLimit { get; set; } = DefaultRetainedFileCountLimit;

    /// <summary>
    /// Rolled files whose period ended longer ago than this are deleted after each roll (the period comes from the
    /// file name, or its last write time when the name carries no date). The default, <see langword="null"/>, keeps
    /// files whatever their age.
    /// </summary>
    public TimeSpan? RetainedFileTimeLimit { get; set; }

    /// <summary>
    /// The most bytes all files may take together, the current one included (compressed files count with their
    /// compressed size); the oldest rolled files are deleted first, at each roll, leaving the current file room up to
    /// <see cref="FileSizeLimitBytes"/> (give or take the one event that crosses it), so a limit at or below
    /// <see cref="FileSizeLimitBytes"/> keeps no rolled file at all. The default, <see langword="null"/>, means no limit.
    /// </summary>
    public long? RetainedTotalBytesLimit { get; set; }

    /// <summary>
    /// When <see langword="true"/>, each rolled file is compressed with gzip in the background
    /// (<c>app-20261122.json.gz</c>); retention counts the compressed files. A rolled file is deleted only once its
    /// <c>.gz</c> is forced to the storage device, and on Linux its name too, so a power loss cannot take lines that
    /// <see cref="RollingJsonDurability.Durable"/> had put there. The default is <see langword="false"/>.
    /// </summary>
    public bool CompressRolledFiles { get; set; }

    /// <summary>
    /// When <see langword="true"/>, the current file keeps one name (<c>logs/app-.json</c> → <c>logs/app.json</c>:
    /// a trailing <c>-</c>, <c>_</c> or <c>.</c> is dropped from the name) and is renamed to its dated name when it
    /// rolls, which is what log shippers that tail one path prefer; an empty current file (emptied by
    /// <c>copytruncate</c>) is not renamed at a time roll, the next period goes on in it. The default is
    /// <see langword="false"/>: the current file already carries its dated name, as Serilog.Sinks.File does.
    /// </summary>
    public bool FixedCurrentFileName { get; set; }

    /// <summary>
    /// The most events waiting for the background writer, at most <see cref="MaxQueueLimit"/>. The default is 100,000.
    /// What happens when it is reached depends on <see cref="BlockWhenFull"/>. The queue reserves 16 bytes a slot for
    /// the next power of two of slots (2 MB for the default), besides the events themselves.
    /// </summary>
    public int QueueLimit { get; set; } = DefaultQueueLimit;

    /// <summary>
    /// When <see langword="false"/> (the default), an event that finds the queue full is dropped, counted and
    /// reported through SelfLog (once per interval); the caller never waits. When <see langword="true"/>, the caller
    /// waits for room instead; a caller that <see cref="Thread.Interrupt"/> wakes from that wait returns without an
    /// exception, its event dropped and counted as when the queue is full, and the interrupt pending for its next wait.
    /// </summary>
    public bool BlockWhenFull { get; set; }

    /// <summary>How far each batch is pushed before the next is taken. The default is <see cref="RollingJsonDurability.Flushed"/>.</summary>
    public RollingJsonDurability Durability { get; set; } = RollingJsonDurability.Flushed;

    /// <summary>
    /// A batch holding an event at or above this level is written and forced to the storage device at once.
    /// The default is <see cref="LogEventLevel.Error"/>; <see langword="null"/> turns this off.
    /// </summary>
    public LogEventLevel? FlushOnLevel { get; set; } = LogEventLevel.Error;

    /// <summary>
    /// How long disposing the sink (<c>Log.CloseAndFlush()</c>) may wait for the queue to drain and background
    /// compression to finish. Events still queued after it are dropped and counted. Also how long the end of a process
    /// that never disposed the sink (returning from <c>Main</c>, <c>Environment.Exit()</c>, an unhandled exception,
    /// SIGTERM or SIGINT without a host) may wait for the queue to be written. The default is 10 seconds.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = DefaultShutdownTimeout;

    /// <summary>The minimum level of events passed to the sink. The default is <see cref="LevelAlias.Minimum"/>; ignored when <see cref="LevelSwitch"/> is set.</summary>
    public LogEventLevel RestrictedToMinimumLevel { get; set; } = LevelAlias.Minimum;

    /// <summary>A switch that changes the sink's minimum level at run time. The default is <see langword="null"/>.</summary>
    public LoggingLevelSwitch? LevelSwitch { get; set; }

    /// <summary>The clock that decides periods and file ages; tests replace it.</summary>
    internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// How often a busy writer looks at the queue on its own (tests lengthen it to observe the wake rules). Every look is
    /// a timed wake of the writer thread, which on a small machine takes its core from the request threads: at 1 ms a
    /// service answering 60,000 requests/s served 5–10% fewer; a burst still wakes the writer early (at
    /// <see cref="Writing.RollingJsonSink.WakeThreshold"/> queued events) and <c>flushOnLevel</c> at once.
    /// </summary>
    internal TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// How long an idle writer sleeps before it looks at its file again; <see langword="null"/> for the sink's file
    /// check interval (tests lengthen it so that only a caller can end the sleep).
    /// </summary>
    internal TimeSpan? IdleSleep { get; set; }

    /// <summary>
    /// How much longer than <see cref="ShutdownTimeout"/> disposal waits for the writer, for a write stuck in the kernel:
    /// 1 second. Tests that assert the writer has ended when disposal returns lengthen it, so that a loaded machine's
    /// scheduling stall is not taken for a writer that failed to stop.
    /// </summary>
    internal TimeSpan WriterStopMargin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Queued events past which a caller formats its own event (with one of this package's own formatters, which are
    /// thread-safe) and queues the line instead, so that a writer that fell behind does not leave whole events queued
    /// for every collection to promote: 1,024, capped at a quarter of <see cref="QueueLimit"/>; 0 never does. Tests lower
    /// it, or turn it off to hold events in the queue.
    /// </summary>
    internal int CallerFormatBacklog { get; set; } = 1024;

    /// <summary>The pool the writer's batch buffer comes from: the shared one (tests give one that runs out of memory).</summary>
    internal ArrayPool<byte>? BufferPool { get; set; }

    /// <summary>
    /// A copy of these options that can be changed without changing them (the formatter and the time provider are
    /// shared, not copied).
    /// </summary>
    /// <returns>The copy.</returns>
    public RollingJsonOptions Clone() => (RollingJsonOptions)MemberwiseClone();
}
