using System.Text;
using Microsoft.Extensions.Configuration;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Sinks.Async;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// The sink behind Serilog.Sinks.Async (<c>WriteTo.Async(a => a.RollingJson(...))</c>, or an <c>"Async"</c> entry of
/// the settings), which many applications put in front of every sink out of habit. Async hands its events to the sink
/// from a thread of its own, and on disposal drains its buffer before it disposes the sink, which then drains its queue.
/// </summary>
public class AsyncWrapperTests
{
    static readonly TimeSpan WaitLimit = Support.Sinks.WaitLimit;

    [Test]
    public void EveryEventAsyncStillBuffersWhenTheLoggerIsDisposedIsWritten()
    {
        // The sink's writer is held and its queue is small, so Async's worker waits for room and most events are still in
        // Async's buffer when the logger is disposed: only its drain and then the sink's put them in the file.
        const int events = 2_000;
        using var folder = TempFolder.ForCaller();
        var sink = Support.Sinks.Create(Path.Combine(folder.Path, "app-.json"), o => { o.QueueLimit = 16; o.BlockWhenFull = true; });
        var monitor = new Monitor();
        var logger = new LoggerConfiguration()
            .WriteTo.Async(a => a.Sink(sink), bufferSize: 10_000, blockWhenFull: true, monitor: monitor)
            .CreateLogger();
        sink.PauseWriter();
        for (var i = 0; i < events; i++) logger.Information("Event {Seq}", i);
        Assert.That(SpinWait.SpinUntil(() => sink.RoomWaiters == 1, WaitLimit), Is.True, "Async's worker waits for room.");
        Assert.That(monitor.Inspector!.Count, Is.GreaterThan(0), "events are still in Async's buffer");

        var disposal = Task.Run(logger.Dispose);
        sink.ResumeWriter();

        Assert.That(disposal.Wait(WaitLimit), Is.True, "the logger's disposal ended");
        var sequences = LogFiles.AllLines(folder.Path).Select(line => LogFiles.Property(LogFiles.Parse(line), "Seq").GetInt64()).ToList();
        Assert.That(sequences, Is.EqualTo(Enumerable.Range(0, events).Select(i => (long)i)), "every event, once, in order");
        Assert.That(sink.DroppedQueueFull + sink.DroppedShutdown + sink.DroppedIoError, Is.Zero);
        Assert.That(monitor.Stopped, Is.True, "Async stopped its monitoring on disposal");
    }

