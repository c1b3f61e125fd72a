extern alias SerilogAspNetCore;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using TheirApplicationBuilderExtensions = SerilogAspNetCore::Serilog.SerilogApplicationBuilderExtensions;
using TheirServiceCollectionExtensions = SerilogAspNetCore::Serilog.SerilogServiceCollectionExtensions;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4TraceContext;

/// <summary>
/// The AspNetCore package's README names where its completion event differs from Serilog.AspNetCore 10's on purpose:
/// for an exception thrown synchronously inside a span, Serilog.AspNetCore's event carries that span, not the
/// request's (ours: <see cref="RequestTraceContextTests"/>).
/// </summary>
[NonParallelizable] // the span listeners are process-wide
public class SerilogAspNetCoreDifferenceTests
{
    static readonly ActivitySource Application = new("Serilog4TraceContext.TheirApplication");

    [Test]
    public async Task SerilogAspNetCoresCompletionEventOfASynchronousThrowCarriesTheThrowingCodesSpan()
    {
        using var listener = TraceContext.Listen("Microsoft.AspNetCore", Application.Name);
        var sink = new CollectingSink();
        ActivityContext request = default, thrownIn = default;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        TheirServiceCollectionExtensions.AddSerilog(builder.Services, configuration => configuration
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .WriteTo.Sink(sink));
        await using var app = builder.Build();
        app.Use((context, next) =>
        {
            request = context.Features.Get<IHttpActivityFeature>()!.Activity.Context;
            return next(context);
        });
        TheirApplicationBuilderExtensions.UseSerilogRequestLogging(app);
        app.Use(next => context =>
        {
            using var span = Application.StartActivity("authorize")!;
            thrownIn = span.Context;
            throw new UnauthorizedAccessException("No such key.");
        });
        await app.StartAsync();
        using (var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()) })
            await client.GetAsync("/throws");
        await app.StopAsync();

        var completion = sink.Events.Single(e => TraceContext.Property(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware");
        Assert.That(thrownIn.TraceId, Is.EqualTo(request.TraceId));
        Assert.That(thrownIn.SpanId, Is.Not.EqualTo(request.SpanId));
        Assert.That(completion.SpanId, Is.EqualTo(thrownIn.SpanId), "Serilog.AspNetCore's event names the span the throwing code had started.");
    }

    /// <summary>
    /// What the README says beside that difference: Serilog.AspNetCore's event carries a <c>LogContext</c> property that
    /// a middleware written without async pushed for the rest of the request (ours too: RequestLoggingMiddlewareTests),
    /// and, for a synchronous throw, one the throwing code had pushed (ours does not, as for its span).
    /// </summary>
    [TestCase("completes")]
    [TestCase("completes after an await")]
    [TestCase("throws synchronously")]
    public async Task SerilogAspNetCoresCompletionEventCarriesTheLogContextTheRestOfThePipelineLeft(string inner)
    {
        var sink = new CollectingSink();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        TheirServiceCollectionExtensions.AddSerilog(builder.Services, configuration => configuration
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .WriteTo.Sink(sink));
        await using var app = builder.Build();
        TheirApplicationBuilderExtensions.UseSerilogRequestLogging(app);
        app.Use(next => context =>
        {
            if (inner == "throws synchronously")
            {
                using (Serilog.Context.LogContext.PushProperty("Tenant", "t-1"))
                    throw new UnauthorizedAccessException("No such key.");
            }
            Serilog.Context.LogContext.PushProperty("Tenant", "t-1");
            return inner == "completes" ? context.Response.WriteAsync("ok") : WriteAfterAnAwait(context);
        });
        await app.StartAsync();
        using (var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()) })
            await client.GetAsync("/tenant");
        await app.StopAsync();

        var completion = sink.Events.Single(e => TraceContext.Property(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware");
        Assert.That(completion.Exception?.Message, Is.EqualTo(inner == "throws synchronously" ? "No such key." : null));
        Assert.That(TraceContext.Property(completion, "Tenant"), Is.EqualTo("t-1"));

        static async Task WriteAfterAnAwait(HttpContext context)
        {
            await Task.Yield();
            await context.Response.WriteAsync("ok");
        }
    }
}
