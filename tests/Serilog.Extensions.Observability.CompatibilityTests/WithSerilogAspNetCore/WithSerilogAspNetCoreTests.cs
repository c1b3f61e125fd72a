extern alias SerilogAspNetCore;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Serilog.Core;
using Serilog.Extensions.Observability.Tests.Support;
using TheirLoggerConfigurationExtensions = SerilogAspNetCore::Serilog.LoggerConfigurationExtensions;
using TheirLoggerSettingsConfigurationExtensions = SerilogAspNetCore::Serilog.LoggerSettingsConfigurationExtensions;
using TheirServiceCollectionExtensions = SerilogAspNetCore::Serilog.SerilogServiceCollectionExtensions;

namespace Serilog.Extensions.Observability.CompatibilityTests.WithSerilogAspNetCore;

/// <summary>
/// An application on Serilog 4 that hosts and logs requests with Serilog.AspNetCore 10 and uses our packages without
/// Serilog.Extensions.Observability.AspNetCore: <c>WithObservability()</c> (or the enrichers, redaction, timing and
/// RollingJson sink from appsettings) inside Serilog.AspNetCore's <c>AddSerilog((services, lc) => ...)</c>, its
/// <c>UseSerilogRequestLogging()</c>, its <c>IDiagnosticContext</c>; what reaches the RollingJson file.
/// </summary>
[NonParallelizable] // AddSerilog sets the static Log.Logger; SelfLog is process-wide
public class WithSerilogAspNetCoreTests
{
    const string MinimumLevels = """
        { "Serilog": { "MinimumLevel": { "Default": "Information", "Override": { "Microsoft.AspNetCore": "Warning" } } } }
        """;

    readonly List<string> _selfLog = new();
    TemporarySelfLog? _selfLogScope;

    [SetUp]
    public void CaptureSelfLog() => _selfLogScope = TemporarySelfLog.SaveTo(_selfLog);

    [TearDown]
    public void Restore()
    {
        _selfLogScope?.Dispose();
        Log.CloseAndFlush();
    }

