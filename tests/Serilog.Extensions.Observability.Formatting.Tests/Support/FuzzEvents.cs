using System.Diagnostics;
using System.Numerics;
using System.Text;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

/// <summary>
/// A seeded, bounded generator of hostile but legal log events for differential tests of the formatters: templates
/// with text, named, positional, <c>@</c>/<c>$</c>, aligned and formatted holes, missing properties, escaped and stray
/// braces; odd property names (<c>@</c>-prefixed, CLEF and flat reserved names, unicode, lone surrogates, longer than
/// any cache keeps), enricher-style properties that share a hole's name; every scalar type Serilog's
/// <c>JsonValueFormatter</c> knows and some it does not; sequences, structures with and without type tags, dictionaries
/// with odd keys, nested; thrown exceptions with inner and aggregated ones; every level and two undefined ones; trace
/// and span ids. Templates are reused by reference, so a formatter's per-instance cache is hit with changing values.
/// </summary>
/// <param name="seed">The seed: the same seed gives the same events.</param>
/// <param name="cultureNeutral">Leave out what the README says follows the current culture (values Serilog writes with
/// <c>ToString()</c> that the culture changes: <c>Half</c>, <c>Int128</c>, <c>BigInteger</c>, <c>nint</c>, unknown
/// formattable types, negative enum values that name no member; dictionary keys that are not strings), so an event
/// formats the same under any culture.</param>
sealed class FuzzEvents(int seed, bool cultureNeutral = false)
{
    readonly Random _random = new(seed);
    readonly List<(MessageTemplate Template, string[] Names)> _templates = [];
    static readonly MessageTemplateParser Parser = new();

    // Controls, JSON specials, DEL/NEL/LS/PS, non-ASCII, a surrogate pair, lone surrogates, NUL.
    const string Alphabet = "abcXYZ 09_-.:,@$#%\"\\/<>&'+\u007f\u0085\u2028\u2029\u00a0éßİıΣ日本\ud83d\ude00\ud800\udfff\0\t\r\n\ufeff\ufffe";

    // Letters, digits and '_' only: what the template parser accepts as a hole's name.
    static readonly string[] HoleNames =
    [
        "A", "B", "Count", "Elapsed", "UserId", "user_id", "HTTPStatus", "_x", "x1", "Größe", "名前", "Σίσυφος", "İstanbul",
        "Level", "Message", "Timestamp", "SourceContext", "TraceId", "SpanId", "ServiceName", "Exception", "logger", "mt",
        new string('L', 130), "Ü" + new string('ä', 200),
    ];

    // Anything an enricher or ForContext may use: a name need only not be empty or white space.
    static readonly string[] OddNames =
    [
        "@t", "@mt", "@m", "@l", "@x", "@i", "@r", "@tr", "@sp", "@@t", "@", "@@", "$type", "_level", "__level", "level", "timestamp",
        "message", "message_template", "trace_id", "span_id", "exception", "Logger", "a b", " lead", "q\"u\\o/te", "\ud800", "x\udc00y",
        "a\0b", "tab\there", "a\u2028", "\u007f\u0085", "😀", "ThreadId", "CorrelationId", "ABCDef", "aB", "ΑΒΓ", "İI",
        "@" + new string('n', 140), new string('\u00e9', 129),
    ];

    static readonly string[] Formats =
    [
        "0", "0.00", "000.0", "#,##0.00", "0.00;(0.00)", "0.##e+0", "N2", "F3", "E2", "G", "G17", "R", "C", "P1", "D5", "X4", "x", "l", "j",
        "c", "g", "o", "O", "u", "s", "yyyy-MM-dd HH:mm:ss.fff zzz", "HH\\:mm", "d", "dddd", "B", "N", "000", " 0 ", "%", "'lit'",
    ];

    string Text(int maxLength)
    {
        var length = _random.Next(maxLength + 1);
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
            builder.Append(_random.Next(8) == 0 ? (char)_random.Next(0x20) : Alphabet[_random.Next(Alphabet.Length)]);
        return builder.ToString();
    }

