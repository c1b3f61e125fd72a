using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>The loggers the leak tests write through: event passes with <c>DetectEmbeddedCredentials</c>.</summary>
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

    /// <summary>
    /// Writes one event through <c>WriteTo.Redacted</c> with pseudonyms and embedded-credential detection (with
    /// <paramref name="bothPasses"/>, <c>Enrich.WithRedaction</c> first with the same rules, as <c>AddObservability()</c>
    /// runs them) and returns the event the sink received.
    /// </summary>
    public static Serilog.Events.LogEvent WithPseudonyms(bool bothPasses, Action<Serilog.ILogger> write)
    {
        static void Pseudonyms(RedactionOptions o)
        {
            o.DetectEmbeddedCredentials = true;
            o.MaskStyle = RedactionMaskStyle.Pseudonym;
            o.PseudonymKey = "0123456789abcdef-test-key";
        }

        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration().MinimumLevel.Verbose();
        if (bothPasses) configuration.Enrich.WithRedaction(Pseudonyms);
        using (var logger = configuration.WriteTo.Redacted(s => s.Sink(sink), Pseudonyms).CreateLogger()) write(logger);
        return sink.SingleEvent;
    }
}
