using Microsoft.Extensions.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Hosting;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// Whether the <c>"Serilog"</c> section overrides the level of <c>Microsoft.AspNetCore</c> (so that AddObservability
/// adds no Warning default of its own) is decided by matching override names as the running Serilog does: ordinally
/// on 3.1, and as it answers at startup on any other. These packages are built against 3.1 and run against 4.x too.
/// </summary>
public class OverrideNamesTests
{
    [Test]
    public void TheComparisonIsTheOneTheRunningSerilogAppliesToOverrideNames()
    {
        // Asked of Serilog directly, with the names this is used for: a lower-case override of a namespace holding
        // Microsoft.AspNetCore, and a source context under it.
        using var logger = new LoggerConfiguration()
            .MinimumLevel.Fatal()
            .MinimumLevel.Override("microsoft", LogEventLevel.Verbose)
            .CreateLogger();
        var serilogIgnoresCase = logger.ForContext(Constants.SourceContextPropertyName, "Microsoft.AspNetCore.Hosting.Diagnostics")
            .IsEnabled(LogEventLevel.Verbose);

        Assert.That(OverrideNames.Comparison,
            Is.EqualTo(serilogIgnoresCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal));
    }

    [TestCase("Microsoft", StringComparison.Ordinal, true)]
    [TestCase("Microsoft.AspNetCore", StringComparison.Ordinal, true)]
    [TestCase("microsoft", StringComparison.Ordinal, false)]
    [TestCase("microsoft", StringComparison.OrdinalIgnoreCase, true)]
    [TestCase("MICROSOFT.ASPNETCORE", StringComparison.OrdinalIgnoreCase, true)]
    [TestCase("microsoft.aspnet", StringComparison.OrdinalIgnoreCase, false)]
    [TestCase("Microsoft.AspNetCore.Hosting", StringComparison.OrdinalIgnoreCase, false)]
    public void ASectionOverrideCountsForMicrosoftAspNetCoreWhenSerilogWouldApplyItThere(string name, StringComparison comparison, bool overrides)
    {
        // A Serilog that matched ignoring case would apply "microsoft" (an environment variable
        // Serilog__MinimumLevel__Override__microsoft) to Microsoft.AspNetCore.*: a Warning default added beside it,
        // more specific, would overrule the section.
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"Serilog:MinimumLevel:Override:{name}"] = "Information" })
            .Build()
            .GetSection("Serilog");

        Assert.That(ObservabilityHostApplicationBuilderExtensions.SectionOverridesAspNetCore(section, comparison), Is.EqualTo(overrides));
    }
}
