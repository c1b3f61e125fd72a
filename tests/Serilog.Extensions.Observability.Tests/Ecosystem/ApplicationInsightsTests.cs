using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.ApplicationInsights.Channel;
using Microsoft.ApplicationInsights.DataContracts;
using Microsoft.ApplicationInsights.Extensibility;
using Serilog.Context;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;
using AiJson = Microsoft.ApplicationInsights.Extensibility.Implementation.JsonSerializer;

namespace Serilog.Extensions.Observability.Tests.Ecosystem;

/// <summary>
/// Serilog.Sinks.ApplicationInsights 4.0 (Microsoft.ApplicationInsights 2.22) beside our packages, tracking into a
/// channel that keeps each telemetry item (nothing is sent): the operation ids Application Insights correlates by, our
/// ids and masked values in the custom dimensions as the CLEF file holds them, the Timing package's summary, and
/// nothing lost when the logger is disposed.
/// </summary>
[NonParallelizable] // the span listener is process-wide
public class ApplicationInsightsTests
{
    static readonly ActivitySource Application = new("Ecosystem.ApplicationInsights");

    /// <summary>Keeps what the telemetry client sends, and counts flushes.</summary>
    sealed class RecordingChannel : ITelemetryChannel
    {
        readonly List<ITelemetry> _items = [];

        public IReadOnlyList<ITelemetry> Items { get { lock (_items) return _items.ToArray(); } }

        public int Flushes { get; private set; }

        public bool? DeveloperMode { get; set; }

        public string? EndpointAddress { get; set; }

        public void Send(ITelemetry item) { lock (_items) _items.Add(item); }

        public void Flush() => Flushes++;

        public void Dispose() { }
    }

    /// <summary>
    /// A configuration with the operation correlation initializer, which <c>TelemetryConfiguration.CreateDefault()</c>
    /// and ASP.NET Core's <c>AddApplicationInsightsTelemetry()</c> add: it sets each item's operation from
    /// <see cref="Activity.Current"/> when the item is tracked.
    /// </summary>
    static TelemetryConfiguration Configuration(RecordingChannel channel)
    {
        var configuration = new TelemetryConfiguration
        {
            TelemetryChannel = channel,
            ConnectionString = "InstrumentationKey=00000000-0000-0000-0000-000000000001",
        };
        configuration.TelemetryInitializers.Add(new OperationCorrelationTelemetryInitializer());
        return configuration;
    }

    static ActivityListener Listen()
    {
        var listener = new ActivityListener
        {
            // By name: the static source may be created first while this listener is being added, and then be missed.
            ShouldListenTo = source => source.Name is "Ecosystem.ApplicationInsights" or "Serilog.Extensions.Observability.Timing",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    [Test]
    public void EachItemsOperationIsTheSpanItWasLoggedInAndOurIdsAreCustomDimensions()
    {
        using var listener = Listen();
        var channel = new RecordingChannel();
        using var configuration = Configuration(channel);
        string traceId, spanId, parentSpanId;
        using (var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.ApplicationInsights(configuration, TelemetryConverter.Traces)))
            .CreateLogger())
        using (var request = Application.StartActivity("request")!)
        using (var operation = Application.StartActivity("operation")!)
        using (CorrelationContext.Begin("corr-ai-1"))
        using (UserContext.Begin("user-7", tenantId: "acme"))
        {
            (traceId, spanId, parentSpanId) = (operation.TraceId.ToHexString(), operation.SpanId.ToHexString(), request.SpanId.ToHexString());
            logger.Information("Placed {OrderId}", 7);
            logger.Error(new InvalidOperationException("Payment declined"), "Payment failed for {OrderId}", 7);
        }

        var items = channel.Items;
        Assert.That(items.Select(item => item.GetType()), Is.EqualTo(new[] { typeof(TraceTelemetry), typeof(ExceptionTelemetry) }));
        Assert.Multiple(() =>
        {
            foreach (var item in items)
            {
                // As Application Insights' own logging does: the trace is the operation, the span logged in its parent.
                Assert.That((item.Context.Operation.Id, item.Context.Operation.ParentId), Is.EqualTo((traceId, spanId)), item.GetType().Name);
                var dimensions = ((ISupportProperties)item).Properties;
                Assert.That(dimensions.Where(d => d.Key is not ("MessageTemplate" or "OrderId" or "ThreadId")).OrderBy(d => d.Key, StringComparer.Ordinal),
                    Is.EqualTo(new Dictionary<string, string>
                    {
                        ["CorrelationId"] = "corr-ai-1", ["ParentSpanId"] = parentSpanId, ["SpanId"] = spanId,
                        ["TenantId"] = "acme", ["TraceId"] = traceId, ["UserId"] = "user-7",
                    }), item.GetType().Name);
                Assert.That(dimensions["OrderId"], Is.EqualTo("7"));
            }
        });
    }

