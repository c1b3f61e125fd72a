using Serilog.Configuration;
using Serilog.Core;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Destructuring;

namespace Serilog.Extensions.Observability.Redaction;

/// <summary>
/// Creates the destructuring policy that <c>Destructure.WithRedaction(...)</c> registers, for code that holds the
/// policy itself: a library that registers one <see cref="IDestructuringPolicy"/> of its own and, when its redaction
/// rules change before the logger is created, makes it delegate to a new redaction policy built with them.
/// </summary>
public static class RedactionDestructuringPolicy
{
    /// <summary>
    /// Creates a policy that captures objects as Serilog does, with sensitive members, dictionary keys and JSON keys
    /// masked and <see cref="NotLoggedAttribute"/> members left out, exactly as
    /// <see cref="RedactionLoggerConfigurationExtensions.WithRedaction(LoggerDestructuringConfiguration, Action{RedactionOptions})"/>
    /// registers it. The options are read and checked once, here: changing them afterwards has no effect. A policy
    /// keeps what it learns about each type it meets (its members, and their getters compiled once the type keeps being
    /// logged), so create one per set of rules and reuse it.
    /// </summary>
    /// <param name="configure">Sets the <see cref="RedactionOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The policy, for <c>Destructure.With(...)</c> or for a policy of your own to delegate to.</returns>
    /// <exception cref="ArgumentException">The options are not valid; the exception names the <see cref="RedactionOptions"/> property.</exception>
    public static IDestructuringPolicy Create(Action<RedactionOptions>? configure = null) =>
        new RedactingDestructuringPolicy(RedactorFactory.Create(RedactorFactory.Options(configure)));
}
