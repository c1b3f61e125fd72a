using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// The event passes let a text by unread when it holds none of the characters every secret the turned-on detectors
/// find holds (an id in hex, new on every event). These tests pin both sides: such a text is passed by, and every
/// detector still finds its secret when that secret is the whole text, with nothing around it to hold another anchor.
/// </summary>
public class DetectorAnchorTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static readonly Action<RedactionOptions> Defaults = o =>
    {
        o.DetectEmbeddedCredentials = true;
        o.DetectJwts = true;
        o.DetectKnownTokenFormats = true;
    };

    static Redactor Create(Action<RedactionOptions> configure)
    {
        var options = new RedactionOptions();
        configure(options);
        return RedactorFactory.Create(options);
    }

    /// <summary>A secret's pieces put together at run time, so that no secret scanner takes the test sources for a leak.</summary>
    static string Join(params string[] pieces) => string.Concat(pieces);

    static IEnumerable<TestCaseData> SecretsAlone()
    {
        static TestCaseData Case(string name, Action<RedactionOptions> configure, string text, string secret) =>
            new TestCaseData(configure, text, secret).SetName(name);

        yield return Case("key=value", o => o.DetectEmbeddedCredentials = true, "password=hunter22", "hunter22");
        yield return Case("percent-encoded key=value", o => o.DetectEmbeddedCredentials = true, "password%3Dhunter22", "hunter22");
        yield return Case("URL user info", o => o.DetectEmbeddedCredentials = true, "https://ann:pw4hunter@db", "pw4hunter");
        yield return Case("header line", o => o.DetectEmbeddedCredentials = true, "Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz");
        yield return Case("JWT", o => o.DetectJwts = true, Join("eyJhbGciOiJIUzI1NiJ9", ".", "eyJzdWIiOiIxIn0", ".", "c2lnbmF0dXJl"), "c2lnbmF0dXJl");
        yield return Case("bearer token, lower case", o => o.DetectBearerTokens = true, "bearer abcdef0123456789", "abcdef0123456789");
        yield return Case("bearer token, upper case", o => o.DetectBearerTokens = true, "BEARER abcdef0123456789", "abcdef0123456789");
        yield return Case("e-mail address", o => o.DetectEmailAddresses = true, "ann@example.com", "ann@example.com");
        yield return Case("percent-encoded e-mail address", o => o.DetectEmailAddresses = true, "ann%40example.com", "ann%40example.com");
        yield return Case("AWS access key id", o => o.DetectKnownTokenFormats = true, Join("AK", "IA", "0123456789ABCDEF"), "0123456789ABCDEF");
        yield return Case("GitHub token", o => o.DetectKnownTokenFormats = true, Join("gh", "p_", "0123456789abcdef0123456789abcdef0123"), "0123456789abcdef0123456789abcdef0123");
        yield return Case("Slack token", o => o.DetectKnownTokenFormats = true, Join("xo", "xb-", "1234567890-2345678901234-", "abcdef0123456789abcdef01"), "abcdef0123456789abcdef01");
        yield return Case("PEM private key", o => o.DetectKnownTokenFormats = true, Join("-----BEGIN ", "PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END ", "PRIVATE KEY-----"), "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
        yield return Case("card number", o => o.DetectCardNumbers = true, "4111111111111111", "4111111111111111");
        yield return Case("user pattern without any anchor", o => o.ValuePatterns.Add(@"\b98765\b"), "98765", "98765");
    }

    [TestCaseSource(nameof(SecretsAlone))]
    public void EachDetectorFindsASecretThatIsTheWholeText(Action<RedactionOptions> configure, string text, string secret)
    {
        foreach (var pieces in new[] { Pieces.Enricher, Pieces.Sink })
        {
            // Twice: the second event's pass may answer from the memo of texts found clean, which must not hold this one.
            for (var i = 0; i < 2; i++)
            {
                var logEvent = Routes.Write(Route.MessageArgument, "Note", new string(text.AsSpan()), pieces, configure).Single();
                var written = ((ScalarValue)logEvent.Properties["Note"]).Value as string;
                Assert.That(written, Does.Contain(Mask).And.Not.Contain(secret), $"{pieces}, event {i + 1}");
            }
        }
    }

    [TestCase("4bf92f3577b34da6a3ce929d0e0e4736", TestName = "a trace id")]
    [TestCase("00f067aa0ba902b7", TestName = "a span id")]
    [TestCase("order 12 shipped to the west depot", TestName = "prose without an anchor")]
    public void ATextWithoutAnyAnchorIsPassedByUnread(string text)
    {
        var redactor = Create(Defaults);

        Assert.That(redactor.IsPlainScalar(new ScalarValue(text)), Is.True);
    }

    static IEnumerable<TestCaseData> TextsWithAnAnchor()
    {
        foreach (var (text, anchor) in new[] { ("a=b", "="), ("a%3Db", "%"), ("id:1", ":"), ("{Id 1}", "{"), ("eyJx", "J"), ("a-b", "-"), ("Ab", "A"), ("a_b", "_") })
            yield return new TestCaseData(text).SetName($"'{anchor}' is an anchor of the defaults");
    }

    [TestCaseSource(nameof(TextsWithAnAnchor))]
    public void ATextWithAnAnchorIsRead(string text)
    {
        var redactor = Create(Defaults);

        Assert.That(redactor.IsPlainScalar(new ScalarValue(text)), Is.False);
    }

    [Test]
    public void EveryTextIsReadWhenCardNumbersOrAUserPatternAreLookedFor()
    {
        // A card number is digits and a user's pattern may match anything: no character tells that there is nothing.
        var cards = Create(o => { Defaults(o); o.DetectCardNumbers = true; });
        var patterns = Create(o => { Defaults(o); o.ValuePatterns.Add("b7"); });
        var id = "4bf92f3577b34da6a3ce929d0e0e4736";

        Assert.That(cards.IsPlainScalar(new ScalarValue(id)), Is.False);
        Assert.That(patterns.IsPlainScalar(new ScalarValue(id)), Is.False);
    }
}
