using System.Globalization;
using Serilog.Extensions.Observability.Formatting.Json;
using Serilog.Extensions.Observability.Formatting.Rendering;
using Serilog.Extensions.Observability.Formatting.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests.Rendering;

public class MessageRendererTests
{
    [Test]
    public void RenderingMatchesSerilogsOwnInvariantRenderingOnRandomEvents()
    {
        var events = new RandomEvents(seed: 3);
        var buffer = new CharBuilder(16);
        var compared = 0;

        for (var i = 0; i < 2000; i++)
        {
            var logEvent = events.Next();
            string expected;
            try
            {
                expected = logEvent.MessageTemplate.Render(logEvent.Properties, CultureInfo.InvariantCulture);
            }
            catch (FormatException)
            {
                continue;
            }

            buffer.Length = 0;
            MessageRenderer.Render(buffer, logEvent.MessageTemplate, logEvent.Properties);

            Assert.That(buffer.Written.ToString(), Is.EqualTo(expected), logEvent.MessageTemplate.Text);
            compared++;
        }

        Assert.That(compared, Is.GreaterThan(1000));
    }

    [TestCase("Hello, {Name}!", "Hello, \"World\"!")]
    [TestCase("{Name:l}", "World")]
    [TestCase("[{Name,8}]", "[ \"World\"]")]
    [TestCase("[{Name,-8:l}]", "[World   ]")]
    [TestCase("{Name,2}", "\"World\"")]
    [TestCase("{Missing,5:000}", "{Missing,5:000}")]
    [TestCase("{{Name}}", "{Name}")]
    public void TemplatesRenderAsSerilogRendersThem(string template, string expected)
    {
        var logEvent = Serilog.Extensions.Observability.Tests.Support.Some.LogEvent(template,
            properties: Serilog.Extensions.Observability.Tests.Support.Some.Property("Name", "World"));
        var buffer = new CharBuilder(4);

        MessageRenderer.Render(buffer, logEvent.MessageTemplate, logEvent.Properties);

        Assert.That(buffer.Written.ToString(), Is.EqualTo(expected));
        Assert.That(expected, Is.EqualTo(logEvent.MessageTemplate.Render(logEvent.Properties, CultureInfo.InvariantCulture)));
    }

