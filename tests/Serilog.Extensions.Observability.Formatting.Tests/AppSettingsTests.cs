using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>The README's "Serilog" section example, bound by Serilog.Settings.Configuration.</summary>
[NonParallelizable] // redirects the process-wide Console.Out
public class AppSettingsTests
{
    const string Settings = """
        {
          "Serilog": {
            "Using": [ "Serilog.Sinks.Console", "Serilog.Extensions.Observability.Formatting" ],
            "WriteTo": [
              {
                "Name": "Console",
                "Args": {
                  "formatter": {
                    "type": "Serilog.Extensions.Observability.Formatting.FlatJsonFormatter, Serilog.Extensions.Observability.Formatting",
                    "levelFormat": "Short",
                    "snakeCaseNames": true
                  }
                }
              },
              {
                "Name": "Console",
                "Args": { "formatter": "Serilog.Extensions.Observability.Formatting.CompactJsonFormatter, Serilog.Extensions.Observability.Formatting" }
              }
            ]
          }
        }
        """;

    [Test]
    public void TheFormattersAndTheirOptionsBindFromTheSerilogSection()
    {
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(Settings))).Build();
        var captured = new StringWriter();
        var original = Console.Out;
        Console.SetOut(captured);
        try
        {
            using var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
            logger.ForContext("CorrelationId", "c-1").Information("Hello {Name}", "there");
        }
        finally
        {
            Console.SetOut(original);
        }

        var lines = captured.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        using var flat = JsonDocument.Parse(lines[0]);
        Assert.That(flat.RootElement.GetProperty("level").GetString(), Is.EqualTo("INFO"));
        Assert.That(flat.RootElement.GetProperty("correlation_id").GetString(), Is.EqualTo("c-1"));
        using var clef = JsonDocument.Parse(lines[1]);
        Assert.That(clef.RootElement.GetProperty("@mt").GetString(), Is.EqualTo("Hello {Name}"));
    }

    [Test]
    public void TheReadmesSectionWorksAsWritten()
    {
        // Read from the README itself, only logs/ moved to a temporary folder: the console gets CLEF, the file flat JSON
        // with short level names and snake_case properties.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "src", "Serilog.Extensions.Observability.Formatting", "README.md"));
        var start = readme.IndexOf("```json\n", readme.IndexOf("## appsettings.json", StringComparison.Ordinal), StringComparison.Ordinal) + "```json\n".Length;
        using var folder = TempFolder.ForCaller();
        var json = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)].Replace("logs/", folder.Path.Replace('\\', '/') + "/");
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var captured = new StringWriter();
        var original = Console.Out;
        Console.SetOut(captured);
        try
        {
            using var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
            logger.ForContext("UserId", "u-1").Information("Hello {Name}", "there");
        }
        finally
        {
            Console.SetOut(original);
        }

        using var clef = JsonDocument.Parse(captured.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Single());
        Assert.That(clef.RootElement.GetProperty("@mt").GetString(), Is.EqualTo("Hello {Name}"));
        using var flat = JsonDocument.Parse(File.ReadLines(Path.Combine(folder.Path, "app.json")).Single());
        Assert.That(flat.RootElement.GetProperty("level").GetString(), Is.EqualTo("INFO"), "levelFormat");
        Assert.That(flat.RootElement.GetProperty("user_id").GetString(), Is.EqualTo("u-1"), "snakeCaseNames");
    }
}
