namespace Serilog.Extensions.Observability.Sinks.RollingJson.Files;

/// <summary>
/// The file patterns that live sinks of this process write. Two sinks on one pattern would append over each other's
/// lines (.NET has no atomic append), roll each other's current file away and apply retention to files the other
/// still writes, so a second sink is refused when it is configured, and the pattern is free again once the first is
/// disposed. Another process on the same path cannot be seen from here; the README says not to do that either.
/// </summary>
internal static class LivePaths
{
    // File names are compared as the file system does by default: case-insensitively on Windows and macOS.
    static readonly HashSet<string> Claimed = new(OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
        ? StringComparer.OrdinalIgnoreCase
        : StringComparer.Ordinal);

    /// <summary>Claims <paramref name="naming"/>'s pattern for one sink; throws when a live sink holds it.</summary>
    /// <exception cref="ArgumentException">A live sink of this process writes the same files.</exception>
    public static Claim Take(FileNaming naming)
    {
        var pattern = naming.Pattern;
        lock (Claimed)
        {
            if (!Claimed.Add(pattern))
                throw new ArgumentException(
                    $"A live RollingJson sink already writes there ({pattern}): dispose it (close its logger) first, or choose another path.",
                    "path");
        }
        return new Claim(pattern);
    }

    /// <summary>One sink's hold on its pattern; disposing it (once or more) frees the pattern.</summary>
    internal sealed class Claim : IDisposable
    {
        readonly string _pattern;
        int _released;

        public Claim(string pattern) => _pattern = pattern;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            lock (Claimed) Claimed.Remove(_pattern);
        }
    }
}
