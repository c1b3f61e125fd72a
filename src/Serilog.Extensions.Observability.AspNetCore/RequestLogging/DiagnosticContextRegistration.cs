using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Serilog.Extensions.Observability.AspNetCore.RequestLogging;

static class DiagnosticContextRegistration
{
    /// <summary>One context per application, injectable as <see cref="IDiagnosticContext"/>; idempotent.</summary>
    public static void Add(IServiceCollection services, ILogger? logger)
    {
        services.TryAddSingleton(new DiagnosticContext(logger));
        services.TryAddSingleton<IDiagnosticContext>(sp => sp.GetRequiredService<DiagnosticContext>());
    }
}
