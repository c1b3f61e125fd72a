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

    // Short strings (names, most values) are escaped and encoded in one pass straight into the buffer; long ones
    // (messages, exceptions) take the vectorised run-by-run path.
    const int FusedEscapeLimit = 128;

    public void Escaped(ReadOnlySpan<char> text)
    {
        if (text.Length > FusedEscapeLimit)
        {
            JsonText.WriteEscapedRuns(this, text);
            return;
        }

        // At most 6 bytes per char (\u00XX); a non-ASCII char takes at most 3, a surrogate pair 4.
        var destination = buffer.Free(text.Length * 6);
        var written = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 0x80)
            {
                if (c >= 0x20 && c != '"' && c != '\\')
                    destination[written++] = (byte)c;
                else
                    written += JsonText.WriteEscape(destination.Slice(written), c);
                continue;
            }

            // A run of non-ASCII chars is encoded whole, so a surrogate pair is never split.
            var start = i;
            while (i + 1 < text.Length && text[i + 1] >= 0x80) i++;
            written += Encoding.UTF8.GetBytes(text.Slice(start, i - start + 1), destination.Slice(written));
        }
        buffer.Length += written;
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

    public void Escaped(ReadOnlySpan<char> text) => JsonText.WriteEscapedRuns(this, text);

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
