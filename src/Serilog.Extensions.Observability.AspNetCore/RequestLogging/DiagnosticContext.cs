using Serilog.Events;

namespace Serilog.Extensions.Observability.AspNetCore.RequestLogging;

/// <summary>
/// The <see cref="IDiagnosticContext"/> registered by <c>AddObservability()</c>. Properties are bound
/// through the logger, so destructuring policies (redaction among them) apply to them too.
/// </summary>
sealed class DiagnosticContext : IDiagnosticContext
{
    static readonly AsyncLocal<DiagnosticContextCollector?> AmbientCollector = new();

    readonly ILogger? _logger;

    public DiagnosticContext(ILogger? logger) => _logger = logger;

    /// <summary>Starts collecting for the current async flow; the caller disposes the collector.</summary>
    public DiagnosticContextCollector BeginCollection()
    {
        var collector = new DiagnosticContextCollector(AmbientCollector.Value);
        AmbientCollector.Value = collector;
        return collector;
    }

    internal static void EndCollection(DiagnosticContextCollector collector)
    {
        // Only restore if the collector is still the ambient one in this flow; the request's
        // async method restores the execution context on its way out in any case.
        if (ReferenceEquals(AmbientCollector.Value, collector))
            AmbientCollector.Value = collector.Previous;
    }

    public void Set(string propertyName, object? value, bool destructureObjects = false)
    {
        ArgumentNullException.ThrowIfNull(propertyName);

        var collector = AmbientCollector.Value;
        if (collector is null) return;

        var logger = _logger ?? Log.Logger;
        if (logger.BindProperty(propertyName, value, destructureObjects, out var property))
            collector.AddOrUpdate(property);
    }

    public void SetException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        AmbientCollector.Value?.SetException(exception);
    }
}

/// <summary>The properties and exception collected for one request.</summary>
sealed class DiagnosticContextCollector : IDisposable
{
    readonly object _sync = new();
    Dictionary<string, LogEventProperty>? _properties = new(StringComparer.Ordinal);
    Exception? _exception;

    public DiagnosticContextCollector(DiagnosticContextCollector? previous) => Previous = previous;

    public DiagnosticContextCollector? Previous { get; }

    public void AddOrUpdate(LogEventProperty property)
    {
        lock (_sync)
        {
            if (_properties is not null) _properties[property.Name] = property;
        }
    }

    public void SetException(Exception exception)
    {
        lock (_sync)
        {
            if (_properties is not null) _exception = exception;
        }
    }

    /// <summary>Takes what was collected and stops collecting; false when already completed.</summary>
    public bool TryComplete(out IReadOnlyCollection<LogEventProperty> properties, out Exception? exception)
    {
        lock (_sync)
        {
            var collected = _properties;
            _properties = null;
            exception = _exception;
            _exception = null;
            if (collected is null)
            {
                properties = Array.Empty<LogEventProperty>();
                return false;
            }

            properties = collected.Values;
            return true;
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            _properties = null;
            _exception = null;
        }

        DiagnosticContext.EndCollection(this);
    }
}
