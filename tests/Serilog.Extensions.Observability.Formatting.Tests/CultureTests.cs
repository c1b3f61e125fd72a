using System.Globalization;
using System.Numerics;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>
/// The formatting thread's culture: a decimal comma (de-DE), the Turkish i (tr-TR), other calendars and minus signs
/// (ar-SA, fa-IR, th-TH). JSON numbers, dates, <c>@r</c>, <c>@m</c> and <c>message</c> are written as under the invariant
/// culture; only what Serilog itself writes through a value's <c>ToString()</c> follows the current culture, as it does
/// in Serilog.
/// </summary>
public class CultureTests
{
    static readonly MessageTemplateParser Parser = new();

    /// <summary>Types Serilog's JsonValueFormatter writes with <c>ToString()</c>, i.e. in the current culture.</summary>
    static bool SerilogWritesWithToString(object? value) =>
        value is Half or BigInteger or Int128 or UInt128 or nint or nuint;

    [TestCase("de-DE")]
    [TestCase("tr-TR")]
    [TestCase("ar-SA")]
    [TestCase("fa-IR")]
    [TestCase("th-TH")]
    public void LinesAreTheInvariantCulturesAndTheReferencesUnderAnyCulture(string cultureName)
    {
        var formatters = new IUtf8Formatter[] { new CompactJsonFormatter(), new RenderedCompactJsonFormatter(), new FlatJsonFormatter() };
        var events = new List<(object? Value, LogEvent Event)>();
        foreach (var value in EdgeValueTests.Values())
        {
            foreach (var template in EdgeValueTests.Templates().Select(t => Parser.Parse(t)))
            {
                events.Add((value, new LogEvent(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(3)), LogEventLevel.Warning, null, template,
                    [new LogEventProperty("V", new ScalarValue(value)), new LogEventProperty("W", new ScalarValue(-1234.5))])));
            }
        }

        var previous = CultureInfo.CurrentCulture;
        List<string?[]> invariant;
        List<string?[]> cultured;
        List<string?[]> reference;
        try
        {
            // The baseline under the invariant culture whatever the machine's (LANG=de_DE.UTF-8 makes the process de-DE).
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            invariant = Format(CultureInfo.CurrentCulture, formatters, events, reference: false);
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(cultureName);
            cultured = Format(CultureInfo.CurrentCulture, formatters, events, reference: false);
            reference = Format(CultureInfo.CurrentCulture, formatters, events, reference: true);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        var failures = new List<string>();
        for (var i = 0; i < events.Count; i++)
        {
            var (value, logEvent) = events[i];
            for (var k = 0; k < formatters.Length; k++)
            {
                var ours = cultured[i][k];
                if (!SerilogWritesWithToString(value) && ours != invariant[i][k])
                    failures.Add($"{formatters[k].GetType().Name} {value?.GetType().Name} {logEvent.MessageTemplate.Text}\n  invariant {invariant[i][k]}  {cultureName} {ours}");
                // Serilog 3.1.1 writes a DateOnly in the current culture's calendar ("1405-09-01" under fa-IR); these
                // formatters keep ISO 8601 dates, checked above.
                if (k < 2 && value is not DateOnly && reference[i][k] is { } expected && ours != expected)
                    failures.Add($"{formatters[k].GetType().Name} {value?.GetType().Name} {logEvent.MessageTemplate.Text}\n  reference {expected}  ours {ours}");
            }
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }

    [TestCase("de-DE")]
    [TestCase("ar-SA")]
    public void RenderingsUseTheInvariantCultureWhateverTheThreadsCulture(string cultureName)
    {
        var logEvent = new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero), LogEventLevel.Information, null,
            Parser.Parse("Paid {Total:0.00} on {Day:d} in {Elapsed:0.0} ms"),
            [new LogEventProperty("Total", new ScalarValue(1234.5m)), new LogEventProperty("Day", new ScalarValue(new DateTime(2026, 11, 22))),
             new LogEventProperty("Elapsed", new ScalarValue(12.25))]);

        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(cultureName);
        try
        {
            Assert.That(Utf8.FormatText(new CompactJsonFormatter(), logEvent), Does.Contain("\"@r\":[\"1234.50\",\"11/22/2026\",\"12.3\"],\"Total\":1234.5,\"Day\":\"2026-11-22T00:00:00.0000000\",\"Elapsed\":12.25}"));
            Assert.That(Utf8.FormatText(new RenderedCompactJsonFormatter(), logEvent), Does.Contain("\"@m\":\"Paid 1234.50 on 11/22/2026 in 12.3 ms\""));
            Assert.That(Utf8.DecodeStrict(Utf8.FormatUtf8(new FlatJsonFormatter(), logEvent)), Does.Contain("\"message\":\"Paid 1234.50 on 11/22/2026 in 12.3 ms\""));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [TestCase("de-DE", "@r", "11/22/2026 00:00:00")]
    [TestCase("th-TH", "@r", "11/22/2026 00:00:00")]
    [TestCase("fa-IR", "@m", "Due 11/22/2026 00:00:00")]
    public void AFormatTheValueRejectsIsRenderedAsTheValueInTheInvariantCulture(string cultureName, string member, string expected)
    {
        // "0" is no date format: Serilog throws and loses the event; these formatters render the value without it.
        var logEvent = new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero), LogEventLevel.Information, null,
            Parser.Parse("Due {Due:0}"), [new LogEventProperty("Due", new ScalarValue(new DateTime(2026, 11, 22)))]);
        IUtf8Formatter formatter = member == "@r" ? new CompactJsonFormatter() : new RenderedCompactJsonFormatter();

        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(cultureName);
        string text;
        byte[] utf8;
        try
        {
            text = Utf8.FormatText(formatter, logEvent);
            utf8 = Utf8.FormatUtf8(formatter, logEvent);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        var json = member == "@r" ? "\"@r\":[\"" + expected + "\"]" : "\"@m\":\"" + expected + "\"";
        Assert.That(text, Does.Contain(json));
        Assert.That(Utf8.DecodeStrict(utf8), Is.EqualTo(text));
    }

