using System.Buffers;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.PerformanceTests.Formatting;

/// <summary>
/// Issue 2 section 4: a mix of events with a 5-property template including a format specifier (written through a real
/// logger, half with a SourceContext and half inside an Activity), formatted by
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
        // Built by a real logger, as every sink receives them: the event's property names are the template tokens'
        // own strings, the timestamps those the logger took, trace and span ids from the current Activity.
        var capture = new CaptureSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(capture).CreateLogger();
        var checkout = logger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Shop.Orders.Checkout");
        var levels = new[] { LogEventLevel.Information, LogEventLevel.Information, LogEventLevel.Warning, LogEventLevel.Debug };
        var regions = new[] { "eu-west", "us-east", "ap-south \"2\"", "eu-central" };
        var start = new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero);
        for (var i = 0; i < MixSize; i++)
        {
            using var activity = i % 2 == 1 ? new Activity("bench").SetIdFormat(ActivityIdFormat.W3C).Start() : null;
            (i % 2 == 0 ? checkout : logger).Write(levels[i % levels.Length], Template,
                100_000 + i * 7919, i % 3 == 0 ? "Zoë Ångström" : "customer-" + i, 12.5m * (i + 1) + 0.99m,
                start.AddMinutes(i * 13), regions[i % regions.Length]);
        }
        if (capture.Events.Count != MixSize) throw new InvalidOperationException("The logger did not write every event of the mix.");
        capture.Events.CopyTo(_events);
    }

    const string Template = "Order {OrderId} for {Customer} totalling {Total:0.00} at {When} from {Region}";

    sealed class CaptureSink : Serilog.Core.ILogEventSink
    {
        public readonly List<LogEvent> Events = new();
        public void Emit(LogEvent logEvent) => Events.Add(logEvent);
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
