using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests;

public class RollingJsonLoggerConfigurationExtensionsTests
{
    static ArgumentException Rejects(Action<RollingJsonOptions> configure, string path = "logs/app-.json")
    {
        var options = new RollingJsonOptions();
        configure(options);
        return Assert.Catch<ArgumentException>(() => new LoggerConfiguration().WriteTo.RollingJson(path, options))!;
    }

    [Test]
    public void InvalidOptionsAreRejectedWithTheParameterNameAndTheRule()
    {
        Assert.That(Rejects(o => o.QueueLimit = 0).ParamName, Is.EqualTo("queueLimit"));
        var huge = Rejects(o => o.QueueLimit = RollingJsonOptions.MaxQueueLimit + 1);
        Assert.That(huge.ParamName, Is.EqualTo("queueLimit"));
        Assert.That(huge.Message, Does.StartWith("The queue limit must be at most 1,073,741,824 events."));
        Assert.That(Rejects(o => o.FileSizeLimitBytes = 0).ParamName, Is.EqualTo("fileSizeLimitBytes"));
        Assert.That(Rejects(o => o.FlushOnLevel = (LogEventLevel)9).ParamName, Is.EqualTo("flushOnLevel"));
        var count = Rejects(o => o.RetainedFileCountLimit = 0);
        Assert.That((count.ParamName, count.Message), Is.EqualTo(("retainedFileCountLimit", count.Message)));
        Assert.That(count.Message, Does.StartWith("At least one file must be retained."));
        Assert.That(Rejects(o => o.RetainedFileTimeLimit = TimeSpan.Zero).ParamName, Is.EqualTo("retainedFileTimeLimit"));
        Assert.That(Rejects(o => o.RetainedTotalBytesLimit = -1).ParamName, Is.EqualTo("retainedTotalBytesLimit"));
        Assert.That(Rejects(o => o.ShutdownTimeout = TimeSpan.Zero).ParamName, Is.EqualTo("shutdownTimeout"));
        Assert.That(Rejects(o => o.RollingInterval = (RollingJsonInterval)99).ParamName, Is.EqualTo("rollingInterval"));
        Assert.That(Rejects(o => o.Durability = (RollingJsonDurability)99).ParamName, Is.EqualTo("durability"));
        Assert.That(Rejects(_ => { }, path: " ").ParamName, Is.EqualTo("path"));
        Assert.Throws<ArgumentNullException>(() => new LoggerConfiguration().WriteTo.RollingJson("a.json", (RollingJsonOptions)null!));
    }

    [Test]
    public void AnUndefinedRestrictedToMinimumLevelIsRejectedInsteadOfASinkThatReceivesNothing()
    {
        // "restrictedToMinimumLevel": "9" in "Args" binds to (LogEventLevel)9, above Fatal: every event would be filtered out.
        var fromOptions = Rejects(o => o.RestrictedToMinimumLevel = (LogEventLevel)9);
        Assert.That(fromOptions.ParamName, Is.EqualTo("restrictedToMinimumLevel"));
        Assert.That(fromOptions.Message, Does.StartWith("The level must be one of Verbose, Debug, Information, Warning, Error or Fatal."));
        var fromParameters = Assert.Catch<ArgumentException>(() =>
            new LoggerConfiguration().WriteTo.RollingJson("logs/app-.json", restrictedToMinimumLevel: (LogEventLevel)(-1)));
        Assert.That(fromParameters!.ParamName, Is.EqualTo("restrictedToMinimumLevel"));
    }

