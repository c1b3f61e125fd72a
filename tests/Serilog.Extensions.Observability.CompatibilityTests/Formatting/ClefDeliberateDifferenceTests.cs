using System.Buffers;
using System.Globalization;
using System.Text;
using Serilog.Events;
using Serilog.Parsing;
using Ours = Serilog.Extensions.Observability.Formatting;
using Reference = Serilog.Formatting.Compact;

namespace Serilog.Extensions.Observability.CompatibilityTests.Formatting;

/// <summary>
/// Where our CLEF differs from Serilog.Formatting.Compact 3.0.0 on purpose, each difference asserted exactly on both
/// sides, so that a change on either side shows up here. None is a change that Compact 3.0 made to 2.0's output (our
/// written contract): each is one our formatters chose (their README's "Notes"). Everything else is byte for byte the
/// same (<see cref="ClefDifferentialTests"/>).
/// </summary>
public class ClefDeliberateDifferenceTests
{
    static readonly MessageTemplateParser Parser = new();

    /// <summary>
    /// The runtime writes a negative enum number (a value that names no member, or one formatted <c>D</c>) with the
    /// thread's negative sign whatever the provider. Serilog's renderings and Compact's <c>@l</c> therefore follow the
    /// culture (U+2212 under sv-SE, U+061C then '-' under ar-SA); ours write '-', as every other rendering is
    /// invariant. The JSON property value is the value's <c>ToString()</c> on both sides, culture and all.
    /// </summary>
    [TestCase("sv-SE", "\u2212")]
    [TestCase("ar-SA", "\u061C-")]
    public void ANegativeEnumNumberIsRenderedWithTheInvariantMinusSign(string cultureName, string cultureSign)
    {
        var logEvent = new LogEvent(ClefCases.Timestamp, (LogEventLevel)(-1), null, Parser.Parse("{Day} {Day:D}"),
            [new LogEventProperty("Day", new ScalarValue((DayOfWeek)(-3)))]);

        var (oursCompact, referenceCompact) = UnderCulture(cultureName, () =>
            (Format(new Ours.CompactJsonFormatter(), logEvent), ClefDifferentialTests.FormatReference(new Reference.CompactJsonFormatter(), logEvent)));
        var (oursRendered, referenceRendered) = UnderCulture(cultureName, () =>
            (Format(new Ours.RenderedCompactJsonFormatter(), logEvent), ClefDifferentialTests.FormatReference(new Reference.RenderedCompactJsonFormatter(), logEvent)));

        var value = ",\"Day\":\"" + cultureSign + "3\"}" + Environment.NewLine;
        Assert.That(oursCompact, Is.EqualTo("{\"@t\":\"2026-11-22T08:30:15.1234567Z\",\"@mt\":\"{Day} {Day:D}\",\"@r\":[\"-3\"],\"@l\":\"-1\"" + value));
        Assert.That(referenceCompact, Is.EqualTo("{\"@t\":\"2026-11-22T08:30:15.1234567Z\",\"@mt\":\"{Day} {Day:D}\",\"@r\":[\"" + cultureSign + "3\"],\"@l\":\"" + cultureSign + "1\"" + value));
        Assert.That(oursRendered, Is.EqualTo("{\"@t\":\"2026-11-22T08:30:15.1234567Z\",\"@m\":\"-3 -3\",\"@i\":\"9f137026\",\"@l\":\"-1\"" + value));
        Assert.That(referenceRendered, Is.EqualTo("{\"@t\":\"2026-11-22T08:30:15.1234567Z\",\"@m\":\"" + cultureSign + "3 " + cultureSign + "3\",\"@i\":\"9f137026\",\"@l\":\"" + cultureSign + "1\"" + value));
    }