    [Test]
    public void EveryEventLoggedFromManyThreadsThroughAsyncIsWrittenByCloseAndFlush()
    {
        const int threads = 4, perThread = 5_000;
        using var folder = TempFolder.ForCaller();
        var sink = Support.Sinks.Create(Path.Combine(folder.Path, "app-.json"));
        var previous = Log.Logger;
        Log.Logger = new LoggerConfiguration().WriteTo.Async(a => a.Sink(sink), blockWhenFull: true).CreateLogger();
        try
        {
            using var start = new Barrier(threads);
            var writers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait(WaitLimit);
                for (var i = 0; i < perThread; i++) Log.Information("Event {Seq}", t * perThread + i);
            }, TaskCreationOptions.LongRunning)).ToArray();
            Assert.That(Task.WaitAll(writers, WaitLimit), Is.True);
            Log.CloseAndFlush();
        }
        finally
        {
            Log.Logger = previous;
        }

        var sequences = LogFiles.AllLines(folder.Path).Select(line => LogFiles.Property(LogFiles.Parse(line), "Seq").GetInt64());
        Assert.That(sequences.Order(), Is.EqualTo(Enumerable.Range(0, threads * perThread).Select(i => (long)i)));
    }

    [Test]
    public void EventsAsyncDropsWithAFullBufferAreInItsMonitorAndNotInTheSinksCounts()
    {
        // Async's default (blockWhenFull: false) drops an event when its buffer is full, before the sink sees it: the
        // sink's dropped counter (and Meter) cannot count it. Only Async's monitor does.
        const int events = 100;
        using var folder = TempFolder.ForCaller();
        var sink = Support.Sinks.Create(Path.Combine(folder.Path, "app-.json"), o => { o.QueueLimit = 1; o.BlockWhenFull = true; });
        var monitor = new Monitor();
        var logger = new LoggerConfiguration()
            .WriteTo.Async(a => a.Sink(sink), bufferSize: 1, blockWhenFull: false, monitor: monitor)
            .CreateLogger();
        sink.PauseWriter();
        // One event fills the sink's queue; Async's worker then waits for room with the next one in hand.
        logger.Information("Event {Seq}", 0);
        Assert.That(SpinWait.SpinUntil(() => sink.QueueLength == 1, WaitLimit), Is.True);
        logger.Information("Event {Seq}", 1);
        Assert.That(SpinWait.SpinUntil(() => sink.RoomWaiters == 1, WaitLimit), Is.True);
        for (var i = 2; i < events; i++) logger.Information("Event {Seq}", i);

        // One more fits in Async's buffer of 1; the rest are dropped there.
        Assert.That(monitor.Inspector!.DroppedMessagesCount, Is.EqualTo(events - 3));
        var disposal = Task.Run(logger.Dispose);
        sink.ResumeWriter();
        Assert.That(disposal.Wait(WaitLimit), Is.True);

        Assert.That(LogFiles.AllLines(folder.Path), Has.Count.EqualTo(3));
        Assert.That(sink.DroppedQueueFull + sink.DroppedShutdown + sink.DroppedIoError, Is.Zero, "none of Async's drops is the sink's");
    }

    [Test, NonParallelizable]
    public void AnAsyncEntryOfTheSettingsBuildsTheSinkWithItsArgumentsAndDisposalWritesEveryEvent()
    {
        // The habit in appsettings.json: the sink inside an "Async" entry's "configure" list. Neither package is named
        // in "Using": Serilog.Settings.Configuration finds both among the application's Serilog assemblies.
        const int events = 1_000;
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var configuration = AsyncSettings(path, """ "queueLimit": 64, "blockWhenFull": true, "shutdownTimeout": "00:00:07" """);
        RollingJsonSink? created = null;
        RollingJsonOptions? options = null;
        RollingJsonLoggerConfigurationExtensions.SinkCreated = (s, o) => (created, options) = (s, o);
        try
        {
            var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
            Assert.That(created, Is.Not.Null, "the RollingJson entry inside Async was built");
            Assert.That(options!.QueueLimit, Is.EqualTo(64));
            Assert.That(options.BlockWhenFull, Is.True);
            Assert.That(options.ShutdownTimeout, Is.EqualTo(TimeSpan.FromSeconds(7)));
            created!.PauseWriter();
            for (var i = 0; i < events; i++) logger.Information("Event {Seq}", i);
            var disposal = Task.Run(logger.Dispose);
            created.ResumeWriter();
            Assert.That(disposal.Wait(WaitLimit), Is.True);
        }
        finally
        {
            RollingJsonLoggerConfigurationExtensions.SinkCreated = null;
        }

        Assert.That(LogFiles.AllLines(folder.Path), Has.Count.EqualTo(events));
    }

    [Test]
    public void AnAsyncEntryOnTheFilesOfALiveSinkIsRefusedNamingPathAndTakesThemOnceThatSinkIsClosed()
    {
        // The sink's guard against two writers of one file holds inside Async as anywhere else.
        using var folder = TempFolder.ForCaller();
        var configuration = AsyncSettings(Path.Combine(folder.Path, "app-.json"), "");
        var first = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
        first.Information("From the first");

        var ex = Assert.Catch<Exception>(() => new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger());
        var refusal = Unwrap(ex!);
        Assert.That(refusal, Is.TypeOf<ArgumentException>());
        Assert.That(((ArgumentException)refusal).ParamName, Is.EqualTo("path"));

        first.Dispose();
        var second = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
        second.Information("From the second");
        second.Dispose();
        Assert.That(LogFiles.AllLines(folder.Path), Has.Count.EqualTo(2));
    }

    [Test]
    public void EventsStillInAsyncsBufferWhenTheProcessEndsWithoutCloseAndFlushAreNotWritten()
    {
        // What the README says: the sink writes its own queue as the process ends without Log.CloseAndFlush(), but what
        // Async still buffers is Async's, and nothing drains it then. Async's worker waits for room in the sink's queue of
        // 100 (its writer held until ProcessExit) with the rest of the 20,000 events in Async's buffer.
        const int events = 20_000;
        var (code, lines, error) = RunAsyncChild(events, "return");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines, Has.Count.GreaterThanOrEqualTo(100), "the sink's own queue is written");
        Assert.That(lines, Has.Count.LessThan(events), "Async's buffer is not drained");

        // Closing the logger before the end, as a host does when it is disposed, writes them all.
        (code, lines, error) = RunAsyncChild(events, "flush");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines, Has.Count.EqualTo(events), error);
    }

    static (int ExitCode, List<string> Lines, string Error) RunAsyncChild(int events, string how)
    {
        using var folder = TempFolder.ForCaller();
        var start = ChildProcesses.ThisAssembly("async-exit-child", Path.Combine(folder.Path, "exit-.json"),
            events.ToString(System.Globalization.CultureInfo.InvariantCulture), how);
        var (exitCode, error) = ChildProcesses.Run(start, "logged");
        return (exitCode, LogFiles.AllLines(folder.Path), error);
    }

    static IConfiguration AsyncSettings(string path, string args)
    {
        var json = $$"""
        { "Serilog": { "WriteTo": [ { "Name": "Async", "Args": { "blockWhenFull": true, "configure": [
            { "Name": "RollingJson", "Args": { "path": "{{path.Replace("\\", "\\\\")}}", "rollingInterval": "Infinite"{{(args.Length > 0 ? "," + args : "")}} } } ] } } ] } }
        """;
        return new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
    }

    /// <summary>What the sink threw, out of the reflection wrapper Serilog.Settings.Configuration calls it through.</summary>
    static Exception Unwrap(Exception ex)
    {
        while (ex is System.Reflection.TargetInvocationException { InnerException: { } inner }) ex = inner;
        return ex;
    }

    sealed class Monitor : IAsyncLogEventSinkMonitor
    {
        public IAsyncLogEventSinkInspector? Inspector;
        public bool Stopped;

        public void StartMonitoring(IAsyncLogEventSinkInspector inspector) => Inspector = inspector;

        public void StopMonitoring(IAsyncLogEventSinkInspector inspector) => Stopped = true;
    }
}
