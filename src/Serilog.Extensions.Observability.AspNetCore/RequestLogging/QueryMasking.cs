using System.Text;

namespace Serilog.Extensions.Observability.AspNetCore.RequestLogging;

/// <summary>
/// Masks the values of query parameters that may carry a credential, for <c>RequestPath</c> when it includes the query:
/// SignalR and OAuth put tokens in the query, presigned URLs put signatures and credentials there. A name is a
/// credential by the rule that masks headers (it contains <c>token</c>, <c>key</c>, <c>secret</c>, ...), or when it
/// is one of a few short names that carry one (<c>sig</c>, <c>code</c>, <c>pwd</c>, <c>pass</c>, <c>jwt</c>, <c>otp</c>), or
/// one of the one-time values of OAuth and OpenID Connect (<c>state</c>, <c>nonce</c>, <c>code_verifier</c>): an
/// OpenID Connect callback with <c>response_mode=query</c> is <c>/signin-oidc?code=...&amp;state=...</c>; SAML's
/// assertion and request with their <c>RelayState</c>, and the device flow's <c>device_code</c> and <c>user_code</c>.
/// On a SignalR connection's requests (a hub's or a connection handler's) <c>id</c> is its token too; anywhere else it is
/// an ordinary id. The userinfo of a target in absolute form is masked too.
/// </summary>
internal static class QueryMasking
{
    const string Redacted = "[REDACTED]";
    // Lower case, without separators: compared with the name read as the credential words are (see IsCredential).
    static readonly string[] ShortNames =
    [
        "sig", "code", "pwd", "pass", "jwt", "otp", "state", "nonce", "codeverifier",
        "samlresponse", "samlrequest", "relaystate", "devicecode", "usercode",
    ];

    /// <summary>The request target with each credential's value replaced; the same string when there is none.</summary>
    /// <param name="target">The request target: the path and the query.</param>
    /// <param name="isConnection">
    /// Whether the request is one of a SignalR connection's (a hub's or a connection handler's): then <c>id</c> is its token.
    /// </param>
    public static string Mask(string target, bool isConnection = false)
    {
        // An origin-form target starts with '/'; another may be in absolute form, with userinfo to mask.
        if (target.Length > 0 && target[0] != '/') target = MaskUserInfo(target);
        var query = target.IndexOf('?');
        if (query < 0) return target;

        StringBuilder? masked = null;
        var copied = 0;
        var start = query + 1;
        while (start < target.Length)
        {
            var end = target.IndexOf('&', start);
            if (end < 0) end = target.Length;
            var equals = target.IndexOf('=', start, end - start);
            if (equals > start && IsCredential(target.AsSpan(start, equals - start), isConnection))
            {
                masked ??= new StringBuilder(target.Length + Redacted.Length);
                masked.Append(target, copied, equals + 1 - copied).Append(Redacted);
                copied = end;
            }
            start = end + 1;
        }

        if (masked is null) return target;
        masked.Append(target, copied, target.Length - copied);
        return masked.ToString();
    }

    /// <summary>
    /// Masks the userinfo of an absolute-form target (<c>http://user:password@host/p</c>, RFC 9112 3.2.2), which Kestrel
    /// accepts and reports as the raw target: all of it, as a user name alone can be a token (<c>https://ghp_...@host</c>).
    /// Up to the last <c>@</c> before the authority ends, as <see cref="Uri"/> reads it.
    /// </summary>
    static string MaskUserInfo(string target)
    {
        var colon = target.IndexOf(':');
        if (colon <= 0 || !target.AsSpan(colon).StartsWith("://", StringComparison.Ordinal)) return target;
        var authority = colon + 3;
        var length = target.AsSpan(authority).IndexOfAny('/', '?', '#');
        if (length < 0) length = target.Length - authority;
        var at = target.AsSpan(authority, length).LastIndexOf('@');
        return at < 0 ? target : string.Concat(target.AsSpan(0, authority), Redacted, target.AsSpan(authority + at));
    }

    static bool IsCredential(ReadOnlySpan<char> encodedName, bool isConnection)
    {
        // Names are compared as the application reads them: '+' is a space, %XX is decoded (an invalid escape stays).
        // Most names need neither, and are compared where they are, without a string.
        var name = encodedName.IndexOfAny('%', '+') < 0
            ? encodedName.Trim()
            : Uri.UnescapeDataString(encodedName.ToString().Replace('+', ' ')).AsSpan().Trim();
        // SignalR reads its connection token as Query["id"], whose names ASP.NET Core compares without regard to case.
        if (isConnection && name.Equals("id", StringComparison.OrdinalIgnoreCase)) return true;
        if (RequestLoggingMiddleware.HeaderCapture.IsAlwaysMasked(name)) return true;
        // As the credential words are read: without '-', '_', '.' and spaces, both Turkish i's as 'i' (a name cased under
        // tr-TR, "SİG", "CODE_VERİFİER"), so "code-verifier" and "codeVerifier" are the PKCE verifier too.
        if (name.Length > 32) return false;
        Span<char> buffer = stackalloc char[name.Length];
        var length = 0;
        foreach (var c in name)
        {
            if (c is '-' or '_' or '.' or ' ') continue;
            buffer[length++] = c is '\u0130' or '\u0131' ? 'i' : char.ToLowerInvariant(c);
        }
        var normalized = buffer[..length];
        foreach (var shortName in ShortNames)
        {
            if (normalized.SequenceEqual(shortName)) return true;
        }
        return false;
    }
}
