using System.Globalization;
using System.Text;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>Appends UTF-8. Lone surrogates become U+FFFD, exactly as a UTF-8 <see cref="TextWriter"/> encodes them.</summary>
readonly struct Utf8Sink(ByteBuilder buffer) : IJsonSink
{
    public void Ascii(char c)
    {
        buffer.Free(1)[0] = (byte)c;
        buffer.Length++;
    }

    public void Literal(ReadOnlySpan<byte> ascii)
    {
        ascii.CopyTo(buffer.Free(ascii.Length));
        buffer.Length += ascii.Length;
    }

    public void Text(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return;
        var written = Encoding.UTF8.GetBytes(text, buffer.Free(Encoding.UTF8.GetMaxByteCount(text.Length)));
        buffer.Length += written;
    }

    public void Formatted<T>(T value, ReadOnlySpan<char> format, IFormatProvider? provider)
        where T : ISpanFormattable, IUtf8SpanFormattable
    {
        var size = 64;
        while (true)
        {
            if (value.TryFormat(buffer.Free(size), out var written, format, provider))
            {
                buffer.Length += written;
                return;
            }
            size *= 2;
        }
    }
}

/// <summary>Appends UTF-16 chars, later written to a <see cref="TextWriter"/> in one call.</summary>
readonly struct CharSink(CharBuilder buffer) : IJsonSink
{
    public void Ascii(char c) => buffer.Append(c);

    public void Literal(ReadOnlySpan<byte> ascii)
    {
        var span = buffer.Free(ascii.Length);
        for (var i = 0; i < ascii.Length; i++) span[i] = (char)ascii[i];
        buffer.Length += ascii.Length;
    }

    public void Text(ReadOnlySpan<char> text) => buffer.Append(text);

    public void Formatted<T>(T value, ReadOnlySpan<char> format, IFormatProvider? provider)
        where T : ISpanFormattable, IUtf8SpanFormattable
    {
        var size = 64;
        while (true)
        {
            if (value.TryFormat(buffer.Free(size), out var written, format, provider))
            {
                buffer.Length += written;
                return;
            }
            size *= 2;
        }
    }
}

static class Invariant
{
    public static readonly CultureInfo Culture = CultureInfo.InvariantCulture;
}
