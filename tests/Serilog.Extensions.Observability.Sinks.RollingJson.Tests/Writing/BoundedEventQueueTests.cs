using Serilog.Events;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

public class BoundedEventQueueTests
{
    [Test]
    public void TheQueueHoldsExactlyItsCapacityInOrder()
    {
        var queue = new BoundedEventQueue(3);
        var events = Enumerable.Range(0, 4).Select(_ => Some.LogEvent()).ToArray();
        Assert.That(events.Select(queue.TryEnqueue), Is.EqualTo(new[] { true, true, true, false }));
        Assert.That(queue.Count, Is.EqualTo(3));
        Assert.That(queue.TryDequeue(out var first), Is.True);
        Assert.That(first, Is.SameAs(events[0]));
        Assert.That(queue.TryEnqueue(events[3]), Is.True);
        var rest = new List<object>();
        while (queue.TryDequeue(out var e)) rest.Add(e);
        Assert.That(rest, Is.EqualTo(new[] { events[1], events[2], events[3] }));
        Assert.That(queue.IsEmpty, Is.True);
    }

    [Test]
    public void TheBacklogProducersReadIsNeverBelowTheQueuedCountAndAtMostOneHintIntervalAbove()
    {
        var queue = new BoundedEventQueue(1_000);
        var item = Some.LogEvent();
        var random = new Random(7);
        for (var step = 0; step < 20_000; step++)
        {
            if (random.Next(3) != 0) queue.TryEnqueue(item);
            else queue.TryDequeue(out _);
            Assert.That(queue.Backlog, Is.InRange(queue.Count, queue.Count + BoundedEventQueue.HeadHintInterval), $"step {step}");
        }
        while (queue.TryDequeue(out _)) { }
        Assert.That(queue.Backlog, Is.Zero, "A consumer that found the queue empty has published where it is.");
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(100)]
    public void AnyLimitIsExactLapAfterLapOfTheRing(int capacity)
    {
        // The ring is the next power of two; the limit, not the ring, says when the queue is full, on every lap.
        var queue = new BoundedEventQueue(capacity);
        var events = Enumerable.Range(0, capacity + 1).Select(_ => Some.LogEvent()).ToArray();
        var random = new Random(5);
        var queued = new Queue<LogEvent>();
        var next = 0;
        for (var step = 0; step < 200 * capacity + 50; step++)
        {
            if (random.Next(2) == 0)
            {
                var item = events[next++ % events.Length];
                var accepted = queue.TryEnqueue(item);
                Assert.That(accepted, Is.EqualTo(queued.Count < capacity), $"step {step}, {queued.Count} queued");
                if (accepted) queued.Enqueue(item);
            }
            else
            {
                var taken = queue.TryDequeue(out var item);
                Assert.That(taken, Is.EqualTo(queued.Count > 0), $"step {step}");
                if (taken) Assert.That(item, Is.SameAs(queued.Dequeue()), $"step {step}");
            }
            Assert.That(queue.Count, Is.EqualTo(queued.Count), $"step {step}");
        }
        Assert.That(queue.Capacity, Is.EqualTo(capacity));
    }

    [Test]
    public void ManyProducersAndOneConsumerLoseAndDuplicateNothing()
    {
        const int producers = 4, perProducer = 50_000;
        var queue = new BoundedEventQueue(1_000);
        var events = Enumerable.Range(0, producers).Select(_ => Some.LogEvent()).ToArray();
        var seen = new int[producers];
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Factory.StartNew(() =>
        {
            var spin = new SpinWait();
            for (var i = 0; i < perProducer; i++)
                while (!queue.TryEnqueue(events[p])) spin.SpinOnce();
        }, TaskCreationOptions.LongRunning)).ToArray();
        var taken = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (taken < producers * perProducer && DateTime.UtcNow < deadline)
        {
            if (!queue.TryDequeue(out var e)) { Thread.Yield(); continue; }
            seen[Array.IndexOf(events, e)]++;
            taken++;
        }
        Assert.That(Task.WaitAll(tasks, TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(seen, Is.All.EqualTo(perProducer));
        Assert.That(queue.TryDequeue(out _), Is.False);
    }
}
