using System.Diagnostics.Metrics;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4;

/// <summary>
/// The root README's claims about Serilog 4.1's failure listeners (<c>WriteTo.Fallible</c>, <c>WriteTo.FallbackChain</c>):
/// the RollingJson sink never throws and cannot report to a listener, so a chain never moves away from it while its
/// lost events are counted and reported through SelfLog; <c>Redacted</c> catches an inner sink's exception, so a
/// chain around it never sees one, and a chain inside it does.
/// </summary>
[NonParallelizable] // SelfLog is process-wide
public class FailureListenerTests
{
    sealed class Listener : ILoggingFailureListener
    {
        public List<(LoggingFailureKind Kind, string Message)> Failures { get; } = new();

        public void OnLoggingFailed(object sender, LoggingFailureKind kind, string message, IReadOnlyCollection<LogEvent>? events, Exception? exception)
        {
            lock (Failures) Failures.Add((kind, message));
        }
    }

    sealed class ThrowingSink : ILogEventSink
    {
        public int Calls;

        public void Emit(LogEvent logEvent)
        {
            Interlocked.Increment(ref Calls);
            throw new IOException("the inner sink's disk is full");
        }
    }

    /// <summary>A sink that reports failures to its listener instead of throwing, as Serilog's batching sink does.</summary>
    sealed class ReportingSink : ILogEventSink, ISetLoggingFailureListener
    {
        public ILoggingFailureListener? Listener;

        public void SetFailureListener(ILoggingFailureListener failureListener) => Listener = failureListener;

        public void Emit(LogEvent logEvent) =>
            Listener?.OnLoggingFailed(this, LoggingFailureKind.Permanent, "the reporting sink's endpoint refused it", [logEvent], null);
    }

    /// <summary>The RollingJson sink's drops, by reason, as its meter counts them.</summary>
    sealed class DroppedEvents : IDisposable
    {
        readonly MeterListener _listener = new();
        readonly Dictionary<string, long> _byReason = new();

