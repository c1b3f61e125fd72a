using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

public record LoginRecord(string User, string Password, string Notes);

public record GenericWrapper<T>(T Value, [property: Sensitive] string Phone);

/// <summary>Leak paths a third review found, through the whole documented configuration (policy, enricher, sink).</summary>
public class ThirdReviewLeakPathTests
{
    static string Log(Action<ILogger> write, Action<RedactionOptions>? configure = null)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Destructure.WithRedaction(configure)
                   .Enrich.WithRedaction(configure)
                   .WriteTo.Redacted(s => s.Sink(sink), configure)
                   .CreateLogger())
            write(logger);
        return Output.Render(sink.Events);
    }

    [TestCase("pass_word")]
    [TestCase("Pass-Word")]
    [TestCase("PassWord")]
    [TestCase("passWord")]
    [TestCase("PassPhrase")]
    [TestCase("db_pass_word")]
    public void ASensitiveWordSplitByASeparatorOrACapitalIsStillSensitive(string name) =>
        Assert.That(Log(l => l.ForContext(name, "f1-secret").Information("x")), Does.Not.Contain("f1-secret"));

    [Test]
    public void TurningJsonParsingOffStillMasksRecordText()
    {
        var text = Log(l => l.Information("{Login}", new LoginRecord("ann", "f2-secret", "n")), o => o.MaximumJsonLength = 0);
        Assert.That(text, Does.Not.Contain("f2-secret"));
        Assert.That(text, Does.Contain("ann"));
    }

    [Test]
    public void SensitiveOnAGenericRecordLoggedAsTextIsMasked()
    {
        var text = Log(l => l.Information("{Wrapper}", new GenericWrapper<int>(1, "f5-secret")));
        Assert.That(text, Does.Not.Contain("f5-secret"));
        Assert.That(text, Does.Contain("Value = 1"));
    }
}
