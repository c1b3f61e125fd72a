using System.Buffers;
using System.Text;
using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Formatting;
using Serilog.Formatting.Json;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// While the writer is behind, callers format their own events with this package's formatters and queue the lines
/// (<see cref="RollingJsonOptions.CallerFormatBacklog"/>): the file must not tell the two paths apart.
/// </summary>
public class CallerFormattingTests
{
    static LogEvent Varied(int i) => Some.LogEvent(
        "Order {OrderId} for {Customer} totalling {Total:0.00} at {When}",
        i % 7 == 0 ? LogEventLevel.Warning : LogEventLevel.Information,
        i % 5 == 0 ? new InvalidOperationException("broken \"quote\" é") : null,
        new DateTimeOffset(2026, 11, 24, 4, 0, 0, TimeSpan.FromHours(1)).AddMilliseconds(i * 13.5),
        Some.Property("OrderId", i),
        Some.Property("Customer", i % 3 == 0 ? "Zoë \"Z\" 日本" : "c" + i),
        Some.Property("Total", 12.5m + i),
        Some.Property("When", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)),
        Some.Property("Tags", new SequenceValue(new[] { new ScalarValue("a"), new ScalarValue(i) })));

    static byte[] Expected(IUtf8Formatter formatter, IEnumerable<LogEvent> events)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var logEvent in events) formatter.Format(logEvent, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static IEnumerable<IUtf8Formatter> OwnFormatters()
    {
        yield return new CompactJsonFormatter();
        yield return new RenderedCompactJsonFormatter();
        yield return new FlatJsonFormatter();
    }

    [TestCaseSource(nameof(OwnFormatters))]
    public void LinesFormattedByCallersAreTheBytesTheWriterWouldHaveWrittenInOrder(IUtf8Formatter formatter)
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o =>
        {
            o.Formatter = formatter;
            o.QueueLimit = 1_000;
            o.CallerFormatBacklog = 8;
        });
        var events = Enumerable.Range(0, 100).Select(Varied).ToArray();
        sink.PauseWriter();
        foreach (var logEvent in events) sink.Emit(logEvent);
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);

        // The writer took nothing before the callers did: the first 8 events were queued, the other 92 formatted by
        // their caller, and every line came back to the pool once written.
        Assert.That(sink.PooledLines, Is.EqualTo(92));
        sink.Dispose();
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Expected(formatter, events)));
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo((100L, 0L)));
    }

    [Test]
    public void TheDefaultFormatterIsRunByCallersOnlyPastTheBacklog()
    {
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o =>
        {
            o.Formatter = null; // the sink's own CompactJsonFormatter
            o.QueueLimit = 100_000;
        });
        sink.PauseWriter();
        for (var i = 0; i < 1_500; i++) sink.Emit(Varied(i));
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        // 1,024 by default: events below it wait whole, as before.
        Assert.That(sink.PooledLines, Is.EqualTo(1_500 - 1_024));
        sink.Dispose();
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Expected(new CompactJsonFormatter(), Enumerable.Range(0, 1_500).Select(Varied))));
    }

    sealed class ThreadRecordingFormatter : ITextFormatter
    {
        public readonly HashSet<int> Threads = new();

        public void Format(LogEvent logEvent, TextWriter output)
        {
            lock (Threads) Threads.Add(Environment.CurrentManagedThreadId);
            output.Write("{}\n");
        }
    }

    [Test]
    public void AFormatterOfAnotherKindIsNeverRunOnTheCallersThread()
    {
        // Only this package's formatters are known to be thread-safe.
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var formatter = new ThreadRecordingFormatter();
        var sink = Create(path, o =>
        {
            o.Formatter = formatter;
            o.CallerFormatBacklog = 1;
        });
        sink.PauseWriter();
        for (var i = 0; i < 50; i++) sink.Emit(Event(i));
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Dispose();

        Assert.That(LogFiles.Lines(path), Has.Count.EqualTo(50));
        Assert.That(sink.PooledLines, Is.Zero);
        Assert.That(formatter.Threads, Has.Count.EqualTo(1));
        Assert.That(formatter.Threads, Does.Not.Contain(Environment.CurrentManagedThreadId));
    }

    [Test]
    public void ZeroTurnsCallerFormattingOff()
    {
        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename(), o =>
        {
            o.Formatter = new CompactJsonFormatter();
            o.CallerFormatBacklog = 0;
        });
        sink.PauseWriter();
        for (var i = 0; i < 50; i++) sink.Emit(Event(i));
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Dispose();
        Assert.That((sink.EventsWritten, sink.PooledLines), Is.EqualTo((50L, 0)));
    }

    sealed class FailingValueFormatter() : JsonValueFormatter(typeTagName: "$type")
    {
        protected override void FormatLiteralValue(object? value, TextWriter output)
        {
            if (value is "boom") throw new FormatException("cannot format this value on purpose");
            base.FormatLiteralValue(value, output);
        }
    }

    [Test, NonParallelizable]
    public void AnEventItsCallerCannotFormatIsLeftToTheWriterWhichDropsAndReportsIt()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o =>
        {
            o.Formatter = new CompactJsonFormatter(new FailingValueFormatter());
            o.CallerFormatBacklog = 1;
        });
        sink.PauseWriter();
        for (var i = 0; i < 10; i++) sink.Emit(Event(i, text: i == 6 ? "boom" : "fine"));
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Dispose();

        var sequences = LogFiles.Lines(path).Select(l => LogFiles.Property(LogFiles.Parse(l), "Seq").GetInt64());
        Assert.That(sequences, Is.EqualTo(new long[] { 0, 1, 2, 3, 4, 5, 7, 8, 9 }));
        Assert.That((sink.EventsWritten, sink.DroppedFormatError), Is.EqualTo((9L, 1L)));
        lock (selfLog) Assert.That(selfLog, Has.Some.Contains("the formatter failed, 1 event(s) dropped").And.Contains("on purpose"));
    }

    sealed class CountedValue
    {
        public int Formatted;

        public override string ToString()
        {
            Interlocked.Increment(ref Formatted);
            return "counted";
        }
    }

    [Test]
    public void AnEventDroppedBecauseTheQueueIsFullIsNotFormattedByItsCaller()
    {
        // Dropping is what a full queue costs a caller that will not wait: formatting the event first would only take
        // the machine from the writer, the one that has to catch up.
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o =>
        {
            o.Formatter = new CompactJsonFormatter();
            o.QueueLimit = 8;
            o.CallerFormatBacklog = 1;
        });
        var value = new CountedValue();
        sink.PauseWriter();
        for (var i = 0; i < 8; i++) sink.Emit(Event(i));
        for (var i = 8; i < 18; i++)
            sink.Emit(Some.LogEvent("Dropped {Value}", properties: Some.Property("Value", new ScalarValue(value))));
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Dispose();

        Assert.That((sink.EventsWritten, sink.DroppedQueueFull), Is.EqualTo((8L, 10L)));
        Assert.That(value.Formatted, Is.Zero, "ToString() calls made formatting events that were then dropped.");
    }

    [TestCaseSource(nameof(OwnFormatters))]
    public void ACallerInAnotherCultureLeavesItsEventToTheWriterSoTheLineIsTheSame(IUtf8Formatter formatter)
    {
        // Serilog writes a dictionary's keys with the current culture's ToString() (this package's formatters keep that
        // for byte identity), so the bytes depend on the culture of the thread that formats: a request's culture set by
        // ASP.NET Core's request localization must not reach the file only while the writer is behind.
        var culture = (System.Globalization.CultureInfo)System.Globalization.CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NumberDecimalSeparator = "#";
        var events = Enumerable.Range(0, 20).Select(i => Some.LogEvent("Prices {Prices}", properties:
            Some.Property("Prices", new DictionaryValue(new[]
            {
                new KeyValuePair<ScalarValue, LogEventPropertyValue>(new ScalarValue(1.5m + i), new ScalarValue(i)),
            })))).ToArray();
        var expected = Expected(formatter, events);
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o =>
        {
            o.Formatter = formatter;
            o.CallerFormatBacklog = 1;
        });
        sink.PauseWriter();
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = culture;
        try
        {
            foreach (var logEvent in events) sink.Emit(logEvent);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Dispose();

        Assert.That(Encoding.UTF8.GetString(File.ReadAllBytes(path)), Is.EqualTo(Encoding.UTF8.GetString(expected)));
    }

    [Test, NonParallelizable]
    public void ABacklogOfEventsSharingALargeValueHoldsNoCopyOfItPerEvent()
    {
        // A contextual property, an enricher's value or the same exception carried by every event of a burst: queued,
        // the events share one instance; formatted by their callers, each line would hold its own copy.
        const int events = 32;
        var shared = new string('x', 1024 * 1024);
        var logged = Enumerable.Range(0, events).Select(i => Event(i, text: shared)).ToArray();
        using var folder = TempFolder.ForCaller();
        var path = folder.AllocateFilename();
        var sink = Create(path, o =>
        {
            o.Formatter = new CompactJsonFormatter();
            o.CallerFormatBacklog = 1;
        });
        sink.PauseWriter();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var logEvent in logged) sink.Emit(logEvent);
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Dispose();

        Assert.That(held, Is.LessThan(8L * 1024 * 1024), "Bytes the queued backlog holds beyond the events themselves.");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Expected(new CompactJsonFormatter(), logged)));
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo(((long)events, 0L)));
    }

    [TestCase(LogEventLevel.Error, true)]
    [TestCase(LogEventLevel.Information, false)]
    public void ALineFormattedByItsCallerAtFlushOnLevelIsFlushedToDisk(LogEventLevel last, bool flushed)
    {
        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename(), o =>
        {
            o.Formatter = new CompactJsonFormatter();
            o.CallerFormatBacklog = 1;
            o.FlushOnLevel = LogEventLevel.Error;
        });
        var flushes = 0;
        sink.FlushToDiskForTests = file =>
        {
            Interlocked.Increment(ref flushes);
            file.Flush(flushToDisk: true);
        };
        sink.PauseWriter();
        for (var i = 0; i < 5; i++) sink.Emit(Event(i, i == 4 ? last : LogEventLevel.Information));
        sink.ResumeWriter();
        Assert.That(sink.WaitUntilWritten(WaitLimit), Is.True);
        sink.Dispose();

        Assert.That(sink.PooledLines, Is.EqualTo(4), "Events 1 to 4 were formatted by their caller.");
        Assert.That(flushes > 0, Is.EqualTo(flushed));
    }

    [Test]
    public void FourProducersMixingQueuedEventsAndLinesLoseNothingAndKeepTheirOrderAcrossRolledFiles()
    {
        const int producers = 4, perProducer = 25_000, queueLimit = 4_000;
        const long sizeLimit = 256 * 1024;
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "mixed-.json");
        var sink = RollingJsonLoggerConfigurationExtensions.CreateSink(path, new RollingJsonOptions
        {
            RollingInterval = RollingJsonInterval.Infinite,
            FileSizeLimitBytes = sizeLimit,
            RetainedFileCountLimit = null,
            QueueLimit = queueLimit,
            BlockWhenFull = true,
            CallerFormatBacklog = 64,
        });
        var logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();

        // The writer waits until the producers have filled the queue, so that callers format for a while whatever
        // the machine's scheduling; then both kinds of item are queued, taken and written together.
        sink.PauseWriter();
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < perProducer; i++)
                logger.Information("Producer {Producer} event {Seq} of {Name}", p, i, i % 11 == 0 ? "日本 \"q\"" : "plain");
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(SpinWait.SpinUntil(() => sink.QueueLength == queueLimit, WaitLimit), Is.True, "The producers did not fill the queue.");
        sink.ResumeWriter();
        Assert.That(Task.WaitAll(tasks, TimeSpan.FromMinutes(2)), Is.True, "Producers did not finish in time.");
        logger.Dispose();

        Assert.That(sink.PooledLines, Is.GreaterThan(0), "Callers formatted lines while the writer was behind.");
        var next = new int[producers];
        var lines = 0;
        var files = Directory.GetFiles(folder.Path).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        foreach (var file in files)
        {
            long largest = 0;
            foreach (var line in File.ReadLines(file, Encoding.UTF8))
            {
                lines++;
                largest = Math.Max(largest, Encoding.UTF8.GetByteCount(line) + 1);
                using var document = JsonDocument.Parse(line);
                var producer = LogFiles.Property(document.RootElement, "Producer").GetInt32();
                var seq = LogFiles.Property(document.RootElement, "Seq").GetInt32();
                if (seq != next[producer])
                    Assert.Fail($"Producer {producer}: expected {next[producer]} but found {seq} in {Path.GetFileName(file)}.");
                next[producer]++;
            }
            Assert.That(new FileInfo(file).Length, Is.LessThan(sizeLimit + largest), Path.GetFileName(file));
        }
        Assert.That(lines, Is.EqualTo(producers * perProducer));
        Assert.That(files.Length, Is.GreaterThan(5), "The run should have rolled several times.");
        Assert.That((sink.EventsWritten, sink.EventsDropped), Is.EqualTo(((long)producers * perProducer, 0L)));
    }

    [Test]
    public void ThePoolKeepsLinesOfABoundedSizeUpToABoundedTotal()
    {
        var pool = new FormattedLinePool();
        var large = pool.Rent();
        large.GetSpan(FormattedLine.MaxRetainedCapacity + 1);
        large.Advance(FormattedLine.MaxRetainedCapacity + 1);
        pool.Return(large);
        Assert.That(pool.Count, Is.Zero, "A line grown past the retained size is let go.");

        var lines = new List<FormattedLine>();
        for (long bytes = 0; bytes <= FormattedLinePool.MaxPooledBytes; bytes += lines[^1].Capacity) lines.Add(pool.Rent());
        foreach (var line in lines)
        {
            line.GetSpan(3)[0] = (byte)'x';
            line.Advance(1);
            pool.Return(line);
        }
        Assert.That(pool.Count, Is.EqualTo(lines.Count - 1), "All but the line past the total are kept.");
        var reused = pool.Rent();
        Assert.That(lines, Has.Some.SameAs(reused));
        Assert.That(reused.Length, Is.Zero, "A reused line starts empty.");
    }
}
