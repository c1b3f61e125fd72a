using Serilog.Events;

namespace Serilog.Extensions.Observability.Redaction.Masking;

/// <summary>
/// A scalar that redaction produced (a mask, a pseudonym, or a string whose secrets were already masked). Sinks see
/// an ordinary <see cref="ScalarValue"/>; the event pass skips it, so running it twice (an enricher and the sink
/// wrapper, or the policy and then the event pass) neither hashes a pseudonym again nor re-parses a rewritten string.
/// </summary>
sealed class RedactedValue : ScalarValue
{
    public RedactedValue(object? value)
        : base(value)
    {
    }
}
