using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// JSON inside prose (an error message quoting a request body) is masked by key like JSON text on its own: the prose
/// is kept, and JSON that cannot be read fails closed from the sensitive key's value on.
/// </summary>
public class JsonInProseLeakTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static readonly string[] Bodies =
    [
        "request failed: {\"password\":\"prose-secret-1\",\"user\":\"ann-visible\"}",
        "POST /login {\"user\":\"ann-visible\",\"token\":\"prose-secret-2\"} returned 400",
        "[ERROR] body=[{\"user\":\"ann-visible\",\"api_key\":\"prose-secret-3\"}] (retry 2)",
        "first {\"user\":\"ann-visible\"} then {\"client_secret\" : \"prose-secret-4\"}.",
    ];

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonInsideProseIsMaskedByKey(Route route, Pieces pieces)
    {
        foreach (var body in Bodies)
        {
            var text = Output.Render(Routes.Write(route, "Error", body, pieces));
            Assert.That(text, Does.Not.Contain("prose-secret"), body);
            Assert.That(text, Does.Contain("ann-visible").And.Contain(Mask), body);
        }
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonInsideProseIsMaskedByKeyWithTheDetectorsOn(Route route, Pieces pieces)
    {
        foreach (var body in Bodies)
        {
            var text = Output.Render(Routes.Write(route, "Error", body, pieces, o => o.DetectEmailAddresses = true));
            Assert.That(text, Does.Not.Contain("prose-secret"), body);
        }
    }

    [Test]
    public void TheProseAroundTheJsonIsKept()
    {
        var logEvent = Routes.Write(Route.MessageArgument, "Error", Bodies[1], Pieces.Sink).Single();
        Assert.That(((ScalarValue)logEvent.Properties["Error"]).Value,
            Is.EqualTo("POST /login {\"user\":\"ann-visible\",\"token\":\"" + Mask + "\"} returned 400"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void UnreadableJsonInsideProseFailsClosedFromTheSensitiveKey(Route route, Pieces pieces)
    {
        foreach (var body in new[]
                 {
                     "failed: {\"user\":\"ann-visible\",\"password\":\"prose-secret-5\", oops",
                     "failed: {\"user\":\"ann-visible\",\"password\": prose-secret-6} (400)",
                     "failed: {\"user\":\"ann-visible\",\"data\":{\"token\":\"prose-secret-7\u2026",
                 })
        {
            var events = Routes.Write(route, "Error", body, pieces);
            var text = Output.Render(events);
            Assert.That(text, Does.Not.Contain("prose-secret"), body);
            Assert.That(text, Does.Contain("failed: {").And.Contain("ann-visible"), body);
        }
    }

    [Test]
    public void ProseWithJsonThatNamesNoSecretIsKeptAsItIs()
    {
        foreach (var body in new[] { "got {\"user\":\"ann\",\"token_count\":3} back", "list [1, 2] and {x} and {\"a\": \"b\"} ok", "[INFO] {user} signed in: ok" })
        {
            var logEvent = Routes.Write(Route.MessageArgument, "Note", body, Pieces.All).Single();
            Assert.That(((ScalarValue)logEvent.Properties["Note"]).Value, Is.EqualTo(body));
        }
    }
}
