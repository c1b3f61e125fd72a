namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>What the process holds now, read from /proc: threads by name, open files by path (Linux only).</summary>
static class ProcessResources
{
    /// <summary>Linux names a thread after the first 15 characters of its managed name: the file sink's writer and housekeeping threads.</summary>
    public const string SinkThreadName = "Serilog Rolling";

    public static bool Available => Directory.Exists("/proc/self/task") && Directory.Exists("/proc/self/fd");

    public static void Require()
    {
        if (!Available) Assert.Ignore("Counts threads and open files through /proc.");
    }

    public static int ThreadsNamed(string prefix) =>
        Directory.GetDirectories("/proc/self/task").Count(task =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(task, "comm")).StartsWith(prefix, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false; // the thread ended while we looked
            }
        });

    /// <summary>
    /// The threads named <paramref name="prefix"/> once they are down to <paramref name="expected"/>, or what is left
    /// after <paramref name="timeout"/>. A joined thread has finished its managed code but the kernel may list it a
    /// moment longer while it exits: a thread that was left running is still listed at the deadline.
    /// </summary>
    public static int ThreadsNamedOnceExited(string prefix, int expected, TimeSpan timeout)
    {
        var count = 0;
        SpinWait.SpinUntil(() => (count = ThreadsNamed(prefix)) <= expected, timeout);
        return count;
    }

    public static int OpenFilesUnder(string directory) =>
        Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget is { } target && target.StartsWith(directory, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false; // closed while we looked
            }
        });
}
