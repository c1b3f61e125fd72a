using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests.Flat;

public class FlatJsonFormatterTests
{
    sealed class MessageThrows : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
        public override string ToString() => "MessageThrows: details";
    }

    static JsonElement Format(LogEvent logEvent, FlatJsonFormatter? formatter = null)
    {
        var text = Utf8.FormatText(formatter ?? new FlatJsonFormatter(), logEvent);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Test]
    public void TheFixedKeysComeFirstInTheDocumentedOrder()
    {
        var logEvent = Some.LogEvent("Hi {Name}", LogEventLevel.Error, new InvalidOperationException("bad"),
            properties: [Some.Property("Name", "x"), Some.Property("SourceContext", "App.Worker")]);

        var names = Format(logEvent).EnumerateObject().Select(p => p.Name).ToList();

        Assert.That(names, Is.EqualTo(new[] { "timestamp", "level", "message", "message_template", "logger", "exception", "name" }));
    }

    [Test]
    public void TheExceptionIsAnObjectWithTypeMessageAndTheFullStackTraceText()
    {
        Exception thrown;
        try { throw new InvalidOperationException("outer", new ArgumentException("inner")); }
        catch (Exception ex) { thrown = ex; }

        var exception = Format(Some.LogEvent(exception: thrown)).GetProperty("exception");

        Assert.That(exception.GetProperty("type").GetString(), Is.EqualTo("System.InvalidOperationException"));
        Assert.That(exception.GetProperty("message").GetString(), Is.EqualTo("outer"));
        Assert.That(exception.GetProperty("stack_trace").GetString(), Is.EqualTo(thrown.ToString()));
        Assert.That(exception.GetProperty("stack_trace").GetString(), Does.Contain("inner").And.Contain("TheExceptionIsAnObject"));
    }

    [Test]
    [NonParallelizable]
    public void AnExceptionWhoseMessageThrowsStillProducesALine()
    {
        var selfLog = new List<string>();
        FormattingRobustnessTests.ResetReports();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var exception = Format(Some.LogEvent(exception: new MessageThrows())).GetProperty("exception");

            Assert.That(exception.GetProperty("message").GetString(), Is.EqualTo("<MessageThrows.Message failed>"));
            Assert.That(exception.GetProperty("stack_trace").GetString(), Is.EqualTo("MessageThrows: details"));
        }
        Assert.That(selfLog, Has.Some.Contains("no message"));
    }

    [Test]
    public void ANonStringSourceContextIsWrittenAsItsJsonValue()
    {
        var root = Format(Some.LogEvent(properties: Some.Property("SourceContext", 42)));

        Assert.That(root.GetProperty("logger").GetInt32(), Is.EqualTo(42));
    }

    [Test]
    public void AnEventWithoutSourceContextHasNoLoggerKey()
    {
        Assert.That(Format(Some.LogEvent()).TryGetProperty("logger", out _), Is.False);
    }

    [Test]
    public void APropertyNamedLikeTheLoggerKeyIsPrefixedWhenSourceContextIsPresent()
    {
        var root = Format(Some.LogEvent(properties: [Some.Property("SourceContext", "A"), Some.Property("Logger", "B")]));

        Assert.That(root.GetProperty("logger").GetString(), Is.EqualTo("A"));
        Assert.That(root.GetProperty("_logger").GetString(), Is.EqualTo("B"));
    }

    [Test]
    public void PropertiesWhoseKeysCoincideGetOneMorePrefixEachSoNoKeyIsWrittenTwice()
    {
        // Log stores reject or silently merge duplicate keys: every value must stay, under a key of its own.
        var logEvent = Some.LogEvent(properties:
        [
            Some.Property("UserId", "a"), Some.Property("user_id", "b"), Some.Property("userId", "c"),
            Some.Property("Level", "L"), Some.Property("_level", "M"),
            Some.Property("ServiceName", "S"), Some.Property("Service", "T"),
        ]);

        var root = Format(logEvent);
        var names = root.EnumerateObject().Select(p => p.Name).ToList();

        Assert.That(names, Is.Unique);
        Assert.That(root.GetProperty("user_id").GetString(), Is.EqualTo("a"));
        Assert.That(root.GetProperty("_user_id").GetString(), Is.EqualTo("b"));
        Assert.That(root.GetProperty("__user_id").GetString(), Is.EqualTo("c"));
        Assert.That(root.GetProperty("_level").GetString(), Is.EqualTo("L"));
        Assert.That(root.GetProperty("__level").GetString(), Is.EqualTo("M"));
        Assert.That(root.GetProperty("service").GetString(), Is.EqualTo("S"));
        Assert.That(root.GetProperty("_service").GetString(), Is.EqualTo("T"));
        Assert.That(Utf8.DecodeStrict(Utf8.FormatUtf8(new FlatJsonFormatter(), logEvent)), Is.EqualTo(Utf8.FormatText(new FlatJsonFormatter(), logEvent)));
    }

    [Test]
    public void ManyPropertiesAndLongNamesStillGetUniqueKeys()
    {
        var properties = new List<LogEventProperty>();
        for (var i = 0; i < 200; i++) properties.Add(Some.Property("P" + i, i));
        properties.Add(Some.Property("p0", "again"));
        properties.Add(Some.Property(new string('K', 70_000), 1));
        properties.Add(Some.Property(new string('k', 70_000), 2));

        var names = Format(Some.LogEvent(properties: properties.ToArray())).EnumerateObject().Select(p => p.Name).ToList();

        Assert.That(names, Is.Unique);
        Assert.That(names, Does.Contain("_p0"));
    }

    [Test]
    public void ThousandsOfPropertiesWithCollidingKeysGetTheKeysThatCheckingEveryKeyWrittenGives()
    {
        // Past a few properties the keys written are looked up in a set, not scanned each time: the keys must not change.
        var properties = new List<LogEventProperty> { Some.Property("Level", 0), Some.Property("_level", 0), Some.Property("Message", 0) };
        for (var i = 0; i < 26 * 26; i++)
        {
            var word = new string([(char)('a' + i / 26), (char)('a' + i % 26)]);
            // Ab -> ab, then ab -> _ab, then _ab -> __ab.
            properties.Add(Some.Property(char.ToUpperInvariant(word[0]) + word[1..], i));
            properties.Add(Some.Property(word, i));
            properties.Add(Some.Property("_" + word, i));
        }
        string[] reserved = ["timestamp", "level", "message", "message_template", "logger", "exception", "trace_id", "span_id"];
        var written = new HashSet<string>(StringComparer.Ordinal);
        var expected = new List<string>();
        foreach (var property in properties)
        {
            var key = property.Name.ToLowerInvariant();
            var prefixes = reserved.Contains(key) ? 1 : 0;
            while (!written.Add(new string('_', prefixes) + key)) prefixes++;
            expected.Add(new string('_', prefixes) + key);
        }
        var logEvent = Some.LogEvent(properties: properties.ToArray());

        var names = Format(logEvent).EnumerateObject().Select(p => p.Name).Skip(4).ToList(); // after timestamp, level, message, message_template

        Assert.That(names, Is.EqualTo(expected));
        Assert.That(names, Does.Contain("__ab").And.Contain("__level"));
        Assert.That(Utf8.DecodeStrict(Utf8.FormatUtf8(new FlatJsonFormatter(), logEvent)), Is.EqualTo(Utf8.FormatText(new FlatJsonFormatter(), logEvent)));
    }

    [Test]
    public void ATraceIdPropertyDifferentFromTheEventsTraceIdIsKeptWithAPrefix()
    {
        var logEvent = new LogEvent(Some.Instant(), LogEventLevel.Information, null, Some.LogEvent("x").MessageTemplate,
            [new LogEventProperty("TraceId", new ScalarValue("ffffffffffffffffffffffffffffffff"))], GoldenEvents.TraceId, default);

        var root = Format(logEvent);

        Assert.That(root.GetProperty("trace_id").GetString(), Is.EqualTo(GoldenEvents.TraceId.ToHexString()));
        Assert.That(root.GetProperty("_trace_id").GetString(), Is.EqualTo("ffffffffffffffffffffffffffffffff"));
    }

    [TestCase(LogEventLevel.Verbose, "TRACE")]
    [TestCase(LogEventLevel.Debug, "DEBUG")]
    [TestCase(LogEventLevel.Information, "INFO")]
    [TestCase(LogEventLevel.Warning, "WARN")]
    [TestCase(LogEventLevel.Error, "ERROR")]
    [TestCase(LogEventLevel.Fatal, "FATAL")]
    public void ShortLevelsUseThePipelineSpelling(LogEventLevel level, string expected)
    {
        var root = Format(Some.LogEvent(level: level), new FlatJsonFormatter(FlatJsonLevelFormat.Short));

        Assert.That(root.GetProperty("level").GetString(), Is.EqualTo(expected));
    }

    [TestCase(LogEventLevel.Verbose)]
    [TestCase(LogEventLevel.Warning)]
    [TestCase(LogEventLevel.Fatal)]
    public void FullLevelsUseSerilogsNames(LogEventLevel level)
    {
        Assert.That(Format(Some.LogEvent(level: level)).GetProperty("level").GetString(), Is.EqualTo(level.ToString()));
    }

    [Test]
    public void TheTimestampIsIso8601InUtc()
    {
        var instant = new DateTimeOffset(2026, 3, 4, 23, 30, 0, TimeSpan.FromHours(-2));

        var root = Format(Some.LogEvent(timestamp: instant));

        Assert.That(root.GetProperty("timestamp").GetString(), Is.EqualTo("2026-03-05T01:30:00.0000000Z"));
    }

    [Test]
    public void AnUndefinedLevelFormatIsRejected()
    {
        Assert.That(() => new FlatJsonFormatter((FlatJsonLevelFormat)5),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("levelFormat"));
    }
}
