using System.Text.Json;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Tests.Ecosystem;

/// <summary>
/// Serilog.Sinks.Async inside <c>WithObservability()</c>'s <c>WriteTo</c>, with the rolling JSON sink in it, as
/// applications that wrap every sink in <c>WriteTo.Async</c> write it: the redaction in front of Async, the sink behind it.
/// </summary>
public class SerilogSinksAsyncTests
{
    [Test]
    public void EveryEventLoggedThroughAsyncInsideWithObservabilityIsWrittenMaskedWhenTheLoggerIsDisposed()
    {
        const int threads = 4, perThread = 2_000;
        using var logs = TempFolder.ForCaller();
        var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None)
                .WriteTo(w => w.Async(a => a.RollingJson(Path.Combine(logs.Path, "app-.json")), blockWhenFull: true)))
            .CreateLogger();
        var writers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < perThread; i++) logger.Information("Event {Seq}", t * perThread + i);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WaitAll(writers, TimeSpan.FromSeconds(30)), Is.True);
        logger.Information("Connecting with password=hunter2 now");
        logger.Dispose();

        var lines = Directory.GetFiles(logs.Path).SelectMany(File.ReadAllLines).ToList();
        var sequences = lines.Select(line => JsonDocument.Parse(line).RootElement)
            .Where(e => e.GetProperty("@mt").GetString() == "Event {Seq}").Select(e => e.GetProperty("Seq").GetInt32());
        Assert.That(sequences.Order(), Is.EqualTo(Enumerable.Range(0, threads * perThread)), "every event, once");
        Assert.That(lines, Has.Count.EqualTo(threads * perThread + 1));
        Assert.That(string.Join("\n", lines), Does.Not.Contain("hunter2"), "the template's text is masked in front of Async");
    }

    [Test]
    public void AnAsyncWrappedSinkOnTheRollingJsonPathOfWithObservabilityIsRefusedNamingPath()
    {
        using var logs = TempFolder.ForCaller();
        var path = Path.Combine(logs.Path, "app-.json");
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path)
                .WriteTo(w => w.Async(a => a.RollingJson(path))))
            .CreateLogger().Dispose());
        Assert.That(ex!.ParamName, Is.EqualTo("path"));

        // Nothing of the failed configuration keeps the path: a logger configured next writes there.
        using (var next = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path)).CreateLogger())
            next.Information("After the refusal");
        Assert.That(Directory.GetFiles(logs.Path).SelectMany(File.ReadAllLines).Single(), Does.Contain("After the refusal"));
    }
}
