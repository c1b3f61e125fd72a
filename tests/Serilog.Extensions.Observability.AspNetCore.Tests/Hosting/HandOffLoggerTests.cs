using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Hosting;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// The <c>ILogger&lt;T&gt;</c> instances of a host set up with AddObservability() after the host is disposed: held in a
/// static field or by a singleton that outlives the host (a test suite that builds a host per test), they must not keep
/// the disposed host's logger, and with it its sinks' queues and buffers, alive.
/// </summary>
[NonParallelizable]
public class HandOffLoggerTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    /// <summary>How the host's logger stops being <see cref="Log.Logger"/> before the host is disposed.</summary>
    public enum StaticLogger
    {
        /// <summary>Still the host's: the host hands over to its late logger.</summary>
        StillTheHosts,

        /// <summary>Another host's AddObservability() (or the application) has replaced it: there is no hand-over.</summary>
        TakenByAnotherHost,
    }

    [TestCase(StaticLogger.StillTheHosts)]
    [TestCase(StaticLogger.TakenByAnotherHost)]
    public async Task AnILoggerKeptAfterTheHostIsDisposedDoesNotKeepTheHostsLogger(StaticLogger staticLogger)
    {
        using var logs = TempFolder.ForCaller();
        var (kept, hostLogger) = await LogThroughAHostThenDisposeItAsync(logs.Path, staticLogger);

        Assert.That(Collected.Eventually(hostLogger), Is.True, "the disposed host's logger is still referenced");
        // The application still holds, and writes through, the ILogger<T>: never an exception.
        Assert.DoesNotThrow(() => kept.LogInformation("After the host is gone {Value}", 42));
        GC.KeepAlive(kept);
    }

    [Test]
    public async Task TheLateLoggerDoesNotKeepTheDisposedHostsLogger()
    {
        // Log.Logger holds the late logger until Log.CloseAndFlush() or the next host's AddObservability(); what it was
        // built from must not hold the logger it replaced.
        using var logs = TempFolder.ForCaller();
        var (_, hostLogger) = await LogThroughAHostThenDisposeItAsync(logs.Path, StaticLogger.StillTheHosts);

        Assert.That(Collected.Eventually(hostLogger), Is.True, "the disposed host's logger is still referenced");
    }

    [TestCase(StaticLogger.StillTheHosts)]
    [TestCase(StaticLogger.TakenByAnotherHost)]
    public async Task AnILoggerWritesSafelyAfterTheHostIsDisposed(StaticLogger staticLogger)
    {
        using var logs = TempFolder.ForCaller();
        var (kept, _) = await LogThroughAHostThenDisposeItAsync(logs.Path, staticLogger);

        Assert.DoesNotThrow(() =>
        {
            kept.LogInformation("After the host is gone {Value}", 1);
            using (kept.BeginScope("scope {Id}", 7))
                kept.LogError(new InvalidOperationException("late"), "After the host is gone {Value}", 2);
        });
        Log.CloseAndFlush();
        // After Log.CloseAndFlush() too (the late logger is closed).
        Assert.DoesNotThrow(() => kept.LogWarning("After the late logger is closed {Value}", 3));
    }

    /// <summary>
    /// A sink whose disposal logs through an ILogger&lt;T&gt; of the host, or else through the static <see cref="Log"/>
    /// class: an event written while the host's logger closes.
    /// </summary>
    sealed class LogsWhenDisposed(Func<Microsoft.Extensions.Logging.ILogger?>? through, int count = 1) : global::Serilog.Core.ILogEventSink, IDisposable
    {
        public void Emit(global::Serilog.Events.LogEvent logEvent)
        {
        }

        public void Dispose()
        {
            for (var i = 0; i < count; i++)
            {
                if (through is null) Log.Information("While the host's logger closes {Value}", i);
                else through()?.LogInformation("While the host's logger closes {Value}", i);
            }
        }
    }

    /// <summary>
    /// A worker past the shutdown timeout, or the second stop WebApplicationFactory makes on its own thread, writes
    /// through an ILogger&lt;T&gt; while the host's logger is being closed: the late logger takes that event, as it takes
    /// those before (the host's logger) and after.
    /// </summary>
    [TestCase(1)]
    [TestCase(LoggerRoute.HoldLimit + 5)]
    public void AnEventWrittenThroughAnILoggerWhileTheHostsLoggerClosesGoesToTheLateLogger(int count) =>
        AnEventWrittenWhileTheHostsLoggerClosesGoesToTheLateLogger(count, throughStaticLog: false);

    /// <summary>
    /// Likewise through the static <see cref="Log"/> class (a hosted service's <c>Dispose</c>, a thread of the
    /// application's), which writes to <see cref="Log.Logger"/>, the host's logger until the close began.
    /// </summary>
    [TestCase(1)]
    [TestCase(LoggerRoute.HoldLimit + 5)]
    public void AnEventWrittenThroughTheStaticLogWhileTheHostsLoggerClosesGoesToTheLateLogger(int count) =>
        AnEventWrittenWhileTheHostsLoggerClosesGoesToTheLateLogger(count, throughStaticLog: true);

    static void AnEventWrittenWhileTheHostsLoggerClosesGoesToTheLateLogger(int count, bool throughStaticLog)
    {
        using var logs = TempFolder.ForCaller();
        Microsoft.Extensions.Logging.ILogger? through = null;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", ApplicationName = "closing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        builder.AddObservability(o => o.WriteTo(w => w.Sink(new LogsWhenDisposed(throughStaticLog ? null : () => through, count))));
        var host = builder.Build();
        through = host.Services.GetRequiredService<ILogger<HandOffLoggerTests>>();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
            host.Dispose();
        through = null;
        Log.CloseAndFlush();

        var written = Directory.GetFiles(logs.Path).SelectMany(File.ReadAllLines).Count(line => line.Contains("While the host's logger closes", StringComparison.Ordinal));
        Assert.That(written, Is.EqualTo(Math.Min(count, LoggerRoute.HoldLimit)), string.Join("\n", selfLog));
        Assert.That(selfLog.Where(line => line.Contains("while the host's logger was closing were dropped", StringComparison.Ordinal)),
            count > LoggerRoute.HoldLimit ? Has.One.Contains($"{count - LoggerRoute.HoldLimit} event(s)") : Is.Empty);
    }

    /// <summary>Writes through <see cref="Through"/> when it gets the event with the given text: another thread writing meanwhile.</summary>
    sealed class WritesOnReceipt(string trigger, string written) : global::Serilog.Core.ILogEventSink
    {
        public global::Serilog.ILogger? Through { get; set; }
        public List<string> Texts { get; } = [];

        public void Emit(global::Serilog.Events.LogEvent logEvent)
        {
            var text = logEvent.MessageTemplate.Text;
            Texts.Add(text);
            if (text == trigger) Through?.Information(written);
        }
    }

    [Test]
    public void EventsWrittenWhileTheHeldOnesAreWrittenToTheLateLoggerComeAfterThem()
    {
        var host = new LoggerConfiguration().CreateLogger();
        var route = new LoggerRoute(host);
        global::Serilog.ILogger through = new HandOffLogger(route);
        var sink = new WritesOnReceipt("held 1", "after the close");
        using var late = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        sink.Through = through;

        route.BeginClose();
        host.Dispose();
        through.Information("held 1");
        through.Information("held 2");
        route.Close(late);
        through.Information("later");

        Assert.That(sink.Texts, Is.EqualTo(new[] { "held 1", "held 2", "after the close", "later" }));
    }

    /// <summary>
    /// An event held while the host's logger closes is enriched only when the late logger writes it, on the thread that
    /// disposes the host: it still carries the scopes, correlation id and trace of the code that logged it.
    /// </summary>
    [Test]
    public async Task AnEventHeldWhileTheHostsLoggerClosesKeepsTheContextItWasWrittenIn()
    {
        var host = new LoggerConfiguration().CreateLogger();
        var route = new LoggerRoute(host);
        global::Serilog.ILogger through = new HandOffLogger(route);
        var sink = new CollectingSink();
        using var late = new LoggerConfiguration().Enrich.FromLogContext().Enrich.WithCorrelation().Enrich.WithSpan()
            .WriteTo.Sink(sink).CreateLogger();
        route.BeginClose();
        host.Dispose();

        var traceId = "";
        await Task.Run(() =>
        {
            using var activity = new System.Diagnostics.Activity("held").SetIdFormat(System.Diagnostics.ActivityIdFormat.W3C).Start();
            traceId = activity.TraceId.ToHexString();
            using (global::Serilog.Context.LogContext.PushProperty("Job", "job-7"))
            using (CorrelationContext.Begin("held-corr-1"))
                through.Information("held");
        });
        route.Close(late);

        var held = sink.Events.Single();
        string? Prop(string name) => held.Properties.TryGetValue(name, out var value) ? value.ToString() : null;
        Assert.Multiple(() =>
        {
            Assert.That(Prop("Job"), Is.EqualTo("\"job-7\""));
            Assert.That(Prop("CorrelationId"), Is.EqualTo("\"held-corr-1\""));
            Assert.That(Prop("TraceId"), Is.EqualTo($"\"{traceId}\""));
        });
    }

    sealed class CollectingSink : global::Serilog.Core.ILogEventSink
    {
        public List<global::Serilog.Events.LogEvent> Events { get; } = [];
        public void Emit(global::Serilog.Events.LogEvent logEvent) => Events.Add(logEvent);
    }

    /// <summary>
    /// Many threads write through an ILogger&lt;T&gt; of the host while its disposal closes the logger: each event is on
    /// disk, written by the host's logger (before the close, or on its way to it as the close began) or by the late one.
    /// </summary>
    [Test]
    public void EveryEventWrittenThroughAnILoggerFromManyThreadsAsTheHostIsDisposedIsOnDisk([Range(1, 10)] int iteration)
    {
        const int threads = 16, perThread = 40;
        using var logs = TempFolder.ForCaller();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", ApplicationName = "concurrent" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
        });
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var host = builder.Build();
        var log = host.Services.GetRequiredService<ILogger<HandOffLoggerTests>>();
        // The writers and the disposal start together; each writer's events straddle the close.
        using var start = new Barrier(threads + 1);
        var writers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            if (!start.SignalAndWait(TimeSpan.FromSeconds(10))) return;
            for (var i = 0; i < perThread; i++)
                log.LogInformation("Concurrent {Thread} {Index}", t, i);
        })).ToList();
        writers.ForEach(w => w.Start());
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            Assert.That(start.SignalAndWait(TimeSpan.FromSeconds(10)), Is.True, "the writers did not start");
            host.Dispose();
            Assert.That(writers.All(w => w.Join(TimeSpan.FromSeconds(10))), Is.True, "a writer did not end");
            Log.CloseAndFlush();
        }

        var written = Directory.GetFiles(logs.Path).SelectMany(File.ReadAllLines).Count(line => line.Contains("\"@mt\":\"Concurrent {Thread} {Index}\"", StringComparison.Ordinal));
        Assert.That(written, Is.EqualTo(threads * perThread), string.Join("\n", selfLog));
    }

    /// <summary>Holds the event with the given text in the host's pipeline until released: a write already past the hand-off logger's check.</summary>
    sealed class HoldsInFlight(string text) : global::Serilog.Core.ILogEventEnricher
    {
        public ManualResetEventSlim Entered { get; } = new();
        public ManualResetEventSlim Release { get; } = new();

        public void Enrich(global::Serilog.Events.LogEvent logEvent, global::Serilog.Core.ILogEventPropertyFactory propertyFactory)
        {
            if (logEvent.MessageTemplate.Text != text) return;
            Entered.Set();
            Release.Wait(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Collects what it gets while open and counts what it gets once disposed, as the RollingJson sink drops it.</summary>
    sealed class ClosingSink : global::Serilog.Core.ILogEventSink, IDisposable
    {
        volatile bool _disposed;
        public System.Collections.Concurrent.ConcurrentQueue<string> Written { get; } = new();
        public System.Collections.Concurrent.ConcurrentQueue<string> Dropped { get; } = new();

        public void Emit(global::Serilog.Events.LogEvent logEvent) =>
            (_disposed ? Dropped : Written).Enqueue(logEvent.MessageTemplate.Text);

        public void Dispose() => _disposed = true;
    }

    /// <summary>
    /// The close-begin gap: an event that passed the hand-off logger's check while the host's logger was open, and is
    /// still in that logger's pipeline (an enricher) when the close begins, reaches the host's sinks before they close.
    /// Every other event written meanwhile is held for the late logger: none is lost. Without a late logger (another host
    /// took Log.Logger) they go on to the closing logger, and what comes after it closed is dropped by its sinks.
    /// </summary>
    [Test]
    public void AnEventOnItsWayToTheHostsLoggerWhenTheCloseBeginsIsWrittenBeforeTheLoggerCloses(
        [Values] bool lateLogger, [Range(1, 100)] int iteration)
    {
        var inFlight = new HoldsInFlight("in flight");
        var hostSink = new ClosingSink();
        var host = new LoggerConfiguration().Enrich.With(inFlight).WriteTo.Sink(hostSink).CreateLogger();
        var route = new LoggerRoute(host);
        global::Serilog.ILogger through = new HandOffLogger(route);
        var lateSink = new ClosingSink();
        using var late = new LoggerConfiguration().WriteTo.Sink(lateSink).CreateLogger();
        // Released once the close waits for the write (after the fix), or has ended (before it): then the write goes on.
        var closeReachedWriters = new ManualResetEventSlim();
        route.WaitingForWriters = () =>
        {
            // Written by another thread while the close waits: held for the late logger.
            through.Information("while waiting");
            closeReachedWriters.Set();
        };

        var writer = Task.Run(() => through.Information("in flight"));
        Assert.That(inFlight.Entered.Wait(TimeSpan.FromSeconds(10)), Is.True, "the premise: the write is in the host's pipeline");
        var closer = Task.Run(() =>
        {
            route.BeginClose(holdForLateLogger: lateLogger);
            host.Dispose();
            route.Close(lateLogger ? late : null);
            closeReachedWriters.Set();
        });
        Assert.That(closeReachedWriters.Wait(TimeSpan.FromSeconds(10)), Is.True, "the close neither waited nor ended");
        inFlight.Release.Set();
        Assert.That(Task.WaitAll([writer, closer], TimeSpan.FromSeconds(10)), Is.True, "the write or the close did not end");
        through.Information("after");

        if (lateLogger)
        {
            Assert.That(hostSink.Dropped, Is.Empty, "dropped by the closed host logger");
            Assert.That(hostSink.Written, Is.EqualTo(new[] { "in flight" }));
            Assert.That(lateSink.Written, Is.EqualTo(new[] { "while waiting", "after" }));
        }
        else
        {
            Assert.That(hostSink.Dropped, Is.EqualTo(new[] { "after" }), "only what came after the close is dropped");
            Assert.That(hostSink.Written, Is.EquivalentTo(new[] { "while waiting", "in flight" }));
            Assert.That(lateSink.Written, Is.Empty);
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void TheDroppedEventsLineNamesTheLoggerThatWasReleased(bool lateLoggerTookOver)
    {
        var (route, released) = CloseARoute(lateLoggerTookOver);
        Assert.That(Collected.Eventually(released), Is.True, "the premise: the logger after the host is gone");
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            Assert.That(route.After, Is.SameAs(global::Serilog.Core.Logger.None));
            Assert.That(route.After, Is.SameAs(global::Serilog.Core.Logger.None));
        }

        Assert.That(selfLog, Has.Count.EqualTo(1), string.Join("\n", selfLog));
        if (lateLoggerTookOver)
            Assert.That(selfLog[0], Does.Contain("after the logger that took them over was closed and released, are dropped"));
        else
            Assert.That(selfLog[0], Does.Contain("after the host's closed logger was released (no logger took them over), are dropped")
                .And.Not.Contain("took them over was closed"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static (LoggerRoute Route, WeakReference Released) CloseARoute(bool lateLoggerTookOver)
    {
        var host = new LoggerConfiguration().CreateLogger();
        var route = new LoggerRoute(host);
        var late = lateLoggerTookOver ? new LoggerConfiguration().CreateLogger() : null;
        host.Dispose();
        route.Close(late);
        return (route, new WeakReference(late ?? host));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static async Task<(ILogger<HandOffLoggerTests> Kept, WeakReference HostLogger)> LogThroughAHostThenDisposeItAsync(string logDirectory, StaticLogger staticLogger)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", ApplicationName = "kept" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logDirectory, "app-.json"),
        });
        builder.AddObservability();
        var host = builder.Build();
        var hostLogger = host.Services.GetRequiredService<ILogger>();
        var kept = host.Services.GetRequiredService<ILogger<HandOffLoggerTests>>();
        await host.StartAsync();
        // Written once while the host runs, as a static field's logger is.
        kept.LogInformation("While the host runs {Value}", 0);
        if (staticLogger == StaticLogger.TakenByAnotherHost)
            Log.Logger = new LoggerConfiguration().CreateLogger();
        else
            Assert.That(Log.Logger, Is.SameAs(hostLogger));
        await host.StopAsync();
        host.Dispose();
        if (staticLogger == StaticLogger.StillTheHosts)
            Assert.That(Log.Logger, Is.Not.SameAs(hostLogger), "a late logger took over");
        return (kept, new WeakReference(hostLogger));
    }
}
