using System.Diagnostics;

namespace Serilog.Extensions.Observability;

/// <summary>
/// One kind of trouble that can happen on every event (a value cut, an exception written in part) reported through
/// SelfLog at most once per interval: the first at once, later ones counted into the next line. Called from any
/// thread; takes no lock.
/// </summary>
sealed class SelfLogThrottle(TimeSpan interval)
{
    /// <summary>How often the packages report a kind of trouble that keeps happening.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    readonly long _interval = (long)(interval.TotalSeconds * Stopwatch.Frequency);

    /// <summary>The timestamp from which the next line may be written; the first line is due at once.</summary>
    long _due = long.MinValue;
    long _unreported;

    public SelfLogThrottle() : this(DefaultInterval)
    {
    }

    /// <summary>
    /// Writes the line (with the number of occurrences not reported since the last one as <c>{0}</c>) when one is due;
    /// else counts this occurrence. Never throws.
    /// </summary>
    public void WriteLine(string format, object? arg1 = null, object? arg2 = null)
    {
        var now = Stopwatch.GetTimestamp();
        var due = Volatile.Read(ref _due);
        if (now < due || Interlocked.CompareExchange(ref _due, now + _interval, due) != due)
        {
            Interlocked.Increment(ref _unreported);
            return;
        }
        SafeSelfLog.WriteLine(format, Interlocked.Exchange(ref _unreported, 0), arg1, arg2);
    }

    /// <summary>Makes the next line due at once (tests only: the throttle is process-wide).</summary>
    internal void Reset()
    {
        Volatile.Write(ref _due, long.MinValue);
        Interlocked.Exchange(ref _unreported, 0);
    }
}
