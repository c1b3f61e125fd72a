using System.Text.Json;
using Serilog.Extensions.Observability.IntegrationTests.Support;

namespace Serilog.Extensions.Observability.IntegrationTests.Packaging;

/// <summary>
/// build/pack.sh takes <c>-p:PackageVersion=...</c>: the assemblies inside must carry that version too, since the
/// Meters and ActivitySources report the informational version as the package's (OpenTelemetry's scope version).
/// </summary>
public class PackageVersionTests
{
    [TestCase("Serilog.Extensions.Observability.Timing")]
    [TestCase("Serilog.Extensions.Observability.Sinks.RollingJson")]
    [TestCase("Serilog.Extensions.Observability.AspNetCore")]
    public async Task APackageVersionGivenToPackIsTheVersionOfTheAssembliesItPacks(string id)
    {
        var project = Path.Combine(Repository.Root, "src", id, id + ".csproj");

        // Evaluation and the SDK's own version target only: nothing is built or written.
        var result = await ChildProcess.RunAsync("dotnet",
            $"msbuild \"{project}\" -nologo -t:GetAssemblyVersion -p:TargetFramework=net10.0 -p:PackageVersion=2.3.4-beta.5 " +
            "-getProperty:PackageVersion -getProperty:Version -getProperty:InformationalVersion -getProperty:FileVersion -getProperty:AssemblyVersion",
            Repository.Root, TimeSpan.FromMinutes(2));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        using var json = JsonDocument.Parse(result.Output[result.Output.IndexOf('{')..]);
        var properties = json.RootElement.GetProperty("Properties");
        Assert.That(properties.GetProperty("PackageVersion").GetString(), Is.EqualTo("2.3.4-beta.5"));
        Assert.That(properties.GetProperty("Version").GetString(), Is.EqualTo("2.3.4-beta.5"), id);
        Assert.That(properties.GetProperty("InformationalVersion").GetString(), Is.EqualTo("2.3.4-beta.5"), id);
        Assert.That(properties.GetProperty("FileVersion").GetString(), Is.EqualTo("2.3.4.0"), id);
        Assert.That(properties.GetProperty("AssemblyVersion").GetString(), Is.EqualTo("2.3.4.0"), id);
    }
}
