using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing.Internal;
using Serilog.Extensions.Observability.Timing.Tests.Support;

namespace Serilog.Extensions.Observability.Timing.Tests;

/// <summary>These tests replace the process-wide defaults that WithPipelineTiming registers, and put them back.</summary>
[NonParallelizable]
public class PipelineTimingLoggerConfigurationExtensionsTests
{
    PipelineTimingOptions _saved = null!;

    [SetUp]
    public void SaveDefaults() => _saved = PipelineTimingDefaults.Current;

    [TearDown]
    public void RestoreDefaults() => PipelineTimingDefaults.Replace(_saved);

    const string AppSettings = """
        {
          "Serilog": {
            "Using": [ "Serilog.Extensions.Observability.Timing" ],
            "MinimumLevel": "Verbose",
            "Enrich": [
              {
                "Name": "WithPipelineTiming",
                "Args": {
                  "stageThresholds": { "llm": "00:00:00.500", "*": "00:00:02" },
                  "pipelineThresholds": { "voice-turn": "00:00:03" },
                  "stageCompletionLevel": "Information",
                  "summaryLevel": "Debug",
                  "disposeOutcome": "Abandoned",
                  "recordExceptionMessageOnSpans": true
                }
              }
            ]
          }
        }
        """;

    static IConfiguration Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    [Test]
    public void ThresholdsLevelsAndDisposeOutcomeFromAppSettingsApplyToPipelinesBegunWithoutOptions()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration()
            .ReadFrom.Configuration(Json(AppSettings))
            .WriteTo.Sink(sink)
            .CreateLogger();

        var defaults = PipelineTimingDefaults.Current;
        Assert.That(defaults, Is.Not.SameAs(_saved));
        var clock = new FakeTimeProvider();
        defaults.TimeProvider = clock;

        string id;
        using (var pipeline = PipelineTimer.Begin("voice-turn", logger))
        {
            id = pipeline.Id;
            var stt = pipeline.Stage("stt");
            clock.Advance(TimeSpan.FromMilliseconds(100));     // under "*": the configured level
            stt.Complete();
            var llm = pipeline.Stage("llm");
            clock.Advance(TimeSpan.FromMilliseconds(600));     // over "llm"
            logger.Information("Generating");
            llm.Complete();
            var tts = pipeline.Stage("tts");
            clock.Advance(TimeSpan.FromMilliseconds(2500));    // over "*"
            tts.Complete();
            using (pipeline.Stage("disposed")) { }              // "disposeOutcome": "Abandoned"
            pipeline.Complete();
        }

