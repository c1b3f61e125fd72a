using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Enrichers.Enrichment;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

public class ResolvedUserEnricherTests
{
    [Test]
    public void AResolvedIdentityIsReadWhenEachEventIsWritten()
    {
        UserIdentity? current = null;
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().Enrich.WithUser().WriteTo.Sink(sink).CreateLogger())
        using (UserContext.BeginDeferred(() => current))
        {
            logger.Information("Before authentication");
            current = new UserIdentity("alice", "acme");
            logger.Information("After authentication");
            Assert.That(UserContext.Current, Is.SameAs(current));
        }

        Assert.That(sink.Events[0].Properties.ContainsKey("UserId"), Is.False);
        Assert.That(((ScalarValue)sink.Events[1].Properties["UserId"]).Value, Is.EqualTo("alice"));
        Assert.That(((ScalarValue)sink.Events[1].Properties["TenantId"]).Value, Is.EqualTo("acme"));
    }

    [Test]
    public void TheSameResolvedIdentityReusesItsProperties()
    {
        var identity = new UserIdentity("bob");
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().Enrich.WithUser().WriteTo.Sink(sink).CreateLogger())
        using (UserContext.BeginDeferred(() => identity))
        {
            logger.Information("One");
            logger.Information("Two");
        }

        Assert.That(sink.Events[1].Properties["UserId"], Is.SameAs(sink.Events[0].Properties["UserId"]));
    }

    [Test]
    [NonParallelizable]
    public void AResolverThatThrowsLeavesTheEventWithoutUserAndReportsToSelfLog()
    {
        var selfLog = new List<string>();
        var logEvent = Some.LogEvent("Still written");
        Serilog.Extensions.Observability.Enrichers.Context.UserScope.ResolverReport.Reset();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (UserContext.BeginDeferred(() => throw new InvalidOperationException("resolver broke")))
        {
            // The enricher itself, not through a logger: a logger catches and reports an enricher's exception on its
            // own, so the test would pass whether or not the enricher (or the scope) does.
            Assert.DoesNotThrow(() => new UserEnricher(pseudonymizer: null).Enrich(logEvent, null!));
        }

        Assert.That(logEvent.Properties.ContainsKey("UserId"), Is.False);
        Assert.That(selfLog, Has.Some.Contains("resolver broke"));
    }

    [Test]
    public void ANullResolverIsRejected()
    {
        var ex = Assert.Throws<ArgumentNullException>(() => UserContext.BeginDeferred(null!));
        Assert.That(ex!.ParamName, Is.EqualTo("resolve"));
    }
}
