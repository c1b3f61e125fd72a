namespace Serilog.Extensions.Observability.Sinks.RollingJson.Files;

/// <summary>
/// The sink runs as root in many containers and writes into directories others may write (<c>/tmp/logs</c>): a symbolic
/// link planted at a name the sink makes up itself (a rolled file, the next dated file, a <c>.json.gz.tmp</c>) would make
/// it append to, create, or copy out a file anywhere. The sink never makes links, so it follows none at those names.
/// The fixed current file (<see cref="FileNaming.FixedCurrentPath"/>) is the user's own path and may be a link an
/// administrator made: it is followed as before.
/// </summary>
internal static class SymbolicLinks
{
    /// <summary>Whether <paramref name="path"/> is a symbolic link (or a junction); false when it does not exist or cannot be read.</summary>
    public static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Cannot be read: opening it fails as well, and is reported there.
            return false;
        }
    }

    public static void ReportLeftAlone(string path) =>
        SafeSelfLog.WriteLine("RollingJson sink {0}: the name is a symbolic link, which the sink never makes; it is not followed and is left alone.", path);
}
