using System.Diagnostics;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Masking;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Events;

/// <summary>
/// Wraps the sinks configured inside <c>WriteTo.Redacted</c>: each event is redacted after every enricher ran, into a
/// new <see cref="LogEvent"/> (the original is shared with other sinks, possibly on other threads, so it is never
/// changed), and only then handed on. If the pass fails, the inner sinks get the event with every property masked.
/// </summary>
sealed class RedactingSink : ILogEventSink, IDisposable, IAsyncDisposable
{
    readonly ILogEventSink _inner;
    readonly Redactor _redactor;

    /// <summary>An inner sink that fails once (a full disk) fails on every event: reported once per interval.</summary>
    readonly SelfLogThrottle _emitReport = new();

    /// <summary>
    /// Whether <see cref="_inner"/> is the aggregate Serilog's <c>LoggerSinkConfiguration.Wrap</c> makes of several
    /// sinks: it writes a SelfLog line for each sink that fails, then throws their exceptions together.
    /// </summary>
    readonly bool _innerReportsEachFailure;

    /// <summary>
    /// Whether disposing this sink disposes <see cref="_inner"/>: not where Serilog's <c>LoggerSinkConfiguration.Wrap</c>,
    /// which this sink is always built in, disposes the sinks it wrapped itself (Serilog 4.1 and later), so that each is
    /// disposed once.
    /// </summary>
    readonly bool _disposesInner = !WrappedSinkDisposal.BySerilog;

    public RedactingSink(ILogEventSink inner, Redactor redactor)
    {
        _inner = inner;
        _redactor = redactor;
        _innerReportsEachFailure = IsSerilogAggregate(inner);
    }

    /// <summary>
    /// Serilog's <c>DisposingAggregateSink</c>, known by name: it is internal, and Serilog offers no way to get the sinks
    /// a <c>Wrap</c> callback added one by one. Should a later Serilog rename it, failures are reported twice again,
    /// never lost.
    /// </summary>
    static bool IsSerilogAggregate(ILogEventSink sink)
    {
        var type = sink.GetType();
        return type.FullName == "Serilog.Core.Sinks.DisposingAggregateSink" && type.Assembly == typeof(ILogEventSink).Assembly;
    }

    public void Emit(LogEvent logEvent)
    {
        LogEvent redacted;
        try
        {
            redacted = Redact(logEvent);
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("the redaction pass over an event", ex);
            redacted = MaskedCompletely(logEvent);
        }

        try
        {
            _inner.Emit(redacted);
        }
        catch (AggregateException) when (_innerReportsEachFailure)
        {
            // Serilog's aggregate has written a line for each failing sink already (the other sinks got the event).
        }
        catch (Exception ex)
        {
            _emitReport.WriteLine("Redacted: a sink inside WriteTo.Redacted failed to emit an event ({0} more failures since the last report): {1}", ex);
        }
    }

    LogEvent Redact(LogEvent logEvent)
    {
        var changes = EventRedaction.CollectChanges(_redactor, logEvent);
        // An exception's text is masked with or without detectors (JSON it quotes, by key); an event without one does
        // no work for it.
        var exception = RedactException(logEvent.Exception);
        MessageTemplate template;
        if (_redactor.Detectors is null)
        {
            // Without detectors the template's text cannot change: no call for it.
            if (changes is null && ReferenceEquals(exception, logEvent.Exception)) return logEvent;
            template = logEvent.MessageTemplate;
        }
        else
        {
            template = _redactor.RedactTemplate(logEvent.MessageTemplate);
            if (changes is null && ReferenceEquals(template, logEvent.MessageTemplate) && ReferenceEquals(exception, logEvent.Exception))
                return logEvent;
        }

        var properties = new List<LogEventProperty>(logEvent.Properties.Count);
        foreach (var property in logEvent.Properties)
        {
            var replacement = changes is null ? null : Find(changes, property.Key);
            properties.Add(replacement ?? new LogEventProperty(property.Key, property.Value));
        }
        return Copy(logEvent, template, exception, properties);
    }

    static LogEventProperty? Find(List<LogEventProperty> changes, string name)
    {
        foreach (var change in changes)
        {
            if (change.Name == name) return change;
        }
        return null;
    }

    static readonly SelfLogThrottle LargeExceptionReport = new();

