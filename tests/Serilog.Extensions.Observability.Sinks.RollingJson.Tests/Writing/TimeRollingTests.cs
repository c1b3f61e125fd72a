using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

public class TimeRollingTests
{
    static readonly TimeZoneInfo PlusFiveThirty = TimeZoneInfo.CreateCustomTimeZone("Test+05:30", TimeSpan.FromHours(5.5), "Test+05:30", "Test+05:30");

    static long Seq(string line) => LogFiles.Property(LogFiles.Parse(line), "Seq").GetInt64();

    [Test]
    public void HourlyUtcRollingCrossesTheHourAndTheDay()
    {
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 22, 30, 0, TimeSpan.Zero), PlusFiveThirty);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.RollOnUtc = true;
        });
        EmitAndWait(sink, Event(1));
        time.Advance(TimeSpan.FromMinutes(29)); // 22:59: same hour
        EmitAndWait(sink, Event(2));
        time.Advance(TimeSpan.FromMinutes(1)); // 23:00
        EmitAndWait(sink, Event(3));
        time.Advance(TimeSpan.FromHours(1)); // 00:00 on the next day
        EmitAndWait(sink, Event(4));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-2026112222.json", "app-2026112223.json", "app-2026112300.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112222.json")).Select(Seq), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112300.json")).Select(Seq), Is.EqualTo(new long[] { 4 }));
        Assert.That(sink.Rollovers, Is.EqualTo(2));
    }

    [Test]
    public void DailyRollingFollowsLocalMidnightByDefault()
    {
        using var folder = TempFolder.ForCaller();
        // 18:00 UTC is 23:30 at +05:30; local midnight comes at 18:30 UTC, while the UTC date stays the 22nd.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 18, 0, 0, TimeSpan.Zero), PlusFiveThirty);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Day;
        });
        EmitAndWait(sink, Event(1));
        time.Advance(TimeSpan.FromMinutes(30));
        EmitAndWait(sink, Event(2));
        sink.Dispose();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-20261122.json", "app-20261123.json" }));
    }

    [Test]
    public void DailyRollingOnUtcIgnoresLocalMidnight()
    {
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 18, 0, 0, TimeSpan.Zero), PlusFiveThirty);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Day;
            o.RollOnUtc = true;
        });
        EmitAndWait(sink, Event(1));
        time.Advance(TimeSpan.FromMinutes(30)); // local midnight passes, UTC midnight does not
        EmitAndWait(sink, Event(2));
        time.Advance(TimeSpan.FromHours(5.5)); // 00:00 UTC
        EmitAndWait(sink, Event(3));
        sink.Dispose();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-20261122.json", "app-20261123.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-20261122.json")).Select(Seq), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void HourlyLocalRollingNamesFilesInLocalTime()
    {
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 18, 10, 0, TimeSpan.Zero), PlusFiveThirty);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
        });
        EmitAndWait(sink, Event(1)); // 23:40 local
        time.Advance(TimeSpan.FromMinutes(20)); // 00:00 local on the 23rd
        EmitAndWait(sink, Event(2));
        sink.Dispose();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-2026112223.json", "app-2026112300.json" }));
    }

    [TestCase(RollingJsonInterval.Year, "2026")]
    [TestCase(RollingJsonInterval.Month, "202611")]
    [TestCase(RollingJsonInterval.Minute, "202611221030")]
    public void FileNamesCarryTheIntervalsDate(RollingJsonInterval interval, string date)
    {
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero));
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o => { o.TimeProvider = time; o.RollingInterval = interval; });
        EmitAndWait(sink, Event(1));
        sink.Dispose();
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { $"app-{date}.json" }));
    }

    [Test]
    public void AFixedCurrentFileNameIsRenamedToItsDatedNameOnRoll()
    {
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 30, 0, TimeSpan.Zero));
        var payload = new string('x', 300);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.FixedCurrentFileName = true;
            o.FileSizeLimitBytes = 1_000;
        });
        for (var i = 0; i < 4; i++) EmitAndWait(sink, Event(i, text: payload)); // 3 lines cross 1,000 bytes
        time.Advance(TimeSpan.FromHours(1));
        EmitAndWait(sink, Event(4));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-2026112210.json", "app-2026112210_001.json", "app.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112210.json")).Select(Seq), Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112210_001.json")).Select(Seq), Is.EqualTo(new long[] { 3 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app.json")).Select(Seq), Is.EqualTo(new long[] { 4 }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ATimeRollOfAnEmptyFixedCurrentFileLeavesNoEmptyDatedFile(bool compress)
    {
        // logrotate's copytruncate empties the fixed current file in place; the next event comes in the next hour. An
        // empty file holds no events: renamed, it left an empty dated file (an empty .gz with compression) behind.
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 30, 0, TimeSpan.Zero));
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.FixedCurrentFileName = true;
            o.CompressRolledFiles = compress;
        });
        EmitAndWait(sink, Event(1));
        var current = Path.Combine(folder.Path, "app.json");
        File.Copy(current, Path.Combine(folder.Path, "app.json.1"));
        using (var truncate = new FileStream(current, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            truncate.SetLength(0);
        time.Advance(TimeSpan.FromHours(1));
        EmitAndWait(sink, Event(2));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app.json", "app.json.1" }));
        Assert.That(LogFiles.Lines(current).Select(Seq), Is.EqualTo(new long[] { 2 }));
        Assert.That(sink.Rollovers, Is.EqualTo(0), "no file rolled");
    }

    // The local hour repeats at the end of daylight-saving time: in its second pass, each minute still starts when the
    // wall clock reaches it, not a minute after the writer happened to enter the previous one.
    [TestCase("Europe/Berlin", 2026, 10, 25, 1, "2026102502")] // 03:00 CEST -> 02:00 CET at 01:00 UTC
    [TestCase("America/New_York", 2026, 11, 1, 6, "2026110101")] // 02:00 EDT -> 01:00 EST at 06:00 UTC
    public void MinuteRollingInTheRepeatedHourRollsAtEachLocalMinute(string zoneId, int year, int month, int day, int utcHour, string localHour)
    {
        using var folder = TempFolder.ForCaller();
        var zone = Zones.Find(zoneId);
        // 30 s into the second pass of the repeated hour's first minute.
        var time = new FakeTimeProvider(new DateTimeOffset(year, month, day, utcHour, 0, 30, TimeSpan.Zero), zone);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Minute;
        });
        EmitAndWait(sink, Event(1)); // xx:00:30, second pass
        time.Advance(TimeSpan.FromSeconds(45)); // xx:01:15
        EmitAndWait(sink, Event(2));
        time.Advance(TimeSpan.FromSeconds(50)); // xx:02:05
        EmitAndWait(sink, Event(3));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { $"app-{localHour}00.json", $"app-{localHour}01.json", $"app-{localHour}02.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, $"app-{localHour}00.json")).Select(Seq), Is.EqualTo(new long[] { 1 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, $"app-{localHour}01.json")).Select(Seq), Is.EqualTo(new long[] { 2 }));
    }

    // Samoa skipped 30 December 2011: 23:59:59 on the 29th (-10:00) was followed by 00:00 on the 31st (+14:00). The
    // runtime maps the skipped midnight to an instant a day early, so the writer took the next day as already begun and
    // looked again only a minute later: the first events of the 31st went into the file of the 29th.
    [TestCase(RollingJsonInterval.Day, "app-20111229.json", "app-20111231.json")]
    [TestCase(RollingJsonInterval.Hour, "app-2011122923.json", "app-2011123100.json")]
    public void RollingCrossesADayTheTimeZoneSkipped(RollingJsonInterval interval, string before, string after)
    {
        using var folder = TempFolder.ForCaller();
        var zone = Zones.Find("Pacific/Apia");
        var time = new FakeTimeProvider(new DateTimeOffset(2011, 12, 30, 9, 59, 30, TimeSpan.Zero), zone); // 23:59:30 on the 29th
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = interval;
        });
        EmitAndWait(sink, Event(1));
        time.Advance(TimeSpan.FromSeconds(40)); // 00:00:10 on the 31st
        EmitAndWait(sink, Event(2));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { before, after }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, after)).Select(Seq), Is.EqualTo(new long[] { 2 }));
    }

    // NTP steps the wall clock back across the hour just begun: the events stay in the file they were going to, never
    // back in the file of the hour that ended (which may be compressed, shipped or deleted by now).
    [TestCase(false, "app-2026112210.json", "app-2026112211.json")]
    [TestCase(true, "app-2026112210.json", "app.json")]
    public void AWallClockSteppedBackAcrossTheHourDoesNotReturnToTheEndedHoursFile(bool fixedCurrentFileName, string ended, string current)
    {
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 59, 50, TimeSpan.Zero));
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.FixedCurrentFileName = fixedCurrentFileName;
        });
        EmitAndWait(sink, Event(1)); // 10:59:50
        time.Advance(TimeSpan.FromSeconds(20)); // 11:00:10
        EmitAndWait(sink, Event(2));
        time.StepWallClock(TimeSpan.FromSeconds(-30)); // 10:59:40
        EmitAndWait(sink, Event(3));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { ended, current }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, ended)).Select(Seq), Is.EqualTo(new long[] { 1 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, current)).Select(Seq), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(sink.Rollovers, Is.EqualTo(1));
    }

    // After the step back, the file goes on until the wall clock reaches the next hour again; the fixed current file
    // then gets the name of the hour it was begun in, beside (never over) the ended hour's.
    [Test]
    public void AFixedCurrentFileWrittenAcrossAStepBackRollsUnderItsOwnHour()
    {
        using var folder = TempFolder.ForCaller();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 59, 50, TimeSpan.Zero));
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.FixedCurrentFileName = true;
        });
        EmitAndWait(sink, Event(1)); // 10:59:50
        time.Advance(TimeSpan.FromSeconds(20)); // 11:00:10
        EmitAndWait(sink, Event(2));
        time.StepWallClock(TimeSpan.FromMinutes(-5)); // 10:55:10
        EmitAndWait(sink, Event(3));
        time.Advance(TimeSpan.FromMinutes(65)); // 12:00:10
        EmitAndWait(sink, Event(4));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-2026112210.json", "app-2026112211.json", "app.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112210.json")).Select(Seq), Is.EqualTo(new long[] { 1 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112211.json")).Select(Seq), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app.json")).Select(Seq), Is.EqualTo(new long[] { 4 }));
    }

    // A restart after the wall clock went back: the newer hour's file is neither compressed nor deleted as old, and the
    // ended hour's compressed file is never appended to; the restarted sink takes the next name of its own hour.
    [Test]
    public void ARestartAfterTheClockWentBackLeavesTheNewerFileAloneAndAppendsToNoCompressedFile()
    {
        using var folder = TempFolder.ForCaller();
        void Configure(RollingJsonOptions o, TimeProvider time)
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.CompressRolledFiles = true;
            o.RetainedFileTimeLimit = TimeSpan.FromHours(2);
            o.RetainedFileCountLimit = 10;
        }
        var first = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 30, 0, TimeSpan.Zero));
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o => Configure(o, first));
        EmitAndWait(sink, Event(1));
        first.Advance(TimeSpan.FromMinutes(40)); // 11:10
        EmitAndWait(sink, Event(2));
        sink.Dispose();

        var second = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 40, 0, TimeSpan.Zero));
        sink = Create(Path.Combine(folder.Path, "app-.json"), o => Configure(o, second));
        EmitAndWait(sink, Event(3));
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-2026112210.json.gz", "app-2026112210_001.json", "app-2026112211.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112210.json.gz")).Select(Seq), Is.EqualTo(new long[] { 1 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112210_001.json")).Select(Seq), Is.EqualTo(new long[] { 3 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112211.json")).Select(Seq), Is.EqualTo(new long[] { 2 }));
    }

    // Local Hour rolling across the end of daylight-saving time (01:00-02:00 twice in New York): both passes of the
    // repeated hour share its one name, appended to in order; across its start (02:00-03:00 never happens) 01:00 is
    // followed by 03:00, and no file is named after the skipped hour.
    [Test]
    public void LocalHourRollingWritesTheRepeatedHourToOneFileAndSkipsTheMissingHour()
    {
        using var folder = TempFolder.ForCaller();
        var zone = Zones.Find("America/New_York");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero), zone); // 01:30 EDT
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
        });
        EmitAndWait(sink, Event(1)); // 01:30 EDT
        time.Advance(TimeSpan.FromHours(1));
        EmitAndWait(sink, Event(2)); // 01:30 EST
        time.Advance(TimeSpan.FromHours(1));
        EmitAndWait(sink, Event(3)); // 02:30 EST
        time.SetUtcNow(new DateTimeOffset(2027, 3, 14, 6, 30, 0, TimeSpan.Zero)); // 01:30 EST
        EmitAndWait(sink, Event(4));
        time.Advance(TimeSpan.FromHours(1));
        EmitAndWait(sink, Event(5)); // 03:30 EDT
        sink.Dispose();

        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[]
        {
            "app-2026110101.json", "app-2026110102.json", "app-2027031401.json", "app-2027031403.json",
        }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026110101.json")).Select(Seq), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2027031403.json")).Select(Seq), Is.EqualTo(new long[] { 5 }));
    }
}
