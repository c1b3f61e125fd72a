namespace Serilog.Extensions.Observability.Sinks.RollingJson;

/// <summary>How often the rolling JSON sink starts a new file, whatever its size.</summary>
public enum RollingJsonInterval
{
    /// <summary>Never roll by time; the file name carries no date (files still roll by size).</summary>
    Infinite,

    /// <summary>Roll every calendar year; the file name carries <c>yyyy</c>.</summary>
    Year,

    /// <summary>Roll every calendar month; the file name carries <c>yyyyMM</c>.</summary>
    Month,

    /// <summary>Roll every day at midnight; the file name carries <c>yyyyMMdd</c>.</summary>
    Day,

    /// <summary>Roll every hour; the file name carries <c>yyyyMMddHH</c>.</summary>
    Hour,

    /// <summary>Roll every minute; the file name carries <c>yyyyMMddHHmm</c>.</summary>
    Minute,
}
