using System.Diagnostics;
using System.Numerics;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.CompatibilityTests.Formatting;

/// <summary>
/// The events both CLEF implementations format in <see cref="ClefDifferentialTests"/>: every scalar type Serilog's
/// JSON value formatter distinguishes, strings with every escape class at every length our writer treats apart,
/// nested values, hostile property names, format strings and alignment, exceptions, levels, trace and span ids. Most
/// are captured through a real Serilog 4 logger, so the values are what an application's events carry; the rest are
/// built by hand where no logger call produces them (names that need escaping, null dictionary keys).
/// </summary>
static class ClefCases
{
    /// <summary>Not on a whole second, not UTC: <c>@t</c> converts it.</summary>
    public static readonly DateTimeOffset Timestamp = new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.FromHours(2)).AddTicks(1234567);

    public static readonly ActivityTraceId TraceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
    public static readonly ActivitySpanId SpanId = ActivitySpanId.CreateFromString("b7ad6b7169203331");

    static readonly MessageTemplateParser Parser = new();

    static readonly Lazy<IReadOnlyList<ClefCase>> Cases = new(Create);

    public static IReadOnlyList<ClefCase> All => Cases.Value;

    public static ClefCase Named(string name) => All.Single(c => c.Name == name);

    public static IEnumerable<string> Names() => All.Select(c => c.Name);

    /// <summary>Text with the character that needs escaping or encoding at the start, the middle and the end.</summary>
    static string Around(string special, int length)
    {
        var filler = new string('a', Math.Max(0, (length - 3 * special.Length) / 2));
        return special + filler + special + filler + special;
    }

    static IReadOnlyList<ClefCase> Create()
    {
        var cases = new List<ClefCase>();

        // Scalars, each as {V} (value) and, where a format applies, through @r.
        var scalars = new (string Name, object? Value)[]
        {
            ("null", null),
            ("true", true),
            ("false", false),
            ("int", 42),
            ("int-min", int.MinValue),
            ("uint-max", uint.MaxValue),
            ("long-min", long.MinValue),
            ("long-max", long.MaxValue),
            ("ulong-max", ulong.MaxValue),
            ("short-min", short.MinValue),
            ("ushort-max", ushort.MaxValue),
            ("byte", (byte)255),
            ("sbyte", (sbyte)-128),
            ("decimal", 1.10m),
            ("decimal-negative", -12345.6789m),
            ("decimal-negative-zero", new decimal(0, 0, 0, true, 2)),
            ("decimal-max", decimal.MaxValue),
            ("decimal-min", decimal.MinValue),
            ("decimal-tiny", 0.0000000000000000000000000001m),
            ("decimal-scale-28", 1.0000000000000000000000000000m),
            ("decimal-beyond-64-bits", 123456789012345678901234.5m),
            ("double", 0.1),
            ("double-third", 1.0 / 3),
            ("double-1e-7", 1e-7),
            ("double-1e21", 1e21),
            ("double-1e15", 1e15),
            ("double-negative-zero", -0.0),
            ("double-nan", double.NaN),
            ("double-positive-infinity", double.PositiveInfinity),
            ("double-negative-infinity", double.NegativeInfinity),
            ("double-max", double.MaxValue),
            ("double-epsilon", double.Epsilon),
            ("double-integral", 1234.0),
            ("float", 0.1f),
            ("float-1e-7", 1e-7f),
            ("float-negative-zero", -0.0f),
            ("float-nan", float.NaN),
            ("float-positive-infinity", float.PositiveInfinity),
            ("float-negative-infinity", float.NegativeInfinity),
            ("float-max", float.MaxValue),
            ("half", (Half)1.5),
            ("biginteger", BigInteger.Parse("-123456789012345678901234567890")),
            ("int128", Int128.MaxValue),
            ("nint", (nint)(-7)),
            ("char", 'x'),
            ("char-quote", '"'),
            ("char-nul", '\0'),
            ("char-line-separator", '\u2028'),
            ("char-lone-surrogate", '\uD800'),
            ("datetime-utc", new DateTime(2026, 11, 22, 10, 30, 15, DateTimeKind.Utc).AddTicks(1)),
            ("datetime-unspecified", new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Unspecified)),
            ("datetime-local", new DateTime(2026, 7, 1, 12, 0, 0, DateTimeKind.Local)),
            ("datetime-min", DateTime.MinValue),
            ("datetime-max", DateTime.MaxValue),
            ("datetimeoffset-utc", new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero)),
            ("datetimeoffset-east", new DateTimeOffset(2026, 11, 22, 10, 30, 15, 500, TimeSpan.FromMinutes(330))),
            ("datetimeoffset-west", new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.FromHours(-8))),
            ("datetimeoffset-min", DateTimeOffset.MinValue),
            ("datetimeoffset-max", DateTimeOffset.MaxValue),
            ("dateonly", new DateOnly(2026, 11, 22)),
            ("timeonly", new TimeOnly(10, 30, 15, 123)),
            ("timespan", new TimeSpan(1, 2, 3, 4, 567)),
            ("timespan-negative", TimeSpan.FromTicks(-1234567890)),
            ("timespan-min", TimeSpan.MinValue),
            ("guid", new Guid("6f9619ff-8b86-d011-b42d-00c04fc964ff")),
            ("guid-empty", Guid.Empty),
            ("byte-array", new byte[] { 1, 2, 0xFF }),
            ("byte-array-large", Enumerable.Range(0, 2000).Select(i => (byte)i).ToArray()),
            ("enum", DayOfWeek.Monday),
            ("enum-flags", Access.Read | Access.Write),
            ("enum-undefined", (DayOfWeek)42),
            ("enum-negative", Signed.Minus),
            ("enum-negative-undefined", (Signed)(-5)),
            ("uri", new Uri("https://example.test/a?b=c&d=\"e\"")),
            ("version", new Version(1, 2, 3, 4)),
            ("opaque", new Opaque()),
        };
        foreach (var (name, value) in scalars)
            cases.Add(Logged("scalar-" + name, log => log.Information("Value {V}", value)));

        // Format strings and alignment (@r), through the fixed-point fast path and the general one.
        var formatted = new (string Name, string Template, object? Value)[]
        {
            ("decimal-0.00", "{V:0.00}", 2.345m),
            ("decimal-0.00-negative", "{V:0.00}", -2.345m),
            ("decimal-0.00-rounds-to-negative-zero", "{V:0.00}", -0.001m),
            ("decimal-0", "{V:0}", 2.5m),
            ("decimal-0-negative", "{V:0}", -2.5m),
            ("decimal-0.0-pads", "{V:0.0}", 7m),
            ("decimal-18-places", "{V:0.000000000000000000}", 1.0000000000000000000000000001m),
            ("decimal-max-0.00", "{V:0.00}", decimal.MaxValue),
            ("decimal-tiny-0.00", "{V:0.00}", 0.0000000000000000000000000001m),
            ("int-0.00", "{V:0.00}", 42),
            ("int-min-0.00", "{V:0.00}", int.MinValue),
            ("long-min-0.00", "{V:0.00}", long.MinValue),
            ("long-max-0", "{V:0}", long.MaxValue),
            ("double-0.00", "{V:0.00}", 2.345),
            ("double-n2", "{V:N2}", 1234567.891),
            ("double-e", "{V:E3}", 1e-7),
            ("double-nan-0.00", "{V:0.00}", double.NaN),
            ("double-negative-zero-0.00", "{V:0.00}", -0.0),
            ("float-0.00", "{V:0.00}", 0.125f),
            ("int-000", "{V:000}", 7),
            ("int-x8", "{V:x8}", 255),
            ("int-percent", "{V:P1}", 0.5),
            ("int-currency", "{V:C}", 12.5m),
            ("int-aligned-right", "{V,8}", 42),
            ("int-aligned-left", "{V,-8}", 42),
            ("decimal-aligned-fixed", "{V,10:0.00}", 3.14159m),
            ("decimal-left-fixed", "{V,-10:0.00}", 3.14159m),
            ("aligned-narrower-than-value", "{V,2:0.00}", 123456.789m),
            ("datetime-format", "{V:yyyy-MM-dd HH:mm}", new DateTime(2026, 11, 22, 10, 30, 0)),
            ("datetime-o", "{V:O}", new DateTime(2026, 11, 22, 10, 30, 0, DateTimeKind.Utc)),
            ("datetime-default-format", "{V:G}", new DateTime(2026, 11, 22, 10, 30, 0)),
            ("datetimeoffset-format", "{V:yyyy-MM-ddTHH:mm:sszzz}", new DateTimeOffset(2026, 11, 22, 10, 30, 0, TimeSpan.FromHours(-3))),
            ("timespan-format", "{V:c}", new TimeSpan(1, 2, 3)),
            ("timespan-custom-format", "{V:hh\\:mm}", new TimeSpan(1, 2, 3)),
            ("guid-n", "{V:N}", new Guid("6f9619ff-8b86-d011-b42d-00c04fc964ff")),
            ("enum-d", "{V:D}", DayOfWeek.Friday),
            ("enum-g", "{V:G}", Access.Read | Access.Write),
            ("enum-d-negative", "{V:D}", Signed.Minus),
            ("string-l", "{V:l}", "quoted \"text\""),
            ("string-with-format", "{V:x}", "quoted \"text\""),
            ("string-aligned", "{V,12}", "a\"b"),
            ("string-l-aligned", "{V,-12:l}", "a\"b"),
            ("null-formatted", "{V:0.00}", null),
            ("bool-formatted", "{V:x}", true),
            ("char-formatted", "{V:x}", 'c'),
            ("dateonly-format", "{V:yyyy/MM/dd}", new DateOnly(2026, 11, 22)),
            ("timeonly-format", "{V:HH:mm}", new TimeOnly(10, 30)),
            ("half-format", "{V:0.00}", (Half)1.5),
            ("biginteger-format", "{V:N0}", new BigInteger(1234567)),
            ("byte-array-formatted", "{V:x}", new byte[] { 1, 2 }),
        };
        foreach (var (name, template, value) in formatted)
            cases.Add(Logged("format-" + name, log => log.Information("Rendered " + template + " and plain {V}", value)));

        cases.Add(Logged("format-sequence", log => log.Information("{V:0.0}", new List<double> { 1, 2.25, -0.0 })));
        cases.Add(Logged("format-sequence-aligned", log => log.Information("{V,20:0.0}", new[] { 1.5m, 2m })));
        cases.Add(Logged("format-sequence-of-strings-l", log => log.Information("{V:l}", new[] { "a\"b", "c" })));
        cases.Add(Logged("format-structure", log => log.Information("{@V:0.00}", new Point { X = 1, Y = 2.5, Label = "p\"q" })));
        cases.Add(Logged("format-anonymous-structure", log => log.Information("{@V:l}", new { A = "x", B = new[] { 1, 2 } })));
        cases.Add(Logged("format-dictionary", log => log.Information("{V:0.00}", new Dictionary<string, decimal> { ["a"] = 1.5m, ["q\"uote"] = 2m })));
        cases.Add(Logged("format-dictionary-non-string-keys", log => log.Information("{V:x}", new Dictionary<int, string> { [1] = "one", [-2] = "two" })));
        cases.Add(Logged("format-several-tokens", log => log.Information("{A:0} {B} {A:0.0} {C,5} {D,-3:x}", 1.25m, "b", "c", 255)));
        cases.Add(Logged("format-repeated-name", log => log.Information("{A:0.00} then {A:0.000}", 1.23456m)));
        cases.Add(Logged("format-missing-property", log => log.Information("{Present:0.00} {Missing:0.00} {Other,3:000}", 1m)));
        cases.Add(Hand("format-missing-property-by-hand", "{Missing,-5:000} {Gone:l}"));
        cases.Add(Logged("format-positional", log => log.Information("{0:0.00} and {1} and {0,6}", 1.5m, "x")));
        cases.Add(Logged("format-positional-out-of-order", log => log.Information("{1:l} {0:0.0}", 2.25m, "first")));
        cases.Add(Logged("format-destructured-and-stringified", log => log.Information("{@P:x} {$Q,30}", new Point { X = 3 }, new Point { X = 4 })));

        // Strings: every escape class, at the lengths our writer treats apart (short quoted, fused, long runs).
        var controls = new string(Enumerable.Range(0, 0x20).Select(i => (char)i).ToArray());
        var specials = new (string Name, string Text)[]
        {
            ("empty", ""),
            ("plain", "hello"),
            ("quotes", "\"quoted\""),
            ("backslash", "back\\slash\\"),
            ("c0-controls", controls),
            ("del", "\u007F"),
            ("nel", "\u0085"),
            ("line-and-paragraph-separators", "\u2028\u2029"),
            ("lone-high-surrogate", "\uD800"),
            ("lone-low-surrogate", "\uDC00"),
            ("reversed-surrogates", "\uDC00\uD800"),
            ("surrogate-pair", "\uD83D\uDE00"),
            ("non-ascii", "é中文ß\u00A0\uFEFF\uFFFD\uFFFF"),
            ("html", "<script>alert('x')&amp;</script>"),
            ("template-like", "{not} {{a}} template}"),
        };
        foreach (var (name, text) in specials)
        {
            cases.Add(Logged("string-" + name, log => log.Information("Text {V}", text)));
            if (text.Length == 0 || name == "plain") continue;
            foreach (var length in new[] { 7, 63, 64, 65, 127, 129, 300 })
            {
                var around = Around(text, length);
                cases.Add(Logged("string-" + name + "-" + length, log => log.Information("Text {V}", around)));
            }
        }
        cases.Add(Logged("string-every-escape-class-in-one", log => log.Information("{V}", controls + "\"\\\u007F\u0085\u2028\u2029\uD800x\uDC00\uD83D\uDE00é<>&'")));
        cases.Add(Logged("string-long-clean-then-control", log => log.Information("{V}", new string('z', 200) + "\u0001")));

        // Templates: escaping in @mt, the empty template, text only, braces.
        cases.Add(Logged("template-empty", log => log.Information("")));
        cases.Add(Logged("template-text-only", log => log.Information("Nothing to see")));
        cases.Add(Logged("template-with-escapes", log => log.Information("Line1\nLine2\t\"q\" \\ \u0001 \u2028 é {V}", 1)));
        cases.Add(Logged("template-lone-surrogate", log => log.Information("\uD800 then {V}", 1)));
        cases.Add(Logged("template-escaped-braces", log => log.Information("{{literal}} {V} }} {{", 1)));
        cases.Add(Logged("template-unclosed-brace", log => log.Information("{V} and { unclosed", 1)));
        cases.Add(Logged("template-invalid-token", log => log.Information("{V} {not a name} {1x}", 1)));
        cases.Add(Logged("template-long", log => log.Information(new string('t', 1100) + " {V:0.00}", 1.5m)));
        cases.Add(Logged("template-more-arguments-than-tokens", log => log.Information("{A}", 1, 2, 3)));
        cases.Add(Logged("template-fewer-arguments-than-tokens", log => log.Information("{A} {B:0.00} {C}", 1)));

        // Structures, sequences, dictionaries.
        cases.Add(Logged("structure-typed", log => log.Information("{@V}", new Point { X = 1, Y = -0.5, Label = "l\"abel" })));
        cases.Add(Logged("structure-anonymous", log => log.Information("{@V}", new { A = 1, B = "two", C = (object?)null })));
        cases.Add(Logged("structure-nested", log => log.Information("{@V}", new { Outer = new { Inner = new Point { X = 2 }, List = new object[] { 1, "s", new { Deep = true } } } })));
        cases.Add(Logged("structure-empty", log => log.Information("{@V}", new Empty())));
        cases.Add(Logged("structure-record", log => log.Information("{@V}", new Person("Ada", 36))));
        cases.Add(Logged("structure-stringified", log => log.Information("{$V}", new Point { X = 5 })));
        cases.Add(Logged("structure-stringified-array", log => log.Information("{$V}", new[] { 1, 2 })));
        cases.Add(Logged("structure-stringified-string", log => log.Information("{$V}", "s\"t")));
        cases.Add(Logged("sequence-ints", log => log.Information("{V}", new[] { 1, 2, 3 })));
        cases.Add(Logged("sequence-empty", log => log.Information("{V}", Array.Empty<string>())));
        cases.Add(Logged("sequence-mixed", log => log.Information("{V}", new object?[] { 1, "a\"b", null, 2.5, true, DayOfWeek.Sunday, new DateTime(2026, 1, 1) })));
        cases.Add(Logged("sequence-nested", log => log.Information("{V}", new List<int[]> { new[] { 1 }, Array.Empty<int>(), new[] { 2, 3 } })));
        cases.Add(Logged("sequence-destructured", log => log.Information("{@V}", new[] { new Point { X = 1 }, new Point { X = 2 } })));
        cases.Add(Logged("dictionary-string-keys", log => log.Information("{V}", new Dictionary<string, object?> { ["a"] = 1, ["q\"\\\n"] = "v", ["null"] = null })));
        cases.Add(Logged("dictionary-int-keys", log => log.Information("{V}", new Dictionary<int, string> { [1] = "one", [-2] = "two" })));
        cases.Add(Logged("dictionary-double-keys", log => log.Information("{V}", new Dictionary<double, int> { [1.5] = 1, [-0.25] = 2, [double.NaN] = 3 })));
        cases.Add(Logged("dictionary-decimal-keys", log => log.Information("{V}", new Dictionary<decimal, int> { [1.50m] = 1 })));
        cases.Add(Logged("dictionary-datetime-keys", log => log.Information("{V}", new Dictionary<DateTime, int> { [new DateTime(2026, 11, 22, 10, 30, 0)] = 1 })));
        cases.Add(Logged("dictionary-guid-keys", log => log.Information("{V}", new Dictionary<Guid, int> { [new Guid("6f9619ff-8b86-d011-b42d-00c04fc964ff")] = 1 })));
        cases.Add(Logged("dictionary-enum-keys", log => log.Information("{V}", new Dictionary<DayOfWeek, int> { [DayOfWeek.Monday] = 1, [(DayOfWeek)(-3)] = 2 })));
        cases.Add(Logged("dictionary-bool-and-char-keys", log => log.Information("{V} {W}", new Dictionary<bool, int> { [true] = 1 }, new Dictionary<char, int> { ['"'] = 1 })));
        cases.Add(Logged("dictionary-nested", log => log.Information("{V}", new Dictionary<string, Dictionary<int, int[]>> { ["outer"] = new() { [1] = new[] { 1, 2 } } })));
        cases.Add(Logged("dictionary-empty", log => log.Information("{V}", new Dictionary<string, int>())));
        cases.Add(Logged("dictionary-destructured-values", log => log.Information("{@V}", new Dictionary<string, Point> { ["p"] = new Point { X = 9 } })));
        cases.Add(Hand("dictionary-null-key-by-hand", "{V}", properties:
            [("V", new DictionaryValue([new(new ScalarValue(null), new ScalarValue(1)), new(new ScalarValue(""), new ScalarValue(2))]))]));
        cases.Add(Hand("structure-names-needing-escapes-by-hand", "{V}", properties:
            [("V", new StructureValue([new LogEventProperty("q\"b\\c\n", new ScalarValue(1)), new LogEventProperty("@at", new ScalarValue(2)), new LogEventProperty("$type", new ScalarValue(3))], "Ty\"pe"))]));
        cases.Add(Hand("structure-type-tag-only-by-hand", "{V}", properties: [("V", new StructureValue([], "Tag"))]));
        cases.Add(Hand("scalar-to-string-returns-null-by-hand", "{V}", properties: [("V", new ScalarValue(new NullText()))]));

        // Property names: CLEF's @ rule and names that need escaping (never produced by a template, but by ForContext
        // and enrichers).
        cases.Add(Logged("names-at-prefixed", log => log.ForContext("@x", 1).ForContext("@@y", 2).ForContext("@", 3).ForContext("@t", 4).ForContext("@mt", 5).Information("{@Z}", new { A = 1 })));
        cases.Add(Logged("names-needing-escapes", log => log.ForContext("q\"uote", 1).ForContext("back\\slash", 2).ForContext("ctl\u0001\n", 3).ForContext("é中", 4).ForContext("\uD800", 5).ForContext("a@b", 6).Information("x")));
        cases.Add(Logged("names-long", log => log.ForContext(new string('n', 200), 1).ForContext("@" + new string('m', 150), 2).Information("x")));
        cases.Add(Logged("names-properties-not-in-template", log => log.ForContext("Extra", "e").ForContext("V", "context").Information("{A} {B:0.00}", 1, 2.5m)));

        // Levels (@l omitted for Information), exceptions (@x), trace and span ids (@tr, @sp).
        foreach (var level in new[] { LogEventLevel.Verbose, LogEventLevel.Debug, LogEventLevel.Information, LogEventLevel.Warning, LogEventLevel.Error, LogEventLevel.Fatal })
            cases.Add(Logged("level-" + level, log => log.Write(level, "At {Level}", level)));
        cases.Add(Hand("level-out-of-range-by-hand", "x", level: (LogEventLevel)42));
        cases.Add(Hand("level-negative-by-hand", "x", level: (LogEventLevel)(-1)));
        cases.Add(Logged("exception-not-thrown", log => log.Error(new InvalidOperationException("boom \"quoted\"\nsecond line\t\u0001"), "Failed {V}", 1)));
        cases.Add(Logged("exception-thrown", log => log.Error(Thrown(), "Failed")));
        cases.Add(Logged("exception-aggregate", log => log.Fatal(new AggregateException("many", new ArgumentException("arg", "p"), Thrown()), "Failed")));
        cases.Add(Logged("exception-at-information", log => log.Information(new Exception("é\uD800"), "Info with exception")));
        cases.Add(Hand("trace-and-span", "{V}", traceId: TraceId, spanId: SpanId, properties: [("V", new ScalarValue(1))]));
        cases.Add(Hand("trace-only", "x", traceId: TraceId));
        cases.Add(Hand("span-only", "x", spanId: SpanId));
        cases.Add(Hand("everything", "{A:0.00} {@B}", LogEventLevel.Warning, new FormatException("bad"), TraceId, SpanId, properties:
            [("A", new ScalarValue(1.005m)), ("B", new StructureValue([new LogEventProperty("C", new ScalarValue("d"))], "T")), ("@E", new ScalarValue(null))]));
        cases.Add(Logged("trace-and-span-from-activity", log =>
        {
            using var activity = new Activity("clef").SetIdFormat(ActivityIdFormat.W3C).SetParentId(TraceId, SpanId).Start();
            log.Warning("In {Span}", "activity");
        }));

        // Timestamps: @t in UTC whatever the offset.
        cases.Add(Hand("timestamp-utc", "x", timestamp: new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero)));
        cases.Add(Hand("timestamp-negative-offset", "x", timestamp: new DateTimeOffset(2026, 12, 31, 23, 59, 59, 999, TimeSpan.FromHours(-10))));
        cases.Add(Hand("timestamp-year-one", "x", timestamp: new DateTimeOffset(1, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        cases.Add(Hand("timestamp-max", "x", timestamp: DateTimeOffset.MaxValue));

        return cases;
    }

    static Exception Thrown()
    {
        try
        {
            throw new InvalidOperationException("thrown", new ArgumentNullException("inner"));
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    static ClefCase Logged(string name, Action<ILogger> write)
    {
        LogEvent? captured = null;
        using (var logger = new LoggerConfiguration()
                   .MinimumLevel.Verbose()
                   .WriteTo.Sink(new CaptureSink(e => captured = e))
                   .CreateLogger())
        {
            write(logger);
        }

        if (captured is null) throw new InvalidOperationException($"The case {name} wrote no event.");
        // The logger's clock, made the fixed timestamp; everything else as captured.
        return new ClefCase(name, new LogEvent(Timestamp, captured.Level, captured.Exception, captured.MessageTemplate,
            captured.Properties.Select(p => new LogEventProperty(p.Key, p.Value)), captured.TraceId ?? default, captured.SpanId ?? default));
    }

    static ClefCase Hand(string name, string template, LogEventLevel level = LogEventLevel.Information, Exception? exception = null,
        ActivityTraceId? traceId = null, ActivitySpanId? spanId = null, DateTimeOffset? timestamp = null,
        (string Name, LogEventPropertyValue Value)[]? properties = null) =>
        new(name, new LogEvent(timestamp ?? Timestamp, level, exception, Parser.Parse(template),
            (properties ?? []).Select(p => new LogEventProperty(p.Name, p.Value)), traceId ?? default, spanId ?? default));

    sealed class CaptureSink(Action<LogEvent> write) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => write(logEvent);
    }
}

sealed record ClefCase(string Name, LogEvent Event)
{
    public override string ToString() => Name;
}

[Flags]
enum Access
{
    Read = 1,
    Write = 2,
}

enum Signed
{
    Minus = -1,
    Zero = 0,
}

sealed class Point
{
    public int X { get; init; }
    public double Y { get; init; }
    public string? Label { get; init; }
}

sealed class Empty;

sealed record Person(string Name, int Age);

sealed class Opaque
{
    public override string ToString() => "opaque \"thing\"\n";
}

sealed class NullText
{
    public override string? ToString() => null;
}
