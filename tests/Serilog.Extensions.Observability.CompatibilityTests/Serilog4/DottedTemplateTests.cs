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
/// is one property token named <c>Request.Path</c> (on 3.1, 4.0 and 4.1 it is text). What our formatters and our text
/// console write for an event whose template holds such a token, and what an application on Serilog 4.0 or 4.1 gets
/// instead (these tests run on each: <c>-p:Serilog4Version</c>, the root README).
/// </summary>
[NonParallelizable] // redirects the process-wide Console.Out
public class DottedTemplateTests
{
    // Serilog 4.2 first took a dotted name in braces as a property name; 4.0 and 4.1, as 3.1, leave the token as text.
    static readonly bool DottedNamesParse = typeof(Log).Assembly.GetName().Version >= new Version(4, 2);

    static LogEvent Capture(string template, params object?[] values)
    {
        // Where the running Serilog leaves the tokens as text, the event is the one Serilog 4.2 captures, built by hand:
        // what the formatters are given is a template's tokens and the event's properties, whoever parsed them.
        if (!DottedNamesParse) return AsSerilog42Captures(template, values);
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger())
            logger.Information(template, values);
        var captured = sink.SingleEvent;
        // A fixed timestamp, so the lines can be compared whole.
        return new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.Zero), captured.Level, captured.Exception,
            captured.MessageTemplate, captured.Properties.Select(p => new LogEventProperty(p.Key, p.Value)));
    }

    // Text, and property tokens {Name} or {Name:format}, as Serilog 4.2 parses the templates here; each value a scalar.
    static LogEvent AsSerilog42Captures(string template, object?[] values)
    {
        var tokens = new List<MessageTemplateToken>();
        var properties = new List<LogEventProperty>();
        var text = 0;
        var propertyTokens = System.Text.RegularExpressions.Regex.Matches(template, @"\{([A-Za-z.]+)(?::([^}]+))?\}",
            System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
        foreach (System.Text.RegularExpressions.Match token in propertyTokens)
        {
            if (token.Index > text) tokens.Add(new TextToken(template[text..token.Index]));
            var name = token.Groups[1].Value;
            tokens.Add(new PropertyToken(name, token.Value, token.Groups[2].Success ? token.Groups[2].Value : null));
            properties.Add(new LogEventProperty(name, new ScalarValue(values[properties.Count])));
            text = token.Index + token.Length;
        }
        if (text < template.Length) tokens.Add(new TextToken(template[text..]));
        Assert.That(properties, Has.Count.EqualTo(values.Length), "one value for each property token");
        return new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.Zero), LogEventLevel.Information, null,
            new MessageTemplate(template, tokens), properties);
    }

    static string Format(Serilog.Formatting.ITextFormatter formatter, LogEvent logEvent)
    {
        var writer = new StringWriter();
        formatter.Format(logEvent, writer);
        return writer.ToString().TrimEnd('\r', '\n');
    }

    [Test]
    public void Serilog42ParsesADottedTokenAsOnePropertyNameAndEarlierVersionsAsText()
    {
        const string template = "Handled {Request.Path} in {Request.Elapsed:0.0} ms";
        var tokens = new MessageTemplateParser().Parse(template).Tokens.ToArray();

        if (!DottedNamesParse)
        {
            Assert.That(tokens, Is.All.InstanceOf<TextToken>(), "Serilog 4.0 and 4.1: no property token");
            Assert.That(string.Concat(tokens.Select(t => t.ToString())), Is.EqualTo(template), "the tokens' text as written");
            return;
        }
        Assert.That(tokens.OfType<PropertyToken>().Select(t => t.PropertyName), Is.EqualTo(new[] { "Request.Path", "Request.Elapsed" }));
        Assert.That(tokens.OfType<PropertyToken>().Last().Format, Is.EqualTo("0.0"));
        Assert.That(tokens.OfType<PropertyToken>().First().ToString(), Is.EqualTo("{Request.Path}"), "the token's text as written");
    }

    [Test]
    public void ADottedTokenIsCapturedAsAPropertyOfThatName()
    {
        if (!DottedNamesParse)
        {
            // Serilog 4.0 and 4.1 capture neither value (a template without property tokens) and render the template.
            var sink = new CollectingSink();
            using (var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger())
                logger.Information("Handled {Request.Path} in {Request.Elapsed:0.0} ms", "/orders", 12.345);
            Assert.That(sink.SingleEvent.Properties, Is.Empty);
            Assert.That(sink.SingleEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo("Handled {Request.Path} in {Request.Elapsed:0.0} ms"));
            return;
        }
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

        Assert.That(output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(DottedNamesParse
            ? new[] { "Handled /orders at /orders", "c-1 Handled /basket at /basket" }
            // Serilog 4.0 and 4.1: text in the event's template and in the output template alike.
            : new[] { "Handled {Request.Path} at {Request.Path}", "c-1 Handled {Request.Path} at {Request.Path}" }),
            "{Message:lj}: strings unquoted");
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
        if (!DottedNamesParse)
        {
            // Serilog 4.0 and 4.1: the token is text, so the property the callback gave is on the event but not rendered.
            Assert.That(completion.MessageTemplate.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName),
                Is.EqualTo(new[] { "RequestMethod", "StatusCode" }));
            Assert.That(completion.RenderMessage(System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo("HTTP \"GET\" {Request.Path} responded 200"));
            return;
        }
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
        // Serilog 4.0 and 4.1 capture neither value: the tokens are text.
        Assert.That(sink.SingleEvent.Properties.Keys, DottedNamesParse ? Is.EquivalentTo(new[] { "User.Password", "Api.Key" }) : Is.Empty);
    }
}
