using System.Text.RegularExpressions;
using Serilog.Events;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// What a log shipper tailing the directory sees while the sink writes and rolls: a reader thread polls the files to
/// their ends at arbitrary moments (see <see cref="Tailer"/>).
/// </summary>
public class ShipperTests
{
    const int Events = 3_000;

    // Not [Platform("Linux")]: NUnit upper-cases the name in the current culture, and under tr-TR "LİNUX" is no platform
    // it knows, so every test of the fixture failed ("Invalid platform name: Linux") on a machine with a Turkish locale.
    [SetUp]
    public void OnLinuxOnly()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("These tests run on Linux only.");
    }

    static long Seq(string line) => LogFiles.Property(LogFiles.Parse(line), "Seq").GetInt64();

    static Tailer TailWhileWriting(string directory, string glob, string? fixedCurrentPath, Action write)
    {
        var tailer = new Tailer(directory, glob, fixedCurrentPath);
        var done = 0;
        Exception? failure = null;
        var reader = new Thread(() =>
        {
            try
            {
                while (Volatile.Read(ref done) == 0) tailer.Poll();
                tailer.Poll();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }) { IsBackground = true };
        reader.Start();
        try
        {
            write();
        }
        finally
        {
            Volatile.Write(ref done, 1);
            Assert.That(reader.Join(WaitLimit), Is.True, "The reader did not finish in time.");
        }
        Assert.That(failure, Is.Null);
        return tailer;
    }

    /// <summary>The shipper saw no problem, and it and the files each hold every event exactly once.</summary>
    static void AssertEveryEventOnce(Tailer tailer, string folder)
    {
        Assert.That(tailer.Problems, Is.Empty);
        Assert.That(tailer.Lines.Select(Seq).Order(), Is.EqualTo(Enumerable.Range(0, Events).Select(i => (long)i)));
        Assert.That(LogFiles.AllLines(folder).Select(Seq).Order(), Is.EqualTo(Enumerable.Range(0, Events).Select(i => (long)i)));
    }

    /// <summary>
    /// A sink whose disposal waits for the writer and the compression of every rolled file, however slow the machine:
    /// at the default 10 s shutdown timeout a loaded machine's disposal gave up while the housekeeping thread still
    /// compressed, and the files were read under it (a .gz.tmp still open) or events were dropped at the deadline.
    /// </summary>
    static RollingJsonSink ShipperSink(string path, Action<RollingJsonOptions> configure) =>
        Create(path, o =>
        {
            o.ShutdownTimeout = TimeSpan.FromMinutes(2);
            configure(o);
        });

    static void WriteEvents(RollingJsonSink sink)
    {
        var big = new string('b', 1024 * 1024);
        for (var i = 0; i < Events; i++)
            sink.Emit(i % 1000 == 500 ? Event(i, text: big) : Event(i, i % 7 == 0 ? LogEventLevel.Error : LogEventLevel.Information));
        sink.Dispose();
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EveryLineReachesAShipperWholeAndOnceThroughSizeRolls(bool fixedCurrentFileName)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, fixedCurrentFileName ? "app.json" : "app-.json");
        using var tailer = TailWhileWriting(folder.Path, "*.json", fixedCurrentFileName ? path : null, () =>
            WriteEvents(ShipperSink(path, o =>
            {
                o.FileSizeLimitBytes = 8 * 1024;
                o.FixedCurrentFileName = fixedCurrentFileName;
            })));

        AssertEveryEventOnce(tailer, folder.Path);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EveryLineReachesAShipperWholeAndOnceThroughTimeRolls(bool fixedCurrentFileName)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, fixedCurrentFileName ? "app.json" : "app-.json");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 18, 0, 0, TimeSpan.Zero));
        using var tailer = TailWhileWriting(folder.Path, "*.json", fixedCurrentFileName ? path : null, () =>
        {
            var sink = ShipperSink(path, o =>
            {
                o.TimeProvider = time;
                o.RollingInterval = RollingJsonInterval.Minute;
                o.FileSizeLimitBytes = 8 * 1024;
                o.FixedCurrentFileName = fixedCurrentFileName;
            });
            for (var i = 0; i < Events; i++)
            {
                if (i % 250 == 0) time.Advance(TimeSpan.FromMinutes(1));
                sink.Emit(Event(i));
            }
            sink.Dispose();
        });

        AssertEveryEventOnce(tailer, folder.Path);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ACompressedFileIsWholeForAShipperThatHeldItAndNoTemporaryFileMatchesTheGlob(bool fixedCurrentFileName)
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, fixedCurrentFileName ? "app.json" : "app-.json");
        using var tailer = TailWhileWriting(folder.Path, "*.json", fixedCurrentFileName ? path : null, () =>
            WriteEvents(ShipperSink(path, o =>
            {
                o.FileSizeLimitBytes = 8 * 1024;
                o.FixedCurrentFileName = fixedCurrentFileName;
                o.CompressRolledFiles = true;
            })));

        Assert.That(tailer.Problems, Is.Empty);
        // A file rolled and compressed between two polls is never seen plain; whatever was seen was whole, and once.
        var seen = tailer.Lines.Select(Seq).ToList();
        Assert.That(seen, Is.Unique);
        // Only the sink's own files ever match the glob: the current file and rolled ones, never a compression's .gz.tmp.
        Assert.That(tailer.NamesSeen.Where(n => !Regex.IsMatch(n, @"^app(-[0-9]*(_[0-9]{3,})?)?\.json$", RegexOptions.None, TimeSpan.FromSeconds(1))), Is.Empty);
        Assert.That(LogFiles.AllLines(folder.Path).Select(Seq).Order(), Is.EqualTo(Enumerable.Range(0, Events).Select(i => (long)i)));
    }

    [Test]
    public void AnErrorIsVisibleToAReaderBeforeTheSinkIsFlushedOrDisposed()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o => { o.PollInterval = TimeSpan.FromHours(1); o.IdleSleep = TimeSpan.FromHours(1); });
        EmitAndWait(sink, Event(0));
        Assert.That(SpinWait.SpinUntil(() => sink.WriterPolling || sink.WriterSleeping, WaitLimit), Is.True);
        sink.Emit(Event(1, LogEventLevel.Error));
        var tailer = new Tailer(folder.Path, Path.GetFileName(path));
        var deadline = DateTime.UtcNow + WaitLimit;
        while (tailer.Lines.Count < 2 && DateTime.UtcNow < deadline) tailer.Poll();
        tailer.Dispose();
        sink.Dispose();
        Assert.That(tailer.Lines.Select(Seq), Is.EqualTo(new long[] { 0, 1 }));
    }
}
