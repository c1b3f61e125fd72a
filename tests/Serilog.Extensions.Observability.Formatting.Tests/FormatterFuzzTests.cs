using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serilog.Events;
using Serilog.Formatting.Json;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>
/// Differential, randomized tests of every formatter on both paths, with fixed seeds (a failure names the seed and the
/// event's index, and reproduces). For each event of <see cref="FuzzEvents"/>:
/// <list type="bullet">
/// <item>the TextWriter path writes exactly the line <see cref="DocumentedReference"/> builds from Serilog 3.1.1's
/// <c>JsonValueFormatter</c> and renderer and the README's rules;</item>
/// <item>the UTF-8 path writes that text encoded as UTF-8 (so a lone surrogate, which the text path passes on raw as
/// Serilog does, is U+FFFD on both, as a UTF-8 file writer puts it on disk);</item>
/// <item>the bytes are one line of valid UTF-8 that System.Text.Json parses, with no key twice, and every property's
/// value, <c>@t</c>, <c>@l</c>, <c>@x</c>, <c>@tr</c>, <c>@sp</c> and <c>@m</c> read back as written;</item>
/// <item>under tr-TR, ar-SA and de-DE the lines are those of the invariant culture, for values the README does not
/// say follow the current culture.</item>
/// </list>
/// </summary>
public class FormatterFuzzTests
{
    const int EventCount = 1200;
    const int CultureEventCount = 400;

    static readonly string[] BuiltInFormatterNames = ["compact", "rendered", "flat", "flat-short", "flat-raw"];

    static readonly string[] FormatterNames = [.. BuiltInFormatterNames, "compact-custom", "rendered-custom"];

    /// <summary>The formatters, and the CLEF ones with a caller's value formatter (Serilog's own: the same values).</summary>
    static IUtf8Formatter Create(string formatterName) => formatterName switch
    {
        "compact-custom" => new CompactJsonFormatter(new JsonValueFormatter(typeTagName: "$type")),
        "rendered-custom" => new RenderedCompactJsonFormatter(new JsonValueFormatter(typeTagName: "$type")),
        _ => GoldenCase.CreateFormatter(formatterName),
    };

