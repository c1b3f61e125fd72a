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
}

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
}

/// <summary>A consumer as applications write one: resolved from the host's services, logging through <c>ILogger&lt;T&gt;</c>.</summary>
public sealed class ReportConsumer(ILogger<ReportConsumer> logger, MessageProbe probe) : IConsumer<ReportRequested>
{
    public const string Message = "Building report {Tag}";

    public async Task Consume(ConsumeContext<ReportRequested> context)
    {
        var message = context.Message;
        if (message.LeaveCorrelationOpen is not null) CorrelationContext.Begin(message.LeaveCorrelationOpen);
        if (message.LeaveUserOpen is not null) UserContext.Begin(message.LeaveUserOpen);
        await Task.Yield();
        logger.LogInformation(Message, message.Tag);
        if (message.Then is not null) await context.Publish(new ReportRequested(message.Then));
        probe.Ran(message.Tag);
        if (message.Fail) throw new InvalidOperationException("The report failed.");
    }
}