    [Test]
    public void TheParameterOverloadValidatesTheSameWay()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LoggerConfiguration().WriteTo.RollingJson("logs/a.json", retainedFileCountLimit: 0));
        Assert.That(ex!.ParamName, Is.EqualTo("retainedFileCountLimit"));
    }

    [Test]
    public void OptionsHaveTheDocumentedDefaults()
    {
        var options = new RollingJsonOptions();
        Assert.That(options.Formatter, Is.Null);
        Assert.That(options.RollingInterval, Is.EqualTo(RollingJsonInterval.Day));
        Assert.That(options.RollOnUtc, Is.False);
        Assert.That(options.FileSizeLimitBytes, Is.EqualTo(100L * 1024 * 1024));
        Assert.That(options.RetainedFileCountLimit, Is.EqualTo(31));
        Assert.That(options.RetainedFileTimeLimit, Is.Null);
        Assert.That(options.RetainedTotalBytesLimit, Is.Null);
        Assert.That(options.CompressRolledFiles, Is.False);
        Assert.That(options.FixedCurrentFileName, Is.False);
        Assert.That(options.QueueLimit, Is.EqualTo(100_000));
        Assert.That(options.BlockWhenFull, Is.False);
        Assert.That(options.Durability, Is.EqualTo(RollingJsonDurability.Flushed));
        Assert.That(options.FlushOnLevel, Is.EqualTo(LogEventLevel.Error));
        Assert.That(options.ShutdownTimeout, Is.EqualTo(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public void TheOptionsObjectIsCopiedSoLaterChangesHaveNoEffect()
    {
        RollingJsonOptions? seen = null;
        RollingJsonLoggerConfigurationExtensions.SinkCreated = (_, o) => seen = o;
        try
        {
            using var folder = TempFolder.ForCaller();
            var options = new RollingJsonOptions { QueueLimit = 123 };
            using (new LoggerConfiguration().WriteTo.RollingJson(Path.Combine(folder.Path, "a.json"), options).CreateLogger())
                options.QueueLimit = 456;
            Assert.That(seen!.QueueLimit, Is.EqualTo(123));
        }
        finally
        {
            RollingJsonLoggerConfigurationExtensions.SinkCreated = null;
        }
    }

    [Test, NonParallelizable]
    public void EveryOptionCanBeSetFromAppsettings()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json").Replace("\\", "\\\\");
        var json = $$"""
        {
          "Serilog": {
            "Using": [ "Serilog.Extensions.Observability.Sinks.RollingJson" ],
            "MinimumLevel": "Verbose",
            "WriteTo": [
              {
                "Name": "RollingJson",
                "Args": {
                  "path": "{{path}}",
                  "formatter": "Serilog.Formatting.Json.JsonFormatter, Serilog",
                  "rollingInterval": "Hour",
                  "rollOnUtc": true,
                  "fileSizeLimitBytes": 2048,
                  "retainedFileCountLimit": 7,
                  "retainedFileTimeLimit": "1.00:00:00",
                  "retainedTotalBytesLimit": 1000000,
                  "compressRolledFiles": true,
                  "fixedCurrentFileName": true,
                  "queueLimit": 500,
                  "blockWhenFull": true,
                  "durability": "Durable",
                  "flushOnLevel": "Warning",
                  "shutdownTimeout": "00:00:05",
                  "restrictedToMinimumLevel": "Information"
                }
              }
            ]
          }
        }
        """;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        RollingJsonOptions? seen = null;
        RollingJsonLoggerConfigurationExtensions.SinkCreated = (_, o) => seen = o;
        try
        {
            var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
            logger.Debug("Below the sink's minimum level");
            logger.Information("Hello {Name}", "appsettings");
            logger.Dispose();
        }
        finally
        {
            RollingJsonLoggerConfigurationExtensions.SinkCreated = null;
        }

        Assert.That(seen, Is.Not.Null);
        Assert.That(seen!.Formatter, Is.InstanceOf<JsonFormatter>());
        Assert.That(seen.RollingInterval, Is.EqualTo(RollingJsonInterval.Hour));
        Assert.That(seen.RollOnUtc, Is.True);
        Assert.That(seen.FileSizeLimitBytes, Is.EqualTo(2048));
        Assert.That(seen.RetainedFileCountLimit, Is.EqualTo(7));
        Assert.That(seen.RetainedFileTimeLimit, Is.EqualTo(TimeSpan.FromDays(1)));
        Assert.That(seen.RetainedTotalBytesLimit, Is.EqualTo(1_000_000));
        Assert.That(seen.CompressRolledFiles, Is.True);
        Assert.That(seen.FixedCurrentFileName, Is.True);
        Assert.That(seen.QueueLimit, Is.EqualTo(500));
        Assert.That(seen.BlockWhenFull, Is.True);
        Assert.That(seen.Durability, Is.EqualTo(RollingJsonDurability.Durable));
        Assert.That(seen.FlushOnLevel, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(seen.ShutdownTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(seen.RestrictedToMinimumLevel, Is.EqualTo(LogEventLevel.Information));

        var lines = LogFiles.Lines(Path.Combine(folder.Path, "app.json"));
        Assert.That(lines, Has.Count.EqualTo(1));
        Assert.That(LogFiles.Property(LogFiles.Parse(lines[0]), "Name").GetString(), Is.EqualTo("appsettings"));
    }

    /// <summary>
    /// Whether <c>null</c> or <c>""</c> in an appsettings options object sets a nullable option to <see langword="null"/>:
    /// Serilog.Settings.Configuration 8.0.4 and later set the object's properties themselves and do; 8.0.0 binds the
    /// object with Microsoft.Extensions.Configuration.Binder, which skips them up to 9.x (the option keeps its default)
    /// and sets <see langword="null"/> from 10.0 (the README says all three).
    /// </summary>
    static bool NullInAnOptionsObjectSetsNull =>
        SettingsConfigurationBuildsOptionsObjects || typeof(ConfigurationBinder).Assembly.GetName().Version!.Major >= 10;

    /// <summary>
    /// Serilog.Settings.Configuration 8.0.0 (what the packages are built against) binds an options object with the
    /// configuration binder; 8.0.4 (the Serilog 4.0 and 4.1 runs' version), 9.0.0 (4.2's) and 10 build it themselves.
    /// </summary>
    static bool SettingsConfigurationBuildsOptionsObjects =>
        typeof(Serilog.Settings.Configuration.ConfigurationReaderOptions).Assembly.GetName().Version >= new Version(8, 0, 4);

    static RollingJsonOptions FromAnOptionsObject(string members, List<string>? selfLog = null)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json").Replace("\\", "\\\\");
        var json = $$"""
        { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Sinks.RollingJson" ],
                       "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "{{path}}", "options": { {{members}}, "QueueLimit": 7 } } } ] } }
        """;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        RollingJsonOptions? seen = null;
        RollingJsonLoggerConfigurationExtensions.SinkCreated = (_, o) => seen = o;
        try
        {
            using (selfLog is null ? null : TemporarySelfLog.SaveTo(selfLog))
                new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger().Dispose();
        }
        finally
        {
            RollingJsonLoggerConfigurationExtensions.SinkCreated = null;
        }
        Assert.That(seen!.QueueLimit, Is.EqualTo(7), "the options object is bound");
        return seen;
    }

    [NonParallelizable]
    [TestCase("null")]
    [TestCase("\"\"")]
    public void NullOrEmptyForANullableOptionInAnOptionsObjectFromAppsettingsIsSkippedOrSetAsTheReadmeSays(string value)
    {
        var seen = FromAnOptionsObject($$"""
            "FlushOnLevel": {{value}}, "FileSizeLimitBytes": {{value}}, "RetainedFileCountLimit": {{value}}, "RetainedFileTimeLimit": {{value}}
            """);

        if (NullInAnOptionsObjectSetsNull)
        {
            Assert.That(seen.FlushOnLevel, Is.Null, "the flush is off");
            Assert.That(seen.FileSizeLimitBytes, Is.Null, "no size limit");
            Assert.That(seen.RetainedFileCountLimit, Is.Null, "no count limit");
        }
        else
        {
            Assert.That(seen.FlushOnLevel, Is.EqualTo(LogEventLevel.Error));
            Assert.That(seen.FileSizeLimitBytes, Is.EqualTo(RollingJsonOptions.DefaultFileSizeLimitBytes));
            Assert.That(seen.RetainedFileCountLimit, Is.EqualTo(RollingJsonOptions.DefaultRetainedFileCountLimit));
        }
        Assert.That(seen.RetainedFileTimeLimit, Is.Null, "its default either way");
    }

    [NonParallelizable]
    [Test]
    public void AValueThatDoesNotConvertInAnOptionsObjectFromAppsettingsIsAnErrorOrASelfLogLineAsTheReadmeSays()
    {
        // Serilog.Settings.Configuration 8.0.4 and later report a property they cannot set and go on; the binder throws.
        if (SettingsConfigurationBuildsOptionsObjects)
        {
            var selfLog = new List<string>();
            var seen = FromAnOptionsObject("\"RollingInterval\": \"Weekly\", \"FlushOnLevel\": \"Fatal\"", selfLog);

            Assert.That(seen.RollingInterval, Is.EqualTo(RollingJsonInterval.Day), "the default");
            Assert.That(seen.FlushOnLevel, Is.EqualTo(LogEventLevel.Fatal), "the other options apply");
            Assert.That(selfLog, Has.One.Contains("Property setter on " + typeof(RollingJsonOptions)).And.One.Contains("Weekly"));
        }
        else
        {
            Assert.That(() => FromAnOptionsObject("\"RollingInterval\": \"Weekly\""), Throws.InvalidOperationException.With.Message.EqualTo(
                "Failed to convert configuration value at 'Serilog:WriteTo:0:Args:options:RollingInterval' to type '" + typeof(RollingJsonInterval) + "'."));
        }
    }

    static Exception? FromArgs(string args, out RollingJsonOptions? seen)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json").Replace("\\", "\\\\");
        var json = $$"""
        { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Sinks.RollingJson" ],
                       "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "{{path}}", {{args}} } } ] } }
        """;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        RollingJsonOptions? created = null;
        RollingJsonLoggerConfigurationExtensions.SinkCreated = (_, o) => created = o;
        try
        {
            new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger().Dispose();
            return null;
        }
        catch (Exception ex)
        {
            // Serilog.Settings.Configuration calls the method through reflection, which wraps what it throws.
            return ex is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : ex;
        }
        finally
        {
            RollingJsonLoggerConfigurationExtensions.SinkCreated = null;
            seen = created;
        }
    }

    [NonParallelizable]
    [TestCase("\"queueLimit\": \"0\"", "queueLimit")]
    [TestCase("\"queueLimit\": null", "queueLimit")]
    [TestCase("\"fileSizeLimitBytes\": \"-1\"", "fileSizeLimitBytes")]
    [TestCase("\"retainedFileCountLimit\": 0", "retainedFileCountLimit")]
    [TestCase("\"retainedFileTimeLimit\": \"-00:00:01\"", "retainedFileTimeLimit")]
    [TestCase("\"retainedTotalBytesLimit\": 0", "retainedTotalBytesLimit")]
    [TestCase("\"shutdownTimeout\": \"00:00:00\"", "shutdownTimeout")]
    [TestCase("\"rollingInterval\": \"7\"", "rollingInterval")]
    [TestCase("\"durability\": \"9\"", "durability")]
    [TestCase("\"flushOnLevel\": \"9\"", "flushOnLevel")]
    public void AnInvalidArgumentFromAppsettingsIsRejectedWithItsName(string args, string parameter)
    {
        var ex = FromArgs(args, out _);
        Assert.That(ex, Is.InstanceOf<ArgumentException>());
        Assert.That(((ArgumentException)ex!).ParamName, Is.EqualTo(parameter));
    }

    [NonParallelizable]
    [TestCase("\"fileSizeLimitBytes\": null")]
    [TestCase("\"retainedFileCountLimit\": null")]
    public void ANullLimitFromAppsettingsRemovesTheLimitAsTheReadmeSays(string args)
    {
        Assert.That(FromArgs(args, out var seen), Is.Null);
        Assert.That(args.Contains("fileSize", StringComparison.Ordinal) ? seen!.FileSizeLimitBytes : seen!.RetainedFileCountLimit, Is.Null);
    }

    [Test]
    public void AppsettingsWithOnlyThePathUseTheDefaults()
    {
        // Omitted arguments take the parameters' default values through reflection: a nullable enum default would
        // come back as an int and fail, which is why flushOnLevel is not nullable on the parameter overload.
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "min-.json").Replace("\\", "\\\\");
        var json = $$"""
        { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Sinks.RollingJson" ],
                       "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "{{path}}", "rollingInterval": "Infinite" } } ] } }
        """;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
        logger.Information("Hello {Name}", "defaults");
        logger.Dispose();
        var line = LogFiles.Parse(LogFiles.Lines(Path.Combine(folder.Path, "min-.json")).Single());
        Assert.That(line.GetProperty("Name").GetString(), Is.EqualTo("defaults"));
    }

    [Test]
    public void ALevelSwitchControlsTheSink()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "a.json");
        var levelSwitch = new LoggingLevelSwitch(LogEventLevel.Warning);
        var logger = new LoggerConfiguration().MinimumLevel.Verbose()
            .WriteTo.RollingJson(path, rollingInterval: RollingJsonInterval.Infinite, levelSwitch: levelSwitch)
            .CreateLogger();
        logger.Information("dropped by the switch");
        levelSwitch.MinimumLevel = LogEventLevel.Information;
        logger.Information("passes");
        logger.Dispose();
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(1));
    }

    [Test, NonParallelizable]
    public void TheMeterReportsWrittenDroppedBytesRolloversAndQueueLength()
    {
        var totals = new Dictionary<string, long>();
        var dropReasons = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Serilog.Extensions.Observability.Sinks.RollingJson") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (totals)
            {
                totals[instrument.Name] = totals.GetValueOrDefault(instrument.Name) + value;
                foreach (var tag in tags)
                    if (tag.Key == "reason") dropReasons[(string)tag.Value!] = dropReasons.GetValueOrDefault((string)tag.Value!) + value;
            }
        });
        listener.Start();

        using var folder = TempFolder.ForCaller();
        var sink = Support.Sinks.Create(Path.Combine(folder.Path, "m-.json"), o => { o.QueueLimit = 10; o.FileSizeLimitBytes = 500; });
        sink.PauseWriter();
        for (var i = 0; i < 15; i++) sink.Emit(Support.Sinks.Event(i, text: new string('m', 100)));
        listener.RecordObservableInstruments();
        long queueLength;
        lock (totals) queueLength = totals.GetValueOrDefault("serilog.rolling_json.queue.length");
        Assert.That(queueLength, Is.GreaterThanOrEqualTo(10));
        sink.ResumeWriter();
        sink.Dispose();

        lock (totals)
        {
            Assert.That(totals.GetValueOrDefault("serilog.rolling_json.events.written"), Is.EqualTo(10));
            Assert.That(totals.GetValueOrDefault("serilog.rolling_json.events.dropped"), Is.EqualTo(5));
            Assert.That(dropReasons.GetValueOrDefault("queue_full"), Is.EqualTo(5));
            Assert.That(totals.GetValueOrDefault("serilog.rolling_json.bytes.written"), Is.EqualTo(sink.BytesWritten).And.GreaterThan(1_000));
            Assert.That(totals.GetValueOrDefault("serilog.rolling_json.rollovers"), Is.EqualTo(sink.Rollovers).And.GreaterThan(0));
        }
    }
}
