using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>A correlation id made ambient by <see cref="CorrelationContext.Begin"/>.</summary>
sealed class CorrelationScope : AmbientScope<CorrelationScope>
{
    // The property built for the last event; reused while the enricher asks for the same name.
    LogEventProperty? _property;

    CorrelationScope(string id)
    {
        Id = id;
    }

    public string Id { get; }

    public static CorrelationScope Begin(string id) => Activate(new CorrelationScope(id));

    public LogEventProperty GetProperty(string propertyName)
    {
        var property = _property;
        if (property is not null && property.Name == propertyName) return property;

        // Benign race: two threads may each build one; either is correct.
        property = new LogEventProperty(propertyName, new ScalarValue(Id));
        _property = property;
        return property;
    }
}
