using System.Diagnostics;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

public class ConcurrentFlowsTests
{
    const int Flows = 200;
    const int EventsPerFlow = 6;

    [Test]
    public async Task TwoHundredConcurrentFlowsEachLogOnlyTheirOwnIdsThroughAwaitsAndThreadHops()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration()
            .Enrich.WithCorrelation()
            .Enrich.WithUser()
            .Enrich.WithSpan()
            .Enrich.WithThreadId()
            .WriteTo.Sink(sink)
            .CreateLogger();

        // Every flow starts before any logs, so all 200 scopes are alive at the same time.
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flows = new Task[Flows];
        for (var i = 0; i < Flows; i++)
        {
            var flow = i;
            flows[i] = Task.Run(async () =>
            {
                using var correlation = CorrelationContext.Begin("flow-" + flow);
                using var user = UserContext.Begin("user-" + flow, "tenant-" + flow % 7);
                using var activity = new Activity("flow").Start();
                await start.Task;
                for (var j = 0; j < EventsPerFlow / 2; j++)
                {
                    logger.Information("Flow {Flow} in {Span}", flow, activity.SpanId.ToHexString());
                    await Task.Yield();
                    await Task.Run(() => logger.Information("Flow {Flow} in {Span}", flow, activity.SpanId.ToHexString()));
                }
            });
        }

        start.SetResult();
        await Task.WhenAll(flows).WaitAsync(TimeSpan.FromSeconds(30));

        var events = sink.Events;
        Assert.That(events, Has.Count.EqualTo(Flows * EventsPerFlow));
        var perFlow = new int[Flows];
        var threads = new HashSet<int>();
        foreach (var evt in events)
        {
            var flow = (int)((ScalarValue)evt.Properties["Flow"]).Value!;
            perFlow[flow]++;
            Assert.That(evt.Properties["CorrelationId"], Is.EqualTo(new ScalarValue("flow-" + flow)));
            Assert.That(evt.Properties["UserId"], Is.EqualTo(new ScalarValue("user-" + flow)));
            Assert.That(evt.Properties["TenantId"], Is.EqualTo(new ScalarValue("tenant-" + flow % 7)));
            Assert.That(evt.Properties["SpanId"], Is.EqualTo(evt.Properties["Span"]));
            threads.Add((int)((ScalarValue)evt.Properties["ThreadId"]).Value!);
        }

        Assert.That(perFlow, Is.All.EqualTo(EventsPerFlow));
        Assert.That(CorrelationContext.CurrentId, Is.Null);
        Assert.That(UserContext.Current, Is.Null);
        TestContext.Out.WriteLine($"{events.Count} events on {threads.Count} threads");
    }
}
