using System.Runtime.CompilerServices;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>A growable byte array reused across events (no pooling needed: one instance per thread).</summary>
sealed class ByteBuilder(int capacity)
{
    byte[] _buffer = new byte[capacity];

    public int Length;

    public int Capacity => _buffer.Length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Free(int sizeHint)
    {
        if (_buffer.Length - Length < sizeHint) Grow(sizeHint);
        return _buffer.AsSpan(Length);
    }

    void Grow(int sizeHint)
    {
        var size = Math.Max(_buffer.Length * 2, Length + sizeHint);
        Array.Resize(ref _buffer, size);
    }
}

/// <summary>A growable char array reused across events; also the scratch space for message rendering.</summary>
sealed class CharBuilder(int capacity)
{
    char[] _buffer = new char[capacity];

    public int Length;

    public int Capacity => _buffer.Length;

    public ReadOnlySpan<char> Written => _buffer.AsSpan(0, Length);

    public ReadOnlySpan<char> From(int start) => _buffer.AsSpan(start, Length - start);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<char> Free(int sizeHint)
    {
        if (_buffer.Length - Length < sizeHint) Grow(sizeHint);
        return _buffer.AsSpan(Length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(char c)
    {
        if (Length == _buffer.Length) Grow(1);
        _buffer[Length++] = c;
    }

    public void Append(ReadOnlySpan<char> text)
    {
        text.CopyTo(Free(text.Length));
        Length += text.Length;
    }

    public void AppendSpaces(int count)
    {
        Free(count).Slice(0, count).Fill(' ');
        Length += count;
    }

    /// <summary>Inserts <paramref name="count"/> spaces at <paramref name="index"/>, shifting what follows (right alignment).</summary>
    public void InsertSpaces(int index, int count)
    {
        Free(count);
        var moved = _buffer.AsSpan(index, Length - index);
        moved.CopyTo(_buffer.AsSpan(index + count));
        _buffer.AsSpan(index, count).Fill(' ');
        Length += count;
    }

    void Grow(int sizeHint)
    {
        var size = Math.Max(_buffer.Length * 2, Length + sizeHint);
        Array.Resize(ref _buffer, size);
    }
}

/// <summary>
/// The per-thread working buffers of one <c>Format</c> call. Rented and returned so that a re-entrant call on the same
/// thread (a value's <c>ToString()</c> that logs) gets its own buffers instead of corrupting the outer event.
/// </summary>
sealed class Scratch
{
    // Buffers that grew past this (a huge exception or message) are dropped rather than kept alive per thread.
    const int MaxRetainedChars = 64 * 1024;

    [ThreadStatic] static Scratch? t_cached;

    public readonly ByteBuilder Bytes = new(1024);
    public readonly CharBuilder Chars = new(1024);
    public readonly CharBuilder Render = new(256);

    public static Scratch Rent()
    {
        var scratch = t_cached;
        if (scratch is null) return new Scratch();
        t_cached = null;
        scratch.Bytes.Length = 0;
        scratch.Chars.Length = 0;
        scratch.Render.Length = 0;
        return scratch;
    }

    public static void Return(Scratch scratch)
    {
        if (scratch.Bytes.Capacity > MaxRetainedChars * 3 || scratch.Chars.Capacity > MaxRetainedChars || scratch.Render.Capacity > MaxRetainedChars)
            return;
        t_cached = scratch;
    }
}
