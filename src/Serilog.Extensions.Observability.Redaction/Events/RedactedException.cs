namespace Serilog.Extensions.Observability.Redaction.Events;

/// <summary>
/// Stands in for an exception whose text held a secret (a detector's finding, or JSON naming a sensitive key): its
/// message, stack trace and <see cref="ToString"/> (what sinks write) are the original's with the secrets masked. The original type's full
/// name stays at the start of <see cref="ToString"/> and in <see cref="OriginalTypeName"/>.
/// </summary>
sealed class RedactedException : Exception
{
    readonly string _text;
    readonly string? _stackTrace;

    public RedactedException(string originalTypeName, string message, string text, string? stackTrace, int hResult)
        : base(message)
    {
        OriginalTypeName = originalTypeName;
        _text = text;
        _stackTrace = stackTrace;
        HResult = hResult;
    }

    public string OriginalTypeName { get; }

    public override string? StackTrace => _stackTrace;

    public override string ToString() => _text;
}
