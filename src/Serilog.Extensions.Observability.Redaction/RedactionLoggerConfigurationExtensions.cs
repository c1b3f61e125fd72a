using System.Runtime.ExceptionServices;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability;
using Serilog.Extensions.Observability.Redaction;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Destructuring;
using Serilog.Extensions.Observability.Redaction.Events;

namespace Serilog;

/// <summary>
/// Keeps secrets out of every sink: <c>Destructure.WithRedaction</c> masks sensitive members and keys while objects
/// are captured, <c>Enrich.WithRedaction</c> and <c>WriteTo.Redacted</c> mask every property of the finished event by
/// name and content. Use <c>WriteTo.Redacted</c> around the sinks: it runs after all enrichers, whatever their order.
/// </summary>
/// <remarks>
/// Each overload takes the same settings either as optional parameters (bindable from the appsettings
/// <c>"Serilog"</c> section) or as an <see cref="Action{RedactionOptions}"/>; see <see cref="RedactionOptions"/> for
/// their meaning and defaults. Configuration errors throw <see cref="ArgumentException"/> when the method is called.
/// </remarks>
public static class RedactionLoggerConfigurationExtensions
{
    /// <summary>
    /// Adds a destructuring policy that captures objects (<c>{@x}</c>, <c>ForContext(..., destructureObjects: true)</c>)
    /// as Serilog does, with sensitive members, dictionary keys and JSON keys masked and <see cref="NotLoggedAttribute"/>
    /// members left out, at any depth. With a value detector on, what it finds in the strings the policy captures is
    /// masked, those of a sequence inside an object too; a sequence or string logged whole is captured by Serilog
    /// itself and left to the event pass. Serilog's <c>ToMaximumDepth</c>, <c>ToMaximumStringLength</c> and
    /// <c>ToMaximumCollectionCount</c> apply as without it. Policies added before it take precedence for their types.
    /// </summary>
    /// <param name="destructure">Logger destructuring configuration.</param>
    /// <param name="configure">Sets the <see cref="RedactionOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public static LoggerConfiguration WithRedaction(this LoggerDestructuringConfiguration destructure, Action<RedactionOptions>? configure)
    {
        Guard.NotNull(destructure);
        return destructure.With(RedactionDestructuringPolicy.Create(configure));
    }

    /// <summary>
    /// Adds a destructuring policy that captures objects as Serilog does, with sensitive members and keys masked;
    /// see <see cref="WithRedaction(LoggerDestructuringConfiguration, Action{RedactionOptions})"/>.
    /// </summary>
    /// <param name="destructure">Logger destructuring configuration.</param>
    /// <param name="additionalKeys">Extra sensitive keys: <c>key</c>, <c>*suffix</c>, <c>prefix*</c> or <c>*part*</c>, matched on normalised keys. Default none.</param>
    /// <param name="excludedKeys">Keys never masked, same syntax; win over every other rule. Default none.</param>
    /// <param name="mask">The replacement text; default <c>[REDACTED]</c>.</param>
    /// <param name="maskStyle">Fixed text, partial (mask plus the last characters) or keyed pseudonym; default fixed.</param>
    /// <param name="partialVisibleCharacters">Trailing characters kept by the partial style; default 4.</param>
    /// <param name="pseudonymKey">HMAC key (at least 16 UTF-8 bytes) for the pseudonym style; keep it in secrets.</param>
    /// <param name="pseudonymKeyId">The id written before each pseudonym; default <c>k1</c>.</param>
    /// <param name="detectCardNumbers">Mask Luhn-valid card numbers inside any string; default off.</param>
    /// <param name="detectJwts">Mask JSON Web Tokens inside any string; default off.</param>
    /// <param name="detectBearerTokens">Mask the token after <c>Bearer</c> inside any string; default off.</param>
    /// <param name="detectEmailAddresses">Mask e-mail addresses inside any string; default off.</param>
    /// <param name="valuePatterns">Regular expressions whose matches are masked inside any string; default none.</param>
    /// <param name="useDefaultKeys">Whether the built-in key rules apply; default <see langword="true"/>.</param>
    /// <param name="maximumJsonLength">Longest string (characters) parsed as JSON to mask it by key; default 32768, 0 turns it off.</param>
    /// <param name="detectEmbeddedCredentials">Mask the value after a sensitive key in <c>key=value</c> text (connection and query strings),
    /// the password in a URL and the value of a sensitive HTTP header line (<c>Authorization: ...</c>); default off.</param>
    /// <param name="patternMatchTimeout">The longest a detector's regular expression may run on one string (the whole string is masked
    /// when it times out); default 100 ms, at most 10 seconds.</param>
    /// <param name="detectKnownTokenFormats">Mask PEM private key blocks and AWS, GitHub, Slack, Stripe and Google API tokens in their
    /// documented formats inside any string; default off.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">A setting is not valid.</exception>
    public static LoggerConfiguration WithRedaction(
        this LoggerDestructuringConfiguration destructure,
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
        Guard.NotNull(destructure);
        var options = RedactorFactory.Options(null, additionalKeys, excludedKeys, mask, maskStyle, partialVisibleCharacters, pseudonymKey,
            pseudonymKeyId, detectCardNumbers, detectJwts, detectBearerTokens, detectEmailAddresses, valuePatterns, useDefaultKeys, maximumJsonLength, detectEmbeddedCredentials, patternMatchTimeout,
            detectKnownTokenFormats);
        return destructure.With(new RedactingDestructuringPolicy(RedactorFactory.Create(options, parameterNames: true)));
    }

