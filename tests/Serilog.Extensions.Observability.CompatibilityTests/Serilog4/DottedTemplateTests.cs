using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4;

/// <summary>
/// The root README's claim that message templates are parsed by the running Serilog: from Serilog 4.2 <c>{Request.Path}</c>
/// is one property token named <c>Request.Path</c> (on 3.1 it is text). What our formatters and our text console write
/// for an event whose template holds such a token.
/// </summary>
[NonParallelizable] // redirects the process-wide Console.Out
public class DottedTemplateTests
{
    static LogEvent Capture(string template, params object?[] values)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger())
            logger.Information(template, values);
        var captured = sink.SingleEvent;
        // A fixed timestamp, so the lines can be compared whole.
        return new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.Zero), captured.Level, captured.Exception,
            captured.MessageTemplate, captured.Properties.Select(p => new LogEventProperty(p.Key, p.Value)));
    }

    static string Format(Serilog.Formatting.ITextFormatter formatter, LogEvent logEvent)
    {
        var writer = new StringWriter();
        formatter.Format(logEvent, writer);
        return writer.ToString().TrimEnd('\r', '\n');
    }

    [Test]
    public void Serilog4ParsesADottedTokenAsOnePropertyName()
    {
        var tokens = new MessageTemplateParser().Parse("Handled {Request.Path} in {Request.Elapsed:0.0} ms").Tokens.ToArray();

        Assert.That(tokens.OfType<PropertyToken>().Select(t => t.PropertyName), Is.EqualTo(new[] { "Request.Path", "Request.Elapsed" }));
        Assert.That(tokens.OfType<PropertyToken>().Last().Format, Is.EqualTo("0.0"));
        Assert.That(tokens.OfType<PropertyToken>().First().ToString(), Is.EqualTo("{Request.Path}"), "the token's text as written");
    }

    [Test]
    public void ADottedTokenIsCapturedAsAPropertyOfThatName()
    {
        var logEvent = Capture("Handled {Request.Path} in {Request.Elapsed:0.0} ms", "/orders", 12.345);

        Assert.That(logEvent.Properties.Keys, Is.EquivalentTo(new[] { "Request.Path", "Request.Elapsed" }));
        Assert.That(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo("Handled \"/orders\" in 12.3 ms"));
    }

    [Test]
    public void CompactJsonWritesTheDottedPropertyAndItsRendering()
    {
        var logEvent = Capture("Handled {Request.Path} in {Request.Elapsed:0.0} ms", "/orders", 12.345);

        Assert.That(Format(new CompactJsonFormatter(), logEvent), Is.EqualTo(
            "{\"@t\":\"2026-11-22T10:30:15.1230000Z\",\"@mt\":\"Handled {Request.Path} in {Request.Elapsed:0.0} ms\"," +
            "\"@r\":[\"12.3\"],\"Request.Path\":\"/orders\",\"Request.Elapsed\":12.345}"));
        // As Serilog.Formatting.Compact 3.0 writes the same event.
        Assert.That(Format(new CompactJsonFormatter(), logEvent), Is.EqualTo(Format(new Serilog.Formatting.Compact.CompactJsonFormatter(), logEvent)));
    }

    [Test]
    public void RenderedCompactJsonWritesTheDottedPropertysValueInTheMessage()
    {
        var logEvent = Capture("Handled {Request.Path} in {Request.Elapsed:0.0} ms", "/orders", 12.345);

        var line = Format(new RenderedCompactJsonFormatter(), logEvent);

        using var document = JsonDocument.Parse(line);
        Assert.That(document.RootElement.GetProperty("@m").GetString(), Is.EqualTo("Handled \"/orders\" in 12.3 ms"));
        Assert.That(document.RootElement.GetProperty("Request.Path").GetString(), Is.EqualTo("/orders"));
        Assert.That(line, Is.EqualTo(Format(new Serilog.Formatting.Compact.RenderedCompactJsonFormatter(), logEvent)));
    }

    [Test]
    public void FlatJsonWritesTheDottedPropertysValueInTheMessageAndUnderItsSnakeCaseName()
    {
        var logEvent = Capture("Handled {Request.Path} in {Request.Elapsed:0.0} ms", "/orders", 12.345);

        Assert.That(Format(new FlatJsonFormatter(), logEvent), Is.EqualTo(
            "{\"timestamp\":\"2026-11-22T10:30:15.1230000Z\",\"level\":\"Information\",\"message\":\"Handled \\\"/orders\\\" in 12.3 ms\"," +
            "\"message_template\":\"Handled {Request.Path} in {Request.Elapsed:0.0} ms\",\"request.path\":\"/orders\",\"request.elapsed\":12.345}"));
        Assert.That(Format(new FlatJsonFormatter(snakeCaseNames: false), logEvent), Does.Contain("\"Request.Path\":\"/orders\""));
    }

    [Test]
    public void AMissingDottedPropertyIsWrittenAsItsTokenText()
    {
        var template = new MessageTemplateParser().Parse("Handled {Request.Path:l}");
        var logEvent = new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.Zero), LogEventLevel.Information, null, template,
            Array.Empty<LogEventProperty>());

        Assert.Multiple(() =>
        {
            Assert.That(Format(new CompactJsonFormatter(), logEvent), Is.EqualTo(Format(new Serilog.Formatting.Compact.CompactJsonFormatter(), logEvent)));
            Assert.That(Format(new RenderedCompactJsonFormatter(), logEvent),
                Is.EqualTo(Format(new Serilog.Formatting.Compact.RenderedCompactJsonFormatter(), logEvent)));
            using var flat = JsonDocument.Parse(Format(new FlatJsonFormatter(), logEvent));
            Assert.That(flat.RootElement.GetProperty("message").GetString(), Is.EqualTo("Handled {Request.Path:l}"));
        });
    }

    [Test]
    public void TheTextConsoleWritesTheDottedPropertyInTheMessageAndInTheOutputTemplate()
    {
        var output = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration()
                .WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, "{CorrelationId} {Message:lj} at {Request.Path}{NewLine}"))
                .CreateLogger();
            logger.Information("Handled {Request.Path}", "/orders");
            logger.ForContext("CorrelationId", "c-1").Information("Handled {Request.Path}", "/basket");
        });

        Assert.That(output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries),
            Is.EqualTo(new[] { "Handled /orders at /orders", "c-1 Handled /basket at /basket" }), "{Message:lj}: strings unquoted");
    }

    [Test]
    public async Task ARequestLoggingTemplatesDottedTokenTakesTheCompletionPropertyOfThatName()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();
        app.UseSerilogRequestLogging(options =>
        {
            options.Logger = logger;
            options.MessageTemplate = "HTTP {RequestMethod} {Request.Path} responded {StatusCode}";
            options.GetMessageTemplateProperties = (context, path, _, status) =>
            [
                new LogEventProperty("RequestMethod", new ScalarValue(context.Request.Method)),
                new LogEventProperty("Request.Path", new ScalarValue(path)),
                new LogEventProperty("StatusCode", new ScalarValue(status)),
            ];
        });
        app.MapGet("/orders", () => "ok");
        await app.StartAsync();
        using (var client = app.GetTestServer().CreateClient())
            Assert.That((await client.GetAsync("/orders")).IsSuccessStatusCode, Is.True);
        await app.StopAsync();

        var completion = sink.SingleEvent;
        Assert.That(completion.MessageTemplate.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName),
            Is.EqualTo(new[] { "RequestMethod", "Request.Path", "StatusCode" }));
        Assert.That(completion.RenderMessage(System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo("HTTP \"GET\" \"/orders\" responded 200"));
        using var rendered = JsonDocument.Parse(Format(new RenderedCompactJsonFormatter(), completion));
        Assert.That(rendered.RootElement.GetProperty("@m").GetString(), Is.EqualTo("HTTP \"GET\" \"/orders\" responded 200"));
    }

    [Test]
    public void RedactionMasksADottedPropertyBySensitiveName()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().WriteTo.Redacted(inner => inner.Sink(sink), (Action<Serilog.Extensions.Observability.Redaction.RedactionOptions>?)null).CreateLogger())
            logger.Information("Login with {User.Password} and {Api.Key}", "hunter2-secret", "key-123456");

        var line = Format(new CompactJsonFormatter(), sink.SingleEvent);
        Assert.That(line, Does.Not.Contain("hunter2-secret").And.Not.Contain("key-123456"));
        Assert.That(sink.SingleEvent.Properties.Keys, Is.EquivalentTo(new[] { "User.Password", "Api.Key" }));
    }
}
