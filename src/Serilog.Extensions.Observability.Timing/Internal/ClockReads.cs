using System.Diagnostics;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// Reads of the pipeline's <see cref="TimeProvider"/> where a stage or pipeline begins or ends. The clock is the
/// application's (a custom one may throw): a read that throws costs the measurement, never the stage, its completion
/// event or the application's <c>using</c> block. Reported through SelfLog at most once a minute, and counted.
/// </summary>
static class ClockReads
{
    static readonly TimeSpan ReportInterval = TimeSpan.FromMinutes(1);
    static long s_failures;
    static long s_lastReport;

    /// <summary>
    /// The start of a stage or pipeline whose clock threw as it began: durations from it are zero, never measured from
    /// the clock's origin once the clock works again. No clock returns it (it is <see cref="long.MinValue"/>).
    /// </summary>
    public const long Unknown = long.MinValue;

    /// <summary>How many clock reads failed since the process started.</summary>
    internal static long Failures => Interlocked.Read(ref s_failures);

    /// <summary>The clock's timestamp, or <paramref name="fallback"/> when it throws.</summary>
    public static long Timestamp(TimeProvider clock, long fallback)
    {
        try
        {
            return clock.GetTimestamp();
        }
        catch (Exception ex)
        {
            Report(ex);
            return fallback;
        }
    }

    /// <summary>The clock's time, or the system's when it throws.</summary>
    public static DateTimeOffset UtcNow(TimeProvider clock)
    {
        try
        {
            return clock.GetUtcNow();
        }
        catch (Exception ex)
        {
            Report(ex);
            return DateTimeOffset.UtcNow;
        }
    }

    /// <summary>
    /// The time between two timestamps of the clock; zero when either is <see cref="Unknown"/>, when its frequency
    /// cannot be read, or when the clock went backwards (a timestamp derived from an adjustable wall clock): a duration
    /// is never negative.
    /// </summary>
    public static TimeSpan Elapsed(TimeProvider clock, long start, long end)
    {
        if (start == Unknown || end == Unknown) return TimeSpan.Zero;
        try
        {
            var elapsed = clock.GetElapsedTime(start, end);
            return elapsed > TimeSpan.Zero ? elapsed : TimeSpan.Zero;
        }
        catch (Exception ex)
        {
            Report(ex);
            return TimeSpan.Zero;
        }
    }

    static void Report(Exception exception)
    {
        var failures = Interlocked.Increment(ref s_failures);
        var now = Stopwatch.GetTimestamp();
        var last = Volatile.Read(ref s_lastReport);
        if (last != 0 && Stopwatch.GetElapsedTime(last, now) < ReportInterval) return;
        if (Interlocked.CompareExchange(ref s_lastReport, now, last) != last) return;
        SafeSelfLog.WriteLine("Serilog.Extensions.Observability.Timing: the pipeline's TimeProvider threw ({0} failure(s) so far); the time read then is lost and the stage or pipeline goes on: {1}", failures, exception);
    }
}
