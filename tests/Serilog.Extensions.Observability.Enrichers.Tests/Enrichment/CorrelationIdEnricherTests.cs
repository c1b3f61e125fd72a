using System.Diagnostics;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

public class CorrelationIdEnricherTests
{
    [Test]
    public void TheAmbientIdIsWrittenAsCorrelationId()
    {
        LogEvent evt;
        using (CorrelationContext.Begin("req-1"))
            evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithCorrelation());

        Assert.That(evt.Properties["CorrelationId"], Is.EqualTo(new ScalarValue("req-1")));
    }

    [Test]
    public void ThePropertyNameIsConfigurable()
    {
        LogEvent evt;
        using (CorrelationContext.Begin("req-2"))
            evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithCorrelation("RequestId"));

        Assert.That(evt.Properties.ContainsKey("CorrelationId"), Is.False);
        Assert.That(evt.Properties["RequestId"], Is.EqualTo(new ScalarValue("req-2")));
    }

    [Test]
    public void WithoutAScopeTheCurrentW3CTraceIdIsUsed()
    {
        using var activity = new Activity("op").SetIdFormat(ActivityIdFormat.W3C).Start();
        var evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithCorrelation());

        Assert.That(evt.Properties["CorrelationId"], Is.EqualTo(new ScalarValue(activity.TraceId.ToHexString())));
    }

    [Test]
    public void TheAmbientIdWinsOverTheTraceId()
    {
        using var activity = new Activity("op").SetIdFormat(ActivityIdFormat.W3C).Start();
        using var scope = CorrelationContext.Begin("explicit");
        var evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithCorrelation());

        Assert.That(evt.Properties["CorrelationId"], Is.EqualTo(new ScalarValue("explicit")));
    }

    [Test]
    public void TheTraceIdFallbackCanBeTurnedOff()
    {
        using var activity = new Activity("op").SetIdFormat(ActivityIdFormat.W3C).Start();
        var evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithCorrelation(useTraceIdWhenMissing: false));

        Assert.That(evt.Properties.ContainsKey("CorrelationId"), Is.False);
    }

    [Test]
    public void AHierarchicalActivityIsNotUsedAsACorrelationId()
    {
        using var activity = new Activity("op").SetIdFormat(ActivityIdFormat.Hierarchical).Start();
        var evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithCorrelation());

        Assert.That(evt.Properties.ContainsKey("CorrelationId"), Is.False);
    }

    [Test]
    public void NothingIsWrittenWithoutAScopeOrActivity()
    {
        var evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithCorrelation());

        Assert.That(evt.Properties.ContainsKey("CorrelationId"), Is.False);
    }

    [Test]
    public void AValueTheCallerSetWins()
    {
        LogEvent evt;
        using (CorrelationContext.Begin("ambient"))
            evt = DelegatingSink.GetLogEvent(log => log.ForContext("CorrelationId", "mine").Information("Hi"), c => c.Enrich.WithCorrelation());

        Assert.That(evt.Properties["CorrelationId"], Is.EqualTo(new ScalarValue("mine")));
    }

    [Test]
    public void EventsInTheSameScopeShareOnePropertyValue()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithCorrelation().WriteTo.Sink(sink).CreateLogger();
        using (CorrelationContext.Begin("cached"))
        {
            logger.Information("One");
            logger.Information("Two");
        }

        using (CorrelationContext.Begin("other"))
            logger.Information("Three");

        var events = sink.Events;
        Assert.That(events[1].Properties["CorrelationId"], Is.SameAs(events[0].Properties["CorrelationId"]));
        Assert.That(events[2].Properties["CorrelationId"], Is.EqualTo(new ScalarValue("other")));
    }

    [Test]
    public void EventsInTheSameActivityShareOneTraceIdValue()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithCorrelation().WriteTo.Sink(sink).CreateLogger();
        using (new Activity("op").Start())
        {
            logger.Information("One");
            logger.Information("Two");
        }

        Assert.That(sink.Events[1].Properties["CorrelationId"], Is.SameAs(sink.Events[0].Properties["CorrelationId"]));
    }

    [Test]
    public void AnEventEnrichedWhereAnotherTraceIsCurrentIsCorrelatedWithTheTraceItWasWrittenIn()
    {
        LogEvent written;
        string traceId;
        using (var origin = new Activity("origin").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            written = DelegatingSink.GetLogEvent(log => log.Information("Written in origin"));
            traceId = origin.TraceId.ToHexString();
        }

        var sink = new CollectingSink();
        using var enriching = new LoggerConfiguration().Enrich.WithCorrelation().WriteTo.Sink(sink).CreateLogger();
        var thread = new Thread(() =>
        {
            using var elsewhere = new Activity("elsewhere").SetIdFormat(ActivityIdFormat.W3C).Start();
            enriching.Write(written);
        });
        thread.Start();
        thread.Join();

        Assert.That(sink.SingleEvent.Properties["CorrelationId"], Is.EqualTo(new ScalarValue(traceId)));
    }

    [Test]
    public void SuccessiveActivitiesOnOneThreadEachGiveTheirOwnTraceIdAndNoneAfterTheyStop()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithCorrelation().WriteTo.Sink(sink).CreateLogger();
        var first = new Activity("first").SetIdFormat(ActivityIdFormat.W3C).Start();
        logger.Information("One");
        first.Stop();
        var second = new Activity("second").SetIdFormat(ActivityIdFormat.W3C).Start();
        logger.Information("Two");
        second.Stop();
        logger.Information("Three");

        var events = sink.Events;
        Assert.That(events[0].Properties["CorrelationId"], Is.EqualTo(new ScalarValue(first.TraceId.ToHexString())));
        Assert.That(events[1].Properties["CorrelationId"], Is.EqualTo(new ScalarValue(second.TraceId.ToHexString())));
        Assert.That(events[2].Properties.ContainsKey("CorrelationId"), Is.False);
    }

    [Test]
    public void TwoLoggersWithDifferentNamesInOneScopeEachGetTheirOwnName()
    {
        var first = new CollectingSink();
        var second = new CollectingSink();
        using var a = new LoggerConfiguration().Enrich.WithCorrelation("A").WriteTo.Sink(first).CreateLogger();
        using var b = new LoggerConfiguration().Enrich.WithCorrelation("B").WriteTo.Sink(second).CreateLogger();
        using (CorrelationContext.Begin("shared"))
        {
            a.Information("1");
            b.Information("2");
            a.Information("3");
        }

        Assert.That(first.Events.Select(e => e.Properties["A"].ToString()), Is.EqualTo(new[] { "\"shared\"", "\"shared\"" }));
        Assert.That(second.SingleEvent.Properties["B"], Is.EqualTo(new ScalarValue("shared")));
    }

    [TestCase("")]
    [TestCase("  ")]
    public void ABlankPropertyNameIsAConfigurationError(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().Enrich.WithCorrelation(name));
        Assert.That(ex!.ParamName, Is.EqualTo("propertyName"));
    }
}
