using System.Buffers;

namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

/// <summary>
/// The rule an id from an HTTP header must meet before it is used, logged or echoed. Stricter than
/// <c>CorrelationContext.IsValidId</c> (which also admits <c>+ / = @</c> for message-queue ids): only characters that are
/// safe in any header, URL or log query.
/// </summary>
static class CorrelationId
{
    /// <summary>1 to 128 characters of <c>[A-Za-z0-9._:-]</c>.</summary>
    public static bool IsAcceptable(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > CorrelationOptions.MaxIdLength) return false;
        return value.IndexOfAnyExcept(Acceptable) < 0;
    }

    /// <summary>
    /// Empty, <see langword="null"/> or only spaces and horizontal tabs (RFC 9110's optional white space): a field value
    /// with nothing in it.
    /// </summary>
    public static bool IsBlank(ReadOnlySpan<char> value) => value.IndexOfAnyExcept(' ', '\t') < 0;

    static readonly SearchValues<char> Acceptable =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-");
}
