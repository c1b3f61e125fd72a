using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Serilog.Context;
using Serilog.Events;
using Serilog.Extensions.Observability.CompatibilityTests.Serilog4TraceContext;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;
using Serilog.Sinks.OpenTelemetry;

namespace Serilog.Extensions.Observability.CompatibilityTests.Ecosystem;

/// <summary>
/// Serilog.Sinks.OpenTelemetry 4.2 beside our packages, exporting OTLP/HTTP protobuf through a handler that keeps what
/// it is sent (<see cref="OtlpCapture"/>): the trace context of each record, what redaction leaves in its attributes and
/// body, the Timing package's summary as structured attributes, and nothing lost when the logger is disposed.
/// </summary>
[NonParallelizable] // the span listener is process-wide
public class OpenTelemetrySinkTests
{
    static readonly ActivitySource Application = new("Ecosystem.OpenTelemetrySink");

    /// <summary>
    /// The record's <c>trace_id</c> and <c>span_id</c> are the current span's, taken by Serilog itself; <c>WithSpan()</c>'s
    /// <c>TraceId</c> and <c>SpanId</c> arrive again as string attributes, its <c>ParentSpanId</c> not at all (the sink
    /// keeps that name for SerilogTracing's spans), and <c>ServiceName</c> is an attribute, not the resource's
    /// <c>service.name</c>. The root README's recipe for OTLP leaves the span enricher out and names the service to the
    /// sink: the record keeps its ids, the CLEF file its <c>@tr</c>/<c>@sp</c>.
    /// </summary>
    [Test]
    public void TheRecordsFieldsCarryTheSpanAndOurPropertiesArriveAsAttributesBesideThem()
    {
        using var listener = Listen();
        using var folder = TempFolder.ForCaller();
        var (withSpan, withSpanFile) = (new OtlpCapture(), Path.Combine(folder.Path, "with-.json"));
        var (recipe, recipeFile) = (new OtlpCapture(), Path.Combine(folder.Path, "recipe-.json"));
        string traceId, spanId, parentSpanId;
        using (var logger = Logger(withSpan, o => o.Service("checkout-api").RollingJson(withSpanFile)))
        using (var recipeLogger = new LoggerConfiguration()
            .WithObservability(o => o.Without(ObservabilityEnrichers.Span)
                .Console(ObservabilityConsoleFormat.None)
                .RollingJson(recipeFile)
                .WriteTo(w => w.OpenTelemetry(otlp =>
                {
                    otlp.Endpoint = "http://localhost:4318/v1/logs";
                    otlp.Protocol = OtlpProtocol.HttpProtobuf;
                    otlp.ResourceAttributes["service.name"] = "checkout-api";
                    otlp.HttpMessageHandler = recipe;
                }, ignoreEnvironment: true)))
            .CreateLogger())
        using (var request = Application.StartActivity("request")!)
        using (var operation = Application.StartActivity("operation")!)
        {
            (traceId, spanId, parentSpanId) = (operation.TraceId.ToHexString(), operation.SpanId.ToHexString(), request.SpanId.ToHexString());
            logger.Information("Placed {OrderId}", 7);
            recipeLogger.Information("Placed {OrderId}", 7);
        }

        var with = withSpan.Records.Single();
        var without = recipe.Records.Single();
        var clef = Clef(recipeFile).Single();
        Assert.Multiple(() =>
        {
            Assert.That((with.TraceId, with.SpanId), Is.EqualTo((traceId, spanId)));
            Assert.That(Text(with.Attribute("TraceId")), Is.EqualTo(traceId), "WithSpan's property, again as an attribute");
            Assert.That(Text(with.Attribute("SpanId")), Is.EqualTo(spanId));
            Assert.That(with.HasAttribute("ParentSpanId"), Is.False, "the sink leaves the name ParentSpanId out of a log record");
            Assert.That(Text(Clef(withSpanFile).Single()["ParentSpanId"]), Is.EqualTo(parentSpanId), "while the file has it");
            Assert.That(Text(with.Attribute("ServiceName")), Is.EqualTo("checkout-api"));
            Assert.That(Text(with.Resource("service.name")), Does.StartWith("unknown_service"), "the sink's default");

            Assert.That((without.TraceId, without.SpanId), Is.EqualTo((traceId, spanId)));
            Assert.That(without.Attributes.Select(a => a.Key), Is.EqualTo(new[] { "OrderId", "CorrelationId", "ThreadId", "message_template.text" }));
            Assert.That(Text(without.Attribute("CorrelationId")), Is.EqualTo(traceId), "WithCorrelation's fallback needs no span enricher");
            Assert.That(Text(without.Resource("service.name")), Is.EqualTo("checkout-api"));
            Assert.That((Text(clef["@tr"]), Text(clef["@sp"])), Is.EqualTo((traceId, spanId)));
        });
    }

