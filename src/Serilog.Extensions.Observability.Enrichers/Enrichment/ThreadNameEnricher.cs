using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>Adds <c>ThreadName</c> when the current thread has a name, as Serilog.Enrichers.Thread does.</summary>
sealed class ThreadNameEnricher : ILogEventEnricher
{
    public const string PropertyName = "ThreadName";

    // A thread may be renamed, so the cached property is reused only while the name is the same string.
    [ThreadStatic] static string? _name;
    [ThreadStatic] static LogEventProperty? _property;

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        try
        {
            var name = Thread.CurrentThread.Name;
            if (name is null) return;
            var property = _property;
            if (property is null || !ReferenceEquals(_name, name))
            {
                property = new LogEventProperty(PropertyName, new ScalarValue(name));
                _property = property;
                _name = name;
            }

            logEvent.AddPropertyIfAbsent(property);
        }
        catch (Exception ex)
        {
            EnricherFailures.Report(nameof(ThreadNameEnricher), ex);
        }
    }
}
