using System.Buffers;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Formatting.Json;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.PerformanceTests.Formatting;

/// <summary>
/// Issue 2 section 4: a mix of events with a 5-property template including a format specifier, formatted by
/// Serilog's own JsonFormatter (baseline), our CompactJsonFormatter through a TextWriter, and its UTF-8 path into a
/// reused buffer. One operation formats every event of the mix once; results are per event.
/// </summary>
[MemoryDiagnoser]
public class JsonFormatterBenchmarks
{
    const int MixSize = 8;

    readonly LogEvent[] _events = new LogEvent[MixSize];
    readonly JsonFormatter _serilogJson = new();
    readonly CompactJsonFormatter _compact = new();
    readonly RenderedCompactJsonFormatter _rendered = new();
    readonly FlatJsonFormatter _flat = new();
    readonly StringWriter _text = new();
    readonly ArrayBufferWriter<byte> _utf8 = new(64 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        var template = new MessageTemplateParser().Parse("Order {OrderId} for {Customer} totalling {Total:0.00} at {When} from {Region}");
        var levels = new[] { LogEventLevel.Information, LogEventLevel.Information, LogEventLevel.Warning, LogEventLevel.Debug };
        var regions = new[] { "eu-west", "us-east", "ap-south \"2\"", "eu-central" };
        var start = new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero);
        for (var i = 0; i < MixSize; i++)
        {
            var properties = new List<LogEventProperty>
            {
                new("OrderId", new ScalarValue(100_000 + i * 7919)),
                new("Customer", new ScalarValue(i % 3 == 0 ? "Zoë Ångström" : "customer-" + i)),
                new("Total", new ScalarValue(12.5m * (i + 1) + 0.99m)),
                new("When", new ScalarValue(start.AddMinutes(i * 13))),
                new("Region", new ScalarValue(regions[i % regions.Length])),
            };
            if (i % 2 == 0) properties.Add(new LogEventProperty("SourceContext", new ScalarValue("Shop.Orders.Checkout")));
            var traceId = i % 2 == 1 ? ActivityTraceId.CreateRandom() : default;
            var spanId = i % 2 == 1 ? ActivitySpanId.CreateRandom() : default;
            _events[i] = new LogEvent(start.AddMilliseconds(i * 37), levels[i % levels.Length], null, template, properties, traceId, spanId);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = MixSize)]
    public int SerilogJsonFormatter()
    {
        var builder = _text.GetStringBuilder();
        builder.Clear();
        foreach (var logEvent in _events) _serilogJson.Format(logEvent, _text);
        return builder.Length;
    }

    [Benchmark(OperationsPerInvoke = MixSize)]
    public int CompactTextWriter()
    {
        var builder = _text.GetStringBuilder();
        builder.Clear();
        foreach (var logEvent in _events) _compact.Format(logEvent, _text);
        return builder.Length;
    }

    [Benchmark(OperationsPerInvoke = MixSize)]
    public int CompactUtf8()
    {
        _utf8.Clear();
        foreach (var logEvent in _events) _compact.Format(logEvent, _utf8);
        return _utf8.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = MixSize)]
    public int RenderedCompactUtf8()
    {
        _utf8.Clear();
        foreach (var logEvent in _events) _rendered.Format(logEvent, _utf8);
        return _utf8.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = MixSize)]
    public int FlatUtf8()
    {
        _utf8.Clear();
        foreach (var logEvent in _events) _flat.Format(logEvent, _utf8);
        return _utf8.WrittenCount;
    }
}
