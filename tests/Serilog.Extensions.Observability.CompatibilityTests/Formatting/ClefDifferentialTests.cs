using System.Buffers;
using System.Globalization;
using System.Text;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Json;
using Ours = Serilog.Extensions.Observability.Formatting;
using Reference = Serilog.Formatting.Compact;

namespace Serilog.Extensions.Observability.CompatibilityTests.Formatting;

/// <summary>
/// Our CLEF formatters against Serilog.Formatting.Compact 3.0.0 on Serilog 4, for the same events
/// (<see cref="ClefCases"/>): the same text through a <see cref="TextWriter"/>, and through our UTF-8 path the same
/// bytes a UTF-8 <see cref="StreamWriter"/> holds after the reference wrote to it. Each event is formatted three times
/// by one instance of ours, so the lines written from its template and name caches are compared too.
/// </summary>
public class ClefDifferentialTests
{
    public static IEnumerable<string> CaseNames() => ClefCases.Names();

    [TestCaseSource(nameof(CaseNames))]
    public void CompactLinesAreTheReferences(string name) =>
        AssertSame(ClefCases.Named(name), Variant.Compact);

    [TestCaseSource(nameof(CaseNames))]
    public void RenderedLinesAreTheReferences(string name) =>
        AssertSame(ClefCases.Named(name), Variant.Rendered);

    [TestCaseSource(nameof(CaseNames))]
    public void CompactLinesWithAValueFormatterAreTheReferences(string name) =>
        AssertSame(ClefCases.Named(name), Variant.CompactWithValueFormatter);

    [TestCaseSource(nameof(CaseNames))]
    public void RenderedLinesWithAValueFormatterAreTheReferences(string name) =>
        AssertSame(ClefCases.Named(name), Variant.RenderedWithValueFormatter);

    /// <summary>
    /// Under cultures with a decimal comma, other date patterns, other calendars and other minus signs, every line is
    /// still the reference's: both write JSON numbers, dates and renderings in the invariant culture, and both write
    /// what Serilog writes through a value's plain <c>ToString()</c> (dictionary keys, <see cref="TimeSpan"/>,
    /// <see cref="Half"/>, ...) in the current one. The exceptions are the deliberate differences that
    /// <see cref="ClefDeliberateDifferenceTests"/> asserts exactly; here, those cases must differ and no other may.
    /// </summary>
    [TestCase("de-DE")]
    [TestCase("fr-FR")]
    [TestCase("tr-TR")]
    [TestCase("sv-SE")]
    [TestCase("ar-SA")]
    [TestCase("fa-IR")]
    [TestCase("th-TH")]
    public void UnderAnotherCultureEveryLineIsTheReferencesButTheDeliberateDifferences(string cultureName)
    {
        var culture = CultureInfo.GetCultureInfo(cultureName);
        var unexpected = new List<string>();
        var expectedButSame = new List<string>();
        UnderCulture(culture, () =>
        {
            foreach (var clefCase in ClefCases.All)
            {
                foreach (var variant in Enum.GetValues<Variant>())
                {
                    var outcome = Compare(clefCase, variant);
                    var expected = DiffersOnPurpose(clefCase.Name, variant, culture);
                    if (outcome is not null && !expected) unexpected.Add($"{variant} {clefCase.Name}: {outcome}");
                    if (outcome is null && expected) expectedButSame.Add($"{variant} {clefCase.Name}");
                }
            }
        });

        Assert.That(unexpected, Is.Empty, string.Join("\n", unexpected));
        Assert.That(expectedButSame, Is.Empty, "expected to differ (ClefDeliberateDifferenceTests), but the same");
    }

    /// <summary>Whether ours differs from the reference on purpose for this case under <paramref name="culture"/>.</summary>
    static bool DiffersOnPurpose(string caseName, Variant variant, CultureInfo culture)
    {
        var rendered = variant is Variant.Rendered or Variant.RenderedWithValueFormatter;
        var ownValueWriter = variant is Variant.Compact or Variant.Rendered;

        // A negative enum number in @r, @m and @l: the invariant '-' (ours) or the culture's sign (the runtime's).
        if (culture.NumberFormat.NegativeSign != "-" &&
            (caseName is "format-enum-d-negative" or "level-negative-by-hand" ||
             rendered && caseName is "scalar-enum-negative-undefined" or "dictionary-enum-keys"))
            return true;

        // A DateOnly JSON value: Gregorian (ours) or the culture's calendar (Serilog's JsonValueFormatter).
        if (culture.Calendar is not GregorianCalendar && ownValueWriter && caseName is "scalar-dateonly" or "format-dateonly-format")
            return true;

        return false;
    }

    /// <summary>A culture-sensitive case really does change under these cultures: the comparison above is not vacuous.</summary>
    [Test]
    public void TheCultureComparisonSeesCultureSensitiveText()
    {
        var clefCase = ClefCases.Named("dictionary-double-keys");
        string? invariant = null, german = null;
        UnderCulture(CultureInfo.InvariantCulture, () => invariant = FormatReference(new Reference.CompactJsonFormatter(), clefCase.Event));
        UnderCulture(CultureInfo.GetCultureInfo("de-DE"), () => german = FormatReference(new Reference.CompactJsonFormatter(), clefCase.Event));

        Assert.That(invariant, Does.Contain("\"1.5\":1"));
        Assert.That(german, Does.Contain("\"1,5\":1"));
    }

