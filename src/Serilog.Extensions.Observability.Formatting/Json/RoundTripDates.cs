using System.Buffers.Binary;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// The round-trip (<c>"O"</c>) text of a date and time, <c>yyyy-MM-ddTHH:mm:ss.fffffff</c>, written as ASCII without
/// the runtime's general date formatter. The calendar date is the only costly part; it is remembered for the last day
/// seen, so the events of one day (nearly all of them) pay only for the clock digits. One instance per thread: it
/// lives in that thread's buffers.
/// </summary>
/// <remarks>
/// <c>"O"</c> is culture-invariant and fixed-width for every <see cref="DateTime"/> (years 1..9999 as four digits,
/// seven fraction digits always written); only the suffix depends on the kind or the offset, and the callers add it.
/// </remarks>
sealed class RoundTripDates
{
    /// <summary>The length of <c>yyyy-MM-ddTHH:mm:ss.fffffff</c>.</summary>
    public const int ClockLength = 27;

    /// <summary>The clock text and the longest suffix (<c>+HH:mm</c>).</summary>
    public const int MaxLength = ClockLength + 6;

    long _day = -1;
    ulong _dateHead; // "yyyy-MM-", little-endian
    ushort _dateTail; // "dd"

    /// <summary>
    /// Writes <c>yyyy-MM-ddTHH:mm:ss.fffffff</c> for <paramref name="ticks"/> (a <see cref="DateTime"/>'s). The text
    /// up to the seconds is remembered for the last second seen, apart from the events' own timestamps: values logged
    /// together (a request's start, an order's time) mostly share their second.
    /// </summary>
    public void WriteClock(Span<byte> destination, long ticks) => WriteRemembering(ref _valueSecond, destination, ticks);

