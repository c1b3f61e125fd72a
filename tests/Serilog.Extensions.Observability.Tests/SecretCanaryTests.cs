using System.Diagnostics;
using System.Diagnostics.Metrics;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Redaction;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>
/// One secret, planted on every route into an event that the redaction rules catch, must not reach any output of a
/// logger built by <c>WithObservability()</c> with its defaults: the text console, the RollingJson file (read back from disk), a sink and
/// a sub-logger of <c>ObservabilityOptions.WriteTo(...)</c> with this package's formatters, the Timing spans, metric
/// tags, and SelfLog.
/// </summary>
[NonParallelizable] // SelfLog, ActivitySource and Meter listeners are process-wide.
public class SecretCanaryTests
{
    const string Canary = "Canary-7f3a9c";

    sealed record Login(string User, string Password);

    sealed record Contact(string Name, [property: Sensitive] string Phone, [property: NotLogged] string Notes);

    sealed class Customer
    {
        public string Name { get; set; } = "ann";
        [Sensitive] public string Phone { get; set; } = Canary;
        [NotLogged] public string Notes { get; set; } = Canary;
    }

    static Exception Thrown(Exception exception)
    {
        try { throw exception; }
        catch (Exception caught) { return caught; }
    }

    public static IEnumerable<TestCaseData> Routes()
    {
        // written: what the file holds once the route has reached it, masked.
        TestCaseData Case(string name, string written, Action<ILogger> log) => new TestCaseData(written, log).SetArgDisplayNames(name);

        yield return Case("scalar property named Password", "\"Password\":\"[REDACTED]\"", log => log.Information("Login {Password}", Canary));
        yield return Case("anonymous type with @", "\"Password\":\"[REDACTED]\"", log => log.Information("Login {@Login}", new { User = "ann", Password = Canary }));
        yield return Case("record with @", "\"Password\":\"[REDACTED]\"", log => log.Information("Login {@Login}", new Login("ann", Canary)));
        yield return Case("record without @", "Password = [REDACTED]", log => log.Information("Login {Login}", new Login("ann", Canary)));
        yield return Case("record with $", "Password = [REDACTED]", log => log.Information("Login {$Login}", new Login("ann", Canary)));
        yield return Case("anonymous type with $", "Password = [REDACTED]", log => log.Information("Login {$Login}", new { User = "ann", Password = Canary }));
        yield return Case("dictionary", "\"Password\":\"[REDACTED]\"", log => log.Information("Headers {Headers}", new Dictionary<string, object> { ["Password"] = Canary }));
        yield return Case("key-value pairs", "[REDACTED]", log => log.Information("Pairs {Pairs}", new List<KeyValuePair<string, string>> { new("access_token", Canary) }));
        yield return Case("[Sensitive] and [NotLogged]", "\"Phone\":\"[REDACTED]\"", log => log.Information("Customer {@Customer}", new Customer()));
        yield return Case("[Sensitive] record with @", "\"Phone\":\"[REDACTED]\"", log => log.Information("Contact {@Contact}", new Contact("ann", Canary, Canary)));
        yield return Case("[Sensitive] record without @", "Contact {", log => log.Information("Contact {Contact}", new Contact("ann", Canary, Canary)));
        yield return Case("[Sensitive] record with $", "Contact {", log => log.Information("Contact {$Contact}", new Contact("ann", Canary, Canary)));
        yield return Case("connection string argument", "Password=[REDACTED]", log => log.Information("Using {Db}", "Server=db;Password=" + Canary + ";"));
        yield return Case("URL with an access_token", "access_token=[REDACTED]", log => log.Information("Calling {Url}", "https://api.example/v1?access_token=" + Canary));
        yield return Case("template text", "password=[REDACTED]", log => log.Information("Connecting with password=" + Canary));
        yield return Case("positional hole after password=", "\"0\":\"[REDACTED]\"", log => log.Information("Connecting with password={0}", Canary));
        yield return Case("configuration key and value in two holes", "\"Value\":\"[REDACTED]\"", log => log.Debug("{Key}={Value}", "Jwt:Secret", Canary));
        yield return Case("header name and value in two holes", "\"1\":\"[REDACTED]\"", log => log.Information("Header {0}: {1}", "Authorization", "Basic " + Canary));
        yield return Case("ForContext", "\"Password\":\"[REDACTED]\"", log => log.ForContext("Password", Canary).Information("Hello"));
        yield return Case("LogContext.PushProperty", "\"Password\":\"[REDACTED]\"", log =>
        {
            using (LogContext.PushProperty("Password", Canary)) log.Information("Hello");
        });
        yield return Case("exception message", "password=[REDACTED]", log => log.Error(Thrown(new InvalidOperationException("Login failed: password=" + Canary)), "Failed"));
        yield return Case("inner exception", "password=[REDACTED]", log => log.Error(Thrown(new InvalidOperationException("outer", new IOException("password=" + Canary))), "Failed"));
        yield return Case("aggregate exception", "access_token=[REDACTED]", log => log.Error(Thrown(new AggregateException(new InvalidOperationException("a"), new IOException("access_token=" + Canary))), "Failed"));
        yield return Case("exception Data", "\"@x\":\"System.InvalidOperationException: Failed", log =>
        {
            var exception = new InvalidOperationException("Failed");
            exception.Data["Password"] = Canary;
            log.Error(Thrown(exception), "Failed");
        });
        yield return Case("JSON in an exception message", "\\\"password\\\":\\\"[REDACTED]\\\"", log => log.Error(new HttpRequestException("400: {\"password\":\"" + Canary + "\"}"), "Failed"));
        yield return Case("failed stage", "Password=[REDACTED]", log =>
        {
            using var pipeline = PipelineTimer.Begin("ingest", log);
            using var stage = pipeline.Stage("parse");
            stage.Fail(Thrown(new InvalidOperationException("password=" + Canary)));
            pipeline.Fail(Thrown(new InvalidOperationException("Server=db;Password=" + Canary)));
        });
        yield return Case("StageAsync that throws", "password=[REDACTED]", log =>
        {
            using var pipeline = PipelineTimer.Begin("ingest", log);
            try
            {
                pipeline.StageAsync("parse", () => throw new InvalidOperationException("password=" + Canary)).GetAwaiter().GetResult();
            }
            catch (InvalidOperationException)
            {
            }
        });
    }

