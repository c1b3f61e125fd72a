using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>The README's "Quick start in appsettings.json" block, read from README.md itself: it must work as written.</summary>
public class ReadmeAppSettingsTests
{
    [Test]
    public void TheReadmesAppSettingsConfigureEveryComponent()
    {
        using var folder = TempFolder.ForCaller();
        var json = ReadmeBlock("## Quick start in appsettings.json").Replace("logs/", folder.Path.Replace('\\', '/') + "/");
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();

        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger())
        using (CorrelationContext.Begin("readme-corr"))
        using (UserContext.Begin("user-42", "acme"))
        using (var pipeline = PipelineTimer.Begin("voice-turn", logger))
        using (pipeline.Stage("stt"))
        {
            logger.Information("Login {@Body} with pin {CustomerPin}", new { User = "ann", Password = "readme-secret-1" }, "readme-secret-2");
            logger.Warning("Retrying with {Connection}", "Server=db;User Id=app;Password=readme-secret-3;");
        }

        var files = Directory.GetFiles(folder.Path, "*.json");
        Assert.That(files, Has.Length.EqualTo(2), "The CLEF file and the flat file.");
        var text = string.Join("\n", files.Select(File.ReadAllText));
        Assert.That(text, Does.Not.Contain("readme-secret-"));

        var clef = File.ReadLines(files.Single(f => Path.GetFileName(f).StartsWith("app-", StringComparison.Ordinal)))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Single(e => e.GetProperty("@mt").GetString()!.StartsWith("Login", StringComparison.Ordinal));
        Assert.That(clef.GetProperty("CorrelationId").GetString(), Is.EqualTo("readme-corr"));
        Assert.That(clef.GetProperty("UserId").GetString(), Is.Not.EqualTo("user-42").And.Not.Empty, "Pseudonymised.");
        Assert.That(clef.GetProperty("Stage").GetString(), Is.EqualTo("stt"));
        Assert.That(clef.TryGetProperty("ThreadId", out _), Is.True);

        var flat = File.ReadLines(files.Single(f => Path.GetFileName(f).StartsWith("flat-", StringComparison.Ordinal)))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Single(e => e.GetProperty("message_template").GetString()!.StartsWith("Login", StringComparison.Ordinal));
        Assert.That(flat.GetProperty("correlation_id").GetString(), Is.EqualTo("readme-corr"));
    }

    static string ReadmeBlock(string heading)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "README.md"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "README.md not found above the test assembly.");
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "README.md"));
        var section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"README has no '{heading}'.");
        var start = readme.IndexOf("```json\n", section, StringComparison.Ordinal) + "```json\n".Length;
        var end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return readme[start..end];
    }
}
