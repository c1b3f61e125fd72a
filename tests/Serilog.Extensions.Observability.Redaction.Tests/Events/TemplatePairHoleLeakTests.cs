using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// A template that writes a key and its value in two holes, the key being data (<c>"{Key}={Value}"</c>, as a dump of
/// configuration or headers is written), renders <c>password=hunter22</c>: the value hole is a credential when the key
/// hole's value is a sensitive key, as the hole after <c>password=</c> in the template's own text is.
/// </summary>
public class TemplatePairHoleLeakTests
{
    static string Log(Action<Serilog.ILogger> write, bool enricherOnly = false) => CredentialPass.Log(write, enricherOnly);

    static IEnumerable<TestCaseData> Pairs()
    {
        var pairs = new (string Template, string Key, string Secret)[]
        {
            ("{Key}={Value}", "password", "pair-secret-1"),
            ("Header {Name}: {Value}", "Authorization", "Basic dXNlcjpwYXNz"),
            ("{Setting} = {Value}", "Jwt:SigningKey", "s3cr3t-value"),
            ("{Key}:{Value}", "api_key", "pair-secret-2"),
            ("Setting {Key} : {Value} applied", "ConnectionStrings:Default", "Host=db;Database=pair-secret-3"),
            ("\"{Key}\":\"{Value}\"", "client_secret", "pair-secret-4"),
            ("{{\"{Key}\": \"{Value}\"}}", "refresh_token", "pair-secret-5"),
            ("'{Key}': '{Value}'", "X-Api-Key", "pair-secret-6"),
            ("{Key}='{Value}'", "Smtp:Password", "pair-secret-7"),
            ("{0}={1}", "Jwt:Secret", "pair-secret-8"),
            ("Read {Key,-24} = {Value} from {Source}", "Payments:Stripe:ApiKey", "pair-secret-9"),
            // Configuration's path: its last segment is the key the text detector reads in "Db:ConnStr=...".
            ("{Key}={Value}", "Db:ConnStr", "pair-secret-10"),
            // Tabs around the separator, as the key=value detector reads them in text (a dump aligned in columns).
            ("{Key}:\t{Value}", "Authorization", "Bearer pair-secret-11"),
            ("{Key}\t=\t'{Value}'", "password", "pair-secret-12"),
            // A configuration key's path written dotted, its last segment a secret's name (not a type's: see below).
            ("{Key}: {Value}", "Jwt.Secret", "pair-secret-13"),
            ("{Key}={Value}", "Auth.ApiKey", "pair-secret-14"),
            ("{Key}: {Value}", "Jwt.SecretKey", "pair-secret-15"),
        };
        foreach (var enricherOnly in new[] { false, true })
        {
            foreach (var (template, key, secret) in pairs)
                yield return new TestCaseData(template, key, secret, enricherOnly).SetArgDisplayNames(template, key, enricherOnly ? "enricher" : "sink");
        }
    }

    [TestCaseSource(nameof(Pairs))]
    public void AValueWrittenAfterASensitiveKeyInAnotherHoleIsMasked(string template, string key, string secret, bool enricherOnly)
    {
        object[] values = template.Contains("{Source}", StringComparison.Ordinal) ? [key, secret, "appsettings.json"] : [key, secret];
        var text = Log(l => l.Information(template, values), enricherOnly);

        Assert.That(text, Does.Not.Contain(secret));
        // The key is kept; a path whose first segment is sensitive has the rest read as a header line's value by the
        // detector ("Jwt:[REDACTED]"), as any string is.
        Assert.That(text, Does.Contain(key.Split(':')[0]).And.Contain(RedactionOptions.DefaultMask));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ADumpOfConfigurationHasTheValuesOfItsSensitiveKeysMasked(bool enricherOnly)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Default"] = "Server=db;Database=orders-dump-secret",
            ["Jwt:Secret"] = "jwt-dump-secret",
            ["Jwt:ExpiryMinutes"] = "dump-kept-30",
            ["Region"] = "dump-kept-eu",
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();

        var text = Log(l =>
        {
            foreach (var kv in configuration.AsEnumerable()) l.Information("{Key}={Value}", kv.Key, kv.Value);
        }, enricherOnly);

        Assert.That(text, Does.Not.Contain("dump-secret"));
        Assert.That(text, Does.Contain("dump-kept-30").And.Contain("dump-kept-eu").And.Contain("\"Value\":\"Warning\""));
    }

