using System.Globalization;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Files;

/// <summary>
/// File names compatible with Serilog.Sinks.File: <c>{prefix}{date}{_seq}{extension}</c>, where the date has the
/// interval's precision and the sequence (<c>_001</c>, <c>_002</c>, ...) counts size rolls within one period.
/// With a fixed current file name, the current file is <c>{stem}{extension}</c> and only rolled files carry dates.
/// </summary>
internal sealed class FileNaming
{
    const string CompressedSuffix = ".gz";
    const string TemporarySuffix = ".tmp";
    const int MaxSequenceDigits = 9;

    /// <summary>
    /// The highest sequence the writer continues after. Names go up to nine digits; a file above this (planted, or from
    /// another tool) is left behind rather than continued from, so that the writer's next names always stay within the
    /// nine digits retention recognises. Reaching it takes a hundred million size rolls in one period.
    /// </summary>
    public const int MaxContinuedSequence = 99_999_999;

    FileNaming(string directory, string datedPrefix, string extension, RollingJsonInterval interval, string? fixedCurrentPath)
    {
        Directory = directory;
        DatedPrefix = datedPrefix;
        Extension = extension;
        Interval = interval;
        FixedCurrentPath = fixedCurrentPath;
        DateFormat = interval switch
        {
            RollingJsonInterval.Year => "yyyy",
            RollingJsonInterval.Month => "yyyyMM",
            RollingJsonInterval.Day => "yyyyMMdd",
            RollingJsonInterval.Hour => "yyyyMMddHH",
            RollingJsonInterval.Minute => "yyyyMMddHHmm",
            _ => "",
        };
    }

    /// <summary>The full path of the folder the files live in.</summary>
    public string Directory { get; }

    /// <summary>What every dated file name starts with (<c>app-</c>).</summary>
    public string DatedPrefix { get; }

    /// <summary>The extension, dot included (<c>.json</c>); may be empty.</summary>
    public string Extension { get; }

    public RollingJsonInterval Interval { get; }

    /// <summary>The one path of the current file when its name is fixed; otherwise <see langword="null"/>.</summary>
    public string? FixedCurrentPath { get; }

    public string DateFormat { get; }

    public static FileNaming Create(string path, RollingJsonInterval interval, bool fixedCurrentFileName)
    {
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException("The path must name a file, not a root directory.", nameof(path));
        var fileName = Path.GetFileName(fullPath);
        if (fileName.Length == 0)
            throw new ArgumentException("The path must name a file, not a directory.", nameof(path));
        var extension = Path.GetExtension(fileName);
        var stem = fileName[..^extension.Length];
        if (!fixedCurrentFileName)
            return new FileNaming(directory, stem, extension, interval, null);

        var trimmed = stem.TrimEnd('-', '_', '.');
        if (trimmed.Length == 0)
            throw new ArgumentException("With a fixed current file name, the file name needs a stem before its extension (e.g. logs/app-.json).", nameof(path));
        // Rolled files keep the separator the path ends with, or '-' when it has none, so that a rolled name can
        // never equal the fixed current name (even with the Infinite interval, whose dates are empty).
        var separator = trimmed.Length < stem.Length ? stem[trimmed.Length..] : "-";
        return new FileNaming(directory, trimmed + separator, extension, interval, Path.Combine(directory, trimmed + extension));
    }

    public string DatedPath(DateTime periodStart, int sequence) =>
        Path.Combine(Directory, DatedFileName(periodStart, sequence));

    public string DatedFileName(DateTime periodStart, int sequence)
    {
        var date = DateFormat.Length == 0 ? "" : periodStart.ToString(DateFormat, CultureInfo.InvariantCulture);
        return sequence == 0
            ? DatedPrefix + date + Extension
            : DatedPrefix + date + "_" + sequence.ToString("000", CultureInfo.InvariantCulture) + Extension;
    }

