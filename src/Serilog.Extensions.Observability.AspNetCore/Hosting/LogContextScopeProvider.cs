using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;

namespace Serilog.Extensions.Observability.AspNetCore.Hosting;

/// <summary>
/// The host's <see cref="SerilogLoggerProvider"/>, without <see cref="ISupportExternalScope"/>. Serilog.Extensions.Logging 9
/// and later implement that interface: Microsoft.Extensions.Logging then keeps the scopes itself and never calls the
/// provider's <c>BeginScope</c>, which is what pushes them onto Serilog's <c>LogContext</c>. The request's scope
/// (<c>RequestId</c>, <c>ConnectionId</c>, <c>RequestPath</c>) would reach only events logged through <c>ILogger&lt;T&gt;</c>,
/// not those written through Serilog (the request completion event, <c>Log.Information</c> in a handler), as it does
/// with Serilog.Extensions.Logging 8 and with <c>UseSerilog()</c>'s logger factory. Through this provider, scopes are
/// begun on the provider's loggers, on every version alike.
/// </summary>
[ProviderAlias("Serilog")] // "Logging:Serilog:LogLevel" filters apply as to SerilogLoggerProvider itself; rules by its type, see below.
sealed class LogContextScopeProvider(SerilogLoggerProvider inner) : ILoggerProvider
{
    /// <summary>Whether the running Serilog.Extensions.Logging takes its scopes through <see cref="ISupportExternalScope"/>.</summary>
    public static bool Needed { get; } = typeof(ISupportExternalScope).IsAssignableFrom(typeof(SerilogLoggerProvider));

    /// <summary><paramref name="provider"/> itself where it takes scopes through <c>BeginScope</c>, else wrapped.</summary>
    public static ILoggerProvider For(SerilogLoggerProvider provider) => Needed ? new LogContextScopeProvider(provider) : provider;

    /// <summary>
    /// Gives each filter rule that names <see cref="SerilogLoggerProvider"/> by its type (<c>AddFilter&lt;SerilogLoggerProvider&gt;</c>,
    /// or its full name in <c>"Logging"</c>) a copy for this provider right after it: Microsoft.Extensions.Logging matches
    /// rules to the registered provider's own type and alias, so they would otherwise be ignored. Right after, so that
    /// each keeps its place among the rules (of equally specific ones, the last wins).
    /// </summary>
    public static void ApplySerilogLoggerProviderRules(LoggerFilterOptions options)
    {
        var rules = options.Rules;
        for (var i = rules.Count - 1; i >= 0; i--)
        {
            var rule = rules[i];
            if (rule.ProviderName == typeof(SerilogLoggerProvider).FullName)
                rules.Insert(i + 1, new LoggerFilterRule(typeof(LogContextScopeProvider).FullName, rule.CategoryName, rule.LogLevel, rule.Filter));
        }
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => inner.CreateLogger(categoryName);

    public void Dispose() => inner.Dispose();
}
