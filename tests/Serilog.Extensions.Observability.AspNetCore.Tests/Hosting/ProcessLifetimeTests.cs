using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>A real host process (see Program.cs) ended the way services are: SIGTERM from docker, systemd, Kubernetes.</summary>
public class ProcessLifetimeTests
{
    [Test]
    public void OnSigtermEveryEventUpToTheStopAndTheShutdownEventsAreInTheFile()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Ignore("SIGTERM needs a Unix system.");
        using var folder = TempFolder.ForCaller();
        var (exitCode, error) = ChildProcesses.Run(ChildProcesses.ThisAssembly("worker-host", folder.Path), "ready", signal: 15);
        Assert.That(exitCode, Is.EqualTo(0), error);

        var events = LogFileEvents.Read(folder.Path);
        var templates = events.Select(e => LogFileEvents.Prop(e, "@mt")).ToList();
        var loop = events.Where(e => LogFileEvents.Prop(e, "@mt") == "Loop event {Seq}").Select(e => long.Parse(LogFileEvents.Prop(e, "Seq")!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var stopped = events.Single(e => LogFileEvents.Prop(e, "@mt") == "Loop stopped after {Count} events");
        Assert.That(loop, Has.Count.GreaterThanOrEqualTo(1_000));
        Assert.That(loop, Is.EqualTo(Enumerable.Range(0, loop.Count).Select(i => (long)i)), "Every loop event, in order, none missing.");
        Assert.That(LogFileEvents.Prop(stopped, "Count"), Is.EqualTo(loop.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var shuttingDown = templates.IndexOf("Application is shutting down...");
        var stopLogger = templates.IndexOf("Stop logger stopping");
        Assert.That(shuttingDown, Is.GreaterThanOrEqualTo(0), "The host's own shutdown event.");
        Assert.That(stopLogger, Is.GreaterThan(shuttingDown), "A hosted service's StopAsync event, after the host said it stops.");
        Assert.That(templates.IndexOf("Loop stopped after {Count} events"), Is.GreaterThan(shuttingDown));
    }

    [TestCase("catch", 1)]
    [TestCase("throw", null)]
    public void AHostThatFailsToStartHasTheFailureInTheFile(string how, int? exitCode)
    {
        using var folder = TempFolder.ForCaller();
        var (code, error) = ChildProcesses.Run(ChildProcesses.ThisAssembly("failing-host", folder.Path, how));
        if (exitCode is { } expected) Assert.That(code, Is.EqualTo(expected), error);
        else Assert.That(code, Is.Not.EqualTo(0), error);

        var events = LogFileEvents.Read(folder.Path);
        var failures = events.Where(e => LogFileEvents.Prop(e, "@x")?.Contains("Failing host cannot start", StringComparison.Ordinal) == true).ToList();
        // Microsoft.Extensions.Hosting's own "Hosting failed to start", and with a catch the application's Log.Fatal.
        Assert.That(failures.Select(e => LogFileEvents.Prop(e, "@mt")), Does.Contain("Hosting failed to start"), error);
        if (how == "catch")
            Assert.That(failures.Select(e => LogFileEvents.Prop(e, "@mt")), Does.Contain("Host terminated unexpectedly"), error);
    }
}
