extern alias SerilogAspNetCore;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using TheirServiceCollectionExtensions = SerilogAspNetCore::Serilog.SerilogServiceCollectionExtensions;

namespace Serilog.Extensions.Observability.CompatibilityTests.WorkerHost;

/// <summary>
/// A worker service on Serilog 4 with Serilog.Extensions.Hosting 10 and no ASP.NET Core: its
/// <c>AddSerilog((services, lc) => lc.ReadFrom.Configuration(...).WithObservability(...))</c> on
/// <c>Host.CreateApplicationBuilder</c>, a <c>BackgroundService</c> timing each message's ingest → chunk → embed → store
/// pipeline, stopped while the last message's embed stage waits on the stopping token; what reaches the RollingJson file.
/// </summary>
[NonParallelizable] // AddSerilog sets the static Log.Logger; SelfLog is process-wide
public class WorkerHostTests
{
    const string ServiceName = "ingest-worker";
    const string StageTemplate = "{Pipeline} stage {Stage} {Outcome:l} in {ElapsedMs:0.0} ms";
    const string SummaryTemplate = "{Pipeline} {Outcome:l} in {ElapsedMs:0.0} ms, slowest stage {SlowestStage}";

    readonly List<string> _selfLog = new();
    TemporarySelfLog? _selfLogScope;

    [SetUp]
    public void CaptureSelfLog() => _selfLogScope = TemporarySelfLog.SaveTo(_selfLog);

    [TearDown]
    public void Restore()
    {
        _selfLogScope?.Dispose();
        Log.CloseAndFlush();
    }

    /// <summary>Counts its disposals: it sits beside the RollingJson sink inside <c>WithObservability()</c>'s sinks.</summary>
    sealed class DisposalCounter : ILogEventSink, IDisposable
    {
        int _disposals;

        public int Disposals => Volatile.Read(ref _disposals);

        public void Emit(LogEvent logEvent)
        {
        }

        public void Dispose() => Interlocked.Increment(ref _disposals);
    }

    static string? Text(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.ToString() : null;

    [TestCase(false)]
    [TestCase(true)]
    public async Task AWorkerStoppedMidStageHasEveryEventOnDiskWithItsIdsAndTheStageFailed(bool asyncDispose)
    {
        using var folder = TempFolder.ForCaller();
        File.WriteAllText(Path.Combine(folder.Path, "appsettings.json"), """{ "Serilog": { "MinimumLevel": { "Default": "Information" } } }""");
        var counter = new DisposalCounter();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            EnvironmentName = Environments.Production,
            ContentRootPath = folder.Path,
        });
        TheirServiceCollectionExtensions.AddSerilog(builder.Services, (services, lc) => lc
            .ReadFrom.Configuration(builder.Configuration)
            .WithObservability(o => o
                .Service(ServiceName)
                .Console(ObservabilityConsoleFormat.None)
                .RollingJson(Path.Combine(folder.Path, "logs", "app-.json"))
                .WriteTo(w => w.Sink(counter))));
        builder.Services.AddSingleton<DocumentWorker>();
        builder.Services.AddHostedService(s => s.GetRequiredService<DocumentWorker>());

        var host = builder.Build();
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await host.StartAsync(bounded.Token);
            await host.Services.GetRequiredService<DocumentWorker>().InFlight.Task.WaitAsync(bounded.Token);
            await host.StopAsync(bounded.Token);
        }
        finally
        {
            if (asyncDispose) await ((IAsyncDisposable)host).DisposeAsync();
            else host.Dispose();
        }
        var disposalsWithTheHost = counter.Disposals;

        // Read before Log.CloseAndFlush(): disposing the host must have written everything.
        var options = new JsonDocumentOptions { AllowDuplicateProperties = false };
        var lines = Directory.GetFiles(Path.Combine(folder.Path, "logs"), "*.json")
            .SelectMany(File.ReadLines)
            .Select(line => JsonDocument.Parse(line, options).RootElement.Clone())
            .ToList();
        var worker = lines.Where(l => Text(l, "SourceContext") == typeof(DocumentWorker).FullName!.Replace('+', '.')).ToList();
        var stages = lines.Where(l => Text(l, "@mt") == StageTemplate).ToList();
        var summaries = lines.Where(l => Text(l, "@mt") == SummaryTemplate).ToList();
        var stopped = lines.Where(l => Text(l, "CorrelationId") == DocumentWorker.InFlightMessage).ToList();
        Assert.Multiple(() =>
        {
            // Each message: four ILogger<T> events, four stage completions and a summary. The one in flight: ingest and
            // chunk, embed's ILogger<T> event and its failed completion, and the summary of the pipeline its using disposed.
            Assert.That(worker, Has.Count.EqualTo(DocumentWorker.Messages * 4 + 3));
            Assert.That(stages, Has.Count.EqualTo(DocumentWorker.Messages * 4 + 3));
            Assert.That(summaries, Has.Count.EqualTo(DocumentWorker.Messages + 1));
            Assert.That(lines.Select(l => Text(l, "@mt")), Has.Some.StartsWith("Application is shutting down"));
            foreach (var line in worker.Concat(stages).Concat(summaries))
            {
                Assert.That(Text(line, "CorrelationId"), Does.StartWith("doc-"));
                Assert.That(Text(line, "Pipeline"), Is.EqualTo("document"));
                Assert.That(Text(line, "PipelineId"), Has.Length.EqualTo(16));
                Assert.That(Text(line, "ServiceName"), Is.EqualTo(ServiceName));
            }
            foreach (var line in worker)
            {
                Assert.That(Text(line, "Stage"), Is.EqualTo(Text(line, "Step")));
                Assert.That(Text(line, "CorrelationId"), Is.EqualTo(Text(line, "Document")));
            }
            Assert.That(stages.Select(l => Text(l, "Stage")).Distinct(), Is.EquivalentTo(new[] { "ingest", "chunk", "embed", "store" }));
            Assert.That(lines.Where(l => Text(l, "Pipeline") == "document").GroupBy(l => Text(l, "CorrelationId"))
                    .Select(g => g.Select(l => Text(l, "PipelineId")).Distinct().Count()),
                Is.All.EqualTo(1), "every event of a message carries its pipeline's id");

            // The in-flight message's events in file order: step events, then stage and pipeline outcomes.
            Assert.That(stopped.Select(l => Text(l, "Step") ?? $"{Text(l, "Stage")} {Text(l, "Outcome")}"),
                Is.EqualTo(new[] { "ingest", "ingest completed", "chunk", "chunk completed", "embed", "embed failed", " completed" }));
            var embed = stopped.Single(l => Text(l, "@mt") == StageTemplate && Text(l, "Stage") == "embed");
            Assert.That(Text(embed, "@l"), Is.EqualTo("Error"));
            Assert.That(Text(embed, "@x"), Does.StartWith("System.Threading.Tasks.TaskCanceledException"));
            Assert.That(lines.Count(l => Text(l, "@l") is "Error" or "Fatal"), Is.EqualTo(1),
                "the host logs no failure of its own: the worker ended by its stopping token");

            Assert.That(disposalsWithTheHost, Is.EqualTo(1), "disposing the host disposes the logger's sinks once");
            Assert.That(_selfLog, Is.Empty);
        });
        Log.CloseAndFlush();
        Assert.That(counter.Disposals, Is.EqualTo(1), "Log.CloseAndFlush() after the host does not dispose them again");
    }
}
