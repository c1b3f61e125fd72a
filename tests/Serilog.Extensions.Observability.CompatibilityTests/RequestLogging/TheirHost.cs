extern alias SerilogAspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;
using TheirApplicationBuilderExtensions = SerilogAspNetCore::Serilog.SerilogApplicationBuilderExtensions;
using TheirDiagnosticContext = SerilogAspNetCore::Serilog.IDiagnosticContext;
using TheirOptions = SerilogAspNetCore::Serilog.AspNetCore.RequestLoggingOptions;
using TheirServiceCollectionExtensions = SerilogAspNetCore::Serilog.SerilogServiceCollectionExtensions;

namespace Serilog.Extensions.Observability.CompatibilityTests.RequestLogging;

/// <summary>A host set up as Serilog.AspNetCore's README shows, with its request logging.</summary>
static class TheirHost
{
    public static Task<ScenarioRun> RunAsync(RequestLoggingScenario scenario) =>
        ScenarioHost.RunAsync(scenario, (builder, sink) => SetUp(builder, sink, scenario.Options), (app, custom) => UseRequestLogging(app, scenario.Options, custom));

    static void SetUp(WebApplicationBuilder builder, CollectingSink sink, ScenarioOptions scenario)
    {
        if (scenario.ThroughServices) builder.Services.Configure<TheirOptions>(options => Apply(options, scenario, custom: null));
        TheirServiceCollectionExtensions.AddSerilog(builder.Services, configuration => configuration
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .WriteTo.Sink(sink));
        builder.Services.AddSingleton<IDiagnostics>(services => new Diagnostics(services.GetRequiredService<TheirDiagnosticContext>()));
    }

    static void UseRequestLogging(WebApplication app, ScenarioOptions scenario, ILogger? custom)
    {
        if (scenario.ThroughServices) TheirApplicationBuilderExtensions.UseSerilogRequestLogging(app);
        else TheirApplicationBuilderExtensions.UseSerilogRequestLogging(app, options => Apply(options, scenario, custom));
    }

    static void Apply(TheirOptions options, ScenarioOptions scenario, ILogger? custom)
    {
        if (scenario.MessageTemplate is { } template) options.MessageTemplate = template;
        if (scenario.GetLevel is { } getLevel) options.GetLevel = getLevel;
        if (scenario.EnrichDiagnosticContext is { } enrich)
            options.EnrichDiagnosticContext = (context, http) => enrich(new Diagnostics(context), http);
        options.IncludeQueryInRequestPath = scenario.IncludeQueryInRequestPath;
        if (scenario.GetMessageTemplateProperties is { } properties) options.GetMessageTemplateProperties = properties;
        if (custom is not null) options.Logger = custom;
    }

    sealed class Diagnostics(TheirDiagnosticContext context) : IDiagnostics
    {
        // Serilog.Extensions.Hosting 9 annotates the value as not null, though it takes null (10 annotates it object?, as
        // ours is; RequestLoggingApiTests): the scenarios' null goes through as with 8 and 10.
        public void Set(string propertyName, object? value, bool destructureObjects = false) => context.Set(propertyName, value!, destructureObjects);

        public void SetException(Exception exception) => context.SetException(exception);
    }
}
