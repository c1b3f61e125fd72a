using System.Runtime.CompilerServices;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// Decimal digits written straight into a destination as ASCII, two at a time from a table: what the invariant
/// culture's <c>ToString()</c> writes for an integer, without the runtime's general number formatter.
/// </summary>
static class AsciiDigits
{
    /// <summary>The most bytes <see cref="Write(Span{byte}, long)"/> writes: a sign and 19 digits.</summary>
    public const int MaxInt64Length = 20;

    /// <summary>"00" "01" ... "99": the two digits of every value below 100.</summary>
    static ReadOnlySpan<byte> Pairs =>
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    /// <summary>The number of decimal digits of <paramref name="value"/> (1 for zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(ulong value)
    {
        var digits = 1;
        while (value >= 10000)
        {
            value /= 10000;
            digits += 4;
        }
        if (value >= 10) digits++;
        if (value >= 100) digits++;
        if (value >= 1000) digits++;
        return digits;
    }

    /// <summary><c>value.ToString(CultureInfo.InvariantCulture)</c> as ASCII; returns the length.</summary>
    public static int Write(Span<byte> destination, long value)
    {
        if (value >= 0) return Write(destination, (ulong)value);
        destination[0] = (byte)'-';
        // -(value + 1) + 1 keeps long.MinValue in range.
        return 1 + Write(destination.Slice(1), (ulong)-(value + 1) + 1);
    }

    /// <summary>The digits of <paramref name="value"/> as ASCII; returns the length.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        var length = Count(value);
        WriteRight(destination.Slice(0, length), value);
        return length;
    }

    /// <summary>Fills <paramref name="destination"/> with the low digits of <paramref name="value"/>, right-aligned.</summary>
    public static void WriteRight(Span<byte> destination, ulong value)
    {
        var pairs = Pairs;
        var i = destination.Length;
        while (i >= 2)
        {
            var pair = (int)(value % 100) * 2;
            value /= 100;
            destination[--i] = pairs[pair + 1];
            destination[--i] = pairs[pair];
        }
        if (i == 1) destination[0] = (byte)('0' + (int)(value % 10));
    }

    /// <summary>Two digits of <paramref name="value"/> (0..99) at <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WritePair(Span<byte> destination, int index, int value)
    {
        var pairs = Pairs;
        destination[index] = pairs[value * 2];
        destination[index + 1] = pairs[value * 2 + 1];
    }
}
