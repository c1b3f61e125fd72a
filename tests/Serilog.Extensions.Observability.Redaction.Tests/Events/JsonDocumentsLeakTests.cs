using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// JSON text that holds more than one document (newline-delimited JSON, a bulk request body) or starts with a UTF-8
/// byte-order mark: every document is masked by key, not only the first.
/// </summary>
public class JsonDocumentsLeakTests
{
    const string Mask = RedactionOptions.DefaultMask;

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void EveryDocumentOfNewlineDelimitedJsonIsMaskedByKey(Route route, Pieces pieces)
    {
        const string body = "{\"a\":\"first-visible\"}\n{\"password\":\"ndjson-secret-1\"}\r\n{\"user\":\"ann-visible\",\"items\":[{\"api_key\":\"ndjson-secret-2\"}]}\n";
        var text = Output.Render(Routes.Write(route, "Body", body, pieces));
        Assert.That(text, Does.Not.Contain("ndjson-secret"));
        Assert.That(text, Does.Contain("first-visible").And.Contain("ann-visible").And.Contain(Mask));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void NewlineDelimitedJsonWhoseLastDocumentIsAScalarIsMaskedByKey(Route route, Pieces pieces)
    {
        // The string ends in a digit or a quote, not a bracket.
        foreach (var body in new[] { "{\"a\":1}\n{\"password\":\"scalar-last-secret-1\"}\n42", "{\"token\":\"scalar-last-secret-2\"}\n\"done\"", "[{\"api_key\":\"scalar-last-secret-3\"}]\ntrue" })
        {
            var text = Output.Render(Routes.Write(route, "Body", body, pieces));
            Assert.That(text, Does.Not.Contain("scalar-last-secret"), body);
            Assert.That(text, Does.Contain(Mask), body);
        }
    }

    [Test]
    public void NewlineDelimitedJsonWhoseLastDocumentIsAScalarKeepsItsOtherDocuments()
    {
        var events = Routes.Write(Route.MessageArgument, "Body", "{\"a\":1}\n{\"password\":\"x-secret\"}\n42", Pieces.Sink);
        Assert.That(((ScalarValue)events.Single().Properties["Body"]).Value, Is.EqualTo("{\"a\":1}\n{\"password\":\"" + Mask + "\"}\n42"));
    }

    [Test]
    public void NewlineDelimitedJsonKeepsOneDocumentPerLine()
    {
        const string body = "{\"index\":{\"_id\":\"1\"}}\n{\"user\":\"ann\",\"password\":\"bulk-secret-3\"}\n[1,2]";
        var events = Routes.Write(Route.MessageArgument, "Body", body, Pieces.Sink);
        var value = ((ScalarValue)events.Single().Properties["Body"]).Value;
        Assert.That(value, Is.EqualTo("{\"index\":{\"_id\":\"1\"}}\n{\"user\":\"ann\",\"password\":\"" + Mask + "\"}\n[1,2]"));
    }

    [Test]
    public void DocumentsOnOneLineAfterAnEmptyOneAreMaskedByKeyToo()
    {
        var text = Output.Render(Routes.Write(Route.MessageArgument, "Body", "{}{\"password\":\"same-line-secret-9\"} [{\"token\":\"same-line-secret-10\"}]", Pieces.Sink));
        Assert.That(text, Does.Not.Contain("same-line-secret"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonTextStartingWithAByteOrderMarkIsMaskedByKey(Route route, Pieces pieces)
    {
        const string body = "\uFEFF{\"user\":\"ann-visible\",\"password\":\"bom-secret-4\"}";
        var text = Output.Render(Routes.Write(route, "Body", body, pieces));
        Assert.That(text, Does.Not.Contain("bom-secret-4"));
        Assert.That(text, Does.Contain("ann-visible").And.Contain(Mask));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void NewlineDelimitedJsonStartingWithAByteOrderMarkIsMaskedByKey(Route route, Pieces pieces)
    {
        const string body = "\uFEFF{\"a\":1}\n{\"client_secret\":\"bom-secret-5\"}";
        var text = Output.Render(Routes.Write(route, "Body", body, pieces));
        Assert.That(text, Does.Not.Contain("bom-secret-5"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void NewlineDelimitedJsonWhoseLaterDocumentIsCutOrInvalidFailsClosed(Route route, Pieces pieces)
    {
        var cut = "{\"a\":1}\n{\"user\":\"ann\",\"password\":\"cut-ndjson-secret-6\",\"data\":\"" + new string('d', 300) + "\"}";
        var invalid = "{\"a\":1}\n{\"password\":\"bad-ndjson-secret-7\"}\n{not json}";
        var asCut = Output.Render(Routes.Write(route, "Body", cut, pieces, extra: c => c.Destructure.ToMaximumStringLength(100)));
        var asInvalid = Output.Render(Routes.Write(route, "Body", invalid, pieces));
        Assert.That(asCut, Does.Not.Contain("cut-ndjson-secret-6"));
        Assert.That(asInvalid, Does.Not.Contain("bad-ndjson-secret-7"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void NewlineDelimitedJsonWithNothingToMaskIsWrittenAsItIs(Route route, Pieces pieces)
    {
        const string body = "{\"a\":\"one-visible\"}\n{\"token_count\":2}\n";
        var expected = Output.Render(Routes.Write(route, "Body", body, Pieces.None));
        var text = Output.Render(Routes.Write(route, "Body", body, pieces));
        Assert.That(text, Does.Not.Contain(Mask));
        Assert.That(text, Does.Contain("{\\\"a\\\":\\\"one-visible\\\"}\\n{\\\"token_count\\\":2}\\n"));
        Assert.That(expected, Does.Contain("{\\\"a\\\":\\\"one-visible\\\"}\\n{\\\"token_count\\\":2}\\n"));
    }

    [Test]
    public void NewlineDelimitedJsonLongerThanTheJsonLimitIsNotParsed()
    {
        var body = "{\"a\":1}\n{\"password\":\"over-limit-secret-8\"}";
        var text = Output.Render(Routes.Write(Route.MessageArgument, "Body", body, Pieces.Sink, o => o.MaximumJsonLength = body.Length - 1));
        Assert.That(text, Does.Contain("over-limit-secret-8"));
    }
}
