using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Serilog;
using Serilog.Extensions.Observability;
using Serilog.Extensions.Observability.Sample;
using Serilog.Extensions.Observability.Timing;

// With no arguments: start on a free loopback port, send the demo script to ourselves, print what happened, exit.
// With --serve: keep serving (Ctrl+C to stop).
var serve = args.Contains("--serve");
var hostArgs = args.Where(a => a != "--serve").ToArray();
var builder = WebApplication.CreateBuilder(hostArgs);
// The appsettings.json beside the binary (the content root is the directory the sample is run from). Environment
// variables and the command line are added again after it so that they still override it, as in any ASP.NET Core app
// (a container sends the files to a writable volume with Serilog__WriteTo__0__Args__configure__0__Args__path).
builder.Configuration
    .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false)
    .AddEnvironmentVariables()
    .AddCommandLine(hostArgs);
if (!serve) builder.WebHost.UseUrls("http://127.0.0.1:0");

// The console is AddObservability()'s text console rather than a "Console" entry under "WriteTo" in appsettings.json
// (which would turn it off, and write values as they are): it escapes control characters in logged values, so a request
// to /a%0D%0A[12:00:00 INF] ... cannot print a line of its own. Its redaction rules are "Serilog:Redaction".
builder.AddObservability(o => o.Service("voice-sample", "1.0.0").Console(ObservabilityConsoleFormat.Text));
builder.Services.AddHealthChecks();
builder.Services.AddSingleton<SelfAddress>();
builder.Services.AddHttpClient("self", (sp, client) => client.BaseAddress = sp.GetRequiredService<SelfAddress>().Uri)
    .AddCorrelationPropagation();

var app = builder.Build();
app.UseCorrelation();
app.UseSerilogRequestLogging();
Endpoints.Map(app);

await app.StartAsync();
var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
app.Services.GetRequiredService<SelfAddress>().Uri = address;

if (serve)
{
    Console.WriteLine($"Serving on {address} (Ctrl+C to stop).");
    await app.WaitForShutdownAsync();
    await app.DisposeAsync(); // as app.Run() does: flushes the logger, so the last events reach the files before the process exits
    return 0;
}

var report = await DemoScript.RunAsync(address);
await app.StopAsync();
await app.DisposeAsync(); // flushes the logger: every accepted event is on disk after this
DemoScript.PrintAccount(report, Path.Combine(Directory.GetCurrentDirectory(), "logs"));
return report.Succeeded ? 0 : 1;

namespace Serilog.Extensions.Observability.Sample
{
    /// <summary>The app's own address, known once Kestrel has bound its port.</summary>
    sealed class SelfAddress
    {
        public Uri? Uri { get; set; }
    }

    sealed record LoginRequest(string User, string Password, string ApiKey);

    static class Endpoints
    {
        public static void Map(WebApplication app)
        {
            app.MapPost("/voice/turn", async (HttpContext http, Microsoft.Extensions.Logging.ILogger<VoiceTurn> log, string? slow) =>
            {
                using var pipeline = PipelineTimer.Begin("voice-turn");
                var transcript = await pipeline.StageAsync("stt", async () =>
                {
                    await Task.Delay(slow == "stt" ? 300 : 20);
                    return "what's the weather tomorrow";
                });
                log.LogInformation("Transcribed {Characters} characters", transcript.Length);
                var answer = await pipeline.StageAsync("llm", async () =>
                {
                    await Task.Delay(slow == "llm" ? 400 : 40);
                    return "Sunny, 21 degrees.";
                });
                await pipeline.StageAsync("tts", () => Task.Delay(slow == "tts" ? 300 : 15));
                pipeline.Complete();
                return Results.Ok(new { answer, stages = pipeline.Stages });
            });

            app.MapPost("/login", (LoginRequest body, Microsoft.Extensions.Logging.ILogger<LoginRequest> log) =>
            {
                // The password and API key never reach the console or the files: redaction masks them.
                log.LogInformation("Login attempt {@Body}", body);
                return body.Password == "correct horse" ? Results.Ok() : Results.Unauthorized();
            });

            app.MapGet("/orders/{id:int}", async (int id, IHttpClientFactory clients, IDiagnosticContext diagnostics) =>
            {
                diagnostics.Set("OrderId", id);
                var stock = await clients.CreateClient("self").GetFromJsonAsync<int>($"/inventory/{id}");
                Log.Information("Order {OrderId} has {Stock} items in stock", id, stock);
                return Results.Ok(new { id, stock });
            });

            app.MapGet("/inventory/{id:int}", (int id) =>
            {
                Log.Information("Inventory lookup for {ItemId}", id);
                return Results.Ok(id * 3);
            });

            app.MapGet("/boom", string () => throw new InvalidOperationException("The flux capacitor failed."));
            app.MapHealthChecks("/health");
        }
    }

    sealed class VoiceTurn;
}
