using Serilog.Events;

namespace Serilog.Extensions.Observability.AspNetCore.Hosting;

/// <summary>How the running Serilog matches the names of minimum level overrides against source contexts.</summary>
static class OverrideNames
{
    /// <summary>
    /// Ordinal on Serilog 3.1 (an override named <c>microsoft</c> does not apply to <c>Microsoft.AspNetCore.Hosting</c>),
    /// ignoring case on Serilog 4.0 to 4.4 (it does). This package is built against Serilog 3.1 and runs against later
    /// versions too, so rather than assume either, the running Serilog is asked, once, through its public API.
    /// </summary>
    public static StringComparison Comparison { get; } = Probe();

    static StringComparison Probe()
    {
        try
        {
            using var probe = new LoggerConfiguration()
                .MinimumLevel.Fatal()
                .MinimumLevel.Override("a", LogEventLevel.Verbose)
                .CreateLogger();
            return probe.ForContext(Core.Constants.SourceContextPropertyName, "A").IsEnabled(LogEventLevel.Verbose)
                ? StringComparison.OrdinalIgnoreCase
                : StringComparison.Ordinal;
        }
        catch (Exception ex)
        {
            // Not expected; Serilog 3's matching is the safe guess (a Warning default that the section may not need).
            SafeSelfLog.WriteLine("AddObservability: could not tell how Serilog matches level override names: {0}", ex);
            return StringComparison.Ordinal;
        }
    }

    /// <summary>Whether an override named <paramref name="name"/> applies to <paramref name="source"/> or a namespace under it.</summary>
    public static bool Covers(string name, string source, StringComparison comparison) =>
        source.StartsWith(name, comparison) && (name.Length == source.Length || source[name.Length] == '.');
}
