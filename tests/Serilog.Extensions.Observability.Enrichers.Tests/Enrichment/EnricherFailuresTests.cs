using Serilog.Extensions.Observability.Enrichers.Context;
using Serilog.Extensions.Observability.Enrichers.Enrichment;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

[NonParallelizable]
public class EnricherFailuresTests
{
    [Test]
    public void AFailureIsWrittenToSelfLogAndCounted()
    {
        var lines = new List<string>();
        var before = EnricherFailures.Count;
        using (TemporarySelfLog.SaveTo(lines))
            EnricherFailures.Report("SomeEnricher", new InvalidOperationException("broken"));

        Assert.That(EnricherFailures.Count, Is.EqualTo(before + 1));
        Assert.That(lines, Has.Count.EqualTo(1));
        Assert.That(lines[0], Does.Contain("SomeEnricher failed to enrich an event").And.Contain("broken"));
    }

    [Test]
    public void AFailureOnEveryEventIsReportedOncePerIntervalForEachEnricher()
    {
        var lines = new List<string>();
        var before = EnricherFailures.Count;
        using (TemporarySelfLog.SaveTo(lines))
        {
            for (var i = 0; i < 200; i++) EnricherFailures.Report("AlwaysFailingEnricher", new InvalidOperationException("always broken"));
            EnricherFailures.Report("AnotherFailingEnricher", new InvalidOperationException("broken too"));
        }

        Assert.That(EnricherFailures.Count, Is.EqualTo(before + 201), "every failure is counted");
        // One line, and one more per 10 seconds the loop may have taken; another enricher's failure is not hidden by it.
        Assert.That(lines.Count(l => l.Contains("AlwaysFailingEnricher")), Is.InRange(1, 10));
        Assert.That(lines, Has.Exactly(1).Contains("AnotherFailingEnricher"));
    }

    [Test]
    public void ADeferredResolverThatAlwaysThrowsIsReportedOncePerIntervalNotOncePerRead()
    {
        var lines = new List<string>();
        UserScope.ResolverReport.Reset();
        CorrelationScope.ResolverReport.Reset();
        using (TemporarySelfLog.SaveTo(lines))
        using (UserContext.BeginDeferred(() => throw new InvalidOperationException("user resolver broke")))
        using (CorrelationContext.BeginDeferred(() => throw new InvalidOperationException("id resolver broke")))
        {
            for (var i = 0; i < 200; i++)
            {
                Assert.That(UserContext.Current, Is.Null);
                Assert.That(CorrelationContext.CurrentId, Is.Null);
            }
        }

        Assert.That(lines.Count(l => l.Contains("user resolver broke")), Is.InRange(1, 10));
        Assert.That(lines.Count(l => l.Contains("id resolver broke")), Is.InRange(1, 10));
    }
}
