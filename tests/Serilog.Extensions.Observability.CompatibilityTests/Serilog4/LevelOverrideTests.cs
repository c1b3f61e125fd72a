using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4;

/// <summary>
/// The root README's level override claim, run on Serilog 4.4: <c>AddObservability()</c> asks the running Serilog how
/// it matches override names. Serilog 3.1.1 matches them by exact case; Serilog 4.4 ignores case (the README said it
/// matched by exact case too), so there <c>"microsoft": "Information"</c> covers <c>Microsoft.AspNetCore</c>, the probe
/// says so, and our Warning default for it is not added: the section's level applies, as Serilog applies it.
/// </summary>
[NonParallelizable] // AddObservability() sets the static Log.Logger
public class LevelOverrideTests
{
    const string AspNetCoreSource = "Microsoft.AspNetCore.Routing.EndpointMiddleware";

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    [Test]
    public void Serilog44AppliesAnOverrideToNamesOfAnyCaseAtNamespaceBoundaries()
    {
        using var logger = new LoggerConfiguration()
            .MinimumLevel.Fatal()
            .MinimumLevel.Override("microsoft", LogEventLevel.Verbose)
            .MinimumLevel.Override("Shop", LogEventLevel.Verbose)
            .CreateLogger();

        Assert.Multiple(() =>
        {
            Assert.That(logger.ForContext(Constants.SourceContextPropertyName, AspNetCoreSource).IsEnabled(LogEventLevel.Verbose), Is.True, "microsoft vs Microsoft.*");
            Assert.That(logger.ForContext(Constants.SourceContextPropertyName, "MICROSOFT.Extensions").IsEnabled(LogEventLevel.Verbose), Is.True, "upper case");
            Assert.That(logger.ForContext(Constants.SourceContextPropertyName, "Shop.Orders").IsEnabled(LogEventLevel.Verbose), Is.True, "a namespace under it");
            Assert.That(logger.ForContext(Constants.SourceContextPropertyName, "ShopFront").IsEnabled(LogEventLevel.Verbose), Is.False, "a longer name, not a namespace");
        });
    }

    [Test]
    public void AddObservabilitysProbeFindsCaseInsensitiveMatchingOnSerilog44()
    {
        var overrideNames = typeof(ObservabilityHostApplicationBuilderExtensions).Assembly
            .GetType("Serilog.Extensions.Observability.AspNetCore.Hosting.OverrideNames", throwOnError: true)!;

        var comparison = overrideNames.GetProperty("Comparison", BindingFlags.Public | BindingFlags.Static)!.GetValue(null);

        Assert.That(comparison, Is.EqualTo(StringComparison.OrdinalIgnoreCase));
    }

    [TestCase("microsoft", true, TestName = "A lower-case microsoft override sets Microsoft.AspNetCore's level itself on Serilog 4.4")]
    [TestCase("Microsoft", true, TestName = "A Microsoft override sets Microsoft.AspNetCore's level itself")]
    [TestCase("Microsoft.AspNetCore", true, TestName = "A Microsoft.AspNetCore override sets its level itself")]
    [TestCase("MICROSOFT.ASPNETCORE", true, TestName = "An upper-case Microsoft.AspNetCore override sets its level itself on Serilog 4.4")]
    [TestCase("Microsoft.AspNet", false, TestName = "An override of a longer name's prefix leaves our Warning default")]
    public void TheWarningDefaultIsAddedOnlyWhenNoOverrideCoversMicrosoftAspNetCore(string overrideName, bool informationReachesAspNetCore)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            EnvironmentName = Environments.Production,
            ApplicationName = "override-check",
            DisableDefaults = true,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Debug",
            [$"Serilog:MinimumLevel:Override:{overrideName}"] = "Information",
        });

        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));

        var aspNetCore = Log.ForContext(Constants.SourceContextPropertyName, AspNetCoreSource);
        Assert.Multiple(() =>
        {
            Assert.That(aspNetCore.IsEnabled(LogEventLevel.Information), Is.EqualTo(informationReachesAspNetCore), "Information");
            Assert.That(aspNetCore.IsEnabled(LogEventLevel.Warning), Is.True, "Warning");
            Assert.That(Log.ForContext(Constants.SourceContextPropertyName, "Shop.Orders").IsEnabled(LogEventLevel.Debug), Is.True, "the section's default");
        });
    }
}