    /// <summary>
    /// Adds an enricher that masks every property of the event by name (at any depth of structures, sequences and
    /// dictionaries), JSON text inside strings by key, and the configured value detectors' findings. It sees only the
    /// properties that enrichers registered before it added, and cannot change the exception or the message template:
    /// prefer <see cref="Redacted(LoggerSinkConfiguration, Action{LoggerSinkConfiguration}, Action{RedactionOptions}, LogEventLevel, LoggingLevelSwitch)"/>.
    /// </summary>
    /// <param name="enrich">Logger enrichment configuration.</param>
    /// <param name="configure">Sets the <see cref="RedactionOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public static LoggerConfiguration WithRedaction(this LoggerEnrichmentConfiguration enrich, Action<RedactionOptions>? configure)
    {
        Guard.NotNull(enrich);
        return enrich.With(new RedactingEnricher(RedactorFactory.Create(RedactorFactory.Options(configure))));
    }

    /// <summary>
    /// Adds an enricher that masks every property of the event by name and content; see
    /// <see cref="WithRedaction(LoggerEnrichmentConfiguration, Action{RedactionOptions})"/>.
    /// </summary>
    /// <param name="enrich">Logger enrichment configuration.</param>
    /// <param name="additionalKeys">Extra sensitive keys: <c>key</c>, <c>*suffix</c>, <c>prefix*</c> or <c>*part*</c>, matched on normalised keys. Default none.</param>
    /// <param name="excludedKeys">Keys never masked, same syntax; win over every other rule. Default none.</param>
    /// <param name="mask">The replacement text; default <c>[REDACTED]</c>.</param>
    /// <param name="maskStyle">Fixed text, partial (mask plus the last characters) or keyed pseudonym; default fixed.</param>
    /// <param name="partialVisibleCharacters">Trailing characters kept by the partial style; default 4.</param>
    /// <param name="pseudonymKey">HMAC key (at least 16 UTF-8 bytes) for the pseudonym style; keep it in secrets.</param>
    /// <param name="pseudonymKeyId">The id written before each pseudonym; default <c>k1</c>.</param>
    /// <param name="detectCardNumbers">Mask Luhn-valid card numbers inside any string or integer; default off.</param>
    /// <param name="detectJwts">Mask JSON Web Tokens inside any string; default off.</param>
    /// <param name="detectBearerTokens">Mask the token after <c>Bearer</c> inside any string; default off.</param>
    /// <param name="detectEmailAddresses">Mask e-mail addresses inside any string; default off.</param>
    /// <param name="valuePatterns">Regular expressions whose matches are masked inside any string; default none.</param>
    /// <param name="useDefaultKeys">Whether the built-in key rules apply; default <see langword="true"/>.</param>
    /// <param name="maximumJsonLength">Longest string (characters) parsed as JSON to mask it by key; default 32768, 0 turns it off.</param>
    /// <param name="detectEmbeddedCredentials">Mask the value after a sensitive key in <c>key=value</c> text (connection and query strings),
    /// the password in a URL and the value of a sensitive HTTP header line (<c>Authorization: ...</c>); default off.</param>
    /// <param name="patternMatchTimeout">The longest a detector's regular expression may run on one string (the whole string is masked
    /// when it times out); default 100 ms, at most 10 seconds.</param>
    /// <param name="detectKnownTokenFormats">Mask PEM private key blocks and AWS, GitHub, Slack, Stripe and Google API tokens in their
    /// documented formats inside any string; default off.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">A setting is not valid.</exception>
    public static LoggerConfiguration WithRedaction(
        this LoggerEnrichmentConfiguration enrich,
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
        Guard.NotNull(enrich);
        var options = RedactorFactory.Options(null, additionalKeys, excludedKeys, mask, maskStyle, partialVisibleCharacters, pseudonymKey,
            pseudonymKeyId, detectCardNumbers, detectJwts, detectBearerTokens, detectEmailAddresses, valuePatterns, useDefaultKeys, maximumJsonLength, detectEmbeddedCredentials, patternMatchTimeout,
            detectKnownTokenFormats);
        return enrich.With(new RedactingEnricher(RedactorFactory.Create(options, parameterNames: true)));
    }

