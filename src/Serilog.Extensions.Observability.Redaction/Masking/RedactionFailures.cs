using System.Diagnostics.Metrics;
using Serilog.Debugging;

namespace Serilog.Extensions.Observability.Redaction.Masking;

/// <summary>
/// Reports a value that could not be masked normally and was replaced by the mask instead (fail closed): a line to
/// <see cref="SelfLog"/> and one on the <c>serilog.redaction.failures</c> counter of the package's <see cref="Meter"/>.
/// </summary>
static class RedactionFailures
{
    public const string MeterName = "Serilog.Extensions.Observability.Redaction";

    static readonly Meter Meter = new(MeterName);
    static readonly Counter<long> Failures = Meter.CreateCounter<long>(
        "serilog.redaction.failures", unit: "{value}", description: "Values replaced by the mask because redacting them failed.");

    static long _count;

    /// <summary>Failures since the process started.</summary>
    public static long Count => Interlocked.Read(ref _count);

    public static void Report(string what, Exception exception)
    {
        Interlocked.Increment(ref _count);
        Failures.Add(1);
        // Only the exception type and message: the value itself may be the secret.
        SelfLog.WriteLine("Redaction: {0} failed and was replaced by the mask: {1}: {2}", what, exception.GetType().FullName, exception.Message);
    }
}
