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

    [TestCase("", 0u)]
    [TestCase("a", 0xca2e9442u)]
    [TestCase("Hello, {Name}!", 0x3872171fu)]
    public void EventIdsAreJenkinsOneAtATimeOverUtf16(string template, uint expected)
    {
        Assert.That(EventIdHash.Compute(template), Is.EqualTo(expected));
    }
}
