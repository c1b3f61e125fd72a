using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.PerformanceTests.Enrichers;

/// <summary>Each enricher alone, against no enrichment: where the time of EnrichersBenchmarks goes.</summary>
[MemoryDiagnoser]
public class EnricherBreakdownBenchmarks
{
    readonly NullSink _sink = new();
    Logger _plain = null!;
    Logger _correlation = null!;
    Logger _span = null!;
    Logger _user = null!;
    Logger _threadId = null!;
    Logger _sevenFixed = null!;
    IDisposable? _correlationScope;
    IDisposable? _userScope;
    Activity? _activity;

    [GlobalSetup]
    public void Setup()
    {
        _plain = new LoggerConfiguration().WriteTo.Sink(_sink).CreateLogger();
        _correlation = new LoggerConfiguration().Enrich.WithCorrelation().WriteTo.Sink(_sink).CreateLogger();
        _span = new LoggerConfiguration().Enrich.WithSpan().WriteTo.Sink(_sink).CreateLogger();
        _user = new LoggerConfiguration().Enrich.WithUser().WriteTo.Sink(_sink).CreateLogger();
        _threadId = new LoggerConfiguration().Enrich.WithThreadId().WriteTo.Sink(_sink).CreateLogger();
        _sevenFixed = new LoggerConfiguration().Enrich.With(new SevenFixedProperties()).WriteTo.Sink(_sink).CreateLogger();
        _activity = new Activity("benchmark").SetIdFormat(ActivityIdFormat.W3C).Start();
        _correlationScope = CorrelationContext.Begin();
        _userScope = UserContext.Begin("user-42", "tenant-7", "session-9");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _userScope?.Dispose();
        _correlationScope?.Dispose();
        _activity?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void NoEnrichment() => _plain.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);

    [Benchmark]
    public void CorrelationOnly() => _correlation.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);

    [Benchmark]
    public void SpanOnly() => _span.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);

    [Benchmark]
    public void UserOnly() => _user.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);

    [Benchmark]
    public void ThreadIdOnly() => _threadId.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);

    // The floor: one enricher adding seven pre-built properties, no ambient look-ups at all.
    [Benchmark]
    public void SevenPrebuiltProperties() => _sevenFixed.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);

    sealed class NullSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
        }
    }

    sealed class SevenFixedProperties : ILogEventEnricher
    {
        readonly LogEventProperty[] _properties =
        {
            new("CorrelationId", new ScalarValue("0af7651916cd43dd8448eb211c80319c")),
            new("TraceId", new ScalarValue("0af7651916cd43dd8448eb211c80319c")),
            new("SpanId", new ScalarValue("b7ad6b7169203331")),
            new("UserId", new ScalarValue("user-42")),
            new("TenantId", new ScalarValue("tenant-7")),
            new("SessionId", new ScalarValue("session-9")),
            new("ThreadId", new ScalarValue(1)),
        };

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            foreach (var property in _properties) logEvent.AddPropertyIfAbsent(property);
        }
    }
}
