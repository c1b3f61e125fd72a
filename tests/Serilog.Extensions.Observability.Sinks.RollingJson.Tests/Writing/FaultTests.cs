using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>Real faults: files removed under the sink, a directory made read-only, a full disk. All capture SelfLog.</summary>
[NonParallelizable]
public class FaultTests
{
    readonly List<string> _selfLog = new();
    readonly ManualResetEventSlim _selfLogSignal = new();
    string _signalText = "";
    TemporarySelfLog? _capture;
    TempFolder? _folder;
    string? _mountPoint;

    [SetUp]
    public void SetUp()
    {
        _selfLogSignal.Reset();
        // One fixture instance runs every test: what an earlier test's sink reported is not this test's.
        lock (_selfLog) _selfLog.Clear();
        _signalText = "\u0000";
        _capture = TemporarySelfLog.SaveTo(_selfLog);
        // TemporarySelfLog collects; this second hook turns a chosen message into a signal.
        Serilog.Debugging.SelfLog.Enable(message =>
        {
            lock (_selfLog) _selfLog.Add(message);
            if (message.Contains(_signalText, StringComparison.Ordinal)) _selfLogSignal.Set();
        });
        _folder = TempFolder.ForCaller();
    }

    [TearDown]
    public void TearDown()
    {
        if (_mountPoint is not null)
        {
            Mounts.UnmountAll(Path.Combine(_mountPoint, "logs"));
            Mounts.UnmountAll(_mountPoint);
            _mountPoint = null;
        }
        _capture?.Dispose();
        _folder?.Dispose();
    }

    void SignalOn(string text)
    {
        _signalText = text;
        _selfLogSignal.Reset();
    }