        var stages = sink.Events.Where(e => e.Properties.ContainsKey("ElapsedMs") && e.Properties.ContainsKey("Stage")).ToArray();
        Assert.That(stages.Select(e => (e.Scalar("Stage"), e.Level, e.Scalar("Outcome"))), Is.EqualTo(new (object?, LogEventLevel, object?)[]
        {
            ("stt", LogEventLevel.Information, "completed"),
            ("llm", LogEventLevel.Warning, "completed"),
            ("tts", LogEventLevel.Warning, "completed"),
            ("disposed", LogEventLevel.Warning, "abandoned"),
        }));
        var summary = sink.Events.Single(e => e.Properties.ContainsKey("Stages"));
        Assert.That(summary.Level, Is.EqualTo(LogEventLevel.Warning), "3200 ms is over the 3 s threshold");
        Assert.That(summary.Scalar("Outcome"), Is.EqualTo("completed"));
        // The enricher came from appsettings too.
        var inside = sink.Events.Single(e => e.MessageTemplate.Text == "Generating");
        Assert.That((inside.Scalar("PipelineId"), inside.Scalar("Stage"), inside.Scalar("StageElapsedMs")), Is.EqualTo((id, "llm", 600.0)));
    }

    [Test]
    public void EveryWithPipelineTimingArgumentIsReadFromAppSettings()
    {
        using var logger = new LoggerConfiguration().ReadFrom.Configuration(Json(AppSettings)).CreateLogger();
        var defaults = PipelineTimingDefaults.Current;

        Assert.That(defaults.StageThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan>
        {
            ["llm"] = TimeSpan.FromMilliseconds(500),
            ["*"] = TimeSpan.FromSeconds(2),
        }));
        Assert.That(defaults.PipelineThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["voice-turn"] = TimeSpan.FromSeconds(3) }));
        Assert.That(defaults.StageCompletionLevel, Is.EqualTo(LogEventLevel.Information));
        Assert.That(defaults.SummaryLevel, Is.EqualTo(LogEventLevel.Debug));
        Assert.That(defaults.DisposeOutcome, Is.EqualTo(TimingOutcome.Abandoned));
        Assert.That(defaults.RecordExceptionMessageOnSpans, Is.True);
    }

    [Test]
    public void TheReadmesSectionIsReadAsWritten()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "src", "Serilog.Extensions.Observability.Timing", "README.md"));
        var start = readme.IndexOf("```json\n", readme.IndexOf("## appsettings.json", StringComparison.Ordinal), StringComparison.Ordinal) + "```json\n".Length;

        using var logger = new LoggerConfiguration().ReadFrom.Configuration(Json(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)])).CreateLogger();

        var defaults = PipelineTimingDefaults.Current;
        Assert.That(defaults, Is.Not.SameAs(_saved));
        Assert.That(defaults.StageThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["llm"] = TimeSpan.FromSeconds(2), ["*"] = TimeSpan.FromSeconds(5) }));
        Assert.That(defaults.PipelineThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["voice-turn"] = TimeSpan.FromSeconds(8) }));
        Assert.That((defaults.StageCompletionLevel, defaults.SummaryLevel, defaults.DisposeOutcome, defaults.RecordExceptionMessageOnSpans),
            Is.EqualTo((LogEventLevel.Debug, LogEventLevel.Information, TimingOutcome.Completed, false)));
    }

    [Test]
    public void UnderItsThresholdASummaryIsWrittenAtTheConfiguredSummaryLevel()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().ReadFrom.Configuration(Json(AppSettings)).WriteTo.Sink(sink).CreateLogger();
        var clock = new FakeTimeProvider();
        PipelineTimingDefaults.Current.TimeProvider = clock;

        var pipeline = PipelineTimer.Begin("voice-turn", logger);
        clock.Advance(TimeSpan.FromSeconds(3));   // at the threshold: not over
        pipeline.Complete();

        Assert.That(sink.SingleEvent.Level, Is.EqualTo(LogEventLevel.Debug));
    }

    [Test]
    public void WithPipelineTimingWithoutArgumentsKeepsTheDefaultsConfiguredEarlier()
    {
        using var configured = new LoggerConfiguration().ReadFrom.Configuration(Json(AppSettings)).CreateLogger();
        var fromAppSettings = PipelineTimingDefaults.Current;

        // What WithObservability() does after ReadFrom.Configuration: only the enricher is added.
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithPipelineTiming().WriteTo.Sink(sink).CreateLogger();

        Assert.That(PipelineTimingDefaults.Current, Is.SameAs(fromAppSettings));
        Assert.That(PipelineTimingDefaults.Current.StageThresholds["llm"], Is.EqualTo(TimeSpan.FromMilliseconds(500)));
        using (var pipeline = PipelineTimer.Begin("p", logger))
        using (pipeline.Stage("s"))
            logger.Information("inside");
        Assert.That(sink.Events.First(e => e.MessageTemplate.Text == "inside").Properties.ContainsKey("Stage"), Is.True);
    }

    [Test]
    public void WithPipelineTimingWithAnyArgumentRegistersNewDefaults()
    {
        using var configured = new LoggerConfiguration().ReadFrom.Configuration(Json(AppSettings)).CreateLogger();

        using var logger = new LoggerConfiguration().Enrich.WithPipelineTiming(summaryLevel: LogEventLevel.Warning).CreateLogger();
        var defaults = PipelineTimingDefaults.Current;

        Assert.That(defaults.StageThresholds, Is.Empty);
        Assert.That(defaults.StageCompletionLevel, Is.EqualTo(LogEventLevel.Debug));
        Assert.That(defaults.SummaryLevel, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(defaults.DisposeOutcome, Is.EqualTo(TimingOutcome.Completed));
        Assert.That(defaults.RecordExceptionMessageOnSpans, Is.False);
    }

    [Test]
    public void WithPipelineTimingWithOnlyRecordExceptionMessageOnSpansRegistersNewDefaults()
    {
        // Every other argument at its default: this one alone must not be taken for "nothing to configure".
        using var logger = new LoggerConfiguration().Enrich.WithPipelineTiming(recordExceptionMessageOnSpans: true).CreateLogger();

        Assert.That(PipelineTimingDefaults.Current, Is.Not.SameAs(_saved));
        Assert.That(PipelineTimingDefaults.Current.RecordExceptionMessageOnSpans, Is.True);
    }

    [Test]
    public void RecordExceptionMessageOnSpansFromAppSettingsPutsTheMessageOnTheSpansOfPipelinesBegunWithoutOptions()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Serilog.Extensions.Observability.Timing",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (stopped) stopped.Add(activity); },
        };
        ActivitySource.AddActivityListener(listener);
        using var logger = new LoggerConfiguration().ReadFrom.Configuration(Json("""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Timing" ],
              "Enrich": [ { "Name": "WithPipelineTiming", "Args": { "recordExceptionMessageOnSpans": true } } ] } }
            """)).CreateLogger();

        using (var pipeline = PipelineTimer.Begin("configured", logger))
            pipeline.Stage("llm").Fail(new InvalidOperationException("model unavailable"));

        var llm = stopped.Single(a => a.OperationName == "llm");
        Assert.That(llm.StatusDescription, Is.EqualTo("model unavailable"));
        Assert.That(llm.Events.Single(e => e.Name == "exception").Tags.Single(t => t.Key == "exception.message").Value, Is.EqualTo("model unavailable"));
    }

    [Test]
    public void PipelineTimingOptionsBindFromAConfigurationSection()
    {
        var options = new PipelineTimingOptions();
        Json("""
            { "PipelineTiming": { "StageThresholds": { "embed": "00:00:01.5" }, "PipelineThresholds": { "*": "00:00:10" },
              "StageCompletionLevel": "Verbose", "DisposeOutcome": "Abandoned", "RecordExceptionMessageOnSpans": true } }
            """).GetSection("PipelineTiming").Bind(options);

        Assert.That(options.StageThresholds["embed"], Is.EqualTo(TimeSpan.FromMilliseconds(1500)));
        Assert.That(options.StageThresholds.ContainsKey("Embed"), Is.False, "names stay case-sensitive");
        Assert.That(options.PipelineThresholds["*"], Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(options.StageCompletionLevel, Is.EqualTo(LogEventLevel.Verbose));
        Assert.That(options.DisposeOutcome, Is.EqualTo(TimingOutcome.Abandoned));
        Assert.That(options.RecordExceptionMessageOnSpans, Is.True);
    }

    [Test]
    public void OptionsGivenInCodeBecomeTheDefaultsOfPipelinesBegunWithoutOptions()
    {
        var clock = new FakeTimeProvider();
        var options = new PipelineTimingOptions { TimeProvider = clock, SummaryLevel = LogEventLevel.Warning };
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithPipelineTiming(options).WriteTo.Sink(sink).CreateLogger();

        using (PipelineTimer.Begin("coded", logger)) clock.Advance(TimeSpan.FromSeconds(1));

        Assert.That(PipelineTimingDefaults.Current.TimeProvider, Is.SameAs(clock));
        Assert.That(sink.SingleEvent.Level, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(sink.SingleEvent.Scalar("ElapsedMs"), Is.EqualTo(1000.0));
    }

    [Test]
    public void AnOptionsObjectInAppSettingsSelectsTheOptionsOverload()
    {
        // Serilog.Settings.Configuration picks the overload whose parameter names match the most "Args" keys: "options"
        // matches only WithPipelineTiming(PipelineTimingOptions), and no key of the other overload is named like it.
        using var logger = new LoggerConfiguration().ReadFrom.Configuration(Json("""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Timing" ],
              "Enrich": [ { "Name": "WithPipelineTiming", "Args": { "options": {
                "StageThresholds": { "llm": "00:00:01", "*": "00:00:05" }, "PipelineThresholds": { "voice-turn": "00:00:03" },
                "SummaryLevel": "Warning", "DisposeOutcome": "Abandoned", "RecordExceptionMessageOnSpans": true } } } ] } }
            """)).CreateLogger();

        // Serilog.Settings.Configuration 8.0.0 binds the object with Microsoft.Extensions.Configuration.Binder, which
        // fills the threshold dictionaries in place; 8.0.4 and later build it themselves and set only properties that
        // have a setter.
        var defaults = PipelineTimingDefaults.Current;
        Assert.That(defaults, Is.Not.SameAs(_saved));
        Assert.That(defaults.StageThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan>
            { ["llm"] = TimeSpan.FromSeconds(1), ["*"] = TimeSpan.FromSeconds(5) }));
        Assert.That(defaults.PipelineThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["voice-turn"] = TimeSpan.FromSeconds(3) }));
        Assert.That(defaults.SummaryLevel, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(defaults.DisposeOutcome, Is.EqualTo(TimingOutcome.Abandoned));
        Assert.That(defaults.RecordExceptionMessageOnSpans, Is.True);
    }

    /// <summary>
    /// Serilog.Settings.Configuration 8.0.4 (the Serilog 4.0 and 4.1 runs' version), 9.0.0 (4.2's) and 10 build an options
    /// object themselves; 8.0.0 (what the packages are built against) binds it with the configuration binder.
    /// </summary>
    static bool SettingsConfigurationBuildsOptionsObjects =>
        typeof(Serilog.Settings.Configuration.ConfigurationReaderOptions).Assembly.GetName().Version >= new Version(8, 0, 4);

    [Test]
    public void AnOptionsObjectValueThatCannotBeSetIsAnErrorOrASelfLogLineAsTheReadmeSays()
    {
        static IConfiguration Options(string members) => Json($$"""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Timing" ],
              "Enrich": [ { "Name": "WithPipelineTiming", "Args": { "options": { {{members}} } } } ] } }
            """);
        var undefinedLevel = Options("\"SummaryLevel\": 9, \"DisposeOutcome\": \"Abandoned\"");
        var unreadableThreshold = Options("\"StageThresholds\": { \"llm\": \"2s\", \"stt\": \"00:00:01\" }");
        var selfLog = new List<string>();

        if (SettingsConfigurationBuildsOptionsObjects)
        {
            using (TemporarySelfLog.SaveTo(selfLog))
                new LoggerConfiguration().ReadFrom.Configuration(undefinedLevel).CreateLogger().Dispose();
            Assert.That(PipelineTimingDefaults.Current.SummaryLevel, Is.EqualTo(LogEventLevel.Information), "the default");
            Assert.That(PipelineTimingDefaults.Current.DisposeOutcome, Is.EqualTo(TimingOutcome.Abandoned), "the other options apply");
            Assert.That(selfLog, Has.One.Contains("Property setter on " + typeof(PipelineTimingOptions)));

            selfLog.Clear();
            using (TemporarySelfLog.SaveTo(selfLog))
                new LoggerConfiguration().ReadFrom.Configuration(unreadableThreshold).CreateLogger().Dispose();
            Assert.That(PipelineTimingDefaults.Current.StageThresholds, Is.Empty, "the dictionary loses all its entries");
            Assert.That(selfLog, Has.One.Contains("Property setter on " + typeof(PipelineTimingOptions)).And.One.Contains("'2s'"));
        }
        else
        {
            // The binder sets the property through reflection, which wraps what the setter throws.
            var thrown = Assert.Throws<System.Reflection.TargetInvocationException>(() => new LoggerConfiguration().ReadFrom.Configuration(undefinedLevel));
            Assert.That(thrown!.InnerException, Is.InstanceOf<ArgumentOutOfRangeException>().With.Message.StartsWith("The level must be one of"));
            Assert.That(PipelineTimingDefaults.Current, Is.SameAs(_saved), "A rejected configuration must not replace the defaults.");

            new LoggerConfiguration().ReadFrom.Configuration(unreadableThreshold).CreateLogger().Dispose();
            Assert.That(PipelineTimingDefaults.Current.StageThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["stt"] = TimeSpan.FromSeconds(1) }),
                "only the entry that cannot be read is skipped");
        }
    }

    [Test]
    public void AThresholdDictionaryThatIsSetIsCopiedIntoACaseSensitiveOneOfTheOptionsOwn()
    {
        var given = new Dictionary<string, TimeSpan>(StringComparer.OrdinalIgnoreCase) { ["llm"] = TimeSpan.FromSeconds(1) };
        var options = new PipelineTimingOptions { StageThresholds = given, PipelineThresholds = given };

        given["embed"] = TimeSpan.FromSeconds(2);

        Assert.That(options.StageThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["llm"] = TimeSpan.FromSeconds(1) }));
        Assert.That(options.StageThresholds, Is.Not.SameAs(options.PipelineThresholds));
        Assert.That(options.StageThresholds.ContainsKey("LLM"), Is.False, "names are case-sensitive");
        Assert.That(options.PipelineThresholds.ContainsKey("LLM"), Is.False, "names are case-sensitive");
        Assert.That(() => options.StageThresholds = null!, Throws.ArgumentNullException.With.Property("ParamName").EqualTo("value"));
        Assert.That(() => options.PipelineThresholds = null!, Throws.ArgumentNullException.With.Property("ParamName").EqualTo("value"));
    }

    [Test]
    public void TheRegisteredCopyKeepsRecordExceptionMessageOnSpansAndIgnoresLaterChanges()
    {
        var options = new PipelineTimingOptions { RecordExceptionMessageOnSpans = true };
        using var logger = new LoggerConfiguration().Enrich.WithPipelineTiming(options).CreateLogger();

        options.RecordExceptionMessageOnSpans = false;

        Assert.That(PipelineTimingDefaults.Current, Is.Not.SameAs(options));
        Assert.That(PipelineTimingDefaults.Current.RecordExceptionMessageOnSpans, Is.True);
    }

    [Test]
    public void ChangesToRegisteredOptionsAfterConfigurationDoNotReachTheDefaults()
    {
        var clock = new FakeTimeProvider();
        var options = new PipelineTimingOptions { TimeProvider = clock };
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().Enrich.WithPipelineTiming(options).WriteTo.Sink(sink).CreateLogger();

        // Unvalidated (a negative threshold makes every stage slow) and, in a service, made while pipelines read them.
        options.StageThresholds[PipelineTimingOptions.AnyName] = TimeSpan.FromSeconds(-1);
        options.SummaryLevel = LogEventLevel.Error;

        using (var pipeline = PipelineTimer.Begin("after", logger))
        using (pipeline.Stage("s"))
            clock.Advance(TimeSpan.FromSeconds(1));

        Assert.That(sink.Events.Select(e => e.Level), Is.EqualTo(new[] { LogEventLevel.Debug, LogEventLevel.Information }));
        Assert.That(PipelineTimingDefaults.Current.StageThresholds, Is.Empty);
    }

    [Test]
    public void ANonPositiveThresholdIsRejectedWithTheParameterNameAndTheRule()
    {
        var zero = new Dictionary<string, TimeSpan> { ["llm"] = TimeSpan.Zero };
        var blank = new Dictionary<string, TimeSpan> { [" "] = TimeSpan.FromSeconds(1) };

        Assert.That(() => new LoggerConfiguration().Enrich.WithPipelineTiming(stageThresholds: zero),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("stageThresholds")
                .And.Message.Contains("'llm' must be greater than zero"));
        Assert.That(() => new LoggerConfiguration().Enrich.WithPipelineTiming(pipelineThresholds: blank),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("pipelineThresholds"));
        var options = new PipelineTimingOptions();
        options.PipelineThresholds["p"] = TimeSpan.FromSeconds(-1);
        Assert.That(() => new LoggerConfiguration().Enrich.WithPipelineTiming(options),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("PipelineThresholds"));
        Assert.That(() => new LoggerConfiguration().Enrich.WithPipelineTiming(disposeOutcome: TimingOutcome.Failed),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("disposeOutcome"));
        Assert.That(() => new LoggerConfiguration().Enrich.WithPipelineTiming((PipelineTimingOptions)null!),
            Throws.ArgumentNullException.With.Property("ParamName").EqualTo("options"));
        Assert.That(PipelineTimingDefaults.Current, Is.SameAs(_saved), "A rejected configuration must not replace the defaults.");
    }

    [TestCase("stageThresholds", "abc")]
    [TestCase("pipelineThresholds", "2s")]
    public void AnAppSettingsThresholdThatIsNotATimeSpanIsSkippedOrAnErrorAsTheReadmeSays(string parameter, string value)
    {
        // Serilog.Settings.Configuration converts the dictionary before WithPipelineTiming is called, so the method never
        // sees the text: 8.0.0 binds it with the configuration binder, which skips an entry it cannot convert; 8.0.4 (the
        // Serilog 4.0 run of build/test.sh) and 10 parse each value with TimeSpan.Parse, which throws.
        var json = $$"""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Timing" ], "Enrich": [ { "Name": "WithPipelineTiming",
              "Args": { "{{parameter}}": { "llm": "{{value}}", "stt": "00:00:01" } } } ] } }
            """;
        var version = typeof(Serilog.Settings.Configuration.ConfigurationReaderOptions).Assembly.GetName().Version!;

        if (version >= new Version(8, 0, 4))
        {
            Assert.That(() => new LoggerConfiguration().ReadFrom.Configuration(Json(json)).CreateLogger(),
                Throws.InstanceOf<FormatException>().With.Message.Contains($"'{value}'"));
            Assert.That(PipelineTimingDefaults.Current, Is.SameAs(_saved), "A rejected configuration must not replace the defaults.");
        }
        else
        {
            new LoggerConfiguration().ReadFrom.Configuration(Json(json)).CreateLogger().Dispose();
            var thresholds = parameter == "stageThresholds" ? PipelineTimingDefaults.Current.StageThresholds : PipelineTimingDefaults.Current.PipelineThresholds;
            Assert.That(thresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["stt"] = TimeSpan.FromSeconds(1) }), "only that entry is skipped");
        }
    }

    [Test]
    public void AnUndefinedLevelIsRejectedWithTheParameterNameFromCodeOptionsAndAppSettings()
    {
        Assert.That(() => new LoggerConfiguration().Enrich.WithPipelineTiming(stageCompletionLevel: (LogEventLevel)42),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("stageCompletionLevel"));
        Assert.That(() => new LoggerConfiguration().Enrich.WithPipelineTiming(summaryLevel: (LogEventLevel)(-1)),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("summaryLevel"));
        Assert.That(() => new PipelineTimingOptions { SummaryLevel = (LogEventLevel)42 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new PipelineTimingOptions { StageCompletionLevel = (LogEventLevel)6 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new LoggerConfiguration().ReadFrom.Configuration(Json("""
            {"Serilog":{"Using":["Serilog.Extensions.Observability.Timing"],"Enrich":[{"Name":"WithPipelineTiming","Args":{"summaryLevel":"9"}}]}}
            """)).CreateLogger(), Throws.Exception);
        Assert.That(PipelineTimingDefaults.Current, Is.SameAs(_saved), "A rejected configuration must not replace the defaults.");
    }
}
