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
        var wanted = DateTime.SpecifyKind(wallClock, DateTimeKind.Unspecified);
        var unspecified = wanted;
        for (var shift = 0; shift < 4 && zone.IsInvalidTime(unspecified); shift++)
            unspecified = unspecified.AddMinutes(30);
        if (!zone.IsAmbiguousTime(unspecified))
        {
            var instant = Instant(unspecified, zone.GetUtcOffset(unspecified));
            // The runtime's rules can contradict its own conversions where a zone changed its base offset: Samoa skipped
            // 30 December 2011, yet that day's times are not all invalid and map to instants a day early. Checked
            // against the conversion the periods are computed with, else searched for.
            return Reaches(instant, wanted, zone) ? instant : FirstReaching(wanted, zone) ?? instant;
        }
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

    /// <summary>Whether <paramref name="instant"/> is the first at which the zone's clock reads <paramref name="wallClock"/> or later.</summary>
    static bool Reaches(DateTimeOffset instant, DateTime wallClock, TimeZoneInfo zone) =>
        instant == DateTimeOffset.MinValue || instant == DateTimeOffset.MaxValue
        || (ToWallClock(instant, zone) >= wallClock && ToWallClock(instant.AddTicks(-1), zone) < wallClock);

    /// <summary>
    /// The first instant at which the zone's clock reads <paramref name="wallClock"/> or later, by bisection over the
    /// instants at which it can (UTC offsets lie within a day of zero); null at the ends of the calendar.
    /// </summary>
    static DateTimeOffset? FirstReaching(DateTime wallClock, TimeZoneInfo zone)
    {
        var low = Instant(wallClock, TimeSpan.FromDays(1)); // the clock reads earlier than wallClock here
        var high = Instant(wallClock, -TimeSpan.FromDays(1)); // and later here
        if (low == DateTimeOffset.MinValue || high == DateTimeOffset.MaxValue || ToWallClock(high, zone) < wallClock)
            return null; // at the ends of the calendar: what the rules say stands
        while (high.UtcTicks - low.UtcTicks > 1)
        {
            var middle = new DateTimeOffset(low.UtcTicks + (high.UtcTicks - low.UtcTicks) / 2, TimeSpan.Zero);
            if (ToWallClock(middle, zone) >= wallClock) high = middle;
            else low = middle;
        }
        return high;
    }

    static DateTimeOffset Instant(DateTime wallClock, TimeSpan offset)
    {
        var ticks = wallClock.Ticks - offset.Ticks;
        if (ticks < DateTime.MinValue.Ticks) return DateTimeOffset.MinValue;
        if (ticks > DateTime.MaxValue.Ticks) return DateTimeOffset.MaxValue;
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }
}
