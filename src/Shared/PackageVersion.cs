using System.Reflection;

namespace Serilog.Extensions.Observability;

/// <summary>
/// The version a package's Meter and ActivitySource report, which OpenTelemetry exports as the instrumentation scope's
/// version: the package version (0.1.0, 1.2.0-beta.1), which the assembly version (0.1.0.0, no prerelease label) is not.
/// </summary>
static class PackageVersion
{
    /// <summary>The package version of the assembly that holds <paramref name="type"/>.</summary>
    public static string? Of(Type type) => Parse(
        type.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
        type.Assembly.GetName().Version);

    /// <summary>The informational version without its build metadata (the SDK appends <c>+commit</c>); else the assembly version.</summary>
    public static string? Parse(string? informationalVersion, Version? assemblyVersion)
    {
        if (string.IsNullOrEmpty(informationalVersion)) return assemblyVersion?.ToString();
        var metadata = informationalVersion.IndexOf('+');
        return metadata < 0 ? informationalVersion : informationalVersion[..metadata];
    }
}
