using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>AddObservability() on a generic (non-web) host running BackgroundService consumers.</summary>
[NonParallelizable]
public class WorkerHostTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static HostApplicationBuilder Builder(string logDirectory)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", ApplicationName = "worker" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Information",
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logDirectory, "app-.json"),
            ["Serilog:WriteTo:0:Args:rollingInterval"] = "Infinite",
        });
        builder.AddObservability();
        return builder;
    }

    static List<JsonElement> ReadEvents(string directory) => LogFileEvents.Read(directory);

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    static List<JsonElement> WithTemplate(List<JsonElement> events, string template) =>
        events.Where(e => Prop(e, "@mt") == template).ToList();

    static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    sealed class Consumer(ILogger<Consumer> log, IDiagnosticContext diagnostics) : BackgroundService
    {
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var source = new ActivitySource("worker-tests");
            using var listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == "worker-tests",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(listener);
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            async Task Process(string id, int n)
            {
                using var activity = source.StartActivity("message");
                using var correlation = CorrelationContext.Begin(id);
                using var pipeline = PipelineTimer.Begin("consume");
                using (pipeline.Stage("parse"))
                {
                    if (Interlocked.Increment(ref n) > 0) await gate.Task;
                    diagnostics.Set("OutsideAnyRequest", id);
                    log.LogInformation("Handled {Message} with trace {Expected}", id, activity!.TraceId.ToString());
                }
            }
            var a = Process("msg-a", 0);
            var b = Process("msg-b", 0);
            gate.SetResult();
            await Task.WhenAll(a, b);
            Done.SetResult();
        }
    }

    [Test]
    public async Task ConcurrentMessagesOfABackgroundServiceCarryTheirOwnCorrelationTraceAndStage()
    {
        using var logs = TempFolder.ForCaller();
        var builder = Builder(logs.Path);
        builder.Services.AddSingleton<Consumer>();
        builder.Services.AddHostedService(s => s.GetRequiredService<Consumer>());
        using (var host = builder.Build())
        {
            await host.StartAsync(Bounded());
            await host.Services.GetRequiredService<Consumer>().Done.Task.WaitAsync(Bounded());
            await host.StopAsync(Bounded());
        }

        var handled = WithTemplate(ReadEvents(logs.Path), "Handled {Message} with trace {Expected}");
        Assert.That(handled, Has.Count.EqualTo(2));
        foreach (var e in handled)
        {
            Assert.That(Prop(e, "CorrelationId"), Is.EqualTo(Prop(e, "Message")));
            Assert.That(Prop(e, "@tr"), Is.EqualTo(Prop(e, "Expected")));
            Assert.That(Prop(e, "Stage"), Is.EqualTo("parse"));
            Assert.That(Prop(e, "Pipeline"), Is.EqualTo("consume"));
            Assert.That(Prop(e, "UserId"), Is.Null);
        }
    }

    sealed class DisposingSingleton(ILogger<DisposingSingleton> log) : IDisposable, IAsyncDisposable
    {
        public void Dispose() => log.LogInformation("Singleton disposed");
        public ValueTask DisposeAsync() { log.LogInformation("Singleton disposed"); return ValueTask.CompletedTask; }
    }

    sealed class StoppingWorker(ILogger<StoppingWorker> log, DisposingSingleton dependency) : BackgroundService
    {
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            GC.KeepAlive(dependency);
            Started.SetResult();
            try { await Task.Delay(Timeout.Infinite, stoppingToken); }
            catch (OperationCanceledException) { log.LogInformation("Execute saw cancellation"); }
        }

        public override async Task StopAsync(CancellationToken cancellationToken)
        {
            log.LogInformation("StopAsync began");
            await base.StopAsync(cancellationToken);
            log.LogInformation("StopAsync ended");
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task EventsLoggedWhileAWorkerHostStopsAreWritten(bool asyncDispose)
    {
        using var logs = TempFolder.ForCaller();
        var builder = Builder(logs.Path);
        builder.Services.AddSingleton<DisposingSingleton>();
        builder.Services.AddSingleton<StoppingWorker>();
        builder.Services.AddHostedService(s => s.GetRequiredService<StoppingWorker>());
        var host = builder.Build();
        try
        {
            await host.StartAsync(Bounded());
            await host.Services.GetRequiredService<StoppingWorker>().Started.Task.WaitAsync(Bounded());
            host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
            await host.StopAsync(Bounded());
        }
        finally
        {
            if (asyncDispose) await ((IAsyncDisposable)host).DisposeAsync();
            else host.Dispose();
            Log.Information("After the host");
            Log.CloseAndFlush();
        }

        var templates = ReadEvents(logs.Path).Select(e => Prop(e, "@mt")).ToList();
        Assert.That(templates, Does.Contain("StopAsync began"));
        Assert.That(templates, Does.Contain("Execute saw cancellation"));
        Assert.That(templates, Does.Contain("StopAsync ended"));
        Assert.That(templates, Does.Contain("Singleton disposed"));
        Assert.That(templates, Does.Contain("After the host"));
    }

    sealed class FailingWorker(ILogger<FailingWorker> log) : BackgroundService
    {
        /// <summary>
        /// Set once the host has started: a worker that fails while the host starts fails the start instead (Hosting 8's
        /// BackgroundService hands an already faulted task to StartAsync), and the host never runs to be stopped.
        /// </summary>
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(async () =>
        {
            using var correlation = CorrelationContext.Begin("poison-7");
            try
            {
                await Release.Task;
                throw new InvalidOperationException("poison message");
            }
            catch (Exception ex)
            {
                log.LogError(ex, "Message failed");
                throw;
            }
        }, stoppingToken);
    }

    [Test]
    public async Task AnExceptionThatStopsTheHostIsWrittenAndTheWorkersOwnEventCarriesTheMessageCorrelationId()
    {
        using var logs = TempFolder.ForCaller();
        var builder = Builder(logs.Path);
        builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost);
        builder.Services.AddSingleton<FailingWorker>();
        builder.Services.AddHostedService(s => s.GetRequiredService<FailingWorker>());
        using (var host = builder.Build())
        {
            await host.StartAsync(Bounded());
            host.Services.GetRequiredService<FailingWorker>().Release.SetResult();
            await host.WaitForShutdownAsync(Bounded());
        }

        // Read before Log.CloseAndFlush(): disposing the host flushed what it logged.
        var events = ReadEvents(logs.Path).Where(e => Prop(e, "@x")?.Contains("poison message") == true).ToList();
        var own = events.Single(e => Prop(e, "@mt") == "Message failed");
        Assert.That(Prop(own, "CorrelationId"), Is.EqualTo("poison-7"));
        // Microsoft.Extensions.Hosting logs the failure itself (BackgroundServiceFaulted, then BackgroundServiceStoppingHost)
        // outside the message's flow: those events do not carry its id (the README says so).
        var hosts = events.Where(e => Prop(e, "SourceContext") == "Microsoft.Extensions.Hosting.Internal.Host").ToList();
        Assert.That(hosts, Has.Count.EqualTo(2));
        Assert.That(hosts.Select(e => Prop(e, "CorrelationId")), Is.All.Null);
    }

    sealed class OverstayingWorker(ILogger<OverstayingWorker> log) : BackgroundService
    {
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Logged = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Ignores its stopping token, as a consumer stuck in a call without one does, past HostOptions.ShutdownTimeout.
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(async () =>
        {
            Started.SetResult();
            await Release.Task;
            log.LogInformation("Logged through ILogger after the host was disposed");
            Log.Information("Logged through Log after the host was disposed");
            Logged.SetResult();
        }, CancellationToken.None);
    }

    [Test]
    public async Task EventsAnILoggerWritesAfterTheHostIsDisposedGoToTheLateLogger()
    {
        using var logs = TempFolder.ForCaller();
        var builder = Builder(logs.Path);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.Zero);
        builder.Services.AddSingleton<OverstayingWorker>();
        builder.Services.AddHostedService(s => s.GetRequiredService<OverstayingWorker>());
        var host = builder.Build();
        var worker = host.Services.GetRequiredService<OverstayingWorker>();
        await host.StartAsync(Bounded());
        await worker.Started.Task.WaitAsync(Bounded());
        await host.StopAsync(Bounded());
        host.Dispose();
        worker.Release.SetResult();
        await worker.Logged.Task.WaitAsync(Bounded());
        Log.CloseAndFlush();

        var events = ReadEvents(logs.Path);
        Assert.That(events.Select(e => Prop(e, "@mt")), Does.Contain("Logged through Log after the host was disposed"));
        var late = events.Single(e => Prop(e, "@mt") == "Logged through ILogger after the host was disposed");
        Assert.That(Prop(late, "SourceContext"), Is.EqualTo("Serilog.Extensions.Observability.AspNetCore.Tests.Hosting.WorkerHostTests.OverstayingWorker"));
        Assert.That(Prop(late, "ServiceName"), Is.EqualTo("worker"));
    }

    sealed class OneMessageWorker(ILogger<OneMessageWorker> log, IHostApplicationLifetime lifetime) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using (CorrelationContext.Begin("last-message"))
                log.LogInformation("Processed the last message");
            lifetime.StopApplication();
            return Task.CompletedTask;
        }

        public override async Task StopAsync(CancellationToken cancellationToken)
        {
            await base.StopAsync(cancellationToken);
            log.LogInformation("Worker stopped");
        }
    }

    [Test]
    public async Task AWorkerThatStopsTheApplicationItselfHasEveryEventWrittenByTheUsualProgram()
    {
        using var logs = TempFolder.ForCaller();
        var builder = Builder(logs.Path);
        builder.Services.AddHostedService<OneMessageWorker>();
        // Program.cs as the README has it: try { host.Run(); } catch { Log.Fatal } finally { Log.CloseAndFlush(); }
        try
        {
            await builder.Build().RunAsync(Bounded());
        }
        finally
        {
            Log.Information("Worker exited");
            Log.CloseAndFlush();
        }

        var events = ReadEvents(logs.Path);
        Assert.That(Prop(events.Single(e => Prop(e, "@mt") == "Processed the last message"), "CorrelationId"), Is.EqualTo("last-message"));
        Assert.That(events.Select(e => Prop(e, "@mt")), Does.Contain("Worker stopped").And.Contain("Worker exited"));
    }

    [Test]
    public async Task AWorkerStoppedMidStageHasEveryPipelineEventInTheFileWithItsIdsAndTheStageFailed()
    {
        const string stageTemplate = "{Pipeline} stage {Stage} {Outcome:l} in {ElapsedMs:0.0} ms";
        using var logs = TempFolder.ForCaller();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var builder = Builder(logs.Path);
            builder.Services.AddSingleton<DocumentWorker>();
            builder.Services.AddHostedService(s => s.GetRequiredService<DocumentWorker>());
            using var host = builder.Build();
            await host.StartAsync(Bounded());
            await host.Services.GetRequiredService<DocumentWorker>().InFlight.Task.WaitAsync(Bounded());
            await host.StopAsync(Bounded());
        }

        // Read before Log.CloseAndFlush(): disposing the host wrote everything. Every line parses as JSON.
        var events = ReadEvents(logs.Path);
        var steps = events.Where(e => Prop(e, "SourceContext") == typeof(DocumentWorker).FullName!.Replace('+', '.')).ToList();
        var stages = WithTemplate(events, stageTemplate);
        var summaries = events.Where(e => Prop(e, "Pipeline") is not null && Prop(e, "SlowestStage") is not null).ToList();
        var stopped = events.Where(e => Prop(e, "CorrelationId") == DocumentWorker.InFlightMessage).ToList();
        Assert.Multiple(() =>
        {
            // Each message: four ILogger<T> events, four stage completions, a summary. The one in flight: ingest and chunk,
            // embed's ILogger<T> event and failed completion, and the summary of the pipeline its using block disposed.
            Assert.That(steps, Has.Count.EqualTo(DocumentWorker.Messages * 4 + 3));
            Assert.That(stages, Has.Count.EqualTo(DocumentWorker.Messages * 4 + 3));
            Assert.That(summaries, Has.Count.EqualTo(DocumentWorker.Messages + 1));
            foreach (var e in steps.Concat(stages).Concat(summaries))
            {
                Assert.That(Prop(e, "CorrelationId"), Does.StartWith("doc-"));
                Assert.That(Prop(e, "Pipeline"), Is.EqualTo("document"));
                Assert.That(Prop(e, "PipelineId"), Has.Length.EqualTo(16));
                Assert.That(Prop(e, "ServiceName"), Is.EqualTo("worker"));
            }
            foreach (var e in steps)
            {
                Assert.That(Prop(e, "Stage"), Is.EqualTo(Prop(e, "Step")));
                Assert.That(Prop(e, "CorrelationId"), Is.EqualTo(Prop(e, "Document")));
            }
            Assert.That(events.Where(e => Prop(e, "Pipeline") is not null).GroupBy(e => Prop(e, "CorrelationId"))
                .Select(g => g.Select(e => Prop(e, "PipelineId")).Distinct().Count()), Is.All.EqualTo(1));

            Assert.That(stopped.Select(e => Prop(e, "Step") ?? $"{Prop(e, "Stage")} {Prop(e, "Outcome")}"),
                Is.EqualTo(new[] { "ingest", "ingest completed", "chunk", "chunk completed", "embed", "embed failed", " completed" }));
            var embed = stopped.Single(e => Prop(e, "@mt") == stageTemplate && Prop(e, "Stage") == "embed");
            Assert.That(Prop(embed, "@l"), Is.EqualTo("Error"));
            Assert.That(Prop(embed, "@x"), Does.StartWith("System.Threading.Tasks.TaskCanceledException"));
            Assert.That(events.Count(e => Prop(e, "@l") is "Error" or "Fatal"), Is.EqualTo(1),
                "the host logs no failure of its own: the worker ended by its stopping token");
            Assert.That(selfLog, Is.Empty);
        });
    }
}
