using System.Buffers.Binary;
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

    /// <summary>
    /// The two ASCII digits of <paramref name="value"/> (below 100) as a little-endian pair: the tens in the low byte.
    /// <c>(v * 103) &gt;&gt; 10</c> is <c>v / 10</c> for every v below 179.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pair(uint value)
    {
        var tens = (value * 103) >> 10;
        return ('0' + tens) | (('0' + value - tens * 10) << 8);
    }

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

    /// <summary>
    /// Fills <paramref name="destination"/> with the low digits of <paramref name="value"/>, right-aligned and padded
    /// with zeros; returns what is left of the value (its digits above those written).
    /// </summary>
    public static ulong WriteRight(Span<byte> destination, ulong value)
    {
        var i = destination.Length;
        while (i >= 2)
        {
            var rest = value / 100;
            i -= 2;
            BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(i), (ushort)Pair((uint)(value - rest * 100)));
            value = rest;
        }
        if (i == 1)
        {
            var rest = value / 10;
            destination[0] = (byte)('0' + (int)(value - rest * 10));
            value = rest;
        }
        return value;
    }

    /// <summary>Two digits of <paramref name="value"/> (0..99) at <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WritePair(Span<byte> destination, int index, int value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(index), (ushort)Pair((uint)value));
}