    /// <summary>
    /// Writes to the sinks that <paramref name="configure"/> adds, each event redacted first: every property masked by
    /// name and content, whatever enricher added it and in whatever order; the exception's text (JSON it quotes, masked by
    /// key, with or without detectors); with value detectors on, also the message template's text and the detectors'
    /// findings in the exception. The sinks receive a new event; the original is never changed. If the pass
    /// fails, they receive the event with every property masked (fail closed) and the failure goes to <c>SelfLog</c>.
    /// </summary>
    /// <param name="writeTo">Logger sink configuration.</param>
    /// <param name="configure">Adds the sinks that receive redacted events.</param>
    /// <param name="configureRedaction">Sets the <see cref="RedactionOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <param name="restrictedToMinimumLevel">The minimum level for events passed to the inner sinks; default all.
    /// Ignored when <paramref name="levelSwitch"/> is set.</param>
    /// <param name="levelSwitch">A switch that changes the minimum level at run time; default none.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public static LoggerConfiguration Redacted(
        this LoggerSinkConfiguration writeTo,
        Action<LoggerSinkConfiguration> configure,
        Action<RedactionOptions>? configureRedaction,
        LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
        LoggingLevelSwitch? levelSwitch = null)
    {
        Guard.NotNull(writeTo);
        Guard.NotNull(configure);
        Guard.DefinedLevel(restrictedToMinimumLevel);
        var redactor = RedactorFactory.Create(RedactorFactory.Options(configureRedaction));
        return WrapRedacting(writeTo, redactor, configure, restrictedToMinimumLevel, levelSwitch);
    }

    /// <summary>
    /// Writes to the sinks that <paramref name="configure"/> adds, each event redacted first; see
    /// <see cref="Redacted(LoggerSinkConfiguration, Action{LoggerSinkConfiguration}, Action{RedactionOptions}, LogEventLevel, LoggingLevelSwitch)"/>.
    /// In appsettings, list the inner sinks under <c>"configure"</c>.
    /// </summary>
    /// <param name="writeTo">Logger sink configuration.</param>
    /// <param name="configure">Adds the sinks that receive redacted events.</param>
    /// <param name="additionalKeys">Extra sensitive keys: <c>key</c>, <c>*suffix</c>, <c>prefix*</c> or <c>*part*</c>, matched on normalised keys. Default none.</param>
    /// <param name="excludedKeys">Keys never masked, same syntax; win over every other rule. Default none.</param>
    /// <param name="mask">The replacement text; default <c>[REDACTED]</c>.</param>
    /// <param name="maskStyle">Fixed text, partial (mask plus the last characters) or keyed pseudonym; default fixed.</param>
    /// <param name="partialVisibleCharacters">Trailing characters kept by the partial style; default 4.</param>
    /// <param name="pseudonymKey">HMAC key (at least 16 UTF-8 bytes) for the pseudonym style; keep it in secrets.</param>
    /// <param name="pseudonymKeyId">The id written before each pseudonym; default <c>k1</c>.</param>
    /// <param name="detectCardNumbers">Mask Luhn-valid card numbers in any string, integer, the template and the exception; default off.</param>
    /// <param name="detectJwts">Mask JSON Web Tokens likewise; default off.</param>
    /// <param name="detectBearerTokens">Mask the token after <c>Bearer</c> likewise; default off.</param>
    /// <param name="detectEmailAddresses">Mask e-mail addresses likewise; default off.</param>
    /// <param name="valuePatterns">Regular expressions whose matches are masked likewise; default none.</param>
    /// <param name="useDefaultKeys">Whether the built-in key rules apply; default <see langword="true"/>.</param>
    /// <param name="maximumJsonLength">Longest string (characters) parsed as JSON to mask it by key; default 32768, 0 turns it off.</param>
    /// <param name="detectEmbeddedCredentials">Mask the value after a sensitive key in <c>key=value</c> text (connection and query strings),
    /// the password in a URL and the value of a sensitive HTTP header line (<c>Authorization: ...</c>); default off.</param>
    /// <param name="patternMatchTimeout">The longest a detector's regular expression may run on one string (the whole string is masked
    /// when it times out); default 100 ms, at most 10 seconds.</param>
    /// <param name="detectKnownTokenFormats">Mask PEM private key blocks and AWS, GitHub, Slack, Stripe and Google API tokens in their
    /// documented formats inside any string; default off.</param>
    /// <param name="restrictedToMinimumLevel">The minimum level for events passed to the inner sinks; default all.
    /// Ignored when <paramref name="levelSwitch"/> is set.</param>
    /// <param name="levelSwitch">A switch that changes the minimum level at run time; default none.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">A setting is not valid.</exception>
    public static LoggerConfiguration Redacted(
        this LoggerSinkConfiguration writeTo,
        Action<LoggerSinkConfiguration> configure,
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
        bool detectKnownTokenFormats = false,
        LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
        LoggingLevelSwitch? levelSwitch = null)
    {
        Guard.NotNull(writeTo);
        Guard.NotNull(configure);
        Guard.DefinedLevel(restrictedToMinimumLevel);
        var options = RedactorFactory.Options(null, additionalKeys, excludedKeys, mask, maskStyle, partialVisibleCharacters, pseudonymKey,
            pseudonymKeyId, detectCardNumbers, detectJwts, detectBearerTokens, detectEmailAddresses, valuePatterns, useDefaultKeys, maximumJsonLength, detectEmbeddedCredentials, patternMatchTimeout,
            detectKnownTokenFormats);
        var redactor = RedactorFactory.Create(options, parameterNames: true);
        return WrapRedacting(writeTo, redactor, configure, restrictedToMinimumLevel, levelSwitch);
    }

    /// <summary>
    /// The sinks <paramref name="configure"/> adds, behind a <see cref="RedactingSink"/>, through
    /// <see cref="LoggerSinkConfiguration.Wrap"/> so that the callback gets Serilog's semantics (only its <c>WriteTo</c>
    /// calls count; an enricher or filter chained there is not applied after the redaction, to an event other sinks
    /// share). Wrap keeps the sinks in a list of its own until the callback returns, so a sink that throws as it is
    /// configured (an invalid argument of an appsettings entry) would leave those added before it where nothing can
    /// dispose them, a file sink's file open and a RollingJson sink's path claimed: the failure is held until Wrap has
    /// handed them over, they are disposed, and it goes on.
    /// </summary>
    static LoggerConfiguration WrapRedacting(LoggerSinkConfiguration writeTo, Redactor redactor, Action<LoggerSinkConfiguration> configure,
        LogEventLevel restrictedToMinimumLevel, LoggingLevelSwitch? levelSwitch)
    {
        ILogEventSink? enclosed = null;
        ExceptionDispatchInfo? failure = null;
        LoggerSinkConfiguration.Wrap(
            new LoggerConfiguration().WriteTo,
            inner => enclosed = inner,
            sinks =>
            {
                try
                {
                    configure(sinks);
                }
                catch (Exception ex)
                {
                    failure = ExceptionDispatchInfo.Capture(ex);
                }
            },
            LevelAlias.Minimum,
            null);

        if (failure is not null)
        {
            try
            {
                (enclosed as IDisposable)?.Dispose();
            }
            catch (Exception ex)
            {
                SafeSelfLog.WriteLine("Redacted: the sinks added before one failed to configure were not all closed: {0}", ex);
            }
            failure.Throw();
        }

        // Wrapped again, around what the first Wrap enclosed, for the configuration it returns: a callback that adds no
        // sink adds nothing.
        return LoggerSinkConfiguration.Wrap(writeTo, inner => new RedactingSink(inner, redactor),
            sinks =>
            {
                if (enclosed is not null) sinks.Sink(enclosed);
            },
            restrictedToMinimumLevel, levelSwitch);
    }
}
