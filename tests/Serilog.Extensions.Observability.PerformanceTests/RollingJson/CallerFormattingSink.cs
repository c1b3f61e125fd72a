using System.Buffers;
using System.Runtime.CompilerServices;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;

namespace Serilog.Extensions.Observability.PerformanceTests.RollingJson;

/// <summary>
/// An experiment for <see cref="SinkDiagnostics"/> (mode <c>caller-format</c>), not a product design: the caller
/// formats its event (CLEF, UTF-8) and copies the bytes into one preallocated 8 MB ring, so nothing of the event stays
/// alive after <c>Emit</c> returns and the GC never promotes queued events; a writer thread only copies the bytes out
/// and writes them. A record is <c>[int length][4 bytes][payload, padded to 8]</c>; producers reserve with a
/// compare-and-swap and publish the length last; the writer clears what it took before moving on. A full ring drops
/// the event (counted). No rolling, no fault handling, no size limit.
/// </summary>
sealed class CallerFormattingSink : ILogEventSink, IDisposable
{
    const int RingSize = 1 << 23;
    const int Mask = RingSize - 1;
    const int Padding = -1;

    [ThreadStatic] static ArrayBufferWriter<byte>? t_buffer;

    readonly byte[] _ring = GC.AllocateArray<byte>(RingSize, pinned: true);
    readonly IUtf8Formatter _formatter = new CompactJsonFormatter();
    readonly FileStream _file;
    readonly Thread _writer;
    readonly SemaphoreSlim _wake = new(0);
    long _reserved;
    long _taken;
    int _sleeping;
    volatile bool _stopping;

    public CallerFormattingSink(string path)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1);
        _writer = new Thread(Write) { IsBackground = true, Name = "Serilog Rolling experiment" };
        _writer.Start();
    }

    public long Dropped;

    public void Emit(LogEvent logEvent)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        _formatter.Format(logEvent, buffer);
        var payload = buffer.WrittenSpan;
        var size = (8 + payload.Length + 7) & ~7;
        while (true)
        {
            var start = Volatile.Read(ref _reserved);
            var at = (int)(start & Mask);
            // A record never wraps: one that would is put at the ring's start, after a padding mark.
            var claim = at + size > RingSize ? RingSize - at + size : size;
            if (start + claim - Volatile.Read(ref _taken) > RingSize)
            {
                Interlocked.Increment(ref Dropped);
                return;
            }
            if (Interlocked.CompareExchange(ref _reserved, start + claim, start) != start) continue;
            var recordAt = claim == size ? at : 0;
            payload.CopyTo(_ring.AsSpan(recordAt + 8));
            Volatile.Write(ref Header(recordAt), payload.Length);
            if (claim != size) Volatile.Write(ref Header(at), Padding);
            break;
        }
        if (Volatile.Read(ref _sleeping) != 0 && Interlocked.Exchange(ref _sleeping, 0) != 0) _wake.Release();
    }

    ref int Header(int at) => ref Unsafe.As<byte, int>(ref _ring[at]);

    void Write()
    {
        var batch = new byte[256 * 1024];
        var idlePolls = 0;
        while (true)
        {
            var used = 0;
            var taken = _taken;
            while (true)
            {
                var at = (int)(taken & Mask);
                var length = Volatile.Read(ref Header(at));
                if (length == 0) break;
                if (length == Padding)
                {
                    _ring.AsSpan(at).Clear();
                    taken += RingSize - at;
                    continue;
                }
                if (used + length > batch.Length) break;
                _ring.AsSpan(at + 8, length).CopyTo(batch.AsSpan(used));
                used += length;
                var size = (8 + length + 7) & ~7;
                // Cleared whole: a later record's header may fall anywhere in these bytes.
                _ring.AsSpan(at, size).Clear();
                taken += size;
            }
            Volatile.Write(ref _taken, taken);
            if (used > 0)
            {
                _file.Write(batch, 0, used);
                idlePolls = 0;
                continue;
            }
            if (_stopping && Volatile.Read(ref _reserved) == taken) return;
            if (++idlePolls < 10)
            {
                Thread.Sleep(5);
                continue;
            }
            Volatile.Write(ref _sleeping, 1);
            if (Volatile.Read(ref _reserved) != taken || _stopping)
            {
                Volatile.Write(ref _sleeping, 0);
                continue;
            }
            _wake.Wait(50);
            Volatile.Write(ref _sleeping, 0);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Release();
        _writer.Join();
        _file.Dispose();
        _wake.Dispose();
    }
}
