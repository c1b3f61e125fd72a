using System.Buffers;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Writing;

/// <summary>A growable byte buffer rented from an <see cref="ArrayPool{T}"/> (the shared one), reused batch after batch.</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    readonly int _initialCapacity;
    readonly ArrayPool<byte> _pool;
    byte[] _buffer;
    int _written;

    public PooledBufferWriter(int initialCapacity, ArrayPool<byte>? pool = null)
    {
        _initialCapacity = initialCapacity;
        _pool = pool ?? ArrayPool<byte>.Shared;
        _buffer = _pool.Rent(initialCapacity);
    }

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Advance(int count)
    {
        if (count < 0 || _written + count > _buffer.Length)
            throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Forgets what was written after <paramref name="length"/> bytes (a failed event is taken back).</summary>
    public void Truncate(int length) => _written = length;

    /// <summary>Forgets the first <paramref name="count"/> bytes written (they reached the file); the rest moves to the front.</summary>
    public void RemovePrefix(int count)
    {
        if (count < 0 || count > _written) throw new ArgumentOutOfRangeException(nameof(count));
        _buffer.AsSpan(count, _written - count).CopyTo(_buffer);
        _written -= count;
    }

    /// <summary>
    /// Empties the buffer; a buffer that one huge event grew far beyond its start size goes back to the pool. Never
    /// throws: the writer clears after counting a batch written, and in its handling of a fault.
    /// </summary>
    public void Clear()
    {
        _written = 0;
        if (_buffer.Length <= _initialCapacity * 8) return;
        byte[] smaller;
        try
        {
            smaller = _pool.Rent(_initialCapacity);
        }
        catch (OutOfMemoryException)
        {
            // Kept, whole and still ours, until a later clear finds the memory: returned first, it would be the pool's
            // while this buffer still wrote into it, and returned again by the next clear.
            return;
        }
        var large = _buffer;
        _buffer = smaller;
        GiveBack(large);
    }

    void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 256;
        if (_buffer.Length - _written >= sizeHint) return;
        var next = _pool.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(next);
        var previous = _buffer;
        _buffer = next;
        GiveBack(previous);
    }

    /// <summary>
    /// Returns an array this writer no longer uses. A pool that throws (no memory for its own bookkeeping) may or may not
    /// have kept it, so it is never returned again: the pool's or the GC's, it is not ours.
    /// </summary>
    void GiveBack(byte[] array)
    {
        try
        {
            _pool.Return(array);
        }
        catch (Exception)
        {
            // Nothing written is lost: what the array held is in the one that replaced it, or no longer needed.
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = Array.Empty<byte>();
        _written = 0;
        if (buffer.Length > 0) GiveBack(buffer);
    }
}
