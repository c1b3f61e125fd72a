namespace Serilog.Extensions.Observability.Sinks.RollingJson.Files;

/// <summary>Converts between instants and wall-clock times in the rolling time zone (UTC or local).</summary>
internal static class PeriodClock
{
    public static DateTime ToWallClock(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).DateTime;

    /// <summary>
    /// The instant a wall-clock time occurs in <paramref name="zone"/>. A time skipped by a daylight-saving jump is
    /// moved forward past the gap; an ambiguous one takes its first occurrence.
    /// </summary>
    public static DateTimeOffset ToUtc(DateTime wallClock, TimeZoneInfo zone) => ToUtc(wallClock, zone, DateTimeOffset.MinValue);

    /// <summary>
    /// As <see cref="ToUtc(DateTime, TimeZoneInfo)"/>, but an ambiguous time (the hour that repeats when daylight-saving
    /// time ends) takes its first occurrence after <paramref name="after"/>, or its last when none is.
    /// </summary>
    public static DateTimeOffset ToUtc(DateTime wallClock, TimeZoneInfo zone, DateTimeOffset after)
    {
        if (wallClock == DateTime.MaxValue) return DateTimeOffset.MaxValue;
        if (wallClock == DateTime.MinValue) return DateTimeOffset.MinValue;
        var unspecified = DateTime.SpecifyKind(wallClock, DateTimeKind.Unspecified);
        for (var shift = 0; shift < 4 && zone.IsInvalidTime(unspecified); shift++)
            unspecified = unspecified.AddMinutes(30);
        if (!zone.IsAmbiguousTime(unspecified))
            return Instant(unspecified, zone.GetUtcOffset(unspecified));
        // The larger offset is the earlier occurrence.
        DateTimeOffset? first = null;
        var last = DateTimeOffset.MinValue;
        foreach (var offset in zone.GetAmbiguousTimeOffsets(unspecified))
        {
            var instant = Instant(unspecified, offset);
            if (instant > after && (first is null || instant < first)) first = instant;
            if (instant > last) last = instant;
        }
        return first ?? last;
    }

    static DateTimeOffset Instant(DateTime wallClock, TimeSpan offset)
    {
        var ticks = wallClock.Ticks - offset.Ticks;
        if (ticks < DateTime.MinValue.Ticks) return DateTimeOffset.MinValue;
        if (ticks > DateTime.MaxValue.Ticks) return DateTimeOffset.MaxValue;
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }
}
