using System.Reflection;
using Serilog.Extensions.Observability.Formatting;

namespace Serilog.Extensions.Observability.CompatibilityTests;

/// <summary>
/// What every other test here relies on: the libraries, built against Serilog 3.1.1 as they ship, run on Serilog 4.
/// </summary>
public class SerilogLineTests
{
    [Test]
    public void TheTestsRunOnSerilog4()
    {
        var running = typeof(Log).Assembly.GetName().Version!;

        Assert.That(running.Major, Is.EqualTo(4), "the Serilog assembly loaded here");
    }

    [Test]
    public void TheLibrariesWereBuiltAgainstSerilog3()
    {
        // Serilog 3.1.1's assembly version is 2.0.0.0 (pinned since Serilog 2); Serilog 4 dropped the pin.
        var referenced = typeof(CompactJsonFormatter).Assembly.GetReferencedAssemblies().Single(a => a.Name == "Serilog");

        Assert.That(referenced.Version, Is.EqualTo(new Version(2, 0, 0, 0)), "the Serilog version the Formatting package was compiled against");
    }
}