    /// <summary>
    /// Inside <c>WithObservability(o =&gt; o.WriteTo(...))</c> the OTLP attributes hold what our CLEF file holds, masked
    /// alike, and so do the body, the template text and the exception's attributes. A sink added beside it gets the
    /// properties masked by the enricher but the template's text and the exception as logged (the package README says so).
    /// </summary>
    [Test]
    public void InsideWithObservabilityTheRecordsAreMaskedAsTheClefFileIsAndBesideItOnlyTheirProperties()
    {
        using var folder = TempFolder.ForCaller();
        var file = Path.Combine(folder.Path, "app-.json");
        var (inside, beside) = (new OtlpCapture(), new OtlpCapture());
        using (var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(file)
                .WriteTo(w => w.OpenTelemetry(sink => Export(sink, inside), ignoreEnvironment: true)))
            .WriteTo.OpenTelemetry(sink => Export(sink, beside), ignoreEnvironment: true)
            .CreateLogger())
        {
            logger.Information("Signing in {@Login} with {Password}", new { User = "ann", Password = "hunter2" }, "hunter2");
            logger.Information("Calling with {Headers}", new Dictionary<string, string> { ["Authorization"] = "Bearer hunter2", ["Accept"] = "json" });
            using (LogContext.PushProperty("ApiKey", "hunter2")) logger.Information("Connecting to Server=db;Password=hunter2");
            logger.Error(new InvalidOperationException("Login failed: password=hunter2"), "Login failed for {User}", "ann");
        }

        var clef = Clef(file);
        var (masked, asLogged) = (inside.Records, beside.Records);
        Assert.That((masked.Count, asLogged.Count, clef.Count), Is.EqualTo((4, 4, 4)));
        Assert.Multiple(() =>
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.That(Properties(masked[i]).ToJsonString(), Is.EqualTo(Properties(clef[i]).ToJsonString()), $"event {i}: attributes");
                Assert.That(Properties(asLogged[i]).ToJsonString(), Is.EqualTo(Properties(clef[i]).ToJsonString()), $"event {i}: attributes beside");
                Assert.That(Text(masked[i].Attribute("message_template.text")), Is.EqualTo(Text(clef[i]["@mt"])), $"event {i}: template");
            }
            Assert.That(masked.Select(r => Text(r.Body)), Is.EqualTo(new[]
            {
                """Signing in {"User":"ann","Password":"[REDACTED]"} with [REDACTED]""",
                """Calling with {"Authorization":"[REDACTED]","Accept":"json"}""",
                "Connecting to Server=db;Password=[REDACTED]",
                "Login failed for ann",
            }));
            Assert.That(Text(masked[3].Attribute("exception.message")), Is.EqualTo("Login failed: password=[REDACTED]"));
            Assert.That(Text(masked[3].Attribute("exception.stacktrace")), Is.EqualTo(Text(clef[3]["@x"])));
            // The sink names the exception's run-time type: the Redaction package's stand-in for one it masked.
            Assert.That(Text(masked[3].Attribute("exception.type")), Is.EqualTo("Serilog.Extensions.Observability.Redaction.Events.RedactedException"));
            Assert.That(inside.Bodies.Select(Encoding.UTF8.GetString), Has.None.Contains("hunter2"));

