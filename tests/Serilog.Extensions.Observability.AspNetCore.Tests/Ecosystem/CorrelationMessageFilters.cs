// The filters the main README shows under "Messaging (MassTransit)": the lines between the markers are that README's
// code block, character for character (MassTransitTests.TheReadmeShowsTheFiltersTestedHere).
namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

// README: begin
using MassTransit;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Timing;

// Sending or publishing a message: the sender's correlation id (a request's, a consumer's) becomes a header of it.
public sealed class CorrelationSendFilter<T> : IFilter<SendContext<T>>, IFilter<PublishContext<T>> where T : class
{
    public Task Send(SendContext<T> context, IPipe<SendContext<T>> next)
    {
        Inject(context);
        return next.Send(context);
    }

    public Task Send(PublishContext<T> context, IPipe<PublishContext<T>> next)
    {
        Inject(context);
        return next.Send(context);
    }

    static void Inject(SendContext context) =>
        CorrelationPropagation.Inject(context.Headers, static (headers, name, id) => headers.Set(name, id));

    public void Probe(ProbeContext context) => context.CreateFilterScope("correlationSend");
}

// Consuming it: that id (a new one when it has none or it is not valid), no user, and a timer for the message.
public sealed class CorrelationConsumeFilter<T> : IFilter<ConsumeContext<T>> where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        using var correlation = CorrelationPropagation.BeginFrom(context.Headers,
            static (headers, name) => headers.TryGetHeader(name, out var value) ? value as string : null);
        using var user = UserContext.Begin(userId: null);
        using var timer = PipelineTimer.Begin(Name);
        try
        {
            await next.Send(context);
            timer.Complete();
        }
        catch (Exception exception)
        {
            timer.Fail(exception);
            throw;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("correlationConsume");

    // The timer's name: the message type's, with its type arguments (Fault<ReportRequested>, not Fault`1).
    static readonly string Name = NameOf(typeof(T));

    static string NameOf(Type type) => type.IsGenericType
        ? $"{type.Name.Split('`')[0]}<{string.Join(", ", type.GetGenericArguments().Select(NameOf))}>"
        : type.Name;
}
// README: end
