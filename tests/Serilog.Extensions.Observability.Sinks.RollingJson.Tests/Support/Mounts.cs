using System.Diagnostics;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

/// <summary>
/// Mount helpers for the fault tests. Tests run as root, which ignores file permissions, so a read-only directory
/// or a full disk needs a real filesystem: a tmpfs, and a read-only bind mount over a directory.
/// </summary>
static class Mounts
{
    public static bool TryRun(string arguments, out string error)
    {
        error = "";
        if (!OperatingSystem.IsLinux())
        {
            error = "mount tests need Linux";
            return false;
        }
        try
        {
            using var process = Process.Start(new ProcessStartInfo("mount", arguments)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            })!;
            error = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(30_000)) return false;
            return process.ExitCode == 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            error = ex.Message;
            return false;
        }
    }

    public static void MountTmpfsOrIgnore(string directory, string size)
    {
        Directory.CreateDirectory(directory);
        if (!TryRun($"-t tmpfs -o size={size} tmpfs \"{directory}\"", out var error))
            Assert.Ignore($"This test needs to mount a tmpfs (root on Linux); mount was refused: {error}");
    }

    /// <summary>Unmounts until nothing is mounted at <paramref name="directory"/> (bind mounts stack).</summary>
    public static void UnmountAll(string directory)
    {
        for (var i = 0; i < 4; i++)
        {
            using var process = Process.Start(new ProcessStartInfo("umount", $"\"{directory}\"")
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null) return;
            process.StandardError.ReadToEnd();
            process.WaitForExit(30_000);
            if (process.ExitCode != 0) return;
        }
    }

    /// <summary>Fills what is left of the tmpfs at <paramref name="mountPoint"/> with one file; returns its path.</summary>
    public static string FillDisk(string mountPoint)
    {
        var filler = Path.Combine(mountPoint, "filler");
        var block = new byte[4096];
        try
        {
            using var file = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            while (true) file.Write(block);
        }
        catch (IOException)
        {
            // No space left: what we wanted.
        }
        return filler;
    }
}
