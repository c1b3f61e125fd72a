using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Serilog.Core;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>
/// Each package README's "## appsettings.json" block, read from the README itself and bound as written (only
/// <c>logs/</c> moved to a temporary folder), with every argument's effect seen in the output.
/// </summary>
[NonParallelizable] // sets an environment variable and redirects the process-wide Console.Out
public class PackageReadmeAppSettingsTests
{
    static string ReadmeBlock(string package)
    {
        var readme = File.ReadAllText(Path.Combine(PackageReadmeTests.RepositoryRoot(), "src", package, "README.md"));
        var section = readme.IndexOf("## appsettings.json", StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"{package}'s README has no appsettings.json section.");
        var start = readme.IndexOf("```json\n", section, StringComparison.Ordinal) + "```json\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    static Logger FromReadme(string package, CollectingSink sink, string? logDirectory = null)
    {
        var json = ReadmeBlock(package);
        if (logDirectory is not null) json = json.Replace("logs/", logDirectory.Replace('\\', '/') + "/");
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();
        return new LoggerConfiguration().ReadFrom.Configuration(configuration).WriteTo.Sink(sink).CreateLogger();
    }

    [Test]
    public void TheEnrichersReadmeSectionAddsEveryPropertyItNames()
    {
        var previous = Environment.GetEnvironmentVariable("USER_ID_KEY");
        Environment.SetEnvironmentVariable("USER_ID_KEY", "readme-pseudonymization-key-0123456789");
        var sink = new CollectingSink();
        try
        {
            using var logger = FromReadme("Serilog.Extensions.Observability.Enrichers", sink);
            var thread = new Thread(() =>
            {
                using var activity = new Activity("readme-operation").SetIdFormat(ActivityIdFormat.W3C).Start();
                using (CorrelationContext.Begin("readme-corr"))
                using (UserContext.Begin("user-42", "acme"))
                    logger.Information("Hello");
            }) { Name = "readme-thread" };
            thread.Start();
            thread.Join();
        }
        finally
        {
            Environment.SetEnvironmentVariable("USER_ID_KEY", previous);
        }

        var properties = sink.SingleEvent.Properties;
        Assert.Multiple(() =>
        {
            Assert.That(properties["CorrelationId"].ToString(), Is.EqualTo("\"readme-corr\""), "WithCorrelation");
            Assert.That(properties.ContainsKey("TraceId") && properties.ContainsKey("SpanId"), Is.True, "WithSpan");
            Assert.That(properties["OperationName"].ToString(), Is.EqualTo("\"readme-operation\""), "WithSpan includeOperationName");
            Assert.That(properties["UserId"].ToString(), Is.Not.EqualTo("\"user-42\"").And.Not.Empty, "WithUser pseudonymKey");
            Assert.That(properties["TenantId"].ToString(), Is.EqualTo("\"acme\""), "WithUser");
            Assert.That(properties.ContainsKey("ThreadId"), Is.True, "WithThreadId");
            Assert.That(properties["ThreadName"].ToString(), Is.EqualTo("\"readme-thread\""), "WithThreadName");
        });
    }

    [Test]
    public void TheRedactionReadmeSectionMasksWithEveryArgument()
    {
        var text = ConsoleCapture.Output(() =>
        {
            using var logger = FromReadme("Serilog.Extensions.Observability.Redaction", new CollectingSink());
            RedactionReadmeExample.Log(logger);
        });

        RedactionReadmeExample.AssertMasked(text);
    }

    [Test]
    public void TheRollingJsonReadmeSectionWritesHourlyFlatJsonFiles()
    {
        using var folder = TempFolder.ForCaller();
        using (var logger = FromReadme("Serilog.Extensions.Observability.Sinks.RollingJson", new CollectingSink(), folder.Path))
        {
            logger.Information("Order {OrderId} shipped", 42);
        }

        var file = Directory.GetFiles(folder.Path).Single();
        Assert.That(Path.GetFileName(file), Does.Match(@"^app-\d{10}\.json$"), "rollingInterval Hour");
        using var line = JsonDocument.Parse(File.ReadLines(file).Single());
        Assert.That(line.RootElement.GetProperty("message").GetString(), Is.EqualTo("Order 42 shipped"), "the flat formatter");
        Assert.That(line.RootElement.GetProperty("order_id").GetInt32(), Is.EqualTo(42));
    }
}
