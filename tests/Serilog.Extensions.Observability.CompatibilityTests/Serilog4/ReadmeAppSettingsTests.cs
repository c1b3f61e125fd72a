using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4;

/// <summary>
/// The <c>appsettings.json</c> blocks of the READMEs, read from the READMEs themselves (only <c>logs/</c> moved to a
/// temporary folder), bound by Serilog.Settings.Configuration 10 on Serilog 4.4, each argument's effect seen in the output.
/// </summary>
[NonParallelizable] // redirects the process-wide Console.Out, sets an environment variable and the static Log.Logger
public class ReadmeAppSettingsTests
{
    static readonly Type TimingDefaultsType = typeof(PipelineTimer).Assembly
        .GetType("Serilog.Extensions.Observability.Timing.Internal.PipelineTimingDefaults", throwOnError: true)!;

    PipelineTimingOptions? _savedTimingDefaults;

    [SetUp]
    public void SaveTimingDefaults() => _savedTimingDefaults = TimingDefaults();

    [TearDown]
    public void Restore()
    {
        Log.CloseAndFlush();
        TimingDefaultsType.GetMethod("Replace", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, [_savedTimingDefaults]);
    }

    /// <summary>
    /// The newest Serilog.Settings.Configuration that admits the running Serilog, as NuGet gives an application on it
    /// (Directory.Packages.props): 10 asks for Serilog 4.3.0 and 9 for 4.2.0, so a run on 4.2 reads with 9.0.0 and one on
    /// 4.0 or 4.1 with 8.0.4.
    /// </summary>
    [Test]
    public void TheSettingsReaderIsTheNewestThatAdmitsTheRunningSerilog()
    {
        var version = typeof(Serilog.Settings.Configuration.ConfigurationReaderOptions).Assembly.GetName().Version!;
        var serilog = typeof(Log).Assembly.GetName().Version!;

        Assert.That(version.Major, Is.EqualTo(serilog >= new Version(4, 3) ? 10 : serilog >= new Version(4, 2) ? 9 : 8), $"on Serilog {serilog}");
    }

