using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

public class ThreadEnricherTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    static LogEvent LogOnThisThread() =>
        DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithThreadId().Enrich.WithThreadName());

    static LogEvent LogOnNewThread(string? name, out int threadId)
    {
        LogEvent? evt = null;
        var id = 0;
        var thread = new Thread(() =>
        {
            id = Environment.CurrentManagedThreadId;
            evt = LogOnThisThread();
        });
        if (name is not null) thread.Name = name;
        thread.Start();
        Assert.That(thread.Join(Timeout), Is.True);
        threadId = id;
        return evt!;
    }

    [Test]
    public void ThreadIdIsTheManagedIdOfTheLoggingThread()
    {
        var evt = LogOnThisThread();

        Assert.That(evt.Properties["ThreadId"], Is.EqualTo(new ScalarValue(Environment.CurrentManagedThreadId)));
    }

    [Test]
    public void ANamedThreadGivesItsIdAndName()
    {
        var evt = LogOnNewThread("worker-7", out var id);

        Assert.That(evt.Properties["ThreadId"], Is.EqualTo(new ScalarValue(id)));
        Assert.That(evt.Properties["ThreadName"], Is.EqualTo(new ScalarValue("worker-7")));
    }

    [Test]
    public void AnUnnamedThreadGivesNoThreadName()
    {
        var evt = LogOnNewThread(null, out var id);

        Assert.That(evt.Properties["ThreadId"], Is.EqualTo(new ScalarValue(id)));
        Assert.That(evt.Properties.ContainsKey("ThreadName"), Is.False);
    }

    [Test]
    public async Task AThreadPoolThreadGivesItsOwnIdAndItsNameOnlyWhenItHasOne()
    {
        var (evt, id, name) = await Task.Run(() => (LogOnThisThread(), Environment.CurrentManagedThreadId, Thread.CurrentThread.Name));

        Assert.That(evt.Properties["ThreadId"], Is.EqualTo(new ScalarValue(id)));
        if (name is null)
            Assert.That(evt.Properties.ContainsKey("ThreadName"), Is.False);
        else
            Assert.That(evt.Properties["ThreadName"], Is.EqualTo(new ScalarValue(name)));
    }

    [Test]
    public void ARenamedThreadGivesItsNewName()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithThreadName().WriteTo.Sink(sink).CreateLogger();
        var thread = new Thread(() =>
        {
            Thread.CurrentThread.Name = "before";
            logger.Information("One");
            Thread.CurrentThread.Name = "after";
            logger.Information("Two");
        });
        thread.Start();
        Assert.That(thread.Join(Timeout), Is.True);

        Assert.That(sink.Events.Select(e => e.Properties["ThreadName"].ToString()), Is.EqualTo(new[] { "\"before\"", "\"after\"" }));
    }

    [Test]
    public void EventsOnTheSameThreadShareOneThreadIdValue()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithThreadId().WriteTo.Sink(sink).CreateLogger();
        logger.Information("One");
        logger.Information("Two");

        Assert.That(sink.Events[1].Properties["ThreadId"], Is.SameAs(sink.Events[0].Properties["ThreadId"]));
    }

    [Test]
    public void ValuesTheCallerSetWin()
    {
        var evt = DelegatingSink.GetLogEvent(
            log => log.ForContext("ThreadId", -1).ForContext("ThreadName", "mine").Information("Hi"),
            c => c.Enrich.WithThreadId().Enrich.WithThreadName());

        Assert.That(evt.Properties["ThreadId"], Is.EqualTo(new ScalarValue(-1)));
        Assert.That(evt.Properties["ThreadName"], Is.EqualTo(new ScalarValue("mine")));
    }
}
