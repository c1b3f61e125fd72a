using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serilog.AspNetCore;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// The <c>"Serilog"</c> section as the package README writes it, option by option, and what a configuration reload
/// changes. AddObservability sets the static Log.Logger.
/// </summary>
[NonParallelizable]
public class SerilogSectionTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static string ReadmeBlock(string heading)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "src", "Serilog.Extensions.Observability.AspNetCore", "README.md"));
        var section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"The README has no '{heading}'.");
        var start = readme.IndexOf("```json\n", section, StringComparison.Ordinal) + "```json\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [TestCase("Serilog:MinimumLevel")]
    [TestCase("Serilog:MinimumLevel:Default")]
    [TestCase("Serilog:MinimumLevel:Override:Shop.Orders")]
    public void ALevelThatIsNoLevelFailsNamingItsKeyAndTheLevels(string key)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = "Verbos" });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith($"The \"{key}\" setting must be one of Verbose, Debug, Information, Warning, Error, Fatal")
            .And.Contain("'Verbos'"));
        Assert.That(ex.InnerException, Is.InstanceOf<InvalidOperationException>(), "what Serilog.Settings.Configuration threw");
    }

    [Test]
    public void LevelsInAnyCaseAndALevelSwitchReferenceAreAccepted()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:$orders"] = "Warning",
            ["Serilog:MinimumLevel:Default"] = "information",
            ["Serilog:MinimumLevel:Override:Shop.Orders"] = "$orders",
            ["Serilog:MinimumLevel:Override:Shop.Payments"] = "ERROR",
        });

        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));

        Assert.That(Log.IsEnabled(LogEventLevel.Information), Is.True);
        Assert.That(Log.IsEnabled(LogEventLevel.Debug), Is.False);
        Assert.That(Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Shop.Orders").IsEnabled(LogEventLevel.Information), Is.False);
        Assert.That(Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Shop.Payments").IsEnabled(LogEventLevel.Warning), Is.False);
    }

    [Test]
    public void AnOverrideNamingASwitchDeclaredWithoutItsDollarIsNotBlamedForAnotherFailure()
    {
        // Serilog.Settings.Configuration declares "orders" as "$orders": the override is valid. What fails is the
        // "ControlledBy" reference to a switch nobody declared, and the reader's exception says so.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:orders"] = "Warning",
            ["Serilog:MinimumLevel:ControlledBy"] = "$missing",
            ["Serilog:MinimumLevel:Override:Shop.Orders"] = "$orders",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:MinimumLevel:ControlledBy\" setting must be the name of a switch declared in " +
            "\"Serilog:LevelSwitches\" (\"$name\"); it is '$missing'."));
        Assert.That(ex.InnerException!.Message, Does.Contain("\"$missing\""), "what Serilog.Settings.Configuration threw");
    }

    [TestCase("Serilog:MinimumLevel", "Off")]
    [TestCase("Serilog:MinimumLevel:Default", "Maximum")]
    [TestCase("Serilog:LevelSwitches:$orders", "Off")]
    [TestCase("Serilog:MinimumLevel:Override:Shop.Orders", "Off")]
    [TestCase("Serilog:MinimumLevel", "4")]
    public void ALevelIsTakenOrRefusedAsTheRunningSerilogSettingsConfigurationTakesOrRefusesIt(string key, string value)
    {
        // Level aliases ("Off") are levels from Serilog.Settings.Configuration 10 on (not in an override): the reader is
        // asked, so a value it takes is never refused, on the Serilog 3.1 line (8.0) as on the Serilog 4 line.
        var settings = new Dictionary<string, string?> { [key] = value };
        var readerAlone = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Exception? refused = null;
        try
        {
            new LoggerConfiguration().ReadFrom.Configuration(readerAlone).CreateLogger().Dispose();
        }
        catch (InvalidOperationException ex)
        {
            refused = ex;
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);

        if (refused is null)
        {
            Assert.DoesNotThrow(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));
        }
        else
        {
            var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));
            Assert.That(ex!.Message, Does.StartWith($"The \"{key}\" setting must be one of "));
            Assert.That(ex.InnerException?.Message, Is.EqualTo(refused.Message));
        }
    }

    [Test]
    public void ALevelSwitchDeclaredWithoutALevelDoesNotHideTheKeyThatIsNoLevel()
    {
        // A switch declared empty starts at Information, as the reader has it; the default is what is no level.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:$orders"] = "",
            ["Serilog:MinimumLevel:Default"] = "Verbos",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:MinimumLevel:Default\" setting must be one of "));
    }

    [Test]
    public void AnOverrideNamingADeclaredSwitchWithoutTheDollarFailsNamingItsKey()
    {
        // "orders" is declared as "$orders", the name an override refers to it by: "orders" names no switch.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:orders"] = "Warning",
            ["Serilog:MinimumLevel:Override:Shop.Orders"] = "orders",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:MinimumLevel:Override:Shop.Orders\" setting must be one of ")
            .And.Contain("'orders'"));
        Assert.That(ex.InnerException, Is.InstanceOf<InvalidOperationException>(), "what Serilog.Settings.Configuration threw");
    }

    [TestCase("$app")]
    [TestCase("app")]
    public void ALevelSwitchThatIsNoLevelFailsNamingItsKeyAndTheLevels(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"Serilog:LevelSwitches:{name}"] = "Verbos" });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith($"The \"Serilog:LevelSwitches:{name}\" setting must be one of Verbose, Debug, Information, Warning, Error, Fatal")
            .And.Contain("'Verbos'"));
        Assert.That(ex.InnerException, Is.InstanceOf<InvalidOperationException>(), "what Serilog.Settings.Configuration threw");
    }

    [TestCase("my-app")]
    [TestCase("$1app")]
    public void ALevelSwitchNameThatIsNoSwitchNameFailsNamingItsKeyAndTheRule(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"Serilog:LevelSwitches:{name}"] = "Warning" });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith($"The \"Serilog:LevelSwitches:{name}\" key must be a switch name: ")
            .And.Contain("letters and digits"));
        Assert.That(ex.InnerException, Is.InstanceOf<FormatException>(), "what Serilog.Settings.Configuration threw");
    }

    [Test]
    public void OnlyTheFirstLevelSwitchTheReaderFailsOnIsNamed()
    {
        // The reader declares the switches in key order and stops at the first that fails: "$a", whose name is fine.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:$a"] = "Verbos",
            ["Serilog:LevelSwitches:b-c"] = "Warning",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:LevelSwitches:$a\" setting must be one of "));
    }

    [TestCase("Serilog:MinimumLevel")]
    [TestCase("Serilog:MinimumLevel:Default")]
    public void AnEmptyDefaultLevelFailsNamingItsKey(string key)
    {
        // Serilog__MinimumLevel= in the environment: the reader refuses an empty level as it refuses "Verbos".
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = "" });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Is.EqualTo($"The \"{key}\" setting must be one of Verbose, Debug, Information, Warning, Error, Fatal; it is ''."));
        Assert.That(ex.InnerException, Is.InstanceOf<InvalidOperationException>(), "what Serilog.Settings.Configuration threw");
    }

    [Test]
    public void ADefaultEmptiedByTheLastSourceIsTakenOrRefusedAsTheReaderTakesOrRefusesIt()
    {
        // "MinimumLevel": "Debug" in appsettings.json, Serilog__MinimumLevel__Default= in the environment: Serilog.Settings.
        // Configuration 10 passes over the empty "Default" for "Debug", 8.0 refuses it. A level the reader takes is not refused.
        var earlier = new Dictionary<string, string?> { ["Serilog:MinimumLevel"] = "Debug" };
        var later = new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "" };
        Exception? refused = null;
        try
        {
            new LoggerConfiguration().ReadFrom.Configuration(new ConfigurationBuilder().AddInMemoryCollection(earlier).AddInMemoryCollection(later).Build())
                .CreateLogger().Dispose();
        }
        catch (InvalidOperationException ex)
        {
            refused = ex;
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(earlier).AddInMemoryCollection(later);

        if (refused is null)
            Assert.DoesNotThrow(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));
        else
            Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));
    }

    [Test]
    public void AnEmptyMinimumLevelOverADefaultIsPassedOver()
    {
        // "MinimumLevel": { "Default": "Debug" } in appsettings.json, Serilog__MinimumLevel= in the environment: the empty
        // value of a key that holds others is read as none (see SerilogSinksView), so "Default" is the level.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Debug" })
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:MinimumLevel"] = "" });

        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));

        Assert.That(Log.IsEnabled(LogEventLevel.Debug), Is.True);
    }

    [TestCase("")]
    [TestCase(" ")]
    public void AnOverrideOfABlankSourceFailsNamingItsKeyNotItsLevel(string source)
    {
        // "Override": { "": "Warning" }: Serilog refuses the source name; "Warning" is a level.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Override:Shop"] = "Debug",
            [$"Serilog:MinimumLevel:Override:{source}"] = "Warning",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Is.EqualTo($"The \"Serilog:MinimumLevel:Override:{source}\" key must be the name of a source to override " +
            $"(\"Microsoft.AspNetCore\"); it is '{source}'."));
        Assert.That(ex.InnerException, Is.InstanceOf<ArgumentException>(), "what Serilog threw");
    }

    [Test]
    public void FilterSwitchesWithoutSerilogExpressionsAreReportedOnceAsTheReaderAloneReportsThem()
    {
        // The levels are checked by a read of their own: without Serilog.Expressions the reader says once per read that
        // it leaves "FilterSwitches" out, and that read must not say it again.
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:FilterSwitches:$opsOnly"] = "@l = 'Error'",
            ["Serilog:MinimumLevel:Default"] = "Debug",
        };
        static int Reports(List<string> lines) => lines.Count(l => l.Contains("FilterSwitches section found", StringComparison.Ordinal));
        var alone = new List<string>();
        using (TemporarySelfLog.SaveTo(alone))
            new LoggerConfiguration().ReadFrom.Configuration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).CreateLogger().Dispose();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        var ours = new List<string>();

        using (TemporarySelfLog.SaveTo(ours))
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));

        Assert.That(Reports(alone), Is.EqualTo(1), "Serilog.Expressions is not referenced here");
        Assert.That(Reports(ours), Is.EqualTo(Reports(alone)));
    }

    static async Task<(WebApplication App, HttpClient Client)> StartAsync(string json, Action<WebApplication>? endpoints = null,
        Action<IConfigurationBuilder>? more = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
        more?.Invoke(builder.Configuration);
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability();
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        app.MapGet("/health", () => "ok");
        app.MapGet("/metrics/cpu", () => "1");
        endpoints?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new HttpClient { BaseAddress = new Uri(address) });
    }

    [Test]
    public async Task TheReadmesSerilogSectionWorksAsWritten()
    {
        using var logs = TempFolder.ForCaller();
        var json = ReadmeBlock("`appsettings.json`:").Replace("logs/", logs.Path.Replace('\\', '/') + "/");
        var (app, client) = await StartAsync(json);
        using (client)
        {
            Assert.That(app.Services.GetRequiredService<IOptions<RequestLoggingOptions>>().Value.SlowRequestThreshold, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Log.Debug("Below the default level");
            Assert.That((await client.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await client.GetAsync("/metrics/cpu")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            using var request = new HttpRequestMessage(HttpMethod.Get, "/missing");
            request.Headers.TryAddWithoutValidation("User-Agent", "readme-agent");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer readme-secret");
            request.Headers.Add("X-Request-ID", "readme-request-1");
            Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            await app.DisposeAsync();
        }

        var events = LogFileEvents.Read(logs.Path);
        Assert.Multiple(() =>
        {
            Assert.That(events.Select(e => LogFileEvents.Prop(e, "@mt")), Has.None.EqualTo("Below the default level"), "MinimumLevel:Default");
            Assert.That(events.Select(e => LogFileEvents.Prop(e, "SourceContext")), Has.None.StartsWith("Microsoft.AspNetCore.Hosting"), "MinimumLevel:Override");
            Assert.That(events.Select(e => LogFileEvents.Prop(e, "RequestPath")).OfType<string>(), Is.EqualTo(new[] { "/missing" }), "ExcludePaths, exact and prefix");
            var completion = events.Single(e => LogFileEvents.Prop(e, "RequestPath") == "/missing");
            Assert.That(LogFileEvents.Prop(completion, "@l"), Is.EqualTo("Warning"), "LogClientErrorsAsWarning");
            var headers = completion.GetProperty("RequestHeaders");
            Assert.That(headers.GetProperty("User-Agent").GetString(), Is.EqualTo("readme-agent"), "RequestHeaders");
            Assert.That(headers.GetProperty("Authorization").GetString(), Is.EqualTo("[REDACTED]"), "RequestHeaders, masked");
            Assert.That(LogFileEvents.Prop(completion, "CorrelationId"), Is.EqualTo("readme-request-1"), "Correlation:AdditionalHeaderNames");
        });
    }

    [Test]
    public async Task TheReadmesCorrelationSectionWorksAsWritten()
    {
        // The public deployment's section: the id is neither the caller's X-Correlation-ID nor the trace id its
        // traceparent (HttpClient sends one, inside the test's activity) makes the request continue.
        using var logs = TempFolder.ForCaller();
        var (app, client) = await StartAsync(ReadmeBlock("## Incoming correlation ids"), more: c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        }));
        string echoed, callerTrace;
        using (client)
        using (var caller = new System.Diagnostics.Activity("caller").SetIdFormat(System.Diagnostics.ActivityIdFormat.W3C).Start())
        {
            callerTrace = caller.TraceId.ToHexString();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
            request.Headers.Add("X-Correlation-ID", "caller-chosen-1");
            using var response = await client.SendAsync(request);
            echoed = response.Headers.GetValues("X-Correlation-ID").Single();
            await app.DisposeAsync();
        }

        var completion = LogFileEvents.Read(logs.Path).Single(e => LogFileEvents.Prop(e, "RequestPath") == "/health");
        Assert.That(LogFileEvents.Prop(completion, "TraceId"), Is.EqualTo(callerTrace), "the request continues the caller's trace");
        Assert.That(LogFileEvents.Prop(completion, "CorrelationId"), Is.EqualTo(echoed));
        Assert.That(echoed, Is.Not.EqualTo("caller-chosen-1"), "TrustIncomingId");
        Assert.That(echoed, Is.Not.EqualTo(callerTrace), "UseTraceIdWhenMissing");
    }

    [TestCase("", "Information")]
    [TestCase(", \"SlowRequestThreshold\": \"00:00:00.0000001\"", "Warning")]
    [TestCase(", \"SlowRequestThreshold\": \"1.00:00:00\"", "Information")]
    public async Task SlowRequestThresholdFromTheSectionRaisesTheCompletionEvent(string threshold, string level)
    {
        using var logs = TempFolder.ForCaller();
        var path = Path.Combine(logs.Path, "app-.json").Replace('\\', '/');
        var (app, client) = await StartAsync($$"""
            { "Serilog": { "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "{{path}}" } } ],
                           "RequestLogging": { "ExcludePaths": [ "/health" ]{{threshold}} } } }
            """, a => a.MapGet("/orders", () => "[]"));
        using (client)
        {
            Assert.That((await client.GetAsync("/orders")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            await app.DisposeAsync();
        }

        var completion = LogFileEvents.Read(logs.Path).Single(e => LogFileEvents.Prop(e, "RequestPath") == "/orders");
        Assert.That(LogFileEvents.Prop(completion, "@l") ?? "Information", Is.EqualTo(level));
    }

    [TestCase("00:00:00")]
    [TestCase("-00:00:01")]
    public void ASlowRequestThresholdThatIsNotPositiveIsRejectedByAddObservabilityNamingTheKey(string threshold)
    {
        // Every request would take at least that long: every completion event would be a Warning. Refused where the
        // section is read, with its key: UseSerilogRequestLogging() named its own configureOptions parameter, which
        // an application passing none cannot place; and before any logger is built or closed.
        var before = Log.Logger;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""
            { "Serilog": { "RequestLogging": { "SlowRequestThreshold": "{{threshold}}" } } }
            """)));

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.Contain("\"Serilog:RequestLogging:SlowRequestThreshold\"").And.Contain("greater than zero")
            .And.Contain(TimeSpan.Parse(threshold, System.Globalization.CultureInfo.InvariantCulture).ToString()));
        Assert.That(Log.Logger, Is.SameAs(before));
    }

    [Test]
    public void MinimumLevelsReloadWithTheConfiguration(
        [Values("Default", "Override", "LevelSwitch", "SinkLevelSwitch")] string setting,
        [Values(false, true)] bool insideRedacted)
    {
        // Serilog.Settings.Configuration follows a reload of "MinimumLevel" (its default and overrides) and of the
        // "LevelSwitches" it declares; AddObservability() reads the section through a view for its plain sinks, and
        // that must pass the reload on.
        using var logs = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>();
        var sink = insideRedacted ? "Serilog:WriteTo:0:Args:configure:0" : "Serilog:WriteTo:0";
        if (insideRedacted) settings["Serilog:WriteTo:0:Name"] = "Redacted";
        settings[sink + ":Name"] = "RollingJson";
        settings[sink + ":Args:path"] = Path.Combine(logs.Path, "app-.json");
        var reloaded = setting switch
        {
            "Default" => "Serilog:MinimumLevel:Default",
            "Override" => "Serilog:MinimumLevel:Override:Shop.Orders",
            _ => "Serilog:LevelSwitches:$orders",
        };
        settings[reloaded] = "Information";
        if (setting is "Override" or "SinkLevelSwitch") settings["Serilog:MinimumLevel:Default"] = "Debug";
        if (setting == "SinkLevelSwitch") settings[sink + ":Args:levelSwitch"] = "$orders";
        if (setting == "LevelSwitch") settings["Serilog:MinimumLevel:ControlledBy"] = "$orders";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddObservability();
        var app = builder.Build();

        var log = Log.ForContext("SourceContext", "Shop.Orders");
        log.Debug("Before the reload");
        app.Configuration[reloaded] = "Debug";
        ((IConfigurationRoot)app.Configuration).Reload();
        log.Debug("After the reload");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "After the reload" }));
    }

    [Test]
    public async Task MinimumLevelsReloadWhenTheAppsettingsFileChanges([Values(false, true)] bool insideRedacted)
    {
        // An operator edits appsettings.json (reloadOnChange: true) on a running service to turn on Debug: the default
        // and an override follow the file, as they do with ReadFrom.Configuration alone.
        using var settingsFolder = TempFolder.ForCaller();
        using var logs = TempFolder.ForCaller();
        var settingsFile = Path.Combine(settingsFolder.Path, "appsettings.json");
        var logPath = JsonSerializerEscape(Path.Combine(logs.Path, "app-.json"));
        var sink = $$"""{ "Name": "RollingJson", "Args": { "path": "{{logPath}}" } }""";
        if (insideRedacted) sink = $$"""{ "Name": "Redacted", "Args": { "configure": [ {{sink}} ] } }""";
        string Settings(string defaultLevel, string ordersLevel) => $$"""
            { "Serilog": { "MinimumLevel": { "Default": "{{defaultLevel}}", "Override": { "Shop.Orders": "{{ordersLevel}}" } },
                           "WriteTo": [ {{sink}} ] } }
            """;
        File.WriteAllText(settingsFile, Settings("Information", "Warning"));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonFile(settingsFile, optional: false, reloadOnChange: true);
        // Registered before AddObservability() subscribes the level switches to the same token: a token runs its
        // callbacks last registered first, so this one runs after theirs have set the new levels.
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = ((IConfiguration)builder.Configuration).GetReloadToken().RegisterChangeCallback(_ => reloaded.TrySetResult(), null);
        builder.AddObservability();
        var app = builder.Build();
        var orders = Log.ForContext("SourceContext", "Shop.Orders");
        var other = Log.ForContext("SourceContext", "Shop.Other");

        other.Debug("Other before the edit");
        orders.Information("Orders before the edit");
        File.WriteAllText(settingsFile, Settings("Debug", "Debug"));
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
        other.Debug("Other after the edit");
        orders.Debug("Orders after the edit");
        await app.DisposeAsync();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")),
            Is.EqualTo(new[] { "Other after the edit", "Orders after the edit" }));
    }

    [Test]
    public void ADefaultLevelFromALaterSourceWinsOverALevelWrittenAsPlainValue([Values(false, true)] bool insideRedacted)
    {
        // appsettings.json says "MinimumLevel": "Warning", the container sets Serilog__MinimumLevel__Default=Debug:
        // Serilog.Settings.Configuration takes the level of the source added last, as it does with ReadFrom.Configuration alone.
        using var logs = TempFolder.ForCaller();
        var sink = insideRedacted ? "Serilog:WriteTo:0:Args:configure:0" : "Serilog:WriteTo:0";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel"] = "Warning",
            ["Serilog:WriteTo:0:Name"] = insideRedacted ? "Redacted" : "RollingJson",
            [sink + ":Name"] = "RollingJson",
            [sink + ":Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Debug" });
        builder.AddObservability();
        var app = builder.Build();

        Log.Debug("At the later source's level");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "At the later source's level" }));
    }

    [Test]
    public void ADefaultLevelAboveWarningFromALaterSourceAlsoQuietsAspNetCore()
    {
        // appsettings.json says "MinimumLevel": "Information", the environment Serilog__MinimumLevel__Default=Error:
        // Serilog.Settings.Configuration takes Error, and AddObservability()'s Warning for ASP.NET Core must not let
        // its warnings through below that.
        using var logs = TempFolder.ForCaller();
        var (app, aspNetCore) = StartWritingTo(logs, "MinimumLevel", "Information", laterDefault: "Error");
        aspNetCore.Warning("Below the default level");
        aspNetCore.Error("At the default level");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "At the default level" }));
    }

    /// <summary>
    /// A host built by <c>AddObservability()</c> from a <c>"Serilog"</c> section that sets <paramref name="levelKey"/>
    /// (<c>MinimumLevel</c> or <c>MinimumLevel:Default</c>) to <paramref name="level"/> and writes to a RollingJson file in
    /// <paramref name="logs"/>; with <paramref name="laterDefault"/>, a later configuration source sets
    /// <c>MinimumLevel:Default</c> (as an environment variable would). Also a logger with an ASP.NET Core source context.
    /// </summary>
    static (WebApplication App, ILogger AspNetCore) StartWritingTo(TempFolder logs, string levelKey, string level, string? laterDefault = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:" + levelKey] = level,
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        if (laterDefault is not null)
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = laterDefault });
        builder.AddObservability();
        return (builder.Build(), Log.ForContext("SourceContext", "Microsoft.AspNetCore.Routing.EndpointMiddleware"));
    }

    static string JsonSerializerEscape(string text) => System.Text.Json.JsonSerializer.Serialize(text)[1..^1];

    [Test]
    public void ADefaultLevelReloadedAboveWarningAlsoQuietsAspNetCore()
    {
        // At startup a default of Error leaves out AddObservability()'s Microsoft.AspNetCore Warning default; raised to
        // Error by a reload, the default must not leave ASP.NET Core alone at Warning either.
        using var logs = TempFolder.ForCaller();
        var (app, aspNetCore) = StartWritingTo(logs, "MinimumLevel:Default", "Information");
        aspNetCore.Information("Below the ASP.NET Core default");
        aspNetCore.Warning("At the ASP.NET Core default");
        app.Configuration["Serilog:MinimumLevel:Default"] = "Error";
        ((IConfigurationRoot)app.Configuration).Reload();
        aspNetCore.Warning("Below the reloaded default");
        aspNetCore.Error("At the reloaded default");
        app.Configuration["Serilog:MinimumLevel:Default"] = "Debug";
        ((IConfigurationRoot)app.Configuration).Reload();
        aspNetCore.Information("Below the ASP.NET Core default again");
        aspNetCore.Warning("At the ASP.NET Core default again");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")),
            Is.EqualTo(new[] { "At the ASP.NET Core default", "At the reloaded default", "At the ASP.NET Core default again" }));
    }

    [Test]
    public void AspNetCoreFollowsTheDefaultLevelDirectiveSerilogTookAtStartup()
    {
        // Serilog.Settings.Configuration follows the default level's directive it took at startup ("Default" here): an
        // edit that rewrites it as a plain "MinimumLevel": "Error" leaves the logger at Information until a restart.
        // AddObservability()'s ASP.NET Core level must stay with the logger's default, not quiet ASP.NET Core's
        // warnings on a default the logger does not have.
        using var logs = TempFolder.ForCaller();
        var (app, aspNetCore) = StartWritingTo(logs, "MinimumLevel:Default", "Information");
        app.Configuration["Serilog:MinimumLevel:Default"] = null;
        app.Configuration["Serilog:MinimumLevel"] = "Error";
        ((IConfigurationRoot)app.Configuration).Reload();
        Log.Information("At the logger's default, still the startup one");
        aspNetCore.Warning("At the ASP.NET Core default, still the startup one");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")),
            Is.EqualTo(new[] { "At the logger's default, still the startup one", "At the ASP.NET Core default, still the startup one" }));
    }

    [Test]
    public void ADefaultLevelReloadedAsAValueSerilogCannotParseLeavesAspNetCoreAtItsLevel()
    {
        // Serilog.Settings.Configuration keeps the logger's default when a reload brings a value that is no level (an
        // operator's typo): ASP.NET Core must keep the default's level with it, not fall back to Warning below it.
        using var logs = TempFolder.ForCaller();
        var (app, aspNetCore) = StartWritingTo(logs, "MinimumLevel:Default", "Error");
        app.Configuration["Serilog:MinimumLevel:Default"] = "Eror";
        ((IConfigurationRoot)app.Configuration).Reload();
        Log.Warning("Below the logger's default, still the startup one");
        aspNetCore.Warning("Below the ASP.NET Core level, still the startup default");
        aspNetCore.Error("At the startup default");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "At the startup default" }));
    }

    [Test]
    public void TheConfigureCallbacksLevelForAspNetCoreWinsOverAddObservabilitysDefault()
    {
        using var logs = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        builder.AddObservability(o => o.MinimumLevel("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Information));
        var app = builder.Build();
        Log.ForContext("SourceContext", "Microsoft.AspNetCore.Routing.EndpointMiddleware").Information("At the callback's level");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "At the callback's level" }));
    }

    /// <summary>
    /// Two RollingJson entries, directly under <c>"WriteTo"</c> or inside a <c>"Redacted"</c> one, and a later source
    /// (an environment variable <c>Serilog__WriteTo__0=</c>, which .NET cannot set from inside the process) giving the
    /// first an empty value.
    /// </summary>
    static (IConfigurationSource Settings, IConfigurationSource Override) TwoFilesTheFirstSwitchedOff(string first, string second, bool insideRedacted,
        bool byKey = false)
    {
        var entry = insideRedacted ? "Serilog:WriteTo:0:Args:configure:" : "Serilog:WriteTo:";
        // The lists' entries numbered (a JSON array) or under keys of the application's choosing (a JSON object).
        var (firstKey, secondKey) = byKey ? ("Main", "Audit") : ("0", "1");
        var settings = new Dictionary<string, string?>
        {
            [entry + firstKey + ":Name"] = "RollingJson",
            [entry + firstKey + ":Args:path"] = Path.Combine(first, "app-.json"),
            [entry + secondKey + ":Name"] = "RollingJson",
            [entry + secondKey + ":Args:path"] = Path.Combine(second, "app-.json"),
        };
        if (insideRedacted) settings["Serilog:WriteTo:0:Name"] = "Redacted";
        return (new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = settings },
            new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = new Dictionary<string, string?> { [entry + firstKey] = "" } });
    }

    [Test]
    public void AnEntryALaterSourceSetsEmptySwitchesThatSinkOffAsItDoesForSerilogSettingsConfiguration(
        [Values(false, true)] bool insideRedacted, [Values(false, true)] bool byKey)
    {
        using var first = TempFolder.ForCaller();
        using var second = TempFolder.ForCaller();
        var (settings, switchedOff) = TwoFilesTheFirstSwitchedOff(first.Path, second.Path, insideRedacted, byKey);

        // Serilog.Settings.Configuration on its own reads the entry as a sink named "", which it leaves out.
        var alone = new ConfigurationBuilder().Add(settings).Add(switchedOff).Build();
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(alone).CreateLogger())
            logger.Information("Through Serilog.Settings.Configuration");
        Assert.That(LogFileEvents.Read(first.Path), Is.Empty);
        Assert.That(LogFileEvents.Read(second.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "Through Serilog.Settings.Configuration" }));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Add(settings);
        builder.Configuration.Sources.Add(switchedOff);
        builder.AddObservability();
        var app = builder.Build();
        Log.Information("Through AddObservability");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(first.Path), Is.Empty, "the switched-off entry's file was written");
        Assert.That(LogFileEvents.Read(second.Path).Select(e => LogFileEvents.Prop(e, "@mt")),
            Is.EqualTo(new[] { "Through Serilog.Settings.Configuration", "Through AddObservability" }));
    }

    /// <summary>
    /// Only the keys of a list are entries: an entry's own <c>"Args"</c> (under a key of the application's choosing that
    /// happens to be a list's name, <c>"configure"</c> or <c>"Filter"</c>, or under an Async sink's sub-logger
    /// <c>"WriteTo"</c>) that a later source sets empty keeps its arguments, as it does for Serilog.Settings.Configuration,
    /// which reads the keys below it.
    /// </summary>
    [Test]
    public void AnEntrysArgsALaterSourceSetsEmptyAreStillItsArgumentsWhateverTheEntrysKey(
        [Values("Serilog:WriteTo:configure", "Serilog:WriteTo:Filter", "Serilog:WriteTo:Async:Args:configure:WriteTo")] string entry)
    {
        using var logs = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>
        {
            [entry + ":Name"] = "RollingJson",
            [entry + ":Args:path"] = Path.Combine(logs.Path, "app-.json"),
        };
        if (entry.Contains("Async")) settings["Serilog:WriteTo:Async:Name"] = "Async";
        var emptyArgs = new Dictionary<string, string?> { [entry + ":Args"] = "" };

        var alone = new ConfigurationBuilder().AddInMemoryCollection(settings).AddInMemoryCollection(emptyArgs).Build();
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(alone).CreateLogger())
            logger.Information("Through Serilog.Settings.Configuration");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddInMemoryCollection(emptyArgs);
        builder.AddObservability();
        var app = builder.Build();
        Log.Information("Through AddObservability");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")),
            Is.EqualTo(new[] { "Through Serilog.Settings.Configuration", "Through AddObservability" }));
    }

    [Test]
    public void WhenALaterSourceSwitchesOffTheOnlyEntryTheSectionListsNoSinkAndTheConsoleIsAdded()
    {
        using var logs = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:WriteTo:0"] = "" });
        var console = ConsoleCapture.Output(() =>
        {
            builder.AddObservability();
            var app = builder.Build();
            Log.Information("With no entry left");
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });

        Assert.That(console, Does.Contain("With no entry left"));
        Assert.That(LogFileEvents.Read(logs.Path), Is.Empty);
    }
}
