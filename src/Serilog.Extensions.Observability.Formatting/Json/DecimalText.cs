namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// Decimal and integer text written as ASCII bytes without the runtime's general number formatter, for the two
/// shapes logs use most: the default format (<c>decimal.ToString(CultureInfo.InvariantCulture)</c>, every digit of
/// the scale kept) and fixed-point custom formats <c>"0"</c>, <c>"0.0"</c>, <c>"0.00"</c>, ... Each method declines
/// (returns <see langword="false"/>) wherever its result could differ from the runtime's, and the caller then lets
/// the runtime format the value.
/// </summary>
static class DecimalText
{
    /// <summary>Room for a sign, 20 digits, a point and 28 more digits.</summary>
    public const int MaxLength = 64;

    /// <summary>The largest number of decimals a fixed-point format may ask for here.</summary>
    const int MaxFixedDecimals = 18;

    static readonly ulong[] PowersOf10 = CreatePowersOf10();

    static ulong[] CreatePowersOf10()
    {
        var powers = new ulong[20];
        powers[0] = 1;
        for (var i = 1; i < powers.Length; i++) powers[i] = powers[i - 1] * 10;
        return powers;
    }

    /// <summary><c>value.ToString(CultureInfo.InvariantCulture)</c> for values whose digits fit 64 bits.</summary>
    public static bool TryFormat(decimal value, Span<byte> destination, out int written)
    {
        if (!TryDecompose(value, out var mantissa, out var scale, out var negative) || (negative && mantissa == 0))
        {
            written = 0;
            return false;
        }
        written = Write(destination, negative, mantissa, scale);
        return true;
    }

    /// <summary>
    /// The number of decimals of a fixed-point custom format (<c>"0"</c> = 0, <c>"0.00"</c> = 2), or -1 when
    /// <paramref name="format"/> is anything else.
    /// </summary>
    public static int FixedDecimals(string? format)
    {
        if (format is null || format.Length == 0 || format[0] != '0') return -1;
        if (format.Length == 1) return 0;
        if (format[1] != '.' || format.Length == 2 || format.Length - 2 > MaxFixedDecimals) return -1;
        for (var i = 2; i < format.Length; i++)
            if (format[i] != '0') return -1;
        return format.Length - 2;
    }

    /// <summary>
    /// <c>value.ToString(format, CultureInfo.InvariantCulture)</c> for a fixed-point <c>format</c> of
    /// <paramref name="decimals"/> decimals (see <see cref="FixedDecimals"/>): rounded half away from zero.
    /// Declines a negative value that rounds to zero (the runtime's sign rule there is not worth copying).
    /// </summary>
    public static bool TryFormatFixed(object? value, int decimals, Span<byte> destination, out int written)
    {
        written = 0;
        ulong mantissa;
        int scale;
        bool negative;
        switch (value)
        {
            case decimal d:
                if (!TryDecompose(d, out mantissa, out scale, out negative)) return false;
                break;
            case int i:
                negative = i < 0;
                mantissa = negative ? (ulong)-(long)i : (ulong)i;
                scale = 0;
                break;
            case long l:
                negative = l < 0;
                mantissa = negative ? (ulong)-(l + 1) + 1 : (ulong)l;
                scale = 0;
                break;
            default:
                return false;
        }

        if (scale > decimals)
        {
            var cut = scale - decimals;
            if (cut >= PowersOf10.Length) return false;
            var divisor = PowersOf10[cut];
            var quotient = mantissa / divisor;
            var remainder = mantissa - quotient * divisor;
            if (remainder >= divisor - remainder) quotient++; // half away from zero, on the exact decimal digits
            mantissa = quotient;
            scale = decimals;
        }

        if (negative && mantissa == 0) return false;

        var length = Write(destination, negative, mantissa, scale);
        // Pad the decimals the value lacks ("5" -> "5.00").
        if (decimals > scale)
        {
            if (scale == 0) destination[length++] = (byte)'.';
            destination.Slice(length, decimals - scale).Fill((byte)'0');
            length += decimals - scale;
        }
        written = length;
        return true;
    }

    static bool TryDecompose(decimal value, out ulong mantissa, out int scale, out bool negative)
    {
        var bits = new DecimalBits();
        decimal.GetBits(value, bits);
        negative = bits[3] < 0;
        scale = (bits[3] >> 16) & 0xFF;
        mantissa = ((ulong)(uint)bits[1] << 32) | (uint)bits[0];
        return bits[2] == 0;
    }

    /// <summary>The digits of <paramref name="mantissa"/> with a point <paramref name="scale"/> digits from the right.</summary>
    static int Write(Span<byte> destination, bool negative, ulong mantissa, int scale)
    {
        var sign = negative ? 1 : 0;
        if (negative) destination[0] = (byte)'-';

        // Written from the right, so no division by a power of ten that is not a constant: the scale's digits
        // (zero-padded: 0.00ddd), the point, then the integral digits ("0" when there are none).
        var count = AsciiDigits.Count(mantissa);
        var integral = count > scale ? count - scale : 1;
        if (scale == 0)
        {
            AsciiDigits.WriteRight(destination.Slice(sign, integral), mantissa);
            return sign + integral;
        }

        var length = sign + integral + 1 + scale;
        mantissa = AsciiDigits.WriteRight(destination.Slice(length - scale, scale), mantissa);
        destination[sign + integral] = (byte)'.';
        AsciiDigits.WriteRight(destination.Slice(sign, integral), mantissa);
        return length;
    }
}

/// <summary>The four ints of <see cref="decimal.GetBits(decimal, Span{int})"/>, on the stack without a <c>stackalloc</c>.</summary>
[System.Runtime.CompilerServices.InlineArray(4)]
struct DecimalBits
{
    int _first;
}