    [Test]
    public void AKeyHoleWhoseValueIsNotASensitiveKeyChangesNothing()
    {
        var text = Log(l =>
        {
            l.Information("{Key}={Value}", "Region", "kept-eu-1");
            // Not a string: a number, and an object, are no key.
            l.Information("{Key}={Value}", 42, "kept-number-2");
            l.Information("{@Key}={Value}", new { Name = "password" }, "kept-object-3");
            // Not a name: prose ("Invalid token: ..." is an error and its detail), a type's name (a logger category).
            l.Information("{Error}: {Detail}", "Invalid token", "kept-detail-4");
            l.Information("{Category}: {Message}", "Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerHandler", "kept-message-5");
            // Not written as a pair: other text between the holes.
            l.Information("{Key} of {Value}", "password", "kept-prose-6");
            l.Information("{Scheme}://{Host}", "token", "kept-host-7");
            // An exception's type, dotted, before its message.
            l.Information("{Type}: {Message}", "System.Security.Authentication.AuthenticationException", "kept-exception-8");
            // A line break is no separator: a key and a value on lines of their own are not read as a pair.
            l.Information("{Key}\n{Value}", "password", "kept-line-9");
        });

        Assert.That(text, Does.Contain("kept-eu-1").And.Contain("kept-number-2").And.Contain("kept-object-3")
            .And.Contain("kept-detail-4").And.Contain("kept-message-5").And.Contain("kept-prose-6").And.Contain("kept-host-7")
            .And.Contain("kept-exception-8").And.Contain("kept-line-9"));
        Assert.That(text, Does.Not.Contain(RedactionOptions.DefaultMask));
    }

    [Test]
    public void AnExcludedKeyKeepsItsValueInAPairToo()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Redacted(s => s.Sink(sink), r =>
                   {
                       r.DetectEmbeddedCredentials = true;
                       r.ExcludedKeys.Add("Jwt:Secret");
                   })
                   .CreateLogger())
        {
            logger.Information("{Key}={Value}", "Jwt:Secret", "kept-excluded-1");
        }

        Assert.That(Output.Render(sink.Events), Does.Contain("kept-excluded-1"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ADestructuredValueAfterASensitiveKeyIsMaskedWhole(bool enricherOnly)
    {
        var text = Log(l => l.Information("{Key}={@Value}", "Jwt:SigningKeys", new { Primary = "obj-secret-1", Region = "obj-region" }), enricherOnly);

        Assert.That(text, Does.Not.Contain("obj-secret-1").And.Not.Contain("obj-region"));
        Assert.That(text, Does.Contain("\"Value\":\"[REDACTED]\""));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ACopyOfAPairsMaskedValueElsewhereInTheEventIsMaskedToo(bool enricherOnly)
    {
        var text = Log(l => l.ForContext("Previous", "was echo-secret-1 before").Information("{Key}={Value}", "password", "echo-secret-1"), enricherOnly);

        Assert.That(text, Does.Not.Contain("echo-secret-1"));
        Assert.That(text, Does.Contain("was ").And.Contain(" before"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AMicrosoftExtensionsLoggingMessageWithAPairOfHolesIsMasked(bool enricherOnly)
    {
        var text = Log(serilog =>
        {
            using var provider = new Serilog.Extensions.Logging.SerilogLoggerProvider(serilog);
            var logger = provider.CreateLogger("Configuration");
            logger.LogInformation("{Key}={Value}", "Jwt:Secret", "mel-secret-1");
            logger.LogInformation("Header {Name}: {Value}", "Authorization", "Bearer mel-secret-2");
            logger.LogInformation("{Key}={Value}", "Region", "mel-kept-3");
        }, enricherOnly);

        Assert.That(text, Does.Not.Contain("mel-secret"));
        Assert.That(text, Does.Contain("mel-kept-3"));
    }

    [Test]
    public void APairsValueHasOnePseudonymWhetherOneOrTwoPassesRun()
    {
        // AddObservability() runs the enricher and the sink wrapper with the same rules: the second pass leaves the
        // first one's mask as it is, so the value has the pseudonym it has under a sensitive property name.
        string Write(bool bothPasses, string template, params object[] values)
        {
            var properties = CredentialPass.WithPseudonyms(bothPasses, l => l.Information(template, values)).Properties;
            return (properties.TryGetValue("Value", out var value) ? value : properties["Password"]).ToString();
        }

        var pseudonym = Write(false, "{Password}", "pseudo-secret-1");
        var once = Write(false, "{Key}={Value}", "ConnectionStrings:Default", "pseudo-secret-1");
        var twice = Write(true, "{Key}={Value}", "ConnectionStrings:Default", "pseudo-secret-1");

        Assert.That(pseudonym, Does.StartWith("\"k1:"));
        Assert.That(once, Is.EqualTo(pseudonym));
        Assert.That(twice, Is.EqualTo(once));
    }
}
