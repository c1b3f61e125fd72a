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
}