    T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    bool OneIn(int n) => _random.Next(n) == 0;

    (MessageTemplate Template, string[] Names) NewTemplate()
    {
        var template = new StringBuilder();
        var names = new List<string>();
        var positional = OneIn(4);
        var holes = _random.Next(6);
        for (var h = 0; h <= holes; h++)
        {
            // Now and then a run long enough for the escaping paths that work run by run.
            var text = Text(OneIn(12) ? 300 : 6);
            // Mostly escaped braces; sometimes stray ones and malformed holes, which the parser keeps as text.
            template.Append(OneIn(6) ? text : text.Replace("{", "{{").Replace("}", "}}"));
            if (h == holes) break;
            if (OneIn(10))
            {
                template.Append(Pick(new[] { "{", "}", "{ X}", "{X ", "{X:}", "{X,}", "{,5}", "{@}", "{X,-}", "{X,a}", "{0 }", "{}", "{{}}", "{X:a}b}" }));
                continue;
            }

            var name = positional ? _random.Next(4).ToString(System.Globalization.CultureInfo.InvariantCulture) : OneIn(8) ? "Missing" + h : Pick(HoleNames);
            names.Add(name);
            template.Append('{');
            if (!positional && OneIn(4)) template.Append(OneIn(2) ? '@' : '$');
            template.Append(name);
            if (OneIn(3)) template.Append(',').Append(OneIn(2) ? "-" : "").Append(_random.Next(1, 25));
            if (OneIn(2)) template.Append(':').Append(Pick(Formats));
            template.Append('}');
        }

        // A template longer than any cache keeps (interpolated text passed as the template).
        if (OneIn(40)) template.Append(new string('w', 1100)).Append("{A}");
        return (Parser.Parse(template.ToString()), names.Distinct().ToArray());
    }

