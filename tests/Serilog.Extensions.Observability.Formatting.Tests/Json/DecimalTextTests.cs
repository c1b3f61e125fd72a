using System.Globalization;
using System.Text;
using Serilog.Extensions.Observability.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting.Tests.Json;

public class DecimalTextTests
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    static IEnumerable<decimal> Decimals()
    {
        yield return 0m;
        yield return 0.00m;
        yield return -0.00m;
        yield return 1m;
        yield return -1m;
        yield return 0.5m;
        yield return 0.005m;
        yield return -0.005m;
        yield return 0.0049m;
        yield return 1.995m;
        yield return -1.995m;
        yield return 2.5m;
        yield return 12.345m;
        yield return 9.9999m;
        yield return 0.0000000000000000000000000001m;
        yield return decimal.MaxValue;
        yield return decimal.MinValue;
        yield return ulong.MaxValue;
        yield return (decimal)ulong.MaxValue + 1;
        yield return -(decimal)ulong.MaxValue;
        yield return 12.5m * 3 + 0.99m;
        var random = new Random(7);
        for (var i = 0; i < 20000; i++)
        {
            var scale = (byte)random.Next(0, 29);
            var hi = random.Next(4) == 0 ? random.Next() : 0;
            var mid = random.Next(3) == 0 ? 0 : random.Next();
            yield return new decimal(random.Next(), mid, hi, random.Next(2) == 0, scale);
        }
    }

    [Test]
    public void DefaultFormatMatchesTheRuntimeWheneverItIsTaken()
    {
        Span<byte> buffer = stackalloc byte[DecimalText.MaxLength];
        var taken = 0;
        foreach (var value in Decimals())
        {
            if (!DecimalText.TryFormat(value, buffer, out var written)) continue;
            Assert.That(Encoding.ASCII.GetString(buffer.Slice(0, written)), Is.EqualTo(value.ToString(Invariant)), value.ToString(Invariant));
            taken++;
        }
        Assert.That(taken, Is.GreaterThan(10000));
    }

    [TestCase("0", 0)]
    [TestCase("0.0", 1)]
    [TestCase("0.00", 2)]
    [TestCase("0.000000000000000000", 18)]
    [TestCase("0.0000000000000000000", -1)]
    [TestCase(null, -1)]
    [TestCase("", -1)]
    [TestCase("0.", -1)]
    [TestCase("0.#", -1)]
    [TestCase("00.00", -1)]
    [TestCase("F2", -1)]
    [TestCase("0.00 ", -1)]
    public void OnlyPlainFixedPointFormatsAreRecognised(string? format, int decimals)
    {
        Assert.That(DecimalText.FixedDecimals(format), Is.EqualTo(decimals));
    }

    [Test]
    public void FixedPointFormatsMatchTheRuntimeWheneverTheyAreTaken()
    {
        Span<byte> buffer = stackalloc byte[DecimalText.MaxLength];
        var formats = new[] { "0", "0.0", "0.00", "0.000", "0.0000000", "0.000000000000000000" };
        var taken = 0;
        foreach (var value in Decimals())
        {
            foreach (var format in formats)
            {
                if (!DecimalText.TryFormatFixed(value, DecimalText.FixedDecimals(format), buffer, out var written)) continue;
                Assert.That(Encoding.ASCII.GetString(buffer.Slice(0, written)), Is.EqualTo(value.ToString(format, Invariant)), $"{value.ToString(Invariant)} {format}");
                taken++;
            }
        }
        Assert.That(taken, Is.GreaterThan(50000));
    }

    [Test]
    public void FixedPointFormatsOfIntegersMatchTheRuntime()
    {
        Span<byte> buffer = stackalloc byte[DecimalText.MaxLength];
        var integers = new long[] { 0, 1, -1, 7, 100_007, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue, -123456789012 };
        foreach (var format in new[] { "0", "0.0", "0.00", "0.0000" })
        {
            var decimals = DecimalText.FixedDecimals(format);
            foreach (var value in integers)
            {
                Assert.That(DecimalText.TryFormatFixed(value, decimals, buffer, out var written), Is.True);
                Assert.That(Encoding.ASCII.GetString(buffer.Slice(0, written)), Is.EqualTo(value.ToString(format, Invariant)));
                if (value is >= int.MinValue and <= int.MaxValue)
                {
                    Assert.That(DecimalText.TryFormatFixed((int)value, decimals, buffer, out written), Is.True);
                    Assert.That(Encoding.ASCII.GetString(buffer.Slice(0, written)), Is.EqualTo(((int)value).ToString(format, Invariant)));
                }
            }
        }
    }

    [Test]
    public void OtherTypesAreLeftToTheRuntime()
    {
        Span<byte> buffer = stackalloc byte[DecimalText.MaxLength];
        Assert.That(DecimalText.TryFormatFixed(1.5, 2, buffer, out _), Is.False);
        Assert.That(DecimalText.TryFormatFixed("1.5", 2, buffer, out _), Is.False);
        Assert.That(DecimalText.TryFormatFixed(null, 2, buffer, out _), Is.False);
    }
}