    [TestCase(1)]
    [TestCase(20261122)]
    public void RandomEventsAreWrittenAsDocumentedOnBothPaths(int seed)
    {
        var failures = new List<string>();
        // Serilog 3.1.1 writes a DateOnly in the current culture's calendar; the README documents ISO dates: compare in
        // a Gregorian culture. The culture test below covers the others.
        WithCulture(CultureInfo.InvariantCulture, () =>
        {
            // One instance per formatter for all events: templates come back by reference, so the caches are hit.
            var formatters = FormatterNames.Select(Create).ToArray();
            var events = new FuzzEvents(seed);
            var outputs = new Random(seed);
            for (var i = 0; i < EventCount && failures.Count < 20; i++)
            {
                var logEvent = events.Next();
                for (var k = 0; k < formatters.Length; k++)
                    Check(FormatterNames[k], formatters[k], logEvent, outputs, $"seed {seed} event {i} {FormatterNames[k]}", failures);
            }
        });
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [TestCase("tr-TR")]
    [TestCase("ar-SA")]
    [TestCase("de-DE")]
    public void RandomEventsAreWrittenTheSameUnderAnyCulture(string cultureName)
    {
        var events = new FuzzEvents(seed: 42, cultureNeutral: true);
        var logEvents = Enumerable.Range(0, CultureEventCount).Select(_ => events.Next()).ToList();
        // A custom value formatter writes values its own way, in the current culture as Serilog does (a DateOnly in its
        // calendar, and an exception where that calendar cannot show it): the README's culture rules are the built-in one's.
        var formatters = BuiltInFormatterNames.Select(Create).ToArray();

        var invariant = new List<byte[]>();
        WithCulture(CultureInfo.InvariantCulture, () =>
        {
            foreach (var logEvent in logEvents)
                foreach (var formatter in formatters)
                    invariant.Add(Utf8.FormatUtf8(formatter, logEvent));
        });

        var failures = new List<string>();
        WithCulture(CultureInfo.GetCultureInfo(cultureName), () =>
        {
            var n = 0;
            for (var i = 0; i < logEvents.Count; i++)
            {
                for (var k = 0; k < formatters.Length; k++, n++)
                {
                    var utf8 = Utf8.FormatUtf8(formatters[k], logEvents[i]);
                    var text = Utf8.Encode(Utf8.FormatText(formatters[k], logEvents[i]));
                    if (!utf8.AsSpan().SequenceEqual(invariant[n]) || !text.AsSpan().SequenceEqual(invariant[n]))
                        failures.Add($"event {i} {BuiltInFormatterNames[k]}: {Diff(Encoding.UTF8.GetString(invariant[n]), Encoding.UTF8.GetString(utf8))}");
                }
            }
        });
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }

    static void Check(string formatterName, IUtf8Formatter formatter, LogEvent logEvent, Random outputs, string label, List<string> failures)
    {
        string text;
        byte[] utf8;
        try
        {
            text = Utf8.FormatText(formatter, logEvent);
            utf8 = Utf8.FormatUtf8(formatter, logEvent);
        }
        catch (Exception ex)
        {
            failures.Add($"{label}: threw {ex}");
            return;
        }

        var expected = formatterName switch
        {
            "compact" or "compact-custom" => DocumentedReference.Compact(logEvent),
            "rendered" or "rendered-custom" => DocumentedReference.Rendered(logEvent),
            _ => DocumentedReference.Flat(logEvent, shortLevels: formatterName == "flat-short", snakeCaseNames: formatterName != "flat-raw"),
        };
        if (text != expected)
        {
            failures.Add($"{label}: {Diff(expected, text)}");
            return;
        }

        if (!utf8.AsSpan().SequenceEqual(Utf8.Encode(text)))
        {
            failures.Add($"{label}: the UTF-8 path differs from the text path: {Diff(OnDisk(text), Encoding.UTF8.GetString(utf8))}");
            return;
        }

        // The UTF-8 path formats straight into the output's free space when it can: any amount of it, dirty, at an
        // offset in an array (as a buffer hands out the space after what it holds), or memory that is no array.
        var roomy = new RoomyWriter(outputs);
        formatter.Format(logEvent, roomy);
        formatter.Format(logEvent, roomy);
        if (!roomy.Written.SequenceEqual([.. utf8, .. utf8]))
        {
            failures.Add($"{label}: formatted into {roomy.Offered} the UTF-8 path differs: {Diff(OnDisk(text + text), Encoding.UTF8.GetString(roomy.Written.ToArray()))}");
            return;
        }

        try
        {
            var line = Utf8.DecodeStrict(utf8);
            if (!line.EndsWith(Environment.NewLine, StringComparison.Ordinal) || line.IndexOfAny(['\n', '\r']) != line.Length - Environment.NewLine.Length)
            {
                failures.Add($"{label}: not exactly one line");
                return;
            }
            using var document = JsonDocument.Parse(utf8);
            var root = document.RootElement;
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var member in root.EnumerateObject())
                if (!keys.Add(member.Name)) failures.Add($"{label}: key {JsonSerializer.Serialize(member.Name)} twice");

            ReadBack(formatterName, logEvent, root, label, failures);
        }
        catch (Exception ex)
        {
            failures.Add($"{label}: {ex.GetType().Name} {ex.Message}\n  {Escaped(text, 0, 300)}");
        }
    }

