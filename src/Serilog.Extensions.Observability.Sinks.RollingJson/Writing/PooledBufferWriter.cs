using System.Buffers;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Writing;

/// <summary>A growable byte buffer rented from <see cref="ArrayPool{T}"/>, reused batch after batch.</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    readonly int _initialCapacity;
    byte[] _buffer;
    int _written;

    public PooledBufferWriter(int initialCapacity)
    {
        _initialCapacity = initialCapacity;
        _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);
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

    /// <summary>Empties the buffer; a buffer that one huge event grew far beyond its start size goes back to the pool.</summary>
    public void Clear()
    {
        _written = 0;
        if (_buffer.Length > _initialCapacity * 8)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(_initialCapacity);
        }
    }

    void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 256;
        if (_buffer.Length - _written >= sizeHint) return;
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = next;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = Array.Empty<byte>();
        _written = 0;
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }
}
