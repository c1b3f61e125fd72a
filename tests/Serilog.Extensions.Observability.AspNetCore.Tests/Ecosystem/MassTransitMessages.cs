using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>A message a request publishes or sends; what the consumer does depends on the fields set.</summary>
public sealed record ReportRequested(string Tag)
{
    /// <summary>The tag of a follow-up message the consumer publishes.</summary>
    public string? Then { get; init; }

    /// <summary>Scopes the consumer begins and never disposes.</summary>
    public string? LeaveCorrelationOpen { get; init; }

    public string? LeaveUserOpen { get; init; }

    public bool Fail { get; init; }

    /// <summary>How many attempts fail before one succeeds (each logs <see cref="ReportConsumer.AttemptMessage"/>).</summary>
    public int FailAttempts { get; init; }

    /// <summary>The tag of a follow-up message the consumer sends to the consumer's queue.</summary>
    public string? SendThen { get; init; }
}

/// <summary>A request an HTTP endpoint sends through <c>IRequestClient&lt;T&gt;</c>.</summary>
public sealed record ReportStatusRequest(string Tag);

/// <summary>The response, with the correlation id the responder ran with.</summary>
public sealed record ReportStatus(string Tag, string? CorrelationId);

/// <summary>What one consumption saw of the ambient contexts and of <c>Activity.Current</c>.</summary>
public sealed record Consumed(string Tag, string? CorrelationId, string? UserId, string? TraceId);

/// <summary>
/// Lets a test wait, with a bound, for a message to have been consumed: the consumer completes its tag's signal after it
/// has logged. Keeps what each consumption saw.
/// </summary>
public sealed class MessageProbe
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    readonly ConcurrentDictionary<string, TaskCompletionSource<Consumed>> _consumed = new();

    TaskCompletionSource<Consumed> Signal(string tag) =>
        _consumed.GetOrAdd(tag, _ => new TaskCompletionSource<Consumed>(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Ran(string tag) =>
        Signal(tag).TrySetResult(new Consumed(tag, CorrelationContext.CurrentId, UserContext.Current?.UserId,
            System.Diagnostics.Activity.Current?.TraceId.ToHexString()));

    public Task<Consumed> WaitAsync(string tag) => Signal(tag).Task.WaitAsync(Timeout);

    readonly ConcurrentDictionary<string, int> _attempts = new();

    public int NextAttempt(string tag) => _attempts.AddOrUpdate(tag, 1, static (_, n) => n + 1);
}

/// <summary>A consumer as applications write one: resolved from the host's services, logging through <c>ILogger&lt;T&gt;</c>.</summary>
public sealed class ReportConsumer(ILogger<ReportConsumer> logger, MessageProbe probe) : IConsumer<ReportRequested>
{
    public const string Message = "Building report {Tag}";
    public const string AttemptMessage = "Building report {Tag}, attempt {Attempt}";
    public const string Queue = "reports";

    public async Task Consume(ConsumeContext<ReportRequested> context)
    {
        var message = context.Message;
        if (message.LeaveCorrelationOpen is not null) CorrelationContext.Begin(message.LeaveCorrelationOpen);
        if (message.LeaveUserOpen is not null) UserContext.Begin(message.LeaveUserOpen);
        await Task.Yield();
        if (message.FailAttempts > 0)
        {
            var attempt = probe.NextAttempt(message.Tag);
            logger.LogInformation(AttemptMessage, message.Tag, attempt);
            if (attempt <= message.FailAttempts) throw new InvalidOperationException($"Attempt {attempt} failed.");
        }
        else
        {
            logger.LogInformation(Message, message.Tag);
        }

        if (message.Then is not null) await context.Publish(new ReportRequested(message.Then));
        if (message.SendThen is not null)
            await (await context.GetSendEndpoint(new Uri("queue:" + Queue))).Send(new ReportRequested(message.SendThen));
        probe.Ran(message.Tag);
        if (message.Fail) throw new InvalidOperationException("The report failed.");
    }
}

/// <summary>Consumes the <c>Fault&lt;T&gt;</c> MassTransit publishes when <see cref="ReportConsumer"/> fails for good.</summary>
public sealed class ReportFaultConsumer(ILogger<ReportFaultConsumer> logger, MessageProbe probe) : IConsumer<Fault<ReportRequested>>
{
    public const string Message = "Report {Tag} faulted";

    public Task Consume(ConsumeContext<Fault<ReportRequested>> context)
    {
        logger.LogInformation(Message, context.Message.Message.Tag);
        probe.Ran("fault:" + context.Message.Message.Tag);
        return Task.CompletedTask;
    }
}

/// <summary>Answers <see cref="ReportStatusRequest"/> with the correlation id it ran with.</summary>
public sealed class ReportStatusConsumer(ILogger<ReportStatusConsumer> logger) : IConsumer<ReportStatusRequest>
{
    public const string Message = "Reporting the status of {Tag}";

    public async Task Consume(ConsumeContext<ReportStatusRequest> context)
    {
        await Task.Yield();
        logger.LogInformation(Message, context.Message.Tag);
        await context.RespondAsync(new ReportStatus(context.Message.Tag, CorrelationContext.CurrentId));
    }
}