    /// <summary>The text path ends the line with the writer's own <see cref="TextWriter.NewLine"/>, as the reference does.</summary>
    [TestCase("\r\n")]
    [TestCase("\u2028")]
    public void TheWritersOwnNewLineEndsTheLine(string newLine)
    {
        foreach (var variant in Enum.GetValues<Variant>())
        {
            var (ours, reference) = Formatters(variant);
            var logEvent = ClefCases.Named("everything").Event;
            var ourText = new StringWriter { NewLine = newLine };
            var referenceText = new StringWriter { NewLine = newLine };
            UnderCulture(CultureInfo.InvariantCulture, () =>
            {
                ours.Format(logEvent, ourText);
                reference.Format(logEvent, referenceText);
            });

            Assert.That(ourText.ToString(), Is.EqualTo(referenceText.ToString()), variant.ToString());
            Assert.That(ourText.ToString(), Does.EndWith("}" + newLine), variant.ToString());
        }
    }

    /// <summary>The table reaches every CLEF member and rule, so the comparisons above cover them.</summary>
    [TestCase("scalar-int", "\"V\":42")]
    [TestCase("format-decimal-aligned-fixed", ",\"@r\":[\"      3.14\"]")]
    [TestCase("format-missing-property-by-hand", ",\"@r\":[\"{Missing,-5:000}\",\"{Gone:l}\"]")]
    [TestCase("level-Debug", ",\"@l\":\"Debug\"")]
    [TestCase("exception-thrown", ",\"@x\":\"System.InvalidOperationException: thrown\\n ---> System.ArgumentNullException")]
    [TestCase("trace-and-span-from-activity", ",\"@tr\":\"0af7651916cd43dd8448eb211c80319c\",\"@sp\":\"")]
    [TestCase("names-at-prefixed", ",\"@@x\":1")]
    [TestCase("names-at-prefixed", ",\"@@@y\":2")]
    [TestCase("template-empty", ",\"@mt\":\"\"}")]
    [TestCase("string-c0-controls", "\"\\u0000\\u0001")]
    public void TheTableReaches(string caseName, string fragment)
    {
        string? line = null;
        UnderCulture(CultureInfo.InvariantCulture, () => line = FormatReference(new Reference.CompactJsonFormatter(), ClefCases.Named(caseName).Event));

        Assert.That(line, Does.Contain(fragment));
    }

    public enum Variant
    {
        Compact,
        Rendered,
        CompactWithValueFormatter,
        RenderedWithValueFormatter,
    }

    /// <summary>Under the invariant culture whatever the machine's: the other cultures have a test of their own.</summary>
    static void AssertSame(ClefCase clefCase, Variant variant)
    {
        string? outcome = null;
        UnderCulture(CultureInfo.InvariantCulture, () => outcome = Compare(clefCase, variant));
        Assert.That(outcome, Is.Null, clefCase.Name);
    }

    static void UnderCulture(CultureInfo culture, Action action)
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = culture;
            action();
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    /// <summary>Null when ours writes the reference's text and bytes, else what differs.</summary>
    static string? Compare(ClefCase clefCase, Variant variant)
    {
        var (ours, reference) = Formatters(variant);
        var logEvent = clefCase.Event;

        string expectedText;
        byte[] expectedBytes;
        try
        {
            expectedText = FormatReference(reference, logEvent);
            expectedBytes = FormatReferenceUtf8(reference, logEvent);
        }
        catch (Exception ex)
        {
            return "the reference threw " + ex.GetType().Name + ": " + ex.Message;
        }

        for (var pass = 0; pass < 3; pass++)
        {
            var text = new StringWriter();
            ours.Format(logEvent, text);
            if (text.ToString() != expectedText)
                return $"text (pass {pass}):\n  ours:      {text}\n  reference: {expectedText}";

            var bytes = new ArrayBufferWriter<byte>();
            ours.Format(logEvent, bytes);
            if (!bytes.WrittenSpan.SequenceEqual(expectedBytes))
                return $"UTF-8 (pass {pass}):\n  ours:      {Convert.ToHexString(bytes.WrittenSpan)}\n  reference: {Convert.ToHexString(expectedBytes)}";
        }
        return null;
    }

    static (Ours.IUtf8Formatter Ours, ITextFormatter Reference) Formatters(Variant variant) => variant switch
    {
        Variant.Compact => (new Ours.CompactJsonFormatter(), new Reference.CompactJsonFormatter()),
        Variant.Rendered => (new Ours.RenderedCompactJsonFormatter(), new Reference.RenderedCompactJsonFormatter()),
        Variant.CompactWithValueFormatter => (new Ours.CompactJsonFormatter(new JsonValueFormatter("_tag")),
            new Reference.CompactJsonFormatter(new JsonValueFormatter("_tag"))),
        Variant.RenderedWithValueFormatter => (new Ours.RenderedCompactJsonFormatter(new JsonValueFormatter(null!)),
            new Reference.RenderedCompactJsonFormatter(new JsonValueFormatter(null!))),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    internal static string FormatReference(ITextFormatter formatter, LogEvent logEvent)
    {
        var output = new StringWriter();
        formatter.Format(logEvent, output);
        return output.ToString();
    }

    static byte[] FormatReferenceUtf8(ITextFormatter formatter, LogEvent logEvent)
    {
        var stream = new MemoryStream();
        using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true))
            formatter.Format(logEvent, writer);
        return stream.ToArray();
    }
}
