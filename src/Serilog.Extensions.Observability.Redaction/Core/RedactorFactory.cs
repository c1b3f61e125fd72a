using System.Text;
using Serilog.Extensions.Observability.Redaction.Detection;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>Validates options once and compiles them into a <see cref="Redactor"/>.</summary>
static class RedactorFactory
{
    /// <summary>Builds the options a configuration method describes: its parameters first, then <paramref name="configure"/>.</summary>
    public static RedactionOptions Options(
        Action<RedactionOptions>? configure,
        string[]? additionalKeys = null,
        string[]? excludedKeys = null,
        string? mask = null,
        RedactionMaskStyle maskStyle = RedactionMaskStyle.Fixed,
        int partialVisibleCharacters = 4,
        string? pseudonymKey = null,
        string? pseudonymKeyId = null,
        bool detectCardNumbers = false,
        bool detectJwts = false,
        bool detectBearerTokens = false,
        bool detectEmailAddresses = false,
        string[]? valuePatterns = null,
        bool useDefaultKeys = true,
        int maximumJsonLength = 32 * 1024,
        bool detectEmbeddedCredentials = false,
        TimeSpan? patternMatchTimeout = null,
        bool detectKnownTokenFormats = false)
    {
        var options = new RedactionOptions
        {
            UseDefaultKeys = useDefaultKeys,
            MaskStyle = maskStyle,
            PartialVisibleCharacters = partialVisibleCharacters,
            PseudonymKey = pseudonymKey,
            DetectCardNumbers = detectCardNumbers,
            DetectJwts = detectJwts,
            DetectBearerTokens = detectBearerTokens,
            DetectEmailAddresses = detectEmailAddresses,
            DetectEmbeddedCredentials = detectEmbeddedCredentials,
            DetectKnownTokenFormats = detectKnownTokenFormats,
            MaximumJsonLength = maximumJsonLength,
        };
        if (mask is not null) options.Mask = mask;
        if (patternMatchTimeout is { } timeout) options.PatternMatchTimeout = timeout;
        if (pseudonymKeyId is not null) options.PseudonymKeyId = pseudonymKeyId;
        if (additionalKeys is not null) foreach (var key in additionalKeys) options.AdditionalKeys.Add(key);
        if (excludedKeys is not null) foreach (var key in excludedKeys) options.ExcludedKeys.Add(key);
        if (valuePatterns is not null) foreach (var pattern in valuePatterns) options.ValuePatterns.Add(pattern);
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Validates <paramref name="options"/> and compiles them.</summary>
    /// <param name="options">The options.</param>
    /// <param name="parameterNames">Name a broken rule after the configuration method's parameter (<c>mask</c>, as
    /// written in appsettings <c>"Args"</c>) rather than the <see cref="RedactionOptions"/> property (<c>Mask</c>).</param>
    public static Redactor Create(RedactionOptions options, bool parameterNames = false)
    {
        Guard.NotNull(options);
        string Name(string property) => parameterNames ? char.ToLowerInvariant(property[0]) + property[1..] : property;

        if (string.IsNullOrEmpty(options.Mask))
            throw new ArgumentException("The mask must not be empty: an empty mask would hide that a value was removed.", Name(nameof(RedactionOptions.Mask)));
        if (!Enum.IsDefined(options.MaskStyle))
            throw new ArgumentOutOfRangeException(Name(nameof(RedactionOptions.MaskStyle)), options.MaskStyle, "Unknown mask style.");
        if (options.PartialVisibleCharacters is < 1 or > 16)
            throw new ArgumentOutOfRangeException(Name(nameof(RedactionOptions.PartialVisibleCharacters)), options.PartialVisibleCharacters, "Between 1 and 16 characters may stay visible.");
        if (options.PatternMatchTimeout <= TimeSpan.Zero || options.PatternMatchTimeout > TimeSpan.FromSeconds(10))
            throw new ArgumentOutOfRangeException(Name(nameof(RedactionOptions.PatternMatchTimeout)), options.PatternMatchTimeout, "The match timeout must be greater than zero and at most 10 seconds.");
        if (options.MaximumJsonLength < 0)
            throw new ArgumentOutOfRangeException(Name(nameof(RedactionOptions.MaximumJsonLength)), options.MaximumJsonLength, "The value must not be negative (0 turns JSON parsing off).");
        if (string.IsNullOrEmpty(options.PseudonymKeyId) || !IsKeyId(options.PseudonymKeyId))
            throw new ArgumentException("The pseudonym key id must be letters, digits, '-' or '_'.", Name(nameof(RedactionOptions.PseudonymKeyId)));

        byte[]? key = null;
        if (options.MaskStyle == RedactionMaskStyle.Pseudonym)
        {
            Guard.NotUnexpandedVariable(options.PseudonymKey, Name(nameof(RedactionOptions.PseudonymKey)));
            if (options.PseudonymKey is null || Encoding.UTF8.GetByteCount(options.PseudonymKey) < 16)
                throw new ArgumentException("The Pseudonym mask style needs a pseudonym key of at least 16 bytes (UTF-8).", Name(nameof(RedactionOptions.PseudonymKey)));
            key = Encoding.UTF8.GetBytes(options.PseudonymKey);
        }

        var keys = new KeyMatcher(options.UseDefaultKeys ? KeyRules.Default : null, options.AdditionalKeys, options.ExcludedKeys);
        var masker = new Masker(options.Mask, options.MaskStyle, options.PartialVisibleCharacters, key, options.PseudonymKeyId);
        var detectors = ValueDetectors.Create(masker, keys, options, Name(nameof(RedactionOptions.ValuePatterns)));
        return new Redactor(keys, masker, detectors, options.MaximumJsonLength, RulesText(options));
    }

    /// <summary>Everything that decides what is masked (not how): equal for redactors that mask the same values.</summary>
    static string RulesText(RedactionOptions options)
    {
        var text = new StringBuilder();
        text.Append(options.UseDefaultKeys).Append('|').Append(options.MaximumJsonLength).Append('|')
            .Append(options.DetectCardNumbers).Append(options.DetectJwts).Append(options.DetectBearerTokens).Append(options.DetectEmailAddresses)
            .Append(options.DetectEmbeddedCredentials).Append(options.DetectKnownTokenFormats);
        Append(text, "additional", options.AdditionalKeys);
        Append(text, "excluded", options.ExcludedKeys);
        Append(text, "patterns", options.ValuePatterns);
        return text.ToString();
    }

    static void Append(StringBuilder text, string name, IList<string> values)
    {
        var sorted = new List<string>(values);
        sorted.Sort(StringComparer.Ordinal);
        text.Append('|').Append(name).Append(sorted.Count);
        foreach (var value in sorted) text.Append('\u0000').Append(value);
    }

    static bool IsKeyId(string id)
    {
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_') return false;
        }
        return true;
    }
}
