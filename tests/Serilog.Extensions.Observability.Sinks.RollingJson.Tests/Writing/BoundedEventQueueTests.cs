using System.Runtime.InteropServices;
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
    public void CommitAheadReachesAWindowPastTheProducersThenTheWholeRing()
    {
        var queue = new BoundedEventQueue(100_000); // a ring of 131,072 cells
        var item = Some.LogEvent();
        Assert.That(queue.CommittedCells, Is.Zero);
        for (var i = 0; i < 10; i++) queue.TryEnqueue(item);
        queue.CommitAhead();
        Assert.That(queue.CommittedCells, Is.EqualTo(10 + BoundedEventQueue.CommitAheadCells), "a window past the producers, not the ring");
        queue.CommitAhead();
        Assert.That(queue.CommittedCells, Is.EqualTo(10 + BoundedEventQueue.CommitAheadCells), "nothing more while they stay");

        // As far again as the producers have come: past half the ring, all of it.
        for (var i = 10; i < 70_000; i++)
        {
            queue.TryEnqueue(item);
            queue.TryDequeue(out _);
        }
        queue.CommitAhead();
        Assert.That(queue.CommittedCells, Is.EqualTo(131_072));
    }

    [TestCase(5)]
    [TestCase(5_000)]
    public void CommittingAheadChangesNothingTheQueueHoldsLapAfterLap(int capacity)
    {
        // Every cell the commit touches is one producers and the consumer use on the first lap: it must leave their
        // sequences as they were, whether the cell is free, claimed or holds an event.
        var queue = new BoundedEventQueue(capacity);
        var events = Enumerable.Range(0, 64).Select(_ => Some.LogEvent()).ToArray();
        var random = new Random(11);
        var queued = new Queue<LogEvent>();
        var next = 0;
        for (var step = 0; step < 40 * capacity + 500; step++)
        {
            switch (random.Next(5))
            {
                case 0:
                    queue.CommitAhead();
                    break;
                case 1 or 2:
                    var item = events[next++ % events.Length];
                    var accepted = queue.TryEnqueue(item);
                    Assert.That(accepted, Is.EqualTo(queued.Count < capacity), $"step {step}");
                    if (accepted) queued.Enqueue(item);
                    break;
                default:
                    var taken = queue.TryDequeue(out var e);
                    Assert.That(taken, Is.EqualTo(queued.Count > 0), $"step {step}");
                    if (taken) Assert.That(e, Is.SameAs(queued.Dequeue()), $"step {step}");
                    break;
            }
        }
        Assert.That(queue.CommittedCells, Is.EqualTo(queue.RingForTests.Length));
    }

    [Test]
    public void TheRingsPagesAreWrittenAheadOfTheProducersAndNoFurther()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Pages are looked up in /proc/self/pagemap, which only Linux has.");
        if (!File.Exists("/proc/self/pagemap")) Assert.Ignore("This kernel (or sandbox) has no /proc/self/pagemap.");
        // A ring of 16,777,216 cells (256 MB of address space): too large for the runtime to hand out memory it used
        // before, so untouched pages are not in memory. The large object heap does not move it while the test looks
        // (checked below: the ring cannot be pinned, its cells hold references).
        var queue = new BoundedEventQueue(1 << 24);
        var ring = queue.RingForTests;
        var start = Marshal.UnsafeAddrOfPinnedArrayElement(ring, 0);
        var cellBytes = (long)(Marshal.UnsafeAddrOfPinnedArrayElement(ring, 1) - start);
        var cellsPerPage = Environment.SystemPageSize / cellBytes;
        // Cell indexes past the first page (the array's header shares it with the first cells, and the runtime wrote it).
        var window = Enumerable.Range(1, (int)(BoundedEventQueue.CommitAheadCells / cellsPerPage) - 1).Select(p => p * cellsPerPage).ToArray();
        var farAway = new[] { 1L << 20, 1L << 23, (1L << 24) - 1 };
        Assume.That(window.Concat(farAway).Count(i => Written(ring, i)), Is.Zero,
            "The runtime gave this ring memory it had already written: nothing here says who wrote it.");

        var item = Some.LogEvent();
        for (var i = 0; i < 10; i++) queue.TryEnqueue(item);
        queue.CommitAhead();
        // A full collection, as any allocation may start while the test runs (the ring's size leaves the next one a full
        // one): it marks through every cell's reference, and its reads map the kernel's shared zero page over the whole
        // ring. Pagemap counts those pages present; only a write gives the ring pages of its own, so only those count.
        GC.Collect();
        Assume.That(Marshal.UnsafeAddrOfPinnedArrayElement(ring, 0), Is.EqualTo(start), "The collection moved the ring (a heap hard limit compacts the large object heap).");

        Assert.That(window.Where(i => !Written(ring, i)), Is.Empty, "pages the producers will write next, written by the consumer");
        Assert.That(farAway.Where(i => Written(ring, i)), Is.Empty, "a sink that logs little commits little of its ring");
        GC.KeepAlive(queue);
    }

    /// <summary>
    /// Whether the page holding the ring's cell at <paramref name="index"/> is in memory as a page of this process's own
    /// (/proc/self/pagemap: bit 63, present, and bit 56, mapped exclusively), as a write leaves it; a page only read is
    /// the shared zero page, present but not exclusive, and a write to it would still fault.
    /// </summary>
    static bool Written(Array ring, long index)
    {
        var address = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(ring, (int)index);
        using var pagemap = new FileStream("/proc/self/pagemap", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
        pagemap.Position = (long)(address / (ulong)Environment.SystemPageSize * 8);
        var entry = new byte[8];
        pagemap.ReadExactly(entry);
        const ulong presentAndExclusive = (1UL << 63) | (1UL << 56);
        return (BitConverter.ToUInt64(entry) & presentAndExclusive) == presentAndExclusive;
    }

    [TestCase(1_000)]
    [TestCase(100_000)]
    public void ManyProducersAndOneConsumerLoseAndDuplicateNothing(int capacity)
    {
        const int producers = 4, perProducer = 50_000;
        var queue = new BoundedEventQueue(capacity);
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
            // As the writer does before each batch: at 100,000 the first lap is committed while producers fill it.
            if ((taken & 255) == 0) queue.CommitAhead();
            if (!queue.TryDequeue(out var e)) { Thread.Yield(); continue; }
            seen[Array.IndexOf(events, e)]++;
            taken++;
        }
        Assert.That(Task.WaitAll(tasks, TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(seen, Is.All.EqualTo(perProducer));
        Assert.That(queue.TryDequeue(out _), Is.False);
    }
}
