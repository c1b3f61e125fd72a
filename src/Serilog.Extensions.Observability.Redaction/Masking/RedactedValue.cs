using Serilog.Events;

namespace Serilog.Extensions.Observability.Redaction.Masking;

/// <summary>
/// A scalar that redaction produced (a mask, a pseudonym, or a string whose secrets were already masked). Sinks see
/// an ordinary <see cref="ScalarValue"/>; the event pass skips it, so running it twice (an enricher and the sink
/// wrapper, or the policy and then the event pass) neither hashes a pseudonym again nor re-parses a rewritten string.
/// </summary>
sealed class RedactedValue : ScalarValue
{
    /// <summary>A mask: the whole value replaced, nothing of it left to look into.</summary>
    public RedactedValue(object? value)
        : base(value)
    {
    }

    /// <summary>
    /// A string whose secrets <paramref name="rules"/> found were masked; the rest of it is still the original's. Only
    /// a pass with the same rules may take it as done: another (more keys, a detector) looks into it again, and masks
    /// it whole when its own name is sensitive.
    /// </summary>
    public RedactedValue(string value, string rules)
        : base(value)
    {
        Rules = rules;
    }

    /// <summary>The rules that rewrote the text, or <see langword="null"/> for a mask.</summary>
    public string? Rules { get; }

    public bool IsMask => Rules is null;
}
