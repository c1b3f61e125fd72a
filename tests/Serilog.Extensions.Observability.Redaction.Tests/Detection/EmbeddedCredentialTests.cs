using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Detection;

namespace Serilog.Extensions.Observability.Redaction.Tests.Detection;

public class EmbeddedCredentialTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static string Redact(string text) =>
        RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true }).Detectors!.Redact(text) ?? text;

    // A connection string's unquoted value runs to the next ';': commas, '#', '&', brackets, pipes and spaces are part
    // of the password, and none of it may be left readable.
    [TestCase("Server=db;User Id=sa;Password=P@ss,word#1!;Encrypt=true", "Server=db;User Id=sa;Password=" + Mask + ";Encrypt=true")]
    [TestCase("Server=db;Password=Tr0ub&3|x>y)z;Encrypt=true", "Server=db;Password=" + Mask + ";Encrypt=true")]
    [TestCase("Server=db;Password=correct horse battery staple;Encrypt=true", "Server=db;Password=" + Mask + ";Encrypt=true")]
    [TestCase("Server=db;Password=correct horse battery", "Server=db;Password=" + Mask)]
    [TestCase("Password=correct horse battery;Server=db", "Password=" + Mask + ";Server=db")]
    [TestCase("Host=db;Username=app;Password=ab\"cd;Timeout=5", "Host=db;Username=app;Password=" + Mask + ";Timeout=5")]
    [TestCase("Data Source=db;PWD = s3cret ;Pooling=false", "Data Source=db;PWD = " + Mask + " ;Pooling=false")]
    [TestCase("{\"conn\":\"Server=db;Password=s3cret\",\"x\":1}", "{\"conn\":\"Server=db;Password=" + Mask + "\",\"x\":1}")]
    [TestCase("<add key=\"db\" value=\"Server=db;Password=s3cret\" />", "<add key=\"db\" value=\"Server=db;Password=" + Mask + "\" />")]
    [TestCase("run --db-password=ab,c)d]e}f --verbose", "run --db-password=" + Mask + " --verbose")]
    [TestCase("GET /cb?access_token=ab,c)d|e&page=1 failed", "GET /cb?access_token=" + Mask + "&page=1 failed")]
    [TestCase("login password=Tr0ub&3 failed", "login password=" + Mask + " failed")]
    // ODBC puts a value holding ';' in braces, a '}' in it doubled.
    [TestCase("Driver={ODBC Driver 18};Server=db;Uid=sa;Pwd={p;a}}s s};Encrypt=yes", "Driver={ODBC Driver 18};Server=db;Uid=sa;Pwd=" + Mask + ";Encrypt=yes")]
    [TestCase("PWD={ab;cd};UID=sa", "PWD=" + Mask + ";UID=sa")]
    [TestCase("Server=db;Password={ab;cd", "Server=db;Password=" + Mask)]
    [TestCase("env SMTP_HOST=mail SMTP_PASS=s3cret-pass DEBUG=1", "env SMTP_HOST=mail SMTP_PASS=" + Mask + " DEBUG=1")]
    // Signed URLs: the signature is the credential (an Azure SAS token, an S3 presigned URL).
    [TestCase("GET https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&sp=r&sig=AbC%2Bsas%3D failed", "GET https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&sp=r&sig=" + Mask + " failed")]
    [TestCase("PUT https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=5f2c9e&X-Amz-Expires=60", "PUT https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + Mask + "&X-Amz-Expires=60")]
    public void NoPartOfAnEmbeddedSecretIsLeftReadable(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // A URL carried in another URL's query (an OAuth returnUrl, a redirect_uri) is percent-encoded: its pairs are joined
    // by "%3D" and separated by "%3F" or "%26".
    [TestCase("GET /login?returnUrl=%2Fcb%3Faccess_token%3Dabc123%26page%3D1 302", "GET /login?returnUrl=%2Fcb%3Faccess_token%3D" + Mask + "%26page%3D1 302")]
    [TestCase("next=%2fcb%3fsig%3dAbC%252B%26sv%3d2022", "next=%2fcb%3fsig%3d" + Mask + "%26sv%3d2022")]
    [TestCase("password%3Dhunter2 sent", "password%3D" + Mask + " sent")]
    [TestCase("GET /a?q=x%3Dy%26page%3D1 ok", "GET /a?q=x%3Dy%26page%3D1 ok")]
    public void ACredentialInAPercentEncodedQueryIsMasked(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // OAuth 2.0 and OpenID Connect put one-time credentials in queries under names the key rules do not call sensitive
    // anywhere else: the authorization code, the state (ASP.NET Core's holds the PKCE verifier, protected) and the
    // nonce, which ASP.NET Core's OpenID Connect handler writes at Debug ("HandleChallenge with Location: ...") and
    // Trace ("MessageReceived: '?code=...'"), and the host writes in "Request starting ...?code=...&state=...".
    [TestCase("http://idp/authorize?client_id=web&response_type=code&nonce=6393.ZDQ3&state=CfDJ8Fl-zT_Y&x-client-SKU=ID_NET10_0",
        "http://idp/authorize?client_id=web&response_type=code&nonce=" + Mask + "&state=" + Mask + "&x-client-SKU=ID_NET10_0")]
    [TestCase("?code=code-e8f316e4", "?code=" + Mask)]
    [TestCase("GET /signin-oidc?code=abc123&state=CfDJ8xyz&session_state=s1&iss=https%3A%2F%2Fidp 302",
        "GET /signin-oidc?code=" + Mask + "&state=" + Mask + "&session_state=s1&iss=https%3A%2F%2Fidp 302")]
    [TestCase("grant_type=authorization_code&code=abc123&code_verifier=dBjftJeZ4CVP&client_id=web",
        "grant_type=authorization_code&code=" + Mask + "&code_verifier=" + Mask + "&client_id=web")]
    [TestCase("GET /login?returnUrl=%2Fcb%3Fcode%3Dabc123%26state%3Dxyz 302", "GET /login?returnUrl=%2Fcb%3Fcode%3D" + Mask + "%26state%3D" + Mask + " 302")]
    // Only as query parameters, and only these names: prose, configuration and other parameters keep their values.
    [TestCase("job state=Running code=42 nonce=7", "job state=Running code=42 nonce=7")]
    [TestCase("GET /zip?zipcode=12345&statuscode=500&country_code=DE&State_Name=open", "GET /zip?zipcode=12345&statuscode=500&country_code=DE&State_Name=open")]
    public void OAuthCodesStatesAndNoncesInAQueryAreMasked(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // The other one-time values and assertions of sign-in protocols: SAML's assertion (SAMLResponse, a signed statement
    // that signs its holder in) and request (a LogoutRequest names the user), its RelayState (the role of OAuth's
    // state), and the device flow's device_code (polled for tokens; sensitive anywhere) and user_code (what the user
    // types to approve).
    // id_token_hint is an id token, masked by its word. session_state and login_hint/logout_hint are no credential:
    // the provider's session (the id the sid claim gives as SessionId) and a user name or e-mail address, which the
    // e-mail detector masks where it is on.
    [TestCase("POST /saml/acs?SAMLResponse=PHNhbWxwOlJlc3BvbnNl&RelayState=r-81a3 302",
        "POST /saml/acs?SAMLResponse=" + Mask + "&RelayState=" + Mask + " 302")]
    [TestCase("https://idp/sso?SAMLRequest=fZJNT%2BMw&RelayState=r1&SigAlg=rsa-sha256&Signature=AbC%3D",
        "https://idp/sso?SAMLRequest=" + Mask + "&RelayState=" + Mask + "&SigAlg=rsa-sha256&Signature=" + Mask)]
    [TestCase("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg&client_id=tv",
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" + Mask + "&client_id=tv")]
    [TestCase("GET /device?user_code=WDJB-MJHT 200", "GET /device?user_code=" + Mask + " 200")]
    [TestCase("GET /connect/logout?id_token_hint=h.e.s&post_logout_redirect_uri=https%3A%2F%2Fapp 302",
        "GET /connect/logout?id_token_hint=" + Mask + "&post_logout_redirect_uri=https%3A%2F%2Fapp 302")]
    [TestCase("GET /signin-oidc?session_state=5d3f.a1&login_hint=ann&logout_hint=ann 302",
        "GET /signin-oidc?session_state=5d3f.a1&login_hint=ann&logout_hint=ann 302")]
    // Only as query parameters: a job's relay state and a user's code in a directory are ordinary. The device_code is a
    // credential wherever it stands (a key of the rules, as the tokens of a token response are).
    [TestCase("device_code=TV-55 RelayState=open user_code=7", "device_code=" + Mask + " RelayState=open user_code=7")]
    public void SamlAndDeviceFlowValuesInAQueryAreMasked(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    [Test]
    public void AnExcludedKeyKeepsAnOAuthQueryParameter()
    {
        var options = new RedactionOptions { DetectEmbeddedCredentials = true };
        options.ExcludedKeys.Add("state");

        var redacted = RedactorFactory.Create(options).Detectors!.Redact("GET /issues?state=open&code=abc123");

        Assert.That(redacted, Is.EqualTo("GET /issues?state=open&code=" + Mask));
    }

    [Test]
    public void WithoutTheDefaultKeysNoOAuthQueryParameterIsMasked()
    {
        var options = new RedactionOptions { DetectEmbeddedCredentials = true, UseDefaultKeys = false };
        options.AdditionalKeys.Add("api_key");

        var redacted = RedactorFactory.Create(options).Detectors!.Redact("GET /cb?code=abc123&state=xyz&api_key=k");

        Assert.That(redacted, Is.EqualTo("GET /cb?code=abc123&state=xyz&api_key=" + Mask));
    }

    // A key cased under tr-TR or az ("PIN".ToUpper() is "PİN", "api_key".ToUpper() is "APİ_KEY") is one key, not the
    // letters after its Turkish i: the rules read both Turkish i's as i, so the key=value reader must keep them.
    [TestCase("login PİN=4821 failed", "login PİN=" + Mask + " failed")]
    [TestCase("login pın=4821 failed", "login pın=" + Mask + " failed")]
    [TestCase("Server=db;PASSWORD=s3cret;APİ_KEY=k3y-s3cret;Encrypt=true", "Server=db;PASSWORD=" + Mask + ";APİ_KEY=" + Mask + ";Encrypt=true")]
    [TestCase("GET /cb?SESSİON_TOKEN=t0k-s3cret&page=1 failed", "GET /cb?SESSİON_TOKEN=" + Mask + "&page=1 failed")]
    public void AKeyCasedUnderATurkishCultureIsReadWhole(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    [TestCase("Server=db;Password==Xy9;Encrypt=true", "Server=db;Password=" + Mask + ";Encrypt=true")]
    [TestCase("Server=db;Password=>Xy9;Encrypt=true", "Server=db;Password=" + Mask + ";Encrypt=true")]
    [TestCase("if (token == null) return", "if (token == null) return")]
    [TestCase("x => y; a == b", "x => y; a == b")]
    public void APasswordThatStartsWithAnOperatorCharacterIsMasked(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // Passwords pasted into a URL without percent-encoding: the user info still ends at the address's last '@'.
    [TestCase("redis://:pa/ss@cache:6379/0 ok", "redis://:" + Mask + "@cache:6379/0 ok")]
    [TestCase("amqp://app:p?w#d@mq/vhost", "amqp://app:" + Mask + "@mq/vhost")]
    [TestCase("postgres://app:s3cret@db/app then https://host:8080/users/@me", "postgres://app:" + Mask + "@db/app then https://host:8080/users/@me")]
    [TestCase("see https://host/a:b@c and https://example.com/x?y=1", "see https://host/a:b@c and https://example.com/x?y=1")]
    [TestCase("postgres://app:P@ss/w0rd@db/app ok", "postgres://app:" + Mask + "@db/app ok")]
    [TestCase("https://u:pw@host/users/@me ok", "https://u:" + Mask + "@me ok")]
    public void AUrlPasswordHoldingRawSeparatorsIsMaskedWhole(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // An IPv6 literal's colons are not a user info's: the address, its port and its path stay readable.
    [TestCase("listening on http://[::1]:5000/users/@me ok")]
    [TestCase("GET https://[2001:db8::1]/profile/@ann 200")]
    [TestCase("redis://[::1]:6379/0@x")]
    public void AnIpv6AddressWithAnAtInItsPathIsKept(string input)
    {
        Assert.That(Redact(input), Is.EqualTo(input));
    }

    // Outside a connection string a value ends at white space: prose up to a later ';' is not part of it.
    [TestCase("user=bob password=hunter2 was rejected; retrying", "user=bob password=" + Mask + " was rejected; retrying")]
    [TestCase("Login failed for token=abc from 10.0.0.1; attempt 3", "Login failed for token=" + Mask + " from 10.0.0.1; attempt 3")]
    [TestCase("Password=correct horse; Server=db", "Password=" + Mask + "; Server=db")]
    [TestCase("Password=correct horse battery;", "Password=" + Mask + ";")]
    public void ProseAfterAValueIsKept(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // Tabs around the '=' (aligned configuration dumps) are white space as spaces are: the value after them was kept.
    [TestCase("db_password\t=\ts3cret done", "db_password\t=\t" + Mask + " done")]
    [TestCase("password=\ts3cret", "password=\t" + Mask)]
    [TestCase("Server=db;Password \t= s3cret;Encrypt=true", "Server=db;Password \t= " + Mask + ";Encrypt=true")]
    public void TabsAroundTheEqualsSignDoNotHideTheValue(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // An Authorization value is a scheme and a credential: masking only the scheme word left the token readable.
    [TestCase("headers Authorization=Bearer eyJhbGciOi.eyJzdWIi.sig next", "headers Authorization=" + Mask + " next")]
    [TestCase("Authorization=Basic dXNlcjpwYXNz", "Authorization=" + Mask)]
    [TestCase("proxy_authorization=NEGOTIATE YIIkMAYGKwYBBQUCoIIkJDCCJCCgJDAiBgkqhkiC; x=1", "proxy_authorization=" + Mask + "; x=1")]
    [TestCase("GET /?authorization=Bearer&x=1", "GET /?authorization=" + Mask + "&x=1")]
    [TestCase("password=basic was rejected", "password=" + Mask + " was rejected")]
    public void AnAuthorizationSchemeAndItsCredentialAreMaskedTogether(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    [Test]
    public void TextWithManyEqualsSignsIsReadInOnePass()
    {
        // Every '=' starts a pair nested in the one before: each used to scan its value to the end of the text again.
        var text = "a" + string.Concat(Enumerable.Repeat("=x", 200_000)) + ";password=s3cret";
        Assert.That(Redact(text), Does.EndWith(";password=" + Mask));
    }

    // "x={" opens a braced value (ODBC's Pwd={a;b}) that never closes: each pair read its value to the end of the
    // text again (20,000 pairs: 0.7 s, 100,000 in markup: minutes).
    [TestCase("x={ ")]
    [TestCase("<a x={ ")]
    public void TextWithManyUnclosedBracedValuesIsReadInOnePass(string pair)
    {
        var text = string.Concat(Enumerable.Repeat(pair, 2_000)) + "password=s3cret";
        ValueDetectors.BraceScansForTests = 0;

        var redacted = Redact(text);

        Assert.That(redacted, Does.Not.Contain("s3cret"));
        Assert.That(ValueDetectors.BraceScansForTests, Is.EqualTo(1));
    }

    // The same pairs closed by one brace at the end: each value ran to that brace, so each pair read the text to it again.
    [TestCase("x={ ")]
    [TestCase("<a x={ ")]
    public void TextWithManyBracedValuesClosedByOneBraceIsReadInOnePass(string pair)
    {
        var text = string.Concat(Enumerable.Repeat(pair, 2_000)) + "}}} } password=s3cret";
        ValueDetectors.BraceScansForTests = 0;

        var redacted = Redact(text);

        Assert.That(redacted, Does.Not.Contain("s3cret"));
        Assert.That(ValueDetectors.BraceScansForTests, Is.EqualTo(1));
    }

    [Test]
    public void TextWithManyFormPairsEndingAtTheSameAmpersandIsReadInOnePass()
    {
        // Every "'k=" may start a form body, and every value runs to the one '&': each used to read the value and the
        // key after the '&' again.
        var text = string.Concat(Enumerable.Repeat("'k=a", 100_000)) + "&" + new string('k', 400_000) + " code=c0de&state=x";

        var work = Task.Run(() => Redact(text));

        Assert.That(work.Wait(TimeSpan.FromSeconds(30)), Is.True, "masking did not finish");
        Assert.That(work.Result, Does.EndWith(" code=" + Mask + "&state=" + Mask));
    }

    // Markup that never ends: brackets and quotes as they are, as character references, escaped for JSON, or both.
    [TestCase("&lt;")]
    [TestCase("&#")]
    [TestCase("&lt;a b=&quot;")]
    [TestCase("\\u0026lt;a b=\\u0026quot;")]
    [TestCase("<textarea name=x>")]
    [TestCase("<textarea name=password>")]
    [TestCase("&lt;textarea name=password&gt; &lt;/textarea&gt;")]
    [TestCase("<input name=password name=password value=x ")]
    // Template attributes, whose names hold brackets, parentheses, '*', '#', '?', '|' and braces.
    [TestCase("<input [disabled]=x (click)=y #ref *ngIf ?hidden on:input|once={h} name=code ")]
    [TestCase("<input (click)=\"")]
    [TestCase("&lt;a (b)=&quot;")]
    [TestCase("<textarea [rows]=3 name=password>")]
    // A sensitive select's options, each read to the next element, its end tag, and one never closed.
    [TestCase("<select name=password><option>")]
    [TestCase("<select name=password><option value=x ")]
    [TestCase("&lt;select name=api_key&gt;&lt;option&gt;a&lt;/select&gt;")]
    [TestCase("<select name=password><option>a<\\/select>")]
    // Encoded twice: an element, a textarea's content and a select's options.
    [TestCase("&amp;lt;a b=&amp;quot;")]
    [TestCase("&amp;")]
    [TestCase("&amp;lt;textarea name=password&amp;gt; &amp;lt;/textarea&amp;gt;")]
    [TestCase("\\u0026amp;lt;select name=password\\u0026amp;gt;\\u0026amp;lt;option\\u0026amp;gt;a")]
    public void TextWithManyFormElementsIsReadInOnePass(string piece)
    {
        // Every element opened is read to its end, and a textarea's content to its end tag: reading again from each
        // opening what the one before read would take minutes for a megabyte a client sends.
        var text = string.Concat(Enumerable.Repeat(piece, 1_000_000 / piece.Length)) + " password=s3cret";

        var work = Task.Run(() => Redact(text));

        Assert.That(work.Wait(TimeSpan.FromSeconds(30)), Is.True, "masking did not finish");
        Assert.That(work.Result, Does.Not.Contain("s3cret"));
    }

    [TestCase("://")]
    [TestCase("x://a:")]
    public void TextWithManyUrlSchemeSeparatorsIsReadInOnePass(string piece)
    {
        // Every "://" used to scan to the end of the run of URL characters and back for an '@': a megabyte of them
        // took minutes (a request path or header a client chooses).
        var text = string.Concat(Enumerable.Repeat(piece, 1_000_000 / piece.Length)) + " postgres://app:s3cret@db/app";

        var work = Task.Run(() => Redact(text));

        Assert.That(work.Wait(TimeSpan.FromSeconds(30)), Is.True, "masking did not finish");
        Assert.That(work.Result, Does.EndWith(" postgres://app:" + Mask + "@db/app"));
    }
}
