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
        // Each file ends at 1,212 B (its third event crosses the limit). Whether _007 stays depends on when the last pass
        // ran, on the housekeeping thread at the lowest priority: while _009 was below its size limit, the pass left it
        // room up to the limit (1,000 B) and _007 fit; once _009 had crossed it, _007 no longer does. Either way the
        // oldest go first and no newer file is missing.
        Assert.That(names, Is.EqualTo(new[] { "app-_007.json", "app-_008.json", "app-_009.json" }).Or.EqualTo(new[] { "app-_008.json", "app-_009.json" }));
        var first = names.Count() == 3 ? 21 : 24;
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(Enumerable.Range(first, 30 - first).Select(i => (long)i)));
    }

    /// <summary>Rolled files <c>app-_001.json</c> to <c>app-_{count}.json</c> of one line each, and a current file after them.</summary>
    static (RollingJson.Files.FileNaming Naming, string Current) RolledFiles(TempFolder folder, int count)
    {
        var naming = RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);
        for (var i = 1; i <= count + 1; i++) File.WriteAllText(naming.DatedPath(DateTime.MinValue, i), $"{{\"Seq\":{i}}}\n");
        return (naming, naming.DatedPath(DateTime.MinValue, count + 1));
    }

    [Test]
    public void AFileSizeLimitNearLongMaxValueDoesNotTurnOffRetentionByTotalBytes()
    {
        // The current file is given room up to its size limit; added to the rolled files' bytes, a limit near
        // long.MaxValue wrapped around to a negative total, and no rolled file was ever deleted.
        using var folder = TempFolder.ForCaller();
        var (naming, current) = RolledFiles(folder, 3);
        var options = new RollingJsonOptions { FileSizeLimitBytes = long.MaxValue, RetainedFileCountLimit = null, RetainedTotalBytesLimit = 1_000_000 };
        new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current).RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_004.json" }), "the current file's room is over the total limit");
    }

    [TestCase(RollingJsonInterval.Year, "app-9999.json")]
    [TestCase(RollingJsonInterval.Month, "app-999912.json")]
    [TestCase(RollingJsonInterval.Day, "app-99991231.json")]
    [TestCase(RollingJsonInterval.Hour, "app-9999123123_001.json")]
    [NonParallelizable] // SelfLog
    public void AFileDatedInTheLastPeriodOfTheCalendarDoesNotStopRetentionByAge(RollingJsonInterval interval, string lastPeriod)
    {
        // Its period has no end the calendar can hold: working it out threw, every pass failed, and no file was ever
        // deleted again.
        using var folder = TempFolder.ForCaller();
        var naming = RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), interval, fixedCurrentFileName: false);
        var now = new DateTimeOffset(2026, 11, 22, 12, 30, 0, TimeSpan.Zero);
        var old = naming.DatedPath(naming.PeriodStart(now.DateTime.AddYears(-2)), 0);
        var current = naming.DatedPath(naming.PeriodStart(now.DateTime), 0);
        foreach (var file in new[] { old, current, Path.Combine(folder.Path, lastPeriod) }) File.WriteAllText(file, "{}\n");
        var options = new RollingJsonOptions { RetainedFileCountLimit = null, RetainedFileTimeLimit = TimeSpan.FromDays(400), TimeProvider = new FakeTimeProvider(now) };
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
            new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current).RunOnce();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { Path.GetFileName(current), lastPeriod }));
        Assert.That(selfLog, Is.Empty);
    }

    [TestCase("count")]
    [TestCase("age")]
    [TestCase("bytes")]
    public void FilesRetentionDeletesAreNeverCompressedFirst(string limit)
    {
        // Compression turned on (or a limit lowered) for a directory of months of rolled files: compressing all of them,
        // then deleting all but a few, read and fsynced gigabytes for nothing.
        using var folder = TempFolder.ForCaller();
        var (naming, current) = RolledFiles(folder, 40);
        var now = DateTime.UtcNow;
        for (var i = 1; i <= 41; i++) File.SetLastWriteTimeUtc(naming.DatedPath(DateTime.MinValue, i), now - TimeSpan.FromHours(41 - i));
        var options = new RollingJsonOptions { CompressRolledFiles = true, RetainedFileCountLimit = null };
        if (limit == "count") options.RetainedFileCountLimit = 3;
        else if (limit == "age") options.RetainedFileTimeLimit = TimeSpan.FromHours(2.5);
        else
        {
            // A total below the size limit: the room left for the current file already takes all of it.
            options.FileSizeLimitBytes = 1_000;
            options.RetainedTotalBytesLimit = 500;
        }
        var housekeeper = new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current);
        var flushFile = housekeeper.FlushFileToDisk;
        var compressions = 0;
        housekeeper.FlushFileToDisk = file =>
        {
            compressions++;
            flushFile(file);
        };
        housekeeper.RunOnce();

        if (limit == "bytes")
        {
            Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_041.json" }));
            Assert.That(compressions, Is.EqualTo(0));
            return;
        }
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_039.json.gz", "app-_040.json.gz", "app-_041.json" }));
        Assert.That(compressions, Is.EqualTo(2));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 39, 40, 41 }));
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

    static RollingJson.Files.FileNaming InfiniteNaming(TempFolder folder) =>
        RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);

    static string Lines(params int[] seqs) => string.Concat(seqs.Select(i => $"{{\"Seq\":{i}}}\n"));

    static byte[] Gzip(string text)
    {
        using var memory = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(memory, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(System.Text.Encoding.UTF8.GetBytes(text));
        return memory.ToArray();
    }

    /// <summary>Rolled files _000 to _002 (one line each) and the current _003, which the returned housekeeper knows.</summary>
    static (RollingJson.Files.FileNaming Naming, string Current) FourFiles(TempFolder folder)
    {
        var naming = InfiniteNaming(folder);
        for (var i = 0; i < 4; i++) File.WriteAllText(naming.DatedPath(DateTime.MinValue, i), Lines(i));
        return (naming, naming.DatedPath(DateTime.MinValue, 3));
    }

    /// <summary>The nice value of the calling thread (field 19 of /proc/thread-self/stat, after the command's parentheses).</summary>
    static int NiceOfThisThread()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public void ThePassCompressesAtTheLowestPriorityAndLeavesTheCallersThreadAlone()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Reads the thread's nice value from /proc.");
        using var folder = TempFolder.ForCaller();
        var naming = InfiniteNaming(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllText(rolled, Lines(1, 2, 3));
        var current = naming.DatedPath(DateTime.MinValue, 2);
        File.WriteAllText(current, Lines(4));
        var housekeeper = new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { CompressRolledFiles = true }, TimeZoneInfo.Utc, () => current);
        var flushFile = housekeeper.FlushFileToDisk;
        int? niceWhileCompressing = null;
        housekeeper.FlushFileToDisk = file =>
        {
            niceWhileCompressing = NiceOfThisThread();
            flushFile(file);
        };
        var callersNice = NiceOfThisThread();

        housekeeper.Schedule();
        Assert.That(housekeeper.WaitIdle(TimeSpan.FromSeconds(30)), Is.True);

        Assert.That(niceWhileCompressing, Is.EqualTo(RollingJson.Files.BackgroundPriority.LinuxNice), "gzip ran at the lowest priority");
        Assert.That(NiceOfThisThread(), Is.EqualTo(callersNice), "only the housekeeping thread was lowered");
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json.gz", "app-_002.json" }));
    }

    [Test]
    public void ACompressedFileAndItsNameReachTheDiskBeforeTheRolledFileIsDeleted()
    {
        // No test can cut the power. The housekeeper's flushes to disk go through seams, wrapped here around the real
        // calls, that record what the disk held at each: the .gz whole and with its time when its data is flushed, then
        // its name when the directory is, and the rolled file still there at both, deleted only after.
        using var folder = TempFolder.ForCaller();
        var naming = InfiniteNaming(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllText(rolled, Lines(Enumerable.Range(0, 500).ToArray()));
        var lastWrite = DateTime.UtcNow - TimeSpan.FromHours(3);
        File.SetLastWriteTimeUtc(rolled, lastWrite);
        var current = naming.DatedPath(DateTime.MinValue, 2);
        File.WriteAllText(current, Lines(500));
        var compressed = RollingJson.Files.FileNaming.CompressedPath(rolled);

        var housekeeper = new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { CompressRolledFiles = true }, TimeZoneInfo.Utc, () => current);
        var flushFile = housekeeper.FlushFileToDisk;
        var flushDirectory = housekeeper.FlushDirectoryToDisk;
        var steps = new List<string>();
        long flushedLength = -1;
        var flushedTime = DateTime.MinValue;
        housekeeper.FlushFileToDisk = file =>
        {
            flushFile(file);
            flushedLength = file.Length;
            flushedTime = File.GetLastWriteTimeUtc(file.SafeFileHandle);
            steps.Add($"file {Path.GetFileName(file.Name)}; rolled file there: {File.Exists(rolled)}");
        };
        housekeeper.FlushDirectoryToDisk = directory =>
        {
            flushDirectory(directory);
            steps.Add($"directory {Path.GetFileName(directory)}; .gz there: {File.Exists(compressed)}; rolled file there: {File.Exists(rolled)}");
        };
        housekeeper.RunOnce();

        Assert.That(steps, Is.EqualTo(new[]
        {
            "file app-_001.json.gz.tmp; rolled file there: True",
            $"directory {Path.GetFileName(folder.Path)}; .gz there: True; rolled file there: True",
        }));
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json.gz", "app-_002.json" }));
        Assert.That(flushedLength, Is.EqualTo(new FileInfo(compressed).Length), "the .gz was flushed whole");
        Assert.That(flushedTime, Is.EqualTo(lastWrite).Within(TimeSpan.FromSeconds(1)), "the .gz was flushed with its time");
        Assert.That(LogFiles.Lines(compressed).Select(Seq), Is.EqualTo(Enumerable.Range(0, 500).Select(i => (long)i)));
    }

    [Test]
    public void ARolledFileIsKeptWhileItsCompressedFileCannotBeFlushedToDisk()
    {
        using var folder = TempFolder.ForCaller();
        var naming = InfiniteNaming(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllText(rolled, Lines(1));
        var current = naming.DatedPath(DateTime.MinValue, 2);
        File.WriteAllText(current, Lines(2));
        var housekeeper = new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { CompressRolledFiles = true }, TimeZoneInfo.Utc, () => current);
        var flushFile = housekeeper.FlushFileToDisk;
        var flushDirectory = housekeeper.FlushDirectoryToDisk;

        // The device reports an error on the .gz's flush (EIO): it may not be there, so neither is it named, and the
        // rolled file stays.
        housekeeper.FlushFileToDisk = _ => throw new IOException("Flush failed, on purpose.");
        housekeeper.RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json", "app-_002.json" }));

        // On the directory's flush: the .gz has its name, which may not survive a power loss, so the rolled file stays.
        housekeeper.FlushFileToDisk = flushFile;
        housekeeper.FlushDirectoryToDisk = _ => throw new IOException("Flush failed, on purpose.");
        housekeeper.RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json", "app-_001.json.gz", "app-_002.json" }));

        // Once flushes work, the next pass finds both copies, flushes the .gz and deletes the plain one.
        housekeeper.FlushDirectoryToDisk = flushDirectory;
        housekeeper.RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json.gz", "app-_002.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 1, 2 }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ATemporaryFileLeftByACrashDuringCompressionIsRemovedAndNothingElse(bool compress)
    {
        using var folder = TempFolder.ForCaller();
        var (naming, current) = FourFiles(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        var leftover = rolled + ".gz.tmp";
        var gzip = Gzip(Lines(1));
        File.WriteAllBytes(leftover, gzip[..(gzip.Length / 2)]);
        // Not this sink's: another stem, no .gz, no date where one must be, other endings.
        string[] others = { "app-_001.json.tmp", "other-_001.json.gz.tmp", "app-notes.json.gz.tmp", "app-_001.json.gz.tmp.bak", "app-_001.txt.gz.tmp" };
        foreach (var other in others) File.WriteAllText(Path.Combine(folder.Path, other), "not the sink's");

        var options = new RollingJsonOptions { CompressRolledFiles = compress, RetainedFileCountLimit = null };
        new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current).RunOnce();

        var suffix = compress ? ".json.gz" : ".json";
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(others.Concat(new[] { "app-" + suffix, "app-_001" + suffix, "app-_002" + suffix, "app-_003.json" }).OrderBy(n => n, StringComparer.Ordinal)));
        foreach (var other in others) Assert.That(File.ReadAllText(Path.Combine(folder.Path, other)), Is.EqualTo("not the sink's"));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-_001" + suffix)).Select(Seq), Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public void ATemporaryFileLeftByACrashIsRemovedAtTheNextStartWhateverTheOptions()
    {
        // Without compression or retention a sink had no housekeeping at all: a leftover of a run that compressed stayed.
        using var folder = TempFolder.ForCaller();
        var naming = InfiniteNaming(folder);
        File.WriteAllText(naming.DatedPath(DateTime.MinValue, 0), Lines(0));
        File.WriteAllBytes(naming.DatedPath(DateTime.MinValue, 0) + ".gz.tmp", Gzip(Lines(0))[..10]);
        File.WriteAllText(naming.DatedPath(DateTime.MinValue, 1), Lines(1));

        var sink = Create(Path.Combine(folder.Path, "app-.json"), o => o.RetainedFileCountLimit = null);
        EmitAndWait(sink, Event(2));
        sink.Dispose(); // waits for housekeeping

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json", "app-_001.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 0, 1, 2 }));
    }

    [Test]
    public void ATemporaryFileACompressionIsWritingIsLeftAlone()
    {
        // A compression under way (another process's housekeeping, one shutting down as this one starts) holds its
        // .gz.tmp with no sharing; a lock on Unix. It is not a leftover, and a compression here must not take it either.
        using var folder = TempFolder.ForCaller();
        var (naming, current) = FourFiles(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        var temporary = rolled + ".gz.tmp";
        var options = new RollingJsonOptions { CompressRolledFiles = true, RetainedFileCountLimit = null };
        var housekeeper = new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current);
        using (var writing = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            writing.Write(new byte[] { 0x1f, 0x8b, 8 });
            writing.Flush();
            housekeeper.RunOnce();
            Assert.That(File.Exists(temporary), Is.True, "The file being written was removed.");
            Assert.That(new FileInfo(temporary).Length, Is.EqualTo(3), "The file being written was changed.");
            Assert.That(File.Exists(rolled), Is.True);
        }

        housekeeper.RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json.gz", "app-_001.json.gz", "app-_002.json.gz", "app-_003.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AFileLeftBothPlainAndWhollyCompressedKeepsItsCompressedCopyAndCountsOnce(bool compress)
    {
        // A crash after the .gz got its name and before the plain file was deleted. The complete .gz holds every line of
        // the plain file, which is the duplicate, whether or not this run compresses; the pair is one file for retention.
        using var folder = TempFolder.ForCaller();
        var (naming, current) = FourFiles(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllBytes(RollingJson.Files.FileNaming.CompressedPath(rolled), Gzip(Lines(1)));

        var options = new RollingJsonOptions { CompressRolledFiles = compress, RetainedFileCountLimit = 4 };
        new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current).RunOnce();

        var suffix = compress ? ".json.gz" : ".json";
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-" + suffix, "app-_001.json.gz", "app-_002" + suffix, "app-_003.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
    }

    [TestCase(false, "half")]
    [TestCase(true, "half")]
    [TestCase(false, "trailer")]
    [TestCase(true, "trailer")]
    public void AFileLeftPlainBesideACutCompressedCopyKeepsThePlainOneAndCountsOnce(bool compress, string cut)
    {
        // A .gz cut short (a power loss before it reached the disk, under a version that did not flush it): the plain
        // file holds every line, so the .gz goes, even when only its trailer is missing (which GZipStream reads past
        // quietly, but gzip -t and shippers reject), and the plain file is compressed again when compression is on.
        using var folder = TempFolder.ForCaller();
        var (naming, current) = FourFiles(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        var content = Lines(Enumerable.Range(100, 200).ToArray());
        File.WriteAllText(rolled, content);
        var gzip = Gzip(content);
        File.WriteAllBytes(RollingJson.Files.FileNaming.CompressedPath(rolled), cut == "half" ? gzip[..(gzip.Length / 2)] : gzip[..^4]);

        var options = new RollingJsonOptions { CompressRolledFiles = compress, RetainedFileCountLimit = 4 };
        new RollingJson.Files.Housekeeper(naming, options, TimeZoneInfo.Utc, () => current).RunOnce();

        var suffix = compress ? ".json.gz" : ".json";
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-" + suffix, "app-_001" + suffix, "app-_002" + suffix, "app-_003.json" }));
        var whole = Path.Combine(folder.Path, "app-_001" + suffix);
        Assert.That(LogFiles.Lines(whole).Select(Seq), Is.EqualTo(Enumerable.Range(100, 200).Select(i => (long)i)));
        if (compress) Assert.That(File.ReadAllBytes(whole)[^4..], Is.EqualTo(BitConverter.GetBytes(content.Length)), "a whole gzip trailer");
    }

    [Test]
    public void AFileWhoseCompressedCopyHoldsOtherLinesKeepsBothAndCountsThemOnce()
    {
        // Neither copy holds all the other has: both stay (never recompressed over the .gz), one file for retention,
        // which deletes both when it deletes that file.
        using var folder = TempFolder.ForCaller();
        var (naming, current) = FourFiles(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllBytes(RollingJson.Files.FileNaming.CompressedPath(rolled), Gzip(Lines(99)));

        RollingJson.Files.Housekeeper Housekeeper(int count) =>
            new(naming, new RollingJsonOptions { CompressRolledFiles = true, RetainedFileCountLimit = count }, TimeZoneInfo.Utc, () => current);
        Housekeeper(4).RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json.gz", "app-_001.json", "app-_001.json.gz", "app-_002.json.gz", "app-_003.json" }));
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq), Is.EqualTo(new long[] { 0, 1, 99, 2, 3 }));

        Housekeeper(2).RunOnce();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_002.json.gz", "app-_003.json" }));
    }

    [Test]
    public void APairOfCopiesThatDifferIsReadWholeOnceNotAtEveryPass()
    {
        // Both copies stay until someone removes one; reading both whole (gigabytes, for a large file) at every roll
        // bought nothing while neither changed.
        using var folder = TempFolder.ForCaller();
        var (naming, current) = FourFiles(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        var compressed = RollingJson.Files.FileNaming.CompressedPath(rolled);
        File.WriteAllBytes(compressed, Gzip(Lines(99)));
        var housekeeper = new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { CompressRolledFiles = true, RetainedFileCountLimit = 4 }, TimeZoneInfo.Utc, () => current);
        for (var pass = 0; pass < 3; pass++) housekeeper.RunOnce();
        Assert.That(housekeeper.TwinComparisons, Is.EqualTo(1));

        // Changed (a person repaired it): compared again, and settled.
        File.WriteAllBytes(compressed, Gzip(File.ReadAllText(rolled)));
        housekeeper.RunOnce();
        Assert.That(housekeeper.TwinComparisons, Is.EqualTo(2));
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-.json.gz", "app-_001.json.gz", "app-_002.json.gz", "app-_003.json" }));
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