    /// <summary>The start of the period holding <paramref name="wallClock"/> (a time in the rolling time zone).</summary>
    public DateTime PeriodStart(DateTime wallClock) => Interval switch
    {
        RollingJsonInterval.Year => new DateTime(wallClock.Year, 1, 1),
        RollingJsonInterval.Month => new DateTime(wallClock.Year, wallClock.Month, 1),
        RollingJsonInterval.Day => wallClock.Date,
        RollingJsonInterval.Hour => new DateTime(wallClock.Year, wallClock.Month, wallClock.Day, wallClock.Hour, 0, 0),
        RollingJsonInterval.Minute => new DateTime(wallClock.Year, wallClock.Month, wallClock.Day, wallClock.Hour, wallClock.Minute, 0),
        _ => DateTime.MinValue,
    };

    /// <summary>
    /// The start of the period after the one starting at <paramref name="periodStart"/>; <see cref="DateTime.MaxValue"/>
    /// for Infinite and for the calendar's last period (a file dated 9999-12-31 is somebody's doing, but must not make
    /// every housekeeping pass throw).
    /// </summary>
    public DateTime NextPeriodStart(DateTime periodStart) => periodStart >= PeriodStart(DateTime.MaxValue) ? DateTime.MaxValue : Interval switch
    {
        RollingJsonInterval.Year => periodStart.AddYears(1),
        RollingJsonInterval.Month => periodStart.AddMonths(1),
        RollingJsonInterval.Day => periodStart.AddDays(1),
        RollingJsonInterval.Hour => periodStart.AddHours(1),
        RollingJsonInterval.Minute => periodStart.AddMinutes(1),
        _ => DateTime.MaxValue,
    };

    /// <summary>Recognises a dated (rolled or current) file name of this sink, compressed or not.</summary>
    public bool TryParse(string fileName, out DateTime periodStart, out int sequence, out bool compressed)
    {
        periodStart = DateTime.MinValue;
        sequence = 0;
        compressed = fileName.EndsWith(CompressedSuffix, StringComparison.Ordinal);
        var name = compressed ? fileName.AsSpan(0, fileName.Length - CompressedSuffix.Length) : fileName.AsSpan();
        if (!name.StartsWith(DatedPrefix, StringComparison.Ordinal) || !name.EndsWith(Extension, StringComparison.Ordinal))
            return false;
        var middle = name[DatedPrefix.Length..^Extension.Length];
        if (middle.Length < DateFormat.Length)
            return false;
        if (DateFormat.Length > 0 &&
            !DateTime.TryParseExact(middle[..DateFormat.Length], DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out periodStart))
            return false;
        var rest = middle[DateFormat.Length..];
        if (rest.Length == 0)
            return true;
        if (rest.Length < 4 || rest[0] != '_')
            return false;
        foreach (var c in rest[1..])
            if (c is < '0' or > '9') return false;
        // Only the sink's own spelling ("000": _007, _1000): _0007 is another tool's numbering, never compressed or deleted.
        if (rest.Length > 4 && rest[1] == '0') return false;
        // At most nine digits: a name from elsewhere with a sequence near int.MaxValue would make the writer continue
        // past it into negative numbers, names nothing recognises (never counted or deleted again); see also
        // MaxContinuedSequence.
        if (rest.Length > 1 + MaxSequenceDigits) return false;
        return int.TryParse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture, out sequence) && sequence > 0;
    }

    /// <summary>The file a compression of this sink writes before it gets its <c>.gz</c> name (<c>app-20261122.json.gz.tmp</c>).</summary>
    public bool IsTemporary(string fileName) =>
        fileName.EndsWith(CompressedSuffix + TemporarySuffix, StringComparison.Ordinal)
        && TryParse(fileName[..^TemporarySuffix.Length], out _, out _, out _);

    public static string CompressedPath(string path) => path + CompressedSuffix;

    public static string PlainPath(string compressedPath) => compressedPath[..^CompressedSuffix.Length];

    public static string TemporaryPath(string compressedPath) => compressedPath + TemporarySuffix;

    /// <summary>
    /// The names of this sink's dated files as one pattern (<c>/var/log/app-*.json</c>); a fixed current name comes from
    /// the same stem. Two sinks with the same pattern roll into, compress and delete the same files.
    /// </summary>
    public string Pattern => Path.Combine(Directory, DatedPrefix + "*" + Extension);
}
