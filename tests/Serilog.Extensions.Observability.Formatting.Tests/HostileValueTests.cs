using System.Diagnostics;
using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Json;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>
/// Hostile values at log time: values and exception chains built by hand (no destructuring limit applies) deep or
/// shared enough to exhaust the stack or blow up the output, and hostile names, keys and texts. Nothing may kill the
/// process or hang it, and every line stays one valid JSON object, the same on both paths.
/// </summary>
public class HostileValueTests
{
    static readonly IUtf8Formatter[] Formatters = [new CompactJsonFormatter(), new RenderedCompactJsonFormatter(), new FlatJsonFormatter()];

    /// <summary>A leaf value that records how deep the stack was when a formatter wrote or rendered it.</summary>
    internal sealed class FrameProbe : LogEventPropertyValue
    {
        public int DeepestFrames;

        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null)
        {
            DeepestFrames = Math.Max(DeepestFrames, new StackTrace().FrameCount);
            output.Write("probe");
        }
    }

    internal static LogEventPropertyValue Nested(string kind, int depth, LogEventPropertyValue? leaf = null)
    {
        var value = leaf ?? new ScalarValue("leaf");
        for (var i = 0; i < depth; i++)
        {
            value = kind switch
            {
                "structure" => new StructureValue([new LogEventProperty("Inner", value)]),
                "sequence" => new SequenceValue([value]),
                _ => new DictionaryValue([new KeyValuePair<ScalarValue, LogEventPropertyValue>(new ScalarValue("k"), value)]),
            };
        }
        return value;
    }

    sealed class NullText : IFormattable
    {
        public override string ToString() => null!;
        public string ToString(string? format, IFormatProvider? formatProvider) => null!;
    }

    sealed class NullTextException(string message) : Exception(message)
    {
        public override string ToString() => null!;
        public override string? StackTrace => null;
    }

    sealed class ThrowingException : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
        public override string ToString() => throw new InvalidOperationException("no text");
    }

    static readonly string[] HostileNames =
    [
        "\ud800", "a\udc00", "x\ud83d", "\udc00\ud800", "a\0b", "a\u2028\u2029", "\u007f", "\u0085\u009f", "q\"u\\e",
        "@t", "@@x", "@mt", "@m", "@l", "@x", "@i", "@r", "@tr", "@sp", "$type", "timestamp", "level", "message", "message_template",
        "logger", "exception", "trace_id", "span_id", "UserId", "user_id", "USER_ID", "userId",
        "Level", "_level", "_Level", "__level", "Message", "_message", "Timestamp", "_timestamp", "Logger", "_logger", "SourceContext",
        "Exception", "_exception", "TraceId", "_trace_id", "SpanId", "_span_id", "MessageTemplate", "_message_template", "Service", "ServiceName", "service",
    ];

    internal static IEnumerable<(string Name, LogEvent Event)> HostileEvents()
    {
        var properties = new List<LogEventProperty>();
        foreach (var name in HostileNames) properties.Add(new LogEventProperty(name, new ScalarValue(name)));
        yield return ("hostile names", Some.LogEvent("Names {UserId} {user_id}", properties: [.. properties]));
        yield return ("hostile names with an exception", Some.LogEvent("Names", exception: new InvalidOperationException("x"), properties: [.. properties]));

        yield return ("template text", Some.LogEvent("a\ud800 {X} \udc00\0\u2028 {Y:\ud800} {{\udfff}}", properties: [Some.Property("X", "\ud800"), Some.Property("Y", 1.5)]));
        yield return ("source context", Some.LogEvent("Ctx", properties: Some.Property("SourceContext", "\ud800Shop\0\u2028")));
        yield return ("exception message", Some.LogEvent("Ex", exception: new InvalidOperationException("\ud800 bad\0\u2028\udc00")));
        yield return ("exception null text", Some.LogEvent("Ex", exception: new NullTextException("m")));
        yield return ("exception throwing", Some.LogEvent("Ex", exception: new ThrowingException()));
        yield return ("null text scalar", Some.LogEvent("V {V} {V:x} {V,5}", properties: Some.Property("V", new NullText())));
        yield return ("dictionary keys", Some.LogEvent("D {D}", properties: Some.Property("D", new DictionaryValue(
        [
            new(new ScalarValue("\ud800"), new ScalarValue(1)),
            new(new ScalarValue("\0\u2028\u007f"), new ScalarValue(2)),
            new(new ScalarValue(null), new ScalarValue(3)),
            new(new ScalarValue(new NullText()), new ScalarValue(4)),
            new(new ScalarValue('\udc00'), new ScalarValue(5)),
        ]))));
        yield return ("structure names and tag", Some.LogEvent("S {S}", properties: Some.Property("S", new StructureValue(
            [new LogEventProperty("\ud800", new ScalarValue(1)), new LogEventProperty("$type", new ScalarValue(2)), new LogEventProperty("a\0", new ScalarValue(3))],
            "T\ud800\"\0"))));
    }

    [Test]
    public void HostileNamesKeysTextsAndExceptionsGiveOneValidJsonLinePerFormatterIdenticalOnBothPaths()
    {
        var failures = new List<string>();
        foreach (var (name, logEvent) in HostileEvents())
        {
            foreach (var formatter in Formatters)
            {
                var label = name + " / " + formatter.GetType().Name;
                try
                {
                    var text = Utf8.FormatText(formatter, logEvent);
                    var bytes = Utf8.FormatUtf8(formatter, logEvent);
                    if (!bytes.AsSpan().SequenceEqual(Utf8.Encode(text))) failures.Add(label + ": the UTF-8 path differs from the text path");
                    // Lone surrogates go out raw on the text path, as Serilog writes them: parse what a UTF-8 writer puts on disk.
                    var lines = Utf8.DecodeStrict(bytes).Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
                    if (lines.Length != 1) { failures.Add(label + ": " + lines.Length + " lines"); continue; }
                    using var document = JsonDocument.Parse(lines[0]);
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var property in document.RootElement.EnumerateObject())
                        if (!seen.Add(property.Name)) failures.Add(label + ": duplicate key " + JsonSerializer.Serialize(property.Name));
                }
                catch (Exception ex)
                {
                    failures.Add(label + ": " + ex.GetType().Name + " " + ex.Message);
                }
            }
        }
        Assert.That(failures, Is.Empty);
    }

    // 2,000 levels fit any thread's stack (about 3,000 overflow 1 MB), so these tests fail without killing the host: a
    // writer that recurses once per level reaches the leaf more than 4,000 frames down; a bounded one never does.
    const int SafeDepth = 2_000;
    const int MostFramesABoundedWriterUses = 1_000;

    [TestCase("structure")]
    [TestCase("sequence")]
    [TestCase("dictionary")]
    [NonParallelizable]
    public void AValueNestedByHandIsCutAtABoundedDepthWithASelfLogLineByEveryFormatterOnBothPaths(string kind)
    {
        foreach (var formatter in Formatters)
        {
            var probe = new FrameProbe();
            var logEvent = Some.LogEvent("Deep {V}", properties: Some.Property("V", Nested(kind, SafeDepth, probe)));
            var selfLog = new List<string>();
            string text;
            byte[] bytes;
            // The line is throttled process-wide (one per interval, not one per value): each formatter must be seen to report.
            JsonValueWriter.DepthReport.Reset();
            using (TemporarySelfLog.SaveTo(selfLog))
            {
                text = Utf8.FormatText(formatter, logEvent);
                bytes = Utf8.FormatUtf8(formatter, logEvent);
            }

            var name = formatter.GetType().Name;
            Assert.That(bytes, Is.EqualTo(Utf8.Encode(text)), name);
            using (JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 100_000 })) { }
            Assert.That(probe.DeepestFrames, Is.LessThan(MostFramesABoundedWriterUses), name + " recursed once per level down to the leaf");
            Assert.That(selfLog, Is.Not.Empty, name + " cut the value without saying so");
        }
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public void AnExceptionChainedDeeperThanAnyRealOneIsNotRenderedThroughTheRecursiveExceptionToString(int formatterIndex)
    {
        // Exception.ToString() calls InnerException.ToString(): one frame per link, so a chain built by a retry loop that
        // wraps the last failure each time overflows the stack (1,000,000 links: see the RollingJson HostileValueTests).
        var formatter = Formatters[formatterIndex];
        var probe = new ExceptionFrameProbe();
        Exception exception = probe;
        for (var i = 0; i < SafeDepth; i++) exception = new InvalidOperationException("retry " + i, exception);
        var logEvent = Some.LogEvent("Failed", exception: exception);

        var text = Utf8.FormatText(formatter, logEvent);
        Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)));
        using (JsonDocument.Parse(text)) { }
        Assert.That(probe.DeepestFrames, Is.LessThan(MostFramesABoundedWriterUses), "the chain's text was built one frame per link");
        Assert.That(text, Does.Contain("retry " + (SafeDepth - 1)), "the outermost exception is written");
    }

    [Test]
    public void AnExceptionChainedFortyDeepIsStillWrittenWholeAsExceptionToStringWritesIt()
    {
        // Deep but real: frameworks and retry policies wrap a failure a few dozen times at most. Only chains past
        // BoundedExceptionText.MaxDepth are written in part; this one is Serilog's @x, byte for byte.
        Exception exception = new InvalidOperationException("root cause");
        for (var i = 0; i < 40; i++) exception = new InvalidOperationException("wrapped " + i, exception);
        var logEvent = Some.LogEvent("Failed", exception: exception);

        using var document = JsonDocument.Parse(Utf8.FormatText(new CompactJsonFormatter(), logEvent));

        Assert.That(document.RootElement.GetProperty("@x").GetString(), Is.EqualTo(exception.ToString()));
    }

    sealed class UnreadableMessage : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
    }

    [TestCase(false)]
    [TestCase(true)]
    [NonParallelizable]
    public void AnAggregateTreeThatSharesItsInnerExceptionsIsWrittenInBoundedSize(bool leafMessageThrows)
    {
        // Each aggregate holds the one below it 64 times: three levels are 262,144 paths to the leaf, six would be
        // 68 billion. Exception.ToString() (and the fallback walk, bounded in depth and in width but not in total, used
        // when a leaf's Message throws) write every path.
        Exception exception = leafMessageThrows ? new UnreadableMessage() : new InvalidOperationException("leaf");
        for (var level = 0; level < 3; level++) exception = new AggregateException(Enumerable.Repeat(exception, 64));
        var logEvent = Some.LogEvent("Failed", exception: exception);

        // The flat formatter writes the message apart, and an aggregate's message quotes its inner exceptions' the same way.
        foreach (var formatter in Formatters)
        {
            string text;
            using (TemporarySelfLog.SaveTo(new List<string>()))
                text = Utf8.FormatText(formatter, logEvent);

            using (JsonDocument.Parse(text)) { }
            Assert.That(text.Length, Is.LessThan(1_000_000), formatter.GetType().Name);
        }
    }
}
