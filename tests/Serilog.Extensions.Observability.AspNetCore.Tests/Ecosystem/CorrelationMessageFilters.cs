// The filters the main README shows under "Messaging (MassTransit)": the lines between the markers are that README's
// code block, character for character (MassTransitTests.TheReadmeShowsTheFiltersTestedHere).
namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

// README: begin
using MassTransit;
using MassTransit.Configuration;
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

// Consuming it: that id (a new one when it has none or it is not valid) and no user, for all of the message's attempts
// and MassTransit's own reports of them (R-RETRY, R-FAULT).
public sealed class CorrelationConsumeFilter : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        using var correlation = CorrelationPropagation.BeginFrom(context.Headers,
            static (headers, name) => headers.TryGetHeader(name, out var value) ? value as string : null);
        using var user = UserContext.Begin(userId: null);
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("correlationConsume");
}

// Timing it: a summary for each message a consumer consumes (for each attempt when a retry runs outside it).
public sealed class ConsumeTimerFilter<T> : IFilter<ConsumeContext<T>> where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
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

    public void Probe(ProbeContext context) => context.CreateFilterScope("consumeTimer");

    // The timer's name: the message type's, with its type arguments (Fault<ReportRequested>, not Fault`1).
    static readonly string Name = NameOf(typeof(T));

    static string NameOf(Type type) => type.IsGenericType
        ? $"{type.Name.Split('`')[0]}<{string.Join(", ", type.GetGenericArguments().Select(NameOf))}>"
        : type.Name;
}

public static class MessageCorrelationConfigurationExtensions
{
    // The send filter for both: UseSendFilter alone does not see Publish. The consume filter goes before the message
    // type router (MassTransit's UseServiceScope registers its filter there too), so outside every UseMessageRetry.
    public static void UseMessageCorrelation(this IBusFactoryConfigurator cfg, IRegistrationContext context)
    {
        cfg.UseSendFilter(typeof(CorrelationSendFilter<>), context);
        cfg.UsePublishFilter(typeof(CorrelationSendFilter<>), context);
        cfg.AddPrePipeSpecification(new FilterPipeSpecification<ConsumeContext>(new CorrelationConsumeFilter()));
        cfg.UseConsumeFilter(typeof(ConsumeTimerFilter<>), context);
    }
}
// README: end
