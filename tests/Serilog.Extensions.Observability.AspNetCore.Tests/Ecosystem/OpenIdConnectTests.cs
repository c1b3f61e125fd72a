using System.Net;
using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// Microsoft.AspNetCore.Authentication.OpenIdConnect (10.0 on net10.0, 8.0 on net8.0) signing users in with the
/// authorization code flow (PKCE, a client secret) against <see cref="FakeOpenIdProvider"/>, then cookie authentication,
/// in an application set up as the READMEs show: <c>AddObservability()</c> writing CLEF to a RollingJson file, then
/// <c>UseCorrelation()</c>, <c>UseSerilogRequestLogging()</c>, <c>UseAuthentication()</c>, <c>UseAuthorization()</c>,
/// on real Kestrel. A client that follows the redirects itself and keeps the cookies plays the browser. Asserted on the
/// file's lines.
/// </summary>
[NonParallelizable] // Log.Logger and SelfLog are process-wide.
public class OpenIdConnectTests
{
    const string UserId = "user-7f3a";
    const string TenantId = "tenant-3c9e";
    const string SessionId = "session-5b21";

    // What the inbound claim map renames `tid` to (MapInboundClaims, on by default), as JwtBearer's does.
    const string MappedTenantIdClaimType = "http://schemas.microsoft.com/identity/claims/tenantid";

    static Dictionary<string, object> SubTidSid() => new() { ["sub"] = UserId, ["tid"] = TenantId, ["sid"] = SessionId, ["name"] = "Ann Example" };

    // The handler's own events at every level (AddObservability() keeps Microsoft.AspNetCore at Warning otherwise).
    static readonly Dictionary<string, string?> AuthenticationVerbose = new()
    {
        ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Authentication"] = "Verbose",
    };

    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    /// <summary>A browser: follows nothing by itself, keeps the application's cookies (ignoring <c>Secure</c>: plain HTTP).</summary>
    sealed class Browser(Uri application) : IDisposable
    {
        readonly HttpClient _client = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);

        /// <summary>
        /// Every cookie value the application set, kept after it deleted them, and the names that carry a value of
        /// their own (the nonce cookie's protected nonce, the correlation cookie's id, each with the value <c>N</c>).
        /// </summary>
        public List<string> CookiesSet { get; } = [];

        public Task<HttpResponseMessage> GetAsync(Uri uri) => SendAsync(new HttpRequestMessage(HttpMethod.Get, uri));

        public Task<HttpResponseMessage> PostFormAsync(Uri uri, IEnumerable<KeyValuePair<string, string>> form) =>
            SendAsync(new HttpRequestMessage(HttpMethod.Post, uri) { Content = new FormUrlEncodedContent(form) });

