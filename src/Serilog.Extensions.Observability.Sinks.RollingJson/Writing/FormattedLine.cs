using System.Buffers;
using System.Collections.Concurrent;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Writing;

/// <summary>
/// One event's line, formatted by the caller that logged it and queued in the event's place (see
/// <see cref="RollingJsonSink"/>'s <c>Emit</c>): the writer copies it into its batch. Reused through a
/// <see cref="FormattedLinePool"/>, so the queue holds one long-lived object per such event instead of the event's
/// whole graph, which every collection would otherwise have to promote while the writer is behind.
/// </summary>
internal sealed class FormattedLine : IBufferWriter<byte>
{
    const int InitialCapacity = 512;

    /// <summary>A line grown past this (a long exception) is neither queued (its event is) nor kept for reuse.</summary>
    internal const int MaxRetainedCapacity = 4 * 1024;

    byte[] _bytes = new byte[InitialCapacity];
    int _length;

    /// <summary>The event's level, for <c>flushOnLevel</c>.</summary>
    public LogEventLevel Level { get; set; }

    public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, _length);

    public int Length => _length;

    internal int Capacity => _bytes.Length;

    public void Advance(int count)
    {
        if (count < 0 || _length + count > _bytes.Length)
            throw new ArgumentOutOfRangeException(nameof(count));
        _length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _bytes.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _bytes.AsSpan(_length);
    }

    /// <summary>Empties the line; false when it grew too large to be worth keeping.</summary>
    public bool Reset()
    {
        _length = 0;
        return _bytes.Length <= MaxRetainedCapacity;
    }

    void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_bytes.Length - _length >= sizeHint) return;
        var next = new byte[Math.Max(_bytes.Length * 2, checked(_length + sizeHint))];
        _bytes.AsSpan(0, _length).CopyTo(next);
        _bytes = next;
    }
}

/// <summary>
/// Lines for callers to format into, handed back by the writer once copied: callers take, the writer returns. Keeps
/// lines of at most <see cref="MaxPooledBytes"/> in all: enough that a backlog's lines are reused rather than allocated
/// (a line allocated while the writer is behind lives until it is written, and would be promoted on its way), and a
/// bound on what a burst leaves allocated for the life of the sink.
/// </summary>
internal sealed class FormattedLinePool
{
    internal const long MaxPooledBytes = 8 * 1024 * 1024;

    readonly ConcurrentQueue<FormattedLine> _lines = new();
    long _bytes;

    /// <summary>Lines kept; for tests, which read it once the sink is quiet.</summary>
    internal int Count => _lines.Count;

    /// <summary>Test hook: makes the line <see cref="Rent"/> allocates when the pool is empty (a hook that throws: no memory).</summary>
    internal Func<FormattedLine>? NewLineForTests;

    /// <summary>Test hook: runs as <see cref="Return"/> keeps a line (a hook that throws: no memory for the queue's next segment).</summary>
    internal Action? KeepForTests;

    public FormattedLine Rent()
    {
        if (_lines.TryDequeue(out var line))
        {
            Interlocked.Add(ref _bytes, -line.Capacity);
            return line;
        }
        return NewLineForTests is { } newLine ? newLine() : new FormattedLine();
    }

    /// <summary>
    /// Takes a line back for reuse, or leaves it to the GC. Never throws: callers return lines in <c>Emit</c> (a line
    /// its caller could not format or queue) and in the writer's handling of a fault, where an exception would reach the
    /// application or lose events.
    /// </summary>
    public void Return(FormattedLine line)
    {
        if (!line.Reset()) return;
        if (Interlocked.Add(ref _bytes, line.Capacity) > MaxPooledBytes)
        {
            Interlocked.Add(ref _bytes, -line.Capacity);
            return;
        }
        try
        {
            KeepForTests?.Invoke();
            // Allocates the queue's next segment now and then: that may find no memory.
            _lines.Enqueue(line);
        }
        catch (Exception)
        {
            // Not kept: the GC takes it, and a later Rent allocates another. Nothing of an event is lost.
            Interlocked.Add(ref _bytes, -line.Capacity);
        }
    }
}
