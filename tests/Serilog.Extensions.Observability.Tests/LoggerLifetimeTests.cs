using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>
/// Loggers created and disposed by the hundred (one per tenant, per test, per job) leave nothing running behind:
/// no file sink threads, no open files.
/// </summary>
[NonParallelizable]
public class LoggerLifetimeTests
{
    [Test]
    public void CreatingAndDisposingManyLoggersLeavesNoSinkThreadOrOpenFileBehind()
    {
        ProcessResources.Require();
        using var logs = TempFolder.ForCaller();
        var threadsBefore = ProcessResources.ThreadsNamed(ProcessResources.SinkThreadName);

        for (var i = 0; i < 200; i++)
        {
            // A second call replaces the first call's sinks (which it disposes) with its own.
            var configuration = new LoggerConfiguration()
                .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logs.Path, "first-" + i % 10, "app-.json")))
                .WithObservability(o => o.Service("tenant-" + i).RollingJson(Path.Combine(logs.Path, "tenant-" + i % 10, "app-.json"), r => r.RetainedFileCountLimit = 2));
            using var logger = configuration.CreateLogger();
            logger.Information("Hello from {Tenant}", i);
        }

        // At most as many as before, not exactly: a thread an earlier test's sink ended may still be listed when the count
        // before is taken (a housekeeping pass's thread returns right after it signals idle), and gone at the end.
        Assert.That(ProcessResources.ThreadsNamedOnceExited(ProcessResources.SinkThreadName, threadsBefore, TimeSpan.FromSeconds(10)), Is.LessThanOrEqualTo(threadsBefore), "sink threads left running");
        Assert.That(ProcessResources.OpenFilesUnder(logs.Path), Is.Zero, "log files left open");
        Assert.That(Directory.GetFiles(logs.Path, "*.json", SearchOption.AllDirectories), Is.Not.Empty, "the loggers wrote");
    }
}
