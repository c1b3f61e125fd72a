using System.Diagnostics.Metrics;
using System.Text.Json;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// Faults that meet: a disk that fills while files roll and are compressed, a disposal while the writer waits to retry.
/// Each test runs on its own small tmpfs and captures SelfLog.
/// </summary>
[NonParallelizable]
public class CombinedFaultTests
{
    readonly List<string> _selfLog = new();
    TemporarySelfLog? _capture;
    TempFolder? _folder;
    string? _mountPoint;
    TimeSpan[] _retryDelays = RollingJsonSink.RetryDelays;
    TimeSpan _reportInterval = RollingJsonSink.ReportInterval;

    [SetUp]
    public void SetUp()
    {
        lock (_selfLog) _selfLog.Clear();
        _capture = TemporarySelfLog.SaveTo(_selfLog);
        _folder = TempFolder.ForCaller();
        _retryDelays = RollingJsonSink.RetryDelays;
        _reportInterval = RollingJsonSink.ReportInterval;
    }

    [TearDown]
    public void TearDown()
    {
        RollingJsonSink.RetryDelays = _retryDelays;
        RollingJsonSink.ReportInterval = _reportInterval;
        if (_mountPoint is not null) Mounts.UnmountAll(_mountPoint);
        _mountPoint = null;
        _capture?.Dispose();
        _folder?.Dispose();
    }

    string MountLogs(string size)
    {
        _mountPoint = Path.Combine(_folder!.Path, "mnt");
        Mounts.MountTmpfsOrIgnore(_mountPoint, size);
        var logs = Path.Combine(_mountPoint, "logs");
        Directory.CreateDirectory(logs);
        return logs;
    }

    string SelfLogText()
    {
        lock (_selfLog) return string.Join("\n", _selfLog);
    }

    [Test]
    public void DisposalDuringARetryWaitOnAFullDiskEndsTheWaitAndCountsTheBatchBeforeItReturns()
    {
        var logs = MountLogs("1m");
        Mounts.FillDisk(_mountPoint!);
        // A retry wait longer than the shutdown timeout and the margin disposal gives a write stuck in the kernel. The
        // margin is the wait limit, not its 1 s default: a loaded machine that stalls the writer longer than that is no
        // writer that failed to stop.
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMinutes(10) };
        var sink = Create(Path.Combine(logs, "app.json"), o =>
        {
            o.FileSizeLimitBytes = null;
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
            o.WriterStopMargin = WaitLimit;
        });
        using var waiting = new ManualResetEventSlim();
        sink.BeforeRetryWaitForTests = waiting.Set;
        try
        {
            sink.Emit(Event(0, text: new string('w', 8 * 1024)));
            Assert.That(waiting.Wait(WaitLimit), Is.True, "The first write should fail on the full disk.");
        }
        finally
        {
            sink.Dispose();
        }

