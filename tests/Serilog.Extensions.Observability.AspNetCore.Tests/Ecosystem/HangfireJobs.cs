using System.Collections.Concurrent;
using Hangfire;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>What one job run saw of the ambient contexts, and the worker thread it ran on.</summary>
public sealed record JobRun(string Tag, string? CorrelationId, string? UserId, int ThreadId);

/// <summary>
/// Lets a test wait, with a bound, for a job to have run: each job completes its tag's signal after it has logged. Keeps
/// what each run saw.
/// </summary>
public sealed class JobProbe
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    readonly ConcurrentDictionary<string, TaskCompletionSource<JobRun>> _runs = new();

    TaskCompletionSource<JobRun> Signal(string tag) =>
        _runs.GetOrAdd(tag, _ => new TaskCompletionSource<JobRun>(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Ran(string tag) =>
        Signal(tag).TrySetResult(new JobRun(tag, CorrelationContext.CurrentId, UserContext.Current?.UserId, Environment.CurrentManagedThreadId));

    readonly ConcurrentDictionary<string, int> _attempts = new();

    public int NextAttempt(string tag) => _attempts.AddOrUpdate(tag, 1, static (_, n) => n + 1);

    public Task<JobRun> WaitAsync(string tag) => Signal(tag).Task.WaitAsync(Timeout);

    readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();

    TaskCompletionSource Gate(string name) =>
        _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Opens the gate <paramref name="name"/>, which <see cref="WaitGate"/> and <see cref="WaitGateAsync"/> wait for.</summary>
    public void Open(string name) => Gate(name).TrySetResult();

    public Task WaitGateAsync(string name) => Gate(name).Task.WaitAsync(Timeout);

    /// <summary>Blocks the calling job until the gate is open, up to the probe's timeout.</summary>
    public void WaitGate(string name) => Gate(name).Task.Wait(Timeout);
}

/// <summary>A job as applications write one: activated from the host's services, logging through <c>ILogger&lt;T&gt;</c>.</summary>
public sealed class ReportJob(ILogger<ReportJob> logger, JobProbe probe, IBackgroundJobClient jobs)
{
    public const string Message = "Building report {Tag}";

    public void Run(string tag)
    {
        logger.LogInformation(Message, tag);
        probe.Ran(tag);
    }

    public async Task RunAsync(string tag)
    {
        await Task.Yield();
        logger.LogInformation(Message, tag);
        probe.Ran(tag);
    }

    /// <summary>Enqueues a follow-up job from inside this one.</summary>
    public void RunThenEnqueue(string tag, string nextTag)
    {
        logger.LogInformation(Message, tag);
        jobs.Enqueue<ReportJob>(j => j.Run(nextTag));
        probe.Ran(tag);
    }

    /// <summary>Opens the gate <c>started:</c><paramref name="tag"/>, then runs once the test opens <c>go:</c><paramref name="tag"/>.</summary>
    public void RunWhenLetGo(string tag)
    {
        probe.Open("started:" + tag);
        probe.WaitGate("go:" + tag);
        Run(tag);
    }

    /// <summary>Begins scopes and never disposes them.</summary>
    public void RunLeavingScopesOpen(string tag, string correlationId, string userId)
    {
        CorrelationContext.Begin(correlationId);
        UserContext.Begin(userId);
        logger.LogInformation(Message, tag);
        probe.Ran(tag);
    }

    /// <summary>Fails its first attempt; the retry, at once, succeeds.</summary>
    [AutomaticRetry(Attempts = 1, DelaysInSeconds = [0])]
    public void FailFirstAttempt(string tag)
    {
        var attempt = probe.NextAttempt(tag);
        logger.LogInformation("Building report {Tag}, attempt {Attempt}", tag, attempt);
        if (attempt == 1) throw new InvalidOperationException("The first attempt failed.");
        probe.Ran(tag);
    }

    /// <summary>
    /// <see cref="FailFirstAttempt"/> for another test: Hangfire reads a method's <c>[AutomaticRetry]</c> once for the
    /// process, and it logs through the log provider current then (the first host's that used the method).
    /// </summary>
    [AutomaticRetry(Attempts = 1, DelaysInSeconds = [0])]
    public void FailFirstAttemptOnce(string tag) => FailFirstAttempt(tag);

    /// <summary><see cref="FailFirstAttempt"/> for a third test (see <see cref="FailFirstAttemptOnce"/>).</summary>
    [AutomaticRetry(Attempts = 1, DelaysInSeconds = [0])]
    public void FailFirstAttemptBesideOthers(string tag) => FailFirstAttempt(tag);

    [AutomaticRetry(Attempts = 0)]
    public void Fail(string tag)
    {
        logger.LogInformation(Message, tag);
        probe.Ran(tag);
        throw new InvalidOperationException("The report failed.");
    }
}