    object? Scalar() => _random.Next(cultureNeutral ? 34 : 42) switch
    {
        0 => null,
        1 => Text(16),
        2 => Pick(new[] { "", "\ud800", "\udc00x", "a\ud83d", "\0", "\"\\\"", "\u2028\u2029", "</script>", "{X}", new string('z', 300) }),
        3 => _random.Next(int.MinValue, int.MaxValue),
        4 => Pick(new object[] { int.MinValue, int.MaxValue, long.MinValue, long.MaxValue, ulong.MaxValue, uint.MaxValue, 0, -1, 0L }),
        5 => _random.NextInt64(long.MinValue, long.MaxValue),
        6 => (ulong)_random.NextInt64() * 2 + 1,
        7 => Pick(new object[] { (byte)0, byte.MaxValue, sbyte.MinValue, sbyte.MaxValue, short.MinValue, short.MaxValue, ushort.MaxValue, (uint)_random.Next() }),
        8 => (_random.NextDouble() - 0.5) * Math.Pow(10, _random.Next(-320, 309)),
        9 => Pick(new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0, double.Epsilon, 1e-310, 1e308, -1e308, double.MaxValue, double.MinValue, 0.1, 1.0 / 3 }),
        10 => (float)((_random.NextDouble() - 0.5) * Math.Pow(10, _random.Next(-45, 39))),
        11 => Pick(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0.0f, float.Epsilon, 1e-40f, float.MaxValue, 1.1f }),
        12 => new decimal(_random.Next(), _random.Next(), _random.Next(), OneIn(2), (byte)_random.Next(29)),
        13 => Pick(new[] { decimal.MinValue, decimal.MaxValue, -0.0m, 0.000m, 1.10m, 0.0000000000000000000000000001m }),
        14 => OneIn(2),
        15 => Pick(new[] { 'x', '"', '\\', '\0', '\n', '\u2028', '\ud800', '\udfff', 'é', '{' }),
        16 => DateTime.SpecifyKind(new DateTime(_random.NextInt64(DateTime.MaxValue.Ticks)), (DateTimeKind)_random.Next(3)),
        17 => Pick(new[] { DateTime.MinValue, DateTime.MaxValue, DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc), new DateTime(2026, 3, 29, 2, 30, 0, DateTimeKind.Local) }),
        18 => new DateTimeOffset(new DateTime(_random.NextInt64(DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay) + TimeSpan.TicksPerDay), TimeSpan.FromMinutes(_random.Next(-14 * 60, 14 * 60 + 1))),
        19 => Pick(new[] { DateTimeOffset.MinValue, DateTimeOffset.MaxValue, new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.FromHours(-14)) }),
        20 => TimeSpan.FromTicks(_random.NextInt64(long.MinValue, long.MaxValue)),
        21 => Pick(new[] { TimeSpan.Zero, TimeSpan.MinValue, TimeSpan.MaxValue, TimeSpan.FromTicks(-1) }),
        22 => DateOnly.FromDayNumber(_random.Next(DateOnly.MaxValue.DayNumber + 1)),
        23 => new TimeOnly(_random.NextInt64(TimeOnly.MaxValue.Ticks + 1)),
        24 => new Guid(Enumerable.Range(0, 16).Select(_ => (byte)_random.Next(256)).ToArray()),
        25 => Pick(new[] { new Uri("https://example.com/a b?q=\"x\"&r=é#f"), new Uri("relative/path", UriKind.Relative), new Uri("file:///tmp/x") }),
        // Serilog writes an enum with ToString(): a negative value that names no member follows the current culture.
        26 => (DayOfWeek)_random.Next(cultureNeutral ? 0 : -1, 9),
        27 => (FileAttributes)Pick(new[] { 0, 1, 3, 0x20 | 0x80, 0x40000000, cultureNeutral ? 2 : -1 }),
        28 => Enumerable.Range(0, _random.Next(5)).Select(_ => (byte)_random.Next(256)).ToArray(),
        29 => new Version(1, _random.Next(10), 3),
        30 => new Plain(Text(8)),
        31 => Text(4).ToCharArray(),
        32 => LogEventLevel.Warning,
        33 => Text(OneIn(3) ? 400 : 40),
        // Written with ToString() by Serilog, so in the current culture.
        34 => (Half)((_random.NextDouble() - 0.5) * 100),
        35 => (Int128)_random.NextInt64() * long.MaxValue,
        36 => UInt128.MaxValue,
        37 => new BigInteger(_random.NextDouble() * 1e30),
        38 => (nint)_random.Next(int.MinValue, int.MaxValue),
        39 => (nuint)_random.Next(),
        40 => new CultureText(),
        _ => Complex.ImaginaryOne * -1.5,
    };

    /// <summary>A type Serilog knows nothing of: written with <c>ToString()</c>.</summary>
    sealed class Plain(string text)
    {
        public override string ToString() => "Plain:" + text;
    }

    /// <summary>An IFormattable whose text depends on the culture it is given.</summary>
    sealed class CultureText : IFormattable
    {
        public override string ToString() => ToString(null, null);

        public string ToString(string? format, IFormatProvider? formatProvider) =>
            "[" + format + "|" + ((formatProvider as System.Globalization.CultureInfo) ?? System.Globalization.CultureInfo.CurrentCulture).Name + "|" + (-1.5).ToString(formatProvider) + "]";
    }

    ScalarValue Key() => new(_random.Next(cultureNeutral ? 3 : 7) switch
    {
        0 => Text(6),
        1 => Pick(new[] { "", "@t", "$type", "\ud800", "a\"b", "\0" }),
        2 => null,
        3 => _random.Next(-5, 5),
        4 => -1.5,
        5 => OneIn(2),
        _ => new DateTime(2026, 1, 2, 3, 4, 5),
    });

    LogEventPropertyValue Value(int depth)
    {
        switch (depth > 3 ? 0 : _random.Next(8))
        {
            case 1:
                return new SequenceValue(Enumerable.Range(0, _random.Next(5)).Select(_ => Value(depth + 1)).ToList());
            case 2:
                var members = new List<LogEventProperty>();
                for (var i = _random.Next(5); i > 0; i--) members.Add(new LogEventProperty(OneIn(3) ? Pick(OddNames) : Pick(HoleNames), Value(depth + 1)));
                return new StructureValue(members, _random.Next(3) switch { 0 => null, 1 => "Tag" + Text(4), _ => Pick(new[] { "", "\ud800", "a\"b", "$type" }) });
            case 3:
                var entries = new Dictionary<ScalarValue, LogEventPropertyValue>();
                for (var i = _random.Next(5); i > 0; i--) entries[Key()] = Value(depth + 1);
                return new DictionaryValue(entries);
            default:
                return new ScalarValue(Scalar());
        }
    }

    Exception? NewException()
    {
        if (!OneIn(5)) return null;
        var message = Text(20);
        Exception exception = _random.Next(4) switch
        {
            0 => new InvalidOperationException(message),
            1 => new InvalidOperationException(message, new ArgumentException(Text(8), "param" + Text(3))),
            2 => new AggregateException(message, new FormatException(Text(5)), new TimeoutException(Text(5))),
            _ => new FuzzException(message),
        };
        if (OneIn(2))
        {
            try { throw exception; }
            catch (Exception thrown) { exception = thrown; }
        }
        return exception;
    }

    sealed class FuzzException(string message) : Exception(message);

    public LogEvent Next()
    {
        var (template, names) = _templates.Count > 0 && OneIn(2) ? Pick(_templates) : NewTemplate();
        if (_templates.Count < 64) _templates.Add((template, names));

        var properties = new Dictionary<string, LogEventPropertyValue>(StringComparer.Ordinal);
        foreach (var name in names)
            if (!name.StartsWith("Missing", StringComparison.Ordinal) && !OneIn(12)) properties[name] = Value(0);

        // Enricher-style properties: an odd name, or a hole's name that the enricher overwrites or leaves.
        for (var i = _random.Next(4); i > 0; i--)
        {
            var name = OneIn(3) && names.Length > 0 ? Pick(names) : OneIn(2) ? Pick(OddNames) : Pick(HoleNames);
            if (OneIn(2) || !properties.ContainsKey(name)) properties[name] = Value(0);
        }
        // Many properties: past the sizes where lookups and the flat formatter's key check change strategy.
        if (OneIn(25))
            for (var i = _random.Next(10, 45); i > 0; i--) properties[Pick(HoleNames) + i] = Value(2);
        if (OneIn(4)) properties["SourceContext"] = new ScalarValue(OneIn(4) ? Text(10) : "Shop.Checkout");
        if (OneIn(8)) properties["EventId"] = new StructureValue([new LogEventProperty("Id", new ScalarValue(_random.Next(100))), new LogEventProperty("Name", new ScalarValue("Paid"))]);

        var traceId = OneIn(3) ? ActivityTraceId.CreateFromBytes(Bytes(16)) : default(ActivityTraceId?);
        var spanId = OneIn(3) ? ActivitySpanId.CreateFromBytes(Bytes(8)) : default(ActivitySpanId?);
        if (OneIn(6)) properties["TraceId"] = new ScalarValue(traceId is { } t && OneIn(2) ? t.ToHexString() : Text(32));
        if (OneIn(6)) properties["SpanId"] = new ScalarValue(spanId is { } s && OneIn(2) ? s.ToHexString() : Text(16));

        var level = OneIn(20) ? (LogEventLevel)Pick(new[] { -1, 6, 42 }) : (LogEventLevel)_random.Next(6);
        var timestamp = OneIn(30)
            ? Pick(new[] { DateTimeOffset.MinValue, DateTimeOffset.MaxValue, new DateTimeOffset(1, 1, 1, 14, 0, 0, TimeSpan.FromHours(14)) })
            : new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromMinutes(_random.Next(-14 * 4, 14 * 4 + 1) * 15)).AddTicks(_random.NextInt64(1L << 50));
        return new LogEvent(timestamp, level, NewException(), template,
            properties.Select(p => new LogEventProperty(p.Key, p.Value)), traceId ?? default, spanId ?? default);
    }

    byte[] Bytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        bytes[0] |= 1; // an all-zero id is "no id"
        return bytes;
    }
}
