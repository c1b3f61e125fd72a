using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Core;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>Builds a minimal app on real Kestrel (127.0.0.1, port 0) or on the test server.</summary>
static class TestWeb
{
    /// <summary>
    /// A slim builder whose environment is Production whatever ASPNETCORE_ENVIRONMENT or DOTNET_ENVIRONMENT the machine
    /// running the tests sets: under Development the host adds the developer exception page, which answers an escaping
    /// exception itself (with the request's headers in the body), so the exception never reaches the server.
    /// </summary>
    public static WebApplicationBuilder ProductionBuilder() =>
        WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });

    public static Logger CreateLogger(WaitingSink sink) =>
        new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .Enrich.FromLogContext()
            .Enrich.WithCorrelation()
            .Enrich.WithUser()
            .WriteTo.Sink(sink)
            .CreateLogger();

    public static async Task<RunningApp> StartKestrelAsync(Action<WebApplication> configure, Action<IServiceCollection>? services = null)
    {
        var builder = ProductionBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        services?.Invoke(builder.Services);
        var app = builder.Build();
        configure(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new RunningApp(app, new Uri(address));
    }

    public static async Task<RunningApp> StartTestServerAsync(Action<WebApplication> configure, Action<IServiceCollection>? services = null)
    {
        var builder = ProductionBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        configure(app);
        await app.StartAsync();
        return new RunningApp(app, new Uri("http://localhost/"));
    }
}

sealed class RunningApp(WebApplication app, Uri baseAddress) : IAsyncDisposable
{
    public WebApplication App { get; } = app;
    public Uri BaseAddress { get; } = baseAddress;

    public TestServer TestServer => App.GetTestServer();

    public HttpClient CreateClient() =>
        App.Services.GetService<IServer>() is TestServer server
            ? server.CreateClient()
            : new HttpClient { BaseAddress = BaseAddress };

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
