using System.Globalization;
using Serilog.Extensions.Observability.Sinks.RollingJson.Files;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Files;

public class FileNamingTests
{
    static readonly DateTime Day = new(2026, 11, 22);

    [Test]
    public void DatedNamesMatchSerilogSinksFile()
    {
        var naming = FileNaming.Create("logs/app-.json", RollingJsonInterval.Day, fixedCurrentFileName: false);
        Assert.That(naming.DatedFileName(Day, 0), Is.EqualTo("app-20261122.json"));
        Assert.That(naming.DatedFileName(Day, 1), Is.EqualTo("app-20261122_001.json"));
        Assert.That(naming.DatedFileName(Day, 1234), Is.EqualTo("app-20261122_1234.json"));
        Assert.That(naming.Directory, Is.EqualTo(Path.GetFullPath("logs")));
        Assert.That(naming.FixedCurrentPath, Is.Null);
    }

    [TestCase("th-TH")] // Buddhist calendar: 2569
    [TestCase("ar-SA")] // Um Al Qura: 1448
    [TestCase("fa-IR")] // Persian: 1405
    [TestCase("de-DE")]
    public void DatedNamesAreGregorianAndReadBackUnderAnyCulture(string cultureName)
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(cultureName);
        try
        {
            var naming = FileNaming.Create("logs/app-.json", RollingJsonInterval.Minute, fixedCurrentFileName: false);
            var start = new DateTime(2026, 11, 22, 13, 4, 0);
            Assert.That(naming.DatedFileName(start, 2), Is.EqualTo("app-202611221304_002.json"));
            Assert.That(naming.TryParse("app-202611221304_002.json", out var period, out var sequence, out _), Is.True);
            Assert.That((period, sequence), Is.EqualTo((start, 2)));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [TestCase("logs/app-.json", "app.json", "app-20261122.json")]
    [TestCase("logs/app_.json", "app.json", "app_20261122.json")]
    [TestCase("logs/app.json", "app.json", "app-20261122.json")]
    [TestCase("logs/app", "app", "app-20261122")]
    public void AFixedCurrentNameDropsTheTrailingSeparatorAndRolledNamesKeepIt(string path, string current, string rolled)
    {
        var naming = FileNaming.Create(path, RollingJsonInterval.Day, fixedCurrentFileName: true);
        Assert.That(Path.GetFileName(naming.FixedCurrentPath), Is.EqualTo(current));
        Assert.That(naming.DatedFileName(Day, 0), Is.EqualTo(rolled));
    }

    [Test]
    public void AFixedNameNeedsAStem()
    {
        var ex = Assert.Throws<ArgumentException>(() => FileNaming.Create("logs/-.json", RollingJsonInterval.Day, true));
        Assert.That(ex!.ParamName, Is.EqualTo("path"));
    }

    [TestCase("app-20261122.json", true, 0, false)]
    [TestCase("app-20261122_007.json", true, 7, false)]
    [TestCase("app-20261122_007.json.gz", true, 7, true)]
    [TestCase("app-20261122.json.gz.tmp", false, 0, false)]
    [TestCase("app-2026112.json", false, 0, false)]
    [TestCase("app-20261122_7.json", false, 0, false)]
    [TestCase("app-20261122_1000.json", true, 1000, false)]
    [TestCase("app-20261122_12345.json.gz", true, 12345, true)]
    [TestCase("app-20261122_0007.json", false, 0, false)] // another tool's four-digit numbering, not _007
    [TestCase("app-20261122_01000.json", false, 0, false)]
    [TestCase("app-20261122_999999999.json", true, 999_999_999, false)]
    [TestCase("app-20261122_1000000000.json", false, 0, false)] // past what the sink can reach: never near int.MaxValue
    [TestCase("app-20261122_2147483647.json", false, 0, false)]
    [TestCase("other-20261122.json", false, 0, false)]
    [TestCase("app-20261322.json", false, 0, false)]
    public void NamesAreRecognised(string name, bool recognised, int sequence, bool compressed)
    {
        var naming = FileNaming.Create("logs/app-.json", RollingJsonInterval.Day, fixedCurrentFileName: false);
        Assert.That(naming.TryParse(name, out var period, out var parsedSequence, out var parsedCompressed), Is.EqualTo(recognised));
        if (!recognised) return;
        Assert.That((period, parsedSequence, parsedCompressed), Is.EqualTo((Day, sequence, compressed)));
    }

    [Test]
    public void PeriodsStartAtTheIntervalBoundary()
    {
        var wall = new DateTime(2026, 11, 22, 10, 31, 45);
        Assert.That(FileNaming.Create("a-.json", RollingJsonInterval.Minute, false).PeriodStart(wall), Is.EqualTo(new DateTime(2026, 11, 22, 10, 31, 0)));
        Assert.That(FileNaming.Create("a-.json", RollingJsonInterval.Hour, false).PeriodStart(wall), Is.EqualTo(new DateTime(2026, 11, 22, 10, 0, 0)));
        Assert.That(FileNaming.Create("a-.json", RollingJsonInterval.Month, false).NextPeriodStart(new DateTime(2026, 12, 1)), Is.EqualTo(new DateTime(2027, 1, 1)));
        Assert.That(FileNaming.Create("a-.json", RollingJsonInterval.Infinite, false).NextPeriodStart(DateTime.MinValue), Is.EqualTo(DateTime.MaxValue));
    }
}
