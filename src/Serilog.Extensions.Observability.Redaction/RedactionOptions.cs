namespace Serilog.Extensions.Observability.Redaction;

/// <summary>
/// What is sensitive and how it is masked. Mutable while configuring; the settings are copied and compiled
/// (key lookups, regular expressions) once, when <c>Destructure.WithRedaction</c>, <c>Enrich.WithRedaction</c> or
/// <c>WriteTo.Redacted</c> is called, so later changes to the instance have no effect on a configured logger.
/// </summary>
public sealed class RedactionOptions
{
    /// <summary>The default <see cref="Mask"/>: <c>[REDACTED]</c>.</summary>
    public const string DefaultMask = "[REDACTED]";

    /// <summary>
    /// Keys to treat as sensitive in addition to the defaults. Matched on the normalised key (case, <c>_</c>,
    /// <c>-</c>, <c>.</c>, spaces and other punctuation ignored): <c>"pin_code"</c> matches exactly that key,
    /// <c>"*pin"</c> every key ending in <c>pin</c>, <c>"pin*"</c> every key starting with <c>pin</c>,
    /// <c>"*pin*"</c> every key containing it. Empty by default.
    /// </summary>
    public IList<string> AdditionalKeys { get; } = new List<string>();

    /// <summary>
    /// Keys never treated as sensitive, with the same syntax as <see cref="AdditionalKeys"/>. An exclusion wins
    /// over the defaults and over <see cref="AdditionalKeys"/>. Empty by default.
    /// </summary>
    public IList<string> ExcludedKeys { get; } = new List<string>();

    /// <summary>
    /// Whether the built-in key rules apply (passwords, secrets, tokens, API keys, cookies, authorization,
    /// card numbers, CVV, SSN, private keys, connection strings and compounds such as <c>db_password</c>).
    /// Default <see langword="true"/>; when <see langword="false"/>, only <see cref="AdditionalKeys"/> are sensitive.
    /// </summary>
    public bool UseDefaultKeys { get; set; } = true;

    /// <summary>The text that replaces a sensitive value; default <c>[REDACTED]</c>. Must not be empty.</summary>
    public string Mask { get; set; } = DefaultMask;

    /// <summary>How a sensitive value is replaced; default <see cref="RedactionMaskStyle.Fixed"/>.</summary>
    public RedactionMaskStyle MaskStyle { get; set; } = RedactionMaskStyle.Fixed;

    /// <summary>
    /// With <see cref="RedactionMaskStyle.Partial"/>, how many trailing characters stay visible after
    /// <see cref="Mask"/>; default 4. A value shorter than twice this number is masked completely, so never more
    /// than half of a value is shown. Between 1 and 16.
    /// </summary>
    public int PartialVisibleCharacters { get; set; } = 4;

    /// <summary>
    /// With <see cref="RedactionMaskStyle.Pseudonym"/>, the HMAC-SHA256 key (its UTF-8 bytes; at least 16).
    /// Keep it in configuration secrets, not source. Required with that style, ignored otherwise. An environment
    /// variable reference (<c>%NAME%</c>) that appsettings left unexpanded because the variable is not set is refused.
    /// </summary>
    public string? PseudonymKey { get; set; }

    /// <summary>
    /// With <see cref="RedactionMaskStyle.Pseudonym"/>, the id written before each pseudonym
    /// (<c>k1:3f2a...</c>) so that pseudonyms made with different keys are told apart; default <c>k1</c>.
    /// Letters, digits, <c>-</c> and <c>_</c> only.
    /// </summary>
    public string PseudonymKeyId { get; set; } = "k1";

    /// <summary>
    /// Mask payment card numbers (13 to 19 digits, optionally grouped by spaces or dashes, passing the Luhn check)
    /// found in any string of the event, in integer values (and integral <see cref="double"/> and <see cref="float"/>
    /// values below 2^53) and in the exception. Default <see langword="false"/>.
    /// </summary>
    public bool DetectCardNumbers { get; set; }

    /// <summary>Mask JSON Web Tokens (<c>eyJ...</c>) found in any string of the event and in the exception. Default <see langword="false"/>.</summary>
    public bool DetectJwts { get; set; }

