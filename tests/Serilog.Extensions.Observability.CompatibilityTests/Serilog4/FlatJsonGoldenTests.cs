using System.Diagnostics;
using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4;

/// <summary>
/// The root README's claim that flat JSON does not change with the Serilog version: events logged through Serilog 4.4
/// (its parser, its capturing of the values) and written by <see cref="FlatJsonFormatter"/> give, byte for byte, the
/// golden lines the Formatting unit tests hold for the same events built on Serilog 3.1.1
/// (tests/Serilog.Extensions.Observability.Formatting.Tests/Cases).
/// </summary>
public class FlatJsonGoldenTests
{
    static readonly DateTimeOffset Timestamp = new(2026, 11, 22, 10, 30, 15, 123, TimeSpan.Zero);
    static readonly ActivityTraceId TraceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
    static readonly ActivitySpanId SpanId = ActivitySpanId.CreateFromString("b7ad6b7169203331");

    sealed class Opaque
    {
        public override string ToString() => "opaque \"thing\"";
    }

    enum Colour { Red, Green }

    /// <summary>Adds properties in the order given, each captured by the running Serilog (a chain of
    /// <c>ForContext</c> calls would add them last first).</summary>
    sealed class InOrder(params (string Name, object? Value)[] properties) : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            foreach (var (name, value) in properties) logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty(name, value));
        }
    }

    /// <summary>What <paramref name="log"/> logs through Serilog 4.4, at the golden files' timestamp (and trace and span).</summary>
    static LogEvent Logged(Action<ILogger> log, bool traced = false)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger())
            log(logger);
        var captured = sink.SingleEvent;
        return new LogEvent(Timestamp, captured.Level, captured.Exception, captured.MessageTemplate,
            captured.Properties.Select(p => new LogEventProperty(p.Key, p.Value)), traced ? TraceId : default, traced ? SpanId : default);
    }

    static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("minimal", (Action<ILogger>)(log => log.Information("Hello, {Name}!", "World")), false);
        yield return new TestCaseData("renderings-format-and-alignment", (Action<ILogger>)(log => log.Information(
            "{Count:000} items at {Price,8:F2} for {User,-6} ({Ratio:P1}) {Name:l} [{Right,5}] [{Left,-5:l}] {When:yyyy-MM-dd} {Missing:x}",
            7, 3.14159, "bob", 0.256, "lit\"eral", "ab", "cd", new DateTime(2026, 1, 2))), false);
        yield return new TestCaseData("escaping-controls-quotes-backslash", (Action<ILogger>)(log => log.Information("Said \"{Text}\" \\ \t",
            "q\"b\\s/n\nr\rt\tf\fb\bnul\0u1\u0001u1f\u001fdel\u007fnel\u0085ls\u2028")), false);
        yield return new TestCaseData("flat-reserved-and-snake-case", (Action<ILogger>)(log => log.ForContext(new InOrder(
            ("SourceContext", "Shop.Checkout"), ("CorrelationId", "c-9"), ("HTTPStatus", 200), ("clientIP", "10.0.0.1"),
            ("ServiceName", "checkout-api"), ("Elapsed2Ms", 1.5), ("Level", "shadow"), ("message", "shadow too"),
            ("TraceId", "0af7651916cd43dd8448eb211c80319c"), ("SpanId", "0000000000000001"), ("already_snake", true),
            ("Exception", "not an exception"))).Information("Request {RequestPath} by {UserId}", "/x", "u-1")), true);
        yield return new TestCaseData("scalars-other", (Action<ILogger>)(log => log.ForContext(new InOrder(
            ("True", true), ("False", false), ("Null", null), ("Char", 'c'), ("Quote", '"'),
            ("Utc", new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(6)), ("Unspecified", new DateTime(2020, 1, 2, 3, 4, 5)),
            ("Offset", new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(2))),
            ("Span", TimeSpan.FromMilliseconds(1234.5)), ("NegSpan", -TimeSpan.FromDays(1.5)),
            ("Guid", Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff")), ("Enum", Colour.Green), ("Undefined", (Colour)7),
            ("Uri", new Uri("https://example.com/a?b=c")), ("Date", new DateOnly(2020, 1, 2)), ("Time", new TimeOnly(13, 4, 5)),
            ("Opaque", new Opaque()))).Information("o")), false);
    }

    static IEnumerable<(string Formatter, string Line)> GoldenLines(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        var file = Path.Combine(dir!.FullName, "tests", "Serilog.Extensions.Observability.Formatting.Tests", "Cases", name + ".txt");
        // Split on '\n' only, as the unit tests do, so that U+2028 and U+0085 inside a line stay as written.
        foreach (var line in File.ReadAllText(file, Encoding.UTF8).Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.IndexOf(' ');
            if (line[..space].StartsWith("flat", StringComparison.Ordinal)) yield return (line[..space], line[(space + 1)..]);
        }
    }

    static FlatJsonFormatter Formatter(string name) => name switch
    {
        "flat" => new FlatJsonFormatter(),
        "flat-short" => new FlatJsonFormatter(FlatJsonLevelFormat.Short),
        "flat-raw" => new FlatJsonFormatter(snakeCaseNames: false),
        _ => throw new ArgumentException("Unknown formatter " + name, nameof(name)),
    };

    [TestCaseSource(nameof(Cases))]
    public void AnEventLoggedThroughSerilog44IsWrittenAsTheGoldenLine(string name, Action<ILogger> log, bool traced)
    {
        var logEvent = Logged(log, traced);
        var golden = GoldenLines(name).ToList();
        Assert.That(golden, Is.Not.Empty, "the case has flat lines");

        Assert.Multiple(() =>
        {
            foreach (var (formatter, expected) in golden)
            {
                var text = new StringWriter { NewLine = "\n" };
                Formatter(formatter).Format(logEvent, text);
                Assert.That(text.ToString(), Is.EqualTo(expected + "\n"), formatter + ", text path");

                var utf8 = new System.Buffers.ArrayBufferWriter<byte>();
                Formatter(formatter).Format(logEvent, utf8);
                Assert.That(Encoding.UTF8.GetString(utf8.WrittenSpan).TrimEnd('\r', '\n'), Is.EqualTo(expected), formatter + ", UTF-8 path");
            }
        });
    }
}
