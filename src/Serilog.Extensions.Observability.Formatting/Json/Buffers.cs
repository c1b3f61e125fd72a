using System.Runtime.CompilerServices;
using System.Text;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// A growable byte buffer reused across events (no pooling needed: one instance per thread). It can also write
/// straight into an output's free array space (<see cref="Borrow"/>), so a line that fits needs no copy; when it does
/// not fit, what was written moves to the builder's own array and writing goes on there.
/// </summary>
sealed class ByteBuilder
{
    byte[] _own;
    byte[] _buffer; // _own, or a borrowed output array
    int _start;
    int _end;

    public ByteBuilder(int capacity)
    {
        _own = _buffer = new byte[capacity];
        _end = capacity;
    }

    /// <summary>The write position in the current array (the own one, or the borrowed one from its offset).</summary>
    public int Length;

    /// <summary>The round-trip date writer of the thread that owns this builder.</summary>
    public readonly RoundTripDates Dates = new();

    public int Capacity => _own.Length;

    /// <summary>True while the bytes are written straight into a borrowed array.</summary>
    public bool IsBorrowed => !ReferenceEquals(_buffer, _own);

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(_start, Length - _start);

    public int WrittenCount => Length - _start;

    /// <summary>Starts empty, on the builder's own array.</summary>
    public void Reset()
    {
        _buffer = _own;
        _start = 0;
        _end = _own.Length;
        Length = 0;
    }

    /// <summary>Starts empty, writing into <paramref name="array"/>'s <paramref name="count"/> bytes from <paramref name="offset"/>.</summary>
    public void Borrow(byte[] array, int offset, int count)
    {
        _buffer = array;
        _start = offset;
        _end = offset + count;
        Length = offset;
    }

    /// <summary>
    /// Moves what was written into a borrowed array to the builder's own array and carries on there, so that nothing
    /// more is written into (or later committed from) the output's memory.
    /// </summary>
    public void StopBorrowing()
    {
        if (!IsBorrowed) return;
        var written = Length - _start;
        if (_own.Length < written) _own = new byte[Math.Max(_own.Length * 2, written)];
        _buffer.AsSpan(_start, written).CopyTo(_own);
        _buffer = _own;
        _start = 0;
        _end = _own.Length;
        Length = written;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Free(int sizeHint)
    {
        if (_end - Length < sizeHint) Grow(sizeHint);
        return _buffer.AsSpan(Length, _end - Length);
    }

    void Grow(int sizeHint)
    {
        var written = Length - _start;
        var size = Math.Max(_own.Length * 2, written + sizeHint);
        if (IsBorrowed)
        {
            // Out of borrowed room: carry on in the own array (grown if need be).
            if (_own.Length < written + sizeHint) _own = new byte[size];
            _buffer.AsSpan(_start, written).CopyTo(_own);
        }
        else
        {
            Array.Resize(ref _own, size);
        }
        _buffer = _own;
        _start = 0;
        _end = _own.Length;
        Length = written;
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
    public void InsertSpaces(int index, int count) => Insert(index, ' ', count);

    /// <summary>Inserts <paramref name="count"/> copies of <paramref name="c"/> at <paramref name="index"/>, shifting what follows.</summary>
    public void Insert(int index, char c, int count)
    {
        Free(count);
        var moved = _buffer.AsSpan(index, Length - index);
        moved.CopyTo(_buffer.AsSpan(index + count));
        _buffer.AsSpan(index, count).Fill(c);
        Length += count;
    }

    /// <summary>Removes <paramref name="count"/> chars at <paramref name="index"/>, shifting what follows.</summary>
    public void Remove(int index, int count)
    {
        _buffer.AsSpan(index + count, Length - index - count).CopyTo(_buffer.AsSpan(index));
        Length -= count;
    }

    /// <summary>Replaces the char at <paramref name="index"/>, which must be within <see cref="Length"/>.</summary>
    public void Set(int index, char c)
    {
        if ((uint)index >= (uint)Length) throw new ArgumentOutOfRangeException(nameof(index));
        _buffer[index] = c;
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

    StringBuilder? _values;
    StringWriter? _valueWriter;

    /// <summary>What <see cref="ValueWriter"/> has written.</summary>
    public StringBuilder Values => _values ??= new StringBuilder();

    /// <summary>
    /// Where a caller-supplied value formatter writes (the custom-formatter path only): into <see cref="Values"/>, with
    /// <paramref name="output"/>'s format provider and new line, as if it wrote to <paramref name="output"/> itself.
    /// </summary>
    public StringWriter ValueWriter(TextWriter output)
    {
        var provider = output.FormatProvider;
        if (_valueWriter is null || !ReferenceEquals(_valueWriter.FormatProvider, provider))
            _valueWriter = new StringWriter(Values, provider);
        if (!string.Equals(_valueWriter.NewLine, output.NewLine, StringComparison.Ordinal))
            _valueWriter.NewLine = output.NewLine;
        return _valueWriter;
    }

    // The thread's own instance: taken by the outermost call on the thread, so a re-entrant call sees it in use.
    bool _cached;
    bool _inUse;

    /// <summary>
    /// Whether the UTF-8 path may format straight into the output's free memory. Only the outermost call on a thread
    /// may: a re-entrant call (a value's <c>ToString()</c> that logs) can be writing to the very output the outer call
    /// has borrowed memory from, and must not be handed memory an outer call still writes into.
    /// </summary>
    public bool MayBorrow => _cached;

    public static Scratch Rent()
    {
        var scratch = t_cached;
        if (scratch is null)
        {
            scratch = new Scratch { _cached = true };
            t_cached = scratch;
        }
        else if (scratch._inUse)
        {
            // Re-entered while the outer line is half written: the outer call goes on in its own array, so this call
            // may take (and commit) the output's free memory before it, as the text path writes the inner line first.
            scratch.Bytes.StopBorrowing();
            return new Scratch();
        }
        scratch._inUse = true;
        return scratch;
    }

    /// <summary>Leaves the buffers empty for the next call (and never holding a borrowed output array).</summary>
    public static void Return(Scratch scratch)
    {
        scratch.Bytes.Reset();
        scratch.Chars.Length = 0;
        scratch.Render.Length = 0;
        scratch._values?.Clear();
        if (!scratch._cached) return;
        scratch._inUse = false;
        if (scratch.Bytes.Capacity > MaxRetainedChars * 3 || scratch.Chars.Capacity > MaxRetainedChars || scratch.Render.Capacity > MaxRetainedChars ||
            scratch._values?.Capacity > MaxRetainedChars)
            t_cached = null;
    }
}
