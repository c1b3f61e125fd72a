namespace Serilog;

/// <summary>
/// Collects properties that are added to the request completion event written by
/// <c>UseSerilogRequestLogging()</c>. The same contract as Serilog.Extensions.Hosting's
/// <c>IDiagnosticContext</c>, so code written for Serilog.AspNetCore compiles unchanged.
/// Inject it into handlers, controllers and middleware; outside a request it does nothing.
/// </summary>
public interface IDiagnosticContext
{
    /// <summary>
    /// Sets a property on the current request's completion event. A later value for the same
    /// name replaces an earlier one. It does not throw when capturing the value does (a <c>ToString()</c> that
    /// throws): the property gets Serilog's capture-failure placeholder and the failure goes to SelfLog. A request
    /// collects at most 1,024 distinct names: past that a new name is dropped (reported once through SelfLog), and a
    /// name already set is still replaced, so a long-lived request (a WebSocket or gRPC stream) cannot grow without end.
    /// </summary>
    /// <param name="propertyName">The name of the property. Must be non-empty.</param>
    /// <param name="value">The property value.</param>
    /// <param name="destructureObjects">If <see langword="true"/>, the value is serialized as a structured
    /// object if possible; otherwise it is captured as a message argument without <c>@</c> is: a scalar (its
    /// <c>ToString()</c> for a type Serilog does not know) or a simple sequence.</param>
    void Set(string propertyName, object? value, bool destructureObjects = false);

    /// <summary>
    /// Sets the exception attached to the completion event when none escapes the pipeline
    /// (for example, one handled by <c>UseExceptionHandler</c>).
    /// </summary>
    /// <param name="exception">The exception to record; <see langword="null"/> clears one set earlier.</param>
    void SetException(Exception exception);
}
