using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.CompatibilityTests.RequestLogging;

/// <summary>A host set up as this package's README shows (<c>AddObservability()</c>), with its request logging.</summary>
static class OurHost
{
    public static Task<ScenarioRun> RunAsync(RequestLoggingScenario scenario) =>
        ScenarioHost.RunAsync(scenario, (builder, sink) => SetUp(builder, sink, scenario.Options), (app, custom) => UseRequestLogging(app, scenario.Options, custom));

    static void SetUp(WebApplicationBuilder builder, CollectingSink sink, ScenarioOptions scenario)
    {
        if (scenario.ThroughServices) builder.Services.Configure<Serilog.AspNetCore.RequestLoggingOptions>(options => Apply(options, scenario, custom: null));
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(writeTo => writeTo.Sink(sink)));
        builder.Services.AddSingleton<IDiagnostics>(services => new Diagnostics(services.GetRequiredService<IDiagnosticContext>()));
    }

    static void UseRequestLogging(WebApplication app, ScenarioOptions scenario, ILogger? custom)
    {
        if (scenario.ThroughServices) app.UseSerilogRequestLogging();
        else app.UseSerilogRequestLogging(options => Apply(options, scenario, custom));
    }

    static void Apply(Serilog.AspNetCore.RequestLoggingOptions options, ScenarioOptions scenario, ILogger? custom)
    {
        if (scenario.MessageTemplate is { } template) options.MessageTemplate = template;
        if (scenario.GetLevel is { } getLevel) options.GetLevel = getLevel;
        if (scenario.EnrichDiagnosticContext is { } enrich)
            options.EnrichDiagnosticContext = (context, http) => enrich(new Diagnostics(context), http);
        options.IncludeQueryInRequestPath = scenario.IncludeQueryInRequestPath;
        if (scenario.GetMessageTemplateProperties is { } properties) options.GetMessageTemplateProperties = properties;
        if (custom is not null) options.Logger = custom;
    }

    sealed class Diagnostics(IDiagnosticContext context) : IDiagnostics
    {
        public void Set(string propertyName, object? value, bool destructureObjects = false) => context.Set(propertyName, value, destructureObjects);

        public void SetException(Exception exception) => context.SetException(exception);
    }
}
