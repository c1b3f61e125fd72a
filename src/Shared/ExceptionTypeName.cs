namespace Serilog.Extensions.Observability;

/// <summary>
/// The type name a formatter writes for an exception. The Redaction package replaces an exception whose text held a
/// secret by a stand-in (its <c>RedactedException</c>) and keeps the original's full type name in the stand-in's
/// <see cref="Exception.Data"/> under <see cref="OriginalTypeKey"/>: the packages do not reference each other, so
/// that entry is how the flat formatter's <c>exception.type</c> still names the original type, not the stand-in.
/// </summary>
static class ExceptionTypeName
{
    /// <summary>The <see cref="Exception.Data"/> key under which the stand-in keeps the original's full type name.</summary>
    public const string OriginalTypeKey = "Serilog.Extensions.Observability.OriginalType";

    const string StandInName = "RedactedException";
    const string StandInFullName = "Serilog.Extensions.Observability.Redaction.Events.RedactedException";

    public static string Of(Exception exception)
    {
        var type = exception.GetType();
        var fullName = type.FullName ?? type.Name;
        // Data is read only on the stand-in: any other exception's Data may be overridden, and may throw.
        if (type.Name == StandInName && fullName == StandInFullName && exception.Data[OriginalTypeKey] is string original)
            return original;
        return fullName;
    }
}