    /// <summary>A scalar that renders itself (a masking or display wrapper): Serilog's renderer calls its override.</summary>
    sealed class Masked(object value) : Serilog.Events.ScalarValue(value)
    {
        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null) =>
            output.Write("*** (" + (format ?? "no format") + ")");
    }

    sealed class Bracketed(IEnumerable<Serilog.Events.LogEventPropertyValue> elements) : Serilog.Events.SequenceValue(elements)
    {
        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null) =>
            output.Write("<" + Elements.Count + " items>");
    }

    [TestCase("{Secret}")]
    [TestCase("{Secret:l} {Secret,-20} {Secret,20:x}")]
    [TestCase("{List} {List:0.00} {Nested}")]
    [TestCase("{Amount:0.00} {Amount:0} {Amount,8:0.00}")]
    public void AValueThatOverridesRenderIsRenderedByItsOverrideAsSerilogRendersIt(string template)
    {
        var logEvent = Serilog.Extensions.Observability.Tests.Support.Some.LogEvent(template, properties:
        [
            new Serilog.Events.LogEventProperty("Secret", new Masked("hunter2")),
            new Serilog.Events.LogEventProperty("List", new Bracketed([new Serilog.Events.ScalarValue(1), new Serilog.Events.ScalarValue(2)])),
            new Serilog.Events.LogEventProperty("Amount", new Masked(12.5m)),
            new Serilog.Events.LogEventProperty("Nested", new Serilog.Events.SequenceValue([new Masked("a"), new Bracketed([])])),
        ]);
        var buffer = new CharBuilder(4);

        MessageRenderer.Render(buffer, logEvent.MessageTemplate, logEvent.Properties);

        Assert.That(buffer.Written.ToString(), Is.EqualTo(logEvent.MessageTemplate.Render(logEvent.Properties, CultureInfo.InvariantCulture)));
        foreach (var formatter in new IUtf8Formatter[] { new CompactJsonFormatter(), new RenderedCompactJsonFormatter() })
        {
            var expected = formatter is CompactJsonFormatter ? SerilogReference.Compact(logEvent) : SerilogReference.Rendered(logEvent);
            Assert.That(Utf8.FormatText(formatter, logEvent), Is.EqualTo(expected));
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(expected)));
        }
    }

    /// <summary>Serilog renders a dictionary's keys with their own <c>Render</c> too, so a masked key stays masked.</summary>
    [TestCase("{Map}")]
    [TestCase("{Map:x} {Map,40}")]
    public void ADictionaryKeyThatOverridesRenderIsRenderedByItsOverrideAsSerilogRendersIt(string template)
    {
        var map = new Serilog.Events.DictionaryValue(
        [
            new KeyValuePair<Serilog.Events.ScalarValue, Serilog.Events.LogEventPropertyValue>(new Masked("hunter2"), new Serilog.Events.ScalarValue(1)),
            new KeyValuePair<Serilog.Events.ScalarValue, Serilog.Events.LogEventPropertyValue>(new Serilog.Events.ScalarValue("plain"), new Masked(2)),
        ]);
        var logEvent = Serilog.Extensions.Observability.Tests.Support.Some.LogEvent(template, properties: new Serilog.Events.LogEventProperty("Map", map));
        var buffer = new CharBuilder(4);

        MessageRenderer.Render(buffer, logEvent.MessageTemplate, logEvent.Properties);

        Assert.That(buffer.Written.ToString(), Is.EqualTo(logEvent.MessageTemplate.Render(logEvent.Properties, CultureInfo.InvariantCulture)));
        Assert.That(buffer.Written.ToString(), Does.Not.Contain("hunter2"));
        foreach (var formatter in new IUtf8Formatter[] { new CompactJsonFormatter(), new RenderedCompactJsonFormatter() })
        {
            var expected = formatter is CompactJsonFormatter ? SerilogReference.Compact(logEvent) : SerilogReference.Rendered(logEvent);
            Assert.That(Utf8.FormatText(formatter, logEvent), Is.EqualTo(expected));
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(expected)));
        }
    }

    sealed class RenderThrows : Serilog.Events.LogEventPropertyValue
    {
        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null)
        {
            output.Write("half");
            throw new InvalidOperationException("cannot render");
        }
    }

    [Test]
    public void AValueWhoseRenderThrowsIsRenderedAsAPlaceholderInsteadOfLosingTheEvent()
    {
        var logEvent = Serilog.Extensions.Observability.Tests.Support.Some.LogEvent("Got {V} {V:x}",
            properties: new Serilog.Events.LogEventProperty("V", new RenderThrows()));

        Assert.That(() => SerilogReference.Rendered(logEvent), Throws.InvalidOperationException, "the reference loses this event");
        foreach (var formatter in new IUtf8Formatter[] { new CompactJsonFormatter(), new RenderedCompactJsonFormatter(), new FlatJsonFormatter() })
        {
            var text = Utf8.FormatText(formatter, logEvent);
            Assert.That(text, Does.Contain("<RenderThrows.Render() failed>").And.Not.Contain("half"), formatter.GetType().Name);
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)), formatter.GetType().Name);
        }
    }

    [TestCase("", 0u)]
    [TestCase("a", 0xca2e9442u)]
    [TestCase("Hello, {Name}!", 0x3872171fu)]
    public void EventIdsAreJenkinsOneAtATimeOverUtf16(string template, uint expected)
    {
        Assert.That(EventIdHash.Compute(template), Is.EqualTo(expected));
    }
}
