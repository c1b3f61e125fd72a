using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// Every <c>```json</c> block of the repository's README and of each package's README that holds a <c>"Serilog"</c>
/// section (or a piece of one, such as <c>"MinimumLevel": {...}</c>), given as written (only <c>logs/</c> moved to a
/// temporary folder) to <c>builder.AddObservability()</c>: it starts, with the packages the READMEs tell the user to
/// add (this project references them), and every sink it lists is built. AddObservability sets the static Log.Logger
/// and the blocks read an environment variable.
/// </summary>
[NonParallelizable]
public class ReadmeSectionsStartTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("The repository root was not found above the test assembly.");
    }

    static IEnumerable<string> Readmes()
    {
        var root = RepositoryRoot();
        yield return "README.md";
        foreach (var package in Directory.GetDirectories(Path.Combine(root, "src")).Order(StringComparer.Ordinal))
            if (File.Exists(Path.Combine(package, "README.md")))
                yield return Path.GetRelativePath(root, Path.Combine(package, "README.md")).Replace('\\', '/');
    }

    /// <summary>Each block as a whole appsettings.json holding a "Serilog" section, named by its README and line.</summary>
    static IEnumerable<TestCaseData> SerilogBlocks()
    {
        var root = RepositoryRoot();
        foreach (var readme in Readmes())
        {
            var text = File.ReadAllText(Path.Combine(root, readme));
            for (var start = text.IndexOf("```json\n", StringComparison.Ordinal); start >= 0;
                 start = text.IndexOf("```json\n", start + 1, StringComparison.Ordinal))
            {
                var body = start + "```json\n".Length;
                var block = text[body..text.IndexOf("```", body, StringComparison.Ordinal)];
                var line = text.AsSpan(0, start).Count('\n') + 1;
                // An environment's file over another block is no section on its own (the test at the end reads it so).
                if (text.AsSpan(0, start).TrimEnd().EndsWith("over the section above:", StringComparison.Ordinal)) continue;
                // A piece of a section ("Redaction": {...}) is a part of the "Serilog" section.
                var json = block.TrimStart().StartsWith('"') ? "{ \"Serilog\": { " + block + " } }" : block;
                bool isSection;
                try
                {
                    using var document = JsonDocument.Parse(json);
                    isSection = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("Serilog", out _);
                }
                catch (JsonException)
                {
                    continue; // output lines and the like, not configuration
                }
                if (isSection) yield return new TestCaseData(json).SetArgDisplayNames($"{readme}:{line}");
            }
        }
    }

    [Test]
    public void TheReadmesHoldTheSectionsTheseTestsExpect()
    {
        // So that a README reworded or a block lost does not leave the test below with nothing to check.
        Assert.That(SerilogBlocks().Select(c => (string)c.Arguments[0]!).ToList(), Has.Count.GreaterThanOrEqualTo(10)
            .And.Some.Contains("\"Name\": \"File\"").And.Some.Contains("\"Name\": \"RollingJson\"").And.Some.Contains("\"Name\": \"Redacted\""));
    }

    [TestCaseSource(nameof(SerilogBlocks))]
    public void AReadmesSectionStartsWithAddObservabilityAndWritesWhereItSays(string json)
    {
        using var logs = TempFolder.ForCaller();
        var previousKey = Environment.GetEnvironmentVariable("USER_ID_KEY");
        // The Enrichers README's block reads its pseudonym key from it, and says an unset variable is an error.
        Environment.SetEnvironmentVariable("USER_ID_KEY", "readme-pseudonymization-key-0123456789");
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json.Replace("logs/", logs.Path.Replace('\\', '/') + "/"))));

            var console = ConsoleCapture.Output(() =>
            {
                Assert.DoesNotThrow(() => builder.AddObservability());
                var app = builder.Build();
                Log.Warning("Written by a README's section");
                app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            });

            // Each file sink the section lists (RollingJson, or File in the Formatting README) wrote the event.
            var files = Directory.GetFiles(logs.Path, "*", SearchOption.AllDirectories);
            var fileSinks = json.Split("\"path\"").Length - 1;
            Assert.That(files, Has.Length.EqualTo(fileSinks), "one file per sink with a path");
            foreach (var file in files)
                Assert.That(File.ReadAllText(file), Does.Contain("Written by a README"), file);
            if (fileSinks == 0 || json.Contains("\"Name\": \"Console\"", StringComparison.Ordinal))
                Assert.That(console, Does.Contain("Written by a README"), "the console (listed, or added for want of a sink)");
        }
        finally
        {
            Environment.SetEnvironmentVariable("USER_ID_KEY", previousKey);
        }
    }
    /// <summary>The first <c>```json</c> block after <paramref name="heading"/> in the package README.</summary>
    static string PackageReadmeBlock(string heading)
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), ReadmeCode.PackageReadme));
        var section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"The README has no '{heading}'.");
        var start = readme.IndexOf("```json\n", section, StringComparison.Ordinal) + "```json\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [Test]
    public void TheReadmesDevelopmentFileSwitchesTheSectionsFileOffAndStarts()
    {
        using var contentRoot = TempFolder.ForCaller();
        using var logs = TempFolder.ForCaller();
        File.WriteAllText(Path.Combine(contentRoot.Path, "appsettings.json"),
            PackageReadmeBlock("`appsettings.json`:").Replace("logs/", logs.Path.Replace('\\', '/') + "/"));
        File.WriteAllText(Path.Combine(contentRoot.Path, "appsettings.Development.json"),
            PackageReadmeBlock("`appsettings.Development.json` over the section above:"));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot.Path, EnvironmentName = "Development" });

        var console = ConsoleCapture.Output(() =>
        {
            builder.AddObservability();
            var app = builder.Build();
            Log.Warning("In development");
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });

        Assert.That(Directory.GetFiles(logs.Path, "*", SearchOption.AllDirectories), Is.Empty, "the RollingJson entry switched off");
        Assert.That(console, Does.Contain("In development"), "the section's Console entry");
    }
}
