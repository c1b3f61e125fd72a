using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Files;

public class HousekeeperTests
{
    static long Seq(string line) => LogFiles.Property(LogFiles.Parse(line), "Seq").GetInt64();

    /// <summary>Logs one event per hour for <paramref name="hours"/> hours, starting at 00:30 UTC.</summary>
    static (string[] Names, RollingJson.Writing.RollingJsonSink Sink) RollHourly(TempFolder folder, int hours, Action<RollingJsonOptions> configure)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 0, 30, 0, TimeSpan.Zero));
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.RollOnUtc = true;
            configure(o);
        });
        for (var hour = 0; hour < hours; hour++)
        {
            if (hour > 0) time.Advance(TimeSpan.FromHours(1));
            EmitAndWait(sink, Event(hour, text: new string('x', 200)));
        }
        sink.Dispose(); // waits for housekeeping
        return (LogFiles.Names(folder.Path), sink);
    }

    [Test]
    public void RetentionByCountKeepsTheNewestFilesIncludingTheCurrentOne()
    {
        using var folder = TempFolder.ForCaller();
        var (names, _) = RollHourly(folder, 6, o => o.RetainedFileCountLimit = 3);
        Assert.That(names, Is.EqualTo(new[] { "app-2026112203.json", "app-2026112204.json", "app-2026112205.json" }));
    }

    [Test]
    public void RetentionByAgeDeletesFilesWhosePeriodEndedLongerAgo()
    {
        using var folder = TempFolder.ForCaller();
        // The last roll happens at 05:30: hours whose end is more than 2 h before (01:00, 02:00, 03:00) go.
        var (names, _) = RollHourly(folder, 6, o => o.RetainedFileTimeLimit = TimeSpan.FromHours(2));
        Assert.That(names, Is.EqualTo(new[] { "app-2026112203.json", "app-2026112204.json", "app-2026112205.json" }));
    }

    [Test]
    public void RetentionByTotalBytesDeletesTheOldestFirst()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var sink = Create(path, o =>
        {
            o.FileSizeLimitBytes = 1_000;
            o.RetainedTotalBytesLimit = 3_500;
        });
        for (var i = 0; i < 30; i++) EmitAndWait(sink, Event(i, text: new string('x', 300)));
        sink.Dispose();

        var names = LogFiles.Names(folder.Path);
        var total = names.Sum(n => new FileInfo(Path.Combine(folder.Path, n)).Length);
        var lineLength = new FileInfo(Path.Combine(folder.Path, names[^1])).Length / LogFiles.Lines(Path.Combine(folder.Path, names[^1])).Count;
        // Within the limit, give or take the one event that crossed the current file's size limit.
        Assert.That(total, Is.LessThanOrEqualTo(3_500 + lineLength));
        Assert.That(names, Is.EqualTo(new[] { "app-_007.json", "app-_008.json", "app-_009.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(Enumerable.Range(21, 9).Select(i => (long)i)));
    }

    [Test]
    public void AFileTheWriterMovesToDuringAScanIsNeverDeleted()
    {
        using var folder = TempFolder.ForCaller();
        var naming = RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        var live = naming.DatedPath(DateTime.MinValue, 2);
        File.WriteAllText(rolled, "{\"Seq\":1}\n");
        File.WriteAllText(live, "{\"Seq\":2}\n");
        // The pass starts while the writer is still on _001; by the time it has scanned, the writer writes to _002.
        var reads = 0;
        var housekeeper = new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { RetainedFileCountLimit = 1 }, TimeZoneInfo.Utc,
            () => Interlocked.Increment(ref reads) == 1 ? rolled : live);
        housekeeper.RunOnce();
        Assert.That(File.Exists(live), Is.True, "The file the writer writes to was deleted.");

        // The run its opening scheduled applies retention with the right current file.
        housekeeper.RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_002.json" }));
    }

    [Test]
    public void RolledFilesAreCompressedAndDecompressToTheirLines()
    {
        using var folder = TempFolder.ForCaller();
        var (names, _) = RollHourly(folder, 4, o => o.CompressRolledFiles = true);
        Assert.That(names, Is.EqualTo(new[] { "app-2026112200.json.gz", "app-2026112201.json.gz", "app-2026112202.json.gz", "app-2026112203.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void CompressedFilesCountForRetention()
    {
        using var folder = TempFolder.ForCaller();
        var (names, _) = RollHourly(folder, 5, o => { o.CompressRolledFiles = true; o.RetainedFileCountLimit = 2; });
        Assert.That(names, Is.EqualTo(new[] { "app-2026112203.json.gz", "app-2026112204.json" }));
    }

    [Test]
    public void SizeRolledFilesAreCompressedInTheSamePeriod()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var sink = Create(path, o => { o.FileSizeLimitBytes = 1_000; o.CompressRolledFiles = true; });
        for (var i = 0; i < 7; i++) EmitAndWait(sink, Event(i, text: new string('x', 300)));
        sink.Dispose();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json.gz", "app-_001.json.gz", "app-_002.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(Enumerable.Range(0, 7).Select(i => (long)i)));
    }

    [Test]
    public void WithAFixedNameRetentionByCountKeepsTheNewestRolledFiles()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        // Three 300-byte events cross 1,000 bytes: every third event rolls, and retention deletes the oldest rolled
        // file, so a rolled name that reused a freed sequence would sort as the oldest and be deleted at once.
        var sink = Create(path, o => { o.FixedCurrentFileName = true; o.FileSizeLimitBytes = 1_000; o.RetainedFileCountLimit = 3; });
        for (var i = 0; i < 30; i++) EmitAndWait(sink, Event(i, text: new string('x', 300)));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_007.json", "app-_008.json", "app.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(Enumerable.Range(21, 9).Select(i => (long)i)));
    }

    [Test]
    public void WithAFixedNameTheRolledFilesAreCompressedAndTheCurrentOneKept()
    {
        using var folder = TempFolder.ForCaller();
        var (names, _) = RollHourly(folder, 3, o => { o.CompressRolledFiles = true; o.FixedCurrentFileName = true; o.RetainedFileCountLimit = 2; });
        Assert.That(names, Is.EqualTo(new[] { "app-2026112201.json.gz", "app.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void CompressingAFileLateDoesNotMakeItsContentYoungerForRetentionByAge()
    {
        // Without a date in the names, a file's age is its last write time. A rolled file compressed long after its last
        // line (the disk was full at the roll, or the process stopped before housekeeping ran) keeps that age.
        using var folder = TempFolder.ForCaller();
        var naming = RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);
        var old = naming.DatedPath(DateTime.MinValue, 1);
        var recent = naming.DatedPath(DateTime.MinValue, 2);
        var current = naming.DatedPath(DateTime.MinValue, 3);
        File.WriteAllText(old, "{\"Seq\":1}\n");
        File.WriteAllText(recent, "{\"Seq\":2}\n");
        File.WriteAllText(current, "{\"Seq\":3}\n");
        var now = DateTime.UtcNow;
        File.SetLastWriteTimeUtc(old, now - TimeSpan.FromDays(10));
        var recentWrite = now - TimeSpan.FromHours(5);
        File.SetLastWriteTimeUtc(recent, recentWrite);

        var options = new RollingJsonOptions { CompressRolledFiles = true, RetainedFileCountLimit = null, RetainedFileTimeLimit = TimeSpan.FromDays(2) };
        var housekeeper = new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current);
        housekeeper.RunOnce();
        housekeeper.RunOnce(); // the next roll's pass

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_002.json.gz", "app-_003.json" }), "the 10-day-old content is past the 2-day limit");
        Assert.That(File.GetLastWriteTimeUtc(RollingJson.Files.FileNaming.CompressedPath(recent)), Is.EqualTo(recentWrite).Within(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public void AFileLeftBothPlainAndCompressedCountsOnceForRetention()
    {
        // A crash between giving the .gz its name and deleting the plain file leaves both; the next pass compresses the
        // plain one again. That is one file: counting it twice deleted a file retention should keep.
        using var folder = TempFolder.ForCaller();
        var naming = RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);
        var first = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllText(first, "{\"Seq\":1}\n");
        using (var plain = File.OpenRead(first))
        using (var compressed = File.Create(RollingJson.Files.FileNaming.CompressedPath(first)))
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest))
            plain.CopyTo(gzip);
        File.WriteAllText(naming.DatedPath(DateTime.MinValue, 2), "{\"Seq\":2}\n");
        var current = naming.DatedPath(DateTime.MinValue, 3);
        File.WriteAllText(current, "{\"Seq\":3}\n");

        var options = new RollingJsonOptions { CompressRolledFiles = true, RetainedFileCountLimit = 3 };
        new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current).RunOnce();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json.gz", "app-_002.json.gz", "app-_003.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 1, 2, 3 }));
    }

    [Test]
    public void ARolledFileThatCannotBeDeletedAfterCompressionCountsOnceForRetention()
    {
        // An immutable file (chattr +i; root ignores permissions) is compressed, but its plain copy cannot be deleted:
        // the pair is one file for retention, pass after pass.
        if (!OperatingSystem.IsLinux()) Assert.Ignore("chattr needs Linux.");
        using var folder = TempFolder.ForCaller();
        var naming = RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);
        for (var i = 0; i < 4; i++) File.WriteAllText(naming.DatedPath(DateTime.MinValue, i), $"{{\"Seq\":{i}}}\n");
        var stuck = naming.DatedPath(DateTime.MinValue, 1);
        var current = naming.DatedPath(DateTime.MinValue, 3);
        Chattr("+i", stuck);
        try
        {
            var options = new RollingJsonOptions { CompressRolledFiles = true, RetainedFileCountLimit = 4 };
            var housekeeper = new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current);
            housekeeper.RunOnce();
            housekeeper.RunOnce(); // the next roll's pass

            Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json.gz", "app-_001.json", "app-_001.json.gz", "app-_002.json.gz", "app-_003.json" }));
        }
        finally
        {
            Chattr("-i", stuck);
        }
    }

    static void Chattr(string flag, string path)
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("chattr", $"{flag} \"{path}\"") { RedirectStandardError = true, UseShellExecute = false })!;
            var error = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(30_000) || process.ExitCode != 0)
                Assert.Ignore($"This test needs chattr {flag} (root on a filesystem that supports it): {error}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Ignore("chattr is not available: " + ex.Message);
        }
    }

    [Test]
    public void AnEmptyRolledFileIsCompressedToAValidGzipFile()
    {
        // An empty rolled file: a fixed current file emptied by copytruncate before its time roll, or a file opened at a
        // roll whose writes then failed. .NET's GZipStream writes nothing at all for no input, and a zero-byte .gz is
        // not a gzip file (gzip -t, zcat and shippers that read .gz reject it).
        using var folder = TempFolder.ForCaller();
        var naming = RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);
        var empty = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllBytes(empty, Array.Empty<byte>());
        var current = naming.DatedPath(DateTime.MinValue, 2);
        File.WriteAllText(current, "{\"Seq\":2}\n");

        new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { CompressRolledFiles = true }, TimeZoneInfo.Utc, () => current).RunOnce();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json.gz", "app-_002.json" }));
        var bytes = File.ReadAllBytes(RollingJson.Files.FileNaming.CompressedPath(empty));
        // A gzip member: the magic number, deflate, and after the data an 8-byte trailer (CRC-32 and size, both zero).
        Assert.That(bytes.Length, Is.GreaterThanOrEqualTo(18), "Not a gzip file: " + Convert.ToHexString(bytes));
        Assert.That(bytes[..3], Is.EqualTo(new byte[] { 0x1f, 0x8b, 8 }));
        Assert.That(bytes[^8..], Is.EqualTo(new byte[8]));
        Assert.That(LogFiles.ReadBytes(RollingJson.Files.FileNaming.CompressedPath(empty)), Is.Empty);
    }

    [Test]
    public void RetentionByAgeCountsAMinuteOfTheRepeatedDstHourFromItsLastOccurrence()
    {
        using var folder = TempFolder.ForCaller();
        // 01:10 UTC is 02:10 CET, the second pass of the hour Europe/Berlin repeats when summer time ends (its first
        // pass, 02:10 CEST, was an hour earlier): a sink started now writes 02:10 content that is minutes old, not an hour.
        var zone = Zones.Find("Europe/Berlin");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 10, 25, 1, 10, 0, TimeSpan.Zero), zone);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Minute;
            o.RetainedFileTimeLimit = TimeSpan.FromMinutes(30);
        });
        EmitAndWait(sink, Event(1));
        time.Advance(TimeSpan.FromMinutes(1)); // 02:11 CET: the 02:10 file rolls, its content one minute old
        EmitAndWait(sink, Event(2));
        sink.Dispose(); // waits for housekeeping

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-202610250210.json", "app-202610250211.json" }));
    }
}
