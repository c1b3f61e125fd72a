using System.Text;
using Serilog.Formatting;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

/// <summary>One line of a Cases/*.txt file: a formatter and the exact line it must write for the case's event.</summary>
public sealed record GoldenCase(string Name, string FormatterName, byte[] ExpectedUtf8)
{
    public static string Folder => Path.Combine(TestContext.CurrentContext.TestDirectory, "Cases");

    public static IUtf8Formatter CreateFormatter(string formatterName) => formatterName switch
    {
        "compact" => new CompactJsonFormatter(),
        "rendered" => new RenderedCompactJsonFormatter(),
        "flat" => new FlatJsonFormatter(),
        "flat-short" => new FlatJsonFormatter(FlatJsonLevelFormat.Short),
        "flat-raw" => new FlatJsonFormatter(snakeCaseNames: false),
        _ => throw new ArgumentException("Unknown formatter " + formatterName, nameof(formatterName)),
    };

    public static IEnumerable<GoldenCase> Load()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Cases");
        foreach (var file in Directory.GetFiles(folder, "*.txt").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            // Split the raw bytes on '\n' so that U+2028, U+0085 and U+FFFD inside a line stay as written.
            var bytes = File.ReadAllBytes(file);
            var start = 0;
            for (var i = 0; i <= bytes.Length; i++)
            {
                if (i < bytes.Length && bytes[i] != (byte)'\n') continue;
                var line = bytes.AsSpan(start, i - start);
                start = i + 1;
                if (line.IsEmpty || line[0] == (byte)'#') continue;
                var space = line.IndexOf((byte)' ');
                yield return new GoldenCase(name, Encoding.ASCII.GetString(line[..space]), line[(space + 1)..].ToArray());
            }
        }
    }

    public override string ToString() => Name + " / " + FormatterName;
}
