using System.Runtime.CompilerServices;
using Serilog;

// An application set up as the AspNetCore package README shows, for the WebApplicationFactory tests
// (tests/Serilog.Extensions.Observability.AspNetCore.Tests/Ecosystem/WebApplicationFactoryTests.cs).
var builder = WebApplication.CreateBuilder(args);
builder.AddObservability();
builder.Services.AddSingleton<IOrderStore, OrderStore>();

var app = builder.Build();
app.UseCorrelation();
app.UseSerilogRequestLogging();
app.MapGet("/orders/{id}", (int id, IOrderStore store, IDiagnosticContext diagnostics, ILogger<Program> log) =>
{
    log.LogDebug("Looking up order {OrderId}", id);
    diagnostics.Set("OrderStore", store.Name);
    log.LogInformation("Loaded order {OrderId}", id);
    return Results.Ok(id);
});
app.Run();
Program.End(app.Services);

/// <summary>Public for <c>WebApplicationFactory&lt;Program&gt;</c>, as the ASP.NET Core testing docs show.</summary>
public partial class Program
{
    static readonly ConditionalWeakTable<IServiceProvider, TaskCompletionSource> Runs = new();

    /// <summary>
    /// Completes when <c>app.Run()</c> has returned for the host of <paramref name="services"/> (a factory's
    /// <c>Services</c>). WebApplicationFactory runs this file on a thread of its own, and <c>app.Run()</c> disposes the
    /// host there too when the factory stops it: the factory's <c>Dispose</c> can return while that thread still closes
    /// the logger.
    /// </summary>
    public static Task Ended(IServiceProvider services) => Run(services).Task;

    static void End(IServiceProvider services) => Run(services).TrySetResult();

    static TaskCompletionSource Run(IServiceProvider services) =>
        Runs.GetValue(services, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>A service the tests replace through <c>ConfigureTestServices</c>.</summary>
public interface IOrderStore
{
    string Name { get; }
}

sealed class OrderStore : IOrderStore
{
    public string Name => "database";
}
