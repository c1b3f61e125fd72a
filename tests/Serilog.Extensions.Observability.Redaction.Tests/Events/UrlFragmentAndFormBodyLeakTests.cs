using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// Credentials in URL text an application logs itself, through the whole documented configuration with the detectors
/// <c>WithObservability()</c> turns on: the fragment of an OAuth 2.0 implicit or OpenID Connect hybrid redirect, a
/// form-encoded body whose first key is sensitive, text escaped for HTML or XML, and percent-encoded text the e-mail
/// detector reads.
/// </summary>
public class UrlFragmentAndFormBodyLeakTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static void AsWithObservability(RedactionOptions options)
    {
        options.DetectEmbeddedCredentials = true;
        options.DetectJwts = true;
    }

    static string Log(string text, Action<RedactionOptions>? configure = null) =>
        Capture.AllPiecesOutput(l => l.Information("Redirect {Location}", text), configure ?? AsWithObservability);

    // The implicit and hybrid flows return the credentials in the fragment (response_mode=fragment): the first one
    // follows '#', not '?' or '&'.
    [TestCase("https://app/signin-oidc#code=fa-code-1&state=fa-state-1&session_state=ss.1", "session_state=ss.1")]
    [TestCase("https://app/cb#state=fa-state-2&code=fa-code-2", "https://app/cb#state=")]
    [TestCase("#code=fa-code-3&id_token=fa-idt-3&state=fa-state-3", "#code=")]
    [TestCase("Location: https://app/cb?lang=en#nonce=fa-nonce-4&code=fa-code-4 sent", " sent")]
    public void OneTimeValuesInAFragmentAreMasked(string location, string kept)
    {
        var written = Log(location);

        Assert.That(written, Does.Not.Contain("fa-code").And.Not.Contain("fa-state").And.Not.Contain("fa-nonce").And.Not.Contain("fa-idt"));
        Assert.That(written, Does.Contain(kept));
    }

    // An access token in a fragment was masked with the rest of the fragment after it: the parameters beside it are
    // kept as they are in a query.
    [Test]
    public void AFragmentsOtherParametersAreKeptBesideAMaskedToken()
    {
        var written = Log("https://app/cb#access_token=fb-at-1&token_type=Bearer&expires_in=3600&scope=openid");

        Assert.That(written, Does.Not.Contain("fb-at-1"));
        Assert.That(written, Does.Contain("#access_token=" + Mask + "&token_type=Bearer&expires_in=3600&scope=openid"));
    }

    // A '#' that starts the text or follows white space is no URL's fragment but a comment (a configuration file's
    // commented-out line): the value after a password there runs as it did, over '&' and, before a ';', spaces.
    [TestCase("#spring.datasource.password=Sup3r&hc-secret-1", "#spring.datasource.password=" + Mask)]
    [TestCase("settings:\n#DB_PASSWORD=abc&hc-secret-2\nDB_HOST=db", "#DB_PASSWORD=" + Mask + "\nDB_HOST=db")]
    [TestCase("#Password=correct hc-secret-3;Server=db", "#Password=" + Mask + ";Server=db")]
    public void APasswordAfterACommentsHashKeepsItsWholeValue(string text, string expected)
    {
        var written = Capture.AllPiecesOutput(l => l.Information("Loaded {Settings}", text), AsWithObservability);

        Assert.That(written, Does.Not.Contain("hc-secret"));
        Assert.That(written, Does.Contain(expected.Replace("\n", "\\n")));
    }

    // A redirect URL carried in another URL's query has its fragment percent-encoded too.
    [Test]
    public void OneTimeValuesInAPercentEncodedFragmentAreMasked()
    {
        var written = Log("/login?returnUrl=%2Fcb%23code%3Dfc-code-1%26state%3Dfc-state-1");

        Assert.That(written, Does.Not.Contain("fc-code-1").And.Not.Contain("fc-state-1"));
        Assert.That(written, Does.Contain("%2Fcb%23code%3D" + Mask + "%26state%3D" + Mask));
    }

    [Test]
    public void AFragmentInTheTemplatesTextMasksTheHoleAfterACode()
    {
        var written = Capture.AllPiecesOutput(
            l => l.Information("Redirecting to {Callback}#code={AuthCode}&state={Flow}", "https://app/cb", "fd-code-1", "fd-state-1"),
            AsWithObservability);

        Assert.That(written, Does.Not.Contain("fd-code-1").And.Not.Contain("fd-state-1"));
        Assert.That(written, Does.Contain("https://app/cb"));
    }

    // A URL written into HTML or XML (a redirect page's link, a SAML metadata or configuration document) has its '&'
    // escaped: the key after "&amp;" is a query parameter as it is after '&'.
    [TestCase("<a href=\"https://app/cb?code=fg-code-1&amp;state=fg-state-1&amp;session_state=ss.1\">", "&amp;session_state=ss.1\">")]
    [TestCase("<Location>https://app/cb#id=7&amp;nonce=fg-nonce-1</Location>", "#id=7&amp;nonce=")]
    public void OneTimeValuesAfterAnEscapedAmpersandAreMasked(string markup, string kept)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("fg-"));
        Assert.That(written, Does.Contain(kept));
    }

    // An '&' escaped as a numeric character reference (WordPress's esc_url writes "&#038;") is one as well, and a form
    // body's first pair is followed by an escaped '&' in markup too.
    [TestCase("<a href=\"https://app/cb?code=ep-code-1&#038;state=ep-state-1&#038;lang=en\">", "&#038;lang=en\">")]
    [TestCase("<a href=\"https://app/cb?code=ep-code-2&#38;state=ep-state-2\">", "?code=")]
    [TestCase("<a href=\"https://app/cb?code=ep-code-3&#x26;state=ep-state-3\">", "?code=")]
    [TestCase("body 'code=ep-code-4&amp;state=ep-state-4&amp;lang=en'", "&amp;lang=en'")]
    [TestCase("body 'nonce=ep-nonce-5&#038;client_id=web'", "&#038;client_id=web'")]
    public void OneTimeValuesAfterANumericallyEscapedAmpersandAreMasked(string markup, string kept)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("ep-"));
        Assert.That(written, Does.Contain(kept));
    }

    // A connection string written into XML (a serialized settings object, a configuration file's content) has a '&',
    // '<' or '>' of its password escaped: the ';' that ends the escape is the password's, not the end of its value.
    [TestCase("<ConnectionString>Server=db;User Id=sa;Password=p&amp;w0rd-fh1;Encrypt=true</ConnectionString>", "Encrypt=true</ConnectionString>")]
    [TestCase("<add key=\"Db\" value=\"Server=db;Password=a&lt;b&gt;c&#38;d-fh2&#x26;e;Pooling=false\" />", ";Pooling=false\" />")]
    [TestCase("password=p&amp;w-fh3 was rejected", " was rejected")]
    public void AnXmlEscapeInAConnectionStringsPasswordIsMaskedWithIt(string text, string kept)
    {
        var written = Log(text);

        Assert.That(written, Does.Not.Contain("-fh").And.Not.Contain("w0rd").And.Not.Contain("e;Pooling"));
        Assert.That(written, Does.Contain(kept));
    }

    // A form-encoded body (a token request, SAML's POST binding, a device flow poll) logged whole: its first key has
    // nothing before it.
    [TestCase("code=fe-code-1&state=fe-state-1&redirect_uri=https%3A%2F%2Fapp%2Fcb", "&redirect_uri=https%3A%2F%2Fapp%2Fcb")]
    [TestCase("SAMLResponse=PHNhbWxwZmVzYW1s%3D&RelayState=fe-relay-1", "SAMLResponse=")]
    // device_code is sensitive anywhere, so its value runs on over the pairs after it, as password's does.
    [TestCase("device_code=fe-device-1&client_id=tv&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code", "device_code=" + Mask)]
    [TestCase("token request body code_verifier=fe-verifier-1&code=fe-code-2&client_id=web failed", "&client_id=web failed")]
    [TestCase("body 'nonce=fe-nonce-1&client_id=web'", "&client_id=web'")]
    public void OneTimeValuesAsTheFirstKeyOfAFormBodyAreMasked(string body, string kept)
    {
        var written = Log(body);

        Assert.That(written, Does.Not.Contain("fe-").And.Not.Contain("PHNhbWxw"));
        Assert.That(written, Does.Contain(kept));
    }

    // Prose puts a body in brackets or after a label, markup in an element, a property in a value of its own.
    [TestCase("Token request failed (code=fb-code-1&state=fb-state-1)", "Token request failed (code=")]
    [TestCase("[code=fb-code-2&redirect_uri=%2Fcb]", "&redirect_uri=%2Fcb]")]
    [TestCase("body:code=fb-code-3&client_id=web", "&client_id=web")]
    [TestCase("<Body>code=fb-code-4&amp;state=fb-state-4</Body>", "</Body>")]
    [TestCase("request body=code=fb-code-5&client_id=web", "&client_id=web")]
    public void OneTimeValuesAsTheFirstKeyOfABodyInBracketsOrAfterALabelAreMasked(string body, string kept)
    {
        var written = Log(body);

        Assert.That(written, Does.Not.Contain("fb-"));
        Assert.That(written, Does.Contain(kept));
    }

    // A key that is sensitive everywhere keeps the value it had: up to white space, over the '&' pairs after it, since
    // outside a query a password may hold "&x=" (a connection string that starts with it). Only one-time values, which
    // are sensitive only in a query, are read as a form's first pair.
    [TestCase("password=ff-pw-1&user=ann", "password=" + Mask)]
    [TestCase("Password=ff-pw-2&b=c;Server=db", "Password=" + Mask + ";Server=db")]
    public void APasswordAsTheFirstKeyIsMaskedAsBefore(string body, string expected)
    {
        var written = Log(body);

        Assert.That(written, Does.Not.Contain("ff-pw"));
        Assert.That(written, Does.Contain("\"" + expected + "\""));
    }

    // Only a form body: the names are ordinary anywhere else, and an excluded key keeps its value in a form too.
    [TestCase("job state=Running code=42 nonce=7")]
    [TestCase("state=open")]
    [TestCase("code=42 & state=open")]
    [TestCase("issue #42 state=open&page=2 was closed", "state")]
    public void OrdinaryTextKeepsItsValues(string text, string? excluded = null)
    {
        var written = Log(text, o =>
        {
            AsWithObservability(o);
            if (excluded is not null) o.ExcludedKeys.Add(excluded);
        });

        Assert.That(written, Does.Contain("\"" + text + "\"").And.Not.Contain(Mask));
    }

    // The e-mail detector reads a percent-encoded '@' (%40): an address in a query (login_hint=ann%40example.com).
    // Its local part ran back over the escapes of the text before it, so an encoded path lost its readable parts.
    [TestCase("GET /login?returnUrl=%2Fprofile%2Fann%40corp%2Fsettings%3Ftab%3Dteam%40acme.io 302",
        "GET /login?returnUrl=%2Fprofile%2Fann%40corp%2Fsettings%3Ftab%3D" + Mask + " 302")]
    [TestCase("returnUrl=%2Fhome%3Fa%3Db%40c.com", "returnUrl=%2Fhome%3Fa%3D" + Mask)]
    [TestCase("GET /search?q=hello%20%40dotnet.net 200", "GET /search?q=hello%20%40dotnet.net 200")]
    [TestCase("GET /users%2F%40me.json 200", "GET /users%2F%40me.json 200")]
    [TestCase("returnUrl=%2Fhome%3Fa%3Db%40c", "returnUrl=%2Fhome%3Fa%3Db%40c")]
    // Addresses, encoded or not, are masked whole.
    [TestCase("login_hint=user%40example.com", "login_hint=" + Mask)]
    [TestCase("/logout?logout_hint=ANN%2BX%40Example.CO.UK", "/logout?logout_hint=" + Mask)]
    [TestCase("to=ann.lee%2Bbills%40example.com&x=1", "to=" + Mask + "&x=1")]
    [TestCase("mail ann%x@example.com", "mail " + Mask)]
    [TestCase("mail 100%ann@example.com", "mail " + Mask)]
    [TestCase("next=%2Fmail%2Fann.lee@example.com", "next=%2Fmail%2F" + Mask)]
    public void PercentEncodedTextIsMaskedOnlyWhereItHoldsAnAddress(string text, string expected)
    {
        var written = Log(text, o => o.DetectEmailAddresses = true);

        Assert.That(written, Does.Contain("\"" + expected + "\""));
    }

    // A PEM private key posted in a form body or a query, its armor and line breaks URL-encoded, logged as a property and
    // as a message of its own, with every detector WithObservability() turns on.
    [TestCase("key=-----BEGIN%20PRIVATE%20KEY-----%0AMIIEvQIBADANBgkqhkiG9w0BAQEFAASC%0A-----END%20PRIVATE%20KEY-----")]
    [TestCase("key=-----BEGIN+PRIVATE+KEY-----%0AMIIEvQIBADANBgkqhkiG9w0BAQEFAASC%0A-----END+PRIVATE+KEY-----")]
    public void AUrlEncodedPrivateKeyIsMaskedAsAPropertyAndAsAMessage(string text)
    {
        static void WithKnownTokenFormats(RedactionOptions options)
        {
            AsWithObservability(options);
            options.DetectKnownTokenFormats = true;
        }

        var asProperty = Log(text, WithKnownTokenFormats);
        var asMessage = Capture.AllPiecesOutput(l => l.Information(text), WithKnownTokenFormats);

        Assert.Multiple(() =>
        {
            Assert.That(asProperty, Does.Not.Contain("MIIEvQ").And.Contain("PRIVATE"), "as a property");
            Assert.That(asMessage, Does.Not.Contain("MIIEvQ").And.Contain("PRIVATE"), "as the message");
        });
    }
}
