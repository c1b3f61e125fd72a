using System.Reflection;
using System.Text;
using Microsoft.Extensions.Configuration;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Settings.Configuration;

namespace Serilog.Extensions.Observability.Redaction.Tests.Configuration;

/// <summary>A sink the appsettings files can name: <c>{ "Name": "Sink" }</c> writes to <see cref="Current"/>.</summary>
public static class TestSinkExtensions
{
    [ThreadStatic] internal static CollectingSink? Current;

    public static LoggerConfiguration Sink(this LoggerSinkConfiguration writeTo) => writeTo.Sink(Current ?? throw new InvalidOperationException("No test sink."));
}

public class AppSettingsTests
{
    static Logger FromFile(string file, CollectingSink sink)
    {
        TestSinkExtensions.Current = sink;
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(TestContext.CurrentContext.TestDirectory, "Configuration", file))
            .Build();
        var options = new ConfigurationReaderOptions(typeof(RedactionLoggerConfigurationExtensions).Assembly, typeof(TestSinkExtensions).Assembly);
        return new LoggerConfiguration().ReadFrom.Configuration(configuration, options).CreateLogger();
    }

    [Test]
    public void DestructureEnrichAndWriteToAreBoundFromTheSerilogSection()
    {
        var sink = new CollectingSink();
        using (var logger = FromFile("appsettings.redaction.json", sink))
        {
            logger.Information("{@Person} {Cookie} {Note} {Token} {door_pin} {Conn}",
                new { Name = "ann", Badge = "b-1234" }, "c=1", "mail ann@example.com ref ACCT-1234", "tok", "9876", "Server=db;Password=hunter22");
        }

        var properties = sink.SingleEvent.Properties;
        Assert.Multiple(() =>
        {
            Assert.That(properties["Person"].ToString(), Is.EqualTo("{ Name: \"ann\", Badge: \"###\" }"), "policy: its additional key and mask");
            // The enricher runs before the sink: what it masked (fixed style) stays masked, whatever the sink excludes.
            Assert.That(properties["Cookie"].ToString(), Is.EqualTo("\"###\""), "enricher: cookie is a default key");
            Assert.That(properties["door_pin"].ToString(), Is.EqualTo("\"###\""), "enricher: pin is a default word");
            // The enricher excludes token, so the sink's partial style decides: too short to show any of it.
            Assert.That(properties["Token"].ToString(), Is.EqualTo("\"###\""), "sink: partial style, short value");
            Assert.That(properties["Note"].ToString(), Is.EqualTo("\"mail ###om ref ###34\""), "sink: e-mail detector and pattern, partial with 2 characters");
            Assert.That(properties["Conn"].ToString(), Is.EqualTo("\"Server=db;Password=###22\""), "sink: embedded credentials, partial with 2 characters");
        });
    }

    [Test]
    public void PseudonymSettingsAreBound()
    {
        var sink = new CollectingSink();
        using (var logger = FromFile("appsettings.pseudonym.json", sink))
            logger.Information("{Email} {Password}", "ann@example.com", "visible-because-defaults-are-off");
        var properties = sink.SingleEvent.Properties;
        Assert.That(properties["Email"].ToString(), Does.Match("^\"cfg1:[0-9a-f]{32}\"$"));
        Assert.That(properties["Password"].ToString(), Is.EqualTo("\"visible-because-defaults-are-off\""));
    }

    const string Jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl";
    const string JsonText = "{\"password\":\"json-secret-1\"}";

    // The access key id AWS's documentation uses as its example.
    const string AwsKeyId = "AKIAIOSFODNN7EXAMPLE";

    // Each documented "Redacted" argument the other tests leave out, set from JSON and seen in what reaches the sink:
    // the same value is written as it is without the argument.
    [TestCase("", Jwt, true)]
    [TestCase("\"detectJwts\": true", Jwt, false)]
    [TestCase("\"detectJwts\": true, \"patternMatchTimeout\": \"00:00:01\"", Jwt, false)]
    [TestCase("", AwsKeyId, true)]
    [TestCase("\"detectKnownTokenFormats\": true", AwsKeyId, false)]
    [TestCase("", "json-secret-1", false, JsonText)]
    [TestCase("\"maximumJsonLength\": 0", "json-secret-1", true, JsonText)]
    [TestCase("\"restrictedToMinimumLevel\": \"Warning\"", "below-the-sink-level", false)]
    [TestCase("\"levelSwitch\": \"$redacted\"", "below-the-switch", false)]
    public void RedactedArgumentsFromTheSerilogSectionTakeEffect(string args, string value, bool written, string? logged = null)
    {
        var json = $$"""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Redaction" ],
              "LevelSwitches": { "$redacted": "Warning" },
              "WriteTo": [ { "Name": "Redacted", "Args": { "configure": [ { "Name": "Sink" } ]{{(args.Length > 0 ? ", " + args : "")}} } } ] } }
            """;
        var sink = new CollectingSink();
        TestSinkExtensions.Current = sink;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var options = new ConfigurationReaderOptions(typeof(RedactionLoggerConfigurationExtensions).Assembly, typeof(TestSinkExtensions).Assembly);
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration, options).CreateLogger())
            logger.Information("Note {Note}", logged ?? value);

        var text = string.Join("\n", sink.Events.Select(e => e.Properties["Note"].ToString()));
        Assert.That(text.Contains(value, StringComparison.Ordinal), Is.EqualTo(written), text);
    }

    [TestCase("Destructure")]
    [TestCase("Enrich")]
    [TestCase("WriteTo")]
    public void DetectKnownTokenFormatsIsBoundInEverySection(string section)
    {
        var configure = section == "WriteTo" ? "\"configure\": [ { \"Name\": \"Sink\" } ], " : "";
        var writeTo = section == "WriteTo" ? "" : ", \"WriteTo\": [ { \"Name\": \"Sink\" } ]";
        var json = $$"""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Redaction" ],
              "{{section}}": [ { "Name": "{{(section == "WriteTo" ? "Redacted" : "WithRedaction")}}",
                "Args": { {{configure}}"detectKnownTokenFormats": true } } ]{{writeTo}} } }
            """;
        var sink = new CollectingSink();
        TestSinkExtensions.Current = sink;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var options = new ConfigurationReaderOptions(typeof(RedactionLoggerConfigurationExtensions).Assembly, typeof(TestSinkExtensions).Assembly);
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration, options).CreateLogger())
            logger.Information("Deploy {@Deploy}", new { Note = "key " + AwsKeyId + " used" });

        var written = sink.SingleEvent.Properties["Deploy"].ToString();
        Assert.That(written, Is.EqualTo("{ Note: \"key [REDACTED] used\" }"));
    }

    static Exception Unwrapped(Exception? ex)
    {
        while (ex is TargetInvocationException { InnerException: { } inner }) ex = inner;
        return ex!;
    }

    [TestCase("Destructure")]
    [TestCase("Enrich")]
    [TestCase("WriteTo")]
    public void AnUnsetEnvironmentVariableAsThePseudonymKeyFailsAtStartup(string section)
    {
        // Serilog.Settings.Configuration leaves %NAME% as it is when NAME is not set: the placeholder, text anyone
        // reading the configuration knows, must not become the HMAC key.
        var name = "SEO_TEST_UNSET_REDACTION_KEY_" + Guid.NewGuid().ToString("N");
        var configure = section == "WriteTo" ? "\"configure\": [ { \"Name\": \"Sink\" } ], " : "";
        var json = $$"""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Redaction" ],
              "{{section}}": [ { "Name": "{{(section == "WriteTo" ? "Redacted" : "WithRedaction")}}",
                "Args": { {{configure}}"maskStyle": "Pseudonym", "pseudonymKey": "%{{name}}%" } } ] } }
            """;
        TestSinkExtensions.Current = new CollectingSink();
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var options = new ConfigurationReaderOptions(typeof(RedactionLoggerConfigurationExtensions).Assembly, typeof(TestSinkExtensions).Assembly);

        var ex = Unwrapped(Assert.Catch(() => new LoggerConfiguration().ReadFrom.Configuration(configuration, options)));

        Assert.That(ex, Is.TypeOf<ArgumentException>());
        Assert.That(((ArgumentException)ex).ParamName, Is.EqualTo("pseudonymKey"));
        Assert.That(ex.Message, Does.Contain("environment variable").And.Not.Contain(name));
    }

    [TestCase("Destructure", "\"mask\": \"\"", "mask")]
    [TestCase("Enrich", "\"maskStyle\": \"9\"", "maskStyle")]
    [TestCase("WriteTo", "\"partialVisibleCharacters\": 0", "partialVisibleCharacters")]
    [TestCase("Enrich", "\"maskStyle\": \"Pseudonym\"", "pseudonymKey")]
    [TestCase("Enrich", "\"maskStyle\": \"Pseudonym\", \"pseudonymKey\": \"short\"", "pseudonymKey")]
    [TestCase("WriteTo", "\"pseudonymKeyId\": \"k 1\"", "pseudonymKeyId")]
    [TestCase("Destructure", "\"maximumJsonLength\": -1", "maximumJsonLength")]
    [TestCase("WriteTo", "\"valuePatterns\": [ \"(unclosed\" ]", "valuePatterns")]
    [TestCase("Enrich", "\"valuePatterns\": [ \"\" ]", "valuePatterns")]
    [TestCase("Enrich", "\"additionalKeys\": [ \"a*b\" ]", "additionalKeys")]
    [TestCase("WriteTo", "\"restrictedToMinimumLevel\": \"9\"", "restrictedToMinimumLevel")]
    [TestCase("Destructure", "\"patternMatchTimeout\": \"00:00:20\"", "patternMatchTimeout")]
    [TestCase("Enrich", "\"patternMatchTimeout\": \"00:00:00\"", "patternMatchTimeout")]
    [TestCase("WriteTo", "\"patternMatchTimeout\": \"00:00:11\"", "patternMatchTimeout")]
    public void InvalidArgumentsInTheSerilogSectionAreRejectedWithTheArgumentsName(string section, string args, string parameter)
    {
        var configure = section == "WriteTo" ? "\"configure\": [ { \"Name\": \"Sink\" } ], " : "";
        var json = $$"""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability.Redaction" ],
              "{{section}}": [ { "Name": "{{(section == "WriteTo" ? "Redacted" : "WithRedaction")}}", "Args": { {{configure}}{{args}} } } ] } }
            """;
        TestSinkExtensions.Current = new CollectingSink();
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var options = new ConfigurationReaderOptions(typeof(RedactionLoggerConfigurationExtensions).Assembly, typeof(TestSinkExtensions).Assembly);

        var ex = Unwrapped(Assert.Catch(() => new LoggerConfiguration().ReadFrom.Configuration(configuration, options)));

        Assert.That(ex, Is.InstanceOf<ArgumentException>());
        Assert.That(((ArgumentException)ex).ParamName, Is.EqualTo(parameter), "the name written in \"Args\", as for every other package");
    }
}
