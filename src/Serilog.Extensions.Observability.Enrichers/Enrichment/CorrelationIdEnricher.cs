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

            // A hit is always a W3C activity: only W3C span ids are shared with the event.
            var properties = ActivityProperties.LastFor(logEvent);
            if (properties is null)
            {
                var activity = Activity.Current;
                if (activity is null || activity.IdFormat != ActivityIdFormat.W3C) return;
                properties = ActivityProperties.For(activity);
            }

            if (properties.CorrelationProperty(_propertyName) is { } correlation) logEvent.AddPropertyIfAbsent(correlation);
        }
        catch (Exception ex)
        {
            EnricherFailures.Report(nameof(CorrelationIdEnricher), ex);
        }
    }
}
