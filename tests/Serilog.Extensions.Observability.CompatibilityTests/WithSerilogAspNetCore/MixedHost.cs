extern alias SerilogAspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Timing;
using TheirApplicationBuilderExtensions = SerilogAspNetCore::Serilog.SerilogApplicationBuilderExtensions;
using TheirDiagnosticContext = SerilogAspNetCore::Serilog.IDiagnosticContext;

namespace Serilog.Extensions.Observability.CompatibilityTests.WithSerilogAspNetCore;

/// <summary>Where the application's correlation middleware sits, relative to Serilog.AspNetCore's request logging.</summary>
public enum CorrelationMiddleware
{
    /// <summary>None: <c>WithCorrelation()</c> falls back to the request's W3C trace id.</summary>
    None,

    /// <summary>Before <c>UseSerilogRequestLogging()</c>, so the completion event is written inside its scope.</summary>
    BeforeRequestLogging,

    /// <summary>After it: the scope has ended (in the request logging's flow, it never began) when the event is written.</summary>
    AfterRequestLogging,
}

/// <summary>One request sent to the host, and what the client got back.</summary>
sealed record MixedRequest(string Target, string? CorrelationHeader = null)
{
    public int Status { get; set; }
}

/// <summary>
/// An application on Serilog.AspNetCore 10 (its <c>AddSerilog</c>, <c>IDiagnosticContext</c> and
/// <c>UseSerilogRequestLogging()</c>) that uses only our packages without ASP.NET Core in them, on Kestrel at
/// 127.0.0.1 port 0. Its content root is the test's folder, so an <c>appsettings.json</c> written there is read as
/// <c>WebApplication.CreateBuilder</c> reads it in production.
/// </summary>
static class MixedHost
{
    public const string OrderStage = "db";
    public const string OrderPipeline = "load-order";
    public const string DiagnosticSecret = "diag-secret-1";
    public const string ExceptionSecret = "exception-secret-1";

    /// <summary>Runs the host, sends the requests one after the other, stops and disposes the host.</summary>
    /// <param name="contentRoot">The content root, holding the application's <c>appsettings.json</c> if any.</param>
    /// <param name="addSerilog">The application's <c>AddSerilog(...)</c> call.</param>
    /// <param name="correlation">Where the application begins its <see cref="CorrelationContext"/>.</param>
    /// <param name="requests">The requests; each gets the status the client received.</param>
    /// <param name="beforeStop">Runs after the last response, before the host stops.</param>
    /// <param name="collectStages">Add the application's middleware, after the request logging, that sets the stages of
    /// the request's pipelines on the completion event through their <c>IDiagnosticContext</c>.</param>
    public static async Task RunAsync(
        string contentRoot,
        Action<WebApplicationBuilder> addSerilog,
        CorrelationMiddleware correlation,
        IReadOnlyList<MixedRequest> requests,
        Action? beforeStop = null,
        bool collectStages = false)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // Production whatever the machine's ASPNETCORE_ENVIRONMENT says; appsettings.json from the test's folder.
            EnvironmentName = Environments.Production,
            ContentRootPath = contentRoot,
        });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        addSerilog(builder);

        var app = builder.Build();
        if (correlation == CorrelationMiddleware.BeforeRequestLogging) app.Use(BeginCorrelation);
        TheirApplicationBuilderExtensions.UseSerilogRequestLogging(app, options => options.IncludeQueryInRequestPath = true);
        if (correlation == CorrelationMiddleware.AfterRequestLogging) app.Use(BeginCorrelation);
        if (collectStages) app.Use(CollectStages);
        Map(app);

        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            foreach (var request in requests)
            {
                using var message = new HttpRequestMessage(HttpMethod.Get, request.Target);
                if (request.CorrelationHeader is { } id) message.Headers.Add(CorrelationPropagation.DefaultHeaderName, id);
                using var response = await client.SendAsync(message);
                request.Status = (int)response.StatusCode;
            }
            beforeStop?.Invoke();
        }
        finally
        {
            // Stopping waits for the requests to leave the pipeline; disposing the host disposes its logger factory.
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>The application's own correlation middleware: the header's id when valid, else no scope (the trace id).</summary>
    static async Task BeginCorrelation(HttpContext context, RequestDelegate next)
    {
        var id = context.Request.Headers[CorrelationPropagation.DefaultHeaderName].ToString();
        using (CorrelationContext.IsValidId(id) ? CorrelationContext.Begin(id) : null)
            await next(context);
    }

    /// <summary>The application's own middleware: the stages of the request's pipelines on the completion event.</summary>
    static async Task CollectStages(HttpContext context, RequestDelegate next)
    {
        using var stages = PipelineCollector.Begin();
        try
        {
            await next(context);
        }
        finally
        {
            if (stages.Pipelines.Count > 0)
                context.RequestServices.GetRequiredService<TheirDiagnosticContext>().Set("Stages", stages.Stages);
        }
    }

    static void Map(WebApplication app)
    {
        app.MapGet("/fail", () =>
        {
            using var pipeline = PipelineTimer.Begin(OrderPipeline);
            using (pipeline.Stage(OrderStage))
                throw new InvalidOperationException($"Connection refused: Server=db;Password={ExceptionSecret};");
        });
        app.MapGet("/orders/{id:int}", (int id, TheirDiagnosticContext diagnostics, ILogger<Marker> logger) =>
        {
            diagnostics.Set("OrderId", id);
            diagnostics.Set("Password", DiagnosticSecret);
            using var pipeline = PipelineTimer.Begin(OrderPipeline);
            using (pipeline.Stage(OrderStage))
            {
                Log.Information("Loading order {OrderId} through Log", id);
                logger.LogInformation("Loading order {OrderId} through ILogger", id);
            }
            pipeline.Complete();
            return Results.Ok(id);
        });
    }

    /// <summary>The category of the handler's <c>ILogger&lt;T&gt;</c>.</summary>
    sealed class Marker;
}

/// <summary>Records its own disposal: a sink inside the logger's pipeline is disposed when the logger is.</summary>
sealed class DisposalProbe : ILogEventSink, IDisposable
{
    int _disposed;

    public bool Disposed => Volatile.Read(ref _disposed) != 0;

    public void Emit(LogEvent logEvent)
    {
    }

    public void Dispose() => Interlocked.Exchange(ref _disposed, 1);
}
