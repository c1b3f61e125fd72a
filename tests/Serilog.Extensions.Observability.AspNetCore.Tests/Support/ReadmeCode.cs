namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// Checks that a recipe the repository README shows is the code a test runs: the first C# block after a section's
/// heading equals the lines between <c>// README: begin</c> and <c>// README: end</c> of a file in this project.
/// </summary>
static class ReadmeCode
{
    public static void AssertSectionShows(string heading, string projectFile)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Serilog.Extensions.Observability.sln"))) root = root.Parent;
        Assert.That(root, Is.Not.Null, "The repository root was not found above the test assembly.");

        var readme = File.ReadAllText(Path.Combine(root!.FullName, "README.md"));
        var section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"The README has no section \"{heading}\".");
        var start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        var block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];

        var source = File.ReadAllLines(Path.Combine(root.FullName, "tests", "Serilog.Extensions.Observability.AspNetCore.Tests", projectFile));
        var begin = Array.IndexOf(source, "// README: begin");
        var end = Array.IndexOf(source, "// README: end");
        Assert.That(begin, Is.GreaterThanOrEqualTo(0).And.LessThan(end));
        Assert.That(block, Is.EqualTo(string.Concat(source[(begin + 1)..end].Select(l => l + "\n"))));
    }
}
