using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using Hangfire;
using Hangfire.Client;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Answer = Serilog.Extensions.Observability.AspNetCore.Tests.Support.EndpointAnswer;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// Hangfire 1.8 (Hangfire.Core, Hangfire.NetCore, Hangfire.InMemory) in an API set up as the READMEs show:
/// <c>AddObservability()</c> writing CLEF to a RollingJson file, <c>UseCorrelation()</c>, <c>UseSerilogRequestLogging()</c>,
/// on real Kestrel, with <c>AddHangfire()</c> and an in-process <c>AddHangfireServer()</c> of one worker, so that jobs
/// run one after another on the same thread. A request enqueues a job; the job logs through <c>ILogger&lt;T&gt;</c> and
/// signals the test. Without a filter a job's events carry nothing of the request; with the README's
/// <see cref="CorrelationJobFilter"/> they carry the request's correlation id. Asserted on the file's lines.
/// </summary>
[NonParallelizable] // Log.Logger, Hangfire's JobStorage.Current and GlobalJobFilters are process-wide.
public class HangfireTests
{
    const string UserHeader = EndpointAnswer.UserHeader;

    // The host's late logger (events after it is disposed) becomes Log.Logger; the next test must not inherit it.
    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    sealed class App(WebApplication web, TempFolder logs, JobProbe probe, object[] filters) : IAsyncDisposable
    {
        bool _disposed;

        public JobProbe Probe => probe;

        public HttpClient Client { get; } = new()
        {
            BaseAddress = new Uri(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()),
        };

        public IBackgroundJobClient Jobs => web.Services.GetRequiredService<IBackgroundJobClient>();

        /// <summary>Stops the host (the Hangfire server waits for its worker), which flushes and closes the file; its events.</summary>
        public async Task<Events> StopAndReadAsync()
        {
            await StopAsync();
            return new Events(LogFileEvents.Read(logs.Path), string.Concat(Directory.GetFiles(logs.Path).Select(File.ReadAllText)));
        }

        async Task StopAsync()
        {
            if (_disposed) return;
            _disposed = true;
            Client.Dispose();
            try
            {
                await web.StopAsync();
                await web.DisposeAsync();
            }
            finally
            {
                foreach (var filter in filters) GlobalJobFilters.Filters.Remove(filter);
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await StopAsync();
            }
            finally
            {
                logs.Dispose();
            }
        }
    }

    sealed record Events(List<JsonElement> All, string File)
    {
        /// <summary>The event the job with <paramref name="tag"/> logged.</summary>
        public JsonElement Job(string tag) =>
            All.Single(e => LogFileEvents.Prop(e, "@mt") == ReportJob.Message && LogFileEvents.Prop(e, "Tag") == tag);

        /// <summary>The filter's timer summaries of the jobs that ran <paramref name="method"/>, in order.</summary>
        public List<JsonElement> Summaries(string method) =>
            All.Where(e => LogFileEvents.Prop(e, "Pipeline") == "ReportJob." + method && e.TryGetProperty("Stages", out _)).ToList();
    }

    static async Task<App> StartAsync(object[]? filters = null, Func<IDisposable>? startInside = null, int workerCount = 1,
        [CallerMemberName] string caller = "")
    {
        filters ??= [];
        var logs = TempFolder.ForCaller(caller);
        var probe = new JobProbe();
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Services.AddSingleton(probe);
        builder.Services.AddHangfire(c =>
        {
            c.UseInMemoryStorage();
            foreach (var filter in filters) c.UseFilter(filter);
        });
        // A retry is a scheduled job: looked for every 100 ms instead of every 15 s.
        builder.Services.AddHangfireServer(o =>
        {
            o.WorkerCount = workerCount;
            o.SchedulePollingInterval = TimeSpan.FromMilliseconds(100);
        });
        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        // Authentication as far as UseCorrelation() is concerned: the request's user, from a header.
        app.Use((context, next) =>
        {
            if (context.Request.Headers.TryGetValue(UserHeader, out var user))
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", user.ToString())], "Test"));
            return next(context);
        });
        app.MapPost("/reports/{tag}", (string tag, string? then, bool? async, IBackgroundJobClient jobs, ILogger<HangfireTests> logger) =>
        {
            var jobId = then is not null ? jobs.Enqueue<ReportJob>(j => j.RunThenEnqueue(tag, then))
                : async == true ? jobs.Enqueue<ReportJob>(j => j.RunAsync(tag))
                : tag.StartsWith("fail", StringComparison.Ordinal) ? jobs.Enqueue<ReportJob>(j => j.Fail(tag))
                : tag.StartsWith("retry", StringComparison.Ordinal) ? jobs.Enqueue<ReportJob>(j => j.FailFirstAttempt(tag))
                : jobs.Enqueue<ReportJob>(j => j.Run(tag));
            logger.LogInformation("Enqueued report {Tag} as job {JobId}", tag, jobId);
            return EndpointAnswer.Current();
        });
        try
        {
            using (startInside?.Invoke())
                await app.StartAsync();
        }
        catch
        {
            foreach (var filter in filters) GlobalJobFilters.Filters.Remove(filter);
            throw;
        }

        return new App(app, logs, probe, filters);
    }

