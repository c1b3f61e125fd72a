using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

public record UploadRequest(string FileName, string ContentBase64, string SasToken);

/// <summary>Record text longer than the JSON limit, through the whole documented configuration.</summary>
public class LongTextLeakTests
{
    static string Log(Action<ILogger> write, Action<RedactionOptions>? configure = null) => Capture.AllPiecesOutput(write, configure);

    [Test]
    public void ARecordLoggedAsTextIsMaskedByMemberNameWhateverItsLength()
    {
        // The README limits JSON parsing by maximumJsonLength; record text is masked by member name without a limit.
        var request = new UploadRequest("scan.pdf", new string('A', 40 * 1024), "sas-secret-token-1");

        var text = Log(l => l.Information("Uploading {Request}", request));

        Assert.That(text, Does.Not.Contain("sas-secret-token-1"));
        Assert.That(text, Does.Contain("SasToken = [REDACTED] }"));
    }

    [Test]
    public void AnAnonymousObjectLoggedAsTextIsMaskedByMemberNameWhateverItsLength()
    {
        var text = Log(l => l.Information("Uploading {Request}", new { Content = new string('B', 40 * 1024), ApiKey = "anon-secret-key-1" }));

        Assert.That(text, Does.Not.Contain("anon-secret-key-1"));
    }
}
