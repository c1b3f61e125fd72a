using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;
using Serilog.Templates;

namespace Serilog.Extensions.Observability.CompatibilityTests.Ecosystem;

/// <summary>
/// Serilog.Expressions 5 beside our packages: a <c>"Filter"</c> expression and <c>ExpressionTemplate</c> formatters read
/// from the <c>"Serilog"</c> section by <c>AddObservability()</c>, and its enrichers (<c>WithComputed</c>, <c>When</c>)
/// beside ours, from the section and in code.
/// </summary>
[NonParallelizable] // redirects the process-wide Console.Out and SelfLog, and sets the static Log.Logger
public class ExpressionsTests
{
    [TearDown]
    public void CloseLogger() => Log.CloseAndFlush();

    [Test]
    public async Task TheSectionsExpressionFilterDropsHealthChecksAndItsExpressionTemplatesFormatTheFileAndTheConsole()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        // A plain RollingJson (AddObservability() puts it behind its redaction) and a console inside "Redacted", both with
        // an ExpressionTemplate; enrichers of Serilog.Enrichers.Environment and .Process found without "Using".
        // The reader applies the entries given by name alone before those with "Args", so WithCorrelation runs before
        // both WithComputed entries here, whatever their order.
        var json = $$"""
        {
          "Serilog": {
            "MinimumLevel": { "Default": "Information" },
            "Filter": [ { "Name": "ByExcluding", "Args": { "expression": "RequestPath like '/health%'" } } ],
            "Enrich": [
              { "Name": "WithComputed", "Args": { "propertyName": "ShortId", "expression": "Substring(CorrelationId, 0, 5)" } },
              "WithCorrelation", "WithMachineName", "WithProcessId",
              { "Name": "When", "Args": { "expression": "StatusCode >= 500",
                "configureEnricher": [ { "Name": "WithComputed", "Args": { "propertyName": "Failed", "expression": "true" } } ] } }
            ],
            "WriteTo": [
              { "Name": "RollingJson", "Args": { "path": {{JsonSerializer.Serialize(path)}}, "formatter": {
                "type": "Serilog.Templates.ExpressionTemplate, Serilog.Expressions",
                "template": "{ {m: @m, x: @x, path: RequestPath, cid: CorrelationId, short: ShortId, failed: Failed, machine: MachineName, pid: ProcessId, status: StatusCode} }" } } },
              { "Name": "Redacted", "Args": { "configure": [ { "Name": "Console", "Args": { "formatter": {
                "type": "Serilog.Templates.ExpressionTemplate, Serilog.Expressions", "template": "{@l:u3} {CorrelationId} {@m}\n" } } } ] } }
            ]
          }
        }
        """;
        var selfLog = new List<string>();
        var console = new StringWriter();
        var standardOutput = Console.Out;
        Console.SetOut(console);
        try
        {
            using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
            builder.WebHost.UseTestServer();
            builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
            builder.AddObservability();
            await using var app = builder.Build();
            app.UseCorrelation();
            app.UseSerilogRequestLogging();
            app.MapGet("/health", () => "ok");
            app.MapGet("/health/ready", () => "ok");
            app.MapGet("/orders/{id}", (int id) =>
            {
                Log.Information("Loading {OrderId} with password={Pw}", id, "hunter2");
                return Results.Ok();
            });
            app.MapGet("/boom", IResult () => throw new InvalidOperationException("Login failed: password=hunter2"));
            await app.StartAsync();
            using (var client = app.GetTestClient())
            {
                foreach (var target in new[] { "/health", "/health/ready", "/orders/7", "/boom" })
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, target);
                    request.Headers.Add("X-Correlation-ID", "corr" + target.Replace('/', '-'));
                    using var response = await client.SendAsync(request);
                }
            }
            // Stopping the host disposes the logger: every event is in the file and on the console when this returns.
            await app.StopAsync();
        }
        finally
        {
            Console.SetOut(standardOutput);
        }

        var lines = Directory.GetFiles(folder.Path).SelectMany(File.ReadAllLines).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        string? Text(JsonElement line, string name) => line.TryGetProperty(name, out var value) ? value.ToString() : null;
        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(line => Text(line, "path")), Is.EqualTo(new[] { "/orders/7", "/orders/7", "/boom" }), "no /health event");
            Assert.That(lines.Select(line => Text(line, "cid")), Is.EqualTo(new[] { "corr-orders-7", "corr-orders-7", "corr-boom" }));
            Assert.That(lines.Select(line => Text(line, "short")), Is.EqualTo(new[] { "corr-", "corr-", "corr-" }), "WithComputed saw CorrelationId");
            Assert.That(lines.Select(line => Text(line, "failed")), Is.EqualTo(new[] { null, null, "True" }), "When");
            Assert.That(lines.Select(line => Text(line, "status")), Is.EqualTo(new[] { null, "200", "500" }));
            Assert.That(lines.Select(line => Text(line, "machine")).Distinct(), Is.EqualTo(new[] { Environment.MachineName }));
            Assert.That(lines.Select(line => Text(line, "pid")).Distinct(), Is.EqualTo(new[] { Environment.ProcessId.ToString() }));
            Assert.That(Text(lines[0], "m"), Is.EqualTo("Loading 7 with password=[REDACTED]"));
            Assert.That(Text(lines[2], "x"), Does.StartWith("System.InvalidOperationException: Login failed: password=[REDACTED]"));
            Assert.That(console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
            {
                "INF corr-orders-7 Loading 7 with password=[REDACTED]",
                Text(lines[1], "m") is { } completed ? "INF corr-orders-7 " + completed : "(no completion event)",
                Text(lines[2], "m") is { } failed ? "ERR corr-boom " + failed : "(no completion event)",
            }));
            Assert.That(string.Concat(Directory.GetFiles(folder.Path).Select(File.ReadAllText)) + console, Does.Not.Contain("hunter2"));
            Assert.That(selfLog, Is.Empty);
        });
    }

    [TestCase("$ops-only", "@l = 'Error'", "key must be a switch name: ")]
    [TestCase("$opsOnly", "@l = ", "setting is invalid: ")]
    public void AFilterSwitchTheReaderRefusesFailsNamingItsKeyAndLeavesTheLastCallsLogger(string name, string expression, string rule)
    {
        // Declared only with Serilog.Expressions there, and read before the last call's logger is closed, as levels are.
        var builder = WebApplication.CreateSlimBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var first = Log.Logger;
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:FilterSwitches:" + name] = expression });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith($"The \"Serilog:FilterSwitches:{name}\" {rule}"));
        Assert.That(ex.InnerException, Is.Not.Null, "what Serilog.Settings.Configuration threw");
        Assert.That(Log.Logger, Is.SameAs(first));
    }

    [Test]
    public void ExpressionEnrichersAfterWithObservabilitySeeItsPropertiesAndTheMaskedValues()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        using (var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path))
            .Enrich.WithComputed("ShortId", "Substring(CorrelationId, 0, 5)")
            .Enrich.WithComputed("Copied", "Login.Password")
            .Enrich.When("Stage is not null", stage => stage.WithComputed("InStage", "Stage"))
            .CreateLogger())
        using (CorrelationContext.Begin("order-7-abc"))
        using (var pipeline = PipelineTimer.Begin("ingest", logger))
        {
            logger.Information("Before {@Login}", new { User = "ann", Password = "hunter2" });
            using (pipeline.Stage("parse")) logger.Information("Parsing {@Login}", new { User = "ann", Password = "hunter2" });
        }

        var lines = Directory.GetFiles(folder.Path).SelectMany(File.ReadAllLines).Select(line => JsonDocument.Parse(line).RootElement)
            .Where(line => line.GetProperty("@mt").GetString()!.Contains("{@Login}")).ToList();
        string? Text(JsonElement line, string name) => line.TryGetProperty(name, out var value) ? value.ToString() : null;
        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(line => Text(line, "ShortId")), Is.EqualTo(new[] { "order", "order" }));
            Assert.That(lines.Select(line => Text(line, "Copied")), Is.EqualTo(new[] { "[REDACTED]", "[REDACTED]" }));
            Assert.That(lines.Select(line => Text(line, "InStage")), Is.EqualTo(new[] { null, "parse" }));
        });
    }

    // WriteTo.Redacted hands the file a new event: the trace and span ids stay on it, and the exception is the masked one.
    [Test]
    public void AnExpressionTemplateAsWithObservabilitysFileFormatterReadsTheTraceAndTheMaskedException()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        using var source = new ActivitySource(nameof(ExpressionsTests));
        using var listener = new ActivityListener
        {
            ShouldListenTo = candidate => candidate == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var template = new ExpressionTemplate("{ {tr: @tr, sp: @sp, l: @l, m: @m, x: @x, cid: CorrelationId} }");
        string traceId, spanId;
        using (var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path, file => file.Formatter = template))
            .CreateLogger())
        using (var activity = source.StartActivity("checkout")!)
        {
            (traceId, spanId) = (activity.TraceId.ToHexString(), activity.SpanId.ToHexString());
            logger.Error(new InvalidOperationException("Login failed: password=hunter2"), "Login failed for {Password}", "hunter2");
        }

        var line = JsonDocument.Parse(File.ReadAllLines(Directory.GetFiles(folder.Path).Single()).Single()).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(line.GetProperty("tr").GetString(), Is.EqualTo(traceId));
            Assert.That(line.GetProperty("sp").GetString(), Is.EqualTo(spanId));
            Assert.That(line.GetProperty("cid").GetString(), Is.EqualTo(traceId), "WithCorrelation's fallback");
            Assert.That(line.GetProperty("l").GetString(), Is.EqualTo("Error"));
            Assert.That(line.GetProperty("m").GetString(), Is.EqualTo("Login failed for [REDACTED]"));
            Assert.That(line.GetProperty("x").GetString(), Is.EqualTo("System.InvalidOperationException: Login failed: password=[REDACTED]"));
        });
    }
}
