using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// A service timing multi-stage AI pipelines, configured from appsettings with AddObservability and writing CLEF
/// to the rolling JSON file: what lands in the file for each request.
/// </summary>
[NonParallelizable]
public class PipelineScenarioTests
{
    const string Settings = """
    {
      "Serilog": {
        "MinimumLevel": { "Default": "Information", "Override": { "Microsoft.AspNetCore": "Warning" } },
        "Enrich": [ { "Name": "WithPipelineTiming", "Args": {
            "stageThresholds": { "llm": "00:00:00.001" },
            "stageCompletionLevel": "Information" } } ],
        "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "%LOGDIR%/app-.json", "rollingInterval": "Infinite" } } ]
      }
    }
    """;

    ActivityListener? _timingSpans;

    [SetUp]
    public void ListenToTimingSpans()
    {
        // An OpenTelemetry tracer listening to the pipeline spans, as the README suggests.
        _timingSpans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Serilog.Extensions.Observability.Timing",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_timingSpans);
    }

    [TearDown]
    public void Reset()
    {
        _timingSpans?.Dispose();
        Log.CloseAndFlush();
        // The appsettings above replaced the process-wide pipeline defaults: put the package defaults back.
        new LoggerConfiguration().Enrich.WithPipelineTiming(new PipelineTimingOptions());
    }

