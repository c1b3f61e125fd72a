using System.Diagnostics;
using System.Text;

namespace Serilog.Extensions.Observability.IntegrationTests.Support;

static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: whatever this test assembly was built as, so the sample is taken from the same build.</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException("The repository root (Serilog.Extensions.Observability.sln) was not found above " + AppContext.BaseDirectory);
    }
}

sealed record ProcessResult(int ExitCode, string Output);

static class ChildProcess
{
    /// <summary>Runs a process to completion (killed after <paramref name="timeout"/>), capturing stdout and stderr.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, string arguments, string workingDirectory, TimeSpan timeout, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        info.Environment.Remove("DOTNET_ENVIRONMENT");
        if (environment is not null)
            foreach (var (key, value) in environment) info.Environment[key] = value;

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (output) output.AppendLine($"[killed after {timeout}]");
        }

        process.WaitForExit(); // drains the redirected streams
        lock (output) return new ProcessResult(process.ExitCode, output.ToString());
    }
}
