using Serilog.Debugging;

namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>
/// Captures <see cref="SelfLog"/> output for the lifetime of the scope. SelfLog is process-global:
/// a test that uses this must be <c>[NonParallelizable]</c>.
/// </summary>
sealed class TemporarySelfLog : IDisposable
{
    TemporarySelfLog() { }

    public static TemporarySelfLog SaveTo(List<string> lines)
    {
        SelfLog.Enable(message => { lock (lines) lines.Add(message); });
        return new TemporarySelfLog();
    }

    /// <summary>
    /// A SelfLog output that throws from every line, as <c>SelfLog.Enable(TextWriter)</c> does on a full disk: a report
    /// that fails must cost only the report.
    /// </summary>
    public static TemporarySelfLog Failing()
    {
        SelfLog.Enable(_ => throw new IOException("the SelfLog file's disk is full"));
        return new TemporarySelfLog();
    }

    public void Dispose() => SelfLog.Disable();
}
