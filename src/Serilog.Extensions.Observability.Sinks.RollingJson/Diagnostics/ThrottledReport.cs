using System.Diagnostics;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Diagnostics;

/// <summary>
/// One kind of trouble reported through SelfLog at most once per interval: the first occurrence at once, later
/// ones summed into the next report. Used by the writer thread only.
/// </summary>
internal sealed class ThrottledReport
{
    readonly TimeSpan _interval;
    long _lastReport;
    bool _everReported;
    long _pending;

    public ThrottledReport(TimeSpan interval) => _interval = interval;

    /// <summary>Counts <paramref name="count"/> more occurrences; true when a report is due now.</summary>
    public bool Add(long count, out long total)
    {
        _pending += count;
        total = _pending;
        if (_pending == 0) return false;
        if (_everReported && Stopwatch.GetElapsedTime(_lastReport) < _interval) return false;
        _everReported = true;
        _lastReport = Stopwatch.GetTimestamp();
        _pending = 0;
        return true;
    }

    /// <summary>
    /// Like <see cref="Add"/>, but due whatever the interval: the writer's last report at shutdown, so that no loss of
    /// the final interval goes unreported.
    /// </summary>
    public bool AddFinal(long count, out long total)
    {
        _pending += count;
        total = _pending;
        if (_pending == 0) return false;
        _everReported = true;
        _lastReport = Stopwatch.GetTimestamp();
        _pending = 0;
        return true;
    }

    public static void Write(string format, object? arg0 = null, object? arg1 = null, object? arg2 = null) =>
        SafeSelfLog.WriteLine(format, arg0, arg1, arg2);
}
