using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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

    public void Quoted(ReadOnlySpan<char> text)
    {
        // Short values and names (the usual case) that are plain printable ASCII: checked, narrowed and quoted in one
        // pass, eight chars at a time. Anything else, from the first char that needs more, takes the general path.
        var length = text.Length;
        if (length <= ShortQuotedLimit && Vector128.IsHardwareAccelerated)
        {
            var destination = buffer.Free(ShortQuotedLimit + 2);
            destination[0] = (byte)'"';
            var plain = length >= Vector128<ushort>.Count
                ? NarrowPlainVectorised(text, destination.Slice(1))
                : NarrowPlainScalar(text, destination.Slice(1));
            if (plain == length)
            {
                destination[length + 1] = (byte)'"';
                buffer.Length += length + 2;
                return;
            }
            // The rest starts with a char that needs escaping or encoding: no use looking for a plain run first.
            buffer.Length += plain + 1;
            EscapedSlow(text.Slice(plain));
            Ascii('"');
            return;
        }
        Ascii('"');
        Escaped(text);
        Ascii('"');
    }

    const int ShortQuotedLimit = 64;

    /// <summary>Narrows the leading plain ASCII chars (no escaping needed) into <paramref name="destination"/>; returns how many.</summary>
    static int NarrowPlainScalar(ReadOnlySpan<char> text, Span<byte> destination)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c - 0x20u > 0x7E - 0x20 || c == '"' || c == '\\') return i;
            destination[i] = (byte)c;
        }
        return text.Length;
    }

    /// <summary>As <see cref="NarrowPlainScalar"/>, for at least eight chars: the last block overlaps the one before.</summary>
    static int NarrowPlainVectorised(ReadOnlySpan<char> text, Span<byte> destination)
    {
        ref var source = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
        var width = Vector128<ushort>.Count;
        var last = text.Length - width;
        var space = Vector128.Create((ushort)0x20);
        var tilde = Vector128.Create((ushort)0x7E);
        var quote = Vector128.Create((ushort)'"');
        var backslash = Vector128.Create((ushort)'\\');
        for (var i = 0; ; i += width)
        {
            if (i > last) i = last;
            var chars = Vector128.LoadUnsafe(ref source, (nuint)i);
            var special = Vector128.LessThan(chars, space) | Vector128.GreaterThan(chars, tilde)
                | Vector128.Equals(chars, quote) | Vector128.Equals(chars, backslash);
            if (special != Vector128<ushort>.Zero)
            {
                // Narrow what is plain before the first special char, then stop there.
                var first = i + BitOperations.TrailingZeroCount(special.ExtractMostSignificantBits());
                return i + NarrowPlainScalar(text.Slice(i, first - i), destination.Slice(i));
            }
            Vector128.Narrow(chars, chars).GetLower().AsByte().StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)i);
            if (i == last) return text.Length;
        }
    }

    public void Escaped(ReadOnlySpan<char> text)
    {
        // Most text is printable ASCII with nothing to escape: find where that stops (vectorised), narrow that run in
        // bulk, and only then fall back to character-by-character work for the rest.
        var clean = text.IndexOfAnyExcept(JsonText.PlainAscii);
        if (clean < 0) clean = text.Length;
        if (clean > 0)
        {
            System.Text.Ascii.FromUtf16(text.Slice(0, clean), buffer.Free(clean), out _);
            buffer.Length += clean;
            if (clean == text.Length) return;
            text = text.Slice(clean);
        }

        if (text.Length > FusedEscapeLimit)
            JsonText.WriteEscapedRuns(this, text);
        else
            EscapedSlow(text);
    }

    // Short rests (names, most values) are escaped and encoded in one pass straight into the buffer; long ones
    // (messages, exceptions) take the vectorised run-by-run path.
    const int FusedEscapeLimit = 128;

    void EscapedSlow(ReadOnlySpan<char> text)
    {
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

            if (c < 0x800)
            {
                destination[written++] = (byte)(0xC0 | (c >> 6));
                destination[written++] = (byte)(0x80 | (c & 0x3F));
            }
            else if (!char.IsSurrogate(c))
            {
                destination[written++] = (byte)(0xE0 | (c >> 12));
                destination[written++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                destination[written++] = (byte)(0x80 | (c & 0x3F));
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var scalar = char.ConvertToUtf32(c, text[++i]);
                destination[written++] = (byte)(0xF0 | (scalar >> 18));
                destination[written++] = (byte)(0x80 | ((scalar >> 12) & 0x3F));
                destination[written++] = (byte)(0x80 | ((scalar >> 6) & 0x3F));
                destination[written++] = (byte)(0x80 | (scalar & 0x3F));
            }
            else
            {
                // A lone surrogate: U+FFFD, as Encoding.UTF8 (and so a UTF-8 TextWriter) replaces it.
                destination[written++] = 0xEF;
                destination[written++] = 0xBF;
                destination[written++] = 0xBD;
            }
        }
        buffer.Length += written;
    }

    public void Prepared(PreparedText text)
    {
        var blocks = text.Utf8Blocks;
        if (!Vector128.IsHardwareAccelerated)
        {
            Literal(text.Utf8);
            return;
        }
        // Whole blocks, padding included: what lands beyond the text is free space that the next write covers.
        var destination = buffer.Free(blocks.Length);
        ref var source = ref MemoryMarshal.GetArrayDataReference(blocks);
        ref var target = ref MemoryMarshal.GetReference(destination);
        for (nuint i = 0; i < (nuint)blocks.Length; i += PreparedText.BlockSize)
            Vector128.LoadUnsafe(ref source, i).StoreUnsafe(ref target, i);
        buffer.Length += text.Utf8Length;
    }

    public void AsciiText(ReadOnlySpan<char> text)
    {
        var status = System.Text.Ascii.FromUtf16(text, buffer.Free(text.Length), out var written);
        buffer.Length += written;
        if (status != System.Buffers.OperationStatus.Done) Text(text.Slice(written));
    }

    public void Text(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return;
        var written = Encoding.UTF8.GetBytes(text, buffer.Free(Encoding.UTF8.GetMaxByteCount(text.Length)));
        buffer.Length += written;
    }

    public void EventTimestamp(DateTimeOffset timestamp)
    {
        var destination = buffer.Free(RoundTripDates.ClockLength + 1);
        buffer.Dates.WriteTimestamp(destination, timestamp.UtcTicks);
        destination[RoundTripDates.ClockLength] = (byte)'Z';
        buffer.Length += RoundTripDates.ClockLength + 1;
    }

    public void RoundTrip(DateTime value)
    {
        if (value.Kind == DateTimeKind.Local)
        {
            // The local offset comes from the time zone rules: the runtime's formatter knows them.
            Formatted(value, "O", Invariant.Culture);
            return;
        }
        var destination = buffer.Free(RoundTripDates.ClockLength + 1);
        buffer.Dates.WriteClock(destination, value.Ticks);
        if (value.Kind == DateTimeKind.Utc)
        {
            destination[RoundTripDates.ClockLength] = (byte)'Z';
            buffer.Length += RoundTripDates.ClockLength + 1;
        }
        else
        {
            buffer.Length += RoundTripDates.ClockLength;
        }
    }

    public void RoundTrip(DateTimeOffset value)
    {
        var destination = buffer.Free(RoundTripDates.MaxLength);
        // "O" writes the clock time (UTC plus the offset, always within DateTime's range), then the offset.
        var offset = value.Offset;
        buffer.Dates.WriteClock(destination, value.UtcTicks + offset.Ticks);
        RoundTripDates.WriteOffset(destination.Slice(RoundTripDates.ClockLength), offset);
        buffer.Length += RoundTripDates.MaxLength;
    }

    public void Integer(long value)
    {
        // Free() first, on a statement of its own: when the line outgrows an output's borrowed space it moves to the
        // builder's own array and Length changes; "Length += Write(Free(..))" would add to the Length read before that.
        var written = AsciiDigits.Write(buffer.Free(AsciiDigits.MaxInt64Length), value);
        buffer.Length += written;
    }

    public void Decimal(decimal value)
    {
        if (DecimalText.TryFormat(value, buffer.Free(DecimalText.MaxLength), out var written))
            buffer.Length += written;
        else
            Formatted(value, default, Invariant.Culture);
    }

    public bool TryQuotedFixed(object? value, int decimals)
    {
        var destination = buffer.Free(DecimalText.MaxLength + 2);
        if (!DecimalText.TryFormatFixed(value, decimals, destination.Slice(1), out var written)) return false;
        destination[0] = (byte)'"';
        destination[written + 1] = (byte)'"';
        buffer.Length += written + 2;
        return true;
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

    public void Escaped(ReadOnlySpan<char> text)
    {
        var i = text.IndexOfAny(JsonText.NeedsEscape);
        if (i < 0)
        {
            buffer.Append(text);
            return;
        }
        JsonText.WriteEscapedRuns(this, text);
    }

    public void Quoted(ReadOnlySpan<char> text)
    {
        buffer.Append('"');
        Escaped(text);
        buffer.Append('"');
    }

    public void Prepared(PreparedText text) => buffer.Append(text.Chars);

    public void AsciiText(ReadOnlySpan<char> text) => buffer.Append(text);

    public void Text(ReadOnlySpan<char> text) => buffer.Append(text);

    // The text path keeps the runtime's formatters for dates and integers: the tests that compare it with the UTF-8
    // path byte for byte thereby check the hand-written UTF-8 writers against the runtime on every case.
    public void EventTimestamp(DateTimeOffset timestamp) => Formatted(timestamp.UtcDateTime, "O", Invariant.Culture);

    public void RoundTrip(DateTime value) => Formatted(value, "O", Invariant.Culture);

    public void RoundTrip(DateTimeOffset value) => Formatted(value, "O", Invariant.Culture);

    public void Integer(long value) => Formatted(value, default, Invariant.Culture);

    public void Decimal(decimal value)
    {
        Span<byte> text = stackalloc byte[DecimalText.MaxLength];
        if (DecimalText.TryFormat(value, text, out var written))
            Literal(text.Slice(0, written));
        else
            Formatted(value, default, Invariant.Culture);
    }

    public bool TryQuotedFixed(object? value, int decimals)
    {
        Span<byte> digits = stackalloc byte[DecimalText.MaxLength];
        if (!DecimalText.TryFormatFixed(value, decimals, digits, out var written)) return false;
        buffer.Append('"');
        Literal(digits.Slice(0, written));
        buffer.Append('"');
        return true;
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

static class Invariant
{
    public static readonly CultureInfo Culture = CultureInfo.InvariantCulture;
}
