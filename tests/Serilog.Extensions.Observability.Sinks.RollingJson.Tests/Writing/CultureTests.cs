using System.Diagnostics;
using System.Text.RegularExpressions;
using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

/// <summary>
/// Real processes, as services run: the culture comes from LANG (the writer thread's too), or globalization is
/// invariant (DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1, the default of many container images). The same events give the
/// same file names and the same bytes in every one.
/// </summary>
public class CultureTests
{
    [Test]
    public void FilesAreTheSameWhateverTheProcessCultureOrGlobalizationMode()
    {
        var runs = new (string Name, Dictionary<string, string> Environment)[]
        {
            ("C", new() { ["LANG"] = "C.UTF-8", ["LC_ALL"] = "C.UTF-8" }),
            ("de-DE", new() { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8" }),
            ("th-TH", new() { ["LANG"] = "th_TH.UTF-8", ["LC_ALL"] = "th_TH.UTF-8" }),
            ("fa-IR", new() { ["LANG"] = "fa_IR.UTF-8", ["LC_ALL"] = "fa_IR.UTF-8" }),
            ("invariant", new() { ["LANG"] = "tr_TR.UTF-8", ["LC_ALL"] = "tr_TR.UTF-8", ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1" }),
        };

        using var root = TempFolder.ForCaller();
        var outputs = new List<(string Name, string Culture, SortedDictionary<string, string> Files)>();
        foreach (var (name, environment) in runs)
        {
            var folder = Path.Combine(root.Path, name);
            Directory.CreateDirectory(folder);
            var before = DateTime.UtcNow.Date;
            var culture = RunChild(folder, environment);
            var after = DateTime.UtcNow.Date;

            var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var file in Directory.GetFiles(folder))
            {
                var fileName = Path.GetFileName(file);
                var match = Regex.Match(fileName, "^(clef|flat)-([0-9]{8})\\.json$");
                Assert.That(match.Success, Is.True, $"{name}: {fileName}");
                var date = DateTime.ParseExact(match.Groups[2].Value, "yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
                Assert.That(date, Is.InRange(before, after), $"{name}: {fileName} is not today's Gregorian date");
                files[match.Groups[1].Value] = File.ReadAllText(file);
            }
            Assert.That(files.Keys, Is.EqualTo(new[] { "clef", "flat" }), name);
            outputs.Add((name, culture, files));
        }

        Assert.That(outputs.Select(o => o.Culture), Is.EqualTo(new[] { "", "de-DE", "th-TH", "fa-IR", "" }), "the children's cultures");
        var expected = outputs[0].Files;
        Assert.That(expected["clef"], Does.Contain("\"@r\":[\"-1234.50\",\"1,234,567.89\",\"11/22/2026\",\"12/01/2026 00:00:00\",\"12.3\",\"50.0 %\"]"));
        Assert.That(expected["flat"], Does.Contain("\"message\":\"Paid -1234.50 of 1,234,567.89 on 11/22/2026, due 12/01/2026 00:00:00, in 12.3 ms (50.0 %) at 11/22/2026 10:30:15 -05:00\""));
        foreach (var (name, _, files) in outputs.Skip(1))
        {
            Assert.That(files["clef"], Is.EqualTo(expected["clef"]), name);
            Assert.That(files["flat"], Is.EqualTo(expected["flat"]), name);
        }
    }

    static string RunChild(string folder, Dictionary<string, string> environment)
    {
        var start = ChildProcesses.ThisAssembly("culture-child", folder);
        start.Environment.Remove("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT");
        foreach (var (key, value) in environment) start.Environment[key] = value;

        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        Assert.That(child.WaitForExit(60_000), Is.True, "The child did not exit.");
        Assert.That(child.ExitCode, Is.EqualTo(0), error.Result);
        return output.Result.Trim();
    }
}
