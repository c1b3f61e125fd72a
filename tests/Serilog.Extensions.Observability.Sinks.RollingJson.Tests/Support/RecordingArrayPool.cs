using System.Buffers;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

/// <summary>
/// An array pool that hands out new arrays, notices an array returned that it does not have out (returned twice), and
/// throws <see cref="OutOfMemoryException"/> for chosen rents and returns (no memory; a return that throws keeps nothing).
/// </summary>
sealed class RecordingArrayPool : ArrayPool<byte>
{
    readonly object _lock = new();
    readonly HashSet<byte[]> _out = new(ReferenceEqualityComparer.Instance);
    int _failRents;
    int _failedRents;
    int _doubleReturns;
    int _failReturns;
    int _failedReturns;

    /// <summary>The next <paramref name="count"/> rents of exactly <paramref name="length"/> bytes throw.</summary>
    public int FailRentsOfLength { get; set; } = -1;

    public void FailNextRents(int length, int count)
    {
        lock (_lock)
        {
            FailRentsOfLength = length;
            _failRents = count;
        }
    }

    /// <summary>The next <paramref name="count"/> returns throw, leaving the array out.</summary>
    public void FailNextReturns(int count)
    {
        lock (_lock) _failReturns = count;
    }

    public int FailedReturns
    {
        get { lock (_lock) return _failedReturns; }
    }

    public int FailedRents
    {
        get { lock (_lock) return _failedRents; }
    }

    /// <summary>Arrays returned while not out: returned twice, or never rented from here.</summary>
    public int DoubleReturns
    {
        get { lock (_lock) return _doubleReturns; }
    }

    public override byte[] Rent(int minimumLength)
    {
        lock (_lock)
        {
            if (minimumLength == FailRentsOfLength && _failRents > 0)
            {
                _failRents--;
                _failedRents++;
                throw new OutOfMemoryException("no memory for the array, on purpose");
            }
            var array = new byte[minimumLength];
            _out.Add(array);
            return array;
        }
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        lock (_lock)
        {
            if (_failReturns > 0)
            {
                _failReturns--;
                _failedReturns++;
                throw new OutOfMemoryException("no memory to keep the array, on purpose");
            }
            if (!_out.Remove(array)) _doubleReturns++;
        }
    }
}
