using Serilog.Extensions.Observability.Sinks.RollingJson.Files;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Files;

public class DirectoryFlushTests
{
    [Test]
    public void ADirectoryIsFlushedToDiskAndAMissingOneIsAnIOError()
    {
        // The C library calls are bound and made for real; whether the device got the directory, no test can see.
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Directories are flushed on Linux only.");
        using var folder = TempFolder.ForCaller();
        Assert.DoesNotThrow(() => DirectoryFlush.ToDisk(folder.Path));
        Assert.Throws<IOException>(() => DirectoryFlush.ToDisk(Path.Combine(folder.Path, "missing")));
    }
}
