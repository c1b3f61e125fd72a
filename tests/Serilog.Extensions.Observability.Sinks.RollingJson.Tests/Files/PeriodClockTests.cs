using Serilog.Extensions.Observability.Sinks.RollingJson.Files;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Files;

public class PeriodClockTests
{
    // Each wall-clock time maps to the first instant at which the zone's clock reads it or later.
    [TestCase("America/New_York", "2026-03-08T02:00:00", "2026-03-08T07:00:00Z")] // skipped hour: 03:00 EDT
    [TestCase("Australia/Lord_Howe", "2026-10-04T02:00:00", "2026-10-03T15:30:00Z")] // skipped half hour: 02:30 +11
    [TestCase("Asia/Beirut", "2026-03-29T00:00:00", "2026-03-28T22:00:00Z")] // skipped midnight: 01:00 +03:00
    [TestCase("Asia/Beirut", "2026-10-25T00:00:00", "2026-10-24T22:00:00Z")] // at midnight +03:00 goes back to 23:00 +02:00
    [TestCase("Asia/Kathmandu", "2026-11-22T00:00:00", "2026-11-21T18:15:00Z")] // +05:45
    [TestCase("Pacific/Apia", "2011-12-30T00:00:00", "2011-12-30T10:00:00Z")] // skipped day: 00:00 on the 31st, +14:00
    [TestCase("Pacific/Apia", "2011-12-30T13:00:00", "2011-12-30T10:00:00Z")]
    [TestCase("Pacific/Apia", "2011-12-31T00:00:00", "2011-12-30T10:00:00Z")]
    [TestCase("Pacific/Apia", "2011-12-31T01:00:00", "2011-12-30T11:00:00Z")]
    public void AWallClockTimeMapsToTheFirstInstantTheClockReachesIt(string zoneId, string wallClock, string expected)
    {
        var zone = Zones.Find(zoneId);
        var wall = DateTime.Parse(wallClock, System.Globalization.CultureInfo.InvariantCulture);
        var instant = PeriodClock.ToUtc(wall, zone);
        Assert.That(instant, Is.EqualTo(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(PeriodClock.ToWallClock(instant, zone), Is.GreaterThanOrEqualTo(wall));
        Assert.That(PeriodClock.ToWallClock(instant.AddTicks(-1), zone), Is.LessThan(wall));
    }
}
