using System.Text.Json;
using Serilog.Extensions.Observability.Formatting.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>Every line in Cases/*.txt, through both output paths, against the hand-written expectation.</summary>
public class GoldenCaseTests
{
    static IEnumerable<TestCaseData> Cases() =>
        GoldenCase.Load().Select(c => new TestCaseData(c).SetArgDisplayNames(c.ToString()));

    [TestCaseSource(nameof(Cases))]
    public void TheUtf8PathWritesExactlyTheGoldenLine(GoldenCase golden)
    {
        var actual = Utf8.FormatUtf8(GoldenCase.CreateFormatter(golden.FormatterName), GoldenEvents.Get(golden.Name));

        Assert.That(Utf8.DecodeStrict(actual), Is.EqualTo(Utf8.DecodeStrict(Utf8.WithNewLine(golden.ExpectedUtf8))));
        Assert.That(actual, Is.EqualTo(Utf8.WithNewLine(golden.ExpectedUtf8)));
    }

    [TestCaseSource(nameof(Cases))]
    public void TheTextWriterPathEncodedAsUtf8WritesExactlyTheGoldenLine(GoldenCase golden)
    {
        var text = Utf8.FormatText(GoldenCase.CreateFormatter(golden.FormatterName), GoldenEvents.Get(golden.Name));

        Assert.That(Utf8.Encode(text), Is.EqualTo(Utf8.WithNewLine(golden.ExpectedUtf8)));
    }

    [TestCaseSource(nameof(Cases))]
    public void TheGoldenLineIsOneValidJsonObject(GoldenCase golden)
    {
        using var document = JsonDocument.Parse(golden.ExpectedUtf8);

        Assert.That(document.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object));
        Assert.That(golden.ExpectedUtf8, Does.Not.Contain((byte)'\n'));
    }

    // Flat JSON has no reference implementation; CLEF lines are also checked against Serilog's own pieces.
    static IEnumerable<TestCaseData> ClefCases() =>
        GoldenCase.Load().Where(c => c.FormatterName is "compact" or "rendered")
            .Select(c => new TestCaseData(c).SetArgDisplayNames(c.ToString()));

    [TestCaseSource(nameof(ClefCases))]
    public void TheClefGoldenLineIsWhatSerilogsOwnBuildingBlocksWrite(GoldenCase golden)
    {
        var logEvent = GoldenEvents.Get(golden.Name);
        var reference = golden.FormatterName == "compact" ? SerilogReference.Compact(logEvent) : SerilogReference.Rendered(logEvent);

        Assert.That(Utf8.Encode(reference), Is.EqualTo(Utf8.WithNewLine(golden.ExpectedUtf8)));
    }

    [Test]
    public void EveryGoldenEventHasAFileWithCompactRenderedAndFlatLines()
    {
        var loaded = GoldenCase.Load().ToList();

        Assert.That(loaded.Select(c => c.Name).Distinct(), Is.EquivalentTo(GoldenEvents.All.Keys));
        foreach (var name in GoldenEvents.All.Keys)
        {
            var formatters = loaded.Where(c => c.Name == name).Select(c => c.FormatterName).ToList();
            Assert.That(formatters, Does.Contain("compact").And.Contain("rendered"), name);
            Assert.That(formatters.Any(f => f.StartsWith("flat", StringComparison.Ordinal)), Is.True, name);
        }
    }
}
