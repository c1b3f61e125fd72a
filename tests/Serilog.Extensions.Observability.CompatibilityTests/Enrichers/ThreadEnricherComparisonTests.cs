using Serilog.Core;
using Serilog.Events;
using Reference = Serilog.Formatting.Compact;

namespace Serilog.Extensions.Observability.CompatibilityTests.Enrichers;

/// <summary>
/// Our <c>Enrich.WithThreadId()</c> / <c>WithThreadName()</c> against Serilog.Enrichers.Thread 4.0.0's, on the same
/// thread: the same property names, value types and values, the same absence, the same CLEF line. Both packages name
/// their methods <c>WithThreadId</c>/<c>WithThreadName</c> on <c>LoggerEnrichmentConfiguration</c> in namespace
/// <c>Serilog</c>, so each is called through its static class.
/// </summary>
public class ThreadEnricherComparisonTests
{
    static LoggerConfiguration Ours(LoggerConfiguration configuration)
    {
        ObservabilityEnrichersLoggerConfigurationExtensions.WithThreadId(configuration.Enrich);
        return ObservabilityEnrichersLoggerConfigurationExtensions.WithThreadName(configuration.Enrich);
    }

    static LoggerConfiguration Theirs(LoggerConfiguration configuration)
    {
        ThreadLoggerConfigurationExtensions.WithThreadId(configuration.Enrich);
        return ThreadLoggerConfigurationExtensions.WithThreadName(configuration.Enrich);
    }

    [Test]
    public void OnANamedThreadBothWriteTheSameIdAndName()
    {
        var (ours, theirs, threadId) = OnThread("worker \"7\" é");

        AssertSameProperties(ours, theirs);
        Assert.That(ours.Properties["ThreadId"], Is.EqualTo(new ScalarValue(threadId)));
        Assert.That(((ScalarValue)ours.Properties["ThreadId"]).Value, Is.TypeOf<int>());
        Assert.That(ours.Properties["ThreadName"], Is.EqualTo(new ScalarValue("worker \"7\" é")));
        Assert.That(((ScalarValue)ours.Properties["ThreadName"]).Value, Is.TypeOf<string>());
    }

    [Test]
    public void OnAThreadWithoutANameNeitherWritesAThreadName()
    {
        var (ours, theirs, threadId) = OnThread(name: null);

        AssertSameProperties(ours, theirs);
        Assert.That(ours.Properties.Keys, Is.EqualTo(new[] { "Thread", "ThreadId" }));
        Assert.That(ours.Properties["ThreadId"], Is.EqualTo(new ScalarValue(threadId)));
    }

    [Test]
    public void OnAThreadWithAnEmptyNameBothWriteTheEmptyName()
    {
        var (ours, theirs, _) = OnThread(name: "");

        AssertSameProperties(ours, theirs);
        Assert.That(ours.Properties["ThreadName"], Is.EqualTo(new ScalarValue("")));
    }

    [Test]
    public void OnAThreadPoolThreadBothWriteTheRuntimesName()
    {
        string? poolName = null;
        int poolId = 0;
        LogEvent? ours = null, theirs = null;
        Task.Run(() =>
        {
            poolName = Thread.CurrentThread.Name;
            poolId = Environment.CurrentManagedThreadId;
            ours = Capture(Ours, log => log.Information("pool"));
            theirs = Capture(Theirs, log => log.Information("pool"));
        }).Wait();

        AssertSameProperties(ours!, theirs!);
        Assert.That(ours!.Properties["ThreadId"], Is.EqualTo(new ScalarValue(poolId)));
        // The runtime names its pool threads (".NET TP Worker" on .NET 10): both write that name, or both none.
        if (poolName is null)
            Assert.That(ours.Properties.ContainsKey("ThreadName"), Is.False);
        else
            Assert.That(ours.Properties["ThreadName"], Is.EqualTo(new ScalarValue(poolName)));
    }

