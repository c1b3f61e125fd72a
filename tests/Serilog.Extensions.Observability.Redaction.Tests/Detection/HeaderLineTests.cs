using System.Net.Http.Headers;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Detection;

/// <summary>HTTP header lines written as text (<c>Name: value</c>): a request's or a response's <c>ToString()</c>, a raw dump.</summary>
public class HeaderLineTests
{
    const string Mask = RedactionOptions.DefaultMask;

    // What HttpHeaders.ToString() ends each header's line with.
    static readonly string NewLine = Environment.NewLine;

    static string Redact(string text) =>
        RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true }).Detectors!.Redact(text) ?? text;

    [Test]
    public void AnHttpRequestMessagesSensitiveHeadersAreMaskedAndTheOthersKept()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://api/x");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "abc.def");
        request.Headers.TryAddWithoutValidation("X-Api-Key", "k-123");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic dXNlcjpwYXNz");
        request.Headers.TryAddWithoutValidation("Cookie", "session=s-9; theme=dark");
        request.Headers.TryAddWithoutValidation("X-Auth-Token", "t-42");
        request.Headers.Accept.ParseAdd("application/json");
        var text = request.ToString();
        Assume.That(text, Does.Contain("Authorization: Bearer abc.def"));

        var redacted = Redact(text);

        Assert.Multiple(() =>
        {
            foreach (var secret in new[] { "abc.def", "k-123", "dXNlcjpwYXNz", "s-9", "dark", "t-42" })
                Assert.That(redacted, Does.Not.Contain(secret));
            Assert.That(redacted, Does.Contain("  Authorization: " + Mask + NewLine));
            Assert.That(redacted, Does.Contain("  X-Api-Key: " + Mask + NewLine));
            Assert.That(redacted, Does.Contain("  Proxy-Authorization: " + Mask + NewLine));
            Assert.That(redacted, Does.Contain("  Cookie: " + Mask + NewLine));
            Assert.That(redacted, Does.Contain("  X-Auth-Token: " + Mask + NewLine));
            Assert.That(redacted, Does.Contain("  Accept: application/json" + NewLine));
            Assert.That(redacted, Does.StartWith("Method: GET, RequestUri: 'https://api/x', Version: 1.1, Content: <null>, Headers:" + NewLine + "{" + NewLine));
            Assert.That(redacted, Does.EndWith(NewLine + "}"));
        });
    }

    [TestCase("token: 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'. See https://aka.ms/IDX10511 for details.",
        "token: '" + Mask + "'. See https://aka.ms/IDX10511 for details.")]
    [TestCase("Number of keys in TokenValidationParameters: '1'. " + "\n" + "Matched key was in 'TokenValidationParameters'.",
        "Number of keys in TokenValidationParameters: '" + Mask + "'. " + "\n" + "Matched key was in 'TokenValidationParameters'.")]
    [TestCase("X-Api-Key: \"k-123\" (from the vault)", "X-Api-Key: \"" + Mask + "\" (from the vault)")]
    [TestCase("X-Api-Key: 'k-123 and the rest of the line", "X-Api-Key: " + Mask)]
    public void AQuotedValueIsMaskedInsideItsQuotesAndTheRestOfTheLineKept(string text, string expected)
    {
        // Microsoft.IdentityModel writes its values quoted, a sentence going on after them (IDX10511's "token: '...'. See
        // https://aka.ms/IDX10511 for details."): the quotes and what follows them say nothing secret. A quote that does
        // not close on its line is no quoted value: the line's end ends it.
        Assert.That(Redact(text), Is.EqualTo(expected));
    }

    [TestCase("Authorization: 'Basic' dXNlcjpwYXNz", "Authorization: " + Mask)]
    [TestCase("Authorization: \"Bearer\" abc.def", "Authorization: " + Mask)]
    [TestCase("X-Api-Key: 'k'-123", "X-Api-Key: " + Mask)]
    [TestCase("X-Api-Key: \"k\"123 (from the vault)", "X-Api-Key: " + Mask)]
    public void AValueThatGoesOnAfterAQuotedPartIsMaskedToTheEndOfItsLine(string text, string expected)
    {
        // Only a value quoted whole keeps what follows its closing quote: a word or a digit right after it (white space
        // between or not) is more of the value, a credential after a quoted scheme.
        Assert.That(Redact(text), Is.EqualTo(expected));
    }

    [Test]
    public void AnHttpResponseMessagesSetCookieIsMaskedAndTheOthersKept()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK);
        response.Headers.TryAddWithoutValidation("Set-Cookie", "session=s-9; Path=/; HttpOnly");
        response.Headers.TryAddWithoutValidation("Set-Cookie", "refresh=r-7; Path=/auth; Secure");
        response.Headers.TryAddWithoutValidation("X-Request-Id", "req-1");
        var text = response.ToString();
        Assume.That(text, Does.Contain("session=s-9"));

        var redacted = Redact(text);

        Assert.Multiple(() =>
        {
            Assert.That(redacted, Does.Not.Contain("s-9"));
            Assert.That(redacted, Does.Not.Contain("r-7"));
            Assert.That(redacted, Does.Contain("  Set-Cookie: " + Mask + NewLine));
            Assert.That(redacted, Does.Contain("  X-Request-ID: req-1" + NewLine));
            Assert.That(redacted, Does.StartWith("StatusCode: 200, ReasonPhrase: 'OK'"));
        });
    }

    // A raw request or response dump, one header a line, in a message or an exception's message: the name is kept, the
    // value masked to the end of its line, the next line read on.
    [TestCase("Authorization: Basic dXNlcjpwYXNz", "Authorization: " + Mask)]
    [TestCase("GET /x HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer abc.def\r\nAccept: */*\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: api\r\nAuthorization: " + Mask + "\r\nAccept: */*\r\n\r\n")]
    [TestCase("Proxy-Authorization: Negotiate YIIBhg==\nVia: 1.1 proxy", "Proxy-Authorization: " + Mask + "\nVia: 1.1 proxy")]
    [TestCase("Cookie: session=abc; theme=dark", "Cookie: " + Mask)]
    [TestCase("HTTP/1.1 200 OK\nSet-Cookie: session=abc; Path=/; HttpOnly\nContent-Length: 2", "HTTP/1.1 200 OK\nSet-Cookie: " + Mask + "\nContent-Length: 2")]
    [TestCase("X-Api-Key: k-123", "X-Api-Key: " + Mask)]
    [TestCase("Api-Key: k-123\n", "Api-Key: " + Mask + "\n")]
    [TestCase("X-Auth-Token: t-42", "X-Auth-Token: " + Mask)]
    [TestCase("x-api-key: k-123", "x-api-key: " + Mask)]
    [TestCase("\tAuthorization: Bearer abc.def", "\tAuthorization: " + Mask)]
    // After a label on the same line, or in a comma-separated list, as a header is written into prose.
    [TestCase("Request failed. Authorization: Bearer abc.def", "Request failed. Authorization: " + Mask)]
    [TestCase("Accept: */*, Authorization: Basic dXNlcjpwYXNz", "Accept: */*, Authorization: " + Mask)]
    [TestCase("HTTP/1.1 401\nX-Request-Id: r-1\nX-Refresh-Token: rt-5 \nVary: Accept", "HTTP/1.1 401\nX-Request-Id: r-1\nX-Refresh-Token: " + Mask + " \nVary: Accept")]
    // A header quoted on a command line (curl -H, --header): the value ends at its closing quote; any case.
    [TestCase("curl -H \"Authorization: Bearer abc.def\" https://api/x", "curl -H \"Authorization: " + Mask + "\" https://api/x")]
    [TestCase("curl -H 'X-Api-Key: k-123' -H 'Accept: application/json' https://api/x",
        "curl -H 'X-Api-Key: " + Mask + "' -H 'Accept: application/json' https://api/x")]
    [TestCase("curl --header \"cookie: session=s-9; theme=dark\" https://api/x", "curl --header \"cookie: " + Mask + "\" https://api/x")]
    [TestCase("curl -H \"Cookie: a=\\\"s-9\\\"\" https://api/x", "curl -H \"Cookie: " + Mask + "\" https://api/x")]
    [TestCase("curl -H \"Authorization: Bearer abc.def", "curl -H \"Authorization: " + Mask)]
    // Without white space after the colon, as HTTP allows and a command line often writes it.
    [TestCase("Authorization:Bearer abc.def\nHost: api", "Authorization:" + Mask + "\nHost: api")]
    [TestCase("authorization:\tbearer abc.def", "authorization:\t" + Mask)]
    [TestCase("curl -H \"X-Api-Key:k-123\" https://api/x", "curl -H \"X-Api-Key:" + Mask + "\" https://api/x")]
    [TestCase("https://api/x?a=1 Authorization:Bearer", "https://api/x?a=1 Authorization:" + Mask)]
    public void AHeaderLinesValueIsMaskedWhenItsNameIsSensitive(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // curl's -u and --user take user:password, and -U and --proxy-user the proxy's: the password after the first colon
    // is masked up to white space or the closing quote, the user kept.
    [TestCase("curl -u admin:cu-pass-1 https://api/x", "curl -u admin:" + Mask + " https://api/x")]
    [TestCase("curl -s --user 'admin:cu pass-2' https://api/x", "curl -s --user 'admin:" + Mask + "' https://api/x")]
    [TestCase("curl --user=\"svc:cu-pass:3\" https://api/x", "curl --user=\"svc:" + Mask + "\" https://api/x")]
    [TestCase("curl -U proxy:cu-pass-4 -x http://p:8080 https://api/x", "curl -U proxy:" + Mask + " -x http://p:8080 https://api/x")]
    [TestCase("Running: curl --proxy-user u:cu-pass-5", "Running: curl --proxy-user u:" + Mask)]
    // A user name of any characters (an e-mail address, a Windows domain's, a dotted one), and -u's value glued to it.
    [TestCase("curl -u ann@example.com:cu-pass-6 https://api/x", "curl -u ann@example.com:" + Mask + " https://api/x")]
    [TestCase("curl --user 'CORP\\ann:cu-pass-7' https://api/x", "curl --user 'CORP\\ann:" + Mask + "' https://api/x")]
    [TestCase("curl -u first.last:cu-pass-8 https://api/x", "curl -u first.last:" + Mask + " https://api/x")]
    [TestCase("curl -uadmin:cu-pass-9 -T f https://api/x", "curl -uadmin:" + Mask + " -T f https://api/x")]
    public void ThePasswordOfCurlsUserOptionIsMasked(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    // Another command's -u is no credential (docker's user and group, ps's user list), nor is a curl option's value
    // without a colon (curl then asks for the password).
    [TestCase("docker run -u 1000:1000 app")]
    [TestCase("ps -u root:wheel")]
    [TestCase("curl -u admin https://api/x")]
    [TestCase("curl -o out.txt https://api/x")]
    [TestCase("curl -o out.txt -v:x https://api/x")]
    [TestCase("curl -H a@b:c -ux https://api/x")]
    public void AUserOptionOfAnotherCommandIsKept(string input)
    {
        Assert.That(Redact(input), Is.EqualTo(input));
    }

    // The detectors WithObservability() turns on (ObservabilityOptions.ApplyRedaction), in its three passes.
    static void AsWithObservability(RedactionOptions options)
    {
        options.DetectEmbeddedCredentials = true;
        options.DetectJwts = true;
        options.DetectKnownTokenFormats = true;
    }

    /// <summary>The text logged as a string property and as a template of its own (no hole): what each is written as.</summary>
    static (string Message, object? Property) LogWithObservability(string text)
    {
        var logEvent = Routes.Write(Route.ForContext, "Text", text, Pieces.All, AsWithObservability, template: text).Single();
        return (logEvent.RenderMessage(), ((Serilog.Events.ScalarValue)logEvent.Properties["Text"]).Value);
    }

    static void AssertLoggedAs(string text, string expected)
    {
        var (message, property) = LogWithObservability(text);
        Assert.Multiple(() =>
        {
            Assert.That(property, Is.EqualTo(expected), "as a property");
            Assert.That(message, Is.EqualTo(expected), "as the message");
        });
    }

    // A label written as words, as an interpolated line writes it: the two words before the colon name a secret together
    // (a phrase or a key of the rules: api key, client secret, access token, refresh token), and stand as a label does,
    // at the start of a line or capitalized after white space.
    [TestCase("API key: k-123abc", "API key: " + Mask)]
    [TestCase("Using API Key: k-123abc", "Using API Key: " + Mask)]
    [TestCase("Refresh token: rt-42xyz", "Refresh token: " + Mask)]
    [TestCase("Renewed with Refresh token: rt-42xyz", "Renewed with Refresh token: " + Mask)]
    [TestCase("Calling the API.\n  Api key: k-123abc\n  Region: eu", "Calling the API.\n  Api key: " + Mask + "\n  Region: eu")]
    // Its value is masked even when it reads as prose, as a one-word label's is ("Token: invalid format"): "API" is
    // capitalized in a sentence too, and a value of plain words is not told from a passphrase.
    [TestCase("Could not validate API key: invalid format", "Could not validate API key: " + Mask)]
    // "Secret" and "Token" are sensitive alone, and capitalized after white space they were masked already.
    [TestCase("Client Secret: s3cr3t-value", "Client Secret: " + Mask)]
    [TestCase("Signed in with Access Token: abc.def.ghi", "Signed in with Access Token: " + Mask)]
    public void ALabelOfTwoWordsThatNameASecretTogetherIsMasked(string text, string expected) => AssertLoggedAs(text, expected);

    // Prose: the two words stand in a sentence (lower case, not at the start of a line), or only one of them is a secret's
    // word ("The token", "Reset password", "Token Refresh"), or they name no secret ("Client id").
    [TestCase("Renewing the refresh token: attempt 3")]
    [TestCase("The refresh token: the value was rejected")]
    [TestCase("New access token: issued at 12:00")]
    [TestCase("Using the api key: from the vault")]
    [TestCase("Token Refresh: done in 3 ms")]
    [TestCase("Access Denied: token expired")]
    [TestCase("Client id: web-app")]
    public void TwoWordsInASentenceOrThatNameNoSecretAreKept(string text) => AssertLoggedAs(text, text);

    [Test]
    public void AnExcludedKeyIsNotReadAsALabelOfTwoWords()
    {
        var options = new RedactionOptions { DetectEmbeddedCredentials = true };
        options.ExcludedKeys.Add("apikey");
        var detectors = RedactorFactory.Create(options).Detectors!;

        Assert.Multiple(() =>
        {
            Assert.That(detectors.Redact("API key: k-123abc"), Is.Null);
            Assert.That(detectors.Redact("Refresh token: rt-42xyz"), Is.EqualTo("Refresh token: " + Mask));
        });
    }

    // White space before the colon, as a table or PowerShell's Format-List lines its values up.
    [TestCase("Authorization : Bearer abc.def", "Authorization : " + Mask)]
    [TestCase("X-Api-Key : k-123", "X-Api-Key : " + Mask)]
    [TestCase("UserName : ann\nPassword  : hunter2\nDomain   : corp", "UserName : ann\nPassword  : " + Mask + "\nDomain   : corp")]
    [TestCase("curl -H \"X-Api-Key : k-123\" https://api/x", "curl -H \"X-Api-Key : " + Mask + "\" https://api/x")]
    [TestCase("API Key : k-123abc", "API Key : " + Mask)]
    public void AHeaderWithWhiteSpaceBeforeItsColonIsMasked(string text, string expected) => AssertLoggedAs(text, expected);

    [TestCase("Retrying the token : attempt 3")]
    [TestCase("Status : ok, Time : 12:00")]
    public void ProseWithWhiteSpaceBeforeAColonIsKept(string text) => AssertLoggedAs(text, text);

    // A Python dict's repr(), as an f-string or str() writes it (a JavaScript object literal too): a key in single quotes
    // after '{' or ','.
    [TestCase("{'password': 'hunter2', 'user': 'bob'}", "{'password': '" + Mask + "', 'user': 'bob'}")]
    [TestCase("{'Authorization': 'Bearer abc.def'}", "{'Authorization': '" + Mask + "'}")]
    [TestCase("{'password':'p-1', 'api_key': 'k-2'}", "{'password':'" + Mask + "', 'api_key': '" + Mask + "'}")]
    [TestCase("headers={'Accept': 'application/json', 'X-Api-Key': \"k'123\"}", "headers={'Accept': 'application/json', 'X-Api-Key': \"" + Mask + "\"}")]
    [TestCase("got {'user': 'bob', 'pin': 1234, 'ok': True}", "got {'user': 'bob', 'pin': " + Mask)]
    public void ASensitiveKeyOfAPythonDictIsMasked(string text, string expected) => AssertLoggedAs(text, expected);

    // White space before the colon, as a hand-written literal spaces it out, holds for a dict's key as for any name.
    [TestCase("{ 'password' : 'hunter2' }", "{ 'password' : '" + Mask + "' }")]
    [TestCase("{'token' : 't-1', 'password'  : 'p-1'}", "{'token' : '" + Mask + "', 'password'  : '" + Mask + "'}")]
    public void ASensitiveKeyOfADictWithWhiteSpaceBeforeItsColonIsMasked(string text, string expected) =>
        AssertLoggedAs(text, expected);

    // A dict written over several lines: pprint.pformat() breaks a wide one after each ',', and a literal opens one
    // after its '{'. A quoted key that starts a line counts as a label that starts one does (a message template's text
    // token also ends at a line break inside braces, so the ',' before the key is in the token before).
    [TestCase("{'api_key': 'k-1',\n 'password': 'p-1',\n 'user': 'bob'}", "{'api_key': '" + Mask + "',\n 'password': '" + Mask + "',\n 'user': 'bob'}")]
    [TestCase("{\r\n  'password': 'p-1'\r\n}", "{\r\n  'password': '" + Mask + "'\r\n}")]
    [TestCase("config:\n  'password': 'p-1'", "config:\n  'password': '" + Mask + "'")]
    public void ASensitiveKeyOfADictWrittenOverSeveralLinesIsMasked(string text, string expected) => AssertLoggedAs(text, expected);

    // A JSON member outside any document that can be read: a body cut before its '{' by a length limit, a settings file's
    // line logged alone. Its key in double quotes counts as a dict's does, and only a string value is masked, inside its
    // quotes.
    [TestCase("ann\",\"password\":\"p-1\",\"user\":\"bob\"}", "ann\",\"password\":\"" + Mask + "\",\"user\":\"bob\"}")]
    [TestCase("  \"client_secret\": \"s-1\",\n  \"host\": \"db\"", "  \"client_secret\": \"" + Mask + "\",\n  \"host\": \"db\"")]
    [TestCase("\"ApiKey\" : \"k-1\"", "\"ApiKey\" : \"" + Mask + "\"")]
    public void ASensitiveKeyOfAJsonMemberOutsideADocumentIsMasked(string text, string expected) => AssertLoggedAs(text, expected);

    // A value that is no string (null, a number, a nested document), and a quoted word in a sentence, are kept.
    [TestCase("ann\",\"password\":null,\"user\":\"bob\"}")]
    [TestCase("  \"token_count\": 3,\n  \"token\": 5")]
    [TestCase("Missing field \"password\": add it to the form")]
    public void AJsonMemberOutsideADocumentWithoutAStringValueIsKept(string text) => AssertLoggedAs(text, text);

    // A dict's key is whatever its quotes hold: a configuration path (dotted, which a header's name is not, as a type's
    // name is) or words, as csv.DictReader's rows are keyed by a sheet's column titles.
    [TestCase("{'spring.datasource.password': 'p-1', 'db.host': 'h'}", "{'spring.datasource.password': '" + Mask + "', 'db.host': 'h'}")]
    [TestCase("{'User Name': 'bob', 'API Key': 'k-1', 'Token Count': 3}", "{'User Name': 'bob', 'API Key': '" + Mask + "', 'Token Count': 3}")]
    public void ASensitiveKeyOfADictWithADotOrASpaceIsMasked(string text, string expected) => AssertLoggedAs(text, expected);

    // A header dump inside a JSON string, as a serialized HTTP log record writes it: its line breaks are the escapes \r\n
    // or \n, and the string opens after the record's ":". Each sensitive value is masked to its escaped line break (or to
    // the closing quote), the other headers and the record kept.
    [TestCase("{\"headers\":\"Authorization: Bearer abc.def\\r\\nHost: api\"}", "{\"headers\":\"Authorization: " + Mask + "\\r\\nHost: api\"}")]
    [TestCase("{\"headers\":\"Authorization: Bearer abc.def\\nHost: api\"}", "{\"headers\":\"Authorization: " + Mask + "\\nHost: api\"}")]
    [TestCase("{\"headers\": \"Host: api\\r\\nX-Api-Key: k-123\\r\\nAccept: */*\"}", "{\"headers\": \"Host: api\\r\\nX-Api-Key: " + Mask + "\\r\\nAccept: */*\"}")]
    [TestCase("{\"h\":\"Host: api\\nproxy-authorization: Basic dXNlcjpwYXNz\"}", "{\"h\":\"Host: api\\nproxy-authorization: " + Mask + "\"}")]
    [TestCase("Host: api\ncookie: session=abc", "Host: api\ncookie: " + Mask)]
    [TestCase("Host: api\\ncookie: session=abc", "Host: api\\ncookie: " + Mask)]
    [TestCase("[\"Authorization: Basic dXNlcjpwYXNz\", \"Host: api\"]", "[\"Authorization: " + Mask + "\", \"Host: api\"]")]
    // A later string of an array, as System.Text.Json and Serilog's JSON formatters write it: no space after the ','.
    [TestCase("[\"Host: api\",\"Authorization: Basic dXNlcjpwYXNz\"]", "[\"Host: api\",\"Authorization: " + Mask + "\"]")]
    // A backslash escaped before an n is the value's: the value goes on past it.
    [TestCase("{\"h\":\"X-Api-Key: k\\\\n-123\\nHost: api\"}", "{\"h\":\"X-Api-Key: " + Mask + "\\nHost: api\"}")]
    // Outside a JSON string a literal \n may be a value's: the value is masked to the end of the line, past it.
    [TestCase("Cookie: session=abc\\nAccept: */*", "Cookie: " + Mask)]
    public void AHeaderDumpInsideAJsonStringIsMaskedToItsEscapedLineBreak(string text, string expected) =>
        AssertLoggedAs(text, expected);

    // A configuration key written as a label, its path dotted (a section's key as Microsoft.Extensions.Configuration's
    // binder or a settings dump names it): its last segment is what names the secret, as it would a header.
    [TestCase("Jwt.Secret: s3cr3t-value", "Jwt.Secret: " + Mask)]
    [TestCase("Auth.ApiKey: k-123", "Auth.ApiKey: " + Mask)]
    [TestCase("Loaded settings\n  Database.Password: hunter2\n  Database.Host: db", "Loaded settings\n  Database.Password: " + Mask + "\n  Database.Host: db")]
    [TestCase("Database.Password = hunter2", "Database.Password = " + Mask)]
    // A sensitive word before the last one that makes a key of the rules with it (secret key, access key).
    [TestCase("Jwt.SecretKey: s3cr3t-value", "Jwt.SecretKey: " + Mask)]
    [TestCase("Aws.SecretAccessKey: abc123", "Aws.SecretAccessKey: " + Mask)]
    [TestCase("Jwt.secret_key: s3cr3t-value", "Jwt.secret_key: " + Mask)]
    public void ADottedConfigurationKeyWhoseLastSegmentIsSensitiveIsMaskedAsALabel(string text, string expected) =>
        AssertLoggedAs(text, expected);

    // An exception's type is dotted too, and its message kept; so are a sensitive segment inside the path and prose.
    [TestCase("System.Security.Authentication.AuthenticationException: The token was rejected")]
    [TestCase("Microsoft.IdentityModel.Tokens.SecurityTokenExpiredException: IDX10223: Lifetime validation failed.")]
    [TestCase("Jwt.Secret.Length: 32")]
    [TestCase("MyApp.Auth.SecretKeyProvider: Information: key loaded")]
    [TestCase("See the docs at learn.microsoft.com. Token: rejected", "See the docs at learn.microsoft.com. Token: " + Mask)]
    [TestCase("Read settings from appsettings.json: ok")]
    public void ADottedNameThatIsAnExceptionsTypeOrNoSecretsKeepsItsValue(string text, string? expected = null) =>
        AssertLoggedAs(text, expected ?? text);

    [TestCase("{'user': 'bob', 'token_count': 3}")]
    [TestCase("Missing field 'password': check the form")]
    public void AQuotedNameOutsideADictOrThatIsNoSecretIsKept(string text) => AssertLoggedAs(text, text);

    [Test]
    public void AHeaderLineInAnExceptionsMessageIsMaskedThere()
    {
        var error = new HttpRequestException("Request failed:\nAuthorization: Basic dXNlcjpwYXNz\nHost: api");
        var logEvent = Routes.Write(Route.MessageArgument, "N", 1, Pieces.Sink, o => o.DetectEmbeddedCredentials = true, exception: error).Single();

        Assert.Multiple(() =>
        {
            Assert.That(logEvent.Exception!.Message, Is.EqualTo("Request failed:\nAuthorization: " + Mask + "\nHost: api"));
            Assert.That(Output.Render(logEvent), Does.Not.Contain("dXNlcjpwYXNz"));
        });
    }

    // Prose: a lower-case word in the middle of a line is a sentence's, not a header's ("access token: attempt 3"), and a
    // name the rules do not call sensitive is kept wherever it stands; a line that starts with a sensitive label
    // ("Token: ...") is read as a header and masked, as its value may be the secret.
    [TestCase("Refreshing access token: attempt 3")]
    [TestCase("The token: the value was rejected")]
    [TestCase("Reset password: e-mail sent to the user")]
    [TestCase("Accept: application/json\r\nContent-Type: text/plain\r\nHost: api:8080")]
    [TestCase("Time: 12:00, Status: ok, Token")]
    [TestCase("https://api/x?a=1 Cookie://x Token::Parse")]
    [TestCase("Authorization: ")]
    // A dotted name before ": " is a .NET type's or a logger category's, not a header's: an exception's ToString(), what
    // the Debug logger writes.
    [TestCase("System.InvalidOperationException: Failed\n ---> Microsoft.IdentityModel.Tokens.SecurityTokenInvalidSignatureException: IDX10503: Signature validation failed.\n   at A.B() in /src/a.cs:line 4")]
    [TestCase("Azure.Identity.CredentialUnavailableException: EnvironmentCredential authentication unavailable.")]
    [TestCase("Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerHandler: Information: Failed to validate the token.")]
    public void ProseAndOtherHeadersAreKept(string input)
    {
        Assert.That(Redact(input), Is.EqualTo(input));
    }

    [TestCase("token: the value was rejected", "token: " + Mask)]
    [TestCase("Password: hunter2", "Password: " + Mask)]
    // A label's value is masked whole even when it reads as prose: a passphrase is words too.
    [TestCase("Refresh token: the value was rejected", "Refresh token: " + Mask)]
    public void ALineThatStartsWithASensitiveLabelIsMasked(string input, string expected)
    {
        Assert.That(Redact(input), Is.EqualTo(expected));
    }

    [Test]
    public void AMegabyteOfQuotedHeadersOnOneLineIsMaskedWhole()
    {
        // Each quoted value ends at a quote, long before the end of the line: the line is not read again for each.
        const int Count = 100_000;
        var text = string.Concat(Enumerable.Repeat(" \"Token:\\\"", Count));

        Assert.That(Redact(text), Is.EqualTo(string.Concat(Enumerable.Repeat(" \"Token:" + Mask, Count))));
    }

    // Entity Framework Core's key values, each value masked by the pass before, in every mask style: the header pass does
    // not take the rest of the list for a header's value and mask it again.
    [TestCase(RedactionMaskStyle.Fixed)]
    [TestCase(RedactionMaskStyle.Partial)]
    [TestCase(RedactionMaskStyle.Pseudonym)]
    public void KeyValuesMaskedOneByOneKeepTheirListInEveryMaskStyle(RedactionMaskStyle style)
    {
        var options = new RedactionOptions { DetectEmbeddedCredentials = true, MaskStyle = style };
        if (style == RedactionMaskStyle.Pseudonym) options.PseudonymKey = "0123456789abcdef0123456789abcdef";
        var detectors = RedactorFactory.Create(options).Detectors!;

        var redacted = detectors.Redact("{UserId: 1, AccessToken: abcdefgh-12345678, Name: x}");

        Assert.That(redacted, Does.Not.Contain("abcdefgh").And.EndWith(", Name: x}").And.StartWith("{UserId: 1, AccessToken: "));
        // A pseudonym is not told from a value by the key value pass itself, which writes a new one over it.
        if (style != RedactionMaskStyle.Pseudonym) Assert.That(detectors.Redact(redacted!), Is.Null, "masked once");
    }

    [Test]
    public void TheDetectorOffLeavesHeaderLinesAlone()
    {
        var detectors = RedactorFactory.Create(new RedactionOptions { DetectJwts = true }).Detectors!;
        Assert.That(detectors.Redact("Authorization: Basic dXNlcjpwYXNz"), Is.Null);
    }
}
