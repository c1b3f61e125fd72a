using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Writing;

/// <summary>
/// A bounded multi-producer, single-consumer ring of events (Vyukov's bounded queue): producers claim a slot with
/// one compare-and-swap and never lock or allocate. The ring's size is a power of two, so a position finds its slot
/// with a mask rather than a division; the queue still holds exactly <see cref="Capacity"/> events, so a full queue
/// is detected exactly. An item is a <see cref="LogEvent"/> or a <see cref="FormattedLine"/> (see
/// <see cref="RollingJsonSink"/>).
/// </summary>
internal sealed class BoundedEventQueue
{
    struct Cell
    {
        /// <summary>
        /// Vyukov's sequence number minus the cell's index in the ring, so that a new ring's zeroed memory already holds
        /// every cell's starting value (its index): no loop writes all of it at configuration time, and a sink that
        /// logs little never touches most of its pages (the default ring is 2 MB).
        /// </summary>
        public long Sequence;
        public object? Item;
    }

    // Producers hammer _tail, the consumer _head: keep them on separate cache lines.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    struct PaddedPosition
    {
        [FieldOffset(64)] public long Value;
    }

    readonly Cell[] _cells;
    readonly long _mask;
    readonly long _capacity;
    PaddedPosition _tail;
    PaddedPosition _head;
    // What producers last saw of _head: a lower bound they check against before reading the consumer's own line.
    PaddedPosition _headSeen;
    // _head as the consumer last published it (every HeadHintInterval items, and when it finds the queue empty): a line
    // it seldom writes, so producers can read how far behind it is without taking _head's line from its core.
    PaddedPosition _headHint;

    /// <summary>Items taken between two publications of the head for <see cref="Backlog"/>.</summary>
    internal const int HeadHintInterval = 64;

    /// <summary>
    /// How far past the producers <see cref="CommitAhead"/> keeps the ring's memory committed on its first lap, in cells
    /// (128 KB), or as far again as the producers have come, whichever is more.
    /// </summary>
    internal const int CommitAheadCells = 8192;

    // The consumer's own: the ring's cells below this index are known to be committed (see CommitAhead).
    long _committed;

    public BoundedEventQueue(int capacity)
    {
        // Configuration keeps the limit within RollingJsonOptions.MaxQueueLimit (2^30), so the ring size fits an int.
        if (capacity is < 1 or > RollingJsonOptions.MaxQueueLimit)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be from 1 to 2^30.");
        var ring = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        _capacity = capacity;
        _mask = ring - 1;
        _cells = new Cell[ring];
    }

    public int Capacity => (int)_capacity;

    /// <summary>Events claimed by producers so far (published or about to be).</summary>
    public long EnqueuedPosition => Volatile.Read(ref _tail.Value);

    /// <summary>Events taken by the consumer so far.</summary>
    public long DequeuedPosition => Volatile.Read(ref _head.Value);

    public int Count
    {
        get
        {
            var count = Volatile.Read(ref _tail.Value) - Volatile.Read(ref _head.Value);
            return count <= 0 ? 0 : count >= _capacity ? (int)_capacity : (int)count;
        }
    }

    /// <summary>
    /// For producers: about how many items are queued, read without touching the consumer's hot line: never less than
    /// the items waiting, and fewer than <see cref="HeadHintInterval"/> more.
    /// </summary>
    public long Backlog => Volatile.Read(ref _tail.Value) - Volatile.Read(ref _headHint.Value);

    /// <summary>
    /// True when no producer has claimed a slot beyond what the consumer took. Read after a full fence, this pairs
    /// with the producers' compare-and-swap on the tail (also a full fence) so a sleeping consumer is never missed.
    /// </summary>
    public bool IsEmpty => Volatile.Read(ref _tail.Value) == Volatile.Read(ref _head.Value);

    public bool TryEnqueue(object item)
    {
        var position = Volatile.Read(ref _tail.Value);
        while (true)
        {
            // Full when Capacity events are claimed and not yet taken. The last head seen is enough while it shows
            // room (the head only grows); only then is the consumer's own position read again.
            if (position - Volatile.Read(ref _headSeen.Value) >= _capacity)
            {
                var head = Volatile.Read(ref _head.Value);
                Volatile.Write(ref _headSeen.Value, head);
                if (position - head >= _capacity) return false;
            }

            ref var cell = ref _cells[position & _mask];
            // The stored sequence is relative to the cell's index: position - index is the lap's first position.
            var lap = position & ~_mask;
            var difference = Volatile.Read(ref cell.Sequence) - lap;
            if (difference == 0)
            {
                var observed = Interlocked.CompareExchange(ref _tail.Value, position + 1, position);
                if (observed == position)
                {
                    cell.Item = item;
                    Volatile.Write(ref cell.Sequence, lap + 1);
                    return true;
                }
                position = observed;
            }
            else if (difference < 0)
            {
                // The slot still holds the event from one lap ago (only when the limit fills the whole ring).
                return false;
            }
            else
            {
                position = Volatile.Read(ref _tail.Value);
            }
        }
    }

    /// <summary>Cells of the ring committed so far by <see cref="CommitAhead"/> (all of them once it is done); for tests.</summary>
    internal long CommittedCells => _committed;

    /// <summary>The ring itself, for tests that ask the OS which of its pages are resident.</summary>
    internal Array RingForTests => _cells;

    /// <summary>
    /// Single consumer only. Commits the ring's memory ahead of the producers on its first lap, so that the page faults
    /// of a new ring's untouched pages are taken on this thread rather than on the callers (one per page of cells, 512
    /// for the default limit). Each page is touched with an atomic add of zero to one cell's sequence: a write as far as
    /// the memory system goes, but it never changes a value, so it cannot race with a producer publishing that cell.
    /// Only as far as the producers have come and a little more: a sink that logs little still never commits most of
    /// its ring. After the first lap it costs one comparison.
    /// </summary>
    public void CommitAhead()
    {
        var committed = _committed;
        var length = _cells.LongLength;
        if (committed >= length) return;
        var tail = Volatile.Read(ref _tail.Value);
        var target = Math.Min(length, tail + Math.Max(CommitAheadCells, tail));
        if (target <= committed) return;
        var stride = Math.Max(1, Environment.SystemPageSize / Unsafe.SizeOf<Cell>());
        for (var index = committed; index < target; index += stride)
            Interlocked.Add(ref _cells[index].Sequence, 0);
        // The stride steps one page at a time from wherever the cells start, so every page up to the target's is reached,
        // but the last cell's page may lie past the last step.
        Interlocked.Add(ref _cells[target - 1].Sequence, 0);
        _committed = target;
    }

    /// <summary>Single consumer only. False when empty or when the next slot is claimed but not yet published.</summary>
    public bool TryDequeue(out object item)
    {
        var position = _head.Value;
        ref var cell = ref _cells[position & _mask];
        var lap = position & ~_mask;
        if (Volatile.Read(ref cell.Sequence) != lap + 1)
        {
            if (_headHint.Value != position) Volatile.Write(ref _headHint.Value, position);
            item = null!;
            return false;
        }
        item = cell.Item!;
        cell.Item = null;
        Volatile.Write(ref cell.Sequence, lap + _mask + 1);
        Volatile.Write(ref _head.Value, position + 1);
        if (((position + 1) & (HeadHintInterval - 1)) == 0) Volatile.Write(ref _headHint.Value, position + 1);
        return true;
    }
}
