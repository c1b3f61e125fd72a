using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// Text that an earlier step masked already (the request logging's <c>RequestPath</c> with
/// <c>IncludeQueryInRequestPath</c>: <c>/cb?access_token=[REDACTED]</c>) goes through the event pass again.
/// </summary>
public class AlreadyMaskedTextTests
{
    static IReadOnlyList<string> LogRequestPath(string path, string? other = null)
    {
        var sink = new CollectingSink();
        // Two passes, as WithObservability() sets them up: the enricher's, then the sink wrapper's.
        using (var logger = new LoggerConfiguration()
                   .Enrich.WithRedaction(r => { r.DetectEmbeddedCredentials = true; r.DetectJwts = true; })
                   .WriteTo.Redacted(s => s.Sink(sink), r => { r.DetectEmbeddedCredentials = true; r.DetectJwts = true; })
                   .CreateLogger())
        {
            logger.Information("HTTP {RequestPath} {Other}", path, other);
        }
        var e = sink.Events.Single();
        return [((Serilog.Events.ScalarValue)e.Properties["RequestPath"]).Value!.ToString()!, e.Properties["Other"].ToString()];
    }

    [TestCase("/cb?access_token=[REDACTED]&page=2")]
    [TestCase("/cb?access_token=[REDACTED]")]
    [TestCase("/cb?access_token=[REDACTED]&password=s3cret&x=1", "/cb?access_token=[REDACTED]&password=[REDACTED]&x=1")]
    [TestCase("Server=db;Password=[REDACTED];Encrypt=true")]
    public void AValueMaskedBeforeIsWrittenAsItWas(string path, string? expected = null)
    {
        var written = LogRequestPath(path, "see [REDACTED] and [REDACTED]]");

        Assert.That(written[0], Is.EqualTo(expected ?? path));
        Assert.That(written[1], Is.EqualTo("\"see [REDACTED] and [REDACTED]]\""));
    }
}
