using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>The logger the template-hole leak tests write through: one event pass with <c>DetectEmbeddedCredentials</c>.</summary>
static class CredentialPass
{
    /// <summary>
    /// Runs <paramref name="write"/> twice through <c>WriteTo.Redacted</c> (or, with <paramref name="enricherOnly"/>,
    /// <c>Enrich.WithRedaction</c>) and returns what a sink received, rendered.
    /// </summary>
    public static string Log(Action<Serilog.ILogger> write, bool enricherOnly = false)
    {
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration();
        if (enricherOnly)
            configuration.Enrich.WithRedaction(r => r.DetectEmbeddedCredentials = true).WriteTo.Sink(sink);
        else
            configuration.WriteTo.Redacted(s => s.Sink(sink), r => r.DetectEmbeddedCredentials = true);
        using (var logger = configuration.CreateLogger())
        {
            // Twice: the second event of a template takes the cached route.
            write(logger);
            write(logger);
        }
        return Output.Render(sink.Events);
    }
}
