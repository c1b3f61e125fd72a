using System.Text.Json;
using Serilog.Extensions.Observability.Formatting.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>
/// Thousands of random events: the TextWriter path equals, char for char, what Serilog.Formatting.Compact 2.0's rules
/// produce on Serilog 3.1.1's own JsonValueFormatter and renderer; the UTF-8 path equals the text encoded as UTF-8.
/// </summary>
public class ReferenceComparisonTests
{
    const int EventCount = 3000;

    [TestCase("compact")]
    [TestCase("rendered")]
    public void RandomEventsMatchTheReferenceOnBothPaths(string formatterName)
    {
        var formatter = GoldenCase.CreateFormatter(formatterName);
        var events = new RandomEvents(seed: formatterName.Length);
        var compared = 0;

        for (var i = 0; i < EventCount; i++)
        {
            var logEvent = events.Next();
            string expected;
            try
            {
                expected = formatterName == "compact" ? SerilogReference.Compact(logEvent) : SerilogReference.Rendered(logEvent);
            }
            catch (FormatException)
            {
                // The reference loses this event (a format string the value rejects); ours must still write valid JSON.
                using (JsonDocument.Parse(Utf8.FormatUtf8(formatter, logEvent))) { }
                continue;
            }

            var text = Utf8.FormatText(formatter, logEvent);
            Assert.That(text, Is.EqualTo(expected), $"event {i}: {logEvent.MessageTemplate.Text}");
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)), $"event {i}");
            compared++;
        }

        Assert.That(compared, Is.GreaterThan(EventCount / 2), "Too few events were comparable with the reference.");
    }

    [TestCase("flat")]
    [TestCase("flat-short")]
    [TestCase("flat-raw")]
    public void RandomFlatEventsAreValidJsonOnOneLineAndIdenticalOnBothPaths(string formatterName)
    {
        var formatter = GoldenCase.CreateFormatter(formatterName);
        var events = new RandomEvents(seed: 7);

        for (var i = 0; i < EventCount / 3; i++)
        {
            var logEvent = events.Next();
            var utf8 = Utf8.FormatUtf8(formatter, logEvent);
            Assert.That(utf8, Is.EqualTo(Utf8.Encode(Utf8.FormatText(formatter, logEvent))), $"event {i}");

            var line = utf8.AsSpan(0, utf8.Length - Environment.NewLine.Length);
            Assert.That(line.IndexOf((byte)'\n'), Is.EqualTo(-1));
            using var document = JsonDocument.Parse(line.ToArray());
            Assert.That(document.RootElement.GetProperty("message_template").GetString(), Is.Not.Null);
        }
    }
}
