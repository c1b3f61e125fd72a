// The filter the main README shows under "Background jobs (Hangfire)": the lines between the markers are that README's
// code block, character for character (HangfireTests.TheReadmeShowsTheFilterTestedHere).
namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

// README: begin
using Hangfire.Client;
using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Timing;

public sealed class CorrelationJobFilter : IClientFilter, IServerFilter, IApplyStateFilter
{
    const string Parameter = "CorrelationId";

    // The job's scopes from OnPerformed until Hangfire has applied the state it elects next, so that what it logs there
    // (the failure, the retry) carries the job's id.
    static readonly AsyncLocal<(IDisposable Correlation, IDisposable User)?> Ending = new();

    // Creating a job: the caller's correlation id (a request's, a job's) becomes a parameter of the job.
    public void OnCreating(CreatingContext context) =>
        CorrelationPropagation.Inject(context, static (job, name, id) => job.SetJobParameter(name, id), Parameter);

    public void OnCreated(CreatedContext context) { }

    // Performing it: that id (a new one when it has none or it is not valid), no user, and a timer for the job. Read
    // as object: GetJobParameter<string> throws, failing the job, on a parameter that holds a JSON object or array.
    public void OnPerforming(PerformingContext context)
    {
        var correlation = CorrelationPropagation.BeginFrom(
            context, static (job, name) => job.GetJobParameter<object>(name) as string, Parameter);
        var user = UserContext.Begin(userId: null);
        var job = context.BackgroundJob.Job;
        var timer = PipelineTimer.Begin($"{job.Type.Name}.{job.Method.Name}");
        context.Items[nameof(CorrelationJobFilter)] = (correlation, user, timer);
    }

    public void OnPerformed(PerformedContext context)
    {
        if (!context.Items.TryGetValue(nameof(CorrelationJobFilter), out var scopes)) return;
        var (correlation, user, timer) = ((IDisposable, IDisposable, PipelineTimer))scopes;
        if (context.Exception is { } exception && !context.ExceptionHandled) timer.Fail(exception);
        else timer.Complete();
        Ending.Value = (correlation, user);
    }

    // Any state applied on this thread next (the job's, or else the worker's next job's Processing) ends them.
    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        if (Ending.Value is not { } scopes) return;
        Ending.Value = null;
        scopes.User.Dispose();
        scopes.Correlation.Dispose();
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction) { }
}
// README: end
