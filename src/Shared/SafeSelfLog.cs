using Serilog.Debugging;

namespace Serilog.Extensions.Observability;

/// <summary>
/// <see cref="SelfLog.WriteLine"/> that never throws: an output that throws (a SelfLog file on the full disk a sink
/// reports about) loses the line, never a sink's writer or housekeeping thread, nor the application's call that
/// happened to report something (a stage's Dispose).
/// </summary>
static class SafeSelfLog
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
