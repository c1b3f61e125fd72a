using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Configuration;
using Serilog.Context;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.CompatibilityTests.Ecosystem;

/// <summary>
/// Serilog.Sinks.Seq 9.1 beside our packages, posting to a Seq stand-in on 127.0.0.1 that keeps every CLEF event it is
/// sent: our ids and masked secrets reach Seq as they reach the RollingJson file, its durable buffer files hold only
/// masked events, and disposing the logger (or stopping the host) posts every event accepted before it. Not built in a
/// run on a Serilog below 4.3.1, which Serilog.Sinks.Seq 9.1 asks for (the project file).
/// </summary>
[NonParallelizable] // SelfLog is process-wide, and one test sets the static Log.Logger.
public class SeqTests
{
    static readonly string[] Secrets = ["hunter2", "tok-abc123", "key-abc123", "sess-abc123", "pw-abc123"];

    public enum Route
    {
        /// <summary><c>WithObservability(o => o.WriteTo(w => w.Seq(...)))</c>.</summary>
        WithObservability,

        /// <summary><c>WithObservability(...).WriteTo.Seq(...)</c>: beside it, behind the enricher's masking only.</summary>
        Beside,

        /// <summary><c>WriteTo.Redacted(w => w.Seq(...))</c> with our enrichers and destructuring policy.</summary>
        Redacted,
    }

    [TearDown]
    public void CloseLogger() => Log.CloseAndFlush();

