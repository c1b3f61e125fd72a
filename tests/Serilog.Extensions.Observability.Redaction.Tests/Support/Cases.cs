namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>Reads the data files under <c>Cases/</c>.</summary>
static class Cases
{
    static string PathOf(string file) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Cases", file);

    /// <summary>Non-empty, non-comment lines.</summary>
    public static IEnumerable<string> Lines(string file) =>
        File.ReadLines(PathOf(file)).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));

    /// <summary><c>Cases/keys.txt</c>: key -> whether the default rules treat it as sensitive.</summary>
    public static IReadOnlyList<(string Key, bool Sensitive)> Keys() => Lines("keys.txt")
        .Select(line =>
        {
            var parts = line.Split("->", StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[1] is not ("yes" or "no")) throw new FormatException("Bad line in keys.txt: " + line);
            return (parts[0], parts[1] == "yes");
        })
        .ToList();

    public static IReadOnlyList<string> SensitiveKeys() => Keys().Where(k => k.Sensitive).Select(k => k.Key).ToList();

    public static IReadOnlyList<string> SafeKeys() => Keys().Where(k => !k.Sensitive).Select(k => k.Key).ToList();
}