        public DroppedEvents()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Serilog.Extensions.Observability.Sinks.RollingJson" && instrument.Name == "serilog.rolling_json.events.dropped")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key != "reason") continue;
                    lock (_byReason) _byReason[(string)tag.Value!] = _byReason.GetValueOrDefault((string)tag.Value!) + value;
                }
            });
            _listener.Start();
        }

        public long this[string reason]
        {
            get { lock (_byReason) return _byReason.GetValueOrDefault(reason); }
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>A path whose folder cannot be created: a file of that name is in the way.</summary>
    static string UnwritablePath(TempFolder folder)
    {
        var blocker = Path.Combine(folder.Path, "blocker");
        File.WriteAllText(blocker, "a file where the log folder should be");
        return Path.Combine(blocker, "logs", "app-.json");
    }

    [Test]
    public void NoTypeOfTheRollingJsonSinkCanTakeAFailureListener()
    {
        var types = typeof(RollingJsonLoggerConfigurationExtensions).Assembly.GetTypes();

        Assert.That(types.Where(t => typeof(ISetLoggingFailureListener).IsAssignableFrom(t)), Is.Empty);
    }

    [Test]
    public void AFallbackChainNeverMovesAwayFromAFailingRollingJsonSinkWhoseDropsAreCountedAndReported()
    {
        using var folder = TempFolder.ForCaller();
        var fallback = new CollectingSink();
        var selfLog = new List<string>();
        using var dropped = new DroppedEvents();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            using var logger = new LoggerConfiguration()
                .WriteTo.FallbackChain(primary => primary.RollingJson(UnwritablePath(folder)), second => second.Sink(fallback))
                .CreateLogger();
            for (var i = 0; i < 5; i++) logger.Information("Order {OrderId} shipped", i);
        } // disposal drains the queue: every event has been written or dropped when it returns

        Assert.Multiple(() =>
        {
            Assert.That(fallback.Events, Is.Empty, "the fallback sink");
            Assert.That(dropped["io_error"], Is.EqualTo(5), "events dropped for the I/O error");
            Assert.That(selfLog, Has.Some.Contains("RollingJson sink").And.Contains("blocker"), "reported through SelfLog");
        });
    }

    [Test]
    public void AFallibleRollingJsonSinkNeverCallsTheListener()
    {
        using var folder = TempFolder.ForCaller();
        var listener = new Listener();
        var selfLog = new List<string>();
        using var dropped = new DroppedEvents();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            using var logger = new LoggerConfiguration()
                .WriteTo.Fallible(writeTo => writeTo.RollingJson(UnwritablePath(folder)), listener)
                .CreateLogger();
            logger.Information("Order {OrderId} shipped", 1);
        }

        Assert.That(listener.Failures, Is.Empty);
        Assert.That(dropped["io_error"], Is.EqualTo(1));
    }

    [Test]
    public void AFallbackChainAroundRedactedNeverSeesItsInnerSinksException()
    {
        var throwing = new ThrowingSink();
        var fallback = new CollectingSink();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            using var logger = new LoggerConfiguration()
                .WriteTo.FallbackChain(
                    primary => primary.Redacted(inner => inner.Sink(throwing), (Action<RedactionOptions>?)null),
                    second => second.Sink(fallback))
                .CreateLogger();
            logger.Information("Login by {User} with {Password}", "ann", "hunter2-secret");
        }

        Assert.Multiple(() =>
        {
            Assert.That(throwing.Calls, Is.EqualTo(1), "the inner sink was written to");
            Assert.That(fallback.Events, Is.Empty, "the fallback sink");
            Assert.That(selfLog, Has.Some.Contains("the inner sink's disk is full"), "reported through SelfLog");
        });
    }

    [Test]
    public void AFallibleRedactedNeverCallsTheListenerForItsInnerSinksException()
    {
        var listener = new Listener();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            using var logger = new LoggerConfiguration()
                .WriteTo.Fallible(writeTo => writeTo.Redacted(inner => inner.Sink(new ThrowingSink()), (Action<RedactionOptions>?)null), listener)
                .CreateLogger();
            logger.Information("Order {OrderId} shipped", 1);
        }

        Assert.That(listener.Failures, Is.Empty);
        Assert.That(selfLog, Has.Some.Contains("the inner sink's disk is full"));
    }

    [Test]
    public void FallibleAroundRedactedPassesItsListenerToTheSinksInside()
    {
        var reporting = new ReportingSink();
        var listener = new Listener();
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Fallible(writeTo => writeTo.Redacted(inner => inner.Sink(reporting), (Action<RedactionOptions>?)null), listener)
                   .CreateLogger())
        {
            Assert.That(reporting.Listener, Is.Not.Null, "Serilog's wrapper passed a listener on");
            logger.Information("Order {OrderId} shipped", 1);
        }

        Assert.That(listener.Failures, Is.EqualTo(new[] { (LoggingFailureKind.Permanent, "the reporting sink's endpoint refused it") }));
    }

    [Test]
    public void AFallbackChainAroundRedactedGetsTheRedactedEventsASinkInsideReportsAsFailed()
    {
        // Exceptions stop at Redacted; failures a sink inside reports to its listener (a batching sink) do not.
        var fallback = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WriteTo.FallbackChain(
                       primary => primary.Redacted(inner => inner.Sink(new ReportingSink()), (Action<RedactionOptions>?)null),
                       second => second.Sink(fallback))
                   .CreateLogger())
        {
            logger.Information("Login by {User} with {Password}", "ann", "hunter2-secret");
        }

        var received = fallback.SingleEvent;
        Assert.That(received.Properties["User"], Is.EqualTo(new ScalarValue("ann")));
        Assert.That(received.Properties["Password"], Is.Not.EqualTo(new ScalarValue("hunter2-secret")), "the redacted event");
    }

    [Test]
    public void AFallbackChainInsideRedactedTakesOverWithTheRedactedEvent()
    {
        var throwing = new ThrowingSink();
        var fallback = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Redacted(
                       inner => inner.FallbackChain(primary => primary.Sink(throwing), second => second.Sink(fallback)),
                       (Action<RedactionOptions>?)null)
                   .CreateLogger())
        {
            logger.Information("Login by {User} with {Password}", "ann", "hunter2-secret");
        }

        Assert.That(throwing.Calls, Is.EqualTo(1));
        var received = fallback.SingleEvent;
        Assert.That(received.Properties["User"], Is.EqualTo(new ScalarValue("ann")));
        Assert.That(received.Properties["Password"], Is.Not.EqualTo(new ScalarValue("hunter2-secret")), "the fallback gets the redacted event");
    }
}