    static Task<Answer> PostAsync(App app, string path, string? correlationId = null, string? user = null) =>
        EndpointAnswer.PostAsync(app.Client, path, correlationId, user);

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    [Test]
    public async Task WithoutAFilterAJobEnqueuedDuringARequestCarriesNoneOfTheRequestsIds()
    {
        Events events;
        await using (var app = await StartAsync())
        {
            await PostAsync(app, "/reports/a", "request-a", "ann");
            await app.Probe.WaitAsync("a");
            await PostAsync(app, "/reports/b", "request-b", "bob");
            await app.Probe.WaitAsync("b");
            events = await app.StopAndReadAsync();
        }

        var enqueued = events.All.Where(e => Prop(e, "@mt")!.StartsWith("Enqueued", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            // The requests' own events have their ids: what the jobs could have carried.
            Assert.That(enqueued.Select(e => Prop(e, "CorrelationId")), Is.EqualTo(new[] { "request-a", "request-b" }));
            Assert.That(enqueued.Select(e => Prop(e, "UserId")), Is.EqualTo(new[] { "ann", "bob" }));
            Assert.That(enqueued.Select(e => Prop(e, "TraceId")), Has.All.Not.Null);
            foreach (var tag in new[] { "a", "b" })
            {
                var job = events.Job(tag);
                Assert.That(job.TryGetProperty("CorrelationId", out _), Is.False, tag);
                Assert.That(job.TryGetProperty("UserId", out _), Is.False, tag);
                Assert.That(job.TryGetProperty("TraceId", out _), Is.False, tag);
            }
        });
    }

