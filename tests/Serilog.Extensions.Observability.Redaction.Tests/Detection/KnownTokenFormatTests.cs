using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Detection;

/// <summary>
/// <see cref="RedactionOptions.DetectKnownTokenFormats"/>: secrets in a vendor's documented format (PEM private keys,
/// AWS access key ids, GitHub, Slack, Stripe and Google API tokens) in free text, and what looks like one but is not.
/// </summary>
public class KnownTokenFormatTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static readonly Action<RedactionOptions> Detect = o => o.DetectKnownTokenFormats = true;

    /// <summary>
    /// <paramref name="length"/> characters of <paramref name="alphabet"/>, the same each run. Tokens are put together
    /// here rather than written out, so that no secret scanner takes the test sources for a leak.
    /// </summary>
    static string Fake(string alphabet, int length, int seed = 7)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = alphabet[(i * 31 + seed * 17 + i / 3) % alphabet.Length];
        return new string(chars);
    }

    const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const string Word = Alphanumeric + "_";
    const string GoogleKey = Alphanumeric + "_-";

    static IEnumerable<(string Name, string Token)> Tokens()
    {
        yield return ("AWS access key id", "AK" + "IA" + Fake(Upper, 16));
        yield return ("AWS temporary access key id", "AS" + "IA" + Fake(Upper, 16, 3));
        foreach (var kind in new[] { "p", "o", "u", "s", "r" })
            yield return ($"GitHub gh{kind}_ token", "gh" + kind + "_" + Fake(Alphanumeric, 36, kind[0]));
        yield return ("GitHub fine-grained token", "github" + "_pat_" + Fake(Word, 82));
        foreach (var kind in new[] { "b", "p", "a", "r", "s" })
            yield return ($"Slack xox{kind}- token", "xox" + kind + "-" + "1234567890-2345678901234-" + Fake(Alphanumeric, 24, kind[0]));
        yield return ("Stripe live secret key", "sk" + "_live_" + Fake(Alphanumeric, 24));
        yield return ("Stripe live restricted key", "rk" + "_live_" + Fake(Alphanumeric, 99, 5));
        yield return ("Stripe test secret key", "sk" + "_test_" + Fake(Alphanumeric, 30, 11));
        yield return ("Stripe test restricted key", "rk" + "_test_" + Fake(Alphanumeric, 24, 13));
        yield return ("Google API key", "AI" + "za" + Fake(GoogleKey, 35));
    }

    static IEnumerable<TestCaseData> TokenCases()
    {
        foreach (var (name, token) in Tokens())
        foreach (var route in Routes.All)
            yield return new TestCaseData(token, route).SetName($"{name} via {route}");
    }

    [TestCaseSource(nameof(TokenCases))]
    public void ATokenInAKnownFormatIsMaskedInAMessageProperty(string token, Route route)
    {
        var text = $"deploy failed with {token}, retrying";

        var logEvent = Routes.Write(route, "Note", text, Pieces.All, Detect).Single();

        Assert.That(logEvent.Properties["Note"].ToString(), Is.EqualTo($"\"deploy failed with {Mask}, retrying\""));
    }

    static IEnumerable<TestCaseData> TokensAnywhere()
    {
        foreach (var (name, token) in Tokens()) yield return new TestCaseData(token).SetName(name);
        foreach (var (name, block, _) in PrivateKeyBlocks()) yield return new TestCaseData(block).SetName(name);
    }

    [TestCaseSource(nameof(TokensAnywhere))]
    public void ATokenInAKnownFormatIsMaskedInTheExceptionMessage(string token)
    {
        var error = new InvalidOperationException("Startup failed: " + token + " was rejected");

        var logEvent = Routes.Write(Route.MessageArgument, "N", 1, Pieces.Sink, Detect, exception: error).Single();

        Assert.That(logEvent.Exception!.Message, Does.StartWith("Startup failed: ").And.Contain(Mask).And.Not.Contain(Body(token)));
        Assert.That(Output.Render(logEvent), Does.Not.Contain(Body(token)));
    }

    [TestCaseSource(nameof(TokensAnywhere))]
    public void ATokenInAKnownFormatIsMaskedInANestedDestructuredString(string token)
    {
        var request = new { Path = "/deploy", Headers = new Dictionary<string, object> { ["X-Note"] = "sent " + token } };

        foreach (var pieces in new[] { Pieces.Policy, Pieces.Sink, Pieces.All })
        {
            var text = Output.Render(Routes.Write(Route.DestructuredArgument, "Request", request, pieces, Detect));
            Assert.That(text, Does.Not.Contain(Body(token)).And.Contain("sent ").And.Contain(Mask).And.Contain("/deploy"), pieces.ToString());
        }
    }

    [TestCaseSource(nameof(TokensAnywhere))]
    public void ATokenInAKnownFormatIsMaskedInTheMessageTemplate(string token)
    {
        var logEvent = Routes.Write(Route.MessageArgument, "User", "ann", Pieces.Sink, Detect, template: "Key " + token + " used by").Single();

        Assert.That(Output.Render(logEvent), Does.Not.Contain(Body(token)));
    }

    /// <summary>What must not be written: a token whole, or a private key's base64 body.</summary>
    static string Body(string token) =>
        token.StartsWith("-----", StringComparison.Ordinal) ? token.Split('\n')[2] : token;

    static readonly string KeyBody = string.Join("\n", Enumerable.Range(0, 4).Select(i => Fake(Alphanumeric + "+/", 64, i)));

    static IEnumerable<(string Name, string Block, string Masked)> PrivateKeyBlocks()
    {
        foreach (var label in new[] { "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY" })
        {
            var begin = $"-----BEGIN {label}-----";
            var end = $"-----END {label}-----";
            yield return ($"PEM {label} block", $"{begin}\n{KeyBody}\n{end}", $"{begin}\n{Mask}\n{end}");
        }
    }

    static IEnumerable<TestCaseData> PrivateKeyCases()
    {
        foreach (var (name, block, masked) in PrivateKeyBlocks())
        foreach (var route in Routes.All)
            yield return new TestCaseData(block, masked, route).SetName($"{name} via {route}");
    }

    [TestCaseSource(nameof(PrivateKeyCases))]
    public void APrivateKeyBlockHasItsBodyMaskedAndItsArmorKept(string block, string masked, Route route)
    {
        var logEvent = Routes.Write(route, "Note", "key file:\n" + block + "\nloaded", Pieces.All, Detect).Single();

        Assert.That(((Serilog.Events.ScalarValue)logEvent.Properties["Note"]).Value, Is.EqualTo("key file:\n" + masked + "\nloaded"));
    }

    [Test]
    public void APrivateKeyBlockCutShortIsMaskedToTheEndOfTheText()
    {
        // Serilog's ToMaximumStringLength, a message cut by a size limit, a paste that stopped early: no END line.
        var cut = "loaded -----BEGIN RSA PRIVATE KEY-----\r\n" + KeyBody[..100];

        Assert.That(Redact(cut), Is.EqualTo("loaded -----BEGIN RSA PRIVATE KEY-----\r\n" + Mask));
    }

    [Test]
    public void APrivateKeyBlockWithCarriageReturnsAndAHeaderIsMaskedWhole()
    {
        var block = "-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\nDEK-Info: AES-128-CBC,0A1B2C\r\n\r\n"
                    + KeyBody.Replace("\n", "\r\n") + "\r\n-----END RSA PRIVATE KEY-----";

        Assert.That(Redact(block), Is.EqualTo($"-----BEGIN RSA PRIVATE KEY-----\r\n{Mask}\r\n-----END RSA PRIVATE KEY-----"));
    }

    [Test]
    public void APrivateKeyFlattenedIntoJsonTextIsMasked()
    {
        // A service account file quoted in an exception: the line breaks are the JSON escape "\n".
        var json = "config: {\"type\":\"service_account\",\"pk\":\"-----BEGIN PRIVATE KEY-----\\n" + KeyBody.Replace("\n", "\\n")
                   + "\\n-----END PRIVATE KEY-----\\n\",\"client_email\":\"svc\"}";

        var masked = Redact(json);

        Assert.That(masked, Does.Not.Contain(KeyBody.Split('\n')[1]).And.Contain("-----END PRIVATE KEY-----").And.Contain("\"client_email\":\"svc\""));
    }

    // A key carried in a query string or a form body: its armor's spaces percent-encoded (%20) or written '+', its line
    // breaks %0A (or %0D%0A), and its body's '+' and '/' encoded too.
    [TestCase("%20", "%0A")]
    [TestCase("+", "%0A")]
    [TestCase("+", "%0D%0A")]
    [TestCase("%20", "%0a")]
    public void APrivateKeyUrlEncodedInAQueryOrAFormBodyIsMasked(string space, string lineBreak)
    {
        var body = KeyBody.Replace("+", "%2B").Replace("/", "%2F").Replace("\n", lineBreak);
        var begin = $"-----BEGIN{space}RSA{space}PRIVATE{space}KEY-----";
        var end = $"-----END{space}RSA{space}PRIVATE{space}KEY-----";

        Assert.That(Redact($"key={begin}{lineBreak}{body}{lineBreak}{end}&format=pem"),
            Is.EqualTo($"key={begin}{lineBreak}{Mask}{lineBreak}{end}&format=pem"));
    }

    [TestCase("-----BEGIN%20CERTIFICATE-----%0AMIIBszCCAVmgAwIBAgIU%0A-----END%20CERTIFICATE-----")]
    [TestCase("-----BEGIN+PUBLIC+KEY-----%0AMIIBszCCAVmgAwIBAgIU%0A-----END+PUBLIC+KEY-----")]
    [TestCase("-----BEGIN%PRIVATE%KEY-----%0AMIIBszCCAVmgAwIBAgIU")]
    public void AnEncodedBlockThatIsNoPrivateKeyIsKept(string text) => Assert.That(Redact(text), Is.Null);

    [Test]
    public void ACertificateChainKeepsItsCertificatesAndLosesItsKey()
    {
        var certificate = "-----BEGIN CERTIFICATE-----\n" + KeyBody + "\n-----END CERTIFICATE-----";
        var publicKey = "-----BEGIN PUBLIC KEY-----\n" + KeyBody + "\n-----END PUBLIC KEY-----";
        var pem = $"{certificate}\n-----BEGIN PRIVATE KEY-----\n{Fake(Alphanumeric, 64, 99)}\n-----END PRIVATE KEY-----\n{publicKey}";

        Assert.That(Redact(pem), Is.EqualTo($"{certificate}\n-----BEGIN PRIVATE KEY-----\n{Mask}\n-----END PRIVATE KEY-----\n{publicKey}"));
        Assert.That(Redact(certificate), Is.Null);
    }

    [Test]
    public void APrivateKeyCutShortBeforeAnotherBlockIsMaskedUpToThatBlock()
    {
        var certificate = "-----BEGIN CERTIFICATE-----\n" + KeyBody + "\n-----END CERTIFICATE-----";
        var pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + KeyBody + "\n-----END PGP PRIVATE KEY BLOCK-----";

        Assert.That(Redact($"-----BEGIN EC PRIVATE KEY-----\n{KeyBody[..70]}\n{certificate}\n{pgp}"),
            Is.EqualTo($"-----BEGIN EC PRIVATE KEY-----\n{Mask}\n{certificate}\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{Mask}\n-----END PGP PRIVATE KEY BLOCK-----"));
    }

    [Test]
    public void APrivateKeyAfterASensitiveKeyLosesItsWholeBodyWithEmbeddedCredentialsOn()
    {
        // The key=value detector masks the value up to white space: its BEGIN line. The body must not outlive that line.
        var text = $"settings private_key=-----BEGIN PRIVATE KEY-----\n{KeyBody}\n-----END PRIVATE KEY----- loaded";
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectKnownTokenFormats = true, DetectEmbeddedCredentials = true });

        var masked = redactor.Detectors!.Redact(text);

        Assert.That(masked, Does.StartWith($"settings private_key={Mask}").And.EndWith($"\n{Mask}\n-----END PRIVATE KEY----- loaded"));
        foreach (var line in KeyBody.Split('\n')) Assert.That(masked, Does.Not.Contain(line));
    }

    static IEnumerable<TestCaseData> NearMisses()
    {
        TestCaseData Case(string text, string name) => new TestCaseData(text).SetName(name);
        yield return Case("ref XAKIA" + Fake(Upper, 16) + " kept", "AKIA inside a word");
        yield return Case("ref AKIA" + Fake(Upper, 15) + " kept", "AKIA with 15 characters");
        yield return Case("ref AKIA" + Fake(Upper, 17) + " kept", "AKIA with 17 characters");
        yield return Case("ref AKIA" + Fake(Upper, 12) + "abcd kept", "AKIA with lower-case letters");
        yield return Case("ASIA-PACIFIC and ASIAN markets", "ASIA as a word");
        yield return Case("token ghp_" + Fake(Alphanumeric, 20) + " kept", "ghp_ too short");
        yield return Case("token xghp_" + Fake(Alphanumeric, 36) + " kept", "ghp_ inside a word");
        yield return Case("token ghx_" + Fake(Alphanumeric, 36) + " kept", "gh with another letter");
        yield return Case("token github_pat_" + Fake(Word, 40) + " kept", "github_pat_ too short");
        yield return Case("channel xoxb-test and xoxo-1234567890-1234567890 kept", "xoxb- too short and xoxo");
        yield return Case("key sk_live_" + Fake(Alphanumeric, 20) + " kept", "sk_live_ too short");
        yield return Case("key pk_live_" + Fake(Alphanumeric, 24) + " kept", "a publishable key");
        yield return Case("key task_live_" + Fake(Alphanumeric, 24) + " kept", "sk_live_ inside a word");
        yield return Case("key AIza" + Fake(GoogleKey, 30) + " kept", "AIza too short");
        yield return Case("key AIza" + Fake(GoogleKey, 36) + " kept", "AIza too long");
        yield return Case("blob ghp_" + Fake(Alphanumeric, 252) + " kept", "ghp_ longer than any token");
        yield return Case(string.Concat(Enumerable.Repeat("xoxb-", 2000)) + "_", "xoxb- repeated inside a longer word");
        yield return Case("-----BEGIN CERTIFICATE-----\n" + KeyBody + "\n-----END CERTIFICATE-----", "a certificate");
        yield return Case("-----BEGIN PUBLIC KEY-----\n" + KeyBody, "a public key cut short");
        yield return Case("the PRIVATE KEY and -----BEGIN PRIVATE KEY without its dashes", "no armor");
    }

    [TestCaseSource(nameof(NearMisses))]
    public void TextThatOnlyLooksLikeAKnownFormatIsKept(string text)
    {
        Assert.That(Redact(text), Is.Null);
        var logEvent = Routes.Write(Route.MessageArgument, "Note", text, Pieces.All, Detect).Single();
        Assert.That(((Serilog.Events.ScalarValue)logEvent.Properties["Note"]).Value, Is.EqualTo(text));
    }

    [Test]
    public void TokensAreFoundAtEveryBoundary()
    {
        var aws = "AKIA" + Fake(Upper, 16);
        var github = "ghp_" + Fake(Alphanumeric, 36);

        Assert.Multiple(() =>
        {
            Assert.That(Redact(aws), Is.EqualTo(Mask), "the whole text");
            Assert.That(Redact("ghp_" + Fake(Alphanumeric, 251)), Is.EqualTo(Mask), "255 characters");
            Assert.That(Redact($"key=\"{aws}\";"), Is.EqualTo($"key=\"{Mask}\";"));
            Assert.That(Redact($"https://api/{github}/x?k={aws}&a=1"), Is.EqualTo($"https://api/{Mask}/x?k={Mask}&a=1"));
            Assert.That(Redact($"{aws}{aws}"), Is.Null, "glued into one longer word");
            Assert.That(Redact($"[{aws}]({github})"), Is.EqualTo($"[{Mask}]({Mask})"));
        });
    }

    [Test]
    public void TokensAreFoundAfterAnEscapedSeparator()
    {
        // Text quoted in JSON or a URL: the character before the token is escaped, and the escape ends in a letter or digit.
        var aws = "AKIA" + Fake(Upper, 16);
        var github = "ghp_" + Fake(Alphanumeric, 36);

        Assert.Multiple(() =>
        {
            Assert.That(Redact($"first line\\n{github}\\nlast line"), Is.EqualTo($"first line\\n{Mask}\\nlast line"), "JSON's \\n");
            Assert.That(Redact($"a\\r\\n{aws}\\tb"), Is.EqualTo($"a\\r\\n{Mask}\\tb"), "JSON's \\r\\n and \\t");
            Assert.That(Redact($"token=\\u0022{github}\\u0022"), Is.EqualTo($"token=\\u0022{Mask}\\u0022"), "System.Text.Json's \\u0022");
            Assert.That(Redact($"next=%2Fcb%3Fkey%3D{aws}%26a%3D1"), Is.EqualTo($"next=%2Fcb%3Fkey%3D{Mask}%26a%3D1"), "an encoded =");
            Assert.That(Redact($"q=deploy%20{github}%22"), Is.EqualTo($"q=deploy%20{Mask}%22"), "an encoded space");
            Assert.That(Redact($"x%3A{aws}"), Is.EqualTo($"x%3A{Mask}"), "an encoded : whose last digit is an A");
            Assert.That(Redact($"dir\\nx{github}"), Is.Null, "a letter after the escape is glued to the token");
        });
    }

    [Test]
    public void OtherDetectorsLeaveTheFormatsToThisOne()
    {
        var token = "ghp_" + Fake(Alphanumeric, 36);
        var logEvent = Routes.Write(Route.MessageArgument, "Note", "sent " + token, Pieces.All, o =>
        {
            o.DetectJwts = o.DetectBearerTokens = o.DetectEmailAddresses = o.DetectCardNumbers = o.DetectEmbeddedCredentials = true;
        }).Single();

        Assert.That(logEvent.Properties["Note"].ToString(), Does.Contain(token), "the option is off by default");
    }

    [Test]
    public void APassWithoutTheOptionDoesNotStopOneWithItFromMaskingWhatItRewrote()
    {
        // The enricher masks the address and marks the text done for its rules; the sink's rules are other ones.
        var aws = "AKIA" + Fake(Upper, 16);
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Enrich.WithRedaction(o => o.DetectEmailAddresses = true)
                   .WriteTo.Redacted(s => s.Sink(sink), o => o.DetectEmailAddresses = o.DetectKnownTokenFormats = true)
                   .CreateLogger())
        {
            logger.Information("{Note}", $"mail ann@example.com key {aws}");
        }

        Assert.That(sink.SingleEvent.Properties["Note"].ToString(), Is.EqualTo($"\"mail {Mask} key {Mask}\""));
    }

    [Test]
    public void EveryMaskStyleApplies()
    {
        var aws = "AKIA" + Fake(Upper, 16);

        var partial = RedactorFactory.Create(new RedactionOptions { DetectKnownTokenFormats = true, MaskStyle = RedactionMaskStyle.Partial });
        var pseudonym = RedactorFactory.Create(new RedactionOptions
        {
            DetectKnownTokenFormats = true, MaskStyle = RedactionMaskStyle.Pseudonym, PseudonymKey = "0123456789abcdef0123",
        });

        Assert.That(partial.Detectors!.Redact("key " + aws), Is.EqualTo("key " + Mask + aws[^4..]));
        Assert.That(pseudonym.Detectors!.Redact("key " + aws), Does.Match("^key k1:[0-9a-f]{32}$"));
    }

    [Test]
    public void ATokenAnotherDetectorMasksKeepsThatDetectorsPseudonym()
    {
        // A pseudonym stands for the value it masks: a token after a sensitive key or "Bearer" must get the same one as
        // without this option (and as the token masked alone), not a pseudonym of its pseudonym.
        var github = "ghp_" + Fake(Alphanumeric, 36);
        RedactionOptions Options(bool known) => new()
        {
            DetectKnownTokenFormats = known, DetectEmbeddedCredentials = true, DetectBearerTokens = true,
            MaskStyle = RedactionMaskStyle.Pseudonym, PseudonymKey = "0123456789abcdef0123",
        };
        var without = RedactorFactory.Create(Options(known: false));
        var with = RedactorFactory.Create(Options(known: true));
        var pseudonym = with.Masker.MaskText(github);

        Assert.Multiple(() =>
        {
            foreach (var text in new[] { $"token={github}", $"call sent with Bearer {github} failed", $"?a=1&access_token={github}&b=2" })
            {
                Assert.That(with.Detectors!.Redact(text), Is.EqualTo(without.Detectors!.Redact(text)), text);
                Assert.That(with.Detectors!.Redact(text), Does.Contain(pseudonym), text);
            }
            Assert.That(with.Detectors!.Redact($"sent {github}"), Is.EqualTo($"sent {pseudonym}"));
        });
    }

    static string? Redact(string text) =>
        RedactorFactory.Create(new RedactionOptions { DetectKnownTokenFormats = true }).Detectors!.Redact(text);
}
