using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serilog.AspNetCore;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;

namespace Serilog;

/// <summary>
/// Request logging for ASP.NET Core with Serilog.AspNetCore 8's contract: one completion event per request.
/// </summary>
public static class SerilogApplicationBuilderExtensions
{
    /// <summary>
    /// Adds middleware that writes one completion event per request with the given message template.
    /// Place it after <c>UseCorrelation()</c> and before the handlers whose requests it should time.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <param name="messageTemplate">The message template of the completion event.</param>
    /// <returns>The application builder.</returns>
    public static IApplicationBuilder UseSerilogRequestLogging(this IApplicationBuilder app, string messageTemplate)
    {
        ArgumentNullException.ThrowIfNull(messageTemplate);
        return app.UseSerilogRequestLogging(opts => opts.MessageTemplate = messageTemplate);
    }

    /// <summary>
    /// Adds middleware that writes one completion event per request. Options start from
    /// <see cref="IOptions{RequestLoggingOptions}"/> when registered (<c>AddObservability()</c> binds the
    /// <c>"Serilog:RequestLogging"</c> section), then <paramref name="configureOptions"/> runs.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <param name="configureOptions">Adjusts the options.</param>
    /// <returns>The application builder.</returns>
    public static IApplicationBuilder UseSerilogRequestLogging(this IApplicationBuilder app, Action<RequestLoggingOptions>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Each call configures its own copy of the registered options: a second call (a pipeline branch) must not
        // change the settings of the first, which its middleware reads while requests run.
        var options = app.ApplicationServices.GetService<IOptions<RequestLoggingOptions>>()?.Value.Copy() ?? new RequestLoggingOptions();
        configureOptions?.Invoke(options);
        // The host's own logger, not Log.Logger: with several hosts in the process, Log.Logger is the last one's. Filled in
        // after the callback, which sees the options as Serilog.AspNetCore hands them over (Logger null unless set), so
        // that code choosing a logger only when none was given (`o.Logger ??= ...`) chooses it here too.
        options.Logger ??= ObservabilityHostApplicationBuilderExtensions.HostLogger(app.ApplicationServices);

        if (options.MessageTemplate is null)
            throw new ArgumentException($"{nameof(RequestLoggingOptions.MessageTemplate)} cannot be null.", nameof(configureOptions));
        if (options.GetLevel is null)
            throw new ArgumentException($"{nameof(RequestLoggingOptions.GetLevel)} cannot be null.", nameof(configureOptions));
        if (options.GetMessageTemplateProperties is null)
            throw new ArgumentException($"{nameof(RequestLoggingOptions.GetMessageTemplateProperties)} cannot be null.", nameof(configureOptions));
        if (options.SlowRequestThreshold is { } threshold && !IsValidSlowRequestThreshold(threshold))
            throw new ArgumentException($"{nameof(RequestLoggingOptions.SlowRequestThreshold)} must be greater than zero.", nameof(configureOptions));
        foreach (var path in options.ExcludePaths ?? [])
        {
            if (NeverMatches(path))
                throw new ArgumentException(
                    $"Every {nameof(RequestLoggingOptions.ExcludePaths)} entry {ExcludedPathRule}; '{path}' would never match a request path.",
                    nameof(configureOptions));
        }

        // Without AddObservability() there is no registered context: use a private one so request
        // logging still works (handlers then cannot inject IDiagnosticContext).
        var diagnosticContext = app.ApplicationServices.GetService<DiagnosticContext>() ?? new DiagnosticContext(options.Logger);
        return app.UseMiddleware<RequestLoggingMiddleware>(diagnosticContext, options);
    }

    /// <summary>The rule an <see cref="RequestLoggingOptions.ExcludePaths"/> entry follows, as error messages say it.</summary>
    internal const string ExcludedPathRule = "must start with '/' (\"/health\", \"/metrics/*\")";

    /// <summary>
    /// Whether an <see cref="RequestLoggingOptions.ExcludePaths"/> entry can never match: a request path always starts
    /// with '/', so any other entry would leave out nothing, and the requests it was meant to leave out would be logged
    /// without a word. An empty entry (a later configuration source switching one off) is none.
    /// </summary>
    internal static bool NeverMatches(string? path) => !string.IsNullOrWhiteSpace(path) && !path.TrimStart().StartsWith('/');

    /// <summary>Whether a <see cref="RequestLoggingOptions.SlowRequestThreshold"/> can be one: greater than zero.</summary>
    internal static bool IsValidSlowRequestThreshold(TimeSpan threshold) => threshold > TimeSpan.Zero;
}