    [TestCase(false, TestName = "{m}(without a filter)")]
    [TestCase(true, TestName = "{m}(with the README's filter)")]
    public async Task ScopesAJobLeavesOpenDoNotReachTheNextJobOnItsWorker(bool withFilter)
    {
        JobRun leaving, next;
        Events events;
        await using (var app = await StartAsync(withFilter ? [new CorrelationJobFilter()] : null))
        {
            app.Jobs.Enqueue<ReportJob>(j => j.RunLeavingScopesOpen("leaving", "left-open", "carl"));
            leaving = await app.Probe.WaitAsync("leaving");
            app.Jobs.Enqueue<ReportJob>(j => j.Run("next"));
            next = await app.Probe.WaitAsync("next");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(next.ThreadId, Is.EqualTo(leaving.ThreadId), "one worker thread ran both jobs");
            Assert.That(Prop(events.Job("leaving"), "CorrelationId"), Is.EqualTo("left-open"));
            Assert.That(Prop(events.Job("leaving"), "UserId"), Is.EqualTo("carl"));
            Assert.That(Prop(events.Job("next"), "CorrelationId"), withFilter ? Does.Match("^[0-9a-f]{32}$") : Is.Null);
            Assert.That(Prop(events.Job("next"), "UserId"), Is.Null);
            Assert.That(next.CorrelationId, Is.EqualTo(Prop(events.Job("next"), "CorrelationId")));
        });
    }

    [TestCase(false, TestName = "{m}(without a filter)")]
    [TestCase(true, TestName = "{m}(with the README's filter)")]
    public async Task AServerStartedInsideScopesGivesItsWorkerThreadsThoseScopesUnlessTheFilterOpensTheJobsOwn(bool withFilter)
    {
        // Hangfire's worker threads are started with the execution context of the flow that starts the server, so a
        // Program.cs that starts the host inside scopes of its own gives every job that id and that user.
        Answer request;
        Events events;
        await using (var app = await StartAsync(withFilter ? [new CorrelationJobFilter()] : null,
                         startInside: () => new Scopes(CorrelationContext.Begin("startup"), UserContext.Begin("startup-user"))))
        {
            request = await PostAsync(app, "/reports/a", "request-a", "ann");
            await app.Probe.WaitAsync("a");
            app.Jobs.Enqueue<ReportJob>(j => j.RunAsync("b"));
            await app.Probe.WaitAsync("b");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(request, Is.EqualTo(new Answer("request-a", "ann", request.TraceId)));
            if (withFilter)
            {
                Assert.That(Prop(events.Job("a"), "CorrelationId"), Is.EqualTo("request-a"));
                Assert.That(Prop(events.Job("b"), "CorrelationId"), Does.Match("^[0-9a-f]{32}$"));
                Assert.That(Prop(events.Job("a"), "UserId"), Is.Null);
                Assert.That(Prop(events.Job("b"), "UserId"), Is.Null);
            }
            else
            {
                Assert.That(Prop(events.Job("a"), "CorrelationId"), Is.EqualTo("startup"));
                Assert.That(Prop(events.Job("b"), "CorrelationId"), Is.EqualTo("startup"));
                Assert.That(Prop(events.Job("a"), "UserId"), Is.EqualTo("startup-user"));
                Assert.That(Prop(events.Job("b"), "UserId"), Is.EqualTo("startup-user"));
            }
        });
    }

    [Test]
    public async Task WithTheFilterAJobEnqueuedDuringARequestLogsThatRequestsCorrelationIdAndNoUser()
    {
        Events events;
        await using (var app = await StartAsync([new CorrelationJobFilter()]))
        {
            await PostAsync(app, "/reports/a", "request-a", "ann");
            await app.Probe.WaitAsync("a");
            await PostAsync(app, "/reports/b?async=true", "request-b", "bob");
            await app.Probe.WaitAsync("b");
            await PostAsync(app, "/reports/c", "request-c");
            await app.Probe.WaitAsync("c");
            events = await app.StopAndReadAsync();
        }

        var runs = events.Summaries("Run");
        var runAsync = events.Summaries("RunAsync");
        Assert.Multiple(() =>
        {
            Assert.That(Prop(events.Job("a"), "CorrelationId"), Is.EqualTo("request-a"));
            Assert.That(Prop(events.Job("b"), "CorrelationId"), Is.EqualTo("request-b"));
            Assert.That(Prop(events.Job("c"), "CorrelationId"), Is.EqualTo("request-c"));
            foreach (var tag in new[] { "a", "b", "c" })
                Assert.That(Prop(events.Job(tag), "UserId"), Is.Null, tag);

            // The timer's summary of each job, in the job's correlation.
            Assert.That(runs.Select(e => Prop(e, "CorrelationId")), Is.EqualTo(new[] { "request-a", "request-c" }));
            Assert.That(runAsync.Select(e => Prop(e, "CorrelationId")), Is.EqualTo(new[] { "request-b" }));
            Assert.That(runs.Concat(runAsync).Select(e => Prop(e, "Outcome")), Has.All.EqualTo("completed"));
            Assert.That(runs.Concat(runAsync).Select(e => Prop(e, "@l")), Has.All.Null, "Information");
        });
    }

    [Test]
    public async Task WithTheFilterAJobEnqueuedDuringARequestWithoutACorrelationHeaderCarriesTheRequestsTraceId()
    {
        Answer request;
        Events events;
        await using (var app = await StartAsync([new CorrelationJobFilter()]))
        {
            request = await PostAsync(app, "/reports/a");
            await app.Probe.WaitAsync("a");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            // UseCorrelation() takes the trace id for a request that brings no id; the job's events join the trace by it.
            Assert.That(request.TraceId, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(request.CorrelationId, Is.EqualTo(request.TraceId));
            Assert.That(Prop(events.Job("a"), "CorrelationId"), Is.EqualTo(request.TraceId));
        });
    }

    [Test]
    public async Task WithTheFilterJobsEnqueuedOutsideAnyScopeGetAnIdEachAndAJobEnqueuedByAJobGetsItsId()
    {
        Events events;
        await using (var app = await StartAsync([new CorrelationJobFilter()]))
        {
            Assert.That(CorrelationContext.CurrentId, Is.Null);
            Assert.That(Activity.Current, Is.Null);
            app.Jobs.Enqueue<ReportJob>(j => j.Run("a"));
            await app.Probe.WaitAsync("a");
            app.Jobs.Enqueue<ReportJob>(j => j.RunThenEnqueue("b", "b-child"));
            await app.Probe.WaitAsync("b");
            await app.Probe.WaitAsync("b-child");
            await PostAsync(app, "/reports/c?then=c-child", "request-c");
            await app.Probe.WaitAsync("c-child");
            events = await app.StopAndReadAsync();
        }

        var a = Prop(events.Job("a"), "CorrelationId");
        var b = Prop(events.Job("b"), "CorrelationId");
        Assert.Multiple(() =>
        {
            Assert.That(a, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(b, Does.Match("^[0-9a-f]{32}$").And.Not.EqualTo(a));
            Assert.That(Prop(events.Job("b-child"), "CorrelationId"), Is.EqualTo(b));
            Assert.That(Prop(events.Job("c"), "CorrelationId"), Is.EqualTo("request-c"));
            Assert.That(Prop(events.Job("c-child"), "CorrelationId"), Is.EqualTo("request-c"));
        });
    }

    [Test]
    public async Task WithTheFilterAFailedJobsSummaryIsAnErrorInItsCorrelationAndTheNextJobHasAnIdOfItsOwn()
    {
        Events events;
        await using (var app = await StartAsync([new CorrelationJobFilter()]))
        {
            await PostAsync(app, "/reports/fail-a", "request-f");
            await app.Probe.WaitAsync("fail-a");
            app.Jobs.Enqueue<ReportJob>(j => j.Run("next"));
            await app.Probe.WaitAsync("next");
            events = await app.StopAndReadAsync();
        }

        var failed = events.Summaries("Fail").Single();
        var hangfireFailure = events.All.Single(e => Prop(e, "SourceContext") == "Hangfire.AutomaticRetryAttribute");
        Assert.Multiple(() =>
        {
            Assert.That(Prop(events.Job("fail-a"), "CorrelationId"), Is.EqualTo("request-f"));
            Assert.That(Prop(failed, "CorrelationId"), Is.EqualTo("request-f"));
            Assert.That(Prop(failed, "Outcome"), Is.EqualTo("failed"));
            Assert.That(Prop(failed, "@l"), Is.EqualTo("Error"));
            Assert.That(Prop(failed, "@x"), Does.Contain("The report failed."));
            Assert.That(Prop(events.Job("next"), "CorrelationId"), Does.Match("^[0-9a-f]{32}$"));
            // Hangfire's own report of the failure, written when it elects the job's next state, after OnPerformed.
            Assert.That(Prop(hangfireFailure, "@x"), Does.Contain("The report failed."));
            Assert.That(Prop(hangfireFailure, "CorrelationId"), Is.EqualTo("request-f"));
        });
    }

    [Test]
    public async Task WithTheFilterARetryRunsWithTheIdOfTheFirstAttempt()
    {
        Events events;
        await using (var app = await StartAsync([new CorrelationJobFilter()]))
        {
            await PostAsync(app, "/reports/retry-a", "request-r");
            await app.Probe.WaitAsync("retry-a");
            events = await app.StopAndReadAsync();
        }

        var attempts = events.All.Where(e => Prop(e, "Tag") == "retry-a" && Prop(e, "Attempt") is not null).ToList();
        var retryWarning = events.All.Single(e => Prop(e, "SourceContext") == "Hangfire.AutomaticRetryAttribute");
        Assert.Multiple(() =>
        {
            Assert.That(attempts.Select(e => Prop(e, "Attempt")), Is.EqualTo(new[] { "1", "2" }));
            Assert.That(attempts.Select(e => Prop(e, "CorrelationId")), Has.All.EqualTo("request-r"));
            // Hangfire's warning that it will retry the job, written when it elects the job's next state.
            Assert.That(Prop(retryWarning, "@l"), Is.EqualTo("Warning"));
            Assert.That(Prop(retryWarning, "State"), Does.Contain("Retry attempt 1 of 1"));
            Assert.That(Prop(retryWarning, "CorrelationId"), Is.EqualTo("request-r"));
            Assert.That(events.Summaries("FailFirstAttempt").Select(e => Prop(e, "Outcome")), Is.EqualTo(new[] { "failed", "completed" }));
        });
    }

    /// <summary>
    /// Records the correlation id and user current whenever Hangfire elects a job's next state (on whichever thread), and
    /// lets a test wait, with a bound, for the election of a given state of a given job.
    /// </summary>
    sealed class ElectionProbe : JobFilterAttribute, IElectStateFilter
    {
        static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
        readonly ConcurrentDictionary<(string JobId, string State), TaskCompletionSource> _seen = new();

        public ConcurrentQueue<(string JobId, string State, string? CorrelationId, string? UserId)> Elections { get; } = new();

        TaskCompletionSource Signal(string jobId, string state) =>
            _seen.GetOrAdd((jobId, state), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void OnStateElection(ElectStateContext context)
        {
            Elections.Enqueue((context.BackgroundJob.Id, context.CandidateState.Name, CorrelationContext.CurrentId, UserContext.Current?.UserId));
            Signal(context.BackgroundJob.Id, context.CandidateState.Name).TrySetResult();
        }

        public Task WaitAsync(string jobId, string state) => Signal(jobId, state).Task.WaitAsync(Timeout);
    }

    [Test]
    public async Task WithTheFilterHangfireElectsAJobsOutcomeInItsScopesAndTheNextJobStartsInTheWorkersOwn()
    {
        // A server started inside scopes: between jobs a worker thread is back in them, not in the last job's.
        var elections = new ElectionProbe();
        Events events;
        string retried, next;
        await using (var app = await StartAsync([new CorrelationJobFilter(), elections],
                         startInside: () => new Scopes(CorrelationContext.Begin("startup"), UserContext.Begin("startup-user"))))
        {
            await PostAsync(app, "/reports/a", "request-a", "ann");
            await app.Probe.WaitAsync("a");
            using (CorrelationContext.Begin("request-b"))
            using (UserContext.Begin("bob"))
                retried = app.Jobs.Enqueue<ReportJob>(j => j.FailFirstAttemptOnce("b"));
            await app.Probe.WaitAsync("b");
            next = app.Jobs.Enqueue<ReportJob>(j => j.Run("next"));
            await app.Probe.WaitAsync("next");
            await elections.WaitAsync(next, "Succeeded");
            events = await app.StopAndReadAsync();
        }

        var a = events.All.Single(e => Prop(e, "@mt")!.StartsWith("Enqueued", StringComparison.Ordinal) && Prop(e, "Tag") == "a");
        var tags = new Dictionary<string, string> { [Prop(a, "JobId")!] = "a", [retried] = "b", [next] = "next" };
        var processing = elections.Elections.Where(e => e.State == "Processing").ToList();
        var outcomes = elections.Elections.Where(e => e.State is "Succeeded" or "Failed")
            .Select(e => (tags[e.JobId], e.State, e.CorrelationId, e.UserId)).ToList();
        var nextId = Prop(events.Job("next"), "CorrelationId");
        Assert.Multiple(() =>
        {
            // Each job's outcome is elected (where AutomaticRetry logs a failure and a retry) in the job's id, on no user.
            Assert.That(outcomes, Is.EqualTo(new[]
            {
                ("a", "Succeeded", "request-a", (string?)null),
                ("b", "Failed", "request-b", null),
                ("b", "Succeeded", "request-b", null),
                ("next", "Succeeded", nextId, null),
            }));
            // Once the outcome is applied the job's scopes end: the worker moves its next job to Processing in its own.
            Assert.That(processing, Has.Count.EqualTo(4));
            Assert.That(processing.Select(e => (e.CorrelationId, e.UserId)), Has.All.EqualTo(("startup", "startup-user")));
            Assert.That(nextId, Does.Match("^[0-9a-f]{32}$"));
        });
    }

    [Test]
    public async Task WithTheFilterJobsRetriedOnSeveralWorkersAtOnceGetHangfiresRetryWarningEachInItsOwnId()
    {
        const int Count = 12;
        var ids = new string[Count];
        Events events;
        await using (var app = await StartAsync([new CorrelationJobFilter()], workerCount: 4))
        {
            for (var i = 0; i < Count; i++)
            {
                using (CorrelationContext.Begin($"request-{i}"))
                    ids[i] = app.Jobs.Enqueue<ReportJob>(j => j.FailFirstAttemptBesideOthers($"m{i}"));
            }

            await Task.WhenAll(Enumerable.Range(0, Count).Select(i => app.Probe.WaitAsync($"m{i}")));
            events = await app.StopAndReadAsync();
        }

        var warnings = events.All.Where(e => Prop(e, "SourceContext") == "Hangfire.AutomaticRetryAttribute").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(warnings, Has.Count.EqualTo(Count));
            for (var i = 0; i < Count; i++)
            {
                var warning = warnings.Single(e => Prop(e, "State")!.Contains($"'{ids[i]}'", StringComparison.Ordinal));
                Assert.That(Prop(warning, "CorrelationId"), Is.EqualTo($"request-{i}"));
                var attempts = events.All.Where(e => Prop(e, "Tag") == $"m{i}" && Prop(e, "Attempt") is not null);
                Assert.That(attempts.Select(e => Prop(e, "CorrelationId")), Is.EqualTo(new[] { $"request-{i}", $"request-{i}" }));
            }
        });
    }

    [Test]
    public async Task WithTheFilterTheScopesOfAJobDeletedWhileItRanEndWhenTheWorkersNextJobMovesToProcessing()
    {
        // Hangfire elects no next state for a job deleted while it ran (the state is no longer Processing), so the
        // filter's OnStateApplied does not run for it: the next state applied on the worker thread is the next job's.
        var elections = new ElectionProbe();
        Events events;
        string deleted, next;
        await using (var app = await StartAsync([new CorrelationJobFilter(), elections]))
        {
            using (CorrelationContext.Begin("request-d"))
                deleted = app.Jobs.Enqueue<ReportJob>(j => j.RunWhenLetGo("d"));
            await app.Probe.WaitGateAsync("started:d");
            Assert.That(app.Jobs.Delete(deleted), Is.True);
            app.Probe.Open("go:d");
            await app.Probe.WaitAsync("d");
            next = app.Jobs.Enqueue<ReportJob>(j => j.Run("next"));
            await app.Probe.WaitAsync("next");
            await elections.WaitAsync(next, "Succeeded");
            events = await app.StopAndReadAsync();
        }

        var nextId = Prop(events.Job("next"), "CorrelationId");
        Assert.Multiple(() =>
        {
            Assert.That(Prop(events.Job("d"), "CorrelationId"), Is.EqualTo("request-d"));
            Assert.That(elections.Elections.Where(e => e.JobId == deleted).Select(e => e.State),
                Is.EqualTo(new[] { "Enqueued", "Processing", "Deleted" }), "no state elected after the job ran");
            Assert.That(elections.Elections.Where(e => e.JobId == next).Select(e => (e.State, e.CorrelationId)),
                Is.EqualTo(new[] { ("Enqueued", (string?)null), ("Processing", "request-d"), ("Succeeded", nextId) }));
            Assert.That(nextId, Does.Match("^[0-9a-f]{32}$"));
        });
    }

    /// <summary>Writes its own value into the job's correlation parameter, after the README's filter (a greater order).</summary>
    sealed class OverwritingFilter(object value) : JobFilterAttribute, IClientFilter
    {
        public void OnCreating(CreatingContext context) => context.SetJobParameter("CorrelationId", value);

        public void OnCreated(CreatedContext context) { }
    }

    public static IEnumerable<TestCaseData> HostileParameters()
    {
        yield return new TestCaseData("evil\r\n{\"UserId\":\"admin\"}").SetArgDisplayNames("a line break");
        yield return new TestCaseData("<script>evil</script>").SetArgDisplayNames("markup");
        yield return new TestCaseData(new string('e', 129)).SetArgDisplayNames("129 characters");
        yield return new TestCaseData(new Dictionary<string, string> { ["evil"] = "admin" }).SetArgDisplayNames("an object");
        yield return new TestCaseData(new List<string> { "evil" }).SetArgDisplayNames("an array");
    }

    [TestCaseSource(nameof(HostileParameters))]
    public async Task WithTheFilterAnInvalidIdInTheJobsParameterIsReplacedByANewIdAndNeverWritten(object hostile)
    {
        Events events;
        await using (var app = await StartAsync([new CorrelationJobFilter(), new OverwritingFilter(hostile) { Order = 10 }]))
        {
            await PostAsync(app, "/reports/a", "request-a");
            await app.Probe.WaitAsync("a");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(Prop(events.Job("a"), "CorrelationId"), Does.Match("^[0-9a-f]{32}$"));
            Assert.That(events.File, Does.Not.Contain("evil").And.Not.Contain("eeeeeeee"));
        });
    }

    [Test]
    public void TheReadmeShowsTheFilterTestedHere() =>
        ReadmeCode.AssertSectionShows("## Background jobs (Hangfire)", Path.Combine("Ecosystem", "CorrelationJobFilter.cs"));
}
