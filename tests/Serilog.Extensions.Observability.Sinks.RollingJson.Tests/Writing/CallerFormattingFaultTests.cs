using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// Lines formatted by their callers (<see cref="RollingJsonOptions.CallerFormatBacklog"/>) under faults and disposal:
/// written + dropped equals logged, counted as events are, and no line is lost, counted twice or written after its
/// return to the pool. All capture SelfLog.
/// </summary>
[NonParallelizable]
public class CallerFormattingFaultTests
{
    readonly List<string> _selfLog = new();
    readonly List<string> _mountPoints = new();
    TemporarySelfLog? _capture;
    TempFolder? _folder;
    TimeSpan[] _retryDelays = RollingJsonSink.RetryDelays;
    TimeSpan _faultDelay = RollingJsonSink.FaultDelay;

    [SetUp]
    public void SetUp()
    {
        lock (_selfLog) _selfLog.Clear();
        _capture = TemporarySelfLog.SaveTo(_selfLog);
        _folder = TempFolder.ForCaller();
        _retryDelays = RollingJsonSink.RetryDelays;
        _faultDelay = RollingJsonSink.FaultDelay;
    }

    [TearDown]
    public void TearDown()
    {
        RollingJsonSink.RetryDelays = _retryDelays;
        RollingJsonSink.FaultDelay = _faultDelay;
        foreach (var mountPoint in _mountPoints) Mounts.UnmountAll(mountPoint);
        _mountPoints.Clear();
        _capture?.Dispose();
        _folder?.Dispose();
    }

    string SelfLogText()
    {
        lock (_selfLog) return string.Join("\n", _selfLog);
    }

    /// <summary>A sink whose events are formatted by their callers past the first queued one (or never).</summary>
    static RollingJsonSink CreateSink(string path, bool callersFormat, Action<RollingJsonOptions>? configure = null) => Create(path, o =>
    {
        o.Formatter = new CompactJsonFormatter();
        o.CallerFormatBacklog = callersFormat ? 1 : 0;
        configure?.Invoke(o);
    });

    static List<long> Sequences(IEnumerable<string> lines) =>
        lines.Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64()).ToList();

    [Test]
    public void ALineWhoseCopyIntoTheBatchFailsIsCountedAsDroppedAndTheWriterGoesOn()
    {
        // The copy grows the batch buffer (an OutOfMemoryException), or meets any bug: before the fix it was outside the
        // writer's handling of a failed event, so the line was neither written nor counted, and WaitUntilWritten (and
        // disposal) waited for it until its timeout.
        var path = Path.Combine(_folder!.Path, "app.json");
        var sink = CreateSink(path, callersFormat: true);
        var copies = 0;
        sink.LineCopyForTests = () =>
        {
            if (Interlocked.Increment(ref copies) == 3) throw new OutOfMemoryException("no room to grow the batch, on purpose");
        };
        try
        {
            sink.PauseWriter();
            for (var i = 0; i < 10; i++) sink.Emit(Event(i));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(TimeSpan.FromSeconds(10)), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        // Events 1 to 9 were lines; the third copied (event 3) failed.
        Assert.That(Sequences(LogFiles.Lines(path)), Is.EqualTo(new long[] { 0, 1, 2, 4, 5, 6, 7, 8, 9 }));
        Assert.That((sink.EventsWritten, sink.DroppedFormatError, sink.EventsDropped), Is.EqualTo((9L, 1L, 1L)));
        Assert.That(sink.PooledLines, Is.EqualTo(9), "Every line, the one that failed too, went back to the pool.");
        Assert.That(SelfLogText(), Does.Contain("1 event(s) dropped").And.Contain("on purpose"));
        Assert.That(SelfLogText(), Does.Not.Contain("writer fault"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AnItemTakenWhenTheSizeRollBeforeItFailsWithAWriterFaultIsCountedAsDropped(bool callersFormat)
    {
        // The first event fills the file, so the next is taken with a roll due: the batch before it is written out and
        // its fsync throws an exception the retry does not take, so the writer's catch-all drops the batch. Before the fix
        // the item already taken (an event, or a line) was dropped with it without being counted, and SelfLog said
        // nothing of the batch's drop.
        RollingJsonSink.FaultDelay = TimeSpan.FromMilliseconds(1);
        var logs = Path.Combine(_folder!.Path, "logs");
        var sink = CreateSink(Path.Combine(logs, "app-.json"), callersFormat, o =>
        {
            o.Durability = RollingJsonDurability.Durable;
            o.FileSizeLimitBytes = 1024;
        });
        var flushes = 0;
        sink.FlushToDiskForTests = file =>
        {
            if (Interlocked.Increment(ref flushes) == 1) throw new InvalidOperationException("fsync failed oddly");
            file.Flush(flushToDisk: true);
        };
        try
        {
            sink.PauseWriter();
            sink.Emit(Event(0, text: new string('r', 1_500)));
            sink.Emit(Event(1));
            sink.Emit(Event(2));
            sink.ResumeWriter();
            Assert.That(sink.WaitUntilWritten(TimeSpan.FromSeconds(10)), Is.True, "An accepted event was neither written nor counted as dropped.");
        }
        finally
        {
            sink.Dispose();
        }

        Assert.That(Sequences(LogFiles.AllLines(logs)), Is.EqualTo(new long[] { 2 }));
        Assert.That((sink.EventsWritten, sink.DroppedIoError, sink.EventsDropped), Is.EqualTo((1L, 2L, 2L)));
        Assert.That(sink.PooledLines, Is.EqualTo(callersFormat ? 2 : 0), "Every line went back to the pool.");
        // Counted in the meter, and said in SelfLog: the catch-all's own line names only the fault.
        Assert.That(SelfLogText(), Does.Contain("2 event(s) the writer held when it faulted dropped (reason io_error)"));
    }
}
