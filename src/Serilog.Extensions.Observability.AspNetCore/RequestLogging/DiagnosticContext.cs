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

    /// <summary>A value that cannot be captured fails on every request that sets it: reported once per interval.</summary>
    readonly SelfLogThrottle _captureReport = new();

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
        LogEventProperty? property;
        try
        {
            if (!logger.BindProperty(propertyName, value, destructureObjects, out property)) return;
        }
        catch (Exception ex)
        {
            // Serilog stringifies a value it does not destructure as it binds it, outside the guard it keeps for
            // message arguments: a ToString() that throws would fail the request. The property gets the placeholder
            // Serilog gives such a message argument.
            // The exception's type only: its message may quote the value, which the redaction of the event never sees.
            _captureReport.WriteLine("IDiagnosticContext.Set: the value of {1} could not be captured ({2}); it holds a placeholder ({0} more since the last report)",
                propertyName, ex.GetType());
            if (!LogEventProperty.IsValidName(propertyName)) return;
            property = new LogEventProperty(propertyName, new ScalarValue(CaptureFailed + ex.GetType().Name));
        }
        collector.AddOrUpdate(property);
    }

    const string CaptureFailed = "Capturing the property value threw an exception: ";

    // Null clears an exception set earlier, as in Serilog.Extensions.Hosting (a handler that recovered).
    public void SetException(Exception exception) => AmbientCollector.Value?.SetException(exception);
}

/// <summary>The properties and exception collected for one request.</summary>
sealed class DiagnosticContextCollector : IDisposable
{
    /// <summary>
    /// The most distinct property names one request collects. A long-lived request (a WebSocket, SSE or gRPC stream)
    /// that sets a name per message (<c>"msg_" + id</c>) would otherwise grow its collection until it ends; past the
    /// limit a new name is dropped (reported once through SelfLog), and names already set are still updated.
    /// </summary>
    internal const int MaxProperties = 1024;

    static int s_limitReported;

    // Locks itself (internal, never handed to user code, so nothing else locks it): no lock object per request.
    // Created on the first Set: most requests set nothing.
    Dictionary<string, LogEventProperty>? _properties;
    Exception? _exception;
    bool _completed;

    public DiagnosticContextCollector(DiagnosticContextCollector? previous) => Previous = previous;

    public DiagnosticContextCollector? Previous { get; }

    public void AddOrUpdate(LogEventProperty property)
    {
        lock (this)
        {
            if (_completed) return;
            _properties ??= new Dictionary<string, LogEventProperty>(StringComparer.Ordinal);
            if (_properties.Count >= MaxProperties && !_properties.ContainsKey(property.Name))
            {
                if (Interlocked.Exchange(ref s_limitReported, 1) == 0)
                    SafeSelfLog.WriteLine("IDiagnosticContext.Set: a request has set {0} distinct properties; later names are dropped. " +
                        "Set a property per request, not per message (its name then holds the last value); reported once.", MaxProperties);
                return;
            }
            _properties[property.Name] = property;
        }
    }

    public void SetException(Exception? exception)
    {
        lock (this)
        {
            if (!_completed) _exception = exception;
        }
    }

    /// <summary>Takes what was collected and stops collecting; false when already completed.</summary>
    public bool TryComplete(out IReadOnlyCollection<LogEventProperty> properties, out Exception? exception)
    {
        lock (this)
        {
            properties = (IReadOnlyCollection<LogEventProperty>?)_properties?.Values ?? Array.Empty<LogEventProperty>();
            exception = _exception;
            var first = !_completed;
            _completed = true;
            _properties = null;
            _exception = null;
            if (!first) properties = Array.Empty<LogEventProperty>();
            return first;
        }
    }

    public void Dispose()
    {
        End();
        DiagnosticContext.EndCollection(this);
    }

    /// <summary>
    /// Stops collecting without restoring the previous ambient collector: for the request logging middleware, whose
    /// async method restores its caller's execution context when it returns, so the async-local write (a new
    /// execution context per request) would be wasted.
    /// </summary>
    public void End()
    {
        lock (this)
        {
            _completed = true;
            _properties = null;
            _exception = null;
        }
    }
}
