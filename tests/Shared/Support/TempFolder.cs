using System.Runtime.CompilerServices;

namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>A fresh directory under the system temp path, deleted on dispose.</summary>
sealed class TempFolder : IDisposable
{
    public string Path { get; }

    TempFolder(string name)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "seo-tests", name + "-" + Guid.NewGuid().ToString("n")[..8]);
        Directory.CreateDirectory(Path);
    }

    public static TempFolder ForCaller([CallerMemberName] string caller = "", [CallerFilePath] string sourceFile = "") =>
        new(System.IO.Path.GetFileNameWithoutExtension(sourceFile) + "-" + caller);

    public string AllocateFilename(string extension = "json") =>
        System.IO.Path.Combine(Path, Guid.NewGuid().ToString("n") + "." + extension);

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A test that left a mount or a held file behind should not fail because of cleanup.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
