using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Files;

/// <summary>
/// A log directory that another user can write (<c>/tmp/logs</c>) and a service running as root: a symbolic link
/// planted at a name the sink itself makes up (the next rolled file, a rolled file, a <c>.json.gz.tmp</c>) must not
/// make the sink write, create or read a file outside the directory.
/// </summary>
[NonParallelizable]
public class SymbolicLinkTests
{
    static RollingJson.Files.FileNaming InfiniteNaming(TempFolder folder) =>
        RollingJson.Files.FileNaming.Create(Path.Combine(folder.Path, "app-.json"), RollingJsonInterval.Infinite, fixedCurrentFileName: false);

    [Test]
    public void ALinkPlantedAtTheNextRolledFileNameIsNotWrittenThrough()
    {
        using var folder = TempFolder.ForCaller();
        using var elsewhere = TempFolder.ForCaller();
        var victim = Path.Combine(elsewhere.Path, "victim");
        File.WriteAllText(victim, "victim\n");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 0, 30, 0, TimeSpan.Zero));
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = time;
            o.RollingInterval = RollingJsonInterval.Hour;
            o.RollOnUtc = true;
        });
        var self = new List<string>();
        using (TemporarySelfLog.SaveTo(self))
        {
            EmitAndWait(sink, Event(1));
            File.CreateSymbolicLink(Path.Combine(folder.Path, "app-2026112201.json"), victim);
            time.Advance(TimeSpan.FromHours(1));
            EmitAndWait(sink, Event(2));
            sink.Dispose();
        }

        Assert.That(File.ReadAllText(victim), Is.EqualTo("victim\n"));
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-2026112201_001.json")), Has.Count.EqualTo(1), "the event goes to the next free name");
        Assert.That(self, Has.Some.Contains("symbolic link"));
    }

    [Test]
    public void ALinkPlantedAtARolledFileNameIsNotCompressed()
    {
        using var folder = TempFolder.ForCaller();
        using var elsewhere = TempFolder.ForCaller();
        var secret = Path.Combine(elsewhere.Path, "shadow");
        File.WriteAllText(secret, "root:secret-hash\n");
        var naming = InfiniteNaming(folder);
        File.CreateSymbolicLink(naming.DatedPath(DateTime.MinValue, 1), secret);
        var current = naming.DatedPath(DateTime.MinValue, 2);
        File.WriteAllText(current, "{\"Seq\":2}\n");

        var self = new List<string>();
        using (TemporarySelfLog.SaveTo(self))
            new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { CompressRolledFiles = true }, TimeZoneInfo.Utc, () => current).RunOnce();

        Assert.That(File.Exists(RollingJson.Files.FileNaming.CompressedPath(naming.DatedPath(DateTime.MinValue, 1))), Is.False,
            "the linked file's content was copied into the log directory");
        Assert.That(File.ReadAllText(secret), Is.EqualTo("root:secret-hash\n"));
        Assert.That(self, Has.Some.Contains("symbolic link"));
    }

    [Test]
    public void ADanglingLinkPlantedAtTheCompressionTemporaryNameCreatesNoFileWhereItPoints()
    {
        using var folder = TempFolder.ForCaller();
        using var elsewhere = TempFolder.ForCaller();
        var victim = Path.Combine(elsewhere.Path, "created-by-the-sink");
        var naming = InfiniteNaming(folder);
        var rolled = naming.DatedPath(DateTime.MinValue, 1);
        File.WriteAllText(rolled, "{\"Seq\":1}\n");
        File.CreateSymbolicLink(RollingJson.Files.FileNaming.TemporaryPath(RollingJson.Files.FileNaming.CompressedPath(rolled)), victim);
        var current = naming.DatedPath(DateTime.MinValue, 2);
        File.WriteAllText(current, "{\"Seq\":2}\n");

        new RollingJson.Files.Housekeeper(naming, new RollingJsonOptions { CompressRolledFiles = true }, TimeZoneInfo.Utc, () => current).RunOnce();

        Assert.That(File.Exists(victim), Is.False, "the sink wrote through the link");
        Assert.That(LogFiles.Names(folder.Path), Is.EqualTo(new[] { "app-_001.json.gz", "app-_002.json" }), "the planted link is removed and the file compressed");
        Assert.That(LogFiles.ReadBytes(RollingJson.Files.FileNaming.CompressedPath(rolled)), Is.EqualTo("{\"Seq\":1}\n"u8.ToArray()));
    }

    [Test]
    public void ALinkPlantedAtTheNameAFixedCurrentFileRollsToIsPassedOver()
    {
        using var folder = TempFolder.ForCaller();
        using var elsewhere = TempFolder.ForCaller();
        var victim = Path.Combine(elsewhere.Path, "created-by-the-sink");
        var current = Path.Combine(folder.Path, "app.json");
        File.WriteAllText(current, "{\"Seq\":0}\n");
        File.SetLastWriteTimeUtc(current, new DateTime(2026, 11, 21, 12, 0, 0, DateTimeKind.Utc));
        File.CreateSymbolicLink(Path.Combine(folder.Path, "app-20261121.json"), victim);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o =>
        {
            o.TimeProvider = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 0, 30, 0, TimeSpan.Zero));
            o.RollingInterval = RollingJsonInterval.Day;
            o.RollOnUtc = true;
            o.FixedCurrentFileName = true;
        });

        EmitAndWait(sink, Event(1));
        sink.Dispose();

        Assert.That(File.Exists(victim), Is.False);
        Assert.That(LogFiles.Lines(Path.Combine(folder.Path, "app-20261121_001.json")), Is.EqualTo(new[] { "{\"Seq\":0}" }), "the old file rolls to the next free name");
        Assert.That(LogFiles.Lines(current), Has.Count.EqualTo(1));
    }

    [Test]
    public void AFixedCurrentFileThatIsALinkTheAdministratorMadeIsStillWrittenThrough()
    {
        using var folder = TempFolder.ForCaller();
        using var elsewhere = TempFolder.ForCaller();
        var target = Path.Combine(elsewhere.Path, "app.json");
        File.WriteAllText(target, "");
        File.CreateSymbolicLink(Path.Combine(folder.Path, "app.json"), target);
        var sink = Create(Path.Combine(folder.Path, "app-.json"), o => o.FixedCurrentFileName = true);

        EmitAndWait(sink, Event(1));
        sink.Dispose();

        Assert.That(LogFiles.Lines(target), Has.Count.EqualTo(1));
    }
}