    /// <summary>
    /// The exception itself when its text holds nothing to mask, else a stand-in whose message, <c>ToString()</c> and
    /// stack trace are the original's with JSON it quotes masked by key and the detectors' findings masked. Never
    /// throws: an exception that cannot be read or masked becomes a stand-in holding only its type and the mask.
    /// </summary>
    Exception? RedactException(Exception? exception)
    {
        if (exception is null || exception is RedactedException) return exception;
        string text;
        string message;
        // Exception.ToString() recurses once per inner exception and writes a shared one once per path to it: a chain
        // or tree past the bounds would overflow the stack (ending the process) or take exponential time. Such a one is
        // read in part, and always replaced by a stand-in, so that no sink behind this one reads it whole either.
        var small = BoundedExceptionText.IsSmall(exception);
        try
        {
            if (!small)
                LargeExceptionReport.WriteLine("Redaction: an exception with more than {1} inner exceptions or a chain deeper than {2} was replaced by a stand-in holding its text in part ({0} more since the last report)",
                    BoundedExceptionText.MaxExceptions, BoundedExceptionText.MaxDepth);
            text = small ? exception.ToString() : BoundedExceptionText.Walk(exception, small: false, "Redaction");
            message = BoundedExceptionText.Message(exception, small);
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("rendering the exception", ex);
            return MaskedException(exception);
        }

        try
        {
            // The message is looked at on its own too: a ToString() override may leave it out.
            var maskedText = MaskText(text);
            var maskedMessage = MaskText(message);
            if (maskedText is null && maskedMessage is null && small) return exception;

            string? stackTrace;
            try
            {
                stackTrace = exception.StackTrace;
            }
            catch (Exception ex)
            {
                RedactionFailures.Report("reading the exception", ex);
                return MaskedException(exception);
            }

            return new RedactedException(
                exception.GetType().FullName ?? exception.GetType().Name,
                maskedMessage ?? message,
                maskedText ?? text,
                stackTrace is null ? null : MaskText(stackTrace) ?? stackTrace,
                exception.HResult);
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("masking the exception", ex);
            return MaskedException(exception);
        }
    }

    /// <summary>
    /// An exception's text masked as a string's prose is: JSON it quotes by key (failing closed from a sensitive key
    /// that cannot be read), then the detectors; <see langword="null"/> when nothing changed.
    /// </summary>
    string? MaskText(string text)
    {
        var result = _redactor.RedactEmbeddedJson(text);
        if (_redactor.Detectors is not null && _redactor.Detectors.Redact(result ?? text) is { } detected) result = detected;
        return result;
    }

    RedactedException MaskedException(Exception exception)
    {
        var mask = (string)_redactor.Masker.Fixed.Value!;
        var typeName = exception.GetType().FullName ?? exception.GetType().Name;
        return new RedactedException(typeName, mask, typeName + ": " + mask, null, exception.HResult);
    }

    LogEvent MaskedCompletely(LogEvent logEvent)
    {
        var properties = new List<LogEventProperty>();
        foreach (var property in logEvent.Properties) properties.Add(new LogEventProperty(property.Key, _redactor.Masker.Fixed));
        var template = _redactor.Detectors is null
            ? logEvent.MessageTemplate
            : new MessageTemplate(new MessageTemplateToken[] { new TextToken((string)_redactor.Masker.Fixed.Value!) });
        // Without detectors the exception is masked on its own, by RedactException, which does not throw.
        var exception = logEvent.Exception is null ? null
            : _redactor.Detectors is null ? RedactException(logEvent.Exception) : MaskedException(logEvent.Exception);
        return Copy(logEvent, template, exception, properties);
    }

    static LogEvent Copy(LogEvent logEvent, MessageTemplate template, Exception? exception, List<LogEventProperty> properties) =>
        new(logEvent.Timestamp, logEvent.Level, exception, template, properties,
            logEvent.TraceId ?? default(ActivityTraceId), logEvent.SpanId ?? default(ActivitySpanId));

    public void Dispose()
    {
        if (_disposesInner) (_inner as IDisposable)?.Dispose();
    }

    // Serilog's own wrappers pass DisposeAsync on, so that DisposeAsync() and CloseAndFlushAsync() reach the inner sinks.
    public ValueTask DisposeAsync()
    {
        if (!_disposesInner) return default;
        if (_inner is IAsyncDisposable asyncDisposable) return asyncDisposable.DisposeAsync();
        Dispose();
        return default;
    }
}
