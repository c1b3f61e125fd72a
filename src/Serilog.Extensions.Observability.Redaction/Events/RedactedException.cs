namespace Serilog.Extensions.Observability.Redaction.Events;

/// <summary>
/// Stands in for an exception whose text held a secret (a detector's finding, or JSON naming a sensitive key): its
/// message, stack trace and <see cref="ToString"/> (what sinks write) are the original's with the secrets masked. The original type's full
/// name stays at the start of <see cref="ToString"/>, in <see cref="OriginalTypeName"/> and in <see cref="Exception.Data"/>
/// under <see cref="ExceptionTypeName.OriginalTypeKey"/>, where the Formatting package's flat formatter reads it for
/// <c>exception.type</c>. Inner exceptions and the original's own <see cref="Exception.Data"/> are not carried over:
/// their text is in <see cref="ToString"/>, masked.
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
        Data[ExceptionTypeName.OriginalTypeKey] = originalTypeName;
    }

    public string OriginalTypeName { get; }

    public override string? StackTrace => _stackTrace;

    public override string ToString() => _text;
}
