using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using Serilog.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// OpenTelemetry's Microsoft.Extensions.Logging provider (OpenTelemetry.Extensions.Hosting 1.20, the in-memory exporter,
/// and the OTLP/HTTP one sending to a receiver on 127.0.0.1) beside <c>AddObservability()</c> writing CLEF to a RollingJson file, registered as applications register it:
/// <c>builder.Logging.AddOpenTelemetry(...)</c> or <c>builder.Services.AddOpenTelemetry().WithLogging(...)</c>, before or
/// after <c>AddObservability()</c>, with <c>UseCorrelation()</c> and <c>UseSerilogRequestLogging()</c> on real Kestrel.
/// What reaches which pipeline is what the package README's "OpenTelemetry logs" section says.
/// </summary>
[NonParallelizable] // Log.Logger and SelfLog are process-wide.
public class OpenTelemetryLoggingTests
{
    const string CompletionSource = "Serilog.AspNetCore.RequestLoggingMiddleware";

    /// <summary>How and where the application registers OpenTelemetry's logging provider.</summary>
    public enum Registration
    {
        LoggingAfter,
        LoggingBefore,
        WithLoggingAfter,
        WithLoggingBefore,
    }

    // The host's late logger (events after it is disposed) becomes Log.Logger; the next test must not inherit it.
    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    /// <summary>What the in-memory exporter is given (copies of the records): requests may log on several threads at once.</summary>
    sealed class ExportedRecords : Collection<LogRecord>
    {
        protected override void InsertItem(int index, LogRecord item)
        {
            lock (this) base.InsertItem(index, item);
        }

        public LogRecord[] Snapshot()
        {
            lock (this) return this.ToArray();
        }
    }

    sealed record Outcome(IReadOnlyList<JsonElement> Events, IReadOnlyList<LogRecord> Records, IReadOnlyList<string> SelfLog)
    {
        public JsonElement Completion(string path) =>
            Events.Single(e => LogFileEvents.Prop(e, "SourceContext") == CompletionSource && LogFileEvents.Prop(e, "RequestPath") == path);

        public JsonElement Event(string template) => Events.Single(e => LogFileEvents.Prop(e, "@mt") == template);

        public LogRecord Record(string template) => Records.Single(r => OriginalFormat(r) == template);
    }

    static string? OriginalFormat(LogRecord record) =>
        record.Attributes?.FirstOrDefault(a => a.Key == "{OriginalFormat}").Value as string;

    static object? Attribute(LogRecord record, string key) => record.Attributes?.SingleOrDefault(a => a.Key == key).Value;

    static Dictionary<string, object?> Scopes(LogRecord record)
    {
        var scopes = new Dictionary<string, object?>();
        record.ForEachScope((scope, state) =>
        {
            foreach (var item in scope) state[item.Key] = item.Value;
        }, scopes);
        return scopes;
    }

    static void AddOpenTelemetryLogging(WebApplicationBuilder builder, Registration registration, ExportedRecords records, bool includeScopes,
        Action<OpenTelemetryLoggerOptions>? export)
    {
        void Options(OpenTelemetryLoggerOptions o)
        {
            o.IncludeScopes = includeScopes;
            o.IncludeFormattedMessage = true;
        }

        if (registration is Registration.LoggingAfter or Registration.LoggingBefore)
        {
            builder.Logging.AddOpenTelemetry(o =>
            {
                Options(o);
                if (export is not null) export(o);
                else o.AddInMemoryExporter(records);
            });
        }
        else
        {
            builder.Services.AddOpenTelemetry().WithLogging(logging =>
            {
                if (export is null) logging.AddInMemoryExporter(records);
            }, o =>
            {
                Options(o);
                export?.Invoke(o);
            });
        }
    }

