using System.Diagnostics;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

/// <summary>An exception whose text does not depend on where it was thrown, so golden files can hold it.</summary>
sealed class FixedException(string message) : Exception(message)
{
    public override string ToString() =>
        "Serilog.Extensions.Observability.Formatting.Tests.Support.FixedException: " + Message + "\n" +
        "   at Checkout.Pay(Order order) in /src/Checkout.cs:line 42\r\n" +
        "   at Checkout.Run()";
}

enum Colour { Red, Green }

sealed class Opaque
{
    public override string ToString() => "opaque \"thing\"";
}

/// <summary>
/// The events behind the golden files in Cases/: each key is a file name (without ".txt"). The expected outputs in the
/// files were written by hand from the rules of Serilog.Formatting.Compact 2.0 and Serilog 3.1.1's JsonValueFormatter.
/// </summary>
static class GoldenEvents
{
    static readonly MessageTemplateParser Parser = new();

    public static readonly DateTimeOffset Timestamp = new(2026, 11, 22, 10, 30, 15, 123, TimeSpan.Zero);

    public static LogEventPropertyValue S(object? value) => new ScalarValue(value);

    static LogEvent Event(string template, LogEventLevel level = LogEventLevel.Information, Exception? exception = null,
        DateTimeOffset? timestamp = null, ActivityTraceId? traceId = null, ActivitySpanId? spanId = null,
        params (string Name, LogEventPropertyValue Value)[] properties)
    {
        var list = new List<LogEventProperty>();
        foreach (var (name, value) in properties) list.Add(new LogEventProperty(name, value));
        return new LogEvent(timestamp ?? Timestamp, level, exception, Parser.Parse(template), list, traceId ?? default, spanId ?? default);
    }

    static LogEventPropertyValue Seq(params LogEventPropertyValue[] elements) => new SequenceValue(elements);

    static LogEventPropertyValue Struct(string? typeTag, params (string Name, LogEventPropertyValue Value)[] properties)
    {
        var list = new List<LogEventProperty>();
        foreach (var (name, value) in properties) list.Add(new LogEventProperty(name, value));
        return new StructureValue(list, typeTag);
    }

    static LogEventPropertyValue Dict(params (object? Key, LogEventPropertyValue Value)[] elements)
    {
        var list = new List<KeyValuePair<ScalarValue, LogEventPropertyValue>>();
        foreach (var (key, value) in elements) list.Add(new(new ScalarValue(key), value));
        return new DictionaryValue(list);
    }

    public static readonly ActivityTraceId TraceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
    public static readonly ActivitySpanId SpanId = ActivitySpanId.CreateFromString("b7ad6b7169203331");

    public static IReadOnlyDictionary<string, Func<LogEvent>> All { get; } = new Dictionary<string, Func<LogEvent>>
    {
        ["minimal"] = () => Event("Hello, {Name}!", properties: ("Name", S("World"))),

        ["empty-template"] = () => Event("", LogEventLevel.Debug),

        ["levels-verbose"] = () => Event("v", LogEventLevel.Verbose),
        ["levels-fatal"] = () => Event("f", LogEventLevel.Fatal),
        ["levels-out-of-range"] = () => Event("x", (LogEventLevel)42),

        ["timestamp-offset-is-converted-to-utc"] = () => Event("t", timestamp: new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.FromHours(5.5)).AddTicks(4567)),

        ["escaping-controls-quotes-backslash"] = () => Event("Said \"{Text}\" \\ \t",
            properties: ("Text", S("q\"b\\s/n\nr\rt\tf\fb\bnul\0u1\u0001u1f\u001fdel\u007fnel\u0085ls\u2028"))),

        ["escaping-non-ascii-and-surrogate-pairs"] = () => Event("Café {Word} 日本",
            properties: ("Word", S("naïve 😀 Ω"))),

        ["escaping-lone-surrogates"] = () => Event("Lone {High} {Low}",
            properties: [("High", S("a\ud800b")), ("Low", S("\udc00"))]),

        ["scalars-numbers"] = () => Event("n", properties:
        [
            ("Int", S(-42)), ("Long", S(9007199254740993L)), ("UInt", S(4000000000u)), ("ULong", S(ulong.MaxValue)),
            ("Short", S((short)-7)), ("UShort", S((ushort)7)), ("Byte", S((byte)255)), ("SByte", S((sbyte)-128)),
            ("Decimal", S(1.50m)), ("Double", S(0.1)), ("Big", S(1e20)), ("Small", S(1e-7)), ("NegZero", S(-0.0)),
            ("Float", S(3.4f)), ("NaN", S(double.NaN)), ("PosInf", S(double.PositiveInfinity)), ("NegInf", S(float.NegativeInfinity)),
            ("Huge", S((Int128)170141183460469231L)),
        ]),

