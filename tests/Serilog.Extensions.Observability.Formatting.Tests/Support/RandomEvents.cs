using System.Diagnostics;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

/// <summary>Seeded random events covering every value shape, for comparing against Serilog's own pieces.</summary>
sealed class RandomEvents(int seed)
{
    readonly Random _random = new(seed);
    static readonly MessageTemplateParser Parser = new();

    // Every C0 control, the JSON specials, DEL/NEL/LS/PS, non-ASCII, a surrogate pair and braces for templates.
    const string Alphabet = "abcXYZ 019_-.:,@$\"\\/{}<>&'\u007f\u0085\u2028\u2029éß日本\ud83d\ude00";

    string Text(int maxLength, bool controls = true)
    {
        var length = _random.Next(maxLength + 1);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = controls && _random.Next(6) == 0 ? (char)_random.Next(0x20) : Alphabet[_random.Next(Alphabet.Length)];
        }
        return new string(chars);
    }

    object? Scalar() => _random.Next(20) switch
    {
        0 => null,
        1 => Text(12),
        2 => _random.Next(int.MinValue, int.MaxValue),
        3 => _random.NextInt64(),
        4 => (_random.NextDouble() - 0.5) * Math.Pow(10, _random.Next(-30, 30)),
        5 => (float)_random.NextDouble(),
        6 => (decimal)_random.NextDouble() * 1000m,
        7 => _random.Next(2) == 0,
        8 => (char)_random.Next(0x20, 0x7f),
        9 => new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(_random.NextInt64(1L << 52)),
        10 => new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.FromMinutes(_random.Next(-12, 14) * 30)).AddTicks(_random.NextInt64(1L << 52)),
        11 => TimeSpan.FromTicks(_random.NextInt64(-1L << 45, 1L << 45)),
        12 => new Guid(Enumerable.Range(0, 16).Select(_ => (byte)_random.Next(256)).ToArray()),
        13 => (DayOfWeek)_random.Next(9),
        14 => (byte)_random.Next(256),
        15 => (ulong)_random.NextInt64() * 2,
        16 => new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, double.Epsilon }[_random.Next(5)],
        17 => new Uri("https://example.com/" + _random.Next()),
        18 => (short)_random.Next(short.MinValue, short.MaxValue),
        _ => Text(20),
    };

    LogEventPropertyValue Value(int depth)
    {
        var kind = depth > 2 ? 0 : _random.Next(6);
        switch (kind)
        {
            case 1:
                return new SequenceValue(Enumerable.Range(0, _random.Next(4)).Select(_ => Value(depth + 1)).ToList());
            case 2:
                return new StructureValue(
                    Enumerable.Range(0, _random.Next(4)).Select(i => new LogEventProperty("P" + i + Text(3, controls: false).Replace("{", "").Replace("}", ""), Value(depth + 1))).ToList(),
                    _random.Next(2) == 0 ? null : "Tag" + Text(4));
            case 3:
                var entries = new Dictionary<ScalarValue, LogEventPropertyValue>();
                for (var i = 0; i < _random.Next(4); i++) entries[new ScalarValue(i % 2 == 0 ? Text(5) : _random.Next(100))] = Value(depth + 1);
                return new DictionaryValue(entries);
            default:
                return new ScalarValue(Scalar());
        }
    }

    static readonly string[] Formats = ["000", "x", "l", "N2", "F1", "yyyy", "R", "G", "D", "c", "O"];

    public LogEvent Next()
    {
        var names = new List<string>();
        var properties = new List<LogEventProperty>();
        var count = _random.Next(6);
        for (var i = 0; i < count; i++)
        {
            var name = (_random.Next(5) == 0 ? "@" : "") + "Prop" + i;
            names.Add(name);
            properties.Add(new LogEventProperty(name, Value(0)));
        }

        var template = Text(8, controls: true).Replace("{", "{{").Replace("}", "}}");
        foreach (var name in names)
        {
            var bare = name.TrimStart('@');
            var hole = _random.Next(4) switch
            {
                0 => "{" + bare + "}",
                1 => "{" + bare + "," + (_random.Next(2) == 0 ? "-" : "") + _random.Next(1, 30) + "}",
                _ => "{" + bare + ":" + Formats[_random.Next(Formats.Length)] + "}",
            };
            template += Text(5, controls: true).Replace("{", "{{").Replace("}", "}}") + hole;
        }
        if (_random.Next(4) == 0) template += " {Missing:000}";

        var level = (LogEventLevel)_random.Next(6);
        var exception = _random.Next(5) == 0 ? new FixedException(Text(15)) : null;
        var traceId = _random.Next(3) == 0 ? ActivityTraceId.CreateRandom() : default;
        var spanId = _random.Next(3) == 0 ? ActivitySpanId.CreateRandom() : default;
        var timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(_random.Next(-11, 12))).AddTicks(_random.NextInt64(1L << 48));
        return new LogEvent(timestamp, level, exception, Parser.Parse(template), properties, traceId, spanId);
    }
}
