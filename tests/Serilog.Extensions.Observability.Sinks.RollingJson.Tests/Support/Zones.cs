namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

/// <summary>Real time zones with daylight-saving rules, read from the machine's time zone data.</summary>
static class Zones
{
    /// <summary>The zone <paramref name="id"/>; the test is skipped, with the reason, where the data is not installed.</summary>
    public static TimeZoneInfo Find(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            Assert.Ignore($"The time zone '{id}' is not installed on this machine (tzdata): {ex.Message}");
            throw; // not reached: Assert.Ignore ends the test
        }
    }
}
