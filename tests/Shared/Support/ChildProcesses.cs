using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

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
    /// The same program started with <paramref name="signal"/> ignored, as every process a background job of a
    /// non-interactive shell starts has SIGINT and SIGQUIT ignored (and keeps them so across exec). Unix only.
    /// </summary>
    public static ProcessStartInfo IgnoringSignal(int signal, ProcessStartInfo start)
    {
        var wrapped = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = start.RedirectStandardOutput,
            RedirectStandardError = start.RedirectStandardError,
            UseShellExecute = false,
        };
        wrapped.ArgumentList.Add("-c");
        wrapped.ArgumentList.Add($"trap '' {signal}; exec \"$@\"");
        wrapped.ArgumentList.Add("sh");
        wrapped.ArgumentList.Add(start.FileName);
        foreach (var argument in start.ArgumentList) wrapped.ArgumentList.Add(argument);
        return wrapped;
    }

    /// <summary>
    /// Runs the child to its end: when <paramref name="readyLine"/> is given, waits for it as the child's first line of
    /// output and then sends <paramref name="signal"/> (0 sends none); every wait is bounded, and a child still running
    /// when this returns or throws is killed. Returns the exit code and what the child wrote to its standard error.
    /// A child that does not end in time fails the test with its signal dispositions and threads (where /proc has them)
    /// as they were before it was killed, and everything it wrote.
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
                if (!ready.Wait(TimeSpan.FromSeconds(60)))
                    Assert.Fail(KillAndDescribe(child, $"The child never wrote '{readyLine}'.", ready, errorRead));
                Assert.That(ready.Result, Is.EqualTo(readyLine), child.HasExited ? errorRead.Result : "");
                if (signal != 0) Assert.That(kill(child.Id, signal), Is.EqualTo(0), "kill() failed.");
            }
            var outputRead = child.StandardOutput.ReadToEndAsync();
            if (!child.WaitForExit(60_000))
                Assert.Fail(KillAndDescribe(child, signal != 0 ? $"The child did not end in time after signal {signal}." : "The child did not end in time.", outputRead, errorRead));
            Assert.That(errorRead.Wait(TimeSpan.FromSeconds(30)) && outputRead.Wait(TimeSpan.FromSeconds(30)), Is.True);
            return (child.ExitCode, errorRead.Result);
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.WaitForExit(30_000);
        }
    }

    /// <summary>
    /// What a child that hangs was doing: the state is read before the kill, the output after it (the pipes close then).
    /// </summary>
    static string KillAndDescribe(Process child, string message, Task outputRead, Task errorRead)
    {
        var text = new StringBuilder(message).AppendLine();
        text.Append(ProcessState(child.Id));
        try
        {
            child.Kill();
            child.WaitForExit(30_000);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            text.AppendLine($"kill failed: {ex.Message}");
        }
        text.AppendLine("standard output:").AppendLine(Text(outputRead));
        text.AppendLine("standard error:").AppendLine(Text(errorRead));
        return text.ToString();
    }

    static string Text(Task read) => read.Wait(TimeSpan.FromSeconds(10)) && read is Task<string> text ? text.Result ?? "" : "(not read)";

    /// <summary>The process's state, signal masks and threads (name, state, kernel wait channel) from /proc; Linux only.</summary>
    static string ProcessState(int pid)
    {
        var text = new StringBuilder();
        try
        {
            var proc = $"/proc/{pid}";
            if (!Directory.Exists(proc)) return "(no /proc entry: thread list not available here)\n";
            foreach (var line in File.ReadAllLines($"{proc}/status"))
            {
                if (line.StartsWith("State:", StringComparison.Ordinal) || line.StartsWith("Threads:", StringComparison.Ordinal)
                    || line.StartsWith("Sig", StringComparison.Ordinal) || line.StartsWith("ShdPnd:", StringComparison.Ordinal))
                    text.AppendLine(line);
            }
            text.AppendLine("threads (tid, name, state, wait channel):");
            foreach (var task in Directory.EnumerateDirectories($"{proc}/task"))
            {
                try
                {
                    // stat is "tid (name) state ...": the name may hold spaces and parentheses, so the state follows the last ')'.
                    var stat = File.ReadAllText($"{task}/stat");
                    var open = stat.IndexOf('(');
                    var close = stat.LastIndexOf(')');
                    var name = stat[(open + 1)..close];
                    var state = stat[(close + 2)..].Split(' ')[0];
                    var wchan = File.Exists($"{task}/wchan") ? File.ReadAllText($"{task}/wchan") : "?";
                    text.AppendLine($"  {Path.GetFileName(task)} {name} {state} {wchan}");
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
                {
                    text.AppendLine($"  {Path.GetFileName(task)} (gone: {ex.Message})");
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            text.AppendLine($"(process state not readable: {ex.Message})");
        }
        return text.ToString();
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);
}