    /// <summary>The README's recipe in code: appsettings for levels, <c>WithObservability()</c> for the rest.</summary>
    static Action<WebApplicationBuilder> WithObservabilityInAddSerilog(string folder, ILogEventSink? probe = null) => builder =>
        TheirServiceCollectionExtensions.AddSerilog(builder.Services, (services, lc) =>
            TheirLoggerSettingsConfigurationExtensions.Services(lc.ReadFrom.Configuration(builder.Configuration).ReadFrom, services)
                .WithObservability(o =>
                {
                    o.Service("checkout-api").Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder, "logs", "app-.json"));
                    if (probe is not null) o.WriteTo(w => w.Sink(probe));
                }));

    static void WriteAppSettings(string folder, string json) => File.WriteAllText(Path.Combine(folder, "appsettings.json"), json);

    /// <summary>Every line of every file under <c>logs/</c>, parsed refusing duplicate property names.</summary>
    static List<JsonElement> Lines(string folder)
    {
        var options = new JsonDocumentOptions { AllowDuplicateProperties = false };
        return Directory.GetFiles(Path.Combine(folder, "logs"), "*.json")
            .SelectMany(File.ReadLines)
            .Select(line => JsonDocument.Parse(line, options).RootElement.Clone())
            .ToList();
    }

    static string? Text(JsonElement line, string name) => line.TryGetProperty(name, out var value) ? value.ToString() : null;

    static JsonElement Completion(List<JsonElement> lines, string path) =>
        lines.Single(l => Text(l, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware" && Text(l, "RequestPath")!.StartsWith(path, StringComparison.Ordinal));

    [Test]
    public async Task TheCompletionEventCarriesTheTraceIdAsCorrelationIdThreadIdServiceNameWithSecretsMasked()
    {
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, MinimumLevels);
        var request = new MixedRequest("/orders/7?password=query-secret-1&page=2");

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path), CorrelationMiddleware.None, [request]);

        var lines = Lines(folder.Path);
        var completion = Completion(lines, "/orders/7");
        Assert.Multiple(() =>
        {
            Assert.That(request.Status, Is.EqualTo(200));
            Assert.That(Text(completion, "@tr"), Has.Length.EqualTo(32), "Serilog.AspNetCore writes the request's trace id on the event");
            Assert.That(Text(completion, "CorrelationId"), Is.EqualTo(Text(completion, "@tr")), "WithCorrelation: no scope, the trace id");
            Assert.That(Text(completion, "TraceId"), Is.EqualTo(Text(completion, "@tr")), "WithSpan");
            Assert.That(Text(completion, "SpanId"), Is.EqualTo(Text(completion, "@sp")), "WithSpan");
            Assert.That(completion.TryGetProperty("ThreadId", out _), Is.True, "WithThreadId");
            Assert.That(Text(completion, "ServiceName"), Is.EqualTo("checkout-api"), "Service(...)");
            Assert.That(Text(completion, "OrderId"), Is.EqualTo("7"), "their IDiagnosticContext.Set");
            Assert.That(Text(completion, "Password"), Is.EqualTo("[REDACTED]"), "a password set through their IDiagnosticContext");
            Assert.That(Text(completion, "RequestPath"), Is.EqualTo("/orders/7?password=[REDACTED]&page=2"),
                "IncludeQueryInRequestPath: DetectEmbeddedCredentials masks the query's password");
            Assert.That(string.Join("\n", lines), Does.Not.Contain(MixedHost.DiagnosticSecret).And.Not.Contain("query-secret-1"));
            Assert.That(_selfLog, Is.Empty);
        });
    }

    [Test]
    public async Task EventsInsideAStageCarryThePipelineAndTheRequestsCorrelationId()
    {
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, MinimumLevels);

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path), CorrelationMiddleware.None, [new MixedRequest("/orders/7")]);

        var lines = Lines(folder.Path);
        var completion = Completion(lines, "/orders/7");
        var inside = lines.Where(l => Text(l, "@mt")!.StartsWith("Loading order", StringComparison.Ordinal)).ToList();
        Assert.That(inside, Has.Count.EqualTo(2), "one through Log, one through ILogger<T>");
        Assert.Multiple(() =>
        {
            foreach (var line in inside)
            {
                Assert.That(Text(line, "Pipeline"), Is.EqualTo(MixedHost.OrderPipeline), Text(line, "@mt"));
                Assert.That(Text(line, "Stage"), Is.EqualTo(MixedHost.OrderStage), Text(line, "@mt"));
                Assert.That(Text(line, "CorrelationId"), Is.EqualTo(Text(completion, "CorrelationId")), Text(line, "@mt"));
            }
            Assert.That(completion.TryGetProperty("Stage", out _), Is.False, "the completion event is written after the stage");
            Assert.That(_selfLog, Is.Empty);
        });
    }

    [TestCase(CorrelationMiddleware.BeforeRequestLogging, true)]
    [TestCase(CorrelationMiddleware.AfterRequestLogging, false)]
    public async Task TheCompletionEventCarriesTheApplicationsCorrelationIdOnlyWhenItsScopeEnclosesTheRequestLogging(
        CorrelationMiddleware correlation, bool completionHasHeaderId)
    {
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, MinimumLevels);

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path), correlation,
            [new MixedRequest("/orders/7", CorrelationHeader: "order-corr-1")]);

        var lines = Lines(folder.Path);
        var completion = Completion(lines, "/orders/7");
        Assert.Multiple(() =>
        {
            Assert.That(lines.Where(l => Text(l, "@mt")!.StartsWith("Loading order", StringComparison.Ordinal)).Select(l => Text(l, "CorrelationId")),
                Is.EqualTo(new[] { "order-corr-1", "order-corr-1" }), "the handler's events, inside the scope either way");
            Assert.That(Text(completion, "CorrelationId"), Is.EqualTo(completionHasHeaderId ? "order-corr-1" : Text(completion, "@tr")));
        });
    }

    [Test]
    public async Task AnUnhandledExceptionIsMaskedOnTheCompletionEventAndOnTheServersEvent()
    {
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, MinimumLevels);
        var request = new MixedRequest("/fail");

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path), CorrelationMiddleware.None, [request]);

        var lines = Lines(folder.Path);
        var completion = Completion(lines, "/fail");
        var withException = lines.Where(l => l.TryGetProperty("@x", out _)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(request.Status, Is.EqualTo(500));
            Assert.That((Text(completion, "@l"), Text(completion, "StatusCode")), Is.EqualTo(("Error", "500")));
            Assert.That(withException.Select(l => Text(l, "SourceContext")), Is.SupersetOf(new[]
            {
                "Serilog.AspNetCore.RequestLoggingMiddleware", "Microsoft.AspNetCore.Server.Kestrel",
            }), "their completion event and the server's own");
            Assert.That(withException.Select(l => Text(l, "@x")), Has.All.Contains("Password=[REDACTED];"));
            Assert.That(string.Join("\n", lines), Does.Not.Contain(MixedHost.ExceptionSecret));
            Assert.That(_selfLog, Is.Empty);
        });
    }

    [Test]
    public async Task AMiddlewareAfterTheRequestLoggingCanPutTheRequestsStagesOnTheCompletionEvent()
    {
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, MinimumLevels);

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path), CorrelationMiddleware.None,
            [new MixedRequest("/orders/7"), new MixedRequest("/fail")], collectStages: true);

        var lines = Lines(folder.Path);
        Assert.Multiple(() =>
        {
            // A dictionary: before the Timing package's Stages were captured as one, a list of "[db, 4.2]" strings.
            foreach (var path in new[] { "/orders/7", "/fail" })
            {
                var stages = Completion(lines, path).GetProperty("Stages");
                Assert.That(stages.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { MixedHost.OrderStage }), path);
                Assert.That(stages.GetProperty(MixedHost.OrderStage).GetDouble(), Is.GreaterThan(0), path);
            }
            Assert.That(_selfLog, Is.Empty);
        });
    }

    /// <summary>The README's appsettings-only recipe: our assemblies in "Using", nothing of ours in code.</summary>
    static string AppSettingsOnly(string folder) => """
        {
          "Serilog": {
            "Using": [ "Serilog.Extensions.Observability.Enrichers", "Serilog.Extensions.Observability.Redaction",
                       "Serilog.Extensions.Observability.Timing", "Serilog.Extensions.Observability.Sinks.RollingJson" ],
            "MinimumLevel": { "Default": "Information", "Override": { "Microsoft.AspNetCore": "Warning" } },
            "Enrich": [ "FromLogContext", "WithCorrelation", "WithSpan", "WithThreadId", "WithPipelineTiming" ],
            "Destructure": [ { "Name": "WithRedaction" } ],
            "WriteTo": [
              { "Name": "Redacted", "Args": { "detectEmbeddedCredentials": true, "configure": [
                { "Name": "RollingJson", "Args": { "path": "LOGS/app-.json" } } ] } }
            ],
            "Properties": { "ServiceName": "checkout-api" }
          }
        }
        """.Replace("LOGS", Path.Combine(folder, "logs").Replace('\\', '/'));

    static Action<WebApplicationBuilder> AppSettingsInAddSerilog(ILogEventSink? probe = null) => builder =>
        TheirServiceCollectionExtensions.AddSerilog(builder.Services, (services, lc) =>
        {
            TheirLoggerSettingsConfigurationExtensions.Services(lc.ReadFrom.Configuration(builder.Configuration).ReadFrom, services);
            if (probe is not null) lc.WriteTo.Sink(probe);
        });

    [Test]
    public async Task TheAppSettingsOnlyRecipeGivesTheCompletionEventTheSameProperties()
    {
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, AppSettingsOnly(folder.Path));
        var requests = new[] { new MixedRequest("/orders/7?password=query-secret-1&page=2"), new MixedRequest("/orders/8", "order-corr-8") };

        await MixedHost.RunAsync(folder.Path, AppSettingsInAddSerilog(), CorrelationMiddleware.BeforeRequestLogging, requests);

        var lines = Lines(folder.Path);
        var first = Completion(lines, "/orders/7");
        var second = Completion(lines, "/orders/8");
        Assert.Multiple(() =>
        {
            Assert.That(Text(first, "CorrelationId"), Is.EqualTo(Text(first, "@tr")), "no header: the trace id");
            Assert.That(Text(second, "CorrelationId"), Is.EqualTo("order-corr-8"), "the application's scope");
            Assert.That(Text(first, "TraceId"), Is.EqualTo(Text(first, "@tr")), "WithSpan");
            Assert.That(first.TryGetProperty("ThreadId", out _), Is.True, "WithThreadId");
            Assert.That(Text(first, "ServiceName"), Is.EqualTo("checkout-api"), "Properties");
            Assert.That(Text(first, "Password"), Is.EqualTo("[REDACTED]"), "Redacted masks their IDiagnosticContext's Password");
            Assert.That(Text(first, "RequestPath"), Is.EqualTo("/orders/7?password=[REDACTED]&page=2"), "detectEmbeddedCredentials");
            Assert.That(lines.Where(l => Text(l, "@mt")!.StartsWith("Loading order", StringComparison.Ordinal)).Select(l => Text(l, "Stage")),
                Is.EqualTo(Enumerable.Repeat(MixedHost.OrderStage, 4)), "WithPipelineTiming");
            Assert.That(string.Join("\n", lines), Does.Not.Contain(MixedHost.DiagnosticSecret).And.Not.Contain("query-secret-1"));
            Assert.That(_selfLog, Is.Empty);
        });
    }

    [Test]
    public async Task OurEnrichersInAppSettingsBesideWithObservabilityAddEachPropertyOnce()
    {
        using var folder = TempFolder.ForCaller();
        // The appsettings recipe's enrichers and sink, and WithObservability() adding its own: Lines() refuses a
        // property written twice, and both files get the event.
        WriteAppSettings(folder.Path, AppSettingsOnly(folder.Path).Replace("app-.json", "settings-.json"));

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path), CorrelationMiddleware.BeforeRequestLogging,
            [new MixedRequest("/orders/7", "order-corr-7")]);

        var completions = Lines(folder.Path).Where(l => Text(l, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(completions.Select(l => Text(l, "CorrelationId")), Is.EqualTo(new[] { "order-corr-7", "order-corr-7" }));
            Assert.That(completions.Select(l => Text(l, "Password")), Is.EqualTo(new[] { "[REDACTED]", "[REDACTED]" }));
            Assert.That(_selfLog, Is.Empty);
        });
    }

    [Test]
    public async Task DisposingTheHostDisposesTheLoggerAndClosesTheRollingJsonFileWithEveryEventInIt()
    {
        ProcessResources.Require();
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, MinimumLevels);
        var probe = new DisposalProbe();
        var requests = Enumerable.Range(1, 20).Select(i => new MixedRequest($"/orders/{i}")).ToList();
        var openWhileServing = 0;

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path, probe), CorrelationMiddleware.None, requests,
            // The sink's writer opens the file with its first batch, on its own thread: waited for (bounded), as a loaded
            // machine may not have run it yet when the last response arrives.
            beforeStop: () => SpinWait.SpinUntil(() => (openWhileServing = ProcessResources.OpenFilesUnder(folder.Path)) > 0, TimeSpan.FromSeconds(30)));

        var lines = Lines(folder.Path);
        Assert.Multiple(() =>
        {
            Assert.That(openWhileServing, Is.EqualTo(1), "the RollingJson file is open while the host runs");
            Assert.That(probe.Disposed, Is.True, "Serilog.AspNetCore's AddSerilog disposes the logger with the host (Log.CloseAndFlush)");
            Assert.That(ProcessResources.OpenFilesUnder(folder.Path), Is.Zero, "the RollingJson sink inside Redacted was disposed");
            Assert.That(lines.Count(l => Text(l, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"), Is.EqualTo(20));
            Assert.That(lines.Select(l => Text(l, "@mt")), Has.Some.StartsWith("Application is shutting down"),
                "the host's last event, written while it stops");
            Assert.That(_selfLog, Is.Empty);
        });
    }

    [Test]
    public async Task WithABootstrapLoggerTheHostLeavesTheLoggerOpenUntilLogCloseAndFlush()
    {
        using var folder = TempFolder.ForCaller();
        WriteAppSettings(folder.Path, MinimumLevels);
        var probe = new DisposalProbe();
        Log.Logger = TheirLoggerConfigurationExtensions.CreateBootstrapLogger(new LoggerConfiguration());

        await MixedHost.RunAsync(folder.Path, WithObservabilityInAddSerilog(folder.Path, probe), CorrelationMiddleware.None, [new MixedRequest("/orders/7")]);
        var disposedWithTheHost = probe.Disposed;
        Log.CloseAndFlush();

        Assert.Multiple(() =>
        {
            Assert.That(disposedWithTheHost, Is.False, "AddSerilog reloads a bootstrap logger and does not dispose it");
            Assert.That(probe.Disposed, Is.True, "Log.CloseAndFlush() disposes it");
            Assert.That(Completion(Lines(folder.Path), "/orders/7").TryGetProperty("CorrelationId", out _), Is.True);
            Assert.That(_selfLog, Is.Empty);
        });
    }
}
