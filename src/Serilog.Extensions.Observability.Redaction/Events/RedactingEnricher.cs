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
    readonly Redactor _redactor;

    public RedactingEnricher(Redactor redactor) => _redactor = redactor;

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        List<LogEventProperty>? changes;
        try
        {
            changes = EventRedaction.CollectChanges(_redactor, logEvent);
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("the redaction enricher", ex);
            changes = EventRedaction.MaskAll(_redactor, logEvent);
        }

        // The properties cannot change while they are being enumerated: apply afterwards.
        if (changes is not null)
        {
            foreach (var change in changes) logEvent.AddOrUpdateProperty(change);
        }
    }
}
