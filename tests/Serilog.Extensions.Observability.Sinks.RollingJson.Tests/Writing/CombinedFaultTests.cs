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

    [SetUp]
    public void SetUp()
    {
        lock (_selfLog) _selfLog.Clear();
        _capture = TemporarySelfLog.SaveTo(_selfLog);
        _folder = TempFolder.ForCaller();
        _retryDelays = RollingJsonSink.RetryDelays;
    }

    [TearDown]
    public void TearDown()
    {
        RollingJsonSink.RetryDelays = _retryDelays;
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

    /// <summary>Fills what is left of the tmpfs with one file; returns its path.</summary>
    static string FillDisk(string mountPoint)
    {
        var filler = Path.Combine(mountPoint, "filler");
        var block = new byte[4096];
        try
        {
            using var file = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            while (true) file.Write(block);
        }
        catch (IOException)
        {
            // No space left: what we wanted.
        }
        return filler;
    }

    string SelfLogText()
    {
        lock (_selfLog) return string.Join("\n", _selfLog);
    }

    [Test]
    public void DisposalDuringARetryWaitOnAFullDiskEndsTheWaitAndCountsTheBatchBeforeItReturns()
    {
        var logs = MountLogs("1m");
        FillDisk(_mountPoint!);
        // A retry wait longer than the shutdown timeout and the margin disposal gives a write stuck in the kernel.
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromSeconds(5) };
        var sink = Create(Path.Combine(logs, "app.json"), o =>
        {
            o.FileSizeLimitBytes = null;
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
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
            FillDisk(_mountPoint!);
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
}
