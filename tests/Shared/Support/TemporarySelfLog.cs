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

    public void Dispose() => SelfLog.Disable();
}
