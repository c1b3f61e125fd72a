using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Context;

/// <summary>
/// A SelfLog output that throws (SelfLog.Enable(TextWriter) on a full disk) costs the report, never the caller: a
/// failed resolver still gives the documented fallback, and the event is still written.
/// </summary>
[NonParallelizable]
public class FailingSelfLogTests : FailingSelfLogFixture
{
    [Test]
    public void AThrowingCorrelationResolverStillShowsTheEnclosingIdWhenSelfLogFails()
    {
        using (CorrelationContext.Begin("outer"))
        using (CorrelationContext.BeginDeferred(() => throw new InvalidOperationException("resolver failed")))
        {
            string? current = null;
            Assert.DoesNotThrow(() => current = CorrelationContext.CurrentId);
            Assert.That(current, Is.EqualTo("outer"));
        }
    }

    [Test]
    public void AThrowingUserResolverStillGivesNoUserWhenSelfLogFails()
    {
        using (UserContext.Begin("outer"))
        using (UserContext.BeginDeferred(() => throw new InvalidOperationException("claims failed")))
        {
            UserIdentity? current = new UserIdentity("unset");
            Assert.DoesNotThrow(() => current = UserContext.Current);
            Assert.That(current, Is.Null);
        }
    }

    [Test]
    public void AnEventWhoseResolversThrowIsStillWrittenWhenSelfLogFails()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration()
            .Enrich.WithCorrelation()
            .Enrich.WithUser()
            .WriteTo.Sink(sink)
            .CreateLogger();

        using (CorrelationContext.Begin("outer"))
        using (CorrelationContext.BeginDeferred(() => throw new InvalidOperationException("resolver failed")))
        using (UserContext.BeginDeferred(() => throw new InvalidOperationException("claims failed")))
        {
            Assert.DoesNotThrow(() => logger.Information("still written"));
        }

        Assert.That(sink.Events, Has.Count.EqualTo(1));
        Assert.That(((ScalarValue)sink.Events[0].Properties["CorrelationId"]).Value, Is.EqualTo("outer"));
        Assert.That(sink.Events[0].Properties.ContainsKey("UserId"), Is.False);
    }
}
