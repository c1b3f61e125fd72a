using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Logging;
using Microsoft.IdentityModel.Tokens;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// Microsoft.AspNetCore.Authentication.JwtBearer (10.0 on net10.0, 8.0 on net8.0, with the Microsoft.IdentityModel each
/// brings: 8.x and 7.x) in front of an API set up as the READMEs show: <c>AddObservability()</c> writing CLEF to a
/// RollingJson file, then <c>UseCorrelation()</c>, <c>UseSerilogRequestLogging()</c>, <c>UseAuthentication()</c>,
/// <c>UseAuthorization()</c>, on real Kestrel, with tokens signed by a symmetric test key. Asserted on the file's lines.
/// </summary>
[NonParallelizable] // Log.Logger and SelfLog are process-wide.
public class JwtBearerTests
{
    const string Issuer = "https://login.example/tenant-3/v2.0";
    const string Audience = "api://orders";
    const string UserId = "user-7f3a";
    const string TenantId = "tenant-3c9e";
    const string SessionId = "session-5b21";

    // What the inbound claim map of JwtBearer's token handler renames `tid` to (MapInboundClaims, on by default).
    const string MappedTenantIdClaimType = "http://schemas.microsoft.com/identity/claims/tenantid";

    static readonly SymmetricSecurityKey Key = new(RandomNumberGenerator.GetBytes(32)) { KeyId = "test-key" };
    static readonly SymmetricSecurityKey OtherKey = new(RandomNumberGenerator.GetBytes(32)) { KeyId = "test-key" };

    static readonly Dictionary<string, object> SubTidSid = new() { ["sub"] = UserId, ["tid"] = TenantId, ["sid"] = SessionId };

    // The host's late logger (events after it is disposed) becomes Log.Logger; the next test must not inherit it.
    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    /// <summary>A compact JWS, signed with <paramref name="key"/> (HS256), or unsigned (<c>alg: none</c>) without one.</summary>
    static string CreateToken(IDictionary<string, object> claims, SecurityKey? key, DateTime? expires = null)
    {
        var expiry = expires ?? DateTime.UtcNow.AddMinutes(30);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Claims = claims,
            IssuedAt = expiry.AddHours(-1),
            NotBefore = expiry.AddHours(-1),
            Expires = expiry,
            SigningCredentials = key is null ? null : new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }

    sealed record Outcome(HttpStatusCode Status, string Body, string File, IReadOnlyList<JsonElement> Events, IReadOnlyList<string> SelfLog)
    {
        public JsonElement Completion(string path) =>
            Events.Single(e => LogFileEvents.Prop(e, "@mt")!.StartsWith("HTTP {RequestMethod}", StringComparison.Ordinal)
                && LogFileEvents.Prop(e, "RequestPath") == path);

        public JsonElement Handler(string message) => Events.Single(e => LogFileEvents.Prop(e, "@mt") == message);

        public IEnumerable<JsonElement> From(string sourceContextPrefix) =>
            Events.Where(e => LogFileEvents.Prop(e, "SourceContext")?.StartsWith(sourceContextPrefix, StringComparison.Ordinal) == true);
    }