    static async Task<(WebApplication App, HttpClient Client)> StartAsync(string logDirectory, Action<WebApplication> endpoints, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Settings.Replace("%LOGDIR%", logDirectory.Replace("\\", "/")))));
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Service("voice-api"));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        endpoints(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) });
    }

    static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string correlationId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("X-Correlation-ID", correlationId);
        return await client.SendAsync(request);
    }

    static List<JsonElement> ReadEvents(string directory) => LogFileEvents.Read(directory, skipEmptyLines: true);

    static bool IsRequestCompletion(JsonElement e) => Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware";

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync(); // flushes: every accepted event is in the file after this
    }

    [Test]
    public async Task ARequestThatRunsTheSamePipelineTwiceStillWritesItsCompletionEventWithBothRunsStages()
    {
        using var logs = TempFolder.ForCaller();
        var (app, client) = await StartAsync(logs.Path, a => a.MapPost("/ingest", async () =>
        {
            // Two documents, one ingest pipeline each.
            for (var document = 0; document < 2; document++)
            {
                using var pipeline = PipelineTimer.Begin("ingest");
                await pipeline.StageAsync("chunk", () => Task.Delay(1));
                await pipeline.StageAsync("embed", () => Task.Delay(1));
                pipeline.Complete();
            }
            return "ok";
        }));
        using (client)
        {
            Assert.That((await PostAsync(client, "/ingest", "twice-1")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            await StopAsync(app);
        }

        var events = ReadEvents(logs.Path);
        Assert.That(events.Count(e => Prop(e, "@mt") == "{Pipeline} {Outcome:l} in {ElapsedMs:0.0} ms, slowest stage {SlowestStage}"), Is.EqualTo(2));
        var completion = events.SingleOrDefault(IsRequestCompletion);
        Assert.That(completion.ValueKind, Is.EqualTo(JsonValueKind.Object), "the request completion event is in the file");
        Assert.That(Prop(completion, "CorrelationId"), Is.EqualTo("twice-1"));
        var stages = completion.GetProperty("Stages").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(stages, Is.EqualTo(new[] { "ingest/chunk", "ingest/embed" }));
        var summaries = events.Where(e => Prop(e, "@mt")!.StartsWith("{Pipeline} {Outcome:l}")).ToList();
        var chunkTotal = summaries.Sum(s => s.GetProperty("Stages").GetProperty("chunk").GetDouble());
        Assert.That(completion.GetProperty("Stages").GetProperty("ingest/chunk").GetDouble(), Is.EqualTo(chunkTotal).Within(1e-6));
    }

    [Test]
    public async Task StageEventsInTheFileCarryTheirStagesSpanAndTheirRequestsIds()
    {
        using var logs = TempFolder.ForCaller();
        var (app, client) = await StartAsync(logs.Path, a => a.MapPost("/voice", async (IDiagnosticContext diagnostics) =>
        {
            using var user = UserContext.Begin("user-7");
            using var pipeline = PipelineTimer.Begin("voice-turn");
            // A stage that writes nothing itself, and one awaited across threads that does.
            using (pipeline.Stage("stt")) { await Task.Yield(); }
            await pipeline.StageAsync("llm", async () =>
            {
                await Task.Delay(5);
                Log.Information("Prompted the model");
                await Task.Yield();
            });
            // Concurrent chunks: Task.WhenAll over StageAsync, each writing an event.
            await Task.WhenAll(Enumerable.Range(0, 4).Select(i => pipeline.StageAsync("tts", async () =>
            {
                await Task.Yield();
                Log.Information("Synthesised chunk {Chunk}", i);
            })));
            pipeline.Complete();
            return "ok";
        }));
        using (client)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => PostAsync(client, "/voice", "voice-" + i)));
            Assert.That(responses.Select(r => r.StatusCode), Has.All.EqualTo(HttpStatusCode.OK));
            await StopAsync(app);
        }

        var events = ReadEvents(logs.Path);
        for (var i = 0; i < 3; i++)
        {
            var correlation = "voice-" + i;
            var ofRequest = events.Where(e => Prop(e, "CorrelationId") == correlation).ToList();
            var pipelineId = ofRequest.Select(e => Prop(e, "PipelineId")).Where(id => id is not null).Distinct().Single();
            var ofPipeline = events.Where(e => Prop(e, "PipelineId") == pipelineId).ToList();
            Assert.That(ofPipeline.Select(e => Prop(e, "CorrelationId")), Has.All.EqualTo(correlation), "nothing of another request");
            Assert.That(ofPipeline.Select(e => Prop(e, "UserId")), Has.All.EqualTo("user-7"));

            var traceId = Prop(ofRequest.Single(IsRequestCompletion), "@tr");
            foreach (var e in ofPipeline)
            {
                Assert.That(Prop(e, "@tr"), Is.EqualTo(traceId), Prop(e, "@mt"));
                Assert.That(Prop(e, "TraceId"), Is.EqualTo(Prop(e, "@tr")), Prop(e, "@mt"));
                Assert.That(Prop(e, "SpanId"), Is.EqualTo(Prop(e, "@sp")), Prop(e, "@mt"));
            }

            var stageEvents = ofPipeline.Where(e => Prop(e, "@mt") == "{Pipeline} stage {Stage} {Outcome:l} in {ElapsedMs:0.0} ms").ToList();
            Assert.That(stageEvents.Select(e => Prop(e, "Stage")), Is.EquivalentTo(new[] { "stt", "llm", "tts", "tts", "tts", "tts" }));
            Assert.That(stageEvents.Single(e => Prop(e, "Stage") == "llm").GetProperty("@l").GetString(), Is.EqualTo("Warning"));
            Assert.That(stageEvents.Where(e => Prop(e, "Stage") != "llm").Select(e => e.TryGetProperty("@l", out _)), Has.All.False, "Information");

            var chunks = ofPipeline.Where(e => Prop(e, "@mt") == "Synthesised chunk {Chunk}").ToList();
            Assert.That(chunks, Has.Count.EqualTo(4));
            Assert.That(chunks.Select(e => Prop(e, "Stage")), Has.All.EqualTo("tts"));
            // Each chunk's event is in its own tts span.
            Assert.That(chunks.Select(e => Prop(e, "@sp")).Distinct().Count(), Is.EqualTo(4));
            Assert.That(chunks.Select(e => Prop(e, "@sp")), Is.EquivalentTo(stageEvents.Where(e => Prop(e, "Stage") == "tts").Select(e => Prop(e, "@sp"))));

            var summary = ofPipeline.Single(e => Prop(e, "@mt")!.StartsWith("{Pipeline} {Outcome:l}"));
            Assert.That(summary.GetProperty("Stages").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "stt", "llm", "tts" }));
            Assert.That(Prop(summary, "SlowestStage"), Is.Not.Null);
        }
    }

    [Test]
    public async Task AStageCancelledByARequestAbortIsLoggedAsFailedWithTheRequestsIds()
    {
        using var logs = TempFolder.ForCaller();
        var inLlm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (app, client) = await StartAsync(logs.Path, a => a.MapPost("/voice", async (HttpContext context) =>
        {
            try
            {
                using var pipeline = PipelineTimer.Begin("voice-turn");
                await pipeline.StageAsync("stt", () => Task.CompletedTask);
                await pipeline.StageAsync("llm", async () =>
                {
                    inLlm.TrySetResult();
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                });
                pipeline.Complete();
            }
            finally
            {
                ended.TrySetResult();
            }
        }));
        using (client)
        {
            using var cts = new CancellationTokenSource();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/voice");
            request.Headers.Add("X-Correlation-ID", "aborted-1");
            var send = client.SendAsync(request, cts.Token);
            await inLlm.Task.WaitAsync(TimeSpan.FromSeconds(20));
            cts.Cancel();
            Assert.CatchAsync<OperationCanceledException>(async () => await send);
            await ended.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await StopAsync(app);
        }

        var events = ReadEvents(logs.Path).Where(e => Prop(e, "Pipeline") == "voice-turn").ToList();
        Assert.That(events.Select(e => Prop(e, "CorrelationId")), Has.All.EqualTo("aborted-1"));
        var llm = events.Single(e => Prop(e, "Stage") == "llm" && Prop(e, "Outcome") is not null);
        Assert.That(Prop(llm, "Outcome"), Is.EqualTo("failed"));
        Assert.That(Prop(llm, "@l"), Is.EqualTo("Error"));
        Assert.That(Prop(llm, "@x"), Does.Contain("OperationCanceledException").Or.Contain("TaskCanceledException"));
        var summary = events.Single(e => Prop(e, "@mt")!.StartsWith("{Pipeline} {Outcome:l}"));
        Assert.That(Prop(summary, "Outcome"), Is.EqualTo("completed").Or.EqualTo("failed"));
        Assert.That(summary.GetProperty("Stages").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "stt", "llm" }));
    }

    [Test]
    public async Task WorkThatOutlivesItsRequestFinishesThePipelineWithThatRequestsUserAndIdsNotTheNextOnes()
    {
        using var logs = TempFolder.ForCaller();
        var gates = new[] { new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var finished = new[] { new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var (app, client) = await StartAsync(logs.Path, a =>
        {
            // Stands in for authentication: the user from a header, after UseCorrelation as the README orders them.
            a.Use((context, next) =>
            {
                context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
                    [new System.Security.Claims.Claim("sub", context.Request.Headers["X-Test-User"].ToString())], "test"));
                return next(context);
            });
            a.MapPost("/turn/{n:int}", async (int n) =>
            {
                var pipeline = PipelineTimer.Begin("voice-turn");
                await pipeline.StageAsync("stt", () => Task.Delay(1));
                // Fire and forget: text-to-speech streams on after the response.
                _ = Task.Run(async () =>
                {
                    await gates[n].Task;
                    await pipeline.StageAsync("tts", async () =>
                    {
                        await Task.Yield();
                        Log.Information("Spoke turn {Turn}", n);
                    });
                    pipeline.Complete();
                    finished[n].TrySetResult();
                });
                return "accepted";
            });
        });
        using (client)
        {
            foreach (var n in new[] { 0, 1 })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/turn/" + n);
                request.Headers.Add("X-Correlation-ID", "turn-" + n);
                request.Headers.Add("X-Test-User", "user-" + n);
                Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }
            // Both requests are over (on one kept-alive connection) before either finishes its pipeline.
            gates[0].SetResult();
            await finished[0].Task.WaitAsync(TimeSpan.FromSeconds(20));
            gates[1].SetResult();
            await finished[1].Task.WaitAsync(TimeSpan.FromSeconds(20));
            await StopAsync(app);
        }

        var events = ReadEvents(logs.Path);
        foreach (var n in new[] { 0, 1 })
        {
            var spoke = events.Single(e => Prop(e, "@mt") == "Spoke turn {Turn}" && Prop(e, "Turn") == n.ToString());
            var ofPipeline = events.Where(e => Prop(e, "PipelineId") == Prop(spoke, "PipelineId")).ToList();
            Assert.That(ofPipeline, Has.Count.EqualTo(4), "stt, tts, the event inside tts, the summary");
            Assert.That(ofPipeline.Select(e => Prop(e, "CorrelationId")), Has.All.EqualTo("turn-" + n));
            Assert.That(ofPipeline.Select(e => Prop(e, "UserId")), Has.All.EqualTo("user-" + n));
            var summary = ofPipeline.Single(e => Prop(e, "@mt")!.StartsWith("{Pipeline} {Outcome:l}"));
            Assert.That(summary.GetProperty("Stages").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "stt", "tts" }));
            var completion = events.Single(e => IsRequestCompletion(e) && Prop(e, "CorrelationId") == "turn-" + n);
            Assert.That(Prop(completion, "UserId"), Is.EqualTo("user-" + n));
            Assert.That(completion.GetProperty("Stages").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "stt" }));
        }
    }

    sealed record Job(PipelineTimer Pipeline, string CorrelationId);

    [Test]
    public async Task APipelineBegunInARequestAndFinishedByAChannelConsumerKeepsItsIdsAndLeaksNoneIntoTheNext()
    {
        using var logs = TempFolder.ForCaller();
        var channel = Channel.CreateUnbounded<Job>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var processed = 0;
        // The consumer: a loop started outside any request, as a BackgroundService is.
        var consumer = Task.Run(async () =>
        {
            await foreach (var job in channel.Reader.ReadAllAsync())
            {
                using (CorrelationContext.Begin(job.CorrelationId))
                {
                    await job.Pipeline.StageAsync("store", async () =>
                    {
                        await Task.Yield();
                        Log.Information("Stored vectors");
                    });
                    job.Pipeline.Complete();
                }
                if (Interlocked.Increment(ref processed) == 2) done.TrySetResult();
            }
        });
        var (app, client) = await StartAsync(logs.Path, a => a.MapPost("/ingest", async (HttpContext context) =>
        {
            var pipeline = PipelineTimer.Begin("ingest");
            await pipeline.StageAsync("chunk", () => Task.Delay(1));
            await pipeline.StageAsync("embed", () => Task.Delay(1));
            await channel.Writer.WriteAsync(new Job(pipeline, CorrelationContext.CurrentId!));
            return "queued";
        }));
        using (client)
        {
            Assert.That((await PostAsync(client, "/ingest", "ingest-a")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await PostAsync(client, "/ingest", "ingest-b")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            await done.Task.WaitAsync(TimeSpan.FromSeconds(20));
            channel.Writer.Complete();
            await consumer.WaitAsync(TimeSpan.FromSeconds(20));
            await StopAsync(app);
        }

        var events = ReadEvents(logs.Path);
        foreach (var correlation in new[] { "ingest-a", "ingest-b" })
        {
            var completion = events.Single(e => IsRequestCompletion(e) && Prop(e, "CorrelationId") == correlation);
            // The stages that finished inside the request (and store too if the consumer was quicker).
            Assert.That(completion.GetProperty("Stages").EnumerateObject().Select(p => p.Name).Take(2), Is.EqualTo(new[] { "chunk", "embed" }));
            var pipelineIds = events.Where(e => Prop(e, "CorrelationId") == correlation).Select(e => Prop(e, "PipelineId")).Where(id => id is not null).Distinct().ToList();
            Assert.That(pipelineIds, Has.Count.EqualTo(1));
            var ofPipeline = events.Where(e => Prop(e, "PipelineId") == pipelineIds[0]).ToList();
            Assert.That(ofPipeline.Select(e => Prop(e, "CorrelationId")), Has.All.EqualTo(correlation));
            Assert.That(ofPipeline.Single(e => Prop(e, "@mt") == "Stored vectors").GetProperty("Stage").GetString(), Is.EqualTo("store"));
            var summary = ofPipeline.Single(e => Prop(e, "@mt")!.StartsWith("{Pipeline} {Outcome:l}"));
            Assert.That(summary.GetProperty("Stages").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "chunk", "embed", "store" }));
        }
    }
}
