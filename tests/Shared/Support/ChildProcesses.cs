using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>This test assembly started again as a child program (see its Program.cs), for tests that need a real process.</summary>
static class ChildProcesses
{
    /// <summary>How to start the child with <paramref name="arguments"/>, its output and error redirected.</summary>
    public static ProcessStartInfo ThisAssembly(params string[] arguments)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(typeof(ChildProcesses).Assembly.Location);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return start;
    }

    /// <summary>
    /// Runs the child to its end: when <paramref name="readyLine"/> is given, waits for it as the child's first line of
    /// output and then sends <paramref name="signal"/> (0 sends none); every wait is bounded, and a child still running
    /// when this returns or throws is killed. Returns the exit code and what the child wrote to its standard error.
    /// </summary>
    public static (int ExitCode, string Error) Run(ProcessStartInfo start, string? readyLine = null, int signal = 0)
    {
        using var child = Process.Start(start)!;
        try
        {
            var errorRead = child.StandardError.ReadToEndAsync();
            if (readyLine is not null)
            {
                var ready = child.StandardOutput.ReadLineAsync();
                Assert.That(ready.Wait(TimeSpan.FromSeconds(60)), Is.True, $"The child never wrote '{readyLine}'.");
                Assert.That(ready.Result, Is.EqualTo(readyLine), child.HasExited ? errorRead.Result : "");
                if (signal != 0) Assert.That(kill(child.Id, signal), Is.EqualTo(0), "kill() failed.");
            }
            var outputRead = child.StandardOutput.ReadToEndAsync();
            Assert.That(child.WaitForExit(60_000), Is.True, "The child did not end in time.");
            Assert.That(errorRead.Wait(TimeSpan.FromSeconds(30)) && outputRead.Wait(TimeSpan.FromSeconds(30)), Is.True);
            return (child.ExitCode, errorRead.Result);
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.WaitForExit(30_000);
        }
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);
}
