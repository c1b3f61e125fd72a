using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

/// <summary>Reads what the sink left on disk: plain and gzipped files, line by line.</summary>
static class LogFiles
{
    public static string[] Names(string directory) =>
        Directory.GetFiles(directory).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray()!;

    /// <summary>Every line of every .json / .json.gz file, files ordered by name (the sink's names sort by age).</summary>
    public static List<string> AllLines(string directory)
    {
        var lines = new List<string>();
        foreach (var path in Directory.GetFiles(directory).OrderBy(p => p, StringComparer.Ordinal))
            lines.AddRange(Lines(path));
        return lines;
    }

    public static List<string> Lines(string path)
    {
        var bytes = ReadBytes(path);
        var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        var lines = text.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    public static byte[] ReadBytes(string path)
    {
        if (!path.EndsWith(".gz", StringComparison.Ordinal))
            return File.ReadAllBytes(path);
        using var source = File.OpenRead(path);
        using var gzip = new GZipStream(source, CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>A property of the event, whether the formatter puts it at the top level (CLEF) or under "Properties".</summary>
    public static JsonElement Property(JsonElement line, string name)
    {
        if (line.TryGetProperty(name, out var value)) return value;
        if (line.TryGetProperty("Properties", out var properties) && properties.TryGetProperty(name, out value)) return value;
        throw new AssertionException($"The line has no property {name}: {line}");
    }

    public static JsonElement Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }
}