    /// <summary>
    /// A <see cref="DateOnly"/> value: ours always <c>yyyy-MM-dd</c> in the Gregorian calendar; Serilog 4.4's
    /// JsonValueFormatter (as 3.1.1's) in the current culture's calendar. Under a Gregorian culture both are the same.
    /// </summary>
    [TestCase("th-TH", "2569-11-22")]
    [TestCase("fa-IR", "1405-09-01")]
    [TestCase("de-DE", "2026-11-22")]
    public void ADateOnlyIsWrittenInTheGregorianCalendar(string cultureName, string referenceDate)
    {
        var logEvent = new LogEvent(ClefCases.Timestamp, LogEventLevel.Information, null, Parser.Parse("{Due}"),
            [new LogEventProperty("Due", new ScalarValue(new DateOnly(2026, 11, 22)))]);

        var (ours, reference) = UnderCulture(cultureName, () =>
            (Format(new Ours.CompactJsonFormatter(), logEvent), ClefDifferentialTests.FormatReference(new Reference.CompactJsonFormatter(), logEvent)));

        Assert.That(ours, Does.EndWith(",\"Due\":\"2026-11-22\"}" + Environment.NewLine));
        Assert.That(reference, Does.EndWith(",\"Due\":\"" + referenceDate + "\"}" + Environment.NewLine));
    }

    /// <summary>
    /// Where Compact 3.0 throws and the event is lost (a format string the value rejects, a <c>ToString()</c> that
    /// throws, an exception whose <c>ToString()</c> throws), ours writes the line: the value without the format
    /// (invariant), or a placeholder.
    /// </summary>
    [TestCase("format-rejected-by-an-integer", "{Count:l}", typeof(FormatException), "\"@r\":[\"42\"]")]
    [TestCase("format-rejected-by-a-date", "{Due:0}", typeof(FormatException), "\"@r\":[\"11/22/2026 00:00:00\"]")]
    [TestCase("to-string-throws", "{Thing}", typeof(InvalidOperationException), "\"Thing\":\"<Throwing.ToString() failed>\"")]
    [TestCase("exception-to-string-throws", "Failed", typeof(InvalidOperationException), "\"@x\":\"")]
    [NonParallelizable]
    public void WhereTheReferenceThrowsOursWritesTheEvent(string name, string template, Type thrown, string expected)
    {
        var exception = name == "exception-to-string-throws" ? new ThrowingException() : null;
        var logEvent = new LogEvent(ClefCases.Timestamp, LogEventLevel.Information, exception, Parser.Parse(template),
        [
            new LogEventProperty("Count", new ScalarValue(42)),
            new LogEventProperty("Due", new ScalarValue(new DateTime(2026, 11, 22))),
            new LogEventProperty("Thing", new ScalarValue(new Throwing())),
        ]);

        Assert.That(() => ClefDifferentialTests.FormatReference(new Reference.CompactJsonFormatter(), logEvent), Throws.TypeOf(thrown));
        Assert.That(() => ClefDifferentialTests.FormatReference(new Reference.RenderedCompactJsonFormatter(), logEvent), Throws.TypeOf(thrown));

        var compact = Format(new Ours.CompactJsonFormatter(), logEvent);
        Assert.That(compact, Does.Contain(expected));
        Assert.That(Format(new Ours.RenderedCompactJsonFormatter(), logEvent), Does.StartWith("{\"@t\":\"2026-11-22T08:30:15.1234567Z\",\"@m\":"));
        if (exception is not null)
            Assert.That(compact, Does.Contain("<ThrowingException.ToString() failed>"));
    }

    /// <summary>The line through both of our paths, which must agree.</summary>
    static string Format(Ours.IUtf8Formatter formatter, LogEvent logEvent)
    {
        var text = new StringWriter();
        formatter.Format(logEvent, text);
        var bytes = new ArrayBufferWriter<byte>();
        formatter.Format(logEvent, bytes);
        Assert.That(bytes.WrittenSpan.ToArray(), Is.EqualTo(new UTF8Encoding(false).GetBytes(text.ToString())), "the UTF-8 path");
        return text.ToString();
    }

    static T UnderCulture<T>(string cultureName, Func<T> action)
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(cultureName);
            return action();
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    sealed class Throwing
    {
        public override string ToString() => throw new InvalidOperationException("no text");
    }

    sealed class ThrowingException() : Exception("message")
    {
        public override string ToString() => throw new InvalidOperationException("no text");
    }
}
