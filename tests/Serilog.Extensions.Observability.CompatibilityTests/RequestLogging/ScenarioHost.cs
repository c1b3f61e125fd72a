using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog.Core;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.CompatibilityTests.RequestLogging;

/// <summary>
/// Runs one scenario's request on a Kestrel host (127.0.0.1, port 0: the server's own events and the raw request
/// target are those of production), or on the test server, that one package's set-up configures.
/// </summary>
static class ScenarioHost
{
    /// <param name="scenario">The request and options.</param>
    /// <param name="setUp">The package's host set-up, writing the host's events to the sink given.</param>
    /// <param name="useRequestLogging">The package's <c>UseSerilogRequestLogging(o => ...)</c>, with the custom logger to set
    /// when the scenario asks for one.</param>
    public static async Task<ScenarioRun> RunAsync(
        RequestLoggingScenario scenario,
        Action<WebApplicationBuilder, CollectingSink> setUp,
        Action<WebApplication, ILogger?> useRequestLogging)
    {
        var hostSink = new CollectingSink();
        var customSink = new CollectingSink();
        using var custom = scenario.Options.CustomLogger ? new LoggerConfiguration().WriteTo.Sink(customSink).CreateLogger() : null;

        // Production whatever the machine's ASPNETCORE_ENVIRONMENT says: Development adds the developer exception page.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        if (scenario.TestServer) builder.WebHost.UseTestServer();
        else builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        setUp(builder, hostSink);
        var app = builder.Build();
        if (scenario.PathBase is { } pathBase) app.UsePathBase(pathBase);
        useRequestLogging(app, custom);
        ScenarioApplication.Map(app);

        await app.StartAsync();
        string response;
        try
        {
            using var client = scenario.TestServer
                ? app.GetTestClient()
                : new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()) };
            response = await Send(client, scenario.Target);
        }
        finally
        {
            // Stopping waits for the request to leave the pipeline: every event it causes is written when this returns.
            await app.StopAsync();
            await app.DisposeAsync();
        }

        return new ScenarioRun(response, hostSink.Events, customSink.Events);
    }

    // The status the client got with the whole body, or that the response was cut (a request that fails after its
    // response started is aborted: the reset may come before the client has read the status line, or after).
    static async Task<string> Send(HttpClient client, string target)
    {
        try
        {
            using var message = await client.GetAsync(target);
            return $"{(int)message.StatusCode}, body whole";
        }
        catch (HttpRequestException)
        {
            return "cut";
        }
    }
}
