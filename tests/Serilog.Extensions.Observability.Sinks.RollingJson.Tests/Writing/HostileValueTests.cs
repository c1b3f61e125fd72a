using System.Diagnostics;
using System.Text.Json;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>Values that could kill the process from the sink's writer thread, run in a child process so a crash fails only this test.</summary>
public class HostileValueTests
{
    // 100,000 levels: deeper than the writer thread's stack holds wherever a new thread gets 8 MB (ulimit -s on Linux);
    // 10,000 is already too deep for a 1 MB stack (Windows' default).
    [TestCase("value", "compact", 100_000)]
    [TestCase("value", "rendered", 100_000)]
    [TestCase("value", "flat", 100_000)]
    // Exception.ToString() recurses into InnerException: a retry loop that wraps the last failure each time builds this.
    [TestCase("exception", "compact", 1_000_000)]
    [TestCase("exception", "flat", 1_000_000)]
    public void AValueOrExceptionChainNestedDeeperThanAStackHoldsDoesNotKillTheProcessAndTheNextEventIsWritten(string what, string formatter, int depth)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "deep.json");

        using var child = Process.Start(ChildProcesses.ThisAssembly("deep-child", path, what, formatter, depth.ToString(System.Globalization.CultureInfo.InvariantCulture)))!;
        try
        {
            var output = child.StandardOutput.ReadToEndAsync();
            var error = child.StandardError.ReadToEndAsync();
            // Bounded: a child that writes an exception chain through the quadratic Exception.ToString() takes minutes.
            Assert.That(child.WaitForExit(30_000), Is.True, "The child hung.");
            var stderr = error.Result;
            Assert.That(child.ExitCode, Is.EqualTo(0), "The child died: " + (stderr.Length > 600 ? stderr[..600] : stderr));
            Assert.That(output.Result.Trim(), Is.EqualTo("done"));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
        }

        // The deep event is either written as valid JSON or dropped (and counted); the event after it is written.
        var lines = LogFiles.AllLines(folder.Path);
        foreach (var line in lines)
        {
            using var document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 100_000 });
        }
        Assert.That(lines, Has.Some.Contains("After the deep event"));
    }
}