    [Test]
    public void APropertyTheEventAlreadyHasIsKeptByBoth()
    {
        LogEvent? ours = null, theirs = null;
        RunOnThread("named", () =>
        {
            ours = Capture(Ours, log => log.ForContext("ThreadId", "mine").ForContext("ThreadName", 5).Information("kept"));
            theirs = Capture(Theirs, log => log.ForContext("ThreadId", "mine").ForContext("ThreadName", 5).Information("kept"));
        });

        AssertSameProperties(ours!, theirs!);
        Assert.That(ours!.Properties["ThreadId"], Is.EqualTo(new ScalarValue("mine")));
        Assert.That(ours.Properties["ThreadName"], Is.EqualTo(new ScalarValue(5)));
    }

    [Test]
    public void EventsFromSeveralThreadsCarryEachThreadsOwnValuesInBoth()
    {
        // Ours caches each thread's property: a second thread must not get the first one's.
        var ourLogger = Ours(Collecting(out var ourEvents)).CreateLogger();
        var theirLogger = Theirs(Collecting(out var theirEvents)).CreateLogger();
        var ids = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            RunOnThread("t" + i, () =>
            {
                lock (ids) ids.Add(Environment.CurrentManagedThreadId);
                ourLogger.Information("from {I}", i);
                theirLogger.Information("from {I}", i);
            });
        }
        ourLogger.Dispose();
        theirLogger.Dispose();

        Assert.That(ourEvents, Has.Count.EqualTo(3));
        for (var i = 0; i < 3; i++)
        {
            AssertSameProperties(ourEvents[i], theirEvents[i]);
            Assert.That(ourEvents[i].Properties["ThreadId"], Is.EqualTo(new ScalarValue(ids[i])));
            Assert.That(ourEvents[i].Properties["ThreadName"], Is.EqualTo(new ScalarValue("t" + i)));
        }
    }

    /// <summary>The same names, in the same order, with equal values of the same types; and the same CLEF line.</summary>
    static void AssertSameProperties(LogEvent ours, LogEvent theirs)
    {
        Assert.That(ours.Properties.Keys, Is.EqualTo(theirs.Properties.Keys), "property names and order");
        foreach (var (name, value) in theirs.Properties)
        {
            Assert.That(ours.Properties[name], Is.EqualTo(value), name);
            Assert.That(((ScalarValue)ours.Properties[name]).Value?.GetType(), Is.EqualTo(((ScalarValue)value).Value?.GetType()), name + " type");
        }

        var formatter = new Reference.CompactJsonFormatter();
        var ourLine = new StringWriter();
        var theirLine = new StringWriter();
        formatter.Format(new LogEvent(theirs.Timestamp, ours.Level, ours.Exception, ours.MessageTemplate, ours.Properties.Select(p => new LogEventProperty(p.Key, p.Value))), ourLine);
        formatter.Format(theirs, theirLine);
        Assert.That(ourLine.ToString(), Is.EqualTo(theirLine.ToString()));
    }

    static (LogEvent Ours, LogEvent Theirs, int ThreadId) OnThread(string? name)
    {
        LogEvent? ours = null, theirs = null;
        var threadId = 0;
        RunOnThread(name, () =>
        {
            threadId = Environment.CurrentManagedThreadId;
            ours = Capture(Ours, log => log.Information("on {Thread}", name));
            theirs = Capture(Theirs, log => log.Information("on {Thread}", name));
        });
        return (ours!, theirs!, threadId);
    }

    static void RunOnThread(string? name, Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        if (name is not null) thread.Name = name;
        thread.Start();
        thread.Join();
        if (failure is not null) throw new AggregateException(failure);
    }

    static LogEvent Capture(Func<LoggerConfiguration, LoggerConfiguration> enrich, Action<ILogger> write)
    {
        using var logger = enrich(Collecting(out var events)).CreateLogger();
        write(logger);
        return events.Single();
    }

    static LoggerConfiguration Collecting(out List<LogEvent> events)
    {
        var list = new List<LogEvent>();
        events = list;
        return new LoggerConfiguration().WriteTo.Sink(new ListSink(list));
    }

    sealed class ListSink(List<LogEvent> events) : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
            lock (events) events.Add(logEvent);
        }
    }
}