    /// <summary>
    /// Inside <c>WithObservability(o =&gt; o.WriteTo(...))</c> the custom dimensions hold what the CLEF file holds, masked
    /// alike, and so do the message and the exception. A sink beside it gets the properties masked by the enricher, but
    /// the template's text and the exception as logged (the package README says so).
    /// </summary>
    [Test]
    public void InsideWithObservabilityTheItemsAreMaskedAsTheClefFileIsAndBesideItOnlyTheirProperties()
    {
        using var folder = TempFolder.ForCaller();
        var file = Path.Combine(folder.Path, "app-.json");
        var (inside, beside) = (new RecordingChannel(), new RecordingChannel());
        using var insideConfiguration = Configuration(inside);
        using var besideConfiguration = Configuration(beside);
        var selfLog = new List<string>();
        using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);
        using (var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(file)
                .WriteTo(w => w.ApplicationInsights(insideConfiguration, TelemetryConverter.Traces)))
            .WriteTo.ApplicationInsights(besideConfiguration, TelemetryConverter.Traces)
            .CreateLogger())
        using (CorrelationContext.Begin("corr-ai-2"))
        using (LogContext.PushProperty("session_token", "sess-abc123"))
        {
            logger.Information("Login {@Login} with {Headers}", new { User = "ann", Password = "hunter2", AccessToken = "tok-abc123" },
                new Dictionary<string, string> { ["api_key"] = "key-abc123", ["region"] = "eu" });
            logger.Information("Connecting with password={Pw} as {Password}", "pw-abc123", "hunter2");
            logger.Information("Connecting to Server=db;Password=pw-abc123;");
            logger.Error(new InvalidOperationException("Login failed: password=hunter2"), "Login failed for {User}", "ann");
        }

        var clef = Directory.GetFiles(folder.Path).SelectMany(File.ReadAllLines).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var (masked, asLogged) = (inside.Items, beside.Items);
        Assert.That((masked.Count, asLogged.Count, clef.Count), Is.EqualTo((4, 4, 4)));
        Assert.Multiple(() =>
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.That(Dimensions(masked[i]), Is.EqualTo(Properties(clef[i])), $"event {i}: custom dimensions");
                Assert.That(Dimensions(asLogged[i]), Is.EqualTo(Properties(clef[i])), $"event {i}: custom dimensions beside");
                Assert.That(((ISupportProperties)masked[i]).Properties["MessageTemplate"], Is.EqualTo(clef[i].GetProperty("@mt").GetString()), $"event {i}");
            }
            Assert.That(masked.OfType<TraceTelemetry>().Select(t => t.Message), Is.EqualTo(new[]
            {
                """Login {"User":"ann","Password":"[REDACTED]","AccessToken":"[REDACTED]"} with {"api_key":"[REDACTED]","region":"eu"}""",
                "Connecting with password=[REDACTED] as [REDACTED]",
                "Connecting to Server=db;Password=[REDACTED];",
            }));
            Assert.That(((ExceptionTelemetry)masked[3]).ExceptionDetailsInfoList.Single().Message, Is.EqualTo("Login failed: password=[REDACTED]"));
            Assert.That(Sent(masked), Does.Not.Contain("abc123").And.Not.Contain("hunter2"), "what the channel would send");
            Assert.That(selfLog, Is.Empty);

            // Beside: what the enricher cannot reach, the template's text and the exception.
            Assert.That(asLogged.SelectMany((item, i) => Texts(item).Where(t => t.Value.Contains("abc123") || t.Value.Contains("hunter2")).Select(t => $"{i} {t.Key}")),
                Is.EqualTo(new[] { "2 Message", "2 MessageTemplate", "3 Exception" }));
        });
    }

    /// <summary>
    /// The sink names an exception by its run-time type and sends the stack frames the runtime captured: one whose text
    /// the redaction masked arrives as the Redaction package's stand-in, with no frames (its README's Limits).
    /// </summary>
    [Test]
    public void AMaskedExceptionArrivesAsTheStandInWithoutStackFrames()
    {
        var (inside, beside) = (new RecordingChannel(), new RecordingChannel());
        using var insideConfiguration = Configuration(inside);
        using var besideConfiguration = Configuration(beside);
        using (var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.ApplicationInsights(insideConfiguration, TelemetryConverter.Traces)))
            .WriteTo.ApplicationInsights(besideConfiguration, TelemetryConverter.Traces)
            .CreateLogger())
        {
            foreach (var message in new[] { "Login failed: password=hunter2", "Login failed" })
            {
                try { throw new InvalidOperationException(message); }
                catch (InvalidOperationException ex) { logger.Error(ex, "Login failed for {User}", "ann"); }
            }
        }

        var exceptions = inside.Items.Concat(beside.Items).Select(item => JsonDocument.Parse(Sent([item])).RootElement
            .GetProperty("data").GetProperty("baseData").GetProperty("exceptions").EnumerateArray().Single()).ToList();
        Assert.That(exceptions.Select(e => (e.GetProperty("typeName").GetString(), e.GetProperty("message").GetString(), e.TryGetProperty("parsedStack", out _))),
            Is.EqualTo(new[]
            {
                ("Serilog.Extensions.Observability.Redaction.Events.RedactedException", "Login failed: password=[REDACTED]", false),
                ("System.InvalidOperationException", "Login failed", true), // nothing to mask: passed on as thrown
                ("System.InvalidOperationException", "Login failed: password=hunter2", true), // beside
                ("System.InvalidOperationException", "Login failed", true),
            }));
    }

    /// <summary>The sink writes a structure as one custom dimension of JSON text: the summary's <c>Stages</c>.</summary>
    [Test]
    public void TheTimingSummarysStagesArriveAsOneDimensionOfJsonText()
    {
        using var listener = Listen();
        var channel = new RecordingChannel();
        using var configuration = Configuration(channel);
        Activity pipelineSpan;
        using (var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.ApplicationInsights(configuration, TelemetryConverter.Traces)))
            .CreateLogger())
        using (var pipeline = PipelineTimer.Begin("ingest", logger))
        {
            pipelineSpan = Activity.Current!;
            using (pipeline.Stage("parse")) { }
            using (pipeline.Stage("store")) { }
            pipeline.Complete();
        }

        var summary = (TraceTelemetry)channel.Items.Single();
        var stages = JsonDocument.Parse(summary.Properties["Stages"]).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(summary.Properties["Stages"], Does.Match("""^\{"parse":[0-9.E+-]+,"store":[0-9.E+-]+\}$"""));
            Assert.That(stages.EnumerateObject().Select(s => (s.Name, s.Value.ValueKind)),
                Is.EqualTo(new[] { ("parse", JsonValueKind.Number), ("store", JsonValueKind.Number) }));
            Assert.That((summary.Properties["Pipeline"], summary.Properties["Outcome"]), Is.EqualTo(("ingest", "completed")));
            Assert.That(double.TryParse(summary.Properties["ElapsedMs"], System.Globalization.CultureInfo.InvariantCulture, out _), Is.True);
            Assert.That(summary.Properties["SlowestStage"], Is.AnyOf("parse", "store"));
            Assert.That(summary.Context.Operation.Id, Is.EqualTo(pipelineSpan.TraceId.ToHexString()));
        });
    }

    /// <summary>
    /// The sink tracks each event as it is emitted, and disposing the logger flushes the channel once (on Serilog 3.1
    /// our <c>WriteTo.Redacted</c> disposes the sink, on 4.1 and later Serilog does), which sends what a buffering
    /// channel holds.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public async Task EveryEventAcceptedBeforeDisposeIsTrackedAndTheChannelFlushedOnce(bool disposeAsync)
    {
        var channel = new RecordingChannel();
        using var configuration = Configuration(channel);
        var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.ApplicationInsights(configuration, TelemetryConverter.Traces)))
            .CreateLogger();
        for (var i = 0; i < 500; i++) logger.Information("Event {Number}", i);
        Assert.That(channel.Flushes, Is.Zero);

        if (disposeAsync) await logger.DisposeAsync();
        else logger.Dispose();

        Assert.That(channel.Items.Select(item => ((ISupportProperties)item).Properties["Number"]), Is.EqualTo(Enumerable.Range(0, 500).Select(i => i.ToString())));
        Assert.That(channel.Flushes, Is.EqualTo(1));
    }

    /// <summary>The JSON the channels of Microsoft.ApplicationInsights send for <paramref name="items"/>.</summary>
    static string Sent(IEnumerable<ITelemetry> items) => Encoding.UTF8.GetString(AiJson.Serialize(items, compress: false));

    /// <summary>The item's custom dimensions without <c>MessageTemplate</c>, which the sink adds.</summary>
    static Dictionary<string, string> Dimensions(ITelemetry item) =>
        ((ISupportProperties)item).Properties.Where(p => p.Key != "MessageTemplate").ToDictionary(p => p.Key, p => p.Value);

    /// <summary>The CLEF line's properties as the sink writes them: a string as its text, anything else as JSON.</summary>
    static Dictionary<string, string> Properties(JsonElement line) => line.EnumerateObject().Where(p => !p.Name.StartsWith('@'))
        .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());

    /// <summary>Each text of the item a reader sees: message, custom dimensions, and the exception's.</summary>
    static IEnumerable<KeyValuePair<string, string>> Texts(ITelemetry item)
    {
        if (item is TraceTelemetry trace) yield return new("Message", trace.Message);
        foreach (var dimension in ((ISupportProperties)item).Properties) yield return dimension;
        if (item is ExceptionTelemetry exception) yield return new("Exception", Sent([item]).Split("\"exceptions\":")[1].Split("\"properties\":")[0]);
    }
}
