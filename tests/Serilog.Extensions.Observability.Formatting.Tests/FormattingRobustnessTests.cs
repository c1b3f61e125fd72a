using System.Buffers;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>Hostile values, re-entrancy, threads and the zero-allocation promise of the UTF-8 path.</summary>
public class FormattingRobustnessTests
{
    static readonly IUtf8Formatter[] Formatters = [new CompactJsonFormatter(), new RenderedCompactJsonFormatter(), new FlatJsonFormatter()];

    sealed class Throwing
    {
        public override string ToString() => throw new InvalidOperationException("no text for you");
    }

    sealed class Reentrant(IUtf8Formatter formatter)
    {
        public override string ToString()
        {
            // Formats another event on the same thread while the outer event is half written.
            var inner = Utf8.FormatText(formatter, Some.LogEvent("inner {X}", properties: Some.Property("X", "in")));
            return "reentered:" + inner.Length;
        }
    }

    [Test]
    [NonParallelizable]
    public void AValueWhoseToStringThrowsYieldsAPlaceholderAndASelfLogLine()
    {
        var selfLog = new List<string>();
        var logEvent = Some.LogEvent("Value {V}", properties: Some.Property("V", new Throwing()));
        ResetReports();

        using (TemporarySelfLog.SaveTo(selfLog))
        {
            foreach (var formatter in Formatters)
            {
                var text = Utf8.FormatText(formatter, logEvent);
                Assert.That(text, Does.Contain("<Throwing.ToString() failed>"), formatter.GetType().Name);
                Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)));
            }
        }

        Assert.That(selfLog, Has.Some.Contains("no text for you"));
    }

    /// <summary>A value type with a working <c>ToString(format, provider)</c> whose span formatting is a stub.</summary>
    readonly struct StubbedSpanFormatting(bool throws) : ISpanFormattable
    {
        public string ToString(string? format, IFormatProvider? formatProvider) => "amount[" + format + "]";

        public override string ToString() => "amount";

        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        {
            if (throws) throw new NotImplementedException();
            charsWritten = 0;
            return false; // declines every buffer, as a format it does not support
        }
    }

    sealed class ThrowingFormatted : IFormattable
    {
        public string ToString(string? format, IFormatProvider? formatProvider) => throw new InvalidOperationException("no formatted text");

        public override string ToString() => "plain text";
    }

    [TestCase(true)]
    [TestCase(false)]
    public void AValueWhoseSpanFormattingIsAStubRendersWithItsFormattedToStringAsSerilogDoes(bool throws)
    {
        var logEvent = Some.LogEvent("Paid {Amount} ({Amount:c})", properties: Some.Property("Amount", new StubbedSpanFormatting(throws)));
        var expected = new Dictionary<string, string>
        {
            ["compact"] = SerilogReference.Compact(logEvent),
            ["rendered"] = SerilogReference.Rendered(logEvent),
        };
        Assert.That(expected["rendered"], Does.Contain("Paid amount[] (amount[c])"));

        // Bounded: a TryFormat that never succeeds must not keep the formatter looping.
        var work = Task.Run(() =>
        {
            foreach (var (name, reference) in expected)
            {
                var formatter = GoldenCase.CreateFormatter(name);
                var text = Utf8.FormatText(formatter, logEvent);
                Assert.That(text, Is.EqualTo(reference), name);
                Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)), name);
            }
            var flat = Utf8.FormatText(new FlatJsonFormatter(), logEvent);
            Assert.That(flat, Does.Contain("\"message\":\"Paid amount[] (amount[c])\""));
        });
        // A bound for a hang, not a speed limit: the first formatting of each formatter runs its code for the first time.
        Assert.That(work.Wait(TimeSpan.FromSeconds(30)), Is.True, "formatting did not finish");
        work.GetAwaiter().GetResult();
    }

    [Test]
    [NonParallelizable]
    public void AValueWhoseFormattedToStringThrowsIsRenderedWithItsPlainToStringAndASelfLogLine()
    {
        var selfLog = new List<string>();
        var logEvent = Some.LogEvent("Value {V} {V:x}", properties: Some.Property("V", new ThrowingFormatted()));
        ResetReports();

        using (TemporarySelfLog.SaveTo(selfLog))
        {
            foreach (var formatter in Formatters)
            {
                var text = Utf8.FormatText(formatter, logEvent);
                Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)), formatter.GetType().Name);
                using (System.Text.Json.JsonDocument.Parse(text)) { }
                if (formatter is CompactJsonFormatter)
                    Assert.That(text, Does.Contain("\"@r\":[\"plain text\"]"));
                else
                    Assert.That(text, Does.Contain("Value plain text plain text"), formatter.GetType().Name);
            }
        }

        Assert.That(selfLog, Has.Some.Contains("no formatted text"));
    }

    sealed class ThrowingMessage : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
    }

    [Test]
    [NonParallelizable]
    public void ValuesThatThrowStillGetTheirPlaceholdersWhenTheSelfLogOutputThrows()
    {
        // SelfLog.Enable(TextWriter) on a full disk throws from every line: that costs the report, not the event.
        var logEvent = Some.LogEvent("Value {V} {F} {F:x}", exception: new ThrowingMessage(),
            properties: [Some.Property("V", new Throwing()), Some.Property("F", new ThrowingFormatted())]);
        using var failingSelfLog = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.Failing();
        foreach (var formatter in Formatters)
        {
            string? text = null;
            Assert.DoesNotThrow(() => text = Utf8.FormatText(formatter, logEvent), formatter.GetType().Name);
            Assert.That(text, Does.Contain("<Throwing.ToString() failed>"), formatter.GetType().Name);
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text!)), formatter.GetType().Name);
        }
    }

    [TestCase("ToString", "no text for you")]
    [TestCase("FormattedToString", "no formatted text")]
    [TestCase("Message", "no message")]
    [TestCase("Render", "cannot render")]
    [NonParallelizable]
    public void AValueOrExceptionThatAlwaysThrowsIsReportedOncePerIntervalNotOncePerEvent(string kind, string failure)
    {
        // A type that cannot be written fails on every event that holds it: a line per event would flood SelfLog.
        var logEvent = kind switch
        {
            "ToString" => Some.LogEvent("Value {V}", properties: Some.Property("V", new Throwing())),
            "FormattedToString" => Some.LogEvent("Value {F:x}", properties: Some.Property("F", new ThrowingFormatted())),
            "Render" => Some.LogEvent("Value {R:x}", properties: new LogEventProperty("R", new ThrowingRender())),
            _ => Some.LogEvent("Failed", exception: new ThrowingMessage()),
        };
        ResetReports();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            foreach (var formatter in Formatters)
            {
                for (var i = 0; i < 100; i++) Utf8.FormatText(formatter, logEvent);
            }
        }

        // A line per kind of failure, and one more per 10 seconds the loop may have taken.
        Assert.That(selfLog.Count(l => l.Contains(failure)), Is.InRange(1, 10));
    }

    internal static void ResetReports()
    {
        Formatting.Json.JsonText.ToStringReport.Reset();
        Formatting.Rendering.MessageRenderer.ToStringReport.Reset();
        Formatting.Rendering.MessageRenderer.RenderReport.Reset();
        Formatting.Json.ExceptionText.ToStringReport.Reset();
        Formatting.Json.ExceptionText.MessageReport.Reset();
        BoundedExceptionText.ReadReport.Reset();
    }

    sealed class Fixed(string text)
    {
        public override string ToString() => text;
    }

    [Test]
    public void FormattingAnotherEventFromInsideToStringDoesNotCorruptTheOuterLine()
    {
        foreach (var formatter in Formatters)
        {
            var logEvent = Some.LogEvent("Outer {V} {W:000}", properties: [Some.Property("V", new Reentrant(formatter)), Some.Property("W", 5)]);
            var plain = Some.LogEvent("Outer {V} {W:000}", timestamp: logEvent.Timestamp,
                properties: [Some.Property("V", new Fixed(new Reentrant(formatter).ToString())), Some.Property("W", 5)]);

            var text = Utf8.FormatText(formatter, logEvent);
            var utf8 = Utf8.FormatUtf8(formatter, logEvent);

            // Identical to the same event whose value's text was computed beforehand.
            Assert.That(text, Does.Contain("reentered:"), formatter.GetType().Name);
            Assert.That(utf8, Is.EqualTo(Utf8.Encode(text)), formatter.GetType().Name);
            Assert.That(text, Is.EqualTo(Utf8.FormatText(formatter, plain)), formatter.GetType().Name);
        }
    }

    sealed class ThrowingRender : LogEventPropertyValue
    {
        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null) =>
            throw new InvalidOperationException("cannot render");
    }

    /// <summary>A value that renders itself by formatting another event on the same thread.</summary>
    sealed class ReentrantRender(IUtf8Formatter formatter) : ScalarValue("secret")
    {
        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null)
        {
            var inner = Utf8.FormatText(formatter, Some.LogEvent("inner {X} {X:l}", properties: Some.Property("X", "in")));
            output.Write("rendered:" + inner.Length);
        }
    }

    sealed class FixedRender(string text) : ScalarValue("secret")
    {
        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null) => output.Write(text);
    }

    /// <summary>
    /// A <c>Render</c> override, or a <c>ToString()</c> a custom value formatter calls, that formats another event on
    /// the same thread while the outer line (and, with a custom value formatter, its per-thread value writer) is in use.
    /// </summary>
    [Test]
    public void FormattingAnotherEventFromInsideRenderOrACustomValueFormatterDoesNotCorruptTheOuterLine()
    {
        var formatters = Formatters.Concat([
            new CompactJsonFormatter(new Serilog.Formatting.Json.JsonValueFormatter("$type")),
            new RenderedCompactJsonFormatter(new Serilog.Formatting.Json.JsonValueFormatter("$type"))]);
        foreach (var formatter in formatters)
        {
            var logEvent = Some.LogEvent("Outer {R} {R,-30:x} {V} {W:000}", properties:
            [
                new LogEventProperty("R", new ReentrantRender(formatter)), Some.Property("V", new Reentrant(formatter)), Some.Property("W", 5),
            ]);
            var rendered = new StringWriter();
            new ReentrantRender(formatter).Render(rendered);
            var plain = Some.LogEvent("Outer {R} {R,-30:x} {V} {W:000}", timestamp: logEvent.Timestamp, properties:
            [
                new LogEventProperty("R", new FixedRender(rendered.ToString())), Some.Property("V", new Fixed(new Reentrant(formatter).ToString())),
                Some.Property("W", 5),
            ]);

            var text = Utf8.FormatText(formatter, logEvent);

            Assert.That(text, Does.Contain("reentered:"), formatter.GetType().Name);
            Assert.That(text, Does.Contain("rendered:"), formatter.GetType().Name);
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)), formatter.GetType().Name);
            Assert.That(text, Is.EqualTo(Utf8.FormatText(formatter, plain)), formatter.GetType().Name);
        }
    }

    [Test]
    public void ManyThreadsSharingOneFormatterGetTheSameLinesAsOneThread()
    {
        var events = new RandomEvents(seed: 11);
        var batch = Enumerable.Range(0, 200).Select(_ => events.Next()).ToArray();
        var formatter = new CompactJsonFormatter();
        var expected = batch.Select(e => Utf8.FormatUtf8(formatter, e)).ToArray();
        var mismatches = 0;

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var buffer = new ArrayBufferWriter<byte>();
            for (var round = 0; round < 5; round++)
            {
                for (var i = 0; i < batch.Length; i++)
                {
                    buffer.Clear();
                    formatter.Format(batch[(i + worker) % batch.Length], buffer);
                    if (!buffer.WrittenSpan.SequenceEqual(expected[(i + worker) % batch.Length])) Interlocked.Increment(ref mismatches);
                }
            }
        });

        Assert.That(mismatches, Is.Zero);
    }

    static LogEvent TypicalEvent() => GoldenEvents.Get("flat-reserved-and-snake-case") is var e
        ? new LogEvent(e.Timestamp, LogEventLevel.Warning, null,
            new Serilog.Parsing.MessageTemplateParser().Parse("Order {OrderId} for {Customer,-10} took {Elapsed:0.00} ms at {When} ({Id})"),
            [
                new LogEventProperty("OrderId", new ScalarValue(1234)),
                new LogEventProperty("Customer", new ScalarValue("alice \"a\" é")),
                new LogEventProperty("Elapsed", new ScalarValue(12.3456)),
                new LogEventProperty("When", new ScalarValue(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero))),
                new LogEventProperty("Id", new ScalarValue(Guid.NewGuid())),
                new LogEventProperty("Tags", new SequenceValue([new ScalarValue("a"), new ScalarValue(2L)])),
                new LogEventProperty("Cart", new StructureValue([new LogEventProperty("Total", new ScalarValue(9.99m))], "Cart")),
                new LogEventProperty("SourceContext", new ScalarValue("Shop.Orders")),
            ],
            GoldenEvents.TraceId, GoldenEvents.SpanId)
        : throw new InvalidOperationException();

    [TestCase("compact")]
    [TestCase("rendered")]
    [TestCase("flat")]
    [TestCase("flat-short")]
    [TestCase("flat-raw")]
    public void TheUtf8PathAllocatesNothingPerEventInSteadyState(string formatterName)
    {
        var formatter = GoldenCase.CreateFormatter(formatterName);
        var logEvent = TypicalEvent();
        var buffer = new ArrayBufferWriter<byte>(4096);
        for (var i = 0; i < 100; i++)
        {
            buffer.Clear();
            formatter.Format(logEvent, buffer);
        }

        // Three windows of 1,000 events: an allocation per event shows in every one of them, while a one-off of the
        // runtime's on this thread shows in one at most (7,320 B over one window once, for the flat formatter, in a CI
        // run on a loaded machine; not reproduced or traced further).
        var windows = new long[3];
        for (var w = 0; w < windows.Length; w++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                buffer.Clear();
                formatter.Format(logEvent, buffer);
            }
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.That(windows.Min(), Is.Zero, $"bytes per window of 1,000 events: {string.Join(", ", windows)}");
        Assert.That(windows.Count(b => b != 0), Is.LessThanOrEqualTo(1), $"bytes per window of 1,000 events: {string.Join(", ", windows)}");
        Assert.That(buffer.WrittenCount, Is.GreaterThan(200));
    }
}