            // Beside: what the enricher cannot reach (the template's text, and the exception, in the body and attributes).
            Assert.That(asLogged.SelectMany((r, i) => r.Attributes.Prepend(new("body", r.Body))
                    .Where(a => a.Value?.ToJsonString().Contains("hunter2") == true).Select(a => $"{i} {a.Key}")),
                Is.EqualTo(new[] { "2 body", "2 message_template.text", "3 exception.message", "3 exception.stacktrace" }));
        });
    }

    /// <summary>
    /// The Timing package's stage and summary events: their properties arrive as typed attributes (<c>Stages</c> a map of
    /// stage to milliseconds, not a string), each record under its own span.
    /// </summary>
    [Test]
    public void TimingEventsArriveWithStructuredAttributesUnderTheirOwnSpans()
    {
        using var listener = Listen();
        var capture = new OtlpCapture();
        Activity pipelineSpan, parseSpan;
        using (var logger = Logger(capture, minimumLevel: LogEventLevel.Debug)) // the stage events' level
        using (Application.StartActivity("request"))
        using (var pipeline = PipelineTimer.Begin("ingest", logger))
        {
            pipelineSpan = Activity.Current!;
            using (pipeline.Stage("parse")) parseSpan = Activity.Current!;
            using (pipeline.Stage("embed")) { }
            pipeline.Complete();
        }

        var records = capture.Records;
        var stage = records.Single(r => Text(r.Attribute("Stage")) == "parse");
        var summary = records.Single(r => r.HasAttribute("Stages"));
        Assert.Multiple(() =>
        {
            Assert.That(records, Has.Count.EqualTo(3));
            Assert.That((stage.TraceId, stage.SpanId), Is.EqualTo((parseSpan.TraceId.ToHexString(), parseSpan.SpanId.ToHexString())));
            Assert.That((summary.TraceId, summary.SpanId), Is.EqualTo((pipelineSpan.TraceId.ToHexString(), pipelineSpan.SpanId.ToHexString())));
            Assert.That(stage.Attribute("ElapsedMs")!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number));
            Assert.That(Text(stage.Attribute("Outcome")), Is.EqualTo("completed"));
            var stages = summary.Attribute("Stages");
            Assert.That(stages, Is.InstanceOf<JsonObject>(), "a kvlist, not a string");
            Assert.That(stages!.AsObject().Select(s => (s.Key, s.Value!.GetValueKind())), Is.EqualTo(new[]
            {
                ("parse", System.Text.Json.JsonValueKind.Number), ("embed", System.Text.Json.JsonValueKind.Number),
            }));
            Assert.That(summary.Attribute("ElapsedMs")!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number));
            Assert.That((Text(summary.Attribute("Pipeline")), Text(summary.Attribute("Outcome"))), Is.EqualTo(("ingest", "completed")));
            Assert.That(Text(summary.Attribute("PipelineId")), Is.EqualTo(pipelineSpan.SpanId.ToHexString()));
        });
    }

    /// <summary>Every event accepted before the logger is disposed has been sent when dispose returns.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public async Task EventsAcceptedBeforeDisposeAreSentByTheTimeItReturns(bool disposeAsync)
    {
        var capture = new OtlpCapture();
        const int count = 500;
        var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.OpenTelemetry(sink =>
            {
                Export(sink, capture);
                // No batch is sent on the timer: a partial one left when the logger is disposed goes only if dispose sends it.
                sink.BatchingOptions.BufferingTimeLimit = TimeSpan.FromHours(1);
                sink.BatchingOptions.BatchSizeLimit = 64;
            }, ignoreEnvironment: true)))
            .CreateLogger();
        for (var i = 0; i < count; i++) logger.Information("Event {Number}", i);

        if (disposeAsync) await logger.DisposeAsync();
        else logger.Dispose();

        var sent = capture.Records.Select(r => r.Attribute("Number")!.GetValue<long>()).ToList();
        Assert.That(sent, Has.Count.EqualTo(count));
        Assert.That(sent, Is.EqualTo(Enumerable.Range(0, count).Select(i => (long)i).ToList()));
    }

    /// <summary>The record's attributes without those the sink adds, as an object.</summary>
    static JsonObject Properties(OtlpLogRecord record) =>
        new(record.Attributes.Where(a => a.Key != "message_template.text" && !a.Key.StartsWith("exception.", StringComparison.Ordinal))
            .Select(a => new KeyValuePair<string, JsonNode?>(a.Key, a.Value?.DeepClone())));

    /// <summary>The CLEF line's properties, without <c>@t</c>, <c>@mt</c> and the other reified members.</summary>
    static JsonObject Properties(JsonObject line) =>
        new(line.Where(p => !p.Key.StartsWith('@')).Select(p => new KeyValuePair<string, JsonNode?>(p.Key, p.Value?.DeepClone())));

    static string? Text(JsonNode? node) => node?.GetValue<string>();

    static IReadOnlyList<JsonObject> Clef(string pathPattern) =>
        Directory.GetFiles(Path.GetDirectoryName(pathPattern)!, Path.GetFileNameWithoutExtension(pathPattern) + "*")
            .SelectMany(File.ReadAllLines).Select(line => JsonNode.Parse(line)!.AsObject()).ToList();

    static ActivityListener Listen() => TraceContext.Listen(Application.Name, "Serilog.Extensions.Observability.Timing");

    /// <summary>A logger with <c>WithObservability()</c> and the OpenTelemetry sink inside it, sending to <paramref name="capture"/>.</summary>
    static Core.Logger Logger(OtlpCapture capture, Action<ObservabilityOptions>? configure = null, LogEventLevel minimumLevel = LogEventLevel.Information) => new LoggerConfiguration()
        .MinimumLevel.Is(minimumLevel)
        .WithObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.OpenTelemetry(sink => Export(sink, capture), ignoreEnvironment: true));
            configure?.Invoke(o);
        })
        .CreateLogger();

    static void Export(BatchedOpenTelemetrySinkOptions sink, OtlpCapture capture)
    {
        sink.Endpoint = "http://localhost:4318/v1/logs"; // never dialled: the handler answers
        sink.Protocol = OtlpProtocol.HttpProtobuf;
        sink.HttpMessageHandler = capture;
    }
}
