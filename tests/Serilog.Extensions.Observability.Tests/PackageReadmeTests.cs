using System.Text.RegularExpressions;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>
/// Each package's README is what nuget.org shows. Its examples must compile for a user who installs what it says:
/// a sink or reader the package does not bring in (in C# or in an <c>appsettings.json</c> block) must be named in a
/// <c>dotnet add package</c> line.
/// </summary>
public class PackageReadmeTests
{
    static readonly (string Uses, string Package)[] Needs =
    [
        (".Console(", "Serilog.Sinks.Console"),
        (".File(", "Serilog.Sinks.File"),
        ("## appsettings.json", "Serilog.Settings.Configuration"),
        // A sink an appsettings.json block names: without its package Serilog.Settings.Configuration leaves the entry out
        // (SelfLog), and the AspNetCore package's AddObservability() refuses to start.
        ("\"Name\": \"Console\"", "Serilog.Sinks.Console"),
        ("\"Name\": \"File\"", "Serilog.Sinks.File"),
        ("\"Name\": \"Async\"", "Serilog.Sinks.Async"),
    ];

    static IEnumerable<TestCaseData> Packages() =>
        Directory.GetDirectories(Path.Combine(RepositoryRoot(), "src"), "Serilog.Extensions.Observability*")
            .Select(d => new TestCaseData(Path.GetFileName(d)).SetName($"The README of {Path.GetFileName(d)} installs what its examples use"));

    [TestCaseSource(nameof(Packages))]
    public void ThePackageReadmeInstallsWhatItsExamplesUse(string packageId)
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", packageId, "README.md"));
        var dependencies = Dependencies(packageId);
        var installed = Regex.Matches(readme, @"dotnet add package ([\w.]+)").Select(m => m.Groups[1].Value).ToHashSet();
        var code = string.Concat(Regex.Matches(readme, "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value));
        var json = string.Concat(Regex.Matches(readme, "```json\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value));

        foreach (var (uses, package) in Needs)
        {
            var used = uses.StartsWith('#') ? readme.Contains(uses, StringComparison.Ordinal)
                : (uses.StartsWith('"') ? json : code).Contains(uses, StringComparison.Ordinal);
            if (used && !dependencies.Contains(package))
                Assert.That(installed, Does.Contain(package),
                    $"{packageId}'s README uses {uses.Trim('.', '(')} but {package} is not one of its dependencies and the README does not install it.");
        }
    }

    /// <summary>The package references of a src project and of the projects it references, transitively.</summary>
    static HashSet<string> Dependencies(string project)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current)) continue;
            var csproj = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", current, current + ".csproj"));
            foreach (Match m in Regex.Matches(csproj, "<PackageReference Include=\"([^\"]+)\""))
                found.Add(m.Groups[1].Value);
            foreach (Match m in Regex.Matches(csproj, "<ProjectReference Include=\"[^\"]*?([\\w.]+)\\.csproj\""))
                pending.Push(m.Groups[1].Value);
        }

        return found;
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        return dir!.FullName;
    }
}