    /// <summary>
    /// Sends one request to an API with JwtBearer; <c>/orders</c> requires an authenticated user and answers with the
    /// claim types its principal holds, <c>/catalog</c> allows anonymous requests. Both log one event.
    /// </summary>
    static async Task<Outcome> RunAsync(string path, string? bearer, bool mapInboundClaims = true,
        IDictionary<string, string?>? section = null, bool requestLoggingAfterAuthorization = false)
    {
        using var logs = TempFolder.ForCaller();
        var selfLog = new List<string>();
        HttpStatusCode status;
        string body;
        using (TemporarySelfLog.SaveTo(selfLog))
        {
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
            builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
            {
                o.MapInboundClaims = mapInboundClaims;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = Issuer,
                    ValidAudience = Audience,
                    IssuerSigningKey = Key,
                };
            });
            builder.Services.AddAuthorization();
            await using (var app = builder.Build())
            {
                app.UseCorrelation();
                if (!requestLoggingAfterAuthorization) app.UseSerilogRequestLogging();
                app.UseAuthentication();
                app.UseAuthorization();
                if (requestLoggingAfterAuthorization) app.UseSerilogRequestLogging();
                app.MapGet("/orders", (HttpContext context, ILogger<JwtBearerTests> logger) =>
                {
                    logger.LogInformation("Listing orders");
                    return string.Join("\n", context.User.Claims.Select(c => c.Type));
                }).RequireAuthorization();
                app.MapGet("/catalog", (HttpContext context, ILogger<JwtBearerTests> logger) =>
                {
                    logger.LogInformation("Listing the catalog");
                    return context.User.Identity?.IsAuthenticated == true ? "signed in" : "anonymous";
                }).AllowAnonymous();
                await app.StartAsync();
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
                using var client = new HttpClient { BaseAddress = new Uri(address) };
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
                using var response = await client.SendAsync(request);
                status = response.StatusCode;
                body = await response.Content.ReadAsStringAsync();
                await app.StopAsync();
            }
        }

        // Disposing the host flushed and closed the file.
        var file = string.Concat(Directory.GetFiles(logs.Path).Select(File.ReadAllText));
        return new Outcome(status, body, file, LogFileEvents.Read(logs.Path), selfLog);
    }

    [TestCase(true, TestName = "{m}(MapInboundClaims on, the default)")]
    [TestCase(false, TestName = "{m}(MapInboundClaims off)")]
    public async Task AValidTokensSubTidAndSidAreTheUserTenantAndSessionOfEveryEventOfTheRequest(bool mapInboundClaims)
    {
        var outcome = await RunAsync("/orders", CreateToken(SubTidSid, Key), mapInboundClaims);

        var claimTypes = outcome.Body.Split('\n');
        var completion = outcome.Completion("/orders");
        var handler = outcome.Handler("Listing orders");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(HttpStatusCode.OK));
            // What the handler renames (the same with Microsoft.IdentityModel 7.7 on net8.0 and 8.x on net10.0): `sub` and
            // `tid` become long URIs, `sid` is kept as it is.
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
                Assert.That(LogFileEvents.Prop(e, "CorrelationId"), Is.Not.Null, name);
            }

            Assert.That(LogFileEvents.Prop(completion, "StatusCode"), Is.EqualTo("200"));
            Assert.That(outcome.SelfLog, Is.Empty);
        });
    }

    [Test]
    public async Task ATokenThatPutsItsOwnValueInClaimTypesSidGivesNoSessionId()
    {
        // Applications put a user's database key in ClaimTypes.Sid (the Windows "security identifier" claim), and JwtBearer
        // maps no inbound claim to it: it is not a session id, and not read as one.
        var claims = new Dictionary<string, object> { ["sub"] = UserId, [ClaimTypes.Sid] = "S-1-5-21-1004" };

        var outcome = await RunAsync("/orders", CreateToken(claims, Key));

        var completion = outcome.Completion("/orders");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(outcome.Body.Split('\n'), Does.Contain(ClaimTypes.Sid));
            Assert.That(LogFileEvents.Prop(completion, "UserId"), Is.EqualTo(UserId));
            Assert.That(completion.TryGetProperty("SessionId", out _), Is.False);
            Assert.That(completion.TryGetProperty("TenantId", out _), Is.False);
        });
    }

    public static IEnumerable<TestCaseData> RejectedTokens()
    {
        var now = DateTime.UtcNow;
        yield return new TestCaseData(CreateToken(SubTidSid, Key, expires: now.AddHours(-1))).SetArgDisplayNames("expired");
        yield return new TestCaseData(CreateToken(SubTidSid, OtherKey)).SetArgDisplayNames("signed with another key");
        var valid = CreateToken(SubTidSid, Key).Split('.');
        var forged = CreateToken(new Dictionary<string, object> { ["sub"] = "admin", ["tid"] = TenantId, ["sid"] = SessionId }, OtherKey).Split('.');
        yield return new TestCaseData(string.Join('.', forged[0], forged[1], valid[2])).SetArgDisplayNames("another token's signature");
        yield return new TestCaseData(CreateToken(SubTidSid, key: null)).SetArgDisplayNames("unsigned (alg none)");
        yield return new TestCaseData("not-a-jwt-" + Guid.NewGuid().ToString("n")).SetArgDisplayNames("not a JWT");
    }

    [TestCaseSource(nameof(RejectedTokens))]
    public async Task ARejectedTokenIsAnsweredWith401AndNoPartOfItReachesTheFile(string token)
    {
        var section = new Dictionary<string, string?>
        {
            // JwtBearer's own events (AddObservability() keeps Microsoft.AspNetCore at Warning otherwise): "Failed to validate
            // the token." with the exception, "Bearer was not authenticated. Failure message: ..." and "Bearer was
            // challenged.", all three at Information.
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Authentication"] = "Debug",
            ["Serilog:RequestLogging:RequestHeaders:0"] = "Authorization",
        };

        var outcome = await RunAsync("/orders", token, section: section);

        var completion = outcome.Completion("/orders");
        var jwtBearer = outcome.From("Microsoft.AspNetCore.Authentication").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(LogFileEvents.Prop(completion, "StatusCode"), Is.EqualTo("401"));
            // The default level: a 4xx is Information unless LogClientErrorsAsWarning (CLEF leaves out @l for Information).
            Assert.That(completion.TryGetProperty("@l", out _), Is.False);
            Assert.That(completion.TryGetProperty("UserId", out _), Is.False);
            Assert.That(completion.GetProperty("RequestHeaders").GetProperty("Authorization").GetString(), Is.EqualTo("[REDACTED]"));

            // JwtBearer's events reached the file, so the assertions below look at them too.
            Assert.That(jwtBearer.Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[]
            {
                "Failed to validate the token.",
                "{AuthenticationScheme} was not authenticated. Failure message: {FailureMessage}",
                "AuthenticationScheme: {AuthenticationScheme} was challenged.",
            }));
            Assert.That(jwtBearer.Select(e => LogFileEvents.Prop(e, "CorrelationId")), Has.All.EqualTo(LogFileEvents.Prop(completion, "CorrelationId")));

            Assert.That(outcome.File, Does.Not.Contain(token), "the token");
            foreach (var part in token.Split('.').Where(p => p.Length > 0))
                Assert.That(outcome.File, Does.Not.Contain(part), "a part of the token");
            Assert.That(string.Join("\n", outcome.SelfLog), Does.Not.Contain(token));
        });
    }

    [Test]
    public async Task ARejectedTokensCompletionEventIsAWarningWithLogClientErrorsAsWarning()
    {
        var section = new Dictionary<string, string?> { ["Serilog:RequestLogging:LogClientErrorsAsWarning"] = "true" };

        var outcome = await RunAsync("/orders", CreateToken(SubTidSid, OtherKey), section: section);

        var completion = outcome.Completion("/orders");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(LogFileEvents.Prop(completion, "@l"), Is.EqualTo("Warning"));
            Assert.That(completion.TryGetProperty("UserId", out _), Is.False);
        });
    }

    [Test]
    public async Task RequestLoggingAfterUseAuthorizationWritesNoCompletionEventForARequestItTurnsAway()
    {
        // Why the README puts UseSerilogRequestLogging() before UseAuthentication() and UseAuthorization().
        var outcome = await RunAsync("/orders", CreateToken(SubTidSid, OtherKey), requestLoggingAfterAuthorization: true);

        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(outcome.Events.Select(e => LogFileEvents.Prop(e, "SourceContext")), Has.None.EqualTo("Serilog.AspNetCore.RequestLoggingMiddleware"));
            Assert.That(outcome.Events.Select(e => LogFileEvents.Prop(e, "SourceContext")), Has.Some.EqualTo("Microsoft.Hosting.Lifetime"), "the file was written");
        });
    }

    [TestCase("/catalog", HttpStatusCode.OK)]
    [TestCase("/orders", HttpStatusCode.Unauthorized)]
    public async Task AnAnonymousRequestHasNoUserTenantOrSessionId(string path, HttpStatusCode expected)
    {
        var outcome = await RunAsync(path, bearer: null);

        var completion = outcome.Completion(path);
        var events = expected == HttpStatusCode.OK ? [completion, outcome.Handler("Listing the catalog")] : new[] { completion };
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(expected));
            if (expected == HttpStatusCode.OK) Assert.That(outcome.Body, Is.EqualTo("anonymous"));
            foreach (var e in events)
            {
                Assert.That(e.TryGetProperty("UserId", out _), Is.False);
                Assert.That(e.TryGetProperty("TenantId", out _), Is.False);
                Assert.That(e.TryGetProperty("SessionId", out _), Is.False);
                Assert.That(LogFileEvents.Prop(e, "CorrelationId"), Is.Not.Null);
            }

            Assert.That(outcome.SelfLog, Is.Empty);
        });
    }

    [Test]
    public async Task AValidTokenOnAnEndpointThatAllowsAnonymousRequestsStillGivesTheUser()
    {
        var outcome = await RunAsync("/catalog", CreateToken(SubTidSid, Key));

        var completion = outcome.Completion("/catalog");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Body, Is.EqualTo("signed in"));
            Assert.That(LogFileEvents.Prop(completion, "UserId"), Is.EqualTo(UserId));
            Assert.That(LogFileEvents.Prop(outcome.Handler("Listing the catalog"), "UserId"), Is.EqualTo(UserId));
        });
    }

    [TestCase(false, false, TestName = "{m}(ShowPII)")]
    [TestCase(true, false, TestName = "{m}(ShowPII and LogCompleteSecurityArtifact)")]
    [TestCase(true, true, TestName = "{m}(ShowPII and LogCompleteSecurityArtifact, DetectJwts and DetectEmbeddedCredentials turned off)")]
    public async Task IdentityModelWritesTheRejectedTokenOnlyWhenToldToAndDetectJwtsMasksIt(bool completeSecurityArtifact, bool detectJwtsOff)
    {
        var token = CreateToken(SubTidSid, OtherKey);
        var section = new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Authentication"] = "Debug" };
        // DetectEmbeddedCredentials, also on by default, masks the token too, after IdentityModel's "token: " label.
        if (detectJwtsOff)
        {
            section["Serilog:Redaction:DetectJwts"] = "false";
            section["Serilog:Redaction:DetectEmbeddedCredentials"] = "false";
        }
        Outcome outcome;
        // Process-wide switches of Microsoft.IdentityModel, which developers turn on to see why a token was rejected.
        IdentityModelEventSource.ShowPII = true;
        IdentityModelEventSource.LogCompleteSecurityArtifact = completeSecurityArtifact;
        try
        {
            outcome = await RunAsync("/orders", token, section: section);
        }
        finally
        {
            IdentityModelEventSource.ShowPII = false;
            IdentityModelEventSource.LogCompleteSecurityArtifact = false;
        }

        var failures = outcome.From("Microsoft.AspNetCore.Authentication")
            .Where(e => LogFileEvents.Prop(e, "@mt")!.StartsWith("Failed to validate", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(failures, Has.Count.EqualTo(1));
            if (completeSecurityArtifact && detectJwtsOff)
            {
                // The whole token, signature included, in the exception and in "Failure message: ...": what DetectJwts,
                // on by default in AddObservability()'s redaction, masks.
                Assert.That(outcome.File, Does.Contain("token: '" + token + "'"));
            }
            else
            {
                Assert.That(outcome.File, Does.Not.Contain(token));
                foreach (var part in token.Split('.')) Assert.That(outcome.File, Does.Not.Contain(part));
                if (completeSecurityArtifact) Assert.That(LogFileEvents.Prop(failures[0], "@x"), Does.Contain("token: '[REDACTED]'"));
            }
        });
    }
}
