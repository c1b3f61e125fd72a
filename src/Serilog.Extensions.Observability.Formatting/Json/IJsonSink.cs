namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// Where formatted JSON goes. Implemented by two structs, one appending UTF-8 bytes and one appending UTF-16 chars,
/// so that every formatter is written once (generic over the sink) and the JIT specialises each path: the two outputs
/// can differ only in how a character run is encoded, never in structure.
/// </summary>
interface IJsonSink
{
    /// <summary>Appends one ASCII character.</summary>
    void Ascii(char c);

    /// <summary>Appends pre-encoded ASCII text (a <c>u8</c> literal).</summary>
    void Literal(ReadOnlySpan<byte> ascii);

    /// <summary>Appends text escaped as the content of a JSON string (see <see cref="JsonText"/>), without quotes.</summary>
    void Escaped(ReadOnlySpan<char> text);

    /// <summary>Appends text escaped as a JSON string, with its quotes (see <see cref="JsonText.WriteQuoted{TSink}"/>).</summary>
    void Quoted(ReadOnlySpan<char> text);

    /// <summary>Appends a fragment formatted earlier (its UTF-8 or its UTF-16 form, as the sink writes).</summary>
    void Prepared(PreparedText text);

    /// <summary>Appends text known to be ASCII (hex digits), with no JSON escaping.</summary>
    void AsciiText(ReadOnlySpan<char> text);

    /// <summary>Appends text as it is, with no JSON escaping.</summary>
    void Text(ReadOnlySpan<char> text);

    /// <summary>Appends <c>timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)</c> (an event's own time).</summary>
    void EventTimestamp(DateTimeOffset timestamp);

    /// <summary>Appends <c>value.ToString("O", CultureInfo.InvariantCulture)</c>.</summary>
    void RoundTrip(DateTime value);

    /// <summary>Appends <c>value.ToString("O", CultureInfo.InvariantCulture)</c>.</summary>
    void RoundTrip(DateTimeOffset value);

    /// <summary>Appends <c>value.ToString(CultureInfo.InvariantCulture)</c>.</summary>
    void Integer(long value);

    /// <summary>Appends <c>value.ToString(CultureInfo.InvariantCulture)</c>.</summary>
    void Decimal(decimal value);

    /// <summary>
    /// Appends <c>"</c>, <paramref name="value"/> in the fixed-point format of <paramref name="decimals"/> decimals
    /// (<see cref="DecimalText.TryFormatFixed"/>), and <c>"</c>; or appends nothing and returns
    /// <see langword="false"/> when that method declines the value.
    /// </summary>
    bool TryQuotedFixed(object? value, int decimals);

    /// <summary>Appends <paramref name="value"/> formatted with <paramref name="format"/> and <paramref name="provider"/>.</summary>
    void Formatted<T>(T value, ReadOnlySpan<char> format, IFormatProvider? provider)
        where T : ISpanFormattable, IUtf8SpanFormattable;
}