        async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
        {
            var toApplication = request.RequestUri!.Authority == application.Authority;
            if (toApplication && _cookies.Count > 0)
                request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => c.Key + "=" + c.Value)));
            var response = await _client.SendAsync(request);
            if (toApplication && response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                foreach (var setCookie in setCookies)
                {
                    var pair = setCookie.Split(';')[0];
                    var equals = pair.IndexOf('=');
                    var (name, value) = (pair[..equals], pair[(equals + 1)..]);
                    if (name.StartsWith(".AspNetCore.OpenIdConnect.Nonce.", StringComparison.Ordinal)
                        || name.StartsWith(".AspNetCore.Correlation.", StringComparison.Ordinal))
                        CookiesSet.Add(name);
                    if (value.Length > 1) CookiesSet.Add(value);
                    if (setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)) _cookies.Remove(name);
                    else _cookies[name] = value;
                }
            }
            return response;
        }

        public void Dispose() => _client.Dispose();
    }

    sealed record Outcome(
        HttpStatusCode CallbackStatus, HttpStatusCode FinalStatus, string FinalBody, string File,
        IReadOnlyList<JsonElement> Events, IReadOnlyList<string> SelfLog, IReadOnlyList<(string What, string Value)> Secrets,
        IReadOnlyList<Dictionary<string, string>> TokenRequestHeaders, string CallbackPath)
    {
        public JsonElement Completion(string path) =>
            Events.Single(e => LogFileEvents.Prop(e, "@mt")!.StartsWith("HTTP {RequestMethod}", StringComparison.Ordinal)
                && LogFileEvents.Prop(e, "RequestPath") == path);

        public JsonElement Handler(string message) => Events.Single(e => LogFileEvents.Prop(e, "@mt") == message);

        public IEnumerable<JsonElement> From(string sourceContextPrefix) =>
            Events.Where(e => LogFileEvents.Prop(e, "SourceContext")?.StartsWith(sourceContextPrefix, StringComparison.Ordinal) == true);

        /// <summary>The lines of the file that hold <paramref name="secret"/>.</summary>
        public IEnumerable<string> LinesWith(string secret) => File.Split('\n').Where(l => l.Contains(secret, StringComparison.Ordinal));
    }

    /// <summary>
    /// Signs a user in through the whole code flow: <c>/account</c> (which requires a user) challenges, the provider
    /// answers the authorization request with a code, the callback redeems it and signs in with the cookie, and
    /// <c>/account</c> is asked again with that cookie; it answers with the claim types its principal holds.
    /// <paramref name="tamperState"/> changes the callback's <c>state</c> before it is sent.
    /// </summary>
    static async Task<Outcome> SignInAsync(bool mapInboundClaims = true, string responseMode = OpenIdConnectResponseMode.Query,
        IDictionary<string, string?>? section = null, string? tokenError = null, bool tamperState = false,
        bool backchannelFromFactory = false, Dictionary<string, object>? userInfo = null)
    {
        using var logs = TempFolder.ForCaller();
        var selfLog = new List<string>();
        HttpStatusCode callbackStatus;
        HttpStatusCode finalStatus;
        string finalBody;
        var secrets = new List<(string What, string Value)>();
        FakeOpenIdProvider provider;
        await using (provider = await FakeOpenIdProvider.StartAsync())
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            provider.Claims = SubTidSid();
            provider.TokenError = tokenError;
            if (userInfo is not null) provider.UserInfo = userInfo;
            secrets.Add(("client_secret", provider.ClientSecret));

            var builder = TestWeb.ProductionBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            var settings = new Dictionary<string, string?>
            {
                ["Serilog:WriteTo:0:Name"] = "RollingJson",
                ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
            };
            foreach (var (key, value) in section ?? new Dictionary<string, string?>()) settings[key] = value;
            builder.Configuration.AddInMemoryCollection(settings);
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
            builder.Services.AddAuthentication(o =>
                {
                    o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                    o.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
                })
                .AddCookie()
                .AddOpenIdConnect(o =>
                {
                    o.Authority = provider.Issuer;
                    o.RequireHttpsMetadata = false; // the provider is on plain HTTP
                    o.ClientId = FakeOpenIdProvider.ClientId;
                    o.ClientSecret = provider.ClientSecret;
                    o.ResponseType = OpenIdConnectResponseType.Code;
                    o.ResponseMode = responseMode;
                    o.SaveTokens = true;
                    o.MapInboundClaims = mapInboundClaims;
                    o.GetClaimsFromUserInfoEndpoint = userInfo is not null;
                });
            if (backchannelFromFactory)
            {
                // The recipe the README gives: the handler's back channel from IHttpClientFactory, with the correlation id.
                builder.Services.AddHttpClient("oidc").AddCorrelationPropagation();
                builder.Services.AddOptions<OpenIdConnectOptions>(OpenIdConnectDefaults.AuthenticationScheme)
                    .Configure<IHttpClientFactory>((o, clients) => o.Backchannel = clients.CreateClient("oidc"));
            }
            builder.Services.AddAuthorization();
            await using (var app = builder.Build())
            {
                app.UseCorrelation();
                app.UseSerilogRequestLogging();
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapGet("/account", (HttpContext context, ILogger<OpenIdConnectTests> logger) =>
                {
                    logger.LogInformation("Showing the account");
                    return string.Join("\n", context.User.Claims.Select(c => c.Type));
                }).RequireAuthorization();
                await app.StartAsync();
                var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

                using var browser = new Browser(address);
                using var challenge = await browser.GetAsync(new Uri(address, "/account"));
                Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the challenge");
                using var authorization = await browser.GetAsync(challenge.Headers.Location!);
                var request = provider.AuthorizationRequests.Single();
                secrets.Add(("state", request["state"]!));
                secrets.Add(("nonce", request["nonce"]!));
                if (tamperState) secrets.Add(("state (tampered)", Tampered(request["state"]!)));

                HttpResponseMessage callback;
                if (responseMode == OpenIdConnectResponseMode.FormPost)
                {
                    Assert.That(authorization.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the provider's form");
                    var html = await authorization.Content.ReadAsStringAsync();
                    var action = WebUtility.HtmlDecode(Regex.Match(html, "action=\"([^\"]*)\"").Groups[1].Value);
                    var fields = Regex.Matches(html, "name=\"([^\"]*)\" value=\"([^\"]*)\"")
                        .Select(m => KeyValuePair.Create(m.Groups[1].Value, WebUtility.HtmlDecode(m.Groups[2].Value)))
                        .Select(f => tamperState && f.Key == "state" ? KeyValuePair.Create(f.Key, Tampered(f.Value)) : f)
                        .ToList();
                    callback = await browser.PostFormAsync(new Uri(action), fields);
                }
                else
                {
                    Assert.That(authorization.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the provider's redirect");
                    var location = authorization.Headers.Location!.ToString();
                    if (tamperState) location = Regex.Replace(location, "state=([^&]*)", m => "state=" + Tampered(m.Groups[1].Value));
                    callback = await browser.GetAsync(new Uri(location));
                }

                using (callback)
                {
                    callbackStatus = callback.StatusCode;
                    if (callbackStatus == HttpStatusCode.Redirect)
                    {
                        using var final = await browser.GetAsync(new Uri(address, callback.Headers.Location!));
                        finalStatus = final.StatusCode;
                        finalBody = await final.Content.ReadAsStringAsync();
                    }
                    else
                    {
                        finalStatus = callbackStatus;
                        finalBody = await callback.Content.ReadAsStringAsync();
                    }
                }

                secrets.AddRange(provider.Secrets);
                secrets.AddRange(browser.CookiesSet.Select(c => ("cookie", c)));
                await app.StopAsync();
            }
        }

        // Disposing the host flushed and closed the file.
        var file = string.Concat(Directory.GetFiles(logs.Path).Select(File.ReadAllText));
        return new Outcome(callbackStatus, finalStatus, finalBody, file, LogFileEvents.Read(logs.Path), selfLog, secrets,
            provider.TokenRequestHeaders.ToList(), "/signin-oidc");
    }

    /// <summary>Another state of the same length: a character changed in the middle, so it no longer unprotects.</summary>
    static string Tampered(string state)
    {
        var middle = state.Length / 2;
        return state[..middle] + (state[middle] == 'A' ? 'B' : 'A') + state[(middle + 1)..];
    }

    [TestCase(true, TestName = "{m}(MapInboundClaims on, the default)")]
    [TestCase(false, TestName = "{m}(MapInboundClaims off)")]
    public async Task RequestsSignedInByTheCookieCarryTheIdTokensSubTidAndSid(bool mapInboundClaims)
    {
        var outcome = await SignInAsync(mapInboundClaims);

        var claimTypes = outcome.FinalBody.Split('\n');
        var handler = outcome.Handler("Showing the account");
        var completion = outcome.Events.Last(e => LogFileEvents.Prop(e, "RequestPath") == "/account"
            && LogFileEvents.Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.CallbackStatus, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(outcome.FinalStatus, Is.EqualTo(HttpStatusCode.OK));
            // What the handler's token handler renames (as JwtBearer's does): `sub` and `tid` become long URIs, `sid` is
            // kept; the handler's claim actions delete neither of the three.
            if (mapInboundClaims)
            {
                Assert.That(claimTypes, Does.Contain(ClaimTypes.NameIdentifier).And.Contain(MappedTenantIdClaimType).And.Contain("sid"));
                Assert.That(claimTypes, Does.Not.Contain("sub").And.Not.Contain("tid").And.Not.Contain(ClaimTypes.Sid));
            }
            else
            {
                Assert.That(claimTypes, Does.Contain("sub").And.Contain("tid").And.Contain("sid"));
                Assert.That(claimTypes, Does.Not.Contain(ClaimTypes.NameIdentifier).And.Not.Contain(MappedTenantIdClaimType));
            }

            foreach (var (name, e) in new[] { ("completion", completion), ("handler", handler) })
            {
                Assert.That(LogFileEvents.Prop(e, "UserId"), Is.EqualTo(UserId), name);
                Assert.That(LogFileEvents.Prop(e, "TenantId"), Is.EqualTo(TenantId), name);
                Assert.That(LogFileEvents.Prop(e, "SessionId"), Is.EqualTo(SessionId), name);
            }

            // The callback signs the user in with the cookie and redirects: its own HttpContext.User stays anonymous, so
            // its events (the cookie handler's "signed in" too) have no user; the next request has.
            var callback = outcome.Completion(outcome.CallbackPath);
            Assert.That(LogFileEvents.Prop(callback, "StatusCode"), Is.EqualTo("302"));
            Assert.That(callback.TryGetProperty("UserId", out _), Is.False);
            Assert.That(outcome.SelfLog, Is.Empty);
        });
    }

    /// <summary>
    /// Every place a secret of the flow could come through: the handlers' own events at every level, the host's
    /// "Request starting" event (the callback's query), the completion event with its query.
    /// </summary>
    static Dictionary<string, string?> EverythingVerbose() => new(AuthenticationVerbose)
    {
        ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Hosting"] = "Information",
        ["Serilog:RequestLogging:IncludeQueryInRequestPath"] = "true",
    };

    static void AssertNoSecretIn(Outcome outcome)
    {
        Assert.That(outcome.Secrets.Select(s => s.What).Distinct(), Is.SupersetOf(new[] { "client_secret", "state", "nonce", "code" }));
        foreach (var (what, value) in outcome.Secrets)
        {
            Assert.That(outcome.LinesWith(value), Is.Empty, what);
            // A JWT's parts alone: its signature, and its payload (the user's claims, the nonce).
            foreach (var part in value.Split('.').Where(p => p.Length > 16))
                Assert.That(outcome.LinesWith(part), Is.Empty, what + " (a part)");
        }
        Assert.That(string.Join("\n", outcome.SelfLog), Does.Not.Contain(outcome.Secrets.Single(s => s.What == "state").Value));
    }

    [TestCase(OpenIdConnectResponseMode.Query)]
    [TestCase(OpenIdConnectResponseMode.FormPost)]
    public async Task NoSecretOfASignInReachesTheFileWithTheHandlersEventsAtEveryLevel(string responseMode)
    {
        var outcome = await SignInAsync(responseMode: responseMode, section: EverythingVerbose());

        var handler = outcome.From("Microsoft.AspNetCore.Authentication.OpenIdConnect").Select(e => LogFileEvents.Prop(e, "@mt")).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(outcome.FinalStatus, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(outcome.Secrets.Select(s => s.What), Does.Contain("id_token").And.Contain("access_token")
                .And.Contain("refresh_token").And.Contain("code_verifier").And.Contain("cookie"));
            // The events that write the flow's URLs reached the file, so the assertions below look at them too: the
            // authorization request's address (state, nonce) at Debug, the callback's parameters (code, state) at Verbose,
            // the callback's query in the host's "Request starting" and in RequestPath.
            Assert.That(handler, Does.Contain("HandleChallenge with Location: {Location}; and Set-Cookie: {Cookie}.")
                .And.Contain("MessageReceived: '{RedirectUrl}'."));
            if (responseMode == OpenIdConnectResponseMode.Query)
            {
                Assert.That(outcome.Events.Where(e => LogFileEvents.Prop(e, "@mt")!.StartsWith("Request starting", StringComparison.Ordinal))
                    .Select(e => LogFileEvents.Prop(e, "Path")), Does.Contain(outcome.CallbackPath));
                // The request logging masks the code and the state itself (without AddObservability()'s redaction too).
                Assert.That(LogFileEvents.Prop(outcome.Completion(outcome.CallbackPath + "?code=[REDACTED]&state=[REDACTED]"), "StatusCode"),
                    Is.EqualTo("302"));
            }
            AssertNoSecretIn(outcome);
        });
    }

    // With GetClaimsFromUserInfoEndpoint the handler logs the provider's answer (the user's name and e-mail address) at
    // Verbose as "User information received: {User}", but passes it as a JsonDocument, which the logger writes by its
    // type name: the user's claims reach no line, and the access token the handler sends for them none either.
    [Test]
    public async Task TheUserInfoEventWritesNoneOfTheUsersClaims()
    {
        const string email = "ann.example@mail.example";
        var outcome = await SignInAsync(section: EverythingVerbose(), userInfo: new() { ["email"] = email, ["given_name"] = "Annie-7c1" });

        var userInfo = outcome.Handler("User information received: {User}");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.FinalStatus, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(outcome.FinalBody.Split('\n'), Does.Contain("email"), "the user's claims from the endpoint");
            Assert.That(LogFileEvents.Prop(userInfo, "User"), Is.EqualTo("System.Text.Json.JsonDocument"));
            Assert.That(outcome.LinesWith(email), Is.Empty);
            Assert.That(outcome.LinesWith("Annie-7c1"), Is.Empty);
            AssertNoSecretIn(outcome);
        });
    }

    const string TokenErrorDescription = "AADSTS54005: OAuth2 Authorization code was already redeemed.";

    [TestCase(OpenIdConnectResponseMode.Query, false, TestName = "{m}(a state that does not unprotect, query)")]
    [TestCase(OpenIdConnectResponseMode.FormPost, false, TestName = "{m}(a state that does not unprotect, form_post)")]
    [TestCase(OpenIdConnectResponseMode.Query, true, TestName = "{m}(the token endpoint refuses the code)")]
    public async Task AFailedCallbackIsWrittenWithItsExceptionAndNoSecret(string responseMode, bool tokenEndpointRefuses)
    {
        var outcome = await SignInAsync(responseMode: responseMode, section: EverythingVerbose(),
            tokenError: tokenEndpointRefuses ? TokenErrorDescription : null, tamperState: !tokenEndpointRefuses);

        var completion = outcome.Events.Single(e => LogFileEvents.Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"
            && LogFileEvents.Prop(e, "RequestPath")!.StartsWith(outcome.CallbackPath, StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            // The handler's remote failure, which no OnRemoteFailure handled: an exception that reaches the server.
            Assert.That(outcome.CallbackStatus, Is.EqualTo(HttpStatusCode.InternalServerError));
            Assert.That(LogFileEvents.Prop(completion, "@l"), Is.EqualTo("Error"));
            Assert.That(LogFileEvents.Prop(completion, "StatusCode"), Is.EqualTo("500"));
            Assert.That(LogFileEvents.Prop(completion, "@x"), Does.StartWith("Microsoft.AspNetCore.Authentication.AuthenticationFailureException: An error was encountered while handling the remote login."));
            Assert.That(LogFileEvents.Prop(completion, "@x"), Does.Contain(tokenEndpointRefuses
                ? "Message contains error: 'invalid_grant', error_description: '" + TokenErrorDescription + "'"
                : "Unable to unprotect the message.State."));
            if (tokenEndpointRefuses)
            {
                // The handler's own error events, the first with the provider's description as the provider wrote it, in
                // the callback's flow.
                var errors = outcome.From("Microsoft.AspNetCore.Authentication.OpenIdConnect").Where(e => LogFileEvents.Prop(e, "@l") == "Error").ToList();
                Assert.That(errors.Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[]
                {
                    "Message contains error: '{Error}', error_description: '{ErrorDescription}', error_uri: '{ErrorUri}', status code '{StatusCode}'.",
                    "Exception occurred while processing message.",
                }));
                Assert.That(LogFileEvents.Prop(errors[0], "ErrorDescription"), Is.EqualTo(TokenErrorDescription));
                Assert.That(errors.Select(e => LogFileEvents.Prop(e, "CorrelationId")), Has.All.EqualTo(LogFileEvents.Prop(completion, "CorrelationId")));
            }
            AssertNoSecretIn(outcome);
        });
    }

    // A provider's error_description is written as the provider wrote it, for the diagnosis; where it names the user
    // (Entra ID's AADSTS50020 quotes the account), that is personal data: DetectEmailAddresses masks the address in the
    // handler's event and in the exception, and the rest stays readable.
    [Test]
    public async Task AnErrorDescriptionKeepsItsTextWithTheUsersAddressMaskedWhereEmailDetectionIsOn()
    {
        const string email = "ann.lee@contoso.example";
        const string description = "AADSTS50020: User account '" + email + "' from identity provider 'live.com' does not exist in tenant 'Contoso'.";
        var section = EverythingVerbose();
        section["Serilog:Redaction:DetectEmailAddresses"] = "true";
        var outcome = await SignInAsync(section: section, tokenError: description);

        var masked = description.Replace(email, "[REDACTED]", StringComparison.Ordinal);
        var error = outcome.Handler("Message contains error: '{Error}', error_description: '{ErrorDescription}', error_uri: '{ErrorUri}', status code '{StatusCode}'.");
        var completion = outcome.Events.Single(e => LogFileEvents.Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"
            && LogFileEvents.Prop(e, "RequestPath")!.StartsWith(outcome.CallbackPath, StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(outcome.CallbackStatus, Is.EqualTo(HttpStatusCode.InternalServerError));
            Assert.That(LogFileEvents.Prop(error, "ErrorDescription"), Is.EqualTo(masked));
            Assert.That(LogFileEvents.Prop(completion, "@x"), Does.Contain("error_description: '" + masked + "'"));
            Assert.That(outcome.LinesWith(email), Is.Empty);
            AssertNoSecretIn(outcome);
        });
    }

    [TestCase(false, TestName = "{m}(the handler's own back channel)")]
    [TestCase(true, TestName = "{m}(a back channel from IHttpClientFactory with AddCorrelationPropagation())")]
    public async Task TheTokenRequestIsInTheCallbacksTraceAndCarriesItsCorrelationIdWithAPropagatingBackchannel(bool backchannelFromFactory)
    {
        var outcome = await SignInAsync(section: AuthenticationVerbose, backchannelFromFactory: backchannelFromFactory);

        var callback = outcome.Completion(outcome.CallbackPath);
        var (correlationId, traceId) = (LogFileEvents.Prop(callback, "CorrelationId"), LogFileEvents.Prop(callback, "TraceId"));
        var tokenRequest = outcome.TokenRequestHeaders.Single();
        var redeeming = outcome.Handler("Redeeming code for tokens.");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.FinalStatus, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(traceId, Is.Not.Null.And.EqualTo(LogFileEvents.Prop(callback, "@tr")));
            // The handler's events around the back-channel call are written in the callback's flow.
            Assert.That(LogFileEvents.Prop(redeeming, "CorrelationId"), Is.EqualTo(correlationId));
            Assert.That(LogFileEvents.Prop(redeeming, "TraceId"), Is.EqualTo(traceId));
            // Whatever client sends it, HttpClient puts the callback's trace on the token request (W3C traceparent), so a
            // provider that traces joins it.
            Assert.That(tokenRequest["traceparent"], Does.StartWith("00-" + traceId + "-"));
            if (backchannelFromFactory)
            {
                Assert.That(tokenRequest["X-Correlation-ID"], Is.EqualTo(correlationId));
                // IHttpClientFactory's own events of the token request are the callback's too.
                var client = outcome.From("System.Net.Http.HttpClient.oidc")
                    .Where(e => LogFileEvents.Prop(e, "RequestPath") == outcome.CallbackPath).ToList();
                Assert.That(client, Is.Not.Empty);
                Assert.That(client.Select(e => LogFileEvents.Prop(e, "CorrelationId")), Has.All.EqualTo(correlationId));
            }
            else
            {
                // The handler's own HttpClient has no handler of ours: the provider gets no correlation id.
                Assert.That(tokenRequest.ContainsKey("X-Correlation-ID"), Is.False);
            }

            // The round trip is three requests of the browser, each its own trace with its own id: nothing joins the
            // challenge, the callback and the signed-in request but the user (from the callback's next request on).
            var ids = outcome.Events.Where(e => LogFileEvents.Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware")
                .Select(e => LogFileEvents.Prop(e, "CorrelationId")).ToList();
            Assert.That(ids, Has.Count.EqualTo(3).And.Unique);
        });
    }
}
