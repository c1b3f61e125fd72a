namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>
/// A manually advanced <see cref="TimeProvider"/> (Microsoft.Extensions.TimeProvider.Testing is not
/// served here). Wall clock and timestamp advance together, so elapsed times are exact.
/// Timers are not supported: code under test that needs them takes a real provider.
/// </summary>
sealed class FakeTimeProvider : TimeProvider
{
    readonly object _sync = new();
    DateTimeOffset _now;
    long _timestamp;
    readonly TimeZoneInfo _localTimeZone;

    public FakeTimeProvider(DateTimeOffset? start = null, TimeZoneInfo? localTimeZone = null)
    {
        _now = start ?? new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
        _localTimeZone = localTimeZone ?? TimeZoneInfo.Utc;
    }

    public override TimeZoneInfo LocalTimeZone => _localTimeZone;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_sync) return _now;
    }

    public override long GetTimestamp()
    {
        lock (_sync) return _timestamp;
    }

    public void Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(by), "Time only moves forward.");
        lock (_sync)
        {
            _now += by;
            _timestamp += by.Ticks;
        }
    }

    /// <summary>
    /// Steps the wall clock alone, either way, as NTP or an operator does: <see cref="GetTimestamp"/> (the monotonic
    /// clock) does not move.
    /// </summary>
    public void StepWallClock(TimeSpan by)
    {
        lock (_sync) _now += by;
    }

    public void SetUtcNow(DateTimeOffset value)
    {
        lock (_sync)
        {
            if (value < _now) throw new ArgumentOutOfRangeException(nameof(value), "Time only moves forward.");
            _timestamp += (value - _now).Ticks;
            _now = value;
        }
    }
}
