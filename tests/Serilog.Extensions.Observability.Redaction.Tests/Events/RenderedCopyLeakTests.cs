using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// Secrets masked under their sensitive name that Microsoft.Extensions.Logging also renders into other text of the
/// same event (a scope's text, a custom state's text), through the whole documented configuration.
/// </summary>
public class RenderedCopyLeakTests
{
    static string LogThroughMicrosoftLogging(Action<Microsoft.Extensions.Logging.ILogger> write)
    {
        var sink = new CollectingSink();
        using (var serilog = new LoggerConfiguration()
                   .Destructure.WithRedaction()
                   .Enrich.FromLogContext()
                   .Enrich.WithRedaction()
                   .WriteTo.Redacted(s => s.Sink(sink))
                   .CreateLogger())
        using (var provider = new Serilog.Extensions.Logging.SerilogLoggerProvider(serilog))
            write(provider.CreateLogger("Probe"));
        return Output.Render(sink.Events);
    }

    [Test]
    public void AHeaderValueUnderASensitiveNameIsMaskedInTheRenderedScopeToo()
    {
        // StringValues (an ASP.NET Core header) is a sequence to Serilog and "a, b" to the scope's text.
        var authorization = new StringValues("Bearer header-secret-7f3k");
        var text = LogThroughMicrosoftLogging(l =>
        {
            using (l.BeginScope("Calling upstream with {Authorization}", (object)authorization)) l.LogInformation("x");
        });

        Assert.That(text, Does.Not.Contain("header-secret-7f3k"));
        Assert.That(text, Does.Contain("Calling upstream with [REDACTED]"));
    }

    [Test]
    public void EverySecretOfAListUnderAPluralSensitiveNameIsMaskedInTheRenderedScopeToo()
    {
        var tokens = new List<string> { "refresh-secret-one", "refresh-secret-two" };
        var text = LogThroughMicrosoftLogging(l =>
        {
            using (l.BeginScope("Rotating {RefreshTokens}", (object)tokens)) l.LogInformation("x");
        });

        Assert.That(text, Does.Not.Contain("refresh-secret-one"));
        Assert.That(text, Does.Not.Contain("refresh-secret-two"));
    }

    [Test]
    public void AListOfSecretsInACustomStateIsMaskedInTheStateTextToo()
    {
        var state = new List<KeyValuePair<string, object?>> { new("User", "ann"), new("ApiKeys", new[] { "state-secret-key-1" }) };
        var text = LogThroughMicrosoftLogging(l =>
            l.Log(LogLevel.Information, default, state, null, (_, _) => "ann uses state-secret-key-1"));

        Assert.That(text, Does.Not.Contain("state-secret-key-1"));
        Assert.That(text, Does.Contain("ann uses [REDACTED]"));
    }

    [Test]
    public void AGuidSecretRenderedWithoutDashesIsMaskedInTheRenderedScopeToo()
    {
        var apiKey = Guid.Parse("7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
        var text = LogThroughMicrosoftLogging(l =>
        {
            using (l.BeginScope("Calling with {ApiKey:N}", apiKey)) l.LogInformation("x");
        });

        Assert.That(text, Does.Not.Contain("7c1e2d3f"));
    }

    [Test]
    public void AUriSecretIsMaskedInTheRenderedScopeToo()
    {
        var token = new Uri("https://files.example/download/uri-secret-0042");
        var text = LogThroughMicrosoftLogging(l =>
        {
            using (l.BeginScope("Fetching {DownloadToken}", token)) l.LogInformation("x");
        });

        Assert.That(text, Does.Not.Contain("uri-secret-0042"));
    }

    static string Log(Action<ILogger> write) => Capture.AllPiecesOutput(write);

    [Test]
    public void ASecretCopiedIntoAUriOfTheSameEventIsMaskedThere()
    {
        const string code = "oauth-secret-code-77";
        var text = Log(l => l.Information("Redirecting to {RedirectUri} with {AccessToken}", new Uri("https://app.example/callback?code=" + code), code));

        Assert.That(text, Does.Not.Contain(code));
        Assert.That(text, Does.Contain("https://app.example/callback?code=[REDACTED]"));
    }

    [Test]
    public void ASecretCopiedIntoADictionaryKeyOfTheSameEventIsMaskedThereWithoutLosingAnEntry()
    {
        const string apiKey = "key-secret-usage-31";
        var usage = new Dictionary<string, int> { [apiKey] = 5, ["[REDACTED]"] = 1, ["other-key-visible"] = 2 };

        var text = Log(l => l.Information("Quota for {ApiKey}: {UsageByKey}", apiKey, usage));

        Assert.That(text, Does.Not.Contain(apiKey));
        Assert.That(text, Does.Contain("other-key-visible"));
        Assert.That(text, Does.Contain("\"[REDACTED]#2\":5"));
    }
}
