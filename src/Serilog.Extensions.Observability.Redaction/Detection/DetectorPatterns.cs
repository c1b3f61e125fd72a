using System.Text.RegularExpressions;

namespace Serilog.Extensions.Observability.Redaction.Detection;

/// <summary>
/// The detectors' regular expressions. A process that starts often (a container scaled to zero, a CLI tool, a test
/// suite building a logger per fixture) should not compile one with <see cref="RegexOptions.Compiled"/> for every
/// redactor it builds: that parses the pattern and emits IL, milliseconds each, three redactors per
/// <c>WithObservability()</c>. So the built-in patterns at the default match timeout are source-generated (nothing to
/// build at run time), and every other expression is compiled once per process and shared: a <see cref="Regex"/> is
/// immutable and safe to use from many threads, and the key holds everything that decides how it matches.
/// </summary>
static partial class DetectorPatterns
{
    public const string Card = @"(?<!\p{Nd})\p{Nd}(?:[ -]?\p{Nd}){12,18}(?!\p{Nd})";
    public const string Jwt = @"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*";
    public const string Bearer = @"(?<scheme>\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*";
    // '@' or its percent-encoded form: an address in a URL's query (OpenID Connect's login_hint=ann%40example.com). In
    // the local part a '%' that starts an escape stands only for a character the part may hold ('+' %2B, '-' %2D, '.'
    // %2E, '%' %25, '_' %5F), and the part does not start inside an escape: an encoded path or query before the address
    // ("%2Fhome%3Fa%3Db%40c.com", "/users%2F%40me.json") is not read as its local part.
    public const string Email = @"(?!(?<=%)[0-9A-Fa-f]{2}|(?<=%[0-9A-Fa-f])[0-9A-Fa-f])(?:[A-Za-z0-9._+-]|%(?:2[5BbDdEe]|5[Ff]|(?![0-9A-Fa-f]{2}))){1,64}(?:@|%40)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}";

    public const RegexOptions BuiltIn = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;
    public const RegexOptions BearerOptions = BuiltIn | RegexOptions.IgnoreCase;
    public const RegexOptions UserPattern = RegexOptions.CultureInvariant;

    const int DefaultTimeout = RedactionOptions.DefaultPatternMatchTimeoutMilliseconds;

    [GeneratedRegex(Card, BuiltIn, DefaultTimeout)]
    private static partial Regex GeneratedCard();

    [GeneratedRegex(Jwt, BuiltIn, DefaultTimeout)]
    private static partial Regex GeneratedJwt();

    [GeneratedRegex(Bearer, BearerOptions, DefaultTimeout)]
    private static partial Regex GeneratedBearer();

    [GeneratedRegex(Email, BuiltIn, DefaultTimeout)]
    private static partial Regex GeneratedEmail();

    static bool IsDefault(TimeSpan timeout) => timeout == TimeSpan.FromMilliseconds(DefaultTimeout);

    public static Regex CardNumbers(TimeSpan timeout) => IsDefault(timeout) ? GeneratedCard() : Shared(Card, BuiltIn, timeout);
    public static Regex Jwts(TimeSpan timeout) => IsDefault(timeout) ? GeneratedJwt() : Shared(Jwt, BuiltIn, timeout);
    public static Regex BearerTokens(TimeSpan timeout) => IsDefault(timeout) ? GeneratedBearer() : Shared(Bearer, BearerOptions, timeout);
    public static Regex EmailAddresses(TimeSpan timeout) => IsDefault(timeout) ? GeneratedEmail() : Shared(Email, BuiltIn, timeout);

    /// <summary>A user's value pattern; throws <see cref="ArgumentException"/> for an invalid one, as the constructor does.</summary>
    public static Regex ValuePattern(string pattern, TimeSpan timeout) => Shared(pattern, UserPattern, timeout);

    /// <summary>More distinct expressions than this are compiled each time, not kept: patterns come from configuration.</summary>
    internal const int MaximumShared = 64;

    static readonly Dictionary<(string Pattern, RegexOptions Options, TimeSpan Timeout), Regex> Compiled = new();

    /// <summary>How many expressions were compiled at run time (for tests).</summary>
    internal static int CompiledCount;

    static Regex Shared(string pattern, RegexOptions options, TimeSpan timeout)
    {
        var key = (pattern, options, timeout);
        lock (Compiled)
        {
            if (Compiled.TryGetValue(key, out var shared)) return shared;
        }

        // Compiled outside the lock: an invalid pattern throws here and is never kept.
        var regex = new Regex(pattern, options | RegexOptions.Compiled, timeout);
        Interlocked.Increment(ref CompiledCount);
        lock (Compiled)
        {
            if (Compiled.TryGetValue(key, out var raced)) return raced;
            if (Compiled.Count < MaximumShared) Compiled.Add(key, regex);
        }
        return regex;
    }
}
