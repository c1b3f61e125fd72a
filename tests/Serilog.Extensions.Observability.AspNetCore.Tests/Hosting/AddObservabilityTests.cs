using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>The whole setup from an appsettings file. AddObservability sets the static Log.Logger.</summary>
[NonParallelizable]
public class AddObservabilityTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static async Task<(WebApplication App, HttpClient Client)> StartAsync(string logDirectory, Action<WebApplication> endpoints)
    {
        var template = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Hosting", "appsettings.observability.json"));
        var json = template.Replace("%LOGDIR%", logDirectory.Replace("\\", "/"));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Service("settings-app", "2.0.0"));
        builder.Services.AddHealthChecks();
        builder.Services.AddHttpClient("self").AddCorrelationPropagation();

        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        app.MapHealthChecks("/health");
        endpoints(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new HttpClient { BaseAddress = new Uri(address) });
    }

    /// <summary>A Kestrel host with <c>AddObservability(configure)</c>, started, stopped and disposed as <c>app.Run()</c> would.</summary>
    static async Task RunHostAsync(Action<ObservabilityOptions> configure, Action? whileRunning = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(configure);
        var app = builder.Build();
        await app.StartAsync();
        whileRunning?.Invoke();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    static List<JsonElement> ReadEvents(string directory) => LogFileEvents.Read(directory);

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    [Test]
    public async Task AHostThatStartsServesARequestAndStopsWritesNothingToSelfLog()
    {
        // What SelfLog shows an operator should be what went wrong, not a line every start writes.
        using var logs = TempFolder.ForCaller();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var (app, client) = await StartAsync(logs.Path, a => a.MapGet("/ok", () => "ok"));
            using (client)
            {
                Assert.That((await client.GetAsync("/ok")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }

        Assert.That(ReadEvents(logs.Path).Select(e => Prop(e, "RequestPath")), Does.Contain("/ok"));
        Assert.That(selfLog, Is.Empty);
    }

    [Test]
    public async Task TheSerilogSectionConfiguresEveryComponentAndMicrosoftLoggingEventsAreEnrichedToo()
    {
        using var logs = TempFolder.ForCaller();
        var (app, client) = await StartAsync(logs.Path, a => a.MapGet("/customers/{id}", (string id, ILogger<AddObservabilityTests> log, IDiagnosticContext dc) =>
        {
            log.LogInformation("Customer {CustomerId} used pin {CustomerPin}", id, "pin-secret-4321");
            dc.Set("Password", "diag-secret-1");
            return Results.NotFound();
        }));
        using (client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/customers/c-1");
            request.Headers.Add("X-Correlation-ID", "settings-corr-1");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer header-secret-2");
            Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await client.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            await app.StopAsync();
            await app.DisposeAsync(); // flushes: every accepted event is in the file after this
        }

        var text = string.Join("\n", Directory.GetFiles(logs.Path).Select(File.ReadAllText));
        Assert.That(text, Does.Not.Contain("pin-secret-4321").And.Not.Contain("diag-secret-1").And.Not.Contain("header-secret-2"));
        var events = ReadEvents(logs.Path);

        var fromMel = events.Single(e => Prop(e, "@mt") == "Customer {CustomerId} used pin {CustomerPin}");
        Assert.That(Prop(fromMel, "CorrelationId"), Is.EqualTo("settings-corr-1"));
        Assert.That(Prop(fromMel, "ServiceName"), Is.EqualTo("settings-app"));
        Assert.That(Prop(fromMel, "SourceContext"), Is.EqualTo(typeof(AddObservabilityTests).FullName));
        Assert.That(fromMel.TryGetProperty("ThreadId", out _), Is.True, "WithObservability's defaults apply beside the section's enrichers.");

        var completion = events.Single(e => Prop(e, "RequestPath") == "/customers/c-1" && Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware");
        Assert.That(Prop(completion, "@l"), Is.EqualTo("Warning"), "LogClientErrorsAsWarning from the section.");
        Assert.That(Prop(completion, "CorrelationId"), Is.EqualTo("settings-corr-1"));
        Assert.That(completion.GetProperty("RequestHeaders").GetProperty("Authorization").GetString(), Is.EqualTo("[REDACTED]"));
        Assert.That(events.Any(e => Prop(e, "RequestPath") == "/health" && Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"), Is.False,
            "ExcludePaths from the section.");
    }

    [Test]
    public async Task EventsWrittenThroughSerilogInARequestCarryItsScopesAsThoseThroughILoggerDo()
    {
        // ASP.NET Core's request scope, and one the application begins through ILogger, reach Serilog's LogContext:
        // Log.Information in a handler gets them as ILogger<T> does. Serilog.Extensions.Logging 9 and later take scopes
        // through ISupportExternalScope, which, left as it is, would apply them to ILogger<T> events only.
        using var logs = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logs.Path, "app-.json")));
        var app = builder.Build();
        app.MapGet("/scoped", (ILogger<AddObservabilityTests> logger) =>
        {
            using (logger.BeginScope(new Dictionary<string, object> { ["OrderId"] = "order-7" }))
            {
                logger.LogInformation("Through ILogger");
                Log.Information("Through Serilog");
            }
            return "ok";
        });
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/scoped");
            request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
            Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        var events = ReadEvents(logs.Path);
        foreach (var template in new[] { "Through ILogger", "Through Serilog" })
        {
            var logged = events.Single(e => Prop(e, "@mt") == template);
            Assert.That((Prop(logged, "OrderId"), Prop(logged, "RequestPath")), Is.EqualTo(("order-7", "/scoped")), template);
            Assert.That(Prop(logged, "RequestId"), Is.Not.Null, template);
            Assert.That(Prop(logged, "ConnectionId"), Is.Not.Null, template);
            // The host's activity tracking scope (ParentId) reaches no event, as with Serilog.Extensions.Logging 8: the
            // span enricher writes the parent as ParentSpanId.
            Assert.That((Prop(logged, "ParentId"), Prop(logged, "ParentSpanId"), Prop(logged, "TraceId")),
                Is.EqualTo(((string?)null, "b7ad6b7169203331", "0af7651916cd43dd8448eb211c80319c")), template);
        }
    }

    [Test]
    public async Task FilterRulesThatNameSerilogLoggerProviderApplyByItsTypeAsByItsAlias()
    {
        // With Serilog.Extensions.Logging 9 and later the provider registered is not SerilogLoggerProvider itself (see
        // EventsWrittenThroughSerilogInARequestCarryItsScopesAsThoseThroughILoggerDo): a rule that names that type, by
        // AddFilter<SerilogLoggerProvider> or by its full name in "Logging", applies still, as the alias's rules do.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:Serilog:LogLevel:ByAlias"] = "Warning",
            ["Logging:Serilog.Extensions.Logging.SerilogLoggerProvider:LogLevel:ByTypeName"] = "Warning",
        });
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Logging.AddFilter<Serilog.Extensions.Logging.SerilogLoggerProvider>("ByType", LogLevel.Warning);
        await using var app = builder.Build();
        var factory = app.Services.GetRequiredService<ILoggerFactory>();

        Assert.Multiple(() =>
        {
            foreach (var category in new[] { "ByAlias.Orders", "ByTypeName.Orders", "ByType.Orders" })
            {
                Assert.That(factory.CreateLogger(category).IsEnabled(LogLevel.Information), Is.False, $"{category} at Information");
                Assert.That(factory.CreateLogger(category).IsEnabled(LogLevel.Warning), Is.True, $"{category} at Warning");
            }
            // AddObservability()'s own rule for the provider: below "Logging"'s default, Serilog's levels decide.
            Assert.That(factory.CreateLogger("Shop.Orders").IsEnabled(LogLevel.Information), Is.True, "a category without a rule");
        });
    }

    [Test]
    public async Task IDiagnosticContextAndSerilogsILoggerAreRegistered()
    {
        using var logs = TempFolder.ForCaller();
        var (app, client) = await StartAsync(logs.Path, _ => { });
        using (client)
        {
            Assert.That(app.Services.GetService<IDiagnosticContext>(), Is.Not.Null);
            Assert.That(app.Services.GetService<ILogger>(), Is.Not.Null);
            Assert.That(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("x").IsEnabled(LogLevel.Information), Is.True);
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
    [Test]
    public async Task AFlowCapturedInARequestKeepsItsIdAndUserButNotTheRequest()
    {
        // The outermost middleware's deferred scopes (they also serve exception handlers placed before UseCorrelation)
        // are what such a flow holds here.
        using var logs = TempFolder.ForCaller();
        var captured = new CapturedRequest();
        await ServeOneCapturingRequestAsync(logs.Path, captured);

        Assert.That(captured.RequestIsAlive(), Is.False, "The captured flow keeps the HttpContext alive.");
        Assert.That(captured.Ambient(), Is.EqualTo(("kept-2", "user-6")));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static async Task ServeOneCapturingRequestAsync(string logDirectory, CapturedRequest captured)
    {
        var (app, client) = await StartAsync(logDirectory, a =>
        {
            a.Use((context, next) =>
            {
                context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
                    [new System.Security.Claims.Claim("sub", "user-6")], "test"));
                return next(context);
            });
            a.MapGet("/capture", (HttpContext context) =>
            {
                captured.Capture(context);
                return "ok";
            });
        });
        using (client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/capture");
            request.Headers.Add("X-Correlation-ID", "kept-2");
            Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Test]
    public async Task HostsBuiltAndDisposedOneAfterAnotherLeaveNoSinkThreadOrOpenFileBehind()
    {
        // WebApplicationFactory per test class, a host per tenant: each disposed host hands over to a late logger, which
        // the next AddObservability() closes, and Log.CloseAndFlush() the last.
        ProcessResources.Require();
        using var logs = TempFolder.ForCaller();
        var threadsBefore = ProcessResources.ThreadsNamed(ProcessResources.SinkThreadName);

        for (var i = 0; i < 30; i++)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseTestServer();
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logs.Path, "host-" + i % 5, "app-.json")));
            var app = builder.Build();
            app.UseCorrelation();
            app.UseSerilogRequestLogging();
            app.MapGet("/", () => "ok");
            await app.StartAsync();
            using (var client = app.GetTestClient())
                Assert.That((await client.GetAsync("/")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Log.CloseAndFlush();

        // At most as many as before, not exactly: a thread an earlier test's sink ended may still be listed when the count
        // before is taken (a housekeeping pass's thread returns right after it signals idle), and gone at the end.
        Assert.That(ProcessResources.ThreadsNamedOnceExited(ProcessResources.SinkThreadName, threadsBefore, TimeSpan.FromSeconds(10)), Is.LessThanOrEqualTo(threadsBefore), "sink threads left running");
        Assert.That(ProcessResources.OpenFilesUnder(logs.Path), Is.Zero, "log files left open");
    }

    [Test]
    public async Task TheLoggerForEventsAfterAHostIsDisposedIsNotKeptOnceTheProgramHasClosedIt()
    {
        // Its file sink's queue alone is a couple of megabytes; once Log.CloseAndFlush() has closed it, nothing needs it.
        using var logs = TempFolder.ForCaller();
        var late = await DisposeAHostAndTakeItsLateLoggerAsync(logs.Path);
        Log.CloseAndFlush();

        AssertCollected(late, "the closed late logger is still referenced");
    }

    static void AssertCollected(WeakReference reference, string message) =>
        Assert.That(Collected.Eventually(reference), Is.True, message);

    [Test]
    public async Task WhatTheLateLoggerWasBuiltFromIsNotKeptOnceTheProgramHasClosedIt()
    {
        // The late logger is rebuilt from the disposed host's configuration and the application's configure delegate
        // (what it captured: a test fixture, a WebApplicationFactory); once Log.CloseAndFlush() has closed the late
        // logger, no static may keep them, or each test class's last host stays alive.
        using var logs = TempFolder.ForCaller();
        var captured = await DisposeAHostWhoseConfigureCapturesAsync(logs.Path);
        Log.CloseAndFlush();

        AssertCollected(captured, "what the configure delegate captured is still referenced");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static async Task<WeakReference> DisposeAHostWhoseConfigureCapturesAsync(string logDirectory)
    {
        var fixture = new object();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.AddObservability(o =>
        {
            GC.KeepAlive(fixture);
            o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logDirectory, "app-.json"));
        });
        var app = builder.Build();
        await app.StartAsync();
        var running = Log.Logger;
        await app.StopAsync();
        await app.DisposeAsync();
        Assert.That(Log.Logger, Is.Not.SameAs(running), "a late logger took over");
        return new WeakReference(fixture);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static async Task<WeakReference> DisposeAHostAndTakeItsLateLoggerAsync(string logDirectory)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logDirectory, "app-.json")));
        var app = builder.Build();
        await app.StartAsync();
        var running = Log.Logger;
        await app.StopAsync();
        await app.DisposeAsync();
        Assert.That(Log.Logger, Is.Not.SameAs(running), "a late logger took over");
        return new WeakReference(Log.Logger);
    }

    [Test]
    public async Task ASinkListedDirectlyUnderWriteToGetsTheTemplateTextAndTheExceptionMaskedAndKeepsItsOwnArguments()
    {
        // The usual appsettings: the file sink straight under "WriteTo", not inside "Redacted".
        using var logs = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
            ["Serilog:WriteTo:0:Args:restrictedToMinimumLevel"] = "Information",
        });
        builder.AddObservability();
        var app = builder.Build();
        await app.StartAsync();
        Log.Debug("Below the sink's own level");
        Log.Information("Connecting with password=hunter2-template now");
        Log.Error(new InvalidOperationException("login failed: password=hunter3-exception"), "Login failed for {User}", "alice");
        await app.StopAsync();
        await app.DisposeAsync();

        var events = ReadEvents(logs.Path);
        var text = string.Join("\n", events.Select(e => e.GetRawText()));
        Assert.That(text, Does.Not.Contain("hunter2").And.Not.Contain("hunter3"));
        Assert.That(events.Select(e => Prop(e, "@mt")), Does.Contain("Login failed for {User}").And.Not.Contain("Below the sink's own level"));
        var failure = events.Single(e => Prop(e, "@mt") == "Login failed for {User}");
        Assert.That(Prop(failure, "@x"), Does.Contain("login failed: password="), "the exception is written, masked");
        Assert.That(Prop(failure, "CorrelationId") ?? Prop(failure, "ServiceName"), Is.Not.Null, "the event is enriched as before");
    }

    [Test]
    public async Task APlainSinkBesideARedactedEntryKeepsItsLevelSwitchAndBothGetEveryEventOnce()
    {
        using var plain = TempFolder.ForCaller();
        using var redacted = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:$file"] = "Warning",
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(plain.Path, "app-.json"),
            ["Serilog:WriteTo:0:Args:levelSwitch"] = "$file",
            ["Serilog:WriteTo:1:Name"] = "Redacted",
            ["Serilog:WriteTo:1:Args:configure:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:1:Args:configure:0:Args:path"] = Path.Combine(redacted.Path, "app-.json"),
        });
        builder.AddObservability();
        var app = builder.Build();
        await app.StartAsync();
        Log.Information("Below the switch");
        Log.Warning("At the switch with password=hunter4-template");
        await app.StopAsync();
        await app.DisposeAsync();

        var plainEvents = ReadEvents(plain.Path).Select(e => Prop(e, "@mt")).ToList();
        var redactedEvents = ReadEvents(redacted.Path).Select(e => Prop(e, "@mt")).ToList();
        Assert.That(plainEvents, Has.None.StartsWith("Below the switch"));
        Assert.That(plainEvents.Count(m => m!.StartsWith("At the switch", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(redactedEvents.Count(m => m!.StartsWith("Below the switch", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(redactedEvents.Count(m => m!.StartsWith("At the switch", StringComparison.Ordinal)), Is.EqualTo(1));
        // The "Redacted" entry keeps its own rules (no detectors by default); the plain one gets AddObservability()'s.
        Assert.That(plainEvents, Has.None.Contains("hunter4"));
    }

    // The "Redacted" entry's file is built with the application's logger; a plain sink with an invalid argument fails after it.
    [TestCase("Redacted", "RollingJson", TestName = "APlainSinkThatFailsToConfigureLeavesTheRedactedEntrysFileFree")]
    [TestCase("RollingJson", "RollingJson", TestName = "ASinkThatFailsToConfigureLeavesTheFileOfAPlainEntryBeforeItFree")]
    [TestCase("Redacted", "Redacted", TestName = "ASinkThatFailsToConfigureLeavesTheFileOfARedactedEntryBeforeItFree")]
    public void ASinkThatFailsToConfigureLeavesTheFileOfAnEntryBeforeItFree(string first, string second)
    {
        // Serilog.Settings.Configuration builds the section's entries one by one: one that fails leaves those before it
        // built, where nothing can close them, and the next AddObservability() on their paths was refused.
        using var folder = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>();
        void Entry(int index, string kind, string name, bool invalid)
        {
            var prefix = "Serilog:WriteTo:" + index + ":";
            if (kind == "Redacted")
            {
                settings[prefix + "Name"] = "Redacted";
                prefix += "Args:configure:0:";
            }
            settings[prefix + "Name"] = "RollingJson";
            settings[prefix + "Args:path"] = Path.Combine(folder.Path, name + "-.json");
            if (invalid) settings[prefix + "Args:queueLimit"] = "0";
        }
        Entry(0, first, "first", invalid: false);
        Entry(1, second, "second", invalid: true);
        var failing = WebApplication.CreateSlimBuilder();
        failing.Configuration.AddInMemoryCollection(settings);
        var ex = Assert.Catch<Exception>(() => failing.AddObservability());
        Assert.That(ex!.ToString(), Does.Contain("queueLimit"));

        settings.Remove(settings.Keys.Single(key => key.EndsWith(":queueLimit", StringComparison.Ordinal)));
        var next = WebApplication.CreateSlimBuilder();
        next.Configuration.AddInMemoryCollection(settings);
        next.AddObservability();
        Log.Information("After the failure");
        Log.CloseAndFlush();

        Assert.That(ReadEvents(folder.Path).Count(e => Prop(e, "@mt") == "After the failure"), Is.EqualTo(2), "both files");
    }

    [Test]
    public void APlainSinkIsDisposedOnceWhenASinkAddedByTheCallbackFailsToConfigure()
    {
        // The section's plain sinks are handed to WithObservability()'s sinks, which close what they were given when a
        // later one fails: AddObservability() must not close them a second time.
        var id = Guid.NewGuid().ToString("N");
        var builder = BuilderWithProbe(id);
        var ex = Assert.Throws<ArgumentException>(() => builder.AddObservability(o =>
            o.WriteTo(_ => throw new ArgumentException("The sink's argument is invalid.", "configure"))));
        Assert.That(ex!.ParamName, Is.EqualTo("configure"));
        Assert.That(DisposalProbeSink.DisposalCount(id), Is.EqualTo(1));
    }

    /// <summary>A web builder whose "Serilog" section writes to a <see cref="DisposalProbeSink"/> named <paramref name="id"/>.</summary>
    static WebApplicationBuilder BuilderWithProbe(string id)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:Using:0"] = typeof(DisposalProbeSink).Assembly.GetName().Name,
            ["Serilog:WriteTo:0:Name"] = "DisposalProbe",
            ["Serilog:WriteTo:0:Args:id"] = id,
        });
        return builder;
    }

    [Test]
    public async Task StoppingAndDisposingTheHostFlushesAndClosesTheLogger()
    {
        var id = Guid.NewGuid().ToString("N");
        var builder = BuilderWithProbe(id);
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability();
        var app = builder.Build();
        await app.StartAsync();
        Assert.That(DisposalProbeSink.WasCreated(id), Is.True, "The sink named in the section is part of the logger.");
        Assert.That(DisposalProbeSink.WasDisposed(id), Is.False);

        await app.StopAsync();
        await app.DisposeAsync();

        Assert.That(DisposalProbeSink.DisposalCount(id), Is.EqualTo(1), "The host's disposal closes and flushes the logger AddObservability created.");
    }

    [Test]
    public async Task EventsTheProgramWritesAfterTheHostIsDisposedAreWrittenToo()
    {
        // The usual Program.cs: try { app.Run(); } catch (ex) { Log.Fatal(...); } finally { Log.CloseAndFlush(); }.
        // app.Run() disposes the host before it returns or throws, so the catch and finally log after that.
        using var folder = TempFolder.ForCaller();
        await RunHostAsync(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder.Path, "app-.json")),
            () => Log.Information("While running"));

        Assert.That(ReadEvents(folder.Path).Select(e => Prop(e, "@mt")), Does.Contain("While running"), "the host's disposal flushed what came before");

        Log.Fatal(new InvalidOperationException("port in use"), "Host terminated unexpectedly");
        Log.CloseAndFlush();

        var events = ReadEvents(folder.Path);
        var fatal = events.Single(e => Prop(e, "@mt") == "Host terminated unexpectedly");
        Assert.That(Prop(fatal, "@l"), Is.EqualTo("Fatal"));
        Assert.That(Prop(fatal, "@x"), Does.Contain("port in use"));
        Assert.That(events.Count(e => Prop(e, "@mt") == "While running"), Is.EqualTo(1));
    }

    [Test]
    public async Task TheLoggerForEventsAfterAHostIsDisposedIsClosedWhenTheNextHostCallsAddObservability()
    {
        // Several hosts in one process (WebApplicationFactory in a test suite): each disposed host hands over to a late
        // logger of its own, which the next AddObservability() replaces as Log.Logger; it must not stay open, its sinks'
        // threads and files with it, until the process exits.
        var first = Guid.NewGuid().ToString("N");
        var late = Guid.NewGuid().ToString("N");
        var builder = BuilderWithProbe(first);
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability();
        var app = builder.Build();
        await app.StartAsync();
        // The late logger is built from the configuration as it is when the host is disposed.
        app.Configuration["Serilog:WriteTo:0:Args:id"] = late;
        await app.StopAsync();
        await app.DisposeAsync();
        Assert.That(DisposalProbeSink.WasDisposed(first), Is.True);
        Assert.That((DisposalProbeSink.WasCreated(late), DisposalProbeSink.WasDisposed(late)), Is.EqualTo((true, false)), "a late logger took over");

        var next = Guid.NewGuid().ToString("N");
        var nextBuilder = BuilderWithProbe(next);
        nextBuilder.AddObservability();

        Assert.That(DisposalProbeSink.WasDisposed(late), Is.True, "the replaced late logger is flushed and closed");
        Assert.That(DisposalProbeSink.WasDisposed(next), Is.False);
    }

    [Test]
    public async Task ASecondCallReplacesTheFirstLoggerAndClosesIt()
    {
        var first = Guid.NewGuid().ToString("N");
        var second = Guid.NewGuid().ToString("N");
        var builder = BuilderWithProbe(first);
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability();
        builder.Configuration["Serilog:WriteTo:0:Args:id"] = second;
        builder.AddObservability();
        Assert.That(DisposalProbeSink.DisposalCount(first), Is.EqualTo(1), "the replaced logger is flushed and closed at once");

        var app = builder.Build();
        await app.StartAsync();
        Assert.That(app.Services.GetRequiredService<Serilog.ILogger>(), Is.SameAs(Log.Logger));
        Assert.That(DisposalProbeSink.WasDisposed(second), Is.False);
        await app.StopAsync();
        await app.DisposeAsync();

        Assert.That(DisposalProbeSink.DisposalCount(second), Is.EqualTo(1));
    }

    [Test]
    public async Task ASecondCallWithARollingJsonFileReplacesTheFirstLoggerOnTheSameFile()
    {
        // Both calls read one configuration, so both loggers write one file; a RollingJson sink refuses a path a live sink
        // writes, so the first logger must be closed before the second is built.
        using var folder = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        void Configure(ObservabilityOptions o) => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder.Path, "app-.json"));
        builder.AddObservability(Configure);
        Assert.DoesNotThrow(() => builder.AddObservability(Configure));

        var app = builder.Build();
        await app.StartAsync();
        Log.Information("From the second logger");
        await app.StopAsync();
        await app.DisposeAsync();
        Log.CloseAndFlush();

        Assert.That(ReadEvents(folder.Path).Count(e => Prop(e, "@mt") == "From the second logger"), Is.EqualTo(1));
    }

    [Test]
    public async Task TheNextHostWritesTheRollingJsonFileThatTheLateLoggerOfTheLastHostHeld()
    {
        // Several hosts in one process, one after the other, with one configuration: the late logger a disposed host
        // left holds the file until the next AddObservability() closes it, which must happen before the next logger is
        // built on the same file.
        using var folder = TempFolder.ForCaller();
        void Configure(ObservabilityOptions o) => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder.Path, "app-.json"));
        await RunHostAsync(Configure);
        Log.Information("To the late logger");

        var nextBuilder = WebApplication.CreateSlimBuilder();
        Assert.DoesNotThrow(() => nextBuilder.AddObservability(Configure));
        Log.Information("To the next host's logger");
        Log.CloseAndFlush();

        var templates = ReadEvents(folder.Path).Select(e => Prop(e, "@mt")).ToList();
        Assert.That(templates, Does.Contain("To the late logger").And.Contain("To the next host's logger"));
    }

    [Test]
    public void ASecondCallThatFailsLeavesALoggerOnTheFirstCallsFileForTheApplicationToLogTheFailure()
    {
        // The first call's logger is closed before the second builds its own; when the second throws (an invalid
        // option), Program.cs logs the exception through Log.Logger, which must not be left as Logger.None.
        using var folder = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder.Path, "app-.json")));

        Assert.Throws<ArgumentException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.Text, " ")));
        Log.Fatal("Configuration failed");
        Log.CloseAndFlush();

        Assert.That(ReadEvents(folder.Path).Count(e => Prop(e, "@mt") == "Configuration failed"), Is.EqualTo(1));
    }

    [TestCase("Serilog:MinimumLevel:Default", "Verbos")]
    [TestCase("Serilog:MinimumLevel:Override:Shop.Orders", "Verbos")]
    [TestCase("Serilog:LevelSwitches:$orders", "Verbos")]
    [TestCase("Serilog:LevelSwitches:my-orders", "Warning")]
    [TestCase("Serilog:MinimumLevel", "")]
    [TestCase("Serilog:MinimumLevel:Default", "")]
    [TestCase("Serilog:WriteTo:0:Name", "RollingJsn")]
    [TestCase("Serilog:WriteTo:0:Args:levelSwitch", "$missing")]
    [TestCase("Serilog:WriteTo:0:Args:levelSwitch", "")]
    [TestCase("Serilog:WriteTo:1:Args:path", "app-.json", "Serilog:WriteTo:1:Name")]
    public void ASecondCallWhoseSectionHasAnInvalidLevelLeavesTheFirstCallsLoggerAsItWas(string key, string value, string? named = null)
    {
        // The levels, the entries' method names and their switch references are checked before the first call's logger
        // is closed: closed, it could not be rebuilt from the section both calls read, and the host would be left
        // without a logger.
        using var folder = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "app-.json"),
        });
        builder.AddObservability();
        var first = Log.Logger;

        builder.Configuration[key] = value;
        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability());

        Assert.That(ex!.Message, Does.StartWith($"The \"{named ?? key}\" "));
        Assert.That(Log.Logger, Is.SameAs(first));
        Assert.That(builder.Services.Single(d => d.ServiceType == typeof(Serilog.ILogger)).ImplementationInstance, Is.SameAs(first));
        Log.Information("After the failure");
        Log.CloseAndFlush();
        Assert.That(ReadEvents(folder.Path).Count(e => Prop(e, "@mt") == "After the failure"), Is.EqualTo(1));
    }

    [Test]
    public async Task TheNextHostsFailingCallLeavesALoggerOnTheLateLoggersFile()
    {
        using var folder = TempFolder.ForCaller();
        void Configure(ObservabilityOptions o) => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder.Path, "app-.json"));
        await RunHostAsync(Configure);

        var nextBuilder = WebApplication.CreateSlimBuilder();
        Assert.Throws<ArgumentException>(() => nextBuilder.AddObservability(o => o.Console(ObservabilityConsoleFormat.Text, " ")));
        Log.Fatal("Configuration failed");
        Log.CloseAndFlush();

        Assert.That(ReadEvents(folder.Path).Count(e => Prop(e, "@mt") == "Configuration failed"), Is.EqualTo(1));
    }

    static (bool Information, bool Warning) AspNetCoreLevelsEnabled(string serilogSection)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{ "Serilog": {{serilogSection}} }""")));
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var hosting = Log.Logger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Microsoft.AspNetCore.Hosting.Diagnostics");
        return (hosting.IsEnabled(Serilog.Events.LogEventLevel.Information), hosting.IsEnabled(Serilog.Events.LogEventLevel.Warning));
    }

    [Test]
    public void MicrosoftAspNetCoreIsLoggedAtWarningWhenTheSectionSetsNothingForIt()
    {
        Assert.That(AspNetCoreLevelsEnabled("""{ "MinimumLevel": "Debug" }"""), Is.EqualTo((false, true)));
        Assert.That(AspNetCoreLevelsEnabled("""{ "MinimumLevel": { "Override": { "Microsoft.AspNetCore": "Information" } } }"""), Is.EqualTo((true, true)));
    }

    [TestCase("""{ "MinimumLevel": { "Default": "Information", "Override": { "Microsoft": "Information" } } }""", true, true)]
    [TestCase("""{ "MinimumLevel": { "Default": "Debug", "Override": { "Microsoft": "Error" } } }""", false, false)]
    [TestCase("""{ "MinimumLevel": "Error" }""", false, false)]
    [TestCase("""{ "MinimumLevel": { "Default": "Error" } }""", false, false)]
    public void TheSectionsOwnLevelsForMicrosoftAspNetCoreAreNotOverruled(string section, bool information, bool warning)
    {
        // An override for a namespace holding Microsoft.AspNetCore ("Microsoft") loses to a more specific one, and an
        // override below the default level lets through what the default hides: the Warning default must not add either.
        Assert.That(AspNetCoreLevelsEnabled(section), Is.EqualTo((information, warning)));
    }

    [Test]
    public async Task AnEnricherTheSectionConfiguresIsNotAddedAgainWithDefaultArguments()
    {
        // The section turns the trace id fallback off; WithObservability's own WithCorrelation() must not bring it back.
        using var logs = TempFolder.ForCaller();
        var path = Path.Combine(logs.Path, "app.json").Replace("\\", "/");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""
            { "Serilog": {
                "Enrich": [ { "Name": "WithCorrelation", "Args": { "useTraceIdWhenMissing": false } } ],
                "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "{{path}}", "rollingInterval": "Infinite" } } ] } }
            """)));
        builder.AddObservability();
        var app = builder.Build();
        using (new System.Diagnostics.Activity("request").SetIdFormat(System.Diagnostics.ActivityIdFormat.W3C).Start())
            Log.Information("Inside a trace, outside any correlation scope");
        await app.DisposeAsync();

        var logged = ReadEvents(logs.Path).Single(e => Prop(e, "@mt") == "Inside a trace, outside any correlation scope");
        Assert.That(Prop(logged, "TraceId"), Is.Not.Null, "WithObservability's other enrichers still apply");
        Assert.That(Prop(logged, "CorrelationId"), Is.Null);
    }

    [TestCase("health")]
    [TestCase("metrics/*")]
    public void AnExcludedPathThatCanNeverMatchIsRejectedByAddObservabilityNamingTheKey(string excluded)
    {
        // Request paths start with '/': "health" would never match, and every /health request would still be logged.
        // Refused where the section is read, with the entry's key (UseSerilogRequestLogging() named its own
        // configureOptions parameter, which an application passing none cannot place).
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""
            { "Serilog": { "RequestLogging": { "ExcludePaths": [ "/ready", "{{excluded}}" ] } } }
            """)));

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.Contain("\"Serilog:RequestLogging:ExcludePaths:1\"").And.Contain($"'{excluded}'").And.Contain("'/'"));
    }

    [Test]
    public void AnEmptyExcludedPathEntryOfALaterSourceIsNoneAndAnEntryGivenInCodeIsStillCheckedByRequestLogging()
    {
        // A later configuration source switches an entry off with an empty value: that is not an entry that never matches.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes("""
            { "Serilog": { "RequestLogging": { "ExcludePaths": [ "/ready", "/health" ] } } }
            """)));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:RequestLogging:ExcludePaths:1"] = "" });
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var app = builder.Build();

        var ex = Assert.Throws<ArgumentException>(() => app.UseSerilogRequestLogging(o => o.ExcludePaths = [.. o.ExcludePaths, "health"]));

        Assert.That(ex!.ParamName, Is.EqualTo("configureOptions"));
        Assert.That(ex.Message, Does.Contain("ExcludePaths").And.Contain("'health'").And.Contain("'/'"));
    }

    [Test]
    public async Task TheRedactionSectionSetsTheRulesOfAddObservabilitysOwnRedaction()
    {
        using var logs = TempFolder.ForCaller();
        var path = Path.Combine(logs.Path, "app.json").Replace("\\", "/");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""
            { "Serilog": {
                "Redaction": {
                  "ExcludedKeys": [ "session_token" ],
                  "AdditionalKeys": [ "loyalty_number" ],
                  "DetectEmbeddedCredentials": true
                },
                "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "{{path}}", "rollingInterval": "Infinite" } } ] } }
            """)));
        builder.AddObservability();
        var app = builder.Build();
        Log.Information("Customer {LoyaltyNumber} with {SessionToken} via {Connection} and {@Card}",
            "loyalty-1234", "visible-token-id", "Server=db;Password=hunter2", new { Password = "card-secret", loyalty_number = "nested-1234" });
        await app.DisposeAsync();

        var text = string.Join("\n", Directory.GetFiles(logs.Path, "*.json").SelectMany(File.ReadAllLines));
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("loyalty-1234").And.Not.Contain("nested-1234"), "an additional key, also in an object captured with @");
            Assert.That(text, Does.Contain("visible-token-id"), "an excluded key");
            Assert.That(text, Does.Not.Contain("hunter2").And.Contain("Server=db;Password=[REDACTED]"), "a detector turned on");
            Assert.That(text, Does.Not.Contain("card-secret"), "the default keys still apply");
        });
    }

    [Test]
    public void ARedactionSectionThatDoesNotBindIsAConfigurationError()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes("""
            { "Serilog": { "Redaction": { "ExcludeKeys": [ "token" ] } } }
            """)));

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.Contain("Serilog:Redaction").And.Contain("ExcludeKeys"));
    }

    [TestCase("\"ExcludePath\": [ \"/health\" ]", "ExcludePath")]
    [TestCase("\"SlowRequestTreshold\": \"00:00:02\"", "SlowRequestTreshold")]
    [TestCase("\"RequestHeaders\": [ \"User-Agent\" ], \"Exclude\": [ \"/ready\" ]", "Exclude")]
    public void ARequestLoggingSectionWithAKeyThatIsNotAnOptionIsAConfigurationError(string body, string key)
    {
        // As for "Serilog:Redaction": a misspelt key would otherwise be dropped without a word, and the health checks it
        // was meant to leave out, or the slow requests it was meant to raise, logged as if it were not there.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""
            { "Serilog": { "RequestLogging": { {{body}} } } }
            """)));

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.Contain("Serilog:RequestLogging").And.Contain($"'{key}'"));
    }

    [TestCase("RequestLogging", "\"LogClientErrorsAsWarning\": { \"Enabled\": true }", "LogClientErrorsAsWarning")]
    [TestCase("RequestLogging", "\"SlowRequestThreshold\": [ \"00:00:02\" ]", "SlowRequestThreshold")]
    [TestCase("RequestLogging", "\"MessageTemplate\": { \"Text\": \"HTTP {RequestMethod}\" }", "MessageTemplate")]
    [TestCase("Redaction", "\"DetectEmbeddedCredentials\": [ true ]", "DetectEmbeddedCredentials")]
    [TestCase("Redaction", "\"mask\": { \"Text\": \"***\" }", "mask")]
    public void AnObjectOrAListGivenForOneValueOfOurSectionsFailsNamingTheKey(string section, string body, string key)
    {
        // The binder's own message named the value's type ("not found on the instance of System.Boolean: 'Enabled'"),
        // not the key that holds it.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""
            { "Serilog": { "{{section}}": { {{body}} } } }
            """)));

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.Contain($"\"Serilog:{section}:{key}\"").And.Contain("single value"));
    }

    [Test]
    public void ARequestLoggingSectionThatIsAConfigurationErrorLeavesTheLoggerAndItsFileAsTheyWere()
    {
        // The section is checked before the logger is built: checked after, the failed call left its logger as Log.Logger,
        // its RollingJson file claimed, and the next AddObservability() on that path (the configuration fixed) was refused.
        using var folder = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "app-.json"),
            ["Serilog:RequestLogging:ExcludePath:0"] = "/health",
        };
        var before = Log.Logger;
        var failing = WebApplication.CreateSlimBuilder();
        failing.Configuration.AddInMemoryCollection(settings);
        Assert.Throws<InvalidOperationException>(() => failing.AddObservability());
        Assert.That(Log.Logger, Is.SameAs(before));

        settings.Remove("Serilog:RequestLogging:ExcludePath:0");
        var next = WebApplication.CreateSlimBuilder();
        next.Configuration.AddInMemoryCollection(settings);
        next.AddObservability();
        Log.Information("After the failure");
        Log.CloseAndFlush();

        Assert.That(ReadEvents(folder.Path).Count(e => Prop(e, "@mt") == "After the failure"), Is.EqualTo(1));
    }

    [Test]
    public void ARedactionSectionWithAnInvalidValueNamesTheOption()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes("""
            { "Serilog": { "Redaction": { "PartialVisibleCharacters": 40 } } }
            """)));

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.ParamName, Is.EqualTo("PartialVisibleCharacters"));
    }
}