    [TestCase("ar-SA")]
    [TestCase("fa-IR")]
    [TestCase("sv-SE")]
    public void AnEnumValueThatNamesNoMemberIsRenderedWithTheInvariantMinusSign(string cultureName)
    {
        // The runtime formats such a value as its number with the current culture whatever the provider is given
        // ("\u061c-1" under ar-SA, "\u2212" under sv-SE). Its JSON value is Serilog's, its ToString(), as the README says.
        var logEvent = new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero), LogEventLevel.Information, null,
            Parser.Parse("On {Day} {Day:D} {Day,4:G} {Attributes:F} {Days}"),
            [new LogEventProperty("Day", new ScalarValue((DayOfWeek)(-1))), new LogEventProperty("Attributes", new ScalarValue((FileAttributes)int.MinValue)),
             new LogEventProperty("Days", new SequenceValue([new ScalarValue((DayOfWeek)(-2)), new ScalarValue(DayOfWeek.Monday)]))]);

        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(cultureName);
        try
        {
            var compact = Utf8.FormatText(new CompactJsonFormatter(), logEvent);
            Assert.That(compact, Does.Contain("\"@r\":[\"-1\",\"  -1\",\"-2147483648\"]"));
            Assert.That(compact, Does.EndWith(",\"Day\":\"" + (DayOfWeek)(-1) + "\",\"Attributes\":\"" + (FileAttributes)int.MinValue + "\",\"Days\":[\"" + (DayOfWeek)(-2) + "\",\"Monday\"]}" + Environment.NewLine));
            Assert.That(Utf8.FormatText(new RenderedCompactJsonFormatter(), logEvent), Does.Contain("\"@m\":\"On -1 -1   -1 -2147483648 [-2, Monday]\""));
            Assert.That(Utf8.DecodeStrict(Utf8.FormatUtf8(new FlatJsonFormatter(), logEvent)), Does.Contain("\"message\":\"On -1 -1   -1 -2147483648 [-2, Monday]\""));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    static List<string?[]> Format(CultureInfo culture, IUtf8Formatter[] formatters, List<(object? Value, LogEvent Event)> events, bool reference)
    {
        Assert.That(CultureInfo.CurrentCulture.Name, Is.EqualTo(culture.Name));
        var lines = new List<string?[]>(events.Count);
        foreach (var (_, logEvent) in events)
        {
            var line = new string?[formatters.Length];
            for (var k = 0; k < formatters.Length; k++)
            {
                try
                {
                    if (reference)
                    {
                        line[k] = k switch { 0 => SerilogReference.Compact(logEvent), 1 => SerilogReference.Rendered(logEvent), _ => null };
                        continue;
                    }
                    var text = Utf8.FormatText(formatters[k], logEvent);
                    Assert.That(Utf8.FormatUtf8(formatters[k], logEvent), Is.EqualTo(Utf8.Encode(text)));
                    line[k] = text;
                }
                catch (Exception) when (reference)
                {
                    // Serilog throws where these formatters keep the event (FormattingRobustnessTests), and under ar-SA
                    // for a DateOnly outside the Um Al Qura calendar's range.
                    line[k] = null;
                }
            }
            lines.Add(line);
        }
        return lines;
    }
}
