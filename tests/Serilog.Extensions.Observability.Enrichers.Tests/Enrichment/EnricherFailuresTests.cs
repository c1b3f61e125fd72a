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
}