    /// <summary>
    /// Logs one event at a time, each written before the next, until the signal comes; returns how many.
    /// <paramref name="pace"/> is the wait for the signal between events: a report that comes from a check the writer
    /// makes once a second (the file removed or replaced) needs events spread over that second, not thousands of them.
    /// A report that the events themselves cause (the disk fills, no new file can be made) is made by the writer before
    /// it counts the event done, so it is there when <see cref="EmitAndWait"/> returns: no pace, or each event would
    /// add a wait (a 256 KB disk takes some 450 events to fill).
    /// </summary>
    int LogUntilSignalled(RollingJsonSink sink, ref long sequence, string text = "", TimeSpan? pace = null)
    {
        var logged = 0;
        var stopAt = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var wait = pace ?? TimeSpan.FromMilliseconds(20);
        while (!_selfLogSignal.Wait(wait))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(stopAt), "The expected SelfLog report never came:\n" + string.Join("\n", _selfLog));
            EmitAndWait(sink, Event(sequence++, text: text.Length == 0 ? null : text));
            logged++;
        }
        return logged;
    }

    static List<long> Sequences(IEnumerable<string> lines) =>
        lines.Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()).ToList();

    [Test]
    public void WhenTheCurrentFileIsDeletedWritingResumesAtThePath()
    {
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path);
        long sequence = 0;
        EmitAndWait(sink, Event(sequence++));
        SignalOn("removed or replaced");
        File.Delete(path);
        LogUntilSignalled(sink, ref sequence);
        EmitAndWait(sink, Event(1_000_000));
        sink.Dispose();

        Assert.That(File.Exists(path), Is.True);
        Assert.That(Sequences(LogFiles.Lines(path)), Does.Contain(1_000_000L));
        Assert.That(sink.EventsDropped, Is.EqualTo(0));
    }

    [Test]
    public void WhenTheCurrentFileIsTruncatedInPlaceWritingContinuesAtItsEndWithoutAHole()
    {
        // logrotate's copytruncate: the file keeps its inode and path, and its length drops to zero under the sink.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path);
        EmitAndWait(sink, Event(0, text: new string('x', 2_000)), Event(1));
        using (new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { }
        EmitAndWait(sink, Event(2), Event(3));
        sink.Dispose();

        var bytes = File.ReadAllBytes(path);
        Assert.That(Array.IndexOf(bytes, (byte)0), Is.EqualTo(-1), "The file holds zero bytes where the truncated content was.");
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(sink.EventsDropped, Is.EqualTo(0));
    }

    [Test]
    public void AnotherWriterAppendingToTheFileIsNotOverwritten()
    {
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path);
        EmitAndWait(sink, Event(0));
        File.AppendAllText(path, "{\"Seq\":100}\n{\"Seq\":101}\n");
        EmitAndWait(sink, Event(1));
        sink.Dispose();

        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 100, 101, 1 }));
    }

    [Test]
    public void WhenTheCurrentFileIsRenamedTheOldNameKeepsItsLinesAndWritingResumesAtThePath()
    {
        var path = Path.Combine(_folder!.Path, "app.json");
        var moved = Path.Combine(_folder.Path, "app.json.1");
        var sink = Create(path);
        long sequence = 0;
        EmitAndWait(sink, Event(sequence++), Event(sequence++));
        SignalOn("removed or replaced");
        File.Move(path, moved);
        LogUntilSignalled(sink, ref sequence);
        EmitAndWait(sink, Event(1_000_000));
        sink.Dispose();

        var movedSequences = Sequences(LogFiles.Lines(moved));
        var pathSequences = Sequences(LogFiles.Lines(path));
        Assert.That(movedSequences.Take(2), Is.EqualTo(new long[] { 0, 1 }));
        Assert.That(pathSequences[^1], Is.EqualTo(1_000_000L));
        // Nothing lost: what went to the old inode before the check plus what went to the path is everything.
        Assert.That(movedSequences.Concat(pathSequences).Order(), Is.EqualTo(Enumerable.Range(0, (int)sequence).Select(i => (long)i).Append(1_000_000L)));
    }

    [Test]
    public void WhenTheDirectoryIsMadeReadOnlyWritingResumesOnceWritableAndWrittenPlusDroppedEqualsLogged()
    {
        _mountPoint = Path.Combine(_folder!.Path, "mnt");
        Mounts.MountTmpfsOrIgnore(_mountPoint, "16m");
        var logs = Path.Combine(_mountPoint, "logs");
        Directory.CreateDirectory(logs);
        // A small size limit: the sink has to create new files while the directory is read-only.
        var sink = Create(Path.Combine(logs, "app-.json"), o => o.FileSizeLimitBytes = 4 * 1024);
        long sequence = 0;
        var payload = new string('r', 100);
        for (var i = 0; i < 50; i++) EmitAndWait(sink, Event(sequence++, text: payload));

        // A read-only bind mount of the directory over itself: the open file stays writable, new files cannot be made.
        Assert.That(Mounts.TryRun($"--bind \"{logs}\" \"{logs}\"", out var error), Is.True, error);
        Assert.That(Mounts.TryRun($"-o remount,ro,bind \"{logs}\"", out error), Is.True, error);
        SignalOn("writing failed");
        LogUntilSignalled(sink, ref sequence, payload, pace: TimeSpan.Zero);
        var droppedWhileReadOnly = sink.DroppedIoError;
        Mounts.UnmountAll(logs);
        Assert.That(File.Exists(Path.Combine(logs, "probe")) || TryCreate(Path.Combine(logs, "probe")), Is.True, "The directory should be writable again.");
        File.Delete(Path.Combine(logs, "probe"));

        SignalOn("writing resumed");
        for (var i = 0; i < 100; i++) sink.Emit(Event(sequence++, text: payload));
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        Assert.That(_selfLogSignal.Wait(WaitLimit), Is.True, "The sink should report that it recovered.");
        sink.Dispose();

        var lines = LogFiles.AllLines(logs);
        Assert.That(droppedWhileReadOnly, Is.GreaterThan(0));
        Assert.That(sink.EventsWritten + sink.EventsDropped, Is.EqualTo(sequence));
        Assert.That(lines, Has.Count.EqualTo(sink.EventsWritten));
        Assert.That(Sequences(lines), Does.Contain(sequence - 1), "The last event, logged after recovery, is on disk.");
        foreach (var line in lines) Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose());
    }

    [Test]
    public void WhenTheDiskIsFullBatchesAreDroppedAndCountedAndWritingResumesWhenSpaceReturns()
    {
        _mountPoint = Path.Combine(_folder!.Path, "mnt");
        Mounts.MountTmpfsOrIgnore(_mountPoint, "256k");
        var logs = Path.Combine(_mountPoint, "logs");
        var sink = Create(Path.Combine(logs, "app.json"), o => o.FileSizeLimitBytes = null);
        long sequence = 0;
        var payload = new string('d', 500);

        SignalOn("writing failed");
        LogUntilSignalled(sink, ref sequence, payload, pace: TimeSpan.Zero);
        Assert.That(sink.DroppedIoError, Is.GreaterThan(0));

        // Space comes back: a tmpfs can grow while files are open.
        Assert.That(Mounts.TryRun($"-o remount,size=16m \"{_mountPoint}\"", out var error), Is.True, error);
        SignalOn("writing resumed");
        for (var i = 0; i < 100; i++) sink.Emit(Event(sequence++, text: payload));
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        Assert.That(_selfLogSignal.Wait(WaitLimit), Is.True, "The sink should report that it recovered.");
        sink.Dispose();

        var lines = LogFiles.AllLines(logs);
        Assert.That(sink.EventsWritten + sink.EventsDropped, Is.EqualTo(sequence));
        Assert.That(lines, Has.Count.EqualTo(sink.EventsWritten));
        // A write cut short by the full disk was taken back: every line is whole.
        foreach (var line in lines) Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose());
        Assert.That(Sequences(lines)[^1], Is.EqualTo(sequence - 1));
    }

    [Test]
    public void AWriteCutByAFullDiskKeepsTheWholeLinesThatLanded()
    {
        _mountPoint = Path.Combine(_folder!.Path, "mnt");
        Mounts.MountTmpfsOrIgnore(_mountPoint, "1m");
        var logs = Path.Combine(_mountPoint, "logs");
        // 128 KB left on the disk, then one batch of about 200 KB: the write lands in part and the disk is full.
        var filler = Path.Combine(_mountPoint, "filler");
        File.WriteAllBytes(filler, new byte[1024 * 1024 - 128 * 1024]);
        var sink = Create(Path.Combine(logs, "app.json"), o => o.FileSizeLimitBytes = null);
        var retryDelays = RollingJsonSink.RetryDelays;
        const int batch = 200;
        try
        {
            RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
            sink.PauseWriter();
            for (var i = 0; i < batch; i++) sink.Emit(Event(i, text: new string('f', 1000)));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
            RollingJsonSink.RetryDelays = retryDelays;
            File.Delete(filler);
            EmitAndWait(sink, Event(batch));
        }
        finally
        {
            RollingJsonSink.RetryDelays = retryDelays;
            sink.Dispose();
        }

        // A shipper tailing the file may have read and sent the lines that landed before the disk filled: taken back,
        // they were counted as lost although sent, and the file shrank under the shipper, which then read the next
        // lines from the middle of one (or read the file again from its start). Only the cut line is taken back.
        var lines = LogFiles.Lines(Path.Combine(logs, "app.json"));
        Assert.That(sink.EventsWritten, Is.GreaterThan(100));
        Assert.That(sink.EventsWritten + sink.DroppedIoError, Is.EqualTo(batch + 1));
        Assert.That(lines, Has.Count.EqualTo(sink.EventsWritten));
        foreach (var line in lines) Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose());
        Assert.That(Sequences(lines), Is.EqualTo(Enumerable.Range(0, (int)sink.EventsWritten - 1).Select(i => (long)i).Append(batch)));
    }

    [TestCase("succeeds")]
    [TestCase("fails")]
    [TestCase("fails once, losing the handle")]
    public void ADurableWriteCutByAFullDiskCountsTheLinesThatLandedAsWrittenOnlyOnceTheyAreOnTheDisk(string fsync)
    {
        var fsyncFails = fsync == "fails";
        var failOnce = fsync == "fails once, losing the handle" ? 1 : 0;
        _mountPoint = Path.Combine(_folder!.Path, "mnt");
        Mounts.MountTmpfsOrIgnore(_mountPoint, "1m");
        var logs = Path.Combine(_mountPoint, "logs");
        var path = Path.Combine(logs, "app.json");
        // As above: 128 KB left, then one batch of about 200 KB, so the write lands in part.
        File.WriteAllBytes(Path.Combine(_mountPoint, "filler"), new byte[1024 * 1024 - 128 * 1024]);
        var sink = CreateDurable(path);
        var synced = 0;
        sink.FlushToDiskForTests = file =>
        {
            if (fsyncFails) throw new IOException("fsync failed");
            if (Interlocked.Exchange(ref failOnce, 0) == 1)
            {
                // The kept lines cannot be taken back through the handle: a new one takes them back before the retry.
                file.Dispose();
                throw new IOException("fsync failed");
            }
            Interlocked.Increment(ref synced);
            file.Flush(flushToDisk: true);
        };
        var retryDelays = RollingJsonSink.RetryDelays;
        const int batch = 200;
        try
        {
            RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
            sink.PauseWriter();
            for (var i = 0; i < batch; i++) sink.Emit(Event(i, text: new string('f', 1000)));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        }
        finally
        {
            RollingJsonSink.RetryDelays = retryDelays;
            sink.Dispose();
        }

        var lines = File.Exists(path) ? LogFiles.Lines(path) : new List<string>();
        Assert.That(sink.EventsWritten + sink.DroppedIoError, Is.EqualTo(batch));
        Assert.That(lines, Has.Count.EqualTo(sink.EventsWritten));
        if (fsyncFails)
        {
            // No fsync ever succeeded, so nothing is written for Durable. Before the fix the lines that landed before the
            // disk filled were counted as written (and left in the file) at once, before any fsync, and stayed so when
            // every fsync after them failed.
            Assert.That((sink.EventsWritten, sink.DroppedIoError), Is.EqualTo((0L, (long)batch)));
        }
        else
        {
            // The lines that landed are forced to the disk, then counted as written and kept, as without Durable; after
            // a failed fsync, only those of the retry's write (the first's were taken back, else they would be in the file
            // twice, or there uncounted).
            Assert.That(sink.EventsWritten, Is.GreaterThan(100));
            Assert.That(synced, Is.GreaterThan(0));
            Assert.That(Sequences(lines), Is.EqualTo(Enumerable.Range(0, (int)sink.EventsWritten).Select(i => (long)i)));
        }
    }

    [Test]
    public void OnAFullDiskFailedWritesDoNotRollToEmptyFiles()
    {
        _mountPoint = Path.Combine(_folder!.Path, "mnt");
        Mounts.MountTmpfsOrIgnore(_mountPoint, "2m");
        var logs = Path.Combine(_mountPoint, "logs");
        // Events larger than the size limit: each one written fills its file, and the next rolls.
        const int limit = 4 * 1024;
        var payload = new string('e', 5 * 1024);
        // No retention, so that nothing frees space while the disk is full (with a count limit, each of those empty files
        // deleted a file of written events: the real damage, but the freed space makes the outcome vary).
        var sink = Create(Path.Combine(logs, "app-.json"), o => o.FileSizeLimitBytes = limit);
        var retryDelays = RollingJsonSink.RetryDelays;
        try
        {
            EmitAndWait(sink, Event(0, text: payload), Event(1, text: payload), Event(2, text: payload));
            Assert.That(sink.Rollovers, Is.EqualTo(2));

            RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
            var filler = Mounts.FillDisk(_mountPoint);
            // Nothing of these reaches the disk: the file they were meant for stays empty, so nothing is full and nothing rolls.
            for (var i = 3; i < 13; i++) EmitAndWait(sink, Event(i, text: payload));
            Assert.That(sink.DroppedIoError, Is.EqualTo(10));
            File.Delete(filler);
            RollingJsonSink.RetryDelays = retryDelays;
            EmitAndWait(sink, Event(13, text: payload));
        }
        finally
        {
            RollingJsonSink.RetryDelays = retryDelays;
            sink.Dispose(); // closes the file, so that the tmpfs can be unmounted even when an assertion failed
        }

        var lines = LogFiles.AllLines(logs);
        Assert.That(sink.EventsWritten + sink.EventsDropped, Is.EqualTo(14));
        Assert.That(lines, Has.Count.EqualTo(sink.EventsWritten));
        // 0, 1, 2 filled three files and 13 went to the fourth. Before the fix each failed write rolled to a new file that
        // stayed empty (ten of them), each counted as a rollover and each a slot taken from retention by count.
        Assert.That(Sequences(lines), Is.EqualTo(new long[] { 0, 1, 2, 13 }));
        foreach (var name in LogFiles.Names(logs))
            Assert.That(new FileInfo(Path.Combine(logs, name)).Length, Is.GreaterThan(0), name + " is empty");
        Assert.That(sink.Rollovers, Is.EqualTo(3), "Only full files roll.");
    }

    sealed class ThrowingFormatter : Serilog.Formatting.ITextFormatter
    {
        public void Format(Serilog.Events.LogEvent logEvent, TextWriter output) => throw new InvalidOperationException("no format");
    }

    [Test]
    public void ASelfLogOutputThatThrowsCostsTheReportNotTheWriter()
    {
        // A SelfLog file on the same full disk throws; the writer's reports must not take the writer (and the process) down.
        var sink = Create(Path.Combine(_folder!.Path, "app-.json"), o => o.Formatter = new ThrowingFormatter());
        using var failingSelfLog = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.Failing();
        for (var i = 0; i < 3; i++) sink.Emit(Event(i));
        sink.Dispose();

        Assert.That(sink.EventsDropped, Is.EqualTo(3));
        Assert.That(sink.EventsWritten, Is.EqualTo(0));
    }

    [Test]
    public void AFixedCurrentFileThatCannotBeRenamedAtATimeRollIsNotCountedAsARollover()
    {
        var logs = Path.Combine(_folder!.Path, "logs");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 30, 0, TimeSpan.Zero));
        var sink = Create(Path.Combine(logs, "app-.json"), o =>
        {
            o.FixedCurrentFileName = true;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.RollOnUtc = true;
            o.TimeProvider = time;
        });
        EmitAndWait(sink, Event(0));
        ChattrOrIgnore("+i", logs);
        try
        {
            time.Advance(TimeSpan.FromHours(1));
            EmitAndWait(sink, Event(1));
        }
        finally
        {
            ChattrOrIgnore("-i", logs);
        }
        sink.Dispose();

        Assert.That(LogFiles.Names(logs), Is.EqualTo(new[] { "app.json" }), "the file could not be renamed");
        Assert.That(sink.Rollovers, Is.EqualTo(0));
        Assert.That(LogFiles.Lines(Path.Combine(logs, "app.json")), Has.Count.EqualTo(2));
    }

    [Test]
    public void WhenAFixedCurrentFileCannotBeRenamedItKeepsGrowingWithoutARollAtEveryEvent()
    {
        var logs = Path.Combine(_folder!.Path, "logs");
        var path = Path.Combine(logs, "app-.json");
        const int limit = 1_000;
        var sink = Create(path, o => { o.FixedCurrentFileName = true; o.FileSizeLimitBytes = limit; });
        EmitAndWait(sink, Event(-1));
        // An immutable directory: the open file stays writable, but no entry in it can be renamed (root ignores modes).
        ChattrOrIgnore("+i", logs);
        int renameReports;
        try
        {
            for (var i = 0; i < 100; i++) EmitAndWait(sink, Event(i, text: new string('x', 100)));
            lock (_selfLog) renameReports = _selfLog.Count(m => m.Contains("could not rename", StringComparison.Ordinal));
        }
        finally
        {
            ChattrOrIgnore("-i", logs);
        }
        var current = Path.Combine(logs, "app.json");
        var grown = new FileInfo(current).Length;
        Assert.That(LogFiles.Names(logs), Is.EqualTo(new[] { "app.json" }));
        Assert.That(sink.Rollovers, Is.EqualTo(0), "Nothing was rolled.");
        // Tried again once per limit's worth of growth, not at every event (about 100 tries).
        Assert.That(renameReports, Is.InRange(1, grown / limit + 1));

        // Once the directory allows it, the next roll renames the grown file.
        for (var i = 100; sink.Rollovers == 0; i++)
        {
            Assert.That(i, Is.LessThan(1_000), "The file should roll again once it can be renamed.");
            EmitAndWait(sink, Event(i, text: new string('x', 100)));
        }
        sink.Dispose();
        Assert.That(LogFiles.Names(logs), Is.EqualTo(new[] { "app-.json", "app.json" }));
        Assert.That(LogFiles.Lines(Path.Combine(logs, "app-.json")), Has.Count.GreaterThan(100));
        Assert.That(LogFiles.AllLines(logs), Has.Count.EqualTo(sink.EventsWritten));
        Assert.That(sink.EventsDropped, Is.EqualTo(0));
    }

    [Test]
    public void AFixedCurrentFileTruncatedAfterARenameFailedRollsAtTheSizeLimitAgain()
    {
        var logs = Path.Combine(_folder!.Path, "logs");
        var path = Path.Combine(logs, "app-.json");
        const int limit = 1_000;
        var sink = Create(path, o => { o.FixedCurrentFileName = true; o.FileSizeLimitBytes = limit; });
        EmitAndWait(sink, Event(-1));
        // The rename fails while the file grows to several limits: the next try is put off one limit further each time.
        ChattrOrIgnore("+i", logs);
        var next = 0;
        try
        {
            // Stop just after a failed try, so that no roll is pending when the file is emptied.
            for (var reports = 0; reports < 5; next++)
            {
                Assert.That(next, Is.LessThan(1_000), "The rename should fail once per limit.");
                EmitAndWait(sink, Event(next, text: new string('x', 100)));
                lock (_selfLog) reports = _selfLog.Count(m => m.Contains("could not rename", StringComparison.Ordinal));
            }
        }
        finally
        {
            ChattrOrIgnore("-i", logs);
        }
        var current = Path.Combine(logs, "app.json");
        Assert.That(new FileInfo(current).Length, Is.GreaterThan(4 * limit));
        Assert.That(sink.Rollovers, Is.EqualTo(0));

        // logrotate's copytruncate empties it: the file it becomes is rolled at the limit, like any new file.
        using (new FileStream(current, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { }
        long largestEvent = 0;
        for (var i = next; i < next + 20; i++)
        {
            var before = new FileInfo(current).Length;
            EmitAndWait(sink, Event(i, text: new string('x', 100)));
            var after = new FileInfo(current).Length;
            if (after > before) largestEvent = Math.Max(largestEvent, after - before);
        }
        sink.Dispose();

        Assert.That(sink.Rollovers, Is.GreaterThanOrEqualTo(1), "The emptied file grew past the limit without a roll.");
        foreach (var file in Directory.GetFiles(logs))
            Assert.That(new FileInfo(file).Length, Is.LessThanOrEqualTo(limit + largestEvent + 1), Path.GetFileName(file));
        Assert.That(sink.EventsDropped, Is.EqualTo(0));
    }

    static void ChattrOrIgnore(string flag, string path)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("chattr needs Linux.");
        try
        {
            using var process = Process.Start(new ProcessStartInfo("chattr", $"{flag} \"{path}\"") { RedirectStandardError = true, UseShellExecute = false })!;
            var error = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(30_000) || process.ExitCode != 0)
                Assert.Ignore($"This test needs chattr {flag} (root on a filesystem that supports it): {error}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Ignore("chattr is not available: " + ex.Message);
        }
    }

    static bool TryCreate(string path)
    {
        try
        {
            File.WriteAllText(path, "");
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
    /// <summary>A clock that throws on the writer thread for its next <see cref="Failures"/> reads, then tells the time.</summary>
    sealed class ClockFailingOnTheWriter : TimeProvider
    {
        int _failures;

        public int Failures
        {
            get => Volatile.Read(ref _failures);
            set => Volatile.Write(ref _failures, value);
        }

        int _thrown;

        /// <summary>How many times the clock has thrown.</summary>
        public int Thrown => Volatile.Read(ref _thrown);

        /// <summary>Set once the clock has thrown <see cref="SignalAt"/> times.</summary>
        public ManualResetEventSlim Signal { get; } = new();

        public int SignalAt { get; set; } = int.MaxValue;

        /// <summary>Set once the clock has thrown for the first time.</summary>
        public ManualResetEventSlim FirstThrown { get; } = new();

        public override DateTimeOffset GetUtcNow()
        {
            if (Thread.CurrentThread.Name == "Serilog RollingJson writer" && Interlocked.Decrement(ref _failures) >= 0)
            {
                var thrown = Interlocked.Increment(ref _thrown);
                if (thrown == 1) FirstThrown.Set();
                if (thrown == SignalAt) Signal.Set();
                throw new InvalidOperationException("clock offline");
            }
            return base.GetUtcNow();
        }
    }

    /// <summary>The occurrences the lines report: the number each holds in whichever group of the pattern matched.</summary>
    static long ReportedCount(IEnumerable<string> lines, string pattern) =>
        lines.Sum(l => System.Text.RegularExpressions.Regex.Match(l, pattern) is { Success: true } m
            ? m.Groups.Values.Skip(1).Where(g => g.Success).Sum(g => g.Length == 0 ? 1 : long.Parse(g.Value))
            : 0);

    List<string> SelfLogLines(string text)
    {
        lock (_selfLog) return _selfLog.Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();
    }

    [Test]
    public void EachReportOfWritesDroppedAfterRetriesGivesTheTotalSoFar()
    {
        // Every write fails (a directory stands at the path); each batch runs out of retries, and with no interval each
        // drop is reported at once. Before the fix the second line said "1 event(s) dropped so far", the count since the
        // line before it, with 2 dropped.
        var path = Path.Combine(_folder!.Path, "app.json");
        Directory.CreateDirectory(path);
        var reportInterval = RollingJsonSink.ReportInterval;
        var retryDelays = RollingJsonSink.RetryDelays;
        RollingJsonSink.ReportInterval = TimeSpan.Zero;
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        RollingJsonSink sink;
        try
        {
            sink = Create(path, o => o.FileSizeLimitBytes = null);
        }
        finally
        {
            RollingJsonSink.ReportInterval = reportInterval;
        }
        try
        {
            EmitAndWait(sink, Event(0));
            EmitAndWait(sink, Event(1));
            Assert.That((sink.EventsWritten, sink.DroppedIoError), Is.EqualTo((0L, 2L)));
        }
        finally
        {
            RollingJsonSink.RetryDelays = retryDelays;
            sink.Dispose();
        }
        var lines = SelfLogLines("writing failed after retries");
        Assert.That(lines, Has.Count.EqualTo(2), string.Join("\n", lines));
        Assert.That(lines[0], Does.Contain("1 event(s) dropped so far"));
        Assert.That(lines[1], Does.Contain("2 event(s) dropped so far"));
    }

    [Test]
    public void AWriterFaultThatRepeatsIsReportedOncePerIntervalWithItsCount()
    {
        // The writer's catch-all: anything its batch throws that no narrower handler takes (here the clock it reads
        // before every batch). Such a fault repeats at every batch the writer tries, thousands a second.
        var reportInterval = RollingJsonSink.ReportInterval;
        RollingJsonSink.ReportInterval = TimeSpan.FromHours(1);
        var clock = new ClockFailingOnTheWriter();
        RollingJsonSink sink;
        try
        {
            sink = Create(Path.Combine(_folder!.Path, "app.json"), o => o.TimeProvider = clock);
        }
        finally
        {
            RollingJsonSink.ReportInterval = reportInterval;
        }
        const int faults = 50;
        clock.Failures = faults;
        var faultDelay = RollingJsonSink.FaultDelay;
        RollingJsonSink.FaultDelay = TimeSpan.FromMilliseconds(1);
        try
        {
            EmitAndWait(sink, Event(0));
        }
        finally
        {
            RollingJsonSink.FaultDelay = faultDelay;
            sink.Dispose();
        }

        Assert.That(clock.Failures, Is.LessThan(0), "the premise: every planned fault happened");
        Assert.That(sink.EventsWritten, Is.EqualTo(1));
        var lines = SelfLogLines("writer fault");
        Assert.That(lines, Has.Count.EqualTo(2), string.Join("\n", lines));
        // The first fault of all is reported alone, as one, with its own exception.
        Assert.That(lines[0], Does.Contain("writer fault: System.InvalidOperationException: clock offline"));
        Assert.That(ReportedCount(lines, @"writer fault: ()|writer faults \((\d+) since|(\d+) more writer fault"), Is.EqualTo(faults), string.Join("\n", lines));
    }

    [Test]
    public void AFileReopenedPastTheSizeLimitAfterAWriterFaultIsCountedAsARolloverAndRollsOnce()
    {
        var clock = new ClockFailingOnTheWriter();
        var logs = Path.Combine(_folder!.Path, "logs");
        var sink = Create(Path.Combine(logs, "app-.json"), o =>
        {
            o.TimeProvider = clock;
            o.FileSizeLimitBytes = 4 * 1024;
        });
        try
        {
            // Past the size limit: the next event is due to roll. Then a fault closes the file before that event is taken.
            for (var i = 0; i < 3; i++) EmitAndWait(sink, Event(i, text: new string('r', 1_500)));
            Assert.That(sink.Rollovers, Is.Zero);
            clock.Failures = 1;
            EmitAndWait(sink, Event(3, text: new string('r', 1_500)));
            Assert.That(clock.Failures, Is.LessThan(0), "the premise: the fault happened");
        }
        finally
        {
            sink.Dispose();
        }

        // Before the fix the reopen went on past the full file into a new one without counting it, and the pending roll
        // then rolled that new file before it got a line: an empty file, and one rollover for two new files.
        var names = LogFiles.Names(logs);
        Assert.That(names.Where(n => new FileInfo(Path.Combine(logs, n)).Length == 0), Is.Empty, string.Join(", ", names));
        Assert.That(sink.Rollovers, Is.EqualTo(names.Length - 1), string.Join(", ", names));
        Assert.That(names, Has.Length.EqualTo(2), string.Join(", ", names));
        Assert.That(LogFiles.AllLines(logs), Has.Count.EqualTo(4));
    }

    [Test]
    public void AWriterFaultThatRepeatsMakesTheWriterWaitBeforeItsNextBatchUntilDisposalEndsTheWait()
    {
        // A fault the catch-all takes before any event is taken from the queue repeats at every batch: without a wait
        // between them the writer loops at full speed on one core until the fault stops.
        var faultDelay = RollingJsonSink.FaultDelay;
        RollingJsonSink.FaultDelay = TimeSpan.FromHours(1);
        var clock = new ClockFailingOnTheWriter { Failures = int.MaxValue, SignalAt = 2 };
        RollingJsonSink? sink = null;
        try
        {
            sink = Create(Path.Combine(_folder!.Path, "app.json"), o =>
            {
                o.TimeProvider = clock;
                o.ShutdownTimeout = TimeSpan.FromSeconds(10);
            });
            sink.Emit(Event(0));
            // The first fault, however long a loaded machine takes to schedule the writer; the window below starts after it.
            Assert.That(clock.FirstThrown.Wait(WaitLimit), Is.True, "The writer never took its first batch.");
            // A second fault before the test ends the wait is the writer spinning: it came at once before the fix.
            // (A bounded wait for something that must not happen: it costs its time only when the test passes.)
            Assert.That(clock.Signal.Wait(TimeSpan.FromMilliseconds(500)), Is.False, $"The writer tried {clock.Thrown} batches without waiting.");
            Assert.That(clock.Thrown, Is.EqualTo(1));
        }
        finally
        {
            // The fault stops, and disposal ends the hour's wait: the event is written before disposal returns.
            clock.Failures = 0;
            sink?.Dispose();
            RollingJsonSink.FaultDelay = faultDelay;
        }

        Assert.That(sink.WriterEnded, Is.True, "Disposal returned while the writer still waited after its fault.");
        Assert.That(sink.EventsWritten, Is.EqualTo(1));
        Assert.That(SelfLogLines("did not finish within the shutdown timeout"), Is.Empty);
    }

    [Test]
    public void AWriterFaultThatNeverStopsCostsDisposalItsTimeoutAndEveryQueuedEventIsCountedAndReported()
    {
        // The catch-all's fault comes before every batch and never stops: the queued events can be neither written nor
        // dropped by a batch. Disposal still returns once the writer has given them up at the shutdown deadline, counted.
        var clock = new ClockFailingOnTheWriter { Failures = int.MaxValue };
        var sink = Create(Path.Combine(_folder!.Path, "app.json"), o =>
        {
            o.TimeProvider = clock;
            o.ShutdownTimeout = TimeSpan.FromSeconds(1);
        });
        for (var i = 0; i < 5; i++) sink.Emit(Event(i));
        Assert.That(clock.FirstThrown.Wait(WaitLimit), Is.True, "The writer never took its first batch.");
        var disposal = Task.Run(sink.Dispose);
        Assert.That(disposal.Wait(WaitLimit), Is.True, "Disposal did not return.");

        Assert.That(sink.WriterEnded, Is.True);
        Assert.That((sink.EventsWritten, sink.DroppedShutdown, sink.EventsDropped), Is.EqualTo((0L, 5L, 5L)));
        Assert.That(sink.WaitUntilWritten(TimeSpan.Zero), Is.True, "An accepted event was neither written nor counted as dropped.");
        Assert.That(SelfLogLines("the shutdown timeout passed, 5 queued event(s) dropped"), Has.Count.EqualTo(1));
        Assert.That(SelfLogLines("writer fault: System.InvalidOperationException: clock offline"), Has.Count.EqualTo(1));
        Assert.That(SelfLogLines("did not finish within the shutdown timeout"), Is.Empty);
    }

    [Test]
    public void AProcessEndCutsTheWaitAfterAWriterFaultShortSoTheDrainWritesTheEvent()
    {
        // The writer waits (an hour) after a fault its catch-all took, and the fault is gone when the process starts to
        // end without disposal (here SIGTERM, whose handler is the drain on .NET 10; ProcessExit sets the same signal).
        // Before the fix only disposal ended that wait: the drain spent its window while the writer slept.
        var faultDelay = RollingJsonSink.FaultDelay;
        RollingJsonSink.FaultDelay = TimeSpan.FromHours(1);
        var clock = new ClockFailingOnTheWriter { Failures = 1, SignalAt = 1 };
        Action<PosixSignalContext>? terminate = null;
        RollingJsonSink.CreateSignalRegistrationForTests = (signal, handler) =>
        {
            if (signal == PosixSignal.SIGTERM) terminate = handler;
            return null!;
        };
        RollingJsonSink? sink = null;
        try
        {
            sink = Create(Path.Combine(_folder!.Path, "app.json"), o =>
            {
                o.TimeProvider = clock;
                // The drain's window, which the write must make: the handler returns as soon as it does.
                o.ShutdownTimeout = WaitLimit;
            });
            RollingJsonSink.CreateSignalRegistrationForTests = null;
            sink.Emit(Event(0));
            Assert.That(clock.Signal.Wait(WaitLimit), Is.True, "The writer's clock should have failed.");

            terminate!(new PosixSignalContext(PosixSignal.SIGTERM));

            Assert.That(sink.EventsWritten, Is.EqualTo(1), "The drain passed while the writer waited after its fault.");
        }
        finally
        {
            RollingJsonSink.CreateSignalRegistrationForTests = null;
            sink?.Dispose();
            RollingJsonSink.FaultDelay = faultDelay;
        }
    }

    [Test]
    public void AWriterFaultWhoseReportFailsStillDropsAndCountsWhatTheWriterHeldAndTheWriterGoesOn()
    {
        // The writer's catch-all takes a fault with a batch of three events in hand (an fsync that fails with an exception
        // the retry does not take), and its report of the fault throws (no memory to box its count). Before the fix the
        // report came first and nothing caught what it threw: the writer thread ended with an unhandled exception, which
        // ends the process, before the batch was counted, and every later event would have stayed in the queue.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateDurable(path);
        var fsyncs = 0;
        sink.FlushToDiskForTests = file =>
        {
            if (Interlocked.Increment(ref fsyncs) == 1) throw new InvalidOperationException("fsync failed oddly");
            file.Flush(flushToDisk: true);
        };
        var failedReports = 0;
        sink.FaultHandlingForTests = step =>
        {
            if (step != "report") return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        try
        {
            EmitWhilePausedAndWait(sink, Enumerable.Range(0, 3).Select(i => Event(i)));
            EmitAndWait(sink, Event(3), Event(4));
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the report of the one fault failed");
        Assert.That(sink.WriterEnded, Is.True);
        Assert.That((sink.EventsWritten, sink.DroppedIoError, sink.EventsDropped), Is.EqualTo((2L, 3L, 3L)));
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 3, 4 }));
        // What was dropped is still said, and so is the failure of the report.
        Assert.That(SelfLogLines("3 event(s) the writer held when it faulted dropped"), Has.Count.EqualTo(1));
        var failures = SelfLogLines("handling of a fault failed");
        Assert.That(failures, Has.Count.EqualTo(1), string.Join("\n", _selfLog));
        Assert.That(failures[0], Does.Contain("no memory for the report, on purpose"));
    }

    [Test]
    public void AWriterFaultWhoseWaitFailsStillMakesTheWriterWaitBeforeItsNextBatch()
    {
        // The wait after a fault throws (an interrupted wait): the fault repeats at every batch, and without a wait the
        // writer would loop on a whole core. Before the fix what the wait threw ended the writer thread, and the process.
        var faultDelay = RollingJsonSink.FaultDelay;
        RollingJsonSink.FaultDelay = TimeSpan.FromHours(1);
        var clock = new ClockFailingOnTheWriter { Failures = int.MaxValue, SignalAt = 2 };
        var failedWaits = 0;
        RollingJsonSink? sink = null;
        try
        {
            sink = Create(Path.Combine(_folder!.Path, "app.json"), o =>
            {
                o.TimeProvider = clock;
                o.ShutdownTimeout = TimeSpan.FromSeconds(10);
            });
            sink.FaultHandlingForTests = step =>
            {
                if (step != "wait") return;
                Interlocked.Increment(ref failedWaits);
                throw new ThreadInterruptedException("the wait was interrupted, on purpose");
            };
            sink.Emit(Event(0));
            Assert.That(clock.FirstThrown.Wait(WaitLimit), Is.True, "The writer never took its first batch.");
            // (A bounded wait for something that must not happen: it costs its time only when the test passes.)
            Assert.That(clock.Signal.Wait(TimeSpan.FromMilliseconds(500)), Is.False, $"The writer tried {clock.Thrown} batches without waiting.");
            Assert.That(clock.Thrown, Is.EqualTo(1));
        }
        finally
        {
            // The fault stops, and disposal ends the hour's wait: the event is written before disposal returns.
            clock.Failures = 0;
            sink?.Dispose();
            RollingJsonSink.FaultDelay = faultDelay;
        }

        Assert.That(failedWaits, Is.EqualTo(1), "the premise: the wait after the one fault failed");
        Assert.That(sink.WriterEnded, Is.True, "Disposal returned while the writer still waited after its fault.");
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((1L, 0L)));
        var failures = SelfLogLines("handling of a fault failed");
        Assert.That(failures, Has.Count.EqualTo(1), string.Join("\n", _selfLog));
        Assert.That(failures[0], Does.Contain("the wait was interrupted, on purpose"));
        Assert.That(SelfLogLines("did not finish within the shutdown timeout"), Is.Empty);
    }

    [Test]
    public void AFailureInTheWritersLastStepsAsItStopsNeitherEndsTheWriterNorLeavesALateEventUncounted()
    {
        // The writer's last report as it stops throws (no memory to box a count). Before the fix nothing caught it: the
        // writer thread ended with an unhandled exception, which ends the process, before it announced that it had
        // stopped, so an event that a caller which passed the running check before disposal enqueued after the writer's
        // last look stayed in the queue, neither written nor counted.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path);
        sink.BeforeStoppedForTests = () => throw new OutOfMemoryException("no memory for the last report, on purpose");
        EmitAndWait(sink, Event(0));
        sink.BeforeEnqueueForTests = () =>
        {
            sink.BeforeEnqueueForTests = null;
            sink.Dispose();
        };
        Assert.DoesNotThrow(() => sink.Emit(Event(1)));

        Assert.That(sink.WriterEnded, Is.True);
        Assert.That((sink.EventsWritten, sink.DroppedShutdown, sink.QueueLength), Is.EqualTo((1L, 1L, 0)));
        Assert.That(sink.WaitUntilWritten(TimeSpan.Zero), Is.True, "An accepted event was neither written nor counted as dropped.");
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0 }));
        var failures = SelfLogLines("no memory for the last report, on purpose");
        Assert.That(failures, Has.Count.EqualTo(1), string.Join("\n", _selfLog));
        Assert.That(failures[0], Does.Contain("as it stopped"));
    }

    [Test]
    public void AFailedReportThatWritingResumedStillCompletesTheEventsTheRetryWrote()
    {
        // A durable batch's fsync fails with an IOException, the retry writes the batch, and the report that writing
        // resumed throws (no memory to box its count). Before the fix the batch was counted as written but never
        // completed: WaitUntilWritten, a process-end drain and the SIGTERM handler waited for it, and for every later
        // event, until they timed out.
        var retryDelays = RollingJsonSink.RetryDelays;
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateDurable(path);
        var fsyncs = 0;
        sink.FlushToDiskForTests = file =>
        {
            if (Interlocked.Increment(ref fsyncs) == 1) throw new IOException("fsync failed, on purpose");
            file.Flush(flushToDisk: true);
        };
        var failedReports = 0;
        sink.ReportForTests = report =>
        {
            if (report != "resumed") return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        try
        {
            sink.PauseWriter();
            for (var i = 0; i < 3; i++) sink.Emit(Event(i));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
            EmitAndWait(sink, Event(3));
        }
        finally
        {
            sink.Dispose();
            RollingJsonSink.RetryDelays = retryDelays;
        }

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the report that writing resumed failed");
        Assert.That(sink.WriterEnded, Is.True);
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((4L, 0L)));
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
        Assert.That(SelfLogLines("no memory for the report, on purpose"), Has.Count.EqualTo(1), string.Join("\n", _selfLog));
    }

    [Test]
    public void AFailedReportOfAnEventThatFailedToFormatStillCompletesItWithTheBatch()
    {
        // The second of three events fails to format, and the report of it throws (no memory to box its count). The
        // writer's catch-all takes that as a fault: it drops the event held before it (io_error), and the third is
        // written after the fault's wait. Before the fix the event that failed to format was counted as dropped but never
        // completed: WaitUntilWritten waited for it, and for every later event, until its timeout.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path, o => o.Formatter = new FailingOnSeqFormatter(1));
        var failedReports = 0;
        sink.ReportForTests = report =>
        {
            if (report != "format") return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        try
        {
            sink.PauseWriter();
            for (var i = 0; i < 3; i++) sink.Emit(Event(i));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the report of the event that failed to format failed");
        Assert.That(sink.WriterEnded, Is.True);
        Assert.That((sink.EventsWritten, sink.DroppedFormatError, sink.DroppedIoError, sink.EventsDropped), Is.EqualTo((1L, 1L, 1L, 2L)));
        Assert.That(LogFiles.Lines(path), Is.EqualTo(new[] { "{\"Seq\":2}" }));
        Assert.That(SelfLogLines("writer fault: System.OutOfMemoryException: no memory for the report, on purpose"), Has.Count.EqualTo(1), string.Join("\n", _selfLog));
    }

    [Test]
    public void AFailedReportOfWhatTheShutdownDeadlineAbandonedStillCompletesIt()
    {
        // The catch-all's fault comes before every batch, so the shutdown deadline abandons the five queued events, and
        // the report of them throws (no memory to box its count): they are counted and completed all the same, and
        // disposal returns with nothing left unfinished.
        var clock = new ClockFailingOnTheWriter { Failures = int.MaxValue };
        var sink = Create(Path.Combine(_folder!.Path, "app.json"), o =>
        {
            o.TimeProvider = clock;
            o.ShutdownTimeout = TimeSpan.FromSeconds(1);
        });
        var failedReports = 0;
        sink.ReportForTests = report =>
        {
            if (report != "abandoned") return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        for (var i = 0; i < 5; i++) sink.Emit(Event(i));
        Assert.That(clock.FirstThrown.Wait(WaitLimit), Is.True, "The writer never took its first batch.");
        var disposal = Task.Run(sink.Dispose);
        Assert.That(disposal.Wait(WaitLimit), Is.True, "Disposal did not return.");

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the report of the abandoned events failed");
        Assert.That(sink.WriterEnded, Is.True);
        Assert.That((sink.EventsWritten, sink.DroppedShutdown, sink.EventsDropped), Is.EqualTo((0L, 5L, 5L)));
        Assert.That(sink.WaitUntilWritten(TimeSpan.Zero), Is.True, "An accepted event was neither written nor counted as dropped.");
        Assert.That(SelfLogLines("did not finish within the shutdown timeout"), Is.Empty);
    }

    [Test]
    public void ADurableBatchDroppedByTheWritersCatchAllAfterItsFsyncFailedIsNotLeftInTheFile()
    {
        // The fsync fails with an exception the retry does not take (so the writer's catch-all drops the batch), after
        // the handle was lost: the copy stays in the file. Before the fix only the retry's own drop took it back, so the
        // file kept a line counted as dropped.
        var path = Path.Combine(_folder!.Path, "app.json");
        var failed = 0;
        var sink = CreateDurable(path);
        sink.FlushToDiskForTests = file =>
        {
            if (Interlocked.Exchange(ref failed, 1) == 0)
            {
                file.Dispose();
                throw new InvalidOperationException("fsync failed oddly");
            }
            file.Flush(flushToDisk: true);
        };
        try
        {
            EmitAndWait(sink, Event(0));
            Assert.That(sink.DroppedIoError, Is.EqualTo(1), "the premise: the catch-all dropped the batch");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(File.Exists(path) ? LogFiles.Lines(path) : new List<string>(), Has.Count.EqualTo(sink.EventsWritten));
    }

    [Test]
    public void AnEmptyDatedFileTheSinkDidNotCreateIsNotDeletedWhenNoWriteReachedIt()
    {
        // An operator pre-created the dated file (for its owner or ACLs); every write to it failed, so it is still empty
        // at shutdown. Before the fix the sink deleted it as if it had created it itself.
        var path = Path.Combine(_folder!.Path, "app-.json");
        var dated = RollingJson.Files.FileNaming.Create(path, RollingJsonInterval.Infinite, fixedCurrentFileName: false).DatedPath(DateTime.MinValue, 0);
        File.WriteAllBytes(dated, Array.Empty<byte>());
        var retryDelays = RollingJsonSink.RetryDelays;
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        RollingJsonSink? sink = null;
        try
        {
            sink = CreateDurable(path);
            // The fsync fails every time: each attempt's bytes are taken back through the handle, and the batch is dropped.
            sink.FlushToDiskForTests = _ => throw new IOException("fsync failed");
            EmitAndWait(sink, Event(0));
            Assert.That(sink.DroppedIoError, Is.EqualTo(1), "the premise: no write reached the file");
        }
        finally
        {
            sink?.Dispose();
            RollingJsonSink.RetryDelays = retryDelays;
        }

        Assert.That(File.Exists(dated), Is.True, "An empty dated file the sink did not create is not the sink's to delete.");
        Assert.That(new FileInfo(dated).Length, Is.Zero);
    }

    [Test]
    public void AnUnsyncedBatchIsNotTakenBackFromAFileReplacedWithOtherBytesOfTheSameLength()
    {
        // The fsync fails and the handle is lost, so the batch's copy is to be taken back through a new handle; before
        // that, the file is replaced by one of exactly the same length with other content. Before the fix the length
        // alone decided, and the replacement was truncated away.
        var path = Path.Combine(_folder!.Path, "app.json");
        byte[]? replacement = null;
        var failed = 0;
        var sink = CreateDurable(path);
        sink.FlushToDiskForTests = file =>
        {
            if (Interlocked.Exchange(ref failed, 1) == 0)
            {
                var length = checked((int)file.Length);
                file.Dispose();
                replacement = Enumerable.Repeat((byte)'r', length).ToArray();
                replacement[^1] = (byte)'\n';
                var other = path + ".new";
                File.WriteAllBytes(other, replacement);
                File.Move(other, path, overwrite: true);
                throw new IOException("fsync failed");
            }
            file.Flush(flushToDisk: true);
        };
        try
        {
            EmitAndWait(sink, Event(0));
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(replacement, Is.Not.Null, "the premise: the fsync failed once");
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Length, Is.GreaterThanOrEqualTo(replacement!.Length), "The replaced file was truncated.");
        Assert.That(bytes.AsSpan(0, replacement.Length).SequenceEqual(replacement), Is.True, "The replaced file's content was not kept.");
    }

    [Test]
    public void ABatchDroppedByTheWritersCatchAllDoesNotRollAFileItNeverReached()
    {
        // The batch would have taken the file past its size limit, so a roll was due before the next event; the writer's
        // catch-all dropped it (its fsync failed with an exception the retry does not take) and the file did not grow.
        // Before the fix the roll stayed due: the next event started a new file though the first was under the limit,
        // as the retry's own drop no longer does.
        var logs = Path.Combine(_folder!.Path, "logs");
        var failing = 0;
        var sink = Create(Path.Combine(logs, "app-.json"), o =>
        {
            o.Durability = RollingJsonDurability.Durable;
            o.FileSizeLimitBytes = 4 * 1024;
        });
        sink.FlushToDiskForTests = file =>
        {
            if (Volatile.Read(ref failing) == 1)
            {
                Volatile.Write(ref failing, 0);
                throw new InvalidOperationException("fsync failed oddly");
            }
            file.Flush(flushToDisk: true);
        };
        try
        {
            for (var i = 0; i < 2; i++) EmitAndWait(sink, Event(i, text: new string('u', 1_500)));
            Volatile.Write(ref failing, 1);
            EmitAndWait(sink, Event(2, text: new string('u', 1_500)));
            Assert.That(sink.DroppedIoError, Is.EqualTo(1), "the premise: the catch-all dropped the batch");
            EmitAndWait(sink, Event(3));
        }
        finally
        {
            sink.Dispose();
        }

        var names = LogFiles.Names(logs);
        Assert.That(names, Has.Length.EqualTo(1), string.Join(", ", names));
        Assert.That(sink.Rollovers, Is.Zero);
        Assert.That(LogFiles.AllLines(logs), Has.Count.EqualTo(3));
    }

    [TestCase(1)]
    [TestCase(int.MaxValue)]
    public void ADurableBatchWhoseFsyncFailedAndCouldNotBeTakenBackIsInTheFileOnceOrNotAtAll(int failures)
    {
        var path = Path.Combine(_folder!.Path, "app.json");
        var retryDelays = RollingJsonSink.RetryDelays;
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1) };
        RollingJsonSink? sink = null;
        var left = failures;
        try
        {
            sink = CreateDurable(path);
            sink.FlushToDiskForTests = file =>
            {
                if (Interlocked.Decrement(ref left) < 0)
                {
                    file.Flush(flushToDisk: true);
                    return;
                }
                // The fsync fails after the batch was appended, and the handle is lost with it: the bytes cannot be taken
                // back through it (as when the truncation fails too).
                file.Dispose();
                throw new IOException("fsync failed");
            };
            sink.Emit(Event(0));
            sink.Emit(Event(1));
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        }
        finally
        {
            sink?.Dispose();
            RollingJsonSink.RetryDelays = retryDelays;
        }

        // Before the fix each retry appended the batch again after the copy the failed fsync left: in the file twice when
        // the retry succeeded, and three times (yet counted as dropped) when every attempt failed.
        var sequences = File.Exists(path) ? LogFiles.Lines(path).Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()).ToList() : new List<long>();
        if (failures == 1)
        {
            Assert.That(sequences, Is.EqualTo(new long[] { 0, 1 }));
            Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((2L, 0L)));
        }
        else
        {
            Assert.That(sequences, Is.Empty, "A batch counted as dropped is not left in the file.");
            Assert.That((sink.EventsWritten, sink.DroppedIoError), Is.EqualTo((0L, 2L)));
        }
    }

    [Test]
    public void WritingThatFailsAndResumesAgainAndAgainIsReportedResumedOncePerIntervalWithItsCount()
    {
        // A flapping disk: each recovery wrote a line. Here the file's path becomes a directory and a file again.
        var path = Path.Combine(_folder!.Path, "app.json");
        var reportInterval = RollingJsonSink.ReportInterval;
        var retryDelays = RollingJsonSink.RetryDelays;
        var fileCheckInterval = RollingJsonSink.FileCheckInterval;
        RollingJsonSink.ReportInterval = TimeSpan.FromHours(1);
        RollingJsonSink sink;
        try
        {
            sink = Create(path);
        }
        finally
        {
            RollingJsonSink.ReportInterval = reportInterval;
        }
        const int flaps = 5;
        long sequence = 0;
        try
        {
            RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
            // The path is checked before every batch.
            RollingJsonSink.FileCheckInterval = TimeSpan.Zero;
            EmitAndWait(sink, Event(sequence++));
            for (var i = 0; i < flaps; i++)
            {
                File.Delete(path);
                Directory.CreateDirectory(path);
                var dropped = sink.DroppedIoError;
                EmitAndWait(sink, Event(sequence++));
                Assert.That(sink.DroppedIoError, Is.EqualTo(dropped + 1), "the premise: writing failed");
                Directory.Delete(path);
                var written = sink.EventsWritten;
                EmitAndWait(sink, Event(sequence++));
                Assert.That(sink.EventsWritten, Is.EqualTo(written + 1), "the premise: writing resumed");
            }
        }
        finally
        {
            RollingJsonSink.RetryDelays = retryDelays;
            RollingJsonSink.FileCheckInterval = fileCheckInterval;
            sink.Dispose();
        }

        var lines = SelfLogLines("writing resumed");
        Assert.That(lines, Has.Count.EqualTo(2), string.Join("\n", lines));
        Assert.That(lines[0], Does.EndWith("writing resumed."));
        Assert.That(ReportedCount(lines, @"writing resumed\.()$|writing resumed \((\d+) times|writing resumed (\d+) more time"), Is.EqualTo(flaps), string.Join("\n", lines));
    }

    [Test]
    public void ABatchWhoseBufferFindsNoMemoryAsItIsClearedIsCountedOnlyAsWrittenAndItsArrayReturnedOnce()
    {
        // One large event grows the batch buffer past eight times its start size, so once the batch is written the
        // buffer is cleared to a smaller one, which finds no memory. Before the fix that clear returned the large array
        // to the pool and then threw, after the batch was counted as written: the writer's catch-all counted it as dropped
        // too (written + dropped above logged), and returned the array to the pool a second time, for two renters to share.
        var pool = new RecordingArrayPool();
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path, o => o.BufferPool = pool);
        pool.FailNextRents(RollingJsonSink.BatchBufferBytes, 1);
        try
        {
            EmitAndWait(sink, Event(0, text: new string('m', 3_000_000)), Event(1));
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(pool.FailedRents, Is.EqualTo(1), "the premise: the smaller buffer found no memory");
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((2L, 0L)));
        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(2));
        Assert.That(pool.DoubleReturns, Is.EqualTo(0), "An array went back to the pool twice.");
        Assert.That(SelfLogLines("writer fault"), Is.Empty);
    }

    public enum FailingReturns
    {
        TheFirst,
        TheClearAfterTheFirstWrite,
        Every,
    }

    [TestCase(FailingReturns.TheFirst)]
    [TestCase(FailingReturns.TheClearAfterTheFirstWrite)]
    [TestCase(FailingReturns.Every)]
    public void ABatchBufferThePoolCannotTakeBackIsLeftToTheGcAndEveryEventIsWrittenOnce(FailingReturns failing)
    {
        // One large event grows the batch buffer (each larger array replaces the last, which goes back to the pool), and
        // once the batch is written the buffer is cleared to a smaller one (the large one goes back). The pool throws (no
        // memory) at the first return (the growth's), at the clear after the first write, or at every one. Before the fix
        // the growth's failed return dropped the large event as one that failed to format; the clear's, after the batch
        // was counted as written, went to the writer's catch-all, which counted the batch as dropped too, and whose own
        // clear, when it threw again, ended the writer thread, and with it the process.
        var pool = new RecordingArrayPool();
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path, o => o.BufferPool = pool);
        if (failing == FailingReturns.TheClearAfterTheFirstWrite)
        {
            var writes = 0;
            // Runs after the batch's write, before it is counted and the buffer cleared.
            sink.AfterWriteForTests = _ =>
            {
                if (Interlocked.Increment(ref writes) == 1) pool.FailNextReturns(1);
            };
        }
        else
        {
            pool.FailNextReturns(failing == FailingReturns.TheFirst ? 1 : int.MaxValue);
        }
        try
        {
            EmitAndWait(sink, Event(0, text: new string('m', 3_000_000)), Event(1));
            EmitAndWait(sink, Event(2));
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(pool.FailedReturns, Is.GreaterThan(0), "the premise: the pool took no array back");
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((3L, 0L)));
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 1, 2 }));
        // An array the pool threw on may be the pool's already: never returned again.
        Assert.That(pool.DoubleReturns, Is.EqualTo(0), "An array went back to the pool twice.");
        Assert.That(SelfLogLines("writer fault"), Is.Empty);
        Assert.That(SelfLogLines("formatter failed"), Is.Empty);
    }

    [Test]
    public void AHousekeepingPassWhoseThreadCannotStartIsReportedAndLaterPassesRun()
    {
        // The first pass's thread cannot be created (a container's process limit, no memory). Before the fix the
        // housekeeper still counted that pass as running: no later pass ever ran (retention kept every file), the writer
        // reported the failure as a "writer fault", and disposal waited the whole shutdown timeout for the pass.
        var path = Path.Combine(_folder!.Path, "app-.json");
        var sink = Create(path, o =>
        {
            o.FileSizeLimitBytes = 1_000;
            o.RetainedFileCountLimit = 2;
            // Disposal waits at most this for the last housekeeping pass, which must finish: it returns as soon as it does.
            o.ShutdownTimeout = WaitLimit;
        });
        var starts = 0;
        sink.HousekeeperForTests.StartThreadForTests = () =>
        {
            if (Interlocked.Increment(ref starts) == 1) throw new OutOfMemoryException("no thread for housekeeping, on purpose");
        };
        try
        {
            for (var i = 0; i < 10; i++) EmitAndWait(sink, Event(i, text: new string('x', 300)));
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((10L, 0L)));
        Assert.That(LogFiles.Names(_folder.Path), Has.Length.EqualTo(2), "Retention by count ran after the pass that could not start.");
        Assert.That(SelfLogLines("housekeeping could not start"), Has.Count.EqualTo(1));
        Assert.That(SelfLogLines("still running at the shutdown timeout"), Is.Empty);
        Assert.That(SelfLogLines("writer fault"), Is.Empty);
    }

    [Test]
    public void AFailedReportOfAnEventLoggedAfterDisposalNeitherThrowsIntoTheCallerNorLosesItsCount()
    {
        // The first event logged after disposal is reported on the caller's thread, and that report throws (no memory to
        // box its count). Before the fix the boxing was outside the guarded SelfLog call: the exception reached Emit.
        var sink = Create(Path.Combine(_folder!.Path, "app.json"));
        var failedReports = 0;
        sink.ReportForTests = report =>
        {
            if (report != "late") return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        sink.Dispose();

        Assert.DoesNotThrow(() => sink.Emit(Event(0)));
        Assert.DoesNotThrow(() => sink.Emit(Event(1)));

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the one report of events logged after disposal failed");
        Assert.That((sink.DroppedShutdown, sink.EventsDropped), Is.EqualTo((2L, 2L)));
    }

    [Test]
    public void AFailedReportOfEventsAProcessEndDidNotWriteNeitherThrowsFromTheHandlerNorFromTheCaller()
    {
        // ProcessExit (here called as the runtime would) waits for a writer that does not run, times out and reports what
        // is not written; that report throws (no memory to format its counts). Before the fix the formatting was outside
        // the guarded SelfLog call: the exception left the ProcessExit handler, which ends the process as an unhandled
        // exception, and a caller waiting in Emit as the process ends got it too.
        var sink = Create(Path.Combine(_folder!.Path, "app.json"), o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(500));
        var failedReports = 0;
        sink.ReportForTests = report =>
        {
            if (report != "not written") return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        try
        {
            sink.PauseWriter();
            sink.Emit(Event(0));
            var handler = Task.Factory.StartNew(sink.DrainAsProcessEnds, TaskCreationOptions.LongRunning);
            Assert.That(SpinWait.SpinUntil(() => sink.ProgressWaiters == 1, WaitLimit), Is.True, "The handler never waited.");
            // In the handler's window (unless the machine was slower than it): waits beside it, and one of the two reports.
            Assert.DoesNotThrow(() => sink.Emit(Event(1)));
            Assert.DoesNotThrow(() => handler.Wait(WaitLimit), "The ProcessExit handler threw.");
            Assert.That(handler.IsCompleted, Is.True);
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the window's one report failed");
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((2L, 0L)));
    }

    [Test]
    public void AFailedFinalReportDoesNotSkipTheFinalReportsAfterIt()
    {
        // At disposal the writer makes every report the interval held back. The first of them (the queue-full drops)
        // throws (no memory to box its count). Before the fix the final reports were guarded as one step: the one after it
        // (a second event that failed to format) was never made.
        var interval = RollingJsonSink.ReportInterval;
        RollingJsonSink.ReportInterval = TimeSpan.FromHours(1);
        RollingJsonSink sink;
        try
        {
            sink = Create(Path.Combine(_folder!.Path, "app.json"), o =>
            {
                o.QueueLimit = 1;
                o.Formatter = new TestUtf8Formatter { ThrowWhen = e => e.Properties["Seq"] is Serilog.Events.ScalarValue { Value: 100L or 101L } };
            });
        }
        finally
        {
            RollingJsonSink.ReportInterval = interval;
        }
        var failFinal = false;
        var failedReports = 0;
        sink.ReportForTests = report =>
        {
            if (report != "queue full" || !Volatile.Read(ref failFinal)) return;
            Interlocked.Increment(ref failedReports);
            throw new OutOfMemoryException("no memory for the report, on purpose");
        };
        try
        {
            // Two events that fail to format: the first is reported at once, the second is held for the next report.
            EmitAndWait(sink, Event(100));
            EmitAndWait(sink, Event(101));
            // Two rounds of a queue-full drop: the first is reported at once, the second is held.
            for (var round = 0; round < 2; round++)
            {
                sink.PauseWriter();
                sink.Emit(Event(round));
                sink.Emit(Event(10 + round));
                sink.ResumeWriter();
                Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
            }
            Volatile.Write(ref failFinal, true);
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(failedReports, Is.EqualTo(1), "the premise: the final queue-full report failed");
        Assert.That((sink.EventsWritten, sink.DroppedFormatError, sink.DroppedQueueFull), Is.EqualTo((2L, 2L, 2L)));
        Assert.That(SelfLogLines("the formatter failed, 1 more event(s) dropped"), Has.Count.EqualTo(1), string.Join("\n", _selfLog));
        Assert.That(SelfLogLines("no memory for the report, on purpose"), Has.Count.EqualTo(1), string.Join("\n", _selfLog));
    }

    [Test]
    public void ACallerInterruptedWhileItWaitsForRoomInAFullQueueGetsNoExceptionItsEventIsCountedAsDroppedAndTheInterruptIsKept()
    {
        // blockWhenFull: the caller waits for room in a full queue, and another thread interrupts it (Thread.Interrupt).
        // Before the fix the ThreadInterruptedException left Emit, and the event was neither queued nor counted.
        var sink = Create(Path.Combine(_folder!.Path, "app.json"), o =>
        {
            o.QueueLimit = 1;
            o.BlockWhenFull = true;
        });
        Exception? escaped = null;
        var interruptKept = false;
        try
        {
            sink.PauseWriter();
            sink.Emit(Event(0));
            var caller = new Thread(() =>
            {
                try
                {
                    sink.Emit(Event(1));
                }
                catch (Exception ex)
                {
                    escaped = ex;
                    return;
                }
                try
                {
                    // The interrupt is the application's: its next wait gets it.
                    Thread.Sleep(WaitLimit);
                }
                catch (ThreadInterruptedException)
                {
                    interruptKept = true;
                }
            });
            caller.Start();
            Assert.That(SpinWait.SpinUntil(() => sink.RoomWaiters == 1, WaitLimit), Is.True, "The caller never waited for room.");
            caller.Interrupt();
            Assert.That(caller.Join(WaitLimit + WaitLimit), Is.True);
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(escaped, Is.Null);
        Assert.That(interruptKept, Is.True, "The caller's interrupt was swallowed.");
        Assert.That((sink.EventsWritten, sink.DroppedQueueFull, sink.EventsDropped), Is.EqualTo((1L, 1L, 1L)));
        Assert.That(SelfLogLines("was interrupted"), Has.Count.EqualTo(1), string.Join("\n", _selfLog));
    }

    [Test]
    public void ACallerInterruptedWhileItWaitsForItsEventAsTheProcessEndsGetsNoExceptionAndTheEventIsStillWritten()
    {
        // The process began to end (ProcessExit, called here as the runtime would): each caller waits until its event is
        // written. Another thread interrupts a waiting caller. Before the fix the ThreadInterruptedException left Emit.
        var sink = Create(Path.Combine(_folder!.Path, "app.json"), o => o.ShutdownTimeout = WaitLimit);
        Exception? escaped = null;
        var interruptKept = false;
        try
        {
            sink.DrainAsProcessEnds();
            sink.PauseWriter();
            var caller = new Thread(() =>
            {
                try
                {
                    sink.Emit(Event(0));
                }
                catch (Exception ex)
                {
                    escaped = ex;
                    return;
                }
                try
                {
                    Thread.Sleep(WaitLimit);
                }
                catch (ThreadInterruptedException)
                {
                    interruptKept = true;
                }
            });
            caller.Start();
            Assert.That(SpinWait.SpinUntil(() => sink.ProgressWaiters == 1, WaitLimit), Is.True, "The caller never waited for its event.");
            caller.Interrupt();
            Assert.That(caller.Join(WaitLimit + WaitLimit), Is.True);
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(escaped, Is.Null);
        Assert.That(interruptKept, Is.True, "The caller's interrupt was swallowed.");
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((1L, 0L)));
    }

    [Test]
    public void ADisposalOnAnInterruptedThreadStillDrainsAndReleasesThePathAndKeepsTheInterrupt()
    {
        // Log.CloseAndFlush in a finally of a thread the application interrupted (Thread.Interrupt): the interrupt is
        // pending as disposal begins. Before the fix the wait for the writer threw it: the disposal ended half way, its
        // events not yet written, the path still claimed (a logger configured on it next threw) and the sink still
        // subscribed to the process-end events.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path);
        Exception? escaped = null;
        var interruptKept = false;
        try
        {
            sink.PauseWriter();
            sink.Emit(Event(0));
            var thread = new Thread(() =>
            {
                Thread.CurrentThread.Interrupt();
                sink.ResumeWriter();
                try
                {
                    sink.Dispose();
                }
                catch (Exception ex)
                {
                    escaped = ex;
                    return;
                }
                try
                {
                    Thread.Sleep(WaitLimit);
                }
                catch (ThreadInterruptedException)
                {
                    interruptKept = true;
                }
            });
            thread.Start();
            Assert.That(thread.Join(WaitLimit + WaitLimit), Is.True);
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(escaped, Is.Null);
        Assert.That(interruptKept, Is.True, "The disposing thread's interrupt was swallowed.");
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((1L, 0L)));
        Assert.That(sink.WriterEnded, Is.True);
        Assert.DoesNotThrow(() => Create(path).Dispose(), "The path is still claimed.");
    }

    /// <summary>Writes <c>{"Seq":n}</c> lines, and throws for one sequence number.</summary>
    sealed class FailingOnSeqFormatter(long failing) : Serilog.Formatting.ITextFormatter
    {
        public void Format(Serilog.Events.LogEvent logEvent, TextWriter output)
        {
            var seq = ((Serilog.Events.ScalarValue)logEvent.Properties["Seq"]).Value;
            if (Equals(seq, failing)) throw new FormatException("cannot format this event, on purpose");
            output.Write("{\"Seq\":" + seq + "}\n");
        }
    }

    [Test]
    public void AnEventThatFailedToFormatBehindLinesAFailedWriteKeptWholeIsCompletedWithThem()
    {
        // The second of three events fails to format: it is completed with the batch, never ahead of the events before it.
        // The write then reports a failure though all of its bytes reached the file, so the cut write keeps, counts and
        // completes every line, and the retries, which fail too, have nothing left to drop. Before the fix the event that
        // failed to format was completed with neither, so WaitUntilWritten (and a process-end drain) waited for it, and for
        // every later event, until its timeout.
        var retryDelays = RollingJsonSink.RetryDelays;
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = Create(path, o => o.Formatter = new FailingOnSeqFormatter(1));
        sink.AfterWriteForTests = _ => throw new IOException("the write failed after its bytes landed, on purpose");
        try
        {
            sink.PauseWriter();
            for (var i = 0; i < 3; i++) sink.Emit(Event(i));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
            RollingJsonSink.RetryDelays = retryDelays;
        }

        Assert.That(LogFiles.Lines(path), Is.EqualTo(new[] { "{\"Seq\":0}", "{\"Seq\":2}" }));
        Assert.That((sink.EventsWritten, sink.DroppedFormatError, sink.EventsDropped), Is.EqualTo((2L, 1L, 1L)));
    }

    /// <summary>A <see cref="RollingJsonDurability.Durable"/> sink at <paramref name="path"/> with no size limit.</summary>
    static RollingJsonSink CreateDurable(string path) => Create(path, o =>
    {
        o.Durability = RollingJsonDurability.Durable;
        o.FileSizeLimitBytes = null;
    });
}
