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
sealed class RedactingSink : ILogEventSink, IDisposable
{
    readonly ILogEventSink _inner;
    readonly Redactor _redactor;

    public RedactingSink(ILogEventSink inner, Redactor redactor)
    {
        _inner = inner;
        _redactor = redactor;
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
        catch (Exception ex)
        {
            Debugging.SelfLog.WriteLine("Redacted: a sink inside WriteTo.Redacted failed to emit an event: {0}", ex);
        }
    }

    LogEvent Redact(LogEvent logEvent)
    {
        var changes = EventRedaction.CollectChanges(_redactor, logEvent);
        MessageTemplate template;
        Exception? exception;
        if (_redactor.Detectors is null)
        {
            // Without detectors neither the template's text nor the exception can change: no calls for them.
            if (changes is null) return logEvent;
            template = logEvent.MessageTemplate;
            exception = logEvent.Exception;
        }
        else
        {
            template = _redactor.RedactTemplate(logEvent.MessageTemplate);
            exception = RedactException(logEvent.Exception);
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

    Exception? RedactException(Exception? exception)
    {
        if (exception is null || _redactor.Detectors is null || exception is RedactedException) return exception;
        string text;
        try
        {
            text = exception.ToString();
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("rendering the exception", ex);
            return MaskedException(exception);
        }

        var maskedText = _redactor.Detectors.Redact(text);
        if (maskedText is null) return exception;

        string message;
        string? stackTrace;
        try
        {
            message = exception.Message;
            stackTrace = exception.StackTrace;
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("reading the exception", ex);
            return MaskedException(exception);
        }

        return new RedactedException(
            exception.GetType().FullName ?? exception.GetType().Name,
            _redactor.Detectors.Redact(message) ?? message,
            maskedText,
            stackTrace is null ? null : _redactor.Detectors.Redact(stackTrace) ?? stackTrace,
            exception.HResult);
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
        var exception = logEvent.Exception is null || _redactor.Detectors is null ? logEvent.Exception : MaskedException(logEvent.Exception);
        return Copy(logEvent, template, exception, properties);
    }

    static LogEvent Copy(LogEvent logEvent, MessageTemplate template, Exception? exception, List<LogEventProperty> properties) =>
        new(logEvent.Timestamp, logEvent.Level, exception, template, properties,
            logEvent.TraceId ?? default(ActivityTraceId), logEvent.SpanId ?? default(ActivitySpanId));

    public void Dispose() => (_inner as IDisposable)?.Dispose();
}
