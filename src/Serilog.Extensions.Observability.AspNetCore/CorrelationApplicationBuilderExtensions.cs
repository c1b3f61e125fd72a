using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serilog.Extensions.Observability.AspNetCore;
using Serilog.Extensions.Observability.AspNetCore.Correlation;

namespace Serilog;

/// <summary>Correlation middleware for ASP.NET Core.</summary>
public static class CorrelationApplicationBuilderExtensions
{
    /// <summary>
    /// Adds middleware that takes the request's correlation id from its header (default
    /// <c>X-Correlation-ID</c>; accepted only when it is 1 to 128 characters of <c>[A-Za-z0-9._:-]</c>; an empty one
    /// counts as absent; none is read when <see cref="CorrelationOptions.TrustIncomingId"/> is off),
    /// else the W3C trace id, else a new id; makes it the ambient <c>CorrelationContext</c> for the rest of the
    /// request, opens a <c>UserContext</c> read from <c>HttpContext.User</c>, and echoes the id on the response.
    /// Place it first, before <c>UseSerilogRequestLogging()</c>, so every event of the request carries the id.
    /// Options start from <see cref="IOptions{CorrelationOptions}"/> when registered (<c>AddObservability()</c> binds the
    /// <c>"Serilog:Correlation"</c> section), then <paramref name="configure"/> runs; the default
    /// <see cref="CorrelationOptions.Logger"/> is taken after it.
    /// </summary>
    /// <remarks>
    /// The id is on every response, errors included; an exception that escapes before the response has started is
    /// answered with an empty 500 (or a <c>BadHttpRequestException</c>'s own status) that carries the id, because the
    /// server's own 500 drops every header. With <c>builder.AddObservability()</c> that answer comes from a middleware
    /// AddObservability puts first in the pipeline, and only for exceptions nothing else handled: the developer exception
    /// page and <c>UseExceptionHandler()</c> work wherever they are placed, before or after <c>UseCorrelation()</c>, and
    /// their responses carry the id too. Without AddObservability this middleware answers the exception itself, outside
    /// the Development environment, so only exception handlers placed after <c>UseCorrelation()</c> see it; in
    /// Development it leaves the exception to the developer exception page. Either answer rethrows the exception (so
    /// the server logs it) unless <c>UseSerilogRequestLogging()</c> has already logged it.
    /// </remarks>
    /// <param name="app">The application builder.</param>
    /// <param name="configure">Adjusts the options.</param>
    /// <returns>The application builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="app"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">(for <paramref name="configure"/>) <see cref="CorrelationOptions.HeaderName"/> or an
    /// entry of <see cref="CorrelationOptions.AdditionalHeaderNames"/> is not an HTTP token, or that list or a claim type
    /// list is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The <c>"Serilog:Correlation"</c> section, read now, has a key or value
    /// <c>AddObservability()</c> would have refused (a source added after it, such as a <c>WebApplicationFactory</c>'s
    /// <c>ConfigureAppConfiguration</c>); the message names the key.</exception>
    public static IApplicationBuilder UseCorrelation(this IApplicationBuilder app, Action<CorrelationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The registered options (AddObservability() binds "Serilog:Correlation" there), each call with a copy of its
        // own: a second call (a pipeline branch) must not change the settings of the first, which its middleware reads.
        var options = app.ApplicationServices.GetService<IOptions<CorrelationOptions>>()?.Value.Copy() ?? new CorrelationOptions();
        configure?.Invoke(options);
        // The host's own logger, not Log.Logger: with several hosts in the process, Log.Logger is the last one's. Filled in
        // after the callback, as UseSerilogRequestLogging() does: the callback sees Logger null unless the registered
        // options set one, so that code choosing a logger only when none was given (`o.Logger ??= ...`) chooses it.
        options.Logger ??= ObservabilityHostApplicationBuilderExtensions.HostLogger(app.ApplicationServices);

        if (!CorrelationHeader.IsValidName(options.HeaderName))
            throw new ArgumentException($"{nameof(CorrelationOptions.HeaderName)} must be {CorrelationHeader.NameRule}", nameof(configure));
        foreach (var name in options.AdditionalHeaderNames ?? throw new ArgumentException($"{nameof(CorrelationOptions.AdditionalHeaderNames)} cannot be null.", nameof(configure)))
        {
            if (!CorrelationHeader.IsValidName(name))
                throw new ArgumentException($"Every entry of {nameof(CorrelationOptions.AdditionalHeaderNames)} must be {CorrelationHeader.NameRule}", nameof(configure));
        }

        if (options.UserIdClaimTypes is null || options.TenantIdClaimTypes is null || options.SessionIdClaimTypes is null)
            throw new ArgumentException("The claim type lists cannot be null.", nameof(configure));

        // Without AddObservability's outermost middleware: in Development the developer exception page, which
        // WebApplication puts before every other middleware, renders unhandled exceptions (and the id, through
        // OnStarting); elsewhere the middleware answers them.
        var environment = app.ApplicationServices.GetService<IHostEnvironment>();
        var leaveErrorsToOuterHandlers = environment?.IsDevelopment() == true;
        return app.UseMiddleware<CorrelationMiddleware>(options, leaveErrorsToOuterHandlers);
    }
}
