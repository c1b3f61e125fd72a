using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.PerformanceTests.Enrichers;

/// <summary>
/// One event through a logger whose sink does nothing: (a) no enrichment, (b) WithCorrelation + WithSpan +
/// WithUser + WithThreadId with ambient correlation and user scopes and a root Activity open, (c)
/// Enrich.FromLogContext() with the same seven values pushed once through LogContext.PushProperty.
/// </summary>
[MemoryDiagnoser]
public class EnrichersBenchmarks
{
    const int ExpectedEnrichedProperties = 7;

    readonly LastEventSink _sink = new();
    Logger _plain = null!;
    Logger _ours = null!;
    Logger _logContext = null!;
    readonly List<IDisposable> _scopes = new();
    Activity? _activity;

    [GlobalSetup]
    public void Setup()
    {
        _plain = new LoggerConfiguration().WriteTo.Sink(_sink).CreateLogger();
        _ours = new LoggerConfiguration()
            .Enrich.WithCorrelation()
            .Enrich.WithSpan()
            .Enrich.WithUser()
            .Enrich.WithThreadId()
            .WriteTo.Sink(_sink)
            .CreateLogger();
        _logContext = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Sink(_sink).CreateLogger();

        // Set in a synchronous method, so the values stay in this thread's execution context for the
        // benchmark iterations (GlobalCleanup checks that they did).
        _activity = new Activity("benchmark").SetIdFormat(ActivityIdFormat.W3C).Start();
        _scopes.Add(CorrelationContext.Begin());
        _scopes.Add(UserContext.Begin("user-42", "tenant-7", "session-9"));
        _scopes.Add(LogContext.PushProperty("CorrelationId", CorrelationContext.CurrentId));
        _scopes.Add(LogContext.PushProperty("TraceId", _activity.TraceId.ToHexString()));
        _scopes.Add(LogContext.PushProperty("SpanId", _activity.SpanId.ToHexString()));
        _scopes.Add(LogContext.PushProperty("UserId", "user-42"));
        _scopes.Add(LogContext.PushProperty("TenantId", "tenant-7"));
        _scopes.Add(LogContext.PushProperty("SessionId", "session-9"));
        _scopes.Add(LogContext.PushProperty("ThreadId", Environment.CurrentManagedThreadId));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var last = _sink.Last;
        var plainCount = last?.MessageTemplate.Tokens.Count(t => t is Serilog.Parsing.PropertyToken) ?? 0;
        for (var i = _scopes.Count - 1; i >= 0; i--) _scopes[i].Dispose();
        _activity?.Dispose();
        _plain.Dispose();
        _ours.Dispose();
        _logContext.Dispose();

        // The enriched cases must really have carried the seven values; fail the run loudly if not.
        if (last is not null && _sink.LastWasEnriched && last.Properties.Count != plainCount + ExpectedEnrichedProperties)
            throw new InvalidOperationException($"Expected {plainCount + ExpectedEnrichedProperties} properties, got {last.Properties.Count}.");
    }

    [Benchmark(Baseline = true)]
    public void NoEnrichment()
    {
        _sink.LastWasEnriched = false;
        _plain.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);
    }

    [Benchmark]
    public void ObservabilityEnrichers()
    {
        _sink.LastWasEnriched = true;
        _ours.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);
    }

    [Benchmark]
    public void LogContextPushProperty()
    {
        _sink.LastWasEnriched = true;
        _logContext.Information("Processed {OrderId} in {Elapsed} ms", 42, 12.5);
    }

    sealed class LastEventSink : ILogEventSink
    {
        public LogEvent? Last;
        public bool LastWasEnriched;

        // Does nothing but keep a reference, which costs the same in every case.
        public void Emit(LogEvent logEvent) => Last = logEvent;
    }
}
