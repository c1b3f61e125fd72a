using System.Runtime.InteropServices;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Files;

/// <summary>
/// Lowers the scheduling priority of the housekeeping thread, so that compressing a rolled file takes the CPU only
/// when the application and the writer leave it: on a busy two-core machine gzip would otherwise stall callers for
/// tens of microseconds at each roll (docs/benchmarks.md). Compression and retention have no deadline; a thread of the
/// lowest priority still runs, only later.
/// </summary>
internal static class BackgroundPriority
{
    /// <summary>The nice value the thread runs at on Linux: the lowest priority, never starved outright.</summary>
    internal const int LinuxNice = 19;

    /// <summary>
    /// <see cref="ThreadPriority.Lowest"/>, which .NET applies on Windows and ignores on Linux; there the thread's
    /// own nice value is raised instead. Call it on the thread to lower. Never throws: at worst the thread keeps its
    /// priority.
    /// </summary>
    public static void LowerCurrentThread()
    {
        try
        {
            Thread.CurrentThread.Priority = ThreadPriority.Lowest;
            // On Linux the nice value belongs to the thread, and PRIO_PROCESS with 0 names the calling one.
            if (OperatingSystem.IsLinux()) _ = setpriority(PrioProcess, 0, LinuxNice);
        }
        catch (Exception)
        {
            // No libc by that name, or a platform that refuses: the pass runs at the default priority.
        }
    }

    const int PrioProcess = 0;

    [DllImport("libc", EntryPoint = "setpriority")]
    static extern int setpriority(int which, uint who, int prio);
}
