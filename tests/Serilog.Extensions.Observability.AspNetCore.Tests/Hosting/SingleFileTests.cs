using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// An application published with <c>PublishSingleFile</c>: Serilog.Settings.Configuration finds no assembly by itself
/// there, and the sample's section (no <c>"Using"</c>) made <c>AddObservability()</c> throw at startup. Publishing inside
/// a test is too slow; the manual check is in the AspNetCore README ("Publishing").
/// </summary>
[NonParallelizable]
public class SingleFileTests
{
    [TearDown]
    public void ResetStaticLogger()
    {
        Log.CloseAndFlush();
        // The section's WithPipelineTiming (an "llm" threshold) replaced the process-wide pipeline defaults: put the
        // package defaults back, so that no later fixture runs with this one's thresholds.
        new LoggerConfiguration().Enrich.WithPipelineTiming(new PipelineTimingOptions());
    }

    [Test]
    public async Task InASingleFileAppSerilogsOwnNamesResolveToo()
    {
        // Given assemblies, Serilog.Settings.Configuration offers Serilog's own methods (WriteTo.Logger, Destructure.ToMaximumDepth,
        // Filter.With...) only when Serilog's assembly is among them, as it always is when it finds them itself.
        using var logs = TempFolder.ForCaller();
        var path = Path.Combine(logs.Path, "app-.json").Replace('\\', '/');
        var json = $$"""
            {
              "Serilog": {
                "WriteTo": [ { "Name": "Logger", "Args": { "configureLogger": { "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "{{path}}" } } ] } } } ]
              }
            }
            """;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));

        ObservabilityHostApplicationBuilderExtensions.AddObservability(builder, configure: null, singleFile: true);

        var app = builder.Build();
        Log.Information("Started");
        await app.DisposeAsync();

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Does.Contain("Started"));
    }

    [Test]
    public async Task InASingleFileAppTheFamilysOwnNamesResolveWithoutUsing()
    {
        using var logs = TempFolder.ForCaller();
        var path = Path.Combine(logs.Path, "app-.json").Replace('\\', '/');
        var json = $$"""
            {
              "Serilog": {
                "MinimumLevel": { "Default": "Information" },
                "Enrich": [ "WithCorrelation", { "Name": "WithPipelineTiming", "Args": { "stageThresholds": { "llm": "00:00:02" } } } ],
                "WriteTo": [
                  {
                    "Name": "Redacted",
                    "Args": {
                      "configure": [
                        { "Name": "Console", "Args": { "outputTemplate": "{Message:lj}{NewLine}" } },
                        { "Name": "RollingJson", "Args": { "path": "{{path}}" } }
                      ]
                    }
                  }
                ]
              }
            }
            """;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");

        ObservabilityHostApplicationBuilderExtensions.AddObservability(builder, configure: null, singleFile: true);

        var app = builder.Build();
        app.UseCorrelation();
        app.UseSerilogRequestLogging();
        app.MapGet("/login", () =>
        {
            Log.Information("Login {@Body}", new { User = "ann", Password = "single-file-secret" });
            return "ok";
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using (var client = new HttpClient { BaseAddress = new Uri(address) })
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/login") { Headers = { { "X-Correlation-ID", "single-file-1" } } })
            Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await app.DisposeAsync();

        var events = LogFileEvents.Read(logs.Path);
        var completion = events.Single(e => LogFileEvents.Prop(e, "RequestPath") == "/login" && LogFileEvents.Prop(e, "StatusCode") == "200");
        Assert.Multiple(() =>
        {
            Assert.That(LogFileEvents.Prop(completion, "CorrelationId"), Is.EqualTo("single-file-1"));
            Assert.That(File.ReadAllText(Directory.GetFiles(logs.Path, "*.json").Single()), Does.Not.Contain("single-file-secret"));
            Assert.That(events.Select(e => LogFileEvents.Prop(e, "@mt")), Does.Contain("Login {@Body}"));
        });
    }

    [Test]
    public void InASingleFileAppAUsingEntryStillAddsAnotherPackagesSink()
    {
        // The README: "Any other package's sink or enricher must be listed in "Using" there". The test assembly stands for
        // that package (its DisposalProbe sink is in none of the assemblies AddObservability() gives).
        var id = "single-file-using-" + Guid.NewGuid().ToString("N");
        var json = $$"""
            {
              "Serilog": {
                "Using": [ "Serilog.Extensions.Observability.AspNetCore.Tests" ],
                "WriteTo": [ { "Name": "DisposalProbe", "Args": { "id": "{{id}}" } } ]
              }
            }
            """;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));

        ObservabilityHostApplicationBuilderExtensions.AddObservability(builder, configure: null, singleFile: true);

        Assert.That(DisposalProbeSink.WasCreated(id), Is.True);
    }
}
