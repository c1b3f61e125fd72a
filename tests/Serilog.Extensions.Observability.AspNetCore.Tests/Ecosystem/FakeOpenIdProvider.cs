using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// The smallest OpenID provider the authorization code flow needs, on its own Kestrel (127.0.0.1, port 0, no logging):
/// a discovery document, a JWKS with a test RSA key, an authorization endpoint that answers at once with a code (by
/// redirect, or with the auto-posting form of <c>response_mode=form_post</c>), and a token endpoint that checks the
/// client secret, the code and the PKCE verifier, then returns an RS256 <c>id_token</c> with the requested nonce, an
/// opaque <c>access_token</c> and <c>refresh_token</c>, and a userinfo endpoint that answers that access token with
/// <see cref="UserInfo"/>. It records what it received and every secret it issued.
/// </summary>
sealed class FakeOpenIdProvider : IAsyncDisposable
{
    public const string ClientId = "orders-web";

    readonly RSA _rsa = RSA.Create(2048);
    readonly ConcurrentDictionary<string, (string? Nonce, string? Challenge, string? RedirectUri)> _codes = new();
    readonly WebApplication _app;

    public string ClientSecret { get; } = "client-secret-" + Guid.NewGuid().ToString("n");

    /// <summary>The claims of the id_token, besides <c>iss</c>, <c>aud</c>, <c>nonce</c> and the times.</summary>
    public Dictionary<string, object> Claims { get; set; } = new();

    /// <summary>What the userinfo endpoint answers, besides <c>sub</c> (the id_token's).</summary>
    public Dictionary<string, object> UserInfo { get; set; } = new();

        /// <summary>When set, the token endpoint answers 400 with this OAuth <c>error_description</c>.</summary>
    public string? TokenError { get; set; }

    public Uri Authority { get; private set; } = null!;

    /// <summary>Issuer (the authority without its final slash), as the discovery document names it.</summary>
    public string Issuer => Authority.ToString().TrimEnd('/');

    /// <summary>Every value the provider issued or received that must stay secret: codes, tokens, the verifier.</summary>
    public ConcurrentQueue<(string What, string Value)> Secrets { get; } = new();

    /// <summary>The query of each authorization request.</summary>
    public ConcurrentQueue<IQueryCollection> AuthorizationRequests { get; } = new();

    /// <summary>The headers of each token request (the application's back channel), copied: Kestrel reuses its own.</summary>
    public ConcurrentQueue<Dictionary<string, string>> TokenRequestHeaders { get; } = new();

    FakeOpenIdProvider(WebApplication app) => _app = app;

    public static async Task<FakeOpenIdProvider> StartAsync()
    {
        var builder = TestWeb.ProductionBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var provider = new FakeOpenIdProvider(app);
        app.MapGet("/.well-known/openid-configuration", provider.Discovery);
        app.MapGet("/jwks", provider.Jwks);
        app.MapGet("/authorize", provider.Authorize);
        app.MapPost("/token", (Delegate)provider.TokenAsync);
        app.MapGet("/userinfo", provider.UserInfoEndpoint);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        provider.Authority = new Uri(address.TrimEnd('/') + "/");
        return provider;
    }

    IResult Discovery() => Results.Json(new Dictionary<string, object>
    {
        ["issuer"] = Issuer,
        ["authorization_endpoint"] = Issuer + "/authorize",
        ["token_endpoint"] = Issuer + "/token",
        ["jwks_uri"] = Issuer + "/jwks",
        ["userinfo_endpoint"] = Issuer + "/userinfo",
        ["response_types_supported"] = new[] { "code" },
        ["response_modes_supported"] = new[] { "query", "form_post" },
        ["subject_types_supported"] = new[] { "public" },
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        ["code_challenge_methods_supported"] = new[] { "S256" },
        ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_post" },
    });

    IResult Jwks()
    {
        var parameters = _rsa.ExportParameters(includePrivateParameters: false);
        return Results.Json(new
        {
            keys = new[]
            {
                new { kty = "RSA", use = "sig", alg = "RS256", kid = "idp-key-1", n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
            },
        });
    }

    IResult Authorize(HttpContext context)
    {
        var query = context.Request.Query;
        AuthorizationRequests.Enqueue(query);
        var code = "code-" + Guid.NewGuid().ToString("n");
        Secrets.Enqueue(("code", code));
        _codes[code] = (query["nonce"], query["code_challenge"], query["redirect_uri"]);
        string redirectUri = query["redirect_uri"]!;
        string? state = query["state"];
        if (query["response_mode"] == "form_post")
        {
            // What a provider sends the browser: a form that posts itself to the redirect URI.
            var html = new StringBuilder("<html><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"")
                .Append(WebUtility.HtmlEncode(redirectUri)).Append("\">")
                .Append("<input type=\"hidden\" name=\"code\" value=\"").Append(WebUtility.HtmlEncode(code)).Append("\"/>")
                .Append("<input type=\"hidden\" name=\"state\" value=\"").Append(WebUtility.HtmlEncode(state)).Append("\"/>")
                .Append("</form></body></html>");
            return Results.Content(html.ToString(), "text/html");
        }

        return Results.Redirect(redirectUri + "?code=" + Uri.EscapeDataString(code) + "&state=" + Uri.EscapeDataString(state ?? ""));
    }

    async Task<IResult> TokenAsync(HttpContext context)
    {
        TokenRequestHeaders.Enqueue(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
        var form = await context.Request.ReadFormAsync();
        string? code = form["code"];
        string? verifier = form["code_verifier"];
        if (verifier is not null) Secrets.Enqueue(("code_verifier", verifier));
        if (TokenError is { } error)
            return Results.Json(new { error = "invalid_grant", error_description = error }, statusCode: StatusCodes.Status400BadRequest);
        if (form["client_secret"] != ClientSecret || form["grant_type"] != "authorization_code" || code is null
            || !_codes.TryRemove(code, out var issued) || form["redirect_uri"] != issued.RedirectUri
            || issued.Challenge != Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier ?? ""))))
            return Results.Json(new { error = "invalid_grant" }, statusCode: StatusCodes.Status400BadRequest);

        var claims = new Dictionary<string, object>(Claims);
        if (issued.Nonce is not null) claims["nonce"] = issued.Nonce;
        var now = DateTime.UtcNow;
        var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = ClientId,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now.AddMinutes(-1),
            Expires = now.AddMinutes(30),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(_rsa) { KeyId = "idp-key-1" }, SecurityAlgorithms.RsaSha256),
        });
        var accessToken = "at-" + Guid.NewGuid().ToString("n") + Guid.NewGuid().ToString("n");
        var refreshToken = "rt-" + Guid.NewGuid().ToString("n") + Guid.NewGuid().ToString("n");
        Secrets.Enqueue(("id_token", idToken));
        Secrets.Enqueue(("access_token", accessToken));
        Secrets.Enqueue(("refresh_token", refreshToken));
        return Results.Json(new Dictionary<string, object>
        {
            ["id_token"] = idToken,
            ["access_token"] = accessToken,
            ["refresh_token"] = refreshToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = 3600,
        });
    }

    IResult UserInfoEndpoint(HttpContext context)
    {
        string authorization = context.Request.Headers.Authorization.ToString();
        var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : "";
        if (!Secrets.Contains(("access_token", token))) return Results.Unauthorized();
        var user = new Dictionary<string, object>(UserInfo) { ["sub"] = Claims["sub"] };
        return Results.Json(user);
    }

        public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _rsa.Dispose();
    }
}
