using System.Globalization;
using System.Numerics;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>
/// Edge values (extremes, kinds, offsets, scales, non-finite numbers, surrogates, controls) under every kind of format
/// string and alignment: both CLEF formatters equal the reference on both paths, on first sight of a template and once
/// it is cached; the flat formatter writes valid JSON, identical on both paths.
/// </summary>
public class EdgeValueTests
{
    static readonly MessageTemplateParser Parser = new();

    internal static IEnumerable<object?> Values()
    {
        yield return DateTime.MinValue; yield return DateTime.MaxValue;
        yield return new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Local);
        yield return new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Unspecified);
        yield return DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc);
        yield return new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(14));
        yield return new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromMinutes(-30));
        yield return new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(-14));
        yield return DateTimeOffset.MinValue; yield return DateTimeOffset.MaxValue;
        yield return 28.0000000000000000000000000001m; yield return 0.0000000000000000000000000001m;
        yield return -0.0m; yield return -0.00m; yield return decimal.MinValue; yield return decimal.MaxValue;
        yield return 1.50m; yield return -1.005m; yield return 12345678901234567890m; yield return 18446744073709551615m; yield return 18446744073709551616m;
        yield return 0.005m; yield return -0.005m; yield return -0.004m; yield return 2.5m; yield return -2.5m; yield return 9.995m;
        yield return long.MinValue; yield return long.MaxValue; yield return ulong.MaxValue; yield return int.MinValue; yield return uint.MaxValue;
        yield return double.NaN; yield return double.PositiveInfinity; yield return double.NegativeInfinity; yield return -0.0; yield return double.Epsilon; yield return 1e300; yield return 0.1;
        yield return float.NaN; yield return -0.0f; yield return float.Epsilon; yield return float.MaxValue; yield return 1.1f;
        yield return Guid.Empty; yield return TimeSpan.MinValue; yield return TimeSpan.MaxValue;
        yield return new DateOnly(2020, 1, 2); yield return DateOnly.MaxValue; yield return new TimeOnly(13, 4, 5, 6); yield return TimeOnly.MaxValue;
        yield return 'x'; yield return '\ud800'; yield return '\u2028'; yield return '\0';
        yield return "a\ud800b"; yield return "\udc00"; yield return "x\ud83d\ude00y"; yield return "\u2028\u2029\u007f\u0085"; yield return "\u0001\u001f\b\f\n\r\t\"\\/";
        yield return new string('\u00e9', 200) + "\n" + new string('\ud800', 3) + new string('x', 300);
        yield return (Half)1.5; yield return new BigInteger(-12345); yield return (Int128)(-5); yield return (UInt128)7;
        yield return DayOfWeek.Monday; yield return (DayOfWeek)42; yield return (nint)(-3);
        yield return (byte)255; yield return (sbyte)-128; yield return (short)-1; yield return (ushort)65535;
        yield return true; yield return null;
        yield return new Uri("http://x/y z");
    }

    static readonly string[] Formats = ["0", "0.00", "0.0", "0.##", "N2", "F3", "#,0.00", "000", "x", "X8", "C", "P", "E2", "G", "R", "O", "o", "s", "u", "yyyy-MM-dd", "c", "g", "D", "l", "j", "0.000000000000000000", "00.00", " 0.00", "0.00;(0.00)", "0.00e0"];

    internal static IEnumerable<string> Templates()
    {
        foreach (var f in Formats)
        {
            yield return "A {V:" + f + "} b";
            yield return "A {V," + "10:" + f + "} b";
            yield return "A {V,-10:" + f + "} b";
        }
        yield return "A {V} b";
        yield return "A {V,5} {V,-5} {{esc}} }} {{ {0} {@V} {$V}";
        yield return "{@V}";
        yield return "{$V:0.00}";
    }

    [Test]
    public void EdgeValuesInEveryFormatMatchTheReferenceOnBothPathsCachedOrNot()
    {
        // Serilog 3.1.1 writes a DateOnly with the current culture's calendar; compare in a Gregorian one.
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try
        {
            CompareEdgeValues();
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    static void CompareEdgeValues()
    {
        var failures = new List<string>();
        var formatters = new IUtf8Formatter[] { new CompactJsonFormatter(), new RenderedCompactJsonFormatter() };
        var flat = new FlatJsonFormatter();
        var templates = Templates().Select(t => Parser.Parse(t)).ToArray();
        foreach (var value in Values())
        {
            foreach (var template in templates)
            {
                var e = new LogEvent(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(3)), LogEventLevel.Information, null, template,
                    [new LogEventProperty("V", new ScalarValue(value)), new LogEventProperty("0", new ScalarValue(value))]);
                for (var k = 0; k < 2; k++)
                {
                    var f = formatters[k];
                    string? expected = null;
                    try { expected = k == 0 ? SerilogReference.Compact(e) : SerilogReference.Rendered(e); }
                    catch (Exception ex) { expected = "THROWS " + ex.GetType().Name; }
                    for (var round = 0; round < 3; round++)
                    {
                        string text;
                        byte[] utf8;
                        try { text = Utf8.FormatText(f, e); utf8 = Utf8.FormatUtf8(f, e); }
                        catch (Exception ex) { failures.Add($"OURS THROWS {k} {value?.GetType().Name} {value} {template.Text}: {ex.GetType().Name} {ex.Message}"); break; }
                        if (!expected.StartsWith("THROWS") && text != expected) { failures.Add($"TEXT {k} r{round} {value?.GetType().Name} {value} {template.Text}\n  exp {expected}  got {text}"); break; }
                        if (!utf8.AsSpan().SequenceEqual(Utf8.Encode(text))) { failures.Add($"UTF8 {k} r{round} {value?.GetType().Name} {value} {template.Text}\n  txt {text}  u8  {System.Text.Encoding.UTF8.GetString(utf8)}"); break; }
                    }
                }
                try
                {
                    var ft = Utf8.FormatText(flat, e); var fu = Utf8.FormatUtf8(flat, e);
                    if (!fu.AsSpan().SequenceEqual(Utf8.Encode(ft))) failures.Add($"FLAT UTF8 {value} {template.Text}");
                    using (System.Text.Json.JsonDocument.Parse(fu)) { }
                }
                catch (Exception ex) { failures.Add($"FLAT THROWS {value} {template.Text}: {ex.GetType().Name} {ex.Message}"); }
            }
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(40)));
    }
}
