using System.Diagnostics;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers.Context;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>Adds the ambient correlation id, else (optionally) the W3C trace id of <see cref="Activity.Current"/>.</summary>
sealed class CorrelationIdEnricher : ILogEventEnricher
{
    readonly string _propertyName;
    readonly bool _useTraceIdWhenMissing;

    public CorrelationIdEnricher(string propertyName, bool useTraceIdWhenMissing)
    {
        _propertyName = propertyName;
        _useTraceIdWhenMissing = useTraceIdWhenMissing;
    }

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        try
        {
            // A deferred scope that has no id yet (and no enclosing scope) falls back to the trace id like no scope.
            if (CorrelationScope.Current?.GetProperty(_propertyName) is { } property)
            {
                logEvent.AddPropertyIfAbsent(property);
                return;
            }

            if (!_useTraceIdWhenMissing) return;

            // The trace the event was written in, not whichever is current here; a hierarchical activity has no
            // W3C trace id, so its entry gives no correlation property.
            var properties = ActivityProperties.ForEvent(logEvent, out _);
            if (properties?.CorrelationProperty(_propertyName) is { } correlation) logEvent.AddPropertyIfAbsent(correlation);
        }
        catch (Exception ex)
        {
            EnricherFailures.Report(nameof(CorrelationIdEnricher), ex);
        }
    }
}