        ["scalars-other"] = () => Event("o", properties:
        [
            ("True", S(true)), ("False", S(false)), ("Null", S(null)), ("Char", S('c')), ("Quote", S('"')),
            ("Utc", S(new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(6))), ("Unspecified", S(new DateTime(2020, 1, 2, 3, 4, 5))),
            ("Offset", S(new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)))),
            ("Span", S(TimeSpan.FromMilliseconds(1234.5))), ("NegSpan", S(-TimeSpan.FromDays(1.5))),
            ("Guid", S(Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"))), ("Enum", S(Colour.Green)), ("Undefined", S((Colour)7)),
            ("Uri", S(new Uri("https://example.com/a?b=c"))), ("Date", S(new DateOnly(2020, 1, 2))), ("Time", S(new TimeOnly(13, 4, 5))),
            ("Opaque", S(new Opaque())),
        ]),

        ["nested-values"] = () => Event("Order {@Order} tags {Tags} map {Map}", properties:
        [
            ("Order", Struct("Order",
                ("Id", S(7)),
                ("Lines", Seq(Struct(null, ("Sku", S("A-1")), ("Qty", S(2))), Struct("Line"))),
                ("Meta", Dict(("k", S("v")), (1, Seq()), (null, S(null)))))),
            ("Tags", Seq(S("a"), Seq(S(1), S(2.5)), S(null))),
            ("Map", Dict(("x\"y", Struct(null)), (true, S(false)))),
        ]),

        ["renderings-format-and-alignment"] = () => Event(
            "{Count:000} items at {Price,8:F2} for {User,-6} ({Ratio:P1}) {Name:l} [{Right,5}] [{Left,-5:l}] {When:yyyy-MM-dd} {Missing:x}",
            properties:
            [
                ("Count", S(7)), ("Price", S(3.14159)), ("User", S("bob")), ("Ratio", S(0.256)), ("Name", S("lit\"eral")),
                ("Right", S("ab")), ("Left", S("cd")), ("When", S(new DateTime(2026, 1, 2))),
            ]),

        ["renderings-sequence-and-structure"] = () => Event("{Items:l} {Obj} {$Str} {Map} {{braces}} {0}", properties:
        [
            ("Items", Seq(S("a"), S("b"))), ("Obj", Struct("T", ("A", S("x")), ("B", S(null)))), ("Str", S("s")),
            ("Map", Dict(("k", S(1)), (2, S("v")))), ("0", S("positional")),
        ]),

        ["exception-multiline"] = () => Event("Payment failed for {OrderId}", LogEventLevel.Error,
            new FixedException("Card \"declined\""), properties: ("OrderId", S(1001))),

        ["trace-and-span"] = () => Event("Traced", LogEventLevel.Warning, traceId: TraceId, spanId: SpanId,
            properties: ("Step", S(1))),

        ["at-named-properties"] = () => Event("At", properties:
        [
            ("@t", S("not the timestamp")), ("@@x", S(1)), ("@", S(2)), ("a@b", S(3)), ("$type", S(4)),
        ]),

        ["flat-reserved-and-snake-case"] = () => Event("Request {RequestPath} by {UserId}", traceId: TraceId, spanId: SpanId, properties:
        [
            ("RequestPath", S("/x")), ("UserId", S("u-1")), ("SourceContext", S("Shop.Checkout")), ("CorrelationId", S("c-9")),
            ("HTTPStatus", S(200)), ("clientIP", S("10.0.0.1")), ("ServiceName", S("checkout-api")), ("Elapsed2Ms", S(1.5)),
            ("Level", S("shadow")), ("message", S("shadow too")), ("TraceId", S("0af7651916cd43dd8448eb211c80319c")),
            ("SpanId", S("0000000000000001")), ("already_snake", S(true)), ("Exception", S("not an exception")),
        ]),

        ["flat-trace-id-from-property"] = () => Event("No ambient trace", properties:
        [
            ("TraceId", S("4bf92f3577b34da6a3ce929d0e0e4736")), ("SpanId", S("00f067aa0ba902b7")),
        ]),
    };

    public static LogEvent Get(string name) => All[name]();
}