    static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        return dir!.FullName;
    }

    /// <summary>The first <c>```json</c> block after <paramref name="heading"/> in the README at <paramref name="readmePath"/>.</summary>
    static string ReadmeBlock(string readmePath, string heading, string? logDirectory = null)
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), readmePath));
        var section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"{readmePath} has no '{heading}'.");
        var start = readme.IndexOf("```json\n", section, StringComparison.Ordinal) + "```json\n".Length;
        var json = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        return logDirectory is null ? json : json.Replace("logs/", logDirectory.Replace('\\', '/') + "/");
    }

    static IConfiguration Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    static Logger FromJson(string json, ILogEventSink? sink = null)
    {
        var configuration = new LoggerConfiguration().ReadFrom.Configuration(Json(json));
        if (sink is not null) configuration.WriteTo.Sink(sink);
        return configuration.CreateLogger();
    }

    static List<JsonElement> Lines(string file) =>
        File.ReadLines(file).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Test]
    public void TheRootReadmesQuickStartConfiguresEveryComponent()
    {
        using var folder = TempFolder.ForCaller();
        var json = ReadmeBlock("README.md", "## Quick start in appsettings.json", folder.Path);
        var console = ConsoleCapture.Output(() =>
        {
            using var logger = FromJson(json);
            using (CorrelationContext.Begin("readme-corr"))
            using (UserContext.Begin("user-42", "acme"))
            using (var pipeline = PipelineTimer.Begin("voice-turn", logger))
            using (pipeline.Stage("stt"))
            {
                logger.Debug("Below the default level");
                logger.Information("Login {@Body} with pin {CustomerPin}", new { User = "ann", Password = "readme-secret-1" }, "readme-secret-2");
                logger.Warning("Retrying with {Connection} and {Token}", "Server=db;User Id=app;Password=readme-secret-3;",
                    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.readme-secret-4-signature");
            }
        });

        var files = Directory.GetFiles(folder.Path, "*.json");
        Assert.That(files.Select(Path.GetFileName), Has.Exactly(1).StartsWith("app-").And.Exactly(1).StartsWith("flat-"));
        var clef = Lines(files.Single(f => Path.GetFileName(f).StartsWith("app-", StringComparison.Ordinal)));
        var flat = Lines(files.Single(f => Path.GetFileName(f).StartsWith("flat-", StringComparison.Ordinal)));
        var login = clef.Single(e => e.GetProperty("@mt").GetString()!.StartsWith("Login", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(string.Join("\n", files.Select(File.ReadAllText)) + console, Does.Not.Contain("readme-secret-"),
                "Redacted: additionalKeys customer_pin, detectEmbeddedCredentials, detectJwts; Destructure WithRedaction");
            Assert.That(console, Does.Contain("Login").And.Contain("Retrying"), "the console inside Redacted");
            Assert.That(clef.Select(e => e.GetProperty("@mt").GetString()), Has.None.EqualTo("Below the default level"), "MinimumLevel");
            Assert.That(login.GetProperty("CorrelationId").GetString(), Is.EqualTo("readme-corr"), "WithCorrelation");
            Assert.That(login.GetProperty("UserId").GetString(), Is.Not.EqualTo("user-42").And.Not.Empty, "WithUser pseudonymKey");
            Assert.That(login.GetProperty("Stage").GetString(), Is.EqualTo("stt"), "WithPipelineTiming");
            Assert.That(login.TryGetProperty("ThreadId", out _), Is.True, "WithThreadId");
            Assert.That(flat.Single(e => e.GetProperty("message_template").GetString()!.StartsWith("Login", StringComparison.Ordinal))
                .GetProperty("correlation_id").GetString(), Is.EqualTo("readme-corr"), "the flat formatter");
            Assert.That(TimingDefaults().StageThresholds["llm"], Is.EqualTo(TimeSpan.FromSeconds(2)), "WithPipelineTiming stageThresholds");
        });
    }

    [Test]
    public void TheEnrichersReadmeBlockAddsEveryPropertyItNames()
    {
        var previous = Environment.GetEnvironmentVariable("USER_ID_KEY");
        Environment.SetEnvironmentVariable("USER_ID_KEY", "readme-pseudonymization-key-0123456789");
        var sink = new CollectingSink();
        var threadId = 0;
        try
        {
            using var logger = FromJson(ReadmeBlock("src/Serilog.Extensions.Observability.Enrichers/README.md", "## appsettings.json"), sink);
            var thread = new Thread(() =>
            {
                using var activity = new Activity("readme-operation").SetIdFormat(ActivityIdFormat.W3C).Start();
                using (CorrelationContext.Begin("readme-corr"))
                using (UserContext.Begin("user-42", "acme"))
                    logger.Information("Hello");
                threadId = Environment.CurrentManagedThreadId;
            }) { Name = "readme-thread" };
            thread.Start();
            thread.Join();
        }
        finally
        {
            Environment.SetEnvironmentVariable("USER_ID_KEY", previous);
        }

        var properties = sink.SingleEvent.Properties;
        Assert.Multiple(() =>
        {
            Assert.That(properties["CorrelationId"], Is.EqualTo(new ScalarValue("readme-corr")), "WithCorrelation");
            Assert.That(properties.ContainsKey("TraceId") && properties.ContainsKey("SpanId"), Is.True, "WithSpan");
            Assert.That(properties["OperationName"], Is.EqualTo(new ScalarValue("readme-operation")), "WithSpan includeOperationName");
            Assert.That(properties["UserId"], Is.Not.EqualTo(new ScalarValue("user-42")), "WithUser pseudonymKey");
            Assert.That(properties["TenantId"], Is.EqualTo(new ScalarValue("acme")), "WithUser");
            Assert.That(properties["ThreadId"], Is.EqualTo(new ScalarValue(threadId)), "WithThreadId");
            Assert.That(properties["ThreadName"], Is.EqualTo(new ScalarValue("readme-thread")), "WithThreadName");
        });
    }

    [Test]
    public void TheEnrichersReadmeBlocksPseudonymKeyComesFromTheEnvironment()
    {
        // The same user under two keys: the pseudonym follows %USER_ID_KEY%, so the key was read from the environment.
        string? Pseudonym(string key)
        {
            var previous = Environment.GetEnvironmentVariable("USER_ID_KEY");
            Environment.SetEnvironmentVariable("USER_ID_KEY", key);
            var sink = new CollectingSink();
            try
            {
                using var logger = FromJson(ReadmeBlock("src/Serilog.Extensions.Observability.Enrichers/README.md", "## appsettings.json"), sink);
                using (UserContext.Begin("user-42", "acme"))
                    logger.Information("Hello");
            }
            finally
            {
                Environment.SetEnvironmentVariable("USER_ID_KEY", previous);
            }
            return (sink.SingleEvent.Properties["UserId"] as ScalarValue)?.Value as string;
        }

        Assert.That(Pseudonym("readme-pseudonymization-key-0123456789"), Is.Not.EqualTo(Pseudonym("another-pseudonymization-key-98765")));
    }

    [Test]
    public void TheRedactionReadmeBlockMasksWithEveryArgument()
    {
        var text = ConsoleCapture.Output(() =>
        {
            using var logger = FromJson(ReadmeBlock("src/Serilog.Extensions.Observability.Redaction/README.md", "## appsettings.json"));
            RedactionReadmeExample.Log(logger);
        });

        RedactionReadmeExample.AssertMasked(text);
    }

    [Test]
    public void TheRollingJsonReadmeBlockWritesHourlyUtcFlatJsonFilesAtItsLevel()
    {
        using var folder = TempFolder.ForCaller();
        var before = DateTime.UtcNow;
        using (var logger = FromJson(ReadmeBlock("src/Serilog.Extensions.Observability.Sinks.RollingJson/README.md", "## appsettings.json", folder.Path)))
        {
            logger.Debug("Below restrictedToMinimumLevel");
            logger.Information("Order {OrderId} shipped", 42);
        }
        var after = DateTime.UtcNow;

        var file = Directory.GetFiles(folder.Path).Single();
        var hours = new[] { before, after }.Select(t => "app-" + t.ToString("yyyyMMddHH", System.Globalization.CultureInfo.InvariantCulture) + ".json");
        Assert.That(hours, Does.Contain(Path.GetFileName(file)), "rollingInterval Hour, rollOnUtc");
        var line = Lines(file).Single();
        Assert.That(line.GetProperty("message").GetString(), Is.EqualTo("Order 42 shipped"), "formatter FlatJsonFormatter");
        Assert.That(line.GetProperty("order_id").GetInt32(), Is.EqualTo(42));
    }

    /// <summary>The options a pipeline begun without options uses, which <c>WithPipelineTiming(...)</c> sets (internal).</summary>
    static PipelineTimingOptions TimingDefaults() =>
        (PipelineTimingOptions)TimingDefaultsType.GetProperty("Current", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    [Test]
    public void TheTimingReadmeBlockSetsEveryOption()
    {
        using var logger = FromJson(ReadmeBlock("src/Serilog.Extensions.Observability.Timing/README.md", "## appsettings.json"));

        var defaults = TimingDefaults();
        Assert.Multiple(() =>
        {
            Assert.That(defaults.StageThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["llm"] = TimeSpan.FromSeconds(2), ["*"] = TimeSpan.FromSeconds(5) }));
            Assert.That(defaults.PipelineThresholds, Is.EquivalentTo(new Dictionary<string, TimeSpan> { ["voice-turn"] = TimeSpan.FromSeconds(8) }));
            Assert.That((defaults.StageCompletionLevel, defaults.SummaryLevel, defaults.DisposeOutcome, defaults.RecordExceptionMessageOnSpans),
                Is.EqualTo((LogEventLevel.Debug, LogEventLevel.Information, TimingOutcome.Completed, false)));
        });
    }

    [Test]
    public void TheAspNetCoreReadmesRedactionBlockSetsAddObservabilitysRules()
    {
        var redaction = ReadmeBlock("src/Serilog.Extensions.Observability.AspNetCore/README.md", "`\"Serilog:Redaction\"` sets the rules");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            EnvironmentName = Environments.Production,
            ApplicationName = "readme-redaction",
            DisableDefaults = true,
        });
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes("{ \"Serilog\": { " + redaction + " } }")));

        var output = ConsoleCapture.Output(() =>
        {
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.Clef));
            Log.Information("Checkout {session_token} {loyalty_number} {Connection} {password}", "readme-visible-session",
                "readme-secret-loyalty", "Server=db;Password=readme-secret-conn;", "readme-secret-password");
            Log.CloseAndFlush();
        });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("readme-visible-session"), "ExcludedKeys");
            Assert.That(output, Does.Not.Contain("readme-secret-loyalty"), "AdditionalKeys");
            Assert.That(output, Does.Not.Contain("readme-secret-conn"), "DetectEmbeddedCredentials");
            Assert.That(output, Does.Not.Contain("readme-secret-password"), "the default keys");
        });
    }
}
