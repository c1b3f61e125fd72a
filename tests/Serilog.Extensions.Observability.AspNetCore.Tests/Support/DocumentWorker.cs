using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// A <c>BackgroundService</c> timing each message's ingest → chunk → embed → store pipeline, an <c>ILogger&lt;T&gt;</c>
/// event in each stage, under the message's correlation id; the last message's embed stage waits on the stopping token
/// (<see cref="InFlight"/>), so stopping the host fails it. One copy for the worker host tests of AddObservability and,
/// linked, of Serilog.Extensions.Hosting's AddSerilog on Serilog 4 (CompatibilityTests).
/// </summary>
sealed class DocumentWorker(ILogger<DocumentWorker> log) : BackgroundService
{
    public const int Messages = 100;
    public const string InFlightMessage = "doc-in-flight";
    static readonly PipelineTimingOptions Timing = new() { StageCompletionLevel = LogEventLevel.Information };

    /// <summary>Set once the last message's embed stage waits on the stopping token.</summary>
    public readonly TaskCompletionSource InFlight = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var i = 0; i < Messages; i++)
            await Process($"doc-{i}", stoppingToken);
        await Process(InFlightMessage, stoppingToken);
    }

    async Task Process(string document, CancellationToken stoppingToken)
    {
        using var correlation = CorrelationContext.Begin(document);
        using var pipeline = PipelineTimer.Begin("document", options: Timing);
        foreach (var stage in new[] { "ingest", "chunk", "embed", "store" })
        {
            await pipeline.StageAsync(stage, async () =>
            {
                log.LogInformation("{Step} of {Document}", stage, document);
                if (document == InFlightMessage && stage == "embed")
                {
                    InFlight.SetResult();
                    await Task.Delay(Timeout.Infinite, stoppingToken);
                }
                await Task.Yield();
            });
        }
        pipeline.Complete();
    }
}
