using System.Buffers;
using System.Diagnostics;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting.Tests;

public class CompactJsonFormatterTests
{
    sealed class ShoutingValueFormatter() : JsonValueFormatter(typeTagName: "kind")
    {
        protected override void FormatLiteralValue(object? value, TextWriter output) =>
            output.Write(value is string s ? "\"" + s.ToUpperInvariant() + "\"" : "0");
    }

    [Test]
    public void ALoneSurrogateReachesTheTextWriterUnchangedAsTheReferenceWritesIt()
    {
        var logEvent = GoldenEvents.Get("escaping-lone-surrogates");

        var text = Utf8.FormatText(new CompactJsonFormatter(), logEvent);

        Assert.That(text, Is.EqualTo(SerilogReference.Compact(logEvent)));
        Assert.That(text, Does.Contain("\"a\ud800b\""));
    }

    [TestCase(1)]
    [TestCase(127)]
    [TestCase(128)]
    [TestCase(129)]
    [TestCase(5000)]
    public void StringsOfEveryLengthEscapeAndEncodeIdenticallyOnBothPaths(int length)
    {
        const string alphabet = "a\"\\\n\u0001\u001f\u007fé日\ud83d\ude00\ud800\udc00z";
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = alphabet[(i * 7) % alphabet.Length];
        var logEvent = Some.LogEvent("{S}", properties: Some.Property("S", new string(chars)));

        foreach (var formatter in new IUtf8Formatter[] { new CompactJsonFormatter(), new RenderedCompactJsonFormatter(), new FlatJsonFormatter() })
        {
            var text = Utf8.FormatText(formatter, logEvent);
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)), formatter.GetType().Name);
        }
        Assert.That(Utf8.FormatText(new CompactJsonFormatter(), logEvent), Is.EqualTo(SerilogReference.Compact(logEvent)));
    }

    [Test]
    public void TheTextWriterPathEndsWithTheWritersOwnNewLine()
    {
        var writer = new StringWriter { NewLine = "\r\n" };

        new CompactJsonFormatter().Format(Some.LogEvent(), writer);

        Assert.That(writer.ToString(), Does.EndWith("}\r\n"));
    }

    [Test]
    public void ConsecutiveEventsAppendLineAfterLineOnTheUtf8Path()
    {
        var formatter = new CompactJsonFormatter();
        var buffer = new ArrayBufferWriter<byte>();
        var first = Some.LogEvent();
        var second = Some.LogEvent("Second {X}", properties: Some.Property("X", 1));

        formatter.Format(first, buffer);
        formatter.Format(second, buffer);

        Assert.That(buffer.WrittenSpan.ToArray(), Is.EqualTo(Utf8.FormatUtf8(formatter, first).Concat(Utf8.FormatUtf8(formatter, second)).ToArray()));
    }

    [Test]
    public void ACustomValueFormatterFormatsTheValuesOnBothPaths()
    {
        var formatter = new CompactJsonFormatter(new ShoutingValueFormatter());
        var logEvent = Some.LogEvent("Hi {Name} {N}", properties: [Some.Property("Name", "bob"), Some.Property("N", 5)]);

        var text = Utf8.FormatText(formatter, logEvent);

        Assert.That(text, Does.EndWith(",\"Name\":\"BOB\",\"N\":0}" + Environment.NewLine));
        Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)));
    }

    sealed class Unprintable
    {
        public override string ToString() => throw new InvalidOperationException("no text");
    }

    /// <summary>
    /// Serilog's <c>JsonValueFormatter</c> throws for a value whose <c>ToString()</c> throws; the sink reports the failure
    /// and goes on, so what the formatter had already written to the file would begin the next event's line.
    /// </summary>
    [Test]
    public void WhenACustomValueFormatterThrowsNothingOfTheLineReachesTheTextWriter()
    {
        var logEvent = Some.LogEvent("{A} {B}", properties: [Some.Property("A", 1), Some.Property("B", new Unprintable())]);

        foreach (var formatter in new IUtf8Formatter[] { new CompactJsonFormatter(new JsonValueFormatter("$type")), new RenderedCompactJsonFormatter(new JsonValueFormatter("$type")) })
        {
            var text = new StringWriter();
            var bytes = new ArrayBufferWriter<byte>();

            Assert.That(() => formatter.Format(logEvent, text), Throws.InvalidOperationException, formatter.GetType().Name);
            Assert.That(() => formatter.Format(logEvent, bytes), Throws.InvalidOperationException, formatter.GetType().Name);
            Assert.That(text.ToString(), Is.Empty, formatter.GetType().Name);
            Assert.That(bytes.WrittenCount, Is.Zero, formatter.GetType().Name);
        }
    }

    /// <summary>A custom value formatter writes through a writer with the output's format provider and new line.</summary>
    [Test]
    public void ACustomValueFormatterSeesTheOutputsFormatProviderAndNewLine()
    {
        var formatter = new CompactJsonFormatter(new ProviderEchoingValueFormatter());
        var logEvent = Some.LogEvent("{N}", properties: Some.Property("N", 1.5));
        var german = new StringWriter(System.Globalization.CultureInfo.GetCultureInfo("de-DE")) { NewLine = "\r\n" };
        var invariant = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };

        formatter.Format(logEvent, german);
        formatter.Format(logEvent, invariant);

        Assert.That(german.ToString(), Does.EndWith(",\"N\":\"1,5|\\r\\n\"}\r\n"));
        Assert.That(invariant.ToString(), Does.EndWith(",\"N\":\"1.5|\\n\"}\n"));
    }

    sealed class ProviderEchoingValueFormatter() : JsonValueFormatter(typeTagName: "$type")
    {
        protected override void FormatLiteralValue(object? value, TextWriter output)
        {
            output.Write('"');
            output.Write((double)value!);
            output.Write('|');
            output.Write(output.NewLine.Replace("\r", "\\r").Replace("\n", "\\n"));
            output.Write('"');
        }
    }

    [Test]
    public void AFormatStringTheValueRejectsWritesTheValueInsteadOfLosingTheEvent()
    {
        var logEvent = Some.LogEvent("{Count:l} {When:Q}", properties: [Some.Property("Count", 12), Some.Property("When", 3.5)]);

        Assert.That(() => SerilogReference.Compact(logEvent), Throws.TypeOf<FormatException>(), "the reference loses this event");
        var text = Utf8.FormatText(new CompactJsonFormatter(), logEvent);

        Assert.That(text, Does.Contain("\"@r\":[\"12\",\"3.5\"]"));
    }

    /// <summary>
    /// Serilog 3.1 already records the current activity's ids on each event (<c>LogEvent.TraceId</c>/<c>SpanId</c>), so
    /// <c>@tr</c> and <c>@sp</c> are written on the 3.1 line as on Serilog 4, and left out where no activity was current.
    /// </summary>
    [Test]
    public void TheTraceAndSpanIdsSerilogRecordedFromTheCurrentActivityAreWrittenAsTrAndSp()
    {
        Activity? activity = null;
        var traced = DelegatingSink.GetLogEvent(log =>
        {
            using (activity = new Activity("clef").SetIdFormat(ActivityIdFormat.W3C).Start())
                log.Information("Traced {N}", 1);
        });
        var untraced = DelegatingSink.GetLogEvent(log => log.Information("Untraced {N}", 1));
        var ids = ",\"@tr\":\"" + activity!.TraceId.ToHexString() + "\",\"@sp\":\"" + activity.SpanId.ToHexString() + "\",\"N\":1}";

        foreach (var formatter in new IUtf8Formatter[] { new CompactJsonFormatter(), new RenderedCompactJsonFormatter() })
        {
            var text = Utf8.FormatText(formatter, traced);
            Assert.That(text, Does.EndWith(ids + Environment.NewLine), formatter.GetType().Name);
            Assert.That(Utf8.FormatUtf8(formatter, traced), Is.EqualTo(Utf8.Encode(text)), formatter.GetType().Name);
            Assert.That(Utf8.FormatText(formatter, untraced), Does.Not.Contain("\"@tr\"").And.Not.Contain("\"@sp\""), formatter.GetType().Name);
        }
        Assert.That(Utf8.FormatText(new CompactJsonFormatter(), traced), Is.EqualTo(SerilogReference.Compact(traced)));
    }

    [Test]
    public void ExtendedLevelsOutsideTheEnumAreWrittenAsNumbers()
    {
        var text = Utf8.FormatText(new CompactJsonFormatter(), Some.LogEvent(level: (LogEventLevel)(-1)));

        Assert.That(text, Does.Contain(",\"@l\":\"-1\""));
    }

    [Test]
    public void NullArgumentsAreRejectedWithTheirNames()
    {
        var formatter = new CompactJsonFormatter();

        Assert.That(() => formatter.Format(null!, new StringWriter()), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("logEvent"));
        Assert.That(() => formatter.Format(Some.LogEvent(), (TextWriter)null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("output"));
        Assert.That(() => formatter.Format(Some.LogEvent(), (IBufferWriter<byte>)null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("output"));
    }

    [Test]
    public void EventsFromARealLoggerWithDestructuringMatchTheReference()
    {
        var logEvent = DelegatingSink.GetLogEvent(log => log
            .ForContext("Dict", new Dictionary<string, object?> { ["a"] = 1, ["b\""] = null, ["c"] = new[] { 1.5, double.NaN } }, destructureObjects: true)
            .Warning(new InvalidOperationException("boom\nline two"), "Order {@Order} at {Price:C} {$Sku,-8}",
                new { Id = 7, Lines = new[] { new { Sku = "A", Qty = 2 } }, When = new DateTime(2026, 1, 1) }, 12.5m, new Uri("https://x/y")));

        Assert.That(Utf8.FormatText(new CompactJsonFormatter(), logEvent), Is.EqualTo(SerilogReference.Compact(logEvent)));
        Assert.That(Utf8.FormatText(new RenderedCompactJsonFormatter(), logEvent), Is.EqualTo(SerilogReference.Rendered(logEvent)));
    }
}
