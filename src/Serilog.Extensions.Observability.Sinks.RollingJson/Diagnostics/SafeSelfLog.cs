using Serilog.Debugging;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Diagnostics;

/// <summary>
/// <see cref="SelfLog.WriteLine"/> for the sink's own threads: an output that throws (a SelfLog file on the full disk
/// the sink reports about) loses the line, never the writer or housekeeping thread, and so never the process.
/// </summary>
internal static class SafeSelfLog
{
    public static void WriteLine(string format, object? arg0 = null, object? arg1 = null, object? arg2 = null)
    {
        try
        {
            SelfLog.WriteLine(format, arg0, arg1, arg2);
        }
        catch (Exception)
        {
            // Nowhere left to report it.
        }
    }
}
