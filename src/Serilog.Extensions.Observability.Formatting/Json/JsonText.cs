using System.Buffers;
using System.Diagnostics;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>JSON string literals exactly as Serilog's <c>JsonValueFormatter.WriteQuotedJsonString</c> writes them.</summary>
static class JsonText
{
    // Serilog escapes only '"', '\' and the C0 controls; DEL, U+2028/9 and surrogates pass through unchanged.
    public static readonly SearchValues<char> NeedsEscape = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    /// <summary>Printable ASCII that JSON strings carry as it is: U+0020..U+007E except <c>"</c> and <c>\</c>.</summary>
    public static readonly SearchValues<char> PlainAscii = SearchValues.Create(CreatePlainAscii());

    static string CreatePlainAscii()
    {
        var chars = new char[0x7F - 0x20 - 2];
        var n = 0;
        for (var c = (char)0x20; c < 0x7F; c++)
            if (c != '"' && c != '\\') chars[n++] = c;
        return new string(chars);
    }

    public static void WriteQuoted<TSink>(TSink sink, ReadOnlySpan<char> text) where TSink : struct, IJsonSink =>
        sink.Quoted(text);

    public static void WriteEscaped<TSink>(TSink sink, ReadOnlySpan<char> text) where TSink : struct, IJsonSink =>
        sink.Escaped(text);

    /// <summary>The general escaping loop: vectorised search for the next character to escape, runs copied whole.</summary>
    public static void WriteEscapedRuns<TSink>(TSink sink, ReadOnlySpan<char> text) where TSink : struct, IJsonSink
    {
        while (true)
        {
            var i = text.IndexOfAny(NeedsEscape);
            if (i < 0)
            {
                sink.Text(text);
                return;
            }

            if (i > 0) sink.Text(text.Slice(0, i));
            WriteEscape(sink, text[i]);
            text = text.Slice(i + 1);
        }
    }

    /// <summary>The escape sequence of <paramref name="c"/> (one of <see cref="NeedsEscape"/>) as ASCII bytes.</summary>
    public static int WriteEscape(Span<byte> destination, char c)
    {
        destination[0] = (byte)'\\';
        switch (c)
        {
            case '"': destination[1] = (byte)'"'; return 2;
            case '\\': destination[1] = (byte)'\\'; return 2;
            case '\n': destination[1] = (byte)'n'; return 2;
            case '\r': destination[1] = (byte)'r'; return 2;
            case '\f': destination[1] = (byte)'f'; return 2;
            case '\t': destination[1] = (byte)'t'; return 2;
            default:
                destination[1] = (byte)'u';
                destination[2] = (byte)'0';
                destination[3] = (byte)'0';
                destination[4] = (byte)UpperHex[c >> 4];
                destination[5] = (byte)UpperHex[c & 0xF];
                return 6;
        }
    }

    static void WriteEscape<TSink>(TSink sink, char c) where TSink : struct, IJsonSink
    {
        switch (c)
        {
            case '"': sink.Literal("\\\""u8); break;
            case '\\': sink.Literal("\\\\"u8); break;
            case '\n': sink.Literal("\\n"u8); break;
            case '\r': sink.Literal("\\r"u8); break;
            case '\f': sink.Literal("\\f"u8); break;
            case '\t': sink.Literal("\\t"u8); break;
            default:
                // Serilog writes the rest as \uXXXX with upper-case hex digits.
                sink.Literal("\\u00"u8);
                sink.Ascii(UpperHex[c >> 4]);
                sink.Ascii(UpperHex[c & 0xF]);
                break;
        }
    }

    const string UpperHex = "0123456789ABCDEF";
    const string LowerHex = "0123456789abcdef";

    /// <summary>
    /// Lower-case hex of <paramref name="traceId"/>: <c>ToHexString()</c>, which returns the id's own text (an
    /// <see cref="ActivityTraceId"/> keeps it) without allocating.
    /// </summary>
    public static void WriteHex<TSink>(TSink sink, ActivityTraceId traceId) where TSink : struct, IJsonSink =>
        sink.AsciiText(traceId.ToHexString());

    public static void WriteHex<TSink>(TSink sink, ActivitySpanId spanId) where TSink : struct, IJsonSink =>
        sink.AsciiText(spanId.ToHexString());

    public static int FormatHex(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[2 * i] = LowerHex[bytes[i] >> 4];
            chars[2 * i + 1] = LowerHex[bytes[i] & 0xF];
        }
        return bytes.Length * 2;
    }

    /// <summary>A value that cannot be written fails on every event that holds it: reported once per interval.</summary>
    internal static readonly SelfLogThrottle ToStringReport = new();

    /// <summary>
    /// <c>value.ToString()</c>, except that a throwing <c>ToString()</c> yields a placeholder and a SelfLog line
    /// instead of losing the whole event (Serilog's own formatter would throw here).
    /// </summary>
    public static string SafeToString(object value)
    {
        try
        {
            return value.ToString() ?? "";
        }
        catch (Exception ex)
        {
            ToStringReport.WriteLine("Formatting: {1}.ToString() threw, so a placeholder was written ({0} more since the last report): {2}", value.GetType(), ex);
            return "<" + value.GetType().Name + ".ToString() failed>";
        }
    }
}
