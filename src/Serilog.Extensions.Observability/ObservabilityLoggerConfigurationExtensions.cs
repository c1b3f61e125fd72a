using Serilog.Extensions.Observability;
using Serilog.Extensions.Observability.Composition;

namespace Serilog;

/// <summary>Wires the Serilog.Extensions.Observability packages together with one call.</summary>
public static class ObservabilityLoggerConfigurationExtensions
{
    /// <summary>
    /// Adds, with no arguments: <c>FromLogContext</c>, <c>WithCorrelation</c>, <c>WithSpan</c>, <c>WithUser</c>,
    /// <c>WithThreadId</c>, <c>WithPipelineTiming</c>, <c>Destructure.WithRedaction</c> with the Redaction package's
    /// default rules plus <c>DetectEmbeddedCredentials</c>, <c>DetectJwts</c> and <c>DetectKnownTokenFormats</c> (see
    /// <see cref="ObservabilityOptions.Redaction"/>),
    /// <c>Enrich.WithRedaction</c> after those enrichers, and a console sink (text showing level, correlation id and
    /// message; CLEF in a container) inside <c>WriteTo.Redacted</c>, so whatever an enricher added is masked before
    /// it is written. <paramref name="configure"/> names the service, turns enrichers off, adjusts redaction, picks
    /// the console format and adds a rolling JSON file.
    /// </summary>
    /// <remarks>
    /// Calling it again on the same configuration continues with the same options and replaces what the first call
    /// attached, so nothing is duplicated; the latest call's redaction rules apply to objects captured with <c>@</c> and
    /// to the event pass alike. Enrichers added by hand or from appsettings beside it add a property only
    /// when it is absent, so they do not duplicate properties either. Sinks added by hand are written to as well.
    /// Calling it on a configuration whose logger is already writing events throws: it would change that logger's
    /// redaction rules and close its sinks. Build each logger from a new <see cref="LoggerConfiguration"/>. A call after
    /// <see cref="LoggerConfiguration.CreateLogger"/> but before that logger's first event does not throw: it changes
    /// that logger's redaction rules and replaces its sinks.
    /// <para>
    /// Serilog runs enrichers, and asks destructuring policies, in the order they were added: add enrichers,
    /// <c>Destructure.ByTransforming</c> and <c>Destructure.With</c> before this call. An enricher added after it runs after
    /// the redaction pass, so a sink added beside it (and a filter) gets what that enricher adds unmasked; a policy added
    /// after it is never asked about a class, record or struct logged with <c>@</c>, which the redaction policy captures
    /// first. A later call replaces what the first attached in the first call's place, so it does not change that order.
    /// </para>
    /// <para>
    /// Serilog.Settings.Configuration cannot call this method (it extends <see cref="LoggerConfiguration"/> itself): an
    /// <c>appsettings.json</c> entry naming it is passed over with only a SelfLog line. Call it in code after
    /// <c>ReadFrom.Configuration(...)</c>, or use <c>builder.AddObservability()</c> of
    /// Serilog.Extensions.Observability.AspNetCore, which reads the <c>"Serilog"</c> section and calls it.
    /// </para>
    /// </remarks>
    /// <param name="configuration">The logger configuration.</param>
    /// <param name="configure">Adjusts the options.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="InvalidOperationException">The configuration's logger is already writing events.</exception>
    /// <exception cref="ArgumentException">An option is not valid (a redaction <c>Mask</c> of <c>""</c>, a <c>RollingJson</c>
    /// queue limit of 0, ...); the message names it.</exception>
    public static LoggerConfiguration WithObservability(this LoggerConfiguration configuration, Action<ObservabilityOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return ObservabilityState.Apply(configuration, configure);
    }
}
