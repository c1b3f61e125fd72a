using System.Text.Json;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

public class StressTests
{
    const int Producers = 4;
    const int EventsPerProducer = 250_000;
    const long SizeLimit = 1024 * 1024;

    [Test]
    public void FourProducersLoseNothingAndKeepTheirOrderAcrossRolledFiles()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "stress-.json");
        var logger = new LoggerConfiguration()
            .WriteTo.RollingJson(path, new RollingJsonOptions
            {
                RollingInterval = RollingJsonInterval.Infinite,
                FileSizeLimitBytes = SizeLimit,
                RetainedFileCountLimit = null,
                BlockWhenFull = true, // a lossless run: every event logged must be on disk
                ShutdownTimeout = TimeSpan.FromMinutes(2),
            })
            .CreateLogger();

        using var start = new ManualResetEventSlim();
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Factory.StartNew(() =>
        {
            start.Wait();
            for (var i = 0; i < EventsPerProducer; i++)
                logger.Information("Producer {Producer} event {Seq} of {Total}", p, i, EventsPerProducer);
        }, TaskCreationOptions.LongRunning)).ToArray();
        start.Set();
        Assert.That(Task.WaitAll(producers, TimeSpan.FromMinutes(2)), Is.True, "Producers did not finish in time.");
        logger.Dispose();

        var next = new int[Producers];
        var lines = 0;
        long largestLine = 0;
        var files = Directory.GetFiles(folder.Path).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        // Sorted by name the numbered files are in writing order: stress-.json, stress-_001.json, ...
        Assert.That(Path.GetFileName(files[0]), Is.EqualTo("stress-.json"));
        foreach (var file in files)
        {
            long fileLargestLine = 0;
            foreach (var line in File.ReadLines(file))
            {
                lines++;
                fileLargestLine = Math.Max(fileLargestLine, line.Length + 1);
                using var document = JsonDocument.Parse(line);
                var producer = LogFiles.Property(document.RootElement, "Producer").GetInt32();
                var seq = LogFiles.Property(document.RootElement, "Seq").GetInt32();
                if (seq != next[producer])
                    Assert.Fail($"Producer {producer}: expected {next[producer]} but found {seq} in {Path.GetFileName(file)}.");
                next[producer]++;
            }
            largestLine = Math.Max(largestLine, fileLargestLine);
            Assert.That(new FileInfo(file).Length, Is.LessThan(SizeLimit + fileLargestLine), Path.GetFileName(file));
        }
        Assert.That(lines, Is.EqualTo(Producers * EventsPerProducer));
        Assert.That(next, Is.All.EqualTo(EventsPerProducer));
        Assert.That(files.Length, Is.GreaterThan(10), "The run should have rolled many times.");
    }
}
