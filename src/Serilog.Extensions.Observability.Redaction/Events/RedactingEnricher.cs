using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Events;

/// <summary>
/// Masks the properties of the event in place. It sees only what the enrichers before it added, and an enricher
/// cannot replace the exception or the message template; <c>WriteTo.Redacted</c> has neither limit.
/// </summary>
sealed class RedactingEnricher : ILogEventEnricher
{
    [ThreadStatic] static List<LogEventProperty>? _changes;

    readonly Redactor _redactor;

    public RedactingEnricher(Redactor redactor) => _redactor = redactor;

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        var changes = _changes ??= new List<LogEventProperty>();
        try
        {
            EventRedaction.CollectChanges(_redactor, logEvent, changes);
            // The properties cannot change while they are being enumerated: apply afterwards.
            foreach (var change in changes) logEvent.AddOrUpdateProperty(change);
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("the redaction enricher", ex);
            EventRedaction.MaskAll(_redactor, logEvent, changes);
            foreach (var change in changes) logEvent.AddOrUpdateProperty(change);
        }
        finally
        {
            changes.Clear();
        }
    }
}
