using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Files;

public class LivePathsTests
{
    [Test]
    public void ASecondSinkOnTheSamePathInOneConfigurationIsRefused()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var configuration = new LoggerConfiguration().WriteTo.RollingJson(path, rollingInterval: RollingJsonInterval.Infinite);

        var refused = Assert.Throws<ArgumentException>(() => configuration.WriteTo.RollingJson(path, rollingInterval: RollingJsonInterval.Infinite));
        Assert.That(refused!.ParamName, Is.EqualTo("path"));
        Assert.That(refused.Message, Does.StartWith("A live RollingJson sink already writes there").And.Contain("dispose it").And.Contain("choose another path"));
        Assert.That(refused.Message, Does.Contain(Path.Combine(folder.Path, "app-*.json")));

        // The first sink is untouched: it writes, and its logger's disposal frees the path.
        using (var logger = configuration.CreateLogger())
            logger.Information("Written once");
        Assert.That(LogFiles.AllLines(folder.Path), Has.Count.EqualTo(1));
    }

    [Test]
    public void ALoggerOnTheFilesOfALiveOneIsRefusedUntilThatOneIsDisposed()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var first = new LoggerConfiguration().WriteTo.RollingJson(path).CreateLogger();

        // The same files, however the path is spelled: relative, through "..", with a doubled separator, or as the
        // fixed current name of the same stem (whose rolled files are app-<date>.json too).
        foreach (var (spelling, fixedName) in new[]
                 {
                     (path, false),
                     (Path.GetRelativePath(Environment.CurrentDirectory, path), false),
                     (Path.Combine(folder.Path, "sub", "..", "app-.json"), false),
                     (folder.Path + Path.DirectorySeparatorChar + Path.DirectorySeparatorChar + "app-.json", false),
                     (path, true),
                     (Path.Combine(folder.Path, "app.json"), true),
                 })
        {
            var refused = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WriteTo.RollingJson(spelling, fixedCurrentFileName: fixedName), spelling);
            Assert.That(refused!.ParamName, Is.EqualTo("path"), spelling);
        }

        // Other files in the same folder are other files.
        using (new LoggerConfiguration().WriteTo.RollingJson(Path.Combine(folder.Path, "other-.json")).CreateLogger())
        using (new LoggerConfiguration().WriteTo.RollingJson(Path.Combine(folder.Path, "app-.txt")).CreateLogger())
        {
        }

        first.Dispose();
        for (var i = 0; i < 3; i++)
        {
            using var next = new LoggerConfiguration().WriteTo.RollingJson(path, rollingInterval: RollingJsonInterval.Infinite).CreateLogger();
            next.Information("Logger {Number}", i);
        }
        Assert.That(LogFiles.AllLines(folder.Path), Has.Count.EqualTo(3));
    }

    [Test]
    public void ASinkThatFailsToStartLeavesItsPathFree()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        // The sink's constructor asks the clock for its time zone after it has claimed the path, and this one throws.
        Assert.Throws<InvalidOperationException>(() => Create(path, o => o.TimeProvider = new TimeZoneFailingTimeProvider()));

        using var sink = Create(path);
        EmitAndWait(sink, Event(1));
        Assert.That(LogFiles.AllLines(folder.Path), Has.Count.EqualTo(1));
    }

    sealed class TimeZoneFailingTimeProvider : TimeProvider
    {
        public override TimeZoneInfo LocalTimeZone => throw new InvalidOperationException("No time zone, on purpose.");
    }
}
