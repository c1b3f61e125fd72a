using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability;
using Serilog.Extensions.Observability.Sinks.RollingJson;
using Serilog.Extensions.Observability.Sinks.RollingJson.Files;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Formatting;

namespace Serilog;

/// <summary>Adds <c>WriteTo.RollingJson(...)</c>: a fast, bounded rolling JSON file sink.</summary>
public static class RollingJsonLoggerConfigurationExtensions
{
    /// <summary>
    /// Writes events as one JSON object per line (CLEF by default) to rolling files. The calling thread only
    /// enqueues; a background writer formats to UTF-8 and appends in batches. Nothing is thrown into the
    /// application: faults are retried, then reported through SelfLog and counted. Disposing the logger drains the
    /// queue. Every parameter can be set from the appsettings <c>"WriteTo"</c> section.
    /// </summary>
    /// <param name="sinkConfiguration">Logger sink configuration.</param>
    /// <param name="path">
    /// The file path; the period's date goes before the extension, as in Serilog.Sinks.File
    /// (<c>logs/app-.json</c> → <c>logs/app-20261122.json</c>, then <c>logs/app-20261122_001.json</c>).
    /// A missing directory is created. A path whose files a live RollingJson sink of this process writes is refused:
    /// dispose that sink (close its logger) first.
    /// </param>
    /// <param name="formatter">Formats each event as one line. The default is the Formatting package's <c>CompactJsonFormatter</c>.</param>
    /// <param name="rollingInterval">How often a new file is started. The default is <see cref="RollingJsonInterval.Day"/>.</param>
    /// <param name="rollOnUtc">Date periods and names in UTC rather than local time. The default is <see langword="false"/>.</param>
    /// <param name="fileSizeLimitBytes">The size in bytes at which the next file is started (the crossing event is written whole). The default is 100 MB; <see langword="null"/> means no limit.</param>
    /// <param name="retainedFileCountLimit">The most files kept, the current one included. The default is 31; <see langword="null"/> means no limit.</param>
    /// <param name="retainedFileTimeLimit">Delete rolled files whose period ended longer ago than this. The default, <see langword="null"/>, keeps them.</param>
    /// <param name="retainedTotalBytesLimit">The most bytes all files may take together; the oldest go first. The default, <see langword="null"/>, means no limit.</param>
    /// <param name="compressRolledFiles">Gzip each rolled file in the background (<c>.json.gz</c>), deleting it once its <c>.json.gz</c> is on the disk. The default is <see langword="false"/>.</param>
    /// <param name="fixedCurrentFileName">Keep the current file at one undated name (<c>logs/app.json</c>) and rename it on roll. The default is <see langword="false"/>.</param>
    /// <param name="queueLimit">The most events waiting for the writer, at most 2^30. The default is 100,000.</param>
    /// <param name="blockWhenFull">Make the caller wait for room instead of dropping (and counting) the event when the queue is full. The default is <see langword="false"/>.</param>
    /// <param name="durability">How far each batch is pushed before the next: to the OS (the default) or to the device.</param>
    /// <param name="flushOnLevel">A batch holding an event at or above this level is forced to disk at once. The default is <see cref="LogEventLevel.Error"/>. (Not nullable here: Serilog.Settings.Configuration cannot pass a nullable enum default; <see cref="RollingJsonOptions.FlushOnLevel"/> = <see langword="null"/> turns it off.)</param>
    /// <param name="shutdownTimeout">How long disposal, or the end of a process that never disposed the sink, may wait for the queue to drain. The default, <see langword="null"/>, means 10 seconds.</param>
    /// <param name="restrictedToMinimumLevel">The minimum level of events passed to the sink. Ignored when <paramref name="levelSwitch"/> is set.</param>
    /// <param name="levelSwitch">A switch that changes the sink's minimum level at run time.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentNullException">A required argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An argument breaks the rule its message states.</exception>
    public static LoggerConfiguration RollingJson(
        this LoggerSinkConfiguration sinkConfiguration,
        string path,
        ITextFormatter? formatter = null,
        RollingJsonInterval rollingInterval = RollingJsonInterval.Day,
        bool rollOnUtc = false,
        long? fileSizeLimitBytes = RollingJsonOptions.DefaultFileSizeLimitBytes,
        int? retainedFileCountLimit = RollingJsonOptions.DefaultRetainedFileCountLimit,
        TimeSpan? retainedFileTimeLimit = null,
        long? retainedTotalBytesLimit = null,
        bool compressRolledFiles = false,
        bool fixedCurrentFileName = false,
        int queueLimit = RollingJsonOptions.DefaultQueueLimit,
        bool blockWhenFull = false,
        RollingJsonDurability durability = RollingJsonDurability.Flushed,
        LogEventLevel flushOnLevel = LogEventLevel.Error,
        TimeSpan? shutdownTimeout = null,
        LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
        LoggingLevelSwitch? levelSwitch = null)
    {
        var options = new RollingJsonOptions
        {
            Formatter = formatter,
            RollingInterval = rollingInterval,
            RollOnUtc = rollOnUtc,
            FileSizeLimitBytes = fileSizeLimitBytes,
            RetainedFileCountLimit = retainedFileCountLimit,
            RetainedFileTimeLimit = retainedFileTimeLimit,
            RetainedTotalBytesLimit = retainedTotalBytesLimit,
            CompressRolledFiles = compressRolledFiles,
            FixedCurrentFileName = fixedCurrentFileName,
            QueueLimit = queueLimit,
            BlockWhenFull = blockWhenFull,
            Durability = durability,
            FlushOnLevel = flushOnLevel,
            ShutdownTimeout = shutdownTimeout ?? RollingJsonOptions.DefaultShutdownTimeout,
            RestrictedToMinimumLevel = restrictedToMinimumLevel,
            LevelSwitch = levelSwitch,
        };
        return Configure(sinkConfiguration, path, options);
    }

