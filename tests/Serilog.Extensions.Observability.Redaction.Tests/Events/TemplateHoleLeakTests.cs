using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// A sensitive key written in the message template's own text, right before a hole (<c>"password={0}"</c>), makes the
/// value rendered into that hole a credential, whatever the property's name: the rendered message is
/// <c>password=hunter2</c>, which <c>DetectEmbeddedCredentials</c> masks in any string.
/// </summary>
public class TemplateHoleLeakTests
{
    static string Log(Action<Serilog.ILogger> write, bool enricherOnly = false) => CredentialPass.Log(write, enricherOnly);

    [TestCase(false)]
    [TestCase(true)]
    public void AValueWrittenRightAfterASensitiveKeyInTheTemplateTextIsMasked(bool enricherOnly)
    {
        var text = Log(l =>
        {
            l.Information("Connecting with password={0} as {User}", "hole-secret-1", "ann");
            l.Information("Opening Server=db;Password={Value};Database={Database}", "hole-secret-2", "orders");
            l.Information("Retrying pwd = {P} user={U}", "hole-secret-3", "bob");
            l.Information("Calling postgres://{Login}:{Pass}@{Host}/app", "app", "hole-secret-4", "db");
            // The same under a name the rules leave alone ("Pass" is sensitive by itself): the template's text holds no '='.
            l.Information("Calling postgres://{Login}:{Part}@{Host}/app", "app", "hole-secret-9", "db");
            l.Information("Signing with client_secret=sk-{Rest}", "hole-secret-5");
            // A URL percent-encoded in another's query: the template's text need hold no '='.
            l.Information("Redirecting to /login?next%3D%2Fcb%3Faccess_token%3D{0}", "hole-secret-6");
            // A header line: its value runs to the end of the line, over the scheme and the credential.
            l.Information("Sending\nAuthorization: Bearer {Credential}\nX-Api-Key: {0}", "hole-secret-7", "hole-secret-8");
            l.Information("Running curl -H \"X-Api-Key:{Value}\" {Url}", "hole-secret-10", "https://api/x");
            l.Information("Using API Key: {Value} for {Url}", "hole-secret-11", "https://api/x");
        }, enricherOnly);

        Assert.That(text, Does.Not.Contain("hole-secret"));
        Assert.That(text, Does.Contain("ann").And.Contain("orders").And.Contain("bob").And.Contain("\"db\""));
    }

    [Test]
    public void AHoleAfterAKeyThatIsNotSensitiveKeepsItsValue()
    {
        var text = Log(l => l.Information("GET /orders?id={Id}&page={Page} token_count={Count}", "o-77", 3, 120));

        Assert.That(text, Does.Contain("o-77").And.Contain("120"));
        Assert.That(text, Does.Not.Contain(RedactionOptions.DefaultMask));
    }

    [Test]
    public void TheProbesThatFindTheHolesAreNotMaskedInTheEventsOtherValues()
    {
        // The template is read with a probe ("zq0x") in each hole; the probe the detector masks is not a value of the
        // event, and other text that happens to hold it keeps it.
        var text = Log(l => l.Information("Connecting with password={0} for order {Order}", "hole-secret-1", "zq0x-77"));

        Assert.That(text, Does.Not.Contain("hole-secret"));
        Assert.That(text, Does.Contain("\"Order\":\"zq0x-77\""));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AScopeTemplatesHoleAfterASensitiveKeyIsMaskedInItsPropertyToo(bool enricherOnly)
    {
        // Microsoft.Extensions.Logging hands Serilog a scope's properties and its rendered text, not its template: the
        // detector finds "password=scope-secret-1" in the text, and the same value is masked under the neutral name.
        var text = Log(serilog =>
        {
            using var provider = new Serilog.Extensions.Logging.SerilogLoggerProvider(serilog);
            var logger = provider.CreateLogger("Probe");
            using (logger.BeginScope("Connecting as {User} with password={Pw}", "ann", "scope-secret-1"))
            using (logger.BeginScope("Server=db;Pwd={0};", "scope-secret-2"))
                logger.LogInformation("Connected");
        }, enricherOnly);

        Assert.That(text, Does.Not.Contain("scope-secret"));
        Assert.That(text, Does.Contain("\"User\":\"ann\""));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AScopeValueFollowedByPunctuationInItsTextIsMaskedInItsPropertyToo(bool enricherOnly)
    {
        // Prose puts a comma, a bracket or a full stop right after a value; the detector masks it with the value
        // ("hunter2,"), and the property holds the value alone.
        var text = Log(serilog =>
        {
            using var provider = new Serilog.Extensions.Logging.SerilogLoggerProvider(serilog);
            var logger = provider.CreateLogger("Probe");
            using (logger.BeginScope("Login with password={Pw}, as {User}", "scope-secret-1", "ann"))
            using (logger.BeginScope("Connecting (token={Tok})", "scope-secret-2"))
            using (logger.BeginScope("Signed with sig={Value}.", "scope-secret-3"))
                logger.LogInformation("Connected");
        }, enricherOnly);

        Assert.That(text, Does.Not.Contain("scope-secret"));
        Assert.That(text, Does.Contain("\"User\":\"ann\""));
    }

    // Serilog's parser ends a text token at a brace that opens no hole, and at the '=' inside it: a key and its value in
    // such braces (a literal JSON object, a note in braces) are read together, as the text they render to.
    [TestCase("Login {note: password=brace-secret-1 ok}")]
    [TestCase("{\"h\":\"Cookie: session=brace-secret-2\"}")]
    [TestCase("Payload {\"client_secret=brace-secret-3\"} sent")]
    public void AKeyAndItsValueInBracesThatOpenNoHoleAreMaskedInTheTemplate(string template)
    {
        var text = Log(l => l.Information(template));

        Assert.That(text, Does.Not.Contain("brace-secret").And.Contain(RedactionOptions.DefaultMask));
    }

    // A JSON body interpolated into the template's text (a message built with $"..." or string.Concat) is masked by key,
    // as the same text is in a property or an exception's message: the template's text is the rendered message too.
    [TestCase("Body: {\"user\":\"ann\",\"password\":\"json-secret-1\",\"x\":1} (truncated)", "\"user\":\"ann\"")]
    [TestCase("Token response {\"access_token\":\"json-secret-2\",\"token_type\":\"Bearer\"}", "\"token_type\":\"Bearer\"")]
    [TestCase("Sent [{\"name\":\"db\",\"client_secret\":\"json-secret-3\"}]", "\"name\":\"db\"")]
    [TestCase("Cut body {\"user\":\"ann\",\"password\":\"json-secret-4\"", "Cut body")]
    public void ASensitiveKeyOfJsonInTheTemplatesTextIsMasked(string template, string kept)
    {
        var text = Log(l => l.Information(template));

        Assert.That(text, Does.Not.Contain("json-secret").And.Contain(RedactionOptions.DefaultMask));
        Assert.That(text, Does.Contain(kept.Replace("\"", "\\\"")));
    }
}
