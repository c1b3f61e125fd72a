using BenchmarkDotNet.Attributes;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.PerformanceTests.Timing;

/// <summary>Keeps only the last event, so a cleanup step can check the benchmark measured what it claims.</summary>
sealed class LastEventSink : ILogEventSink
{
    public LogEvent? Last;

    public void Emit(LogEvent logEvent) => Last = logEvent;

    public void Require(params string[] properties)
    {
        foreach (var name in properties)
            if (Last is null || !Last.Properties.ContainsKey(name))
                throw new InvalidOperationException($"The measured events did not carry {name}: the benchmark did not measure what it claims.");
    }
}

/// <summary>
/// One event logged inside a running stage: Enrich.WithPipelineTiming() against Enrich.FromLogContext() with the
/// same five properties pushed once through LogContext.PushProperty (the goal: at most 1.25x), and a
/// logger without enrichment for scale. The sink keeps the last event and does nothing else.
/// </summary>
[MemoryDiagnoser]
public class StageEnrichmentBenchmarks
{
    readonly LastEventSink _sink = new();
    Logger _logger = null!;
    IDisposable[] _scopes = [];
    PipelineTimer? _pipeline;
    StageTimer? _stage;

    [GlobalSetup(Target = nameof(LogContextFiveProperties))]
    public void SetupLogContext()
    {
        _logger = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Sink(_sink).CreateLogger();
        _scopes =
        [
            LogContext.PushProperty("Pipeline", "voice-turn"),
            LogContext.PushProperty("PipelineId", "0af7651916cd43dd"),
            LogContext.PushProperty("Stage", "stt"),
            LogContext.PushProperty("StageElapsedMs", 12.5),
            LogContext.PushProperty("PipelineElapsedMs", 40.25),
        ];
    }

    [GlobalSetup(Target = nameof(WithPipelineTimingInsideStage))]
    public void SetupPipelineTiming()
    {
        _logger = new LoggerConfiguration().Enrich.WithPipelineTiming().WriteTo.Sink(_sink).CreateLogger();
        _pipeline = PipelineTimer.Begin("voice-turn", _logger);
        _stage = _pipeline.Stage("stt");
    }

    [GlobalSetup(Target = nameof(NoEnrichment))]
    public void SetupBare() => _logger = new LoggerConfiguration().WriteTo.Sink(_sink).CreateLogger();

    [GlobalCleanup(Target = nameof(LogContextFiveProperties))]
    public void CleanupLogContext()
    {
        _sink.Require("Pipeline", "PipelineId", "Stage", "StageElapsedMs", "PipelineElapsedMs");
        for (var i = _scopes.Length - 1; i >= 0; i--) _scopes[i].Dispose();
        _logger.Dispose();
    }

    [GlobalCleanup(Target = nameof(WithPipelineTimingInsideStage))]
    public void CleanupPipelineTiming()
    {
        _sink.Require("Pipeline", "PipelineId", "Stage", "StageElapsedMs", "PipelineElapsedMs");
        _stage!.Complete();
        _pipeline!.Complete();
        _logger.Dispose();
    }

    [GlobalCleanup(Target = nameof(NoEnrichment))]
    public void CleanupBare() => _logger.Dispose();

    [Benchmark(Baseline = true)]
    public void LogContextFiveProperties() => _logger.Information("Transcribed {Words} words", 42);

    [Benchmark]
    public void WithPipelineTimingInsideStage() => _logger.Information("Transcribed {Words} words", 42);

    [Benchmark]
    public void NoEnrichment() => _logger.Information("Transcribed {Words} words", 42);
}

/// <summary>
/// Starting and completing one stage with no ActivityListener or MeterListener attached (the goal: at most
/// one allocated object besides the completion event), against Serilog's cheapest scope, LogContext.PushProperty +
/// Dispose. "Filtered": the logger is at Information, so the Debug completion event is not built. "Written": the
/// completion event goes to a sink that keeps it.
/// </summary>
[MemoryDiagnoser]
public class StageLifecycleBenchmarks
{
    readonly LastEventSink _sink = new();
    Logger _filtered = null!;
    Logger _written = null!;
    PipelineTimer _filteredPipeline = null!;
    PipelineTimer _writtenPipeline = null!;

    [GlobalSetup]
    public void Setup()
    {
        _filtered = new LoggerConfiguration().MinimumLevel.Information().Enrich.WithPipelineTiming().WriteTo.Sink(_sink).CreateLogger();
        _written = new LoggerConfiguration().MinimumLevel.Debug().Enrich.WithPipelineTiming().WriteTo.Sink(_sink).CreateLogger();
        _filteredPipeline = PipelineTimer.Begin("filtered", _filtered);
        _writtenPipeline = PipelineTimer.Begin("written", _written);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writtenPipeline.Complete();
        _filteredPipeline.Complete();
        _filtered.Dispose();
        _written.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void LogContextPushAndDispose() => LogContext.PushProperty("Stage", "stt").Dispose();

    [Benchmark]
    public void StageCompleteEventFiltered() => _filteredPipeline.Stage("stt").Complete();

    [Benchmark]
    public void StageCompleteEventWritten() => _writtenPipeline.Stage("stt").Complete();
}