    /// <summary>
    /// Writes events as one JSON object per line to rolling files, with every option taken from
    /// <paramref name="options"/> (see <see cref="RollingJsonOptions"/> for meanings and defaults).
    /// </summary>
    /// <param name="sinkConfiguration">Logger sink configuration.</param>
    /// <param name="path">The file path; the period's date goes before the extension (<c>logs/app-.json</c> → <c>logs/app-20261122.json</c>). A path whose files a live RollingJson sink of this process writes is refused: dispose that sink (close its logger) first.</param>
    /// <param name="options">The sink's options; read once, later changes have no effect.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentNullException">A required argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option breaks the rule its message states.</exception>
    public static LoggerConfiguration RollingJson(this LoggerSinkConfiguration sinkConfiguration, string path, RollingJsonOptions options)
    {
        Guard.NotNull(options);
        return Configure(sinkConfiguration, path, options.Clone());
    }

    static LoggerConfiguration Configure(LoggerSinkConfiguration sinkConfiguration, string path, RollingJsonOptions options)
    {
        Guard.NotNull(sinkConfiguration);
        var sink = CreateSink(path, options);
        return sinkConfiguration.Sink(sink, options.RestrictedToMinimumLevel, options.LevelSwitch);
    }

    /// <summary>Validates the options and starts a sink; tests use it to reach the sink directly.</summary>
    internal static RollingJsonSink CreateSink(string path, RollingJsonOptions options)
    {
        Guard.NotNullOrWhiteSpace(path);
        Guard.NotNull(options);
        if (!Enum.IsDefined(options.RollingInterval))
            throw new ArgumentOutOfRangeException("rollingInterval", options.RollingInterval, "The rolling interval is not one of the defined values.");
        if (!Enum.IsDefined(options.Durability))
            throw new ArgumentOutOfRangeException("durability", options.Durability, "The durability is not one of the defined values.");
        if (options.FileSizeLimitBytes is { } sizeLimit)
            Guard.Positive(sizeLimit, "fileSizeLimitBytes");
        if (options.RetainedFileCountLimit is { } countLimit && countLimit < 1)
            throw new ArgumentOutOfRangeException("retainedFileCountLimit", countLimit, "At least one file must be retained.");
        if (options.RetainedFileTimeLimit is { } timeLimit)
            Guard.Positive(timeLimit, "retainedFileTimeLimit");
        if (options.RetainedTotalBytesLimit is { } bytesLimit)
            Guard.Positive(bytesLimit, "retainedTotalBytesLimit");
        Guard.Positive(options.QueueLimit, "queueLimit");
        if (options.FlushOnLevel is { } flushLevel)
            Guard.DefinedLevel(flushLevel, "flushOnLevel");
        Guard.DefinedLevel(options.RestrictedToMinimumLevel, "restrictedToMinimumLevel");
        if (options.QueueLimit > RollingJsonOptions.MaxQueueLimit)
            throw new ArgumentOutOfRangeException("queueLimit", options.QueueLimit, "The queue limit must be at most 1,073,741,824 events.");
        Guard.Positive(options.ShutdownTimeout, "shutdownTimeout");
        if (options.ShutdownTimeout > TimeSpan.FromMilliseconds(int.MaxValue))
            throw new ArgumentOutOfRangeException("shutdownTimeout", options.ShutdownTimeout, "The shutdown timeout must be at most 24 days.");
        Guard.NotNull(options.TimeProvider);

        var naming = FileNaming.Create(path, options.RollingInterval, options.FixedCurrentFileName);
        var sink = new RollingJsonSink(naming, options);
        SinkCreated?.Invoke(sink, options);
        return sink;
    }

    /// <summary>Test hook: sees every sink created and the validated options it was given.</summary>
    internal static Action<RollingJsonSink, RollingJsonOptions>? SinkCreated;
}