    sealed class TextFormatterSink(Serilog.Formatting.ITextFormatter formatter, StringWriter output) : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
            lock (output) formatter.Format(logEvent, output);
        }
    }

    [TestCaseSource(nameof(Routes))]
    public void TheCanaryReachesNoOutput(string written, Action<ILogger> log)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var rendered = new StringWriter();
        var flat = new StringWriter();
        var subLogger = new StringWriter();
        var selfLog = new List<string>();
        var spans = new List<string>();
        var metricTags = new List<string>();

        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Serilog.Extensions.Observability.Timing",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (spans)
                {
                    spans.Add(activity.DisplayName + " " + activity.StatusDescription);
                    foreach (var tag in activity.TagObjects) spans.Add(tag.Key + "=" + tag.Value);
                    foreach (var e in activity.Events)
                    foreach (var tag in e.Tags) spans.Add(e.Name + " " + tag.Key + "=" + tag.Value);
                }
            },
        };
        ActivitySource.AddActivityListener(activities);
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name.StartsWith("Serilog.Extensions.Observability", StringComparison.Ordinal)) listener.EnableMeasurementEvents(instrument);
            },
        };
        meters.SetMeasurementEventCallback<double>((_, _, tags, _) => { lock (metricTags) foreach (var tag in tags) metricTags.Add(tag.Key + "=" + tag.Value); });
        meters.SetMeasurementEventCallback<long>((_, _, tags, _) => { lock (metricTags) foreach (var tag in tags) metricTags.Add(tag.Key + "=" + tag.Value); });
        meters.Start();

        var console = new StringWriter();
        var standardOutput = Console.Out;
        Console.SetOut(console);
        try
        {
            using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);
            using var logger = new LoggerConfiguration()
                .MinimumLevel.Verbose()
                .WithObservability(o => o
                    .Console(ObservabilityConsoleFormat.Text)
                    .RollingJson(path)
                    .WriteTo(w => w.Sink(new TextFormatterSink(new RenderedCompactJsonFormatter(), rendered)))
                    .WriteTo(w => w.Sink(new TextFormatterSink(new FlatJsonFormatter(), flat)))
                    .WriteTo(w => w.Logger(lc => lc.WriteTo.Sink(new TextFormatterSink(new RenderedCompactJsonFormatter(), subLogger)))))
                .CreateLogger();
            log(logger);
        }
        finally
        {
            Console.SetOut(standardOutput);
        }

        var file = string.Concat(Directory.GetFiles(folder.Path).Select(File.ReadAllText));
        Assert.Multiple(() =>
        {
            Assert.That(file, Does.Contain(written), "the route reached the file");
            Assert.That(file, Does.Not.Contain(Canary), "RollingJson file");
            Assert.That(console.ToString(), Does.Contain("[").And.Not.Contain(Canary), "text console");
            Assert.That(rendered.ToString(), Does.Not.Contain(Canary), "RenderedCompactJsonFormatter sink of WriteTo(...)");
            Assert.That(flat.ToString(), Does.Not.Contain(Canary), "FlatJsonFormatter sink of WriteTo(...)");
            Assert.That(subLogger.ToString(), Does.Not.Contain(Canary), "sub-logger of WriteTo(...)");
            Assert.That(string.Join("\n", selfLog), Does.Not.Contain(Canary), "SelfLog");
            Assert.That(string.Join("\n", spans), Does.Not.Contain(Canary), "spans");
            Assert.That(string.Join("\n", metricTags), Does.Not.Contain(Canary), "metric tags");
        });
    }
}
