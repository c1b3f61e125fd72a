using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Masking;

/// <summary>
/// A SelfLog output that throws (SelfLog.Enable(TextWriter) on a full disk) costs the report, never the event or the
/// application's logging call.
/// </summary>
[NonParallelizable]
public class FailingSelfLogTests : FailingSelfLogFixture
{
    const string Mask = RedactionOptions.DefaultMask;

    [Test]
    public void AThrowingGetterStillGivesItsPlaceholderAndKeepsTheOtherMembersWhenSelfLogFails()
    {
        LogEventPropertyValue? value = null;
        Assert.DoesNotThrow(() => value = Capture.Destructured(new ThrowingGetter()));
        Assert.That(value!.ToString(), Is.EqualTo(
            $"ThrowingGetter {{ Fine: \"fine\", Broken: \"The property accessor threw an exception: InvalidOperationException\", Password: \"{Mask}\" }}"));
    }

    sealed class ThrowingSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => throw new InvalidOperationException("sink failed");
    }

    [Test]
    public void ASinkInsideRedactedThatThrowsDoesNotThrowIntoTheCallerWhenSelfLogFails()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration()
            .WriteTo.Redacted(inner => inner.Sink(new ThrowingSink()))
            .WriteTo.Sink(sink)
            .CreateLogger();

        Assert.DoesNotThrow(() => logger.Information("still written"));
        Assert.That(sink.Events, Has.Count.EqualTo(1));
    }
}
