using System.Runtime.InteropServices;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Files;

/// <summary>
/// Forces a directory's entries (what a rename changed) to the storage device. .NET has no call for it: a directory
/// cannot be opened as a <see cref="FileStream"/>, so on Linux the sink asks the C library itself.
/// </summary>
internal static class DirectoryFlush
{
    const int OpenReadOnly = 0;
    const int OpenCloseOnExec = 0x80000; // O_CLOEXEC on every architecture .NET runs Linux on
    const int ErrorInvalid = 22; // EINVAL
    const int ErrorNotImplemented = 38; // ENOSYS
    const int ErrorNotSupported = 95; // EOPNOTSUPP

    static volatile bool s_unavailable;

    /// <summary>
    /// On Linux, <c>fsync</c> on the directory, so that a rename in it survives a power loss. Elsewhere nothing: Windows
    /// has no such call (NTFS journals its metadata). A file system that cannot flush a directory (some FUSE and network
    /// ones) has nothing more to offer, and that is not an error.
    /// </summary>
    /// <exception cref="IOException">The directory could not be opened or flushed.</exception>
    public static void ToDisk(string directory)
    {
        if (!OperatingSystem.IsLinux() || s_unavailable) return;
        int descriptor;
        try
        {
            descriptor = Open(directory, OpenReadOnly | OpenCloseOnExec);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library the runtime cannot bind by this name (an unusual distribution): as on a file system that
            // cannot flush a directory, there is nothing more to offer, and compression must not fail for it.
            s_unavailable = true;
            return;
        }
        if (descriptor < 0)
            throw new IOException($"Could not open the directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(descriptor) != 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error is ErrorInvalid or ErrorNotImplemented or ErrorNotSupported) return;
                throw new IOException($"Could not flush the directory {directory} to disk (errno {error}).");
            }
        }
        finally
        {
            Close(descriptor);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    static extern int Open(string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    static extern int Fsync(int descriptor);

    [DllImport("libc", EntryPoint = "close")]
    static extern int Close(int descriptor);
}
