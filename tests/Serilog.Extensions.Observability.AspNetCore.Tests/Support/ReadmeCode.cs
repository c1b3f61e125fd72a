namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// Checks that a recipe a README shows is the code a test runs: the first C# block after a section's heading equals the
/// lines between <c>// README: begin</c> and <c>// README: end</c> of a file in this project.
/// </summary>
static class ReadmeCode
{
    /// <summary>The package's own README, for <see cref="AssertSectionShows"/>.</summary>
    public static readonly string PackageReadme = Path.Combine("src", "Serilog.Extensions.Observability.AspNetCore", "README.md");

    /// <param name="heading">The section's heading, as the README writes it.</param>
    /// <param name="projectFile">The file of this project that holds the code, relative to the project.</param>
    /// <param name="readme">The README, relative to the repository root; the repository's own by default.</param>
    public static void AssertSectionShows(string heading, string projectFile, string readme = "README.md")
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Serilog.Extensions.Observability.sln"))) root = root.Parent;
        Assert.That(root, Is.Not.Null, "The repository root was not found above the test assembly.");

        var text = File.ReadAllText(Path.Combine(root!.FullName, readme));
        var section = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"{readme} has no section \"{heading}\".");
        var start = text.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        var block = text[start..text.IndexOf("```", start, StringComparison.Ordinal)];

        var source = File.ReadAllLines(Path.Combine(root.FullName, "tests", "Serilog.Extensions.Observability.AspNetCore.Tests", projectFile));
        var begin = Array.IndexOf(source, "// README: begin");
        var end = Array.IndexOf(source, "// README: end");
        Assert.That(begin, Is.GreaterThanOrEqualTo(0).And.LessThan(end));
        Assert.That(block, Is.EqualTo(string.Concat(source[(begin + 1)..end].Select(l => l + "\n"))));
    }
}
