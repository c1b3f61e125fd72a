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
    public static DateTimeOffset ToUtc(DateTime wallClock, TimeZoneInfo zone)
    {
        if (wallClock == DateTime.MaxValue) return DateTimeOffset.MaxValue;
        if (wallClock == DateTime.MinValue) return DateTimeOffset.MinValue;
        var unspecified = DateTime.SpecifyKind(wallClock, DateTimeKind.Unspecified);
        for (var shift = 0; shift < 4 && zone.IsInvalidTime(unspecified); shift++)
            unspecified = unspecified.AddMinutes(30);
        TimeSpan offset;
        if (zone.IsAmbiguousTime(unspecified))
        {
            var offsets = zone.GetAmbiguousTimeOffsets(unspecified);
            offset = offsets[0] > offsets[^1] ? offsets[0] : offsets[^1];
        }
        else
        {
            offset = zone.GetUtcOffset(unspecified);
        }
        var ticks = unspecified.Ticks - offset.Ticks;
        if (ticks < DateTime.MinValue.Ticks) return DateTimeOffset.MinValue;
        if (ticks > DateTime.MaxValue.Ticks) return DateTimeOffset.MaxValue;
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }
}
