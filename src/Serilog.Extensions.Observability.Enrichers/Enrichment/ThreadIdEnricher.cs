using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>Adds <c>ThreadId</c>: <see cref="Environment.CurrentManagedThreadId"/>, as Serilog.Enrichers.Thread does.</summary>
sealed class ThreadIdEnricher : ILogEventEnricher
{
    public const string PropertyName = "ThreadId";

    // A thread's id never changes: one property per thread, built on its first event.
    [ThreadStatic] static LogEventProperty? _property;

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        try
        {
            logEvent.AddPropertyIfAbsent(_property ??= new LogEventProperty(PropertyName, new ScalarValue(Environment.CurrentManagedThreadId)));
        }
        catch (Exception ex)
        {
            EnricherFailures.Report(nameof(ThreadIdEnricher), ex);
        }
    }
}