    /// <summary>Mask the token after <c>Bearer </c> in any string of the event and in the exception. Default <see langword="false"/>.</summary>
    public bool DetectBearerTokens { get; set; }

    /// <summary>Mask e-mail addresses found in any string of the event and in the exception. Default <see langword="false"/>.</summary>
    public bool DetectEmailAddresses { get; set; }

    /// <summary>
    /// Mask credentials written into text, in any string of the event and in the exception: the value after a sensitive
    /// key in <c>key=value</c> text (connection strings such as <c>Password=...;</c> or <c>AccountKey=...</c>, query
    /// strings such as <c>?access_token=...&amp;</c>, command lines such as <c>--password=...</c>) and the password in a
    /// URL's user info (<c>postgres://app:...@db/</c>), and the value of an HTTP header line, <c>Name: value</c>, up to the
    /// end of its line (<c>Authorization: Bearer ...</c>, <c>Cookie: ...</c>, <c>X-Api-Key: ...</c>, as
    /// <c>HttpRequestMessage.ToString()</c> writes them). The key rules decide which keys are sensitive
    /// (<see cref="UseDefaultKeys"/>, <see cref="AdditionalKeys"/>, <see cref="ExcludedKeys"/>); in a query (a key right
    /// after <c>?</c> or <c>&amp;</c>) the default rules also call OAuth's <c>code</c>, <c>state</c>, <c>nonce</c> and
    /// <c>code_verifier</c> sensitive, names they leave alone anywhere else. A quoted value
    /// (<c>Password='a;b'</c>) is masked with its quotes. Default <see langword="false"/>.
    /// </summary>
    public bool DetectEmbeddedCredentials { get; set; }

    /// <summary>
    /// Mask secrets written in a vendor's documented format, in any string of the event and in the exception: the body
    /// of a PEM private key block (<c>-----BEGIN PRIVATE KEY-----</c>, <c>RSA</c>, <c>EC</c>, <c>OPENSSH</c>,
    /// <c>ENCRYPTED</c> and any other label naming a <c>PRIVATE KEY</c>; one cut short without its END line up to the next
    /// block's BEGIN line or the end of the text),
    /// AWS access key ids (<c>AKIA</c>, <c>ASIA</c>), GitHub tokens (<c>ghp_</c>, <c>gho_</c>, <c>ghu_</c>, <c>ghs_</c>,
    /// <c>ghr_</c>, <c>github_pat_</c>), Slack tokens (<c>xoxb-</c>, <c>xoxp-</c>, <c>xoxa-</c>, <c>xoxr-</c>,
    /// <c>xoxs-</c>), Stripe secret and restricted keys (<c>sk_live_</c>, <c>rk_live_</c>, <c>sk_test_</c>,
    /// <c>rk_test_</c>) and Google API keys (<c>AIza</c>). A token is found only whole, with its documented length and
    /// characters, and not inside a longer word; certificates and public keys are kept. Default <see langword="false"/>.
    /// </summary>
    public bool DetectKnownTokenFormats { get; set; }

    /// <summary>
    /// Regular expressions (.NET syntax) whose matches are masked in any string of the event and in the exception.
    /// Compiled once, culture-invariant, with <see cref="PatternMatchTimeout"/>. Empty by default.
    /// </summary>
    public IList<string> ValuePatterns { get; } = new List<string>();

    /// <summary>
    /// The longest a detector's regular expression may run on one string; default 100 ms. When it times out the
    /// whole string is masked (fail closed) and the failure is reported through <c>SelfLog</c>.
    /// </summary>
    public TimeSpan PatternMatchTimeout { get; set; } = TimeSpan.FromMilliseconds(DefaultPatternMatchTimeoutMilliseconds);

    /// <summary>The default of <see cref="PatternMatchTimeout"/>; the built-in detectors are source-generated for it.</summary>
    internal const int DefaultPatternMatchTimeoutMilliseconds = 100;

    /// <summary>
    /// The longest string value (in characters) that the event pass parses as JSON when it looks like a JSON object
    /// or array, to mask it by key; longer strings are left as they are (value detectors still apply).
    /// Default 32768; 0 turns JSON parsing off.
    /// </summary>
    public int MaximumJsonLength { get; set; } = 32 * 1024;
}