        // Before the fix the writer slept through the disposal: Dispose gave up on it, and returned with the event neither
        // written nor counted (and the file still open, so the disk could not even be unmounted).
        Assert.That(sink.WriterEnded, Is.True, "Disposal returned while the writer still waited to retry.");
        Assert.That(sink.EventsWritten + sink.EventsDropped, Is.EqualTo(1));
        Assert.That(SelfLogText(), Does.Not.Contain("did not finish within the shutdown timeout"));
    }

    /// <summary>The sink's written and dropped counters as a listener of its Meter sees them.</summary>
    sealed class MeteredCounts : IDisposable
    {
        readonly MeterListener _listener = new();
        long _written;
        long _dropped;

        public MeteredCounts()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Serilog.Extensions.Observability.Sinks.RollingJson"
                    && instrument.Name is "serilog.rolling_json.events.written" or "serilog.rolling_json.events.dropped")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == "serilog.rolling_json.events.written") Interlocked.Add(ref _written, value);
                else Interlocked.Add(ref _dropped, value);
            });
            _listener.Start();
        }

        public long Written => Interlocked.Read(ref _written);
        public long Dropped => Interlocked.Read(ref _dropped);

        public void Dispose() => _listener.Dispose();
    }

    [TestCase(null)]
    [TestCase(4)]
    public void ADiskThatFillsWhileFilesRollAndAreCompressedLosesNoCountAndLeavesEveryFileWhole(int? retainedFiles)
    {
        var logs = MountLogs("2m");
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        using var metered = new MeteredCounts();
        var sink = Create(Path.Combine(logs, "app-.json"), o =>
        {
            o.FileSizeLimitBytes = 16 * 1024;
            o.CompressRolledFiles = true;
            o.RetainedFileCountLimit = retainedFiles;
        });
        var payload = new string('c', 1_000);
        long logged = 0;
        try
        {
            // Some rolled and compressed files, then a disk that fills while the writer rolls and the housekeeping
            // thread compresses: each competes with the other for the last blocks.
            for (var i = 0; i < 100; i++) EmitAndWait(sink, Event(logged++, text: payload));
            Assert.That(sink.HousekeeperForTests.WaitIdle(WaitLimit), Is.True);
            var filler = Mounts.FillDisk(_mountPoint!);
            for (var i = 0; i < 100; i++) EmitAndWait(sink, Event(logged++, text: payload));
            // With a count limit, retention deletes a file at each roll and so makes room again and again.
            if (retainedFiles is null) Assert.That(sink.DroppedIoError, Is.GreaterThan(0), "The disk should have been full.");
            Assert.That(sink.HousekeeperForTests.WaitIdle(WaitLimit), Is.True);

            // Space comes back: writing resumes, and the next roll's pass compresses what the full disk left plain.
            File.Delete(filler);
            var rollovers = sink.Rollovers;
            while (sink.Rollovers < rollovers + 2)
            {
                Assert.That(logged, Is.LessThan(1_000), "The sink should roll again once the disk has room.");
                EmitAndWait(sink, Event(logged++, text: payload));
            }
            Assert.That(sink.HousekeeperForTests.WaitIdle(WaitLimit), Is.True);
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(sink.EventsWritten + sink.EventsDropped, Is.EqualTo(logged));
        Assert.That((metered.Written, metered.Dropped), Is.EqualTo((sink.EventsWritten, sink.EventsDropped)));
        var names = LogFiles.Names(logs);
        Assert.That(names.Where(n => !n.EndsWith(".json", StringComparison.Ordinal) && !n.EndsWith(".json.gz", StringComparison.Ordinal)), Is.Empty,
            "A compression cut by the full disk left its temporary file.");
        // Every rolled file compressed once there was room, none left twice; the current file stays plain.
        Assert.That(names.Count(n => n.EndsWith(".json", StringComparison.Ordinal)), Is.EqualTo(1), string.Join(", ", names));
        if (retainedFiles is { } limit) Assert.That(names, Has.Length.LessThanOrEqualTo(limit));
        var lines = LogFiles.AllLines(logs);
        foreach (var line in lines) Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose());
        var sequences = lines.Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()).ToList();
        Assert.That(sequences, Is.Unique);
        Assert.That(sequences, Does.Contain(logged - 1));
        if (retainedFiles is null) Assert.That(lines, Has.Count.EqualTo(sink.EventsWritten));
    }

    [Test]
    public void PeriodsWhoseEventsAllFailedOnAFullDiskDoNotPushFilesOfEventsOutOfRetention()
    {
        var logs = MountLogs("1m");
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 30, TimeSpan.Zero));
        var sink = Create(Path.Combine(logs, "app-.json"), o =>
        {
            o.RollingInterval = RollingJsonInterval.Minute;
            o.RollOnUtc = true;
            o.TimeProvider = time;
            o.RetainedFileCountLimit = 3;
        });
        try
        {
            // Three minutes with an event each: three files of one page each.
            for (var minute = 0; minute < 3; minute++)
            {
                if (minute > 0) time.Advance(TimeSpan.FromMinutes(1));
                EmitAndWait(sink, Event(minute));
            }
            Assert.That(sink.HousekeeperForTests.WaitIdle(WaitLimit), Is.True);
            Mounts.FillDisk(_mountPoint!);
            // Then the disk is full for four minutes. Each event is larger than what deleting a file of one page frees,
            // so that retention cannot make room for it either.
            for (var minute = 3; minute < 7; minute++)
            {
                time.Advance(TimeSpan.FromMinutes(1));
                EmitAndWait(sink, Event(minute, text: new string('f', 64 * 1024)));
                Assert.That(sink.HousekeeperForTests.WaitIdle(WaitLimit), Is.True);
            }
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(sink.DroppedIoError, Is.EqualTo(4));
        // Before the fix each of those minutes left an empty file, which retention by count kept as the newest and
        // deleted the files of written events for: none of the three was left.
        var sequences = LogFiles.AllLines(logs).Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64());
        Assert.That(sequences, Is.EqualTo(new long[] { 1, 2 }), string.Join(", ", LogFiles.Names(logs)));
        Assert.That(sink.Rollovers, Is.EqualTo(3), "Only the files that held events rolled.");
    }

    [Test]
    public void AFileOpenedByASizeRollThatNoWriteReachedBeforeShutdownIsNotLeftEmpty()
    {
        var logs = MountLogs("1m");
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        var sink = Create(Path.Combine(logs, "app-.json"), o => o.FileSizeLimitBytes = 4 * 1024);
        try
        {
            // Past the size limit: the next event rolls, and the new file is opened before it is written.
            for (var i = 0; i < 3; i++) EmitAndWait(sink, Event(i, text: new string('s', 1_500)));
            Mounts.FillDisk(_mountPoint!);
            EmitAndWait(sink, Event(3, text: new string('s', 1_500)));
            Assert.That(sink.DroppedIoError, Is.EqualTo(1), "The disk should have been full.");
        }
        finally
        {
            sink.Dispose();
        }

        // Before the fix the new file stayed behind empty at shutdown, to count for retention as a file of events.
        var names = LogFiles.Names(logs);
        Assert.That(names.Where(n => new FileInfo(Path.Combine(logs, n)).Length == 0), Is.Empty, string.Join(", ", names));
        Assert.That(LogFiles.AllLines(logs), Has.Count.EqualTo(3));
    }

    [Test]
    public void ProducersBlockedOnAFullQueueOverAFullDiskAreReleasedByDisposalAndEveryEventIsCounted()
    {
        var logs = MountLogs("1m");
        Mounts.FillDisk(_mountPoint!);
        // The writer spends each batch in a long retry wait: the queue fills and stays full, and producers wait for room.
        // As above, the wait outlasts the shutdown timeout and disposal's margin, and the margin any scheduling stall.
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMinutes(10) };
        var sink = Create(Path.Combine(logs, "app.json"), o =>
        {
            o.FileSizeLimitBytes = null;
            o.QueueLimit = 8;
            o.BlockWhenFull = true;
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
            o.WriterStopMargin = WaitLimit;
        });
        const int producers = 4;
        long logged = 0;
        var threads = new List<Thread>();
        try
        {
            for (var p = 0; p < producers; p++)
            {
                var producer = p;
                var thread = new Thread(() =>
                {
                    for (var i = 0; i < 50; i++)
                    {
                        sink.Emit(Event(producer * 1_000 + i, text: new string('b', 4 * 1024)));
                        Interlocked.Increment(ref logged);
                    }
                }) { IsBackground = true };
                threads.Add(thread);
                thread.Start();
            }
            var until = DateTime.UtcNow + WaitLimit;
            while (sink.RoomWaiters == 0)
            {
                var diagnostics = $"waiters {sink.RoomWaiters}, logged {Interlocked.Read(ref logged)}, written {sink.EventsWritten}, dropped {sink.EventsDropped}, alive {threads.Count(t => t.IsAlive)}\n{SelfLogText()}";
                Assert.That(threads.Any(t => t.IsAlive) && DateTime.UtcNow < until, Is.True, "Producers should come to wait for room: " + diagnostics);
                Thread.Yield();
            }
        }
        finally
        {
            sink.Dispose();
        }

        foreach (var thread in threads) Assert.That(thread.Join(WaitLimit), Is.True, "A producer stayed blocked after disposal.");
        Assert.That(sink.WriterEnded, Is.True);
        Assert.That(sink.EventsWritten, Is.EqualTo(0));
        Assert.That(sink.EventsDropped, Is.EqualTo(Interlocked.Read(ref logged)));
        Assert.That(Interlocked.Read(ref logged), Is.EqualTo(producers * 50));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void APersistentlyFullDiskAcrossTimeRollsIsReportedOncePerIntervalNotPerEventOrPeriod(bool fixedCurrentFileName)
    {
        var logs = MountLogs("1m");
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromMilliseconds(1) };
        // The interval between two reports of failed writes is real time, not the fake clock's: at the default 10 s a run
        // slower than that (a loaded machine) made a second, legitimate report of the same trouble and failed the count.
        // An hour keeps the count about what the rolls do, whatever the run takes.
        RollingJsonSink.ReportInterval = TimeSpan.FromHours(1);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 30, TimeSpan.Zero));
        var sink = Create(Path.Combine(logs, "app-.json"), o =>
        {
            o.RollingInterval = RollingJsonInterval.Minute;
            o.RollOnUtc = true;
            o.TimeProvider = time;
            o.FixedCurrentFileName = fixedCurrentFileName;
            o.CompressRolledFiles = true;
            o.FileSizeLimitBytes = 8 * 1024;
            o.RetainedFileCountLimit = 5;
            o.Durability = RollingJsonDurability.Durable;
        });
        long logged = 0;
        int reports;
        try
        {
            // A few rolled files, then a disk that stays full for 30 minutes, each with events that all fail.
            for (var i = 0; i < 40; i++) EmitAndWait(sink, Event(logged++, text: new string('a', 500)));
            Assert.That(sink.HousekeeperForTests.WaitIdle(WaitLimit), Is.True);
            Mounts.FillDisk(_mountPoint!);
            lock (_selfLog) _selfLog.Clear();
            for (var minute = 0; minute < 30; minute++)
            {
                time.Advance(TimeSpan.FromMinutes(1));
                for (var i = 0; i < 10; i++) EmitAndWait(sink, Event(logged++, Serilog.Events.LogEventLevel.Error, text: new string('f', 5_000)));
                Assert.That(sink.HousekeeperForTests.WaitIdle(WaitLimit), Is.True);
            }
            lock (_selfLog) reports = _selfLog.Count;
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(sink.DroppedIoError, Is.EqualTo(300));
        Assert.That(sink.EventsWritten + sink.EventsDropped, Is.EqualTo(logged));
        // The first failed write, and the one rolled file that the full disk kept from being compressed. Before the fix
        // every minute opened a new file that no write reached, rolled it and started a pass that tried to compress each
        // such file again, with a report for each.
        Assert.That(reports, Is.LessThanOrEqualTo(3), SelfLogText());
    }
}
