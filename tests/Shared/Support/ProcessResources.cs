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