    [TestCase(Route.WithObservability)]
    [TestCase(Route.Beside)]
    public async Task EachPostedEventCarriesOurIdsAndItsPropertiesMaskedAsInTheRollingJsonFile(Route route)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        await using var seq = await SeqEndpoint.StartAsync();
        var selfLog = new List<string>();
        using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);
        using var source = new ActivitySource(nameof(SeqTests));
        using var listener = new ActivityListener
        {
            ShouldListenTo = candidate => candidate == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);

        var period = TimeSpan.FromMilliseconds(20);
        var configuration = new LoggerConfiguration().WithObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None).RollingJson(path);
            if (route == Route.WithObservability) o.WriteTo(w => w.Seq(seq.Url, period: period));
        });
        if (route == Route.Beside) configuration.WriteTo.Seq(seq.Url, period: period);
        string traceId, spanId;
        using (var logger = configuration.CreateLogger())
        {
            using (var activity = source.StartActivity("login")!)
            using (CorrelationContext.Begin("corr-seq-1"))
            using (UserContext.Begin("user-7", tenantId: "acme"))
            using (LogContext.PushProperty("session_token", "sess-abc123"))
            {
                (traceId, spanId) = (activity.TraceId.ToHexString(), activity.SpanId.ToHexString());
                logger.Information("Login {@Login} with {Headers}", new { User = "ann", Password = "hunter2", AccessToken = "tok-abc123" },
                    new Dictionary<string, string> { ["api_key"] = "key-abc123", ["region"] = "eu" });
                logger.Information("Connecting with password={Pw} as {Password}", "pw-abc123", "hunter2");
                logger.Error(new InvalidOperationException("Login failed: password=hunter2"), "Login failed for {User}", "ann");
            }
            // The events reach Seq while the logger lives: a wait bounded by a timeout, not the flush of Dispose.
            await seq.WaitForEventsAsync(3);
        }

        var posted = seq.Lines;
        var lines = Directory.GetFiles(folder.Path).SelectMany(File.ReadAllLines).ToList();
        Assert.That(posted, Has.Count.EqualTo(3));
        Assert.That(lines, Has.Count.EqualTo(3));
        Assert.Multiple(() =>
        {
            // Serilog.Sinks.Seq writes CLEF as our file does: the same event is the same line, masked the same way.
            Assert.That(posted.Take(2), Is.EqualTo(lines.Take(2)));
            Assert.That(Properties(posted[2], "@x"), Is.EqualTo(Properties(lines[2], "@x")));
            var events = posted.Select(line => JsonDocument.Parse(line).RootElement).ToList();
            Assert.That(events.Select(e => Text(e, "CorrelationId")).Distinct(), Is.EqualTo(new[] { "corr-seq-1" }));
            Assert.That(events.Select(e => (Text(e, "TraceId"), Text(e, "SpanId"), Text(e, "@tr"), Text(e, "@sp"))).Distinct(),
                Is.EqualTo(new[] { (traceId, spanId, traceId, spanId) }));
            Assert.That(events.Select(e => (Text(e, "UserId"), Text(e, "TenantId"))).Distinct(), Is.EqualTo(new[] { ("user-7", "acme") }));
            Assert.That(events.Select(e => Text(e, "session_token")).Distinct(), Is.EqualTo(new[] { "[REDACTED]" }), "LogContext");
            Assert.That(events[0].GetProperty("Login").GetRawText(),
                Is.EqualTo("""{"User":"ann","Password":"[REDACTED]","AccessToken":"[REDACTED]"}"""));
            Assert.That(events[0].GetProperty("Headers").GetRawText(), Is.EqualTo("""{"api_key":"[REDACTED]","region":"eu"}"""));
            Assert.That((Text(events[1], "Pw"), Text(events[1], "Password")), Is.EqualTo(("[REDACTED]", "[REDACTED]")));
            // An enricher cannot replace the exception: a sink beside WithObservability() gets it as logged
            // (Serilog.Extensions.Observability's README), one inside it the file's masked one.
            Assert.That(Text(JsonDocument.Parse(lines[2]).RootElement, "@x"),
                Is.EqualTo("System.InvalidOperationException: Login failed: password=[REDACTED]"));
            Assert.That(Text(events[2], "@x"), Is.EqualTo(route == Route.Beside
                ? "System.InvalidOperationException: Login failed: password=hunter2"
                : "System.InvalidOperationException: Login failed: password=[REDACTED]"));
            Assert.That(Leaked(seq.Bodies), Is.EqualTo(route == Route.Beside ? new[] { "hunter2" } : Array.Empty<string>()));
            Assert.That(seq.Paths.Distinct(), Is.EqualTo(new[] { "/api/events/raw" }));
            Assert.That(selfLog, Is.Empty);
        });
    }

    // Durable mode (bufferBaseFilename) writes each event to its buffer files, and sends it from there.
    [TestCase(Route.WithObservability)]
    [TestCase(Route.Redacted)]
    [TestCase(Route.Beside)]
    public async Task TheDurableBufferFilesHoldTheEventsMaskedAndThatIsWhatSeqGets(Route route)
    {
        using var folder = TempFolder.ForCaller();
        await using var seq = await SeqEndpoint.StartAsync();
        var selfLog = new List<string>();
        using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);

        void Seq(LoggerSinkConfiguration writeTo) =>
            writeTo.Seq(seq.Url, bufferBaseFilename: Path.Combine(folder.Path, "seq-buffer"), period: TimeSpan.FromMilliseconds(20));
        // The Redaction package's defaults have no detectors: a WriteTo.Redacted of your own turns on the one for
        // key=value text, which WithObservability() turns on by itself.
        var configuration = route switch
        {
            Route.WithObservability => new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(Seq)),
            Route.Beside => new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.None)),
            _ => new LoggerConfiguration().Destructure.WithRedaction().Enrich.FromLogContext().Enrich.WithCorrelation()
                .WriteTo.Redacted(Seq, redaction => redaction.DetectEmbeddedCredentials = true),
        };
        // Beside WithObservability(), as the root README says: the properties masked, the template and exception as logged.
        if (route == Route.Beside) Seq(configuration.WriteTo);
        using (var logger = configuration.CreateLogger())
        {
            using (CorrelationContext.Begin("corr-seq-2"))
            using (LogContext.PushProperty("session_token", "sess-abc123"))
            {
                logger.Information("Login {@Login} with {Headers}", new { User = "ann", Password = "hunter2", AccessToken = "tok-abc123" },
                    new Dictionary<string, string> { ["api_key"] = "key-abc123", ["region"] = "eu" });
                logger.Information("Connecting to Server=db;Password=pw-abc123;");
                logger.Error(new InvalidOperationException("Login failed: password=hunter2"), "Login failed for {User}", "ann");
            }
            await seq.WaitForEventsAsync(3);
        }

        var files = Directory.GetFiles(folder.Path);
        var buffered = files.Where(file => file.EndsWith(".clef", StringComparison.Ordinal)).SelectMany(File.ReadAllLines).ToList();
        var events = buffered.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(files.Select(Path.GetFileName), Has.Some.Match(@"^seq-buffer-\d{8}(_\d+)?\.clef$"), "the buffer file");
            Assert.That(seq.Lines, Is.EqualTo(buffered), "Seq gets the buffered lines");
            var leaked = route == Route.Beside ? new[] { "hunter2", "pw-abc123" } : Array.Empty<string>();
            Assert.That(Leaked(files.Select(File.ReadAllText)), Is.EqualTo(leaked), "buffer and bookmark files");
            Assert.That(Leaked(seq.Bodies), Is.EqualTo(leaked), "posts");
            Assert.That(events.Select(e => Text(e, "CorrelationId")), Is.EqualTo(new[] { "corr-seq-2", "corr-seq-2", "corr-seq-2" }));
            Assert.That(events[0].GetProperty("Login").GetRawText(),
                Is.EqualTo("""{"User":"ann","Password":"[REDACTED]","AccessToken":"[REDACTED]"}"""));
            Assert.That(Text(events[1], "@mt"), Is.EqualTo(route == Route.Beside
                ? "Connecting to Server=db;Password=pw-abc123;"
                : "Connecting to Server=db;Password=[REDACTED];"));
            Assert.That(Text(events[2], "@x"), Is.EqualTo(route == Route.Beside
                ? "System.InvalidOperationException: Login failed: password=hunter2"
                : "System.InvalidOperationException: Login failed: password=[REDACTED]"));
            Assert.That(selfLog, Is.Empty);
        });
    }

    // A batching period no test waits out: only the flush on close can post the events.
    [TestCase(false)]
    [TestCase(true)]
    public async Task EveryEventLoggedBeforeCloseAndFlushIsPostedWithThePipelineSummarysStagesStructured(bool closeAsync)
    {
        await using var seq = await SeqEndpoint.StartAsync();
        var selfLog = new List<string>();
        using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);
        Log.Logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Seq(seq.Url, period: TimeSpan.FromHours(1))))
            .CreateLogger();
        using (var pipeline = PipelineTimer.Begin("ingest"))
        {
            using (pipeline.Stage("parse"))
                for (var i = 0; i < 100; i++) Log.Information("Parsed {N}", i);
            using (pipeline.Stage("store"))
                for (var i = 100; i < 200; i++) Log.Information("Stored {N}", i);
        }
        if (closeAsync) await Log.CloseAndFlushAsync();
        else Log.CloseAndFlush();

        var events = seq.Lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var summary = events.Where(e => e.TryGetProperty("Stages", out _)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events.Where(e => e.TryGetProperty("N", out _)).Select(e => e.GetProperty("N").GetInt32()), Is.EqualTo(Enumerable.Range(0, 200)));
            Assert.That(events.Take(200).Select(e => Text(e, "Stage")), Is.EqualTo(Enumerable.Repeat("parse", 100).Concat(Enumerable.Repeat("store", 100))));
            Assert.That(events, Has.Count.EqualTo(201), "the events and the pipeline's summary (stage completions are Debug)");
            Assert.That(summary, Has.Count.EqualTo(1));
            Assert.That(selfLog, Is.Empty);
        });
        var stages = summary[0].GetProperty("Stages");
        Assert.Multiple(() =>
        {
            Assert.That(Text(summary[0], "Pipeline"), Is.EqualTo("ingest"));
            Assert.That(Text(summary[0], "Outcome"), Is.EqualTo("completed"));
            Assert.That(summary[0].GetProperty("ElapsedMs").ValueKind, Is.EqualTo(JsonValueKind.Number));
            Assert.That(stages.ValueKind, Is.EqualTo(JsonValueKind.Object), "Stages is a structure, not text");
            Assert.That(stages.EnumerateObject().Select(stage => (stage.Name, stage.Value.ValueKind)),
                Is.EqualTo(new[] { ("parse", JsonValueKind.Number), ("store", JsonValueKind.Number) }));
            Assert.That(Text(summary[0], "SlowestStage"), Is.AnyOf("parse", "store"));
        });
    }

    // How most services configure Seq: an entry of the "Serilog" section, which AddObservability() writes to behind its
    // redaction (the AspNetCore package's README), with no "Using" in a framework-dependent application. A batching
    // period no test waits out: stopping the host must post every event.
    [Test]
    public async Task ASeqEntryOfTheSectionGetsTheRedactedEventsAndAllOfThemWhenTheHostStops()
    {
        await using var seq = await SeqEndpoint.StartAsync();
        var selfLog = new List<string>();
        using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);
        var json = $$"""
        {
          "Serilog": {
            "MinimumLevel": { "Default": "Information" },
            "WriteTo": [ { "Name": "Seq", "Args": { "serverUrl": "{{seq.Url}}", "period": "01:00:00" } } ]
          }
        }
        """;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseTestServer();
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        builder.AddObservability();
        await using (var app = builder.Build())
        {
            app.UseCorrelation();
            app.UseSerilogRequestLogging();
            app.MapGet("/connect", () =>
            {
                Log.Information("Connecting to Server=db;Password=pw-abc123;");
                return Results.Ok();
            });
            app.MapGet("/boom", IResult () => throw new InvalidOperationException("Login failed: password=hunter2"));
            await app.StartAsync();
            using (var client = app.GetTestClient())
            {
                foreach (var target in new[] { "/connect", "/boom" })
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, target);
                    request.Headers.Add("X-Correlation-ID", "corr" + target.Replace('/', '-'));
                    using var response = await client.SendAsync(request);
                }
            }
            await app.StopAsync();
        }

        var events = seq.Lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events.Select(e => (Text(e, "CorrelationId"), Text(e, "RequestPath"))), Is.EqualTo(new[]
            {
                ("corr-connect", "/connect"), ("corr-connect", "/connect"), ("corr-boom", "/boom"),
            }), "the handler's event and both completion events");
            Assert.That(Text(events[0], "@mt"), Is.EqualTo("Connecting to Server=db;Password=[REDACTED];"));
            Assert.That(Text(events[2], "@x"), Does.StartWith("System.InvalidOperationException: Login failed: password=[REDACTED]"));
            Assert.That(Leaked(seq.Bodies), Is.Empty);
            Assert.That(selfLog, Is.Empty);
        });
    }

    static string[] Leaked(IEnumerable<string> texts) => Secrets.Where(secret => texts.Any(text => text.Contains(secret, StringComparison.Ordinal))).ToArray();

    static string? Text(JsonElement line, string name) => line.TryGetProperty(name, out var value) ? value.ToString() : null;

    static Dictionary<string, string> Properties(string line, params string[] except) => JsonDocument.Parse(line).RootElement.EnumerateObject()
        .Where(property => !except.Contains(property.Name)).ToDictionary(property => property.Name, property => property.Value.GetRawText());

    /// <summary>
    /// Stands in for Seq's ingestion API on 127.0.0.1 (a port of its own): keeps each CLEF event of every batch posted
    /// to it and answers as Seq does.
    /// </summary>
    sealed class SeqEndpoint : IAsyncDisposable
    {
        readonly WebApplication _app;
        readonly List<string> _events = [];
        readonly List<string> _bodies = [];
        readonly List<string> _paths = [];
        readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];

        SeqEndpoint(WebApplication app, string url) => (_app, Url) = (app, url);

        public string Url { get; }

        /// <summary>The events, one CLEF line each, in the order they arrived.</summary>
        public IReadOnlyList<string> Lines { get { lock (_events) return _events.ToArray(); } }

        public IReadOnlyList<string> Bodies { get { lock (_events) return _bodies.ToArray(); } }

        public IReadOnlyList<string> Paths { get { lock (_events) return _paths.ToArray(); } }

        public static async Task<SeqEndpoint> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            SeqEndpoint? endpoint = null;
            app.MapPost("/{**path}", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                endpoint!.Receive(context.Request.Path, await reader.ReadToEndAsync());
                context.Response.StatusCode = StatusCodes.Status201Created;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{}");
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return endpoint = new SeqEndpoint(app, address);
        }

        void Receive(string path, string body)
        {
            lock (_events)
            {
                _paths.Add(path);
                _bodies.Add(body);
                _events.AddRange(body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                foreach (var waiter in _waiters.Where(waiter => _events.Count >= waiter.Count)) waiter.Signal.TrySetResult();
            }
        }

        /// <summary>
        /// Completes once <paramref name="count"/> events have arrived; throws when they do not within 30 s (the first batch
        /// starts the sink's HTTP client and this server's request path cold, which a loaded machine takes a while for).
        /// </summary>
        public Task WaitForEventsAsync(int count)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_events)
            {
                if (_events.Count >= count) return Task.CompletedTask;
                _waiters.Add((count, signal));
            }
            return signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
