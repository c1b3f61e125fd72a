using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>Keeps every event it receives; thread-safe.</summary>
sealed class CollectingSink : ILogEventSink
{
    readonly List<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events
    {
        get { lock (_events) return _events.ToArray(); }
    }

    public LogEvent SingleEvent
    {
        get
        {
            var events = Events;
            Assert.That(events, Has.Count.EqualTo(1), "Expected exactly one event.");
            return events[0];
        }
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_events) _events.Add(logEvent);
    }
}