    void WriteClockUncached(Span<byte> destination, long ticks)
    {
        destination = destination.Slice(0, ClockLength);

        // Ticks of a DateTime are never negative: unsigned arithmetic divides by constants more cheaply.
        var day = (ulong)ticks / TimeSpan.TicksPerDay;
        if ((long)day != _day) Remember((long)day);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, _dateHead);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(8), _dateTail);

        var time = (ulong)ticks - day * TimeSpan.TicksPerDay;
        var seconds = (uint)(time / TimeSpan.TicksPerSecond);
        var fraction = (uint)(time - seconds * (ulong)TimeSpan.TicksPerSecond);
        var hour = seconds / 3600;
        seconds -= hour * 3600;
        var minute = seconds / 60;
        seconds -= minute * 60;
        var secondPair = AsciiDigits.Pair(seconds);

        // "THH:mm:s" in one store.
        BinaryPrimitives.WriteUInt64LittleEndian(destination.Slice(10),
            'T' | ((ulong)AsciiDigits.Pair(hour) << 8) | ((ulong)':' << 24) | ((ulong)AsciiDigits.Pair(minute) << 32)
            | ((ulong)':' << 48) | ((ulong)(secondPair & 0xFF) << 56));

        // "s." then the seven fraction digits.
        destination[18] = (byte)(secondPair >> 8);
        WriteFraction(destination, fraction);
    }

    /// <summary>
    /// Writes <c>yyyy-MM-ddTHH:mm:ss.fffffff</c> for <paramref name="ticks"/> like <see cref="WriteClock"/>, remembering
    /// the text up to the second: an event's timestamp is nearly always in the same second as the last event's, and
    /// then only the fraction is new. Kept apart from the second that property values remember.
    /// </summary>
    public void WriteTimestamp(Span<byte> destination, long ticks) => WriteRemembering(ref _eventSecond, destination, ticks);

    void WriteRemembering(ref SecondText remembered, Span<byte> destination, long ticks)
    {
        destination = destination.Slice(0, ClockLength);
        var second = (ulong)ticks / TimeSpan.TicksPerSecond;
        if ((long)second != remembered.Second) remembered = RememberSecond(second);
        remembered.Write(destination);
        WriteFraction(destination, (uint)((ulong)ticks - second * TimeSpan.TicksPerSecond));
    }

    SecondText _eventSecond = SecondText.None;
    SecondText _valueSecond = SecondText.None;

    /// <summary><c>yyyy-MM-ddTHH:mm:ss</c> of one second, as three stores.</summary>
    struct SecondText
    {
        public static readonly SecondText None = new() { Second = -1 };

        public long Second;
        public ulong Head; // "yyyy-MM-"
        public ulong Middle; // "ddTHH:mm"
        public uint Tail; // "m:ss"

        public readonly void Write(Span<byte> destination)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, Head);
            BinaryPrimitives.WriteUInt64LittleEndian(destination.Slice(8), Middle);
            BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(15), Tail);
        }
    }

    SecondText RememberSecond(ulong second)
    {
        Span<byte> text = stackalloc byte[ClockLength];
        WriteClockUncached(text, (long)(second * TimeSpan.TicksPerSecond));
        return new SecondText
        {
            Second = (long)second,
            Head = BinaryPrimitives.ReadUInt64LittleEndian(text),
            Middle = BinaryPrimitives.ReadUInt64LittleEndian(text.Slice(8)),
            Tail = BinaryPrimitives.ReadUInt32LittleEndian(text.Slice(15)),
        };
    }

    static void WriteFraction(Span<byte> destination, uint fraction)
    {
        var high = fraction / 10_000; // 0..999
        var low = fraction - high * 10_000; // 0..9999
        var first = (high * 41) >> 12; // high / 100 for high below 1000
        var lowHigh = low / 100;
        BinaryPrimitives.WriteUInt64LittleEndian(destination.Slice(19),
            '.' | ((ulong)('0' + first) << 8) | ((ulong)AsciiDigits.Pair(high - first * 100) << 16)
            | ((ulong)AsciiDigits.Pair(lowHigh) << 32) | ((ulong)AsciiDigits.Pair(low - lowHigh * 100) << 48));
    }

    /// <summary>Writes <c>+HH:mm</c> or <c>-HH:mm</c> for an offset in whole minutes; returns 6.</summary>
    public static int WriteOffset(Span<byte> destination, TimeSpan offset)
    {
        destination = destination.Slice(0, 6);
        if (offset.Ticks == 0)
        {
            // UTC, the usual offset: "+00:00" in two stores.
            BinaryPrimitives.WriteUInt32LittleEndian(destination, '+' | ('0' << 8) | ('0' << 16) | (':' << 24));
            BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(4), '0' | ('0' << 8));
            return 6;
        }
        var minutes = (int)(offset.Ticks / TimeSpan.TicksPerMinute);
        if (minutes < 0)
        {
            destination[0] = (byte)'-';
            minutes = -minutes;
        }
        else
        {
            destination[0] = (byte)'+';
        }
        var hours = minutes / 60;
        AsciiDigits.WritePair(destination, 1, hours);
        destination[3] = (byte)':';
        AsciiDigits.WritePair(destination, 4, minutes - hours * 60);
        return 6;
    }

    void Remember(long day)
    {
        new DateTime(day * TimeSpan.TicksPerDay).Deconstruct(out var year, out var month, out var dayOfMonth);
        Span<byte> text = stackalloc byte[10];
        AsciiDigits.WritePair(text, 0, year / 100);
        AsciiDigits.WritePair(text, 2, year % 100);
        text[4] = (byte)'-';
        AsciiDigits.WritePair(text, 5, month);
        text[7] = (byte)'-';
        AsciiDigits.WritePair(text, 8, dayOfMonth);
        _dateHead = BinaryPrimitives.ReadUInt64LittleEndian(text);
        _dateTail = BinaryPrimitives.ReadUInt16LittleEndian(text.Slice(8));
        _day = day;
    }
}
