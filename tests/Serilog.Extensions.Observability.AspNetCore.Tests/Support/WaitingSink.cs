using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// Collects events and lets a test wait, with a bound, until the events it expects have arrived:
/// the completion event is written after the response may already have reached the client.
/// </summary>
sealed class WaitingSink : ILogEventSink
{
    static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);
    readonly List<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events
    {
        get { lock (_events) return _events.ToArray(); }
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_events)
        {
            _events.Add(logEvent);
            Monitor.PulseAll(_events);
        }
    }

    public IReadOnlyList<LogEvent> WaitFor(Func<LogEvent, bool> predicate, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        lock (_events)
        {
            while (true)
            {
                var matching = _events.Where(predicate).ToList();
                if (matching.Count >= count) return matching;
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero)
                    Assert.Fail($"Timed out waiting for {count} matching event(s); saw {matching.Count} of {_events.Count} event(s).");
                Monitor.Wait(_events, remaining);
            }
        }
    }

    public LogEvent WaitForCompletion(string path) =>
        WaitFor(e => e.Properties.TryGetValue("RequestPath", out var p) && p is ScalarValue { Value: string s } && s == path).Single();
}