    /// <summary>
    /// The parsed line against the event itself, not against a line: a second look that does not share the
    /// reference's string building.
    /// </summary>
    static void ReadBack(string formatterName, LogEvent logEvent, JsonElement root, string label, List<string> failures)
    {
        void Expect(bool condition, string what)
        {
            if (!condition) failures.Add($"{label}: {what}");
        }

        var flat = formatterName.StartsWith("flat", StringComparison.Ordinal);
        var timestamp = root.GetProperty(flat ? "timestamp" : "@t").GetString();
        Expect(DateTimeOffset.Parse(timestamp!, CultureInfo.InvariantCulture) == logEvent.Timestamp && timestamp!.EndsWith('Z'), "timestamp " + timestamp);

        var message = DocumentedReference.Render(logEvent.MessageTemplate, logEvent.Properties);
        if (flat)
        {
            Expect(root.GetProperty("message").GetString() == OnDisk(message), "message");
            Expect(root.GetProperty("message_template").GetString() == OnDisk(logEvent.MessageTemplate.Text), "message_template");
            Expect(root.TryGetProperty("exception", out var exception) == (logEvent.Exception != null), "exception presence");
            if (logEvent.Exception != null) Expect(exception.GetProperty("stack_trace").GetString() == OnDisk(logEvent.Exception.ToString()), "stack_trace");
            Expect(!root.TryGetProperty("trace_id", out var trace) || logEvent.TraceId == null || trace.GetString() == logEvent.TraceId.Value.ToHexString(), "trace_id");
            // Every property but SourceContext (the logger) is a member, under a key of its own, with its value.
            var values = root.EnumerateObject().Skip(4).Select(m => m.Value.GetRawText()).ToList();
            foreach (var (name, value) in logEvent.Properties)
            {
                var expected = OnDisk(DocumentedReference.Value(value));
                Expect(values.Remove(expected) || IsTheEventsId(name, value, logEvent), $"property {name} = {expected} missing");
            }
            return;
        }

        Expect(root.TryGetProperty("@l", out var level) == (logEvent.Level != LogEventLevel.Information), "@l presence");
        if (logEvent.Level != LogEventLevel.Information) Expect(level.GetString() == logEvent.Level.ToString(), "@l");
        Expect(root.TryGetProperty("@x", out var x) == (logEvent.Exception != null), "@x presence");
        if (logEvent.Exception != null) Expect(x.GetString() == OnDisk(logEvent.Exception.ToString()), "@x");
        Expect(root.TryGetProperty("@tr", out var tr) ? tr.GetString() == logEvent.TraceId?.ToHexString() : logEvent.TraceId == null, "@tr");
        Expect(root.TryGetProperty("@sp", out var sp) ? sp.GetString() == logEvent.SpanId?.ToHexString() : logEvent.SpanId == null, "@sp");
        if (formatterName.StartsWith("rendered", StringComparison.Ordinal))
        {
            Expect(root.GetProperty("@m").GetString() == OnDisk(message), "@m");
            Expect(!root.TryGetProperty("@mt", out _) && !root.TryGetProperty("@r", out _), "@mt or @r in a rendered line");
        }
        else
        {
            Expect(root.GetProperty("@mt").GetString() == OnDisk(logEvent.MessageTemplate.Text), "@mt");
            var formatted = logEvent.MessageTemplate.Tokens.OfType<PropertyToken>().Where(t => t.Format != null).ToList();
            Expect(root.TryGetProperty("@r", out var renderings) == formatted.Count > 0, "@r presence");
            if (formatted.Count > 0)
                Expect(renderings.EnumerateArray().Select(r => r.GetString()).SequenceEqual(formatted.Select(t => OnDisk(DocumentedReference.Render(t, logEvent.Properties)))), "@r");
        }

        var reserved = root.EnumerateObject().Count(m => m.Name is "@t" or "@mt" or "@m" or "@r" or "@l" or "@x" or "@i" or "@tr" or "@sp");
        Expect(root.EnumerateObject().Count() == reserved + logEvent.Properties.Count, "member count");
        foreach (var (name, value) in logEvent.Properties)
        {
            var key = name.StartsWith('@') ? "@" + name : name;
            Expect(root.TryGetProperty(OnDisk(key), out var member) && member.GetRawText() == OnDisk(DocumentedReference.Value(value)), $"property {name}");
        }
    }

    static bool IsTheEventsId(string name, LogEventPropertyValue value, LogEvent logEvent) =>
        name == "SourceContext" ||
        value is ScalarValue { Value: string text } && (text == logEvent.TraceId?.ToHexString() || text == logEvent.SpanId?.ToHexString());

    /// <summary>The text as a UTF-8 writer puts it on disk and a reader reads it back: lone surrogates become U+FFFD.</summary>
    static string OnDisk(string text) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// An output that offers a random amount of free space (at least what is asked), filled with garbage, at a random
    /// place in an array or as memory that is no array.
    /// </summary>
    sealed class RoomyWriter(Random random) : IBufferWriter<byte>
    {
        readonly Random _random = random;
        readonly List<byte> _written = [];
        Memory<byte> _free;

        public string Offered { get; private set; } = "";

        public List<byte> Written => _written;

        public void Advance(int count)
        {
            if (count < 0 || count > _free.Length) throw new ArgumentOutOfRangeException(nameof(count));
            _written.AddRange(_free.Span.Slice(0, count).ToArray());
            _free = default;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            var size = Math.Max(sizeHint, 1) + (_random.Next(3) == 0 ? 0 : _random.Next(1200));
            var offset = _random.Next(16);
            var array = new byte[offset + size + _random.Next(16)];
            array.AsSpan().Fill(0xCC);
            _free = new Memory<byte>(array, offset, size);
            var arrayBacked = _random.Next(2) == 0;
            Offered += $"[{size}{(arrayBacked ? "" : " not an array")}]";
            return arrayBacked ? _free : new NotAnArray(_free).Memory;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    /// <summary>Where two lines first differ, escaped, with some context.</summary>
    static string Diff(string expected, string actual)
    {
        var at = expected.AsSpan().CommonPrefixLength(actual);
        var from = Math.Max(0, at - 80);
        return $"differs at {at}\n  expected ...{Escaped(expected, from, 160)}\n  actual   ...{Escaped(actual, from, 160)}";
    }

    static string Escaped(string text, int from, int length)
    {
        var builder = new StringBuilder();
        foreach (var c in text.AsSpan(from, Math.Min(length, text.Length - from)))
            builder.Append(c is >= ' ' and < '\u007f' ? c.ToString() : $"\\u{(int)c:x4}");
        return builder.ToString();
    }

    static void WithCulture(CultureInfo culture, Action action)
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = culture;
        try
        {
            action();
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }
}
