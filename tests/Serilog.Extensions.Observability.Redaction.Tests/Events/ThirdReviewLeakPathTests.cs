using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

public record LoginRecord(string User, string Password, string Notes);

public record GenericWrapper<T>(T Value, [property: Sensitive] string Phone);

/// <summary>Leak paths a third review found, through the whole documented configuration (policy, enricher, sink).</summary>
public class ThirdReviewLeakPathTests
{
    static string Log(Action<ILogger> write, Action<RedactionOptions>? configure = null) => Capture.AllPiecesOutput(write, configure);

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

    [Test]
    public void RecordTextCutByTheMaximumStringLengthStillMasksItsSensitiveMember()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Destructure.ToMaximumStringLength(60)
                   .Destructure.WithRedaction()
                   .Enrich.WithRedaction()
                   .WriteTo.Redacted(s => s.Sink(sink))
                   .CreateLogger())
            logger.Information("{$Login}", new LoginRecord("ann", "f3-secret", new string('n', 200)));

        var text = Output.Render(sink.Events);
        Assert.That(text, Does.Not.Contain("f3-secret"));
        Assert.That(text, Does.Contain("ann"));
    }

    [Test]
    public void DeeplyNestedPairTextIsMaskedPastADepthWithoutExhaustingASmallStack()
    {
        // "[a, [a, ... [password, f6-secret] ...]]": each level used to recurse and copy the rest.
        var text = string.Concat(Enumerable.Repeat("[a, ", 6000)) + "[password, f6-secret]" + new string(']', 6000);
        string? output = null;
        var worker = new Thread(() => output = Log(l => l.Information("{Value}", text)), 1024 * 1024);
        worker.Start();
        Assert.That(worker.Join(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(output, Does.Not.Contain("f6-secret"));
        Assert.That(output, Does.StartWith("[").Or.Contain("[a, [a, "));
    }

    static string LogThroughMicrosoftLogging(Action<Microsoft.Extensions.Logging.ILogger> write)
    {
        var sink = new CollectingSink();
        using (var serilog = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Redacted(s => s.Sink(sink)).CreateLogger())
        using (var provider = new Serilog.Extensions.Logging.SerilogLoggerProvider(serilog))
            write(provider.CreateLogger("Probe"));
        return Output.Render(sink.Events);
    }

    [Test]
    public void ANonStringSecretIsMaskedInTheRenderedScopeToo()
    {
        var guid = Guid.Parse("3f2a1b4c-0000-4000-8000-123456789abc");
        var withKey = LogThroughMicrosoftLogging(l => { using (Microsoft.Extensions.Logging.LoggerExtensions.BeginScope(l, "With {ApiKey}", guid)) Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(l, "x"); });
        Assert.That(withKey, Does.Not.Contain("3f2a1b4c"));
        var withPin = LogThroughMicrosoftLogging(l => { using (Microsoft.Extensions.Logging.LoggerExtensions.BeginScope(l, "With {Pin}", 987654)) Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(l, "x"); });
        Assert.That(withPin, Does.Not.Contain("987654"));
    }
}
