using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Composition;

/// <summary>
/// Adds one property whose value never changes (<c>ServiceName</c>, <c>ServiceVersion</c>, <c>Environment</c>), built
/// once. <c>Enrich.WithProperty</c> builds a new property through the logger's value converter on every event; for a
/// constant string the result is the same scalar, so the output does not change.
/// </summary>
sealed class ConstantPropertyEnricher : ILogEventEnricher
{
    readonly LogEventProperty _property;

    public ConstantPropertyEnricher(string name, string value)
    {
        _property = new LogEventProperty(name, new ScalarValue(value));
    }

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) => logEvent.AddPropertyIfAbsent(_property);
}
