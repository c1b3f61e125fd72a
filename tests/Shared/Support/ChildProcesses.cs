using System.Diagnostics;

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
}
