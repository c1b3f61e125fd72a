using System.Diagnostics;
using System.Text.Json;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

public class CrashTests
{
    [Test]
    public void AfterSigkillEveryLineButTheLastIsValidAndARestartedWriterAppendsWholeLines()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Ignore("SIGKILL needs a Unix system.");
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "crash-.json");

        var start = ChildProcesses.ThisAssembly("crash-child", path);
        using var child = Process.Start(start)!;
        try
        {
            var ready = child.StandardOutput.ReadLineAsync();
            Assert.That(ready.Wait(TimeSpan.FromSeconds(60)), Is.True, "The child never became ready: " + (child.HasExited ? child.StandardError.ReadToEnd() : ""));
            Assert.That(ready.Result, Is.EqualTo("ready"));
        }
        finally
        {
            child.Kill(); // SIGKILL on Unix: no finalizers, no disposal, no flush
            child.WaitForExit(30_000);
        }
        Assert.That(child.ExitCode, Is.EqualTo(137).Or.Not.EqualTo(0), "The child should have died by the signal.");

        var files = Directory.GetFiles(folder.Path).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.That(files, Is.Not.Empty);
        var childLines = 0;
        foreach (var file in files)
        {
            var lines = LogFiles.Lines(file);
            var endsWithNewline = new FileInfo(file).Length == 0 || File.ReadAllBytes(file)[^1] == (byte)'\n';
            for (var i = 0; i < lines.Count; i++)
            {
                var isLastAndCut = file == files[^1] && i == lines.Count - 1 && !endsWithNewline;
                if (isLastAndCut) continue;
                Assert.DoesNotThrow(() => JsonDocument.Parse(lines[i]).Dispose(), $"{Path.GetFileName(file)} line {i + 1}");
                childLines++;
            }
        }
        Assert.That(childLines, Is.GreaterThanOrEqualTo(2_000));

        // A restarted writer continues the newest file and writes whole lines after whatever was there.
        var newest = files[^1];
        var before = LogFiles.Lines(newest).Count;
        var newestBytes = File.ReadAllBytes(newest);
        var endedCleanly = newestBytes.Length == 0 || newestBytes[^1] == (byte)'\n';
        var sink = Create(path, o => o.FileSizeLimitBytes = 256 * 1024 * 1024);
        EmitAndWait(sink, Event(-1), Event(-2));
        sink.Dispose();
        var after = LogFiles.Lines(newest);
        Assert.That(after, Has.Count.EqualTo(before + 2));
        Assert.That(LogFiles.Property(LogFiles.Parse(after[^2]), "Seq").GetInt64(), Is.EqualTo(-1));
        Assert.That(LogFiles.Property(LogFiles.Parse(after[^1]), "Seq").GetInt64(), Is.EqualTo(-2));
        if (endedCleanly && before > 0) Assert.DoesNotThrow(() => JsonDocument.Parse(after[before - 1]).Dispose());
    }
}