    /// <summary>
    /// Runs an API set up as the READMEs show, with OpenTelemetry's logging provider registered as
    /// <paramref name="registration"/> says, sends <paramref name="send"/>'s requests and stops the host.
    /// <c>/orders/{id}</c> logs through <c>ILogger&lt;T&gt;</c> (an order id, and a password as an argument) with a user
    /// signed in by a middleware after <c>UseCorrelation()</c>.
    /// </summary>
    static async Task<Outcome> RunAsync(Registration registration, Func<HttpClient, Task> send, bool includeScopes = false,
        Action<WebApplicationBuilder>? configure = null, Action<OpenTelemetryLoggerOptions>? export = null)
    {
        using var logs = TempFolder.ForCaller();
        var records = new ExportedRecords();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var builder = TestWeb.ProductionBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Serilog:WriteTo:0:Name"] = "RollingJson",
                ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
            });
            if (registration is Registration.LoggingBefore or Registration.WithLoggingBefore)
                AddOpenTelemetryLogging(builder, registration, records, includeScopes, export);
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
            if (registration is Registration.LoggingAfter or Registration.WithLoggingAfter)
                AddOpenTelemetryLogging(builder, registration, records, includeScopes, export);
            configure?.Invoke(builder);
            await using (var app = builder.Build())
            {
                app.UseCorrelation();
                app.UseSerilogRequestLogging();
                app.Use((context, next) =>
                {
                    context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "user-7f3a")], "Test"));
                    return next(context);
                });
                app.MapGet("/orders/{id}", (int id, ILogger<OpenTelemetryLoggingTests> logger) =>
                {
                    logger.LogInformation("Loading order {OrderId}", id);
                    logger.LogInformation("Signing in to the warehouse with {Password}", "hunter2");
                    return "ok";
                });
                await app.StartAsync();
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
                using var client = new HttpClient { BaseAddress = new Uri(address) };
                await send(client);
                await app.StopAsync();
            }
        }

        // Disposing the host flushed and closed the file; the in-memory exporter exports each record as it is written.
        return new Outcome(LogFileEvents.Read(logs.Path), records.Snapshot(), selfLog);
    }

    static async Task GetOrderAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/7");
        request.Headers.Add("X-Correlation-ID", "checkout-7");
        using var response = await client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase(Registration.LoggingAfter)]
    [TestCase(Registration.LoggingBefore)]
    [TestCase(Registration.WithLoggingAfter)]
    [TestCase(Registration.WithLoggingBefore)]
    public async Task EachILoggerEventOfARequestIsInTheFileAndExportedOnceWithTheSameTraceAndSpan(Registration registration)
    {
        var outcome = await RunAsync(registration, GetOrderAsync);

        var written = outcome.Event("Loading order {OrderId}");
        var exported = outcome.Record("Loading order {OrderId}");
        Assert.That(exported.TraceId.ToHexString(), Is.EqualTo(LogFileEvents.Prop(written, "@tr")));
        Assert.That(exported.SpanId.ToHexString(), Is.EqualTo(LogFileEvents.Prop(written, "@sp")));
        Assert.That(exported.FormattedMessage, Is.EqualTo("Loading order 7"));
        Assert.That(exported.CategoryName, Is.EqualTo(typeof(OpenTelemetryLoggingTests).FullName));
        Assert.That(outcome.Records.Count(r => OriginalFormat(r) == "Loading order {OrderId}"), Is.EqualTo(1));
        Assert.That(outcome.SelfLog, Is.Empty);
    }

    [Test]
    public async Task TheCompletionEventIsInTheFileOnlyAndTheExportedRecordsCarryNoCorrelationOrUserId()
    {
        var outcome = await RunAsync(Registration.LoggingAfter, GetOrderAsync);

        // Our events carry the ids of our contexts, the completion event included.
        var completion = outcome.Completion("/orders/7");
        var written = outcome.Event("Loading order {OrderId}");
        foreach (var e in new[] { completion, written })
        {
            Assert.That(LogFileEvents.Prop(e, "CorrelationId"), Is.EqualTo("checkout-7"));
            Assert.That(LogFileEvents.Prop(e, "UserId"), Is.EqualTo("user-7f3a"));
        }

        // The completion event (like IDiagnosticContext and Log.Information) is written to Serilog, not through
        // Microsoft.Extensions.Logging: OpenTelemetry's provider never sees it. The ILogger<T> event's record holds only
        // what was logged: CorrelationId and UserId live in CorrelationContext and UserContext, not in a logging scope.
        Assert.That(outcome.Records.Select(r => r.CategoryName), Has.None.EqualTo(CompletionSource));
        Assert.That(outcome.Records.Select(r => r.FormattedMessage), Has.None.StartsWith("HTTP GET"));
        var exported = outcome.Record("Loading order {OrderId}");
        Assert.That(exported.Attributes!.Select(a => a.Key), Is.EquivalentTo(new[] { "OrderId", "{OriginalFormat}" }));
        Assert.That(Scopes(exported), Is.Empty);
    }

    [Test]
    public async Task WithIncludeScopesTheRecordsCarryTheHostsRequestScopeButNotTheCorrelationOrUserId()
    {
        var outcome = await RunAsync(Registration.LoggingAfter, GetOrderAsync, includeScopes: true);

        var exported = outcome.Record("Loading order {OrderId}");
        var scopes = Scopes(exported);
        Assert.That(scopes["RequestPath"], Is.EqualTo("/orders/7"));
        Assert.That(scopes, Does.ContainKey("RequestId").And.ContainKey("ConnectionId"));
        Assert.That(scopes, Does.Not.ContainKey("CorrelationId").And.Not.ContainKey("UserId"));
    }

    [Test]
    public async Task APasswordArgumentIsMaskedInTheFileAndExportedAsLogged()
    {
        var outcome = await RunAsync(Registration.LoggingAfter, GetOrderAsync);

        const string template = "Signing in to the warehouse with {Password}";
        var written = outcome.Event(template);
        Assert.That(LogFileEvents.Prop(written, "Password"), Is.Not.EqualTo("hunter2"));
        Assert.That(outcome.Events.Select(e => e.GetRawText()), Has.None.Contains("hunter2"));
        // Microsoft.Extensions.Logging gives each provider the arguments as logged: our redaction runs in Serilog's pipeline.
        var exported = outcome.Record(template);
        Assert.That(Attribute(exported, "Password"), Is.EqualTo("hunter2"));
        Assert.That(exported.FormattedMessage, Is.EqualTo("Signing in to the warehouse with hunter2"));
        Assert.That(outcome.SelfLog, Is.Empty);
    }

    /// <summary>A processor that puts the request's correlation and user ids on each record, as the README shows.</summary>
    sealed class ObservabilityIdsProcessor : BaseProcessor<LogRecord>
    {
        public override void OnEnd(LogRecord data)
        {
            var correlationId = Enrichers.CorrelationContext.CurrentId;
            var user = Enrichers.UserContext.Current;
            if (correlationId is null && user?.UserId is null) return;
            var attributes = new List<KeyValuePair<string, object?>>(data.Attributes ?? []);
            if (correlationId is not null) attributes.Add(new("CorrelationId", correlationId));
            if (user?.UserId is { } userId) attributes.Add(new("UserId", userId));
            data.Attributes = attributes;
        }
    }

    [Test]
    public async Task AProcessorBeforeTheExporterPutsTheCorrelationAndUserIdOnTheRecords()
    {
        // A second AddOpenTelemetry() adds to the options of the first: its processors come after the first exporter.
        var records = new ExportedRecords();
        var outcome = await RunAsync(Registration.LoggingAfter, GetOrderAsync, configure: builder =>
            builder.Logging.AddOpenTelemetry(o => o.AddProcessor(new ObservabilityIdsProcessor()).AddInMemoryExporter(records)));

        var exported = records.Snapshot().Single(r => OriginalFormat(r) == "Loading order {OrderId}");
        Assert.That(outcome.SelfLog, Is.Empty);
        Assert.That(Attribute(exported, "CorrelationId"), Is.EqualTo("checkout-7"));
        Assert.That(Attribute(exported, "UserId"), Is.EqualTo("user-7f3a"));
        Assert.That(Attribute(exported, "OrderId"), Is.EqualTo(7));
    }

    /// <summary>Logs through <c>ILogger&lt;T&gt;</c> while the host starts and stops.</summary>
    sealed class LifecycleLogger(ILogger<LifecycleLogger> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogInformation("Starting the outbox");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            logger.LogInformation("Draining the outbox");
            return Task.CompletedTask;
        }
    }

    [TestCase(Registration.LoggingAfter)]
    [TestCase(Registration.WithLoggingBefore)]
    public async Task WhatAServiceLogsWhileTheHostStartsAndStopsReachesBothOnce(Registration registration)
    {
        var outcome = await RunAsync(registration, GetOrderAsync, configure: builder => builder.Services.AddHostedService<LifecycleLogger>());

        foreach (var template in new[] { "Starting the outbox", "Draining the outbox" })
        {
            Assert.That(outcome.Events.Count(e => LogFileEvents.Prop(e, "@mt") == template), Is.EqualTo(1), template);
            Assert.That(outcome.Records.Count(r => OriginalFormat(r) == template), Is.EqualTo(1), template);
        }
        // Nothing else is exported twice either.
        Assert.That(outcome.Records.GroupBy(r => (r.CategoryName, r.FormattedMessage, r.SpanId)).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty);
        Assert.That(outcome.SelfLog, Is.Empty);
    }

    /// <summary>A provider of the application's own, registered as third-party providers register theirs.</summary>
    sealed class ApplicationProvider : ILoggerProvider
    {
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }
    }

    static string[] ProviderTypes(IServiceProvider services) =>
        services.GetServices<ILoggerProvider>().Select(p => p.GetType().Name).Order(StringComparer.Ordinal).ToArray();

    [Test]
    public void TheHostsDefaultProvidersAndOtherSerilogProvidersGoAndTheApplicationsStayInEitherOrder()
    {
        // The full web builder adds console, debug and EventSource providers (and EventLog on Windows).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.AddJsonConsole();
        builder.Logging.AddSerilog(new LoggerConfiguration().CreateLogger(), dispose: true);
        builder.Logging.AddOpenTelemetry();
        builder.Services.AddSingleton<ILoggerProvider, ApplicationProvider>();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        // Called again, it replaces the provider of its first call.
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Services.AddSingleton<ILoggerProvider>(_ => new ApplicationProvider());
        using var app = builder.Build();

        // Ours is wrapped where Serilog.Extensions.Logging takes scopes externally (9 and later, see LogContextScopeProvider).
        var ours = typeof(ISupportExternalScope).IsAssignableFrom(typeof(SerilogLoggerProvider)) ? "LogContextScopeProvider" : nameof(SerilogLoggerProvider);
        var expected = new[] { nameof(ApplicationProvider), nameof(ApplicationProvider), "OpenTelemetryLoggerProvider", ours };
        Assert.That(ProviderTypes(app.Services), Is.EqualTo(expected.Order(StringComparer.Ordinal)));
    }

    [Test]
    public void ProvidersRegisteredAsInstancesGoByTheirTypeAndKeyedProvidersAreLeftAlone()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        // Instances: Serilog.Extensions.Logging's AddSerilog(logger) without dispose, and a default type added by hand.
        builder.Logging.AddSerilog(new LoggerConfiguration().CreateLogger());
        builder.Logging.AddProvider(new Microsoft.Extensions.Logging.Debug.DebugLoggerProvider());
        // A keyed registration is not among the providers the logger factory enumerates; it is neither read nor removed.
        builder.Services.AddKeyedSingleton<ILoggerProvider, Microsoft.Extensions.Logging.Debug.DebugLoggerProvider>("diagnostics");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        using var app = builder.Build();

        var ours = typeof(ISupportExternalScope).IsAssignableFrom(typeof(SerilogLoggerProvider)) ? "LogContextScopeProvider" : nameof(SerilogLoggerProvider);
        Assert.That(ProviderTypes(app.Services), Is.EqualTo(new[] { ours }));
        Assert.That(app.Services.GetKeyedService<ILoggerProvider>("diagnostics"), Is.InstanceOf<Microsoft.Extensions.Logging.Debug.DebugLoggerProvider>());
    }

    [Test]
    public async Task AnOtlpExporterRegisteredBeforeHasSentEveryRecordWhenTheHostIsDisposed()
    {
        // An OTLP/HTTP receiver: OpenTelemetry's batch processor sends what it holds when its provider is disposed.
        var bodies = new ConcurrentQueue<byte[]>();
        var receiver = await TestWeb.StartKestrelAsync(a => a.MapPost("/v1/logs", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            bodies.Enqueue(body.ToArray());
            return Results.Ok();
        }));
        Outcome outcome;
        await using (receiver)
        {
            outcome = await RunAsync(Registration.LoggingBefore, GetOrderAsync,
                configure: builder => builder.Services.AddHostedService<LifecycleLogger>(),
                export: o => o.AddOtlpExporter(otlp =>
                {
                    otlp.Endpoint = new Uri(receiver.BaseAddress, "/v1/logs");
                    otlp.Protocol = OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf;
                }));
        }

        var records = bodies.SelectMany(CompatibilityTests.Ecosystem.OtlpCapture.Decode).ToList();
        IEnumerable<CompatibilityTests.Ecosystem.OtlpLogRecord> Logged(string template) =>
            records.Where(r => r.Attribute("{OriginalFormat}")?.GetValue<string>() == template);

        var written = outcome.Event("Loading order {OrderId}");
        var exported = Logged("Loading order {OrderId}").Single();
        Assert.That((exported.TraceId, exported.SpanId), Is.EqualTo((LogFileEvents.Prop(written, "@tr"), LogFileEvents.Prop(written, "@sp"))));
        Assert.That(exported.Attribute("OrderId")?.GetValue<long>(), Is.EqualTo(7));
        Assert.That(exported.HasAttribute("CorrelationId"), Is.False);
        Assert.That(Logged("Signing in to the warehouse with {Password}").Single().Attribute("Password")?.GetValue<string>(), Is.EqualTo("hunter2"));
        // Logged while the host stopped, sent when it was disposed.
        Assert.That(Logged("Draining the outbox").Count(), Is.EqualTo(1));
        Assert.That(Logged("Starting the outbox").Count(), Is.EqualTo(1));
        Assert.That(outcome.SelfLog, Is.Empty);
    }

    [TestCase(null, TestName = "{m}(no Logging section)")]
    [TestCase("Warning", TestName = "{m}(Logging:LogLevel:Microsoft.AspNetCore Warning)")]
    public async Task OpenTelemetryGetsAspNetCoresInformationEventsUnlessTheLoggingSectionFiltersThem(string? level)
    {
        var outcome = await RunAsync(Registration.LoggingAfter, GetOrderAsync, configure: builder =>
        {
            if (level is not null)
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = level });
        });

        // AddObservability()'s Warning for Microsoft.AspNetCore is a Serilog override: Microsoft.Extensions.Logging's
        // filters, which OpenTelemetry's provider follows, are the "Logging" section's.
        static bool AspNetCore(string? category) => category?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true;
        Assert.That(outcome.Events.Where(e => AspNetCore(LogFileEvents.Prop(e, "SourceContext"))), Is.Empty);
        var exported = outcome.Records.Where(r => AspNetCore(r.CategoryName) && r.LogLevel < LogLevel.Warning).Select(r => r.FormattedMessage);
        if (level is null) Assert.That(exported, Has.Some.StartsWith("Request starting HTTP/1.1 GET"));
        else Assert.That(exported, Is.Empty);
        Assert.That(outcome.Records.Select(OriginalFormat), Has.One.EqualTo("Loading order {OrderId}"));
    }
}
