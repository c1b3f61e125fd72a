using System.Text.Json;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>The CLEF events a host's rolling JSON files hold, read back for assertions.</summary>
static class LogFileEvents
{
    /// <summary>
    /// Every event of every <c>*.json</c> file in <paramref name="directory"/>; an empty line fails to parse unless
    /// <paramref name="skipEmptyLines"/>.
    /// </summary>
    public static List<JsonElement> Read(string directory, bool skipEmptyLines = false) =>
        Directory.GetFiles(directory, "*.json")
            .SelectMany(File.ReadAllLines)
            .Where(line => !skipEmptyLines || line.Length > 0)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToList();

    /// <summary>A property's text (a string as it is, anything else as its JSON), or null when the event lacks it.</summary>
    public static string? Prop(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString() : null;
}
