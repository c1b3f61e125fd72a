using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Clef;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests.Clef;

/// <summary>
/// The cached paths (a template or a property name seen before) write exactly what the uncached path and the
/// reference write.
/// </summary>
public class ClefCacheTests
{
    static readonly MessageTemplateParser Parser = new();

    [TestCase("compact")]
    [TestCase("rendered")]
    public void EventsFormattedRepeatedlyByOneFormatterMatchTheReferenceEveryTime(string formatterName)
    {
        var formatter = GoldenCase.CreateFormatter(formatterName);
        var events = new RandomEvents(seed: 42);
        var compared = 0;
        for (var i = 0; i < 400; i++)
        {
            var logEvent = events.Next();
            string expected;
            try
            {
                expected = formatterName == "compact" ? SerilogReference.Compact(logEvent) : SerilogReference.Rendered(logEvent);
            }
            catch (FormatException)
            {
                continue;
            }

            // First sighting, admission, then the cached entry.
            for (var round = 0; round < 3; round++)
            {
                Assert.That(Utf8.FormatText(formatter, logEvent), Is.EqualTo(expected), $"event {i} round {round}");
                Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(expected)), $"event {i} round {round}");
            }
            compared++;
        }
        Assert.That(compared, Is.GreaterThan(200));
    }

    static IEnumerable<object?> Values() =>
    [
        0m, 0.00m, -0.00m, 1m, -1m, 0.005m, -0.005m, 0.004m, -0.004m, 1.995m, -1.995m, 2.5m, 12.345m, 123456.7891m,
        0.0000000000000000000000000001m, decimal.MaxValue, decimal.MinValue, 79228162514264.337593543950335m,
        0, 7, -7, int.MaxValue, int.MinValue, 0L, long.MaxValue, long.MinValue, -123456789012L,
        1.005, -2.5, 0.125f, (short)12, 12u, "text", null,
    ];

    [Test]
    public void OneTemplateReusedWithDifferentValuesRendersEachEventsOwnValues()
    {
        var formatter = new CompactJsonFormatter();
        var template = Parser.Parse("Paid {Total:0.00} of {Due:0} ({Rate:0.0000}) {Aligned,8:0.00} by {@Who} \"quoted\" {Missing:0.00}");
        var timestamp = new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.FromHours(2));
        var compared = 0;
        foreach (var round in Enumerable.Range(0, 3))
        {
            foreach (var value in Values())
            {
                var logEvent = new LogEvent(timestamp, LogEventLevel.Warning, null, template,
                [
                    new LogEventProperty("Total", new ScalarValue(value)),
                    new LogEventProperty("Due", new ScalarValue(value)),
                    new LogEventProperty("Rate", new ScalarValue(value)),
                    new LogEventProperty("Aligned", new ScalarValue(value)),
                    new LogEventProperty("@Who", new ScalarValue("me")),
                ]);

                var expected = SerilogReference.Compact(logEvent);
                Assert.That(Utf8.FormatText(formatter, logEvent), Is.EqualTo(expected), $"{value} round {round}");
                Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(expected)), $"{value} round {round}");
                compared++;
            }
        }
        Assert.That(compared, Is.EqualTo(3 * Values().Count()));
    }

    [Test]
    public void PropertyNamesThatNeedEscapingOrAnAtSignAreCachedAsTheyAreWritten()
    {
        var formatter = new CompactJsonFormatter();
        string[] names = ["@t", "@@x", "quote\"name", "back\\slash", "tab\tname", "Zoë", "日本", "\ud83d\ude00", "lone\ud83d", "plain"];
        var template = Parser.Parse("no holes");
        for (var round = 0; round < 3; round++)
        {
            var logEvent = new LogEvent(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, template,
                names.Select((n, i) => new LogEventProperty(n, new ScalarValue(i))).ToArray());
            var expected = SerilogReference.Compact(logEvent);
            Assert.That(Utf8.FormatText(formatter, logEvent), Is.EqualTo(expected), $"round {round}");
            Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(expected)), $"round {round}");
        }
    }

    [Test]
    public void ManyDistinctTemplatesAndNamesStayWithinTheBoundAndFormatCorrectly()
    {
        var formatter = new CompactJsonFormatter();
        var cache = new ClefCache();
        var count = ClefCache.TemplateSets * 4;
        for (var i = 0; i < count; i++)
        {
            var template = Parser.Parse("Template " + i + " {Value:0.00}");
            var name = "Name" + i;
            var logEvent = new LogEvent(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, template,
                [new LogEventProperty("Value", new ScalarValue(i / 8m)), new LogEventProperty(name, new ScalarValue(i))]);
            var expected = SerilogReference.Compact(logEvent);
            for (var round = 0; round < 2; round++)
            {
                Assert.That(Utf8.FormatText(formatter, logEvent), Is.EqualTo(expected));
                cache.Template(template);
                cache.Name(name);
            }
        }

        Assert.That(cache.Templates.Count, Is.LessThanOrEqualTo(cache.Templates.Capacity));
        Assert.That(cache.Names.Count, Is.LessThanOrEqualTo(cache.Names.Capacity));
        Assert.That(cache.Templates.Count, Is.GreaterThan(cache.Templates.Capacity / 2), "admitted templates fill the cache");
    }

    [Test]
    public void LongTemplatesAndNamesAreNeverKeptSoTheCacheHoldsLittleTextWhateverItSees()
    {
        // Interpolated text passed as the template (a request body, a document) gives a new long template per event;
        // remembered, hundreds of them would stay alive per formatter. Each is seen twice here (two sinks sharing the
        // formatter), which would admit it, and alongside it short ones that are cached as before.
        var cache = new ClefCache();
        var body = new string('x', 8 * 1024);
        for (var i = 0; i < 1_000; i++)
        {
            var template = Parser.Parse("Body " + body + i + " {Value}");
            var name = body[..1000] + i;
            var shortTemplate = Parser.Parse("Short " + i + " {Value}");
            for (var round = 0; round < 2; round++)
            {
                cache.Template(template);
                cache.Name(name);
                cache.Template(shortTemplate);
                cache.Name("Name" + (i % 64));
            }
        }

        Assert.That(cache.RetainedCharacters, Is.LessThanOrEqualTo(ClefCache.MaxRetainedCharacters));
        Assert.That(cache.Templates.Count, Is.GreaterThan(cache.Templates.Capacity / 2), "short templates are still cached");

        // Formatted without the cache, each time exactly as the reference writes it.
        var formatter = new CompactJsonFormatter();
        var longEvent = new LogEvent(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, Parser.Parse("Body " + body + " {Value:0.00}"),
            [new LogEventProperty("Value", new ScalarValue(1.5m)), new LogEventProperty(body[..200], new ScalarValue(1))]);
        var expected = SerilogReference.Compact(longEvent);
        for (var round = 0; round < 3; round++)
        {
            Assert.That(Utf8.FormatText(formatter, longEvent), Is.EqualTo(expected), $"round {round}");
            Assert.That(Utf8.FormatUtf8(formatter, longEvent), Is.EqualTo(Utf8.Encode(expected)), $"round {round}");
        }
    }

    [Test]
    public void ConcurrentFormattingOfSharedTemplatesMatchesTheReference()
    {
        var formatter = new CompactJsonFormatter();
        var events = new RandomEvents(seed: 5);
        var logEvents = new List<(LogEvent Event, string Expected, byte[] ExpectedUtf8)>();
        while (logEvents.Count < 50)
        {
            var logEvent = events.Next();
            try
            {
                var expected = SerilogReference.Compact(logEvent);
                logEvents.Add((logEvent, expected, Utf8.Encode(expected)));
            }
            catch (FormatException)
            {
            }
        }

        var mismatches = 0;
        string? firstMismatch = null;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 2000; i++)
            {
                var (logEvent, expected, expectedUtf8) = logEvents[random.Next(logEvents.Count)];
                var same = i % 2 == 0
                    ? Utf8.FormatText(formatter, logEvent) == expected
                    : Utf8.FormatUtf8(formatter, logEvent).AsSpan().SequenceEqual(expectedUtf8);
                if (!same && Interlocked.Increment(ref mismatches) == 1) firstMismatch = expected;
            }
        });
        Assert.That(mismatches, Is.Zero, firstMismatch);
    }
    [TestCase("compact")]
    [TestCase("rendered")]
    public void PropertiesInAnyOrderAgainstTheTemplatesNamesMatchTheReference(string formatterName)
    {
        // The template's names in order take their prepared text from the cached template; everything else (another
        // order, a repeated hole, a name missing, extra or enricher properties between them, names that need
        // escaping) must still come out exactly as the reference writes it.
        var formatter = GoldenCase.CreateFormatter(formatterName);
        var template = Parser.Parse("{A} {@B} {A} {C:0.00} {Zoë} {quo\"te} {D}");
        string[][] orders =
        [
            ["A", "B", "C", "Zoë", "D"],
            ["B", "A", "C", "Zoë", "D"],
            ["A", "SourceContext", "B", "C", "Zoë", "D", "Extra"],
            ["D", "C", "B", "A"],
            ["A", "C", "Zoë"],
            ["Extra", "A", "B", "C", "Zoë", "D"],
            ["@t", "A", "B"],
            [],
        ];
        var compared = 0;
        for (var round = 0; round < 3; round++)
        {
            foreach (var order in orders)
            {
                var properties = order.Select((name, i) => new LogEventProperty(name, new ScalarValue(i * 1.25m))).ToArray();
                var logEvent = new LogEvent(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, template, properties);
                var expected = formatterName == "compact" ? SerilogReference.Compact(logEvent) : SerilogReference.Rendered(logEvent);
                Assert.That(Utf8.FormatText(formatter, logEvent), Is.EqualTo(expected), string.Join(",", order));
                Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(expected)), string.Join(",", order));
                compared++;
            }
        }
        Assert.That(compared, Is.EqualTo(3 * orders.Length));
    }

    [Test]
    public void ACachedTemplateKnowsEachOfItsNamesOnceInFirstOccurrenceOrder()
    {
        var prepared = CompactTemplate.Create(Parser.Parse("{B} {A} {B} {0} {A:0.00} {C}"));
        Assert.That(prepared.Names, Is.EqualTo(new[] { "B", "A", "0", "C" }));
        Assert.That(prepared.PreparedNames.Select(p => p.Chars), Is.EqualTo(new[] { ",\"B\":", ",\"A\":", ",\"0\":", ",\"C\":" }));
    }
}
