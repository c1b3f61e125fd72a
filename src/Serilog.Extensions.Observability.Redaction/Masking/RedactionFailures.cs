using System.Diagnostics.Metrics;
using Serilog.Debugging;

namespace Serilog.Extensions.Observability.Redaction.Masking;

/// <summary>
/// Reports a value that could not be masked normally and was replaced by the mask instead (fail closed): one on the
/// <c>serilog.redaction.failures</c> counter of the package's <see cref="Meter"/> and a line to <see cref="SelfLog"/>,
/// the first of each kind at once and repeats at most once per <see cref="ReportInterval"/> with their count.
/// </summary>
static class RedactionFailures
{
    public const string MeterName = "Serilog.Extensions.Observability.Redaction";

    static readonly Meter Meter = new(MeterName);
    static readonly Counter<long> Failures = Meter.CreateCounter<long>(
        "serilog.redaction.failures", unit: "{value}", description: "Values replaced by the mask because redacting them failed.");

    /// <summary>How often a failure that keeps happening is reported again.</summary>
    internal static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    static readonly ThrottledReports Reports = new(ReportInterval, TimeProvider.System);

    static long _count;

    /// <summary>Failures since the process started.</summary>
    public static long Count => Interlocked.Read(ref _count);

    public static void Report(string what, Exception exception)
    {
        Interlocked.Increment(ref _count);
        Failures.Add(1);
        Reports.Report(what, exception);
    }

    /// <summary>
    /// Reports a failure on a named property, member or type as <c>what name</c>, the name cut (see
    /// <see cref="ThrottledReports.Cut"/>): names come from data, and the text keys a report kept for good.
    /// </summary>
    public static void Report(string what, string name, Exception exception) => Report(Named(what, name), exception);

    internal static string Named(string what, string name) => string.Concat(what, " ", ThrottledReports.Cut(name));
}
