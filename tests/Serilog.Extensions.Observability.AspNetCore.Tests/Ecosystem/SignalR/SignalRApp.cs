using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.AspNetCore;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Timing;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem.SignalR;

/// <summary>
/// The hub under test. Every method logs one event through an injected <see cref="ILogger{T}"/> (as hubs log) and sets
/// a diagnostic-context property, so the file shows where each ends up.
/// </summary>
public sealed class ChatHub(ILogger<ChatHub> logger, IDiagnosticContext diagnostics) : Hub
{
    public override Task OnConnectedAsync()
    {
        logger.LogInformation("Hub connected {Caller}", Caller);
        return Task.CompletedTask;
    }

    public string Echo(string text)
    {
        logger.LogInformation("Hub echo {Text}", text);
        diagnostics.Set("LastEcho", text);
        return text;
    }

    /// <summary>Logs, then fails as a hub method whose dependency is gone does.</summary>
    public string Fail(string text)
    {
        logger.LogInformation("Hub failing {Text}", text);
        throw new InvalidOperationException("The order store is gone");
    }

    /// <summary>Logs inside a logger scope of its own and times a stage named after the text's caller.</summary>
    public string Scoped(string text)
    {
        using var timer = PipelineTimer.Begin("chat");
        using (timer.Stage(text[..text.IndexOf('-')] + "-stage"))
        using (logger.BeginScope(new Dictionary<string, object> { ["Scope"] = text }))
            logger.LogInformation("Hub scoped {Text}", text);
        return text;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        logger.LogInformation("Hub disconnected {Caller}", Caller);
        return Task.CompletedTask;
    }

    // The client names itself in the query string, so events can be told apart without the ids under test.
    string? Caller => Context.GetHttpContext()?.Request.Query["caller"];
}

/// <summary>
/// A host set up as the package README says (<c>AddObservability()</c> writing CLEF to a RollingJson file,
/// <c>UseCorrelation()</c>, <c>UseSerilogRequestLogging()</c>) on real Kestrel, with <see cref="ChatHub"/> at
/// <c>/hubs/chat</c>. <see cref="StopAndReadAsync"/> disposes the host, which flushes the file, and parses it back.
/// </summary>
sealed class SignalRApp : IAsyncDisposable
{
    public const string HubPath = "/hubs/chat";

    readonly TempFolder _logs;
    readonly List<HubConnection> _connections = new();
    WebApplication? _app;

    SignalRApp(TempFolder logs, WebApplication app, Uri baseAddress)
    {
        _logs = logs;
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<SignalRApp> StartAsync(Action<RequestLoggingOptions>? requestLogging = null,
        Action<WebApplicationBuilder>? services = null, Action<WebApplication>? afterRequestLogging = null,
        Action<HubEndpointConventionBuilder>? hub = null, IDictionary<string, string?>? configuration = null)
    {
        var logs = TempFolder.ForCaller();
        try
        {
            var builder = TestWeb.ProductionBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            var settings = new Dictionary<string, string?>
            {
                ["Serilog:WriteTo:0:Name"] = "RollingJson",
                ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
            };
            foreach (var (key, value) in configuration ?? new Dictionary<string, string?>()) settings[key] = value;
            builder.Configuration.AddInMemoryCollection(settings);
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
            builder.Services.AddSignalR();
            services?.Invoke(builder);
            var app = builder.Build();
            app.UseCorrelation();
            app.UseSerilogRequestLogging(requestLogging);
            afterRequestLogging?.Invoke(app);
            var endpoint = app.MapHub<ChatHub>(HubPath);
            hub?.Invoke(endpoint);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new SignalRApp(logs, app, new Uri(address));
        }
        catch
        {
            logs.Dispose();
            throw;
        }
    }

    /// <summary>A started connection over <paramref name="transport"/>, sending <paramref name="headers"/> on every request.</summary>
    /// <remarks><paramref name="query"/> is added to the hub's address, which every request of the connection sends.</remarks>
    public async Task<HubConnection> ConnectAsync(string caller, HttpTransportType transport, IDictionary<string, string>? headers = null,
        Func<Task<string?>>? accessToken = null, string query = "")
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(BaseAddress, HubPath + "?caller=" + Uri.EscapeDataString(caller) + query), transport, o =>
            {
                foreach (var (name, value) in headers ?? new Dictionary<string, string>()) o.Headers[name] = value;
                if (accessToken is not null) o.AccessTokenProvider = accessToken;
            })
            .Build();
        _connections.Add(connection);
        await connection.StartAsync().WaitAsync(Bound);
        return connection;
    }

    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Stops the connections still open (unless told not to), disposes the host and reads its file back.</summary>
    public async Task<List<JsonElement>> StopAndReadAsync(bool stopConnections = true)
    {
        if (stopConnections)
        {
            foreach (var connection in _connections) await connection.StopAsync().WaitAsync(Bound);
        }
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync().WaitAsync(Bound);
            await app.DisposeAsync();
        }
        return LogFileEvents.Read(_logs.Path);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAndReadAsync();
            foreach (var connection in _connections) await connection.DisposeAsync();
        }
        finally
        {
            _logs.Dispose();
        }
    }
}
