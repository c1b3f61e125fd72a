using System.Collections.Frozen;

namespace Serilog.Extensions.Observability.Redaction.Keys;

/// <summary>The default key rules, parsed from the embedded data file <c>default-key-rules.txt</c>.</summary>
sealed class KeyRules
{
    internal const string ResourceName = "Serilog.Extensions.Observability.Redaction.default-key-rules.txt";

    static readonly Lazy<KeyRules> LazyDefault = new(() => Parse(ReadDefaultText()));

    public static KeyRules Default => LazyDefault.Value;

    public FrozenSet<string> Keys { get; }
    public FrozenSet<string> SafeKeys { get; }
    public FrozenSet<string> Words { get; }
    public string[] Suffixes { get; }
    public string[] Contains { get; }
    /// <summary>
    /// The second words of the phrases, by first word. Not a set of (first, second) tuples: a frozen set of a value type
    /// has no precompiled code in the framework, and its first use JIT-compiles a few dozen methods at start-up.
    /// </summary>
    public FrozenDictionary<string, string[]> PhrasesByFirstWord { get; }
    public FrozenSet<string> Descriptors { get; }
    /// <summary>Keys sensitive only as URL query parameters (<c>code</c>, <c>state</c>): see the rules file.</summary>
    public FrozenSet<string> QueryKeys { get; }
    /// <summary>
    /// The keys and the phrases' words joined (<c>apikey</c>, <c>refreshtoken</c>, <c>signingkey</c>), by length: see
    /// <see cref="IsCompound"/>.
    /// </summary>
    readonly string[][] _compoundsByLength;

    KeyRules(
        IEnumerable<string> keys, IEnumerable<string> safeKeys, IEnumerable<string> words, IEnumerable<string> suffixes,
        IEnumerable<string> contains, Dictionary<string, List<string>> phrases, IEnumerable<string> descriptors,
        IEnumerable<string> queryKeys)
    {
        Keys = keys.ToFrozenSet(StringComparer.Ordinal);
        SafeKeys = safeKeys.ToFrozenSet(StringComparer.Ordinal);
        Words = words.ToFrozenSet(StringComparer.Ordinal);
        Suffixes = suffixes.Distinct().ToArray();
        Contains = contains.Distinct().ToArray();
        var byFirstWord = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (first, seconds) in phrases) byFirstWord[first] = seconds.Distinct().ToArray();
        PhrasesByFirstWord = byFirstWord.ToFrozenDictionary(StringComparer.Ordinal);
        Descriptors = descriptors.ToFrozenSet(StringComparer.Ordinal);
        QueryKeys = queryKeys.ToFrozenSet(StringComparer.Ordinal);
        var compounds = Keys.Concat(PhrasesByFirstWord.SelectMany(p => p.Value.Select(second => p.Key + second))).Distinct().ToArray();
        _compoundsByLength = new string[compounds.Select(c => c.Length + 1).DefaultIfEmpty(0).Max()][];
        for (var length = 0; length < _compoundsByLength.Length; length++)
            _compoundsByLength[length] = compounds.Where(c => c.Length == length).ToArray();
    }

    /// <summary>
    /// Whether the normalised text is a key of the rules or a phrase's words joined: compared where it stands, as the
    /// label of two words it is read from is written anew in every text, with the few of its length only.
    /// </summary>
    public bool IsCompound(ReadOnlySpan<char> joined)
    {
        if (joined.Length >= _compoundsByLength.Length) return false;
        foreach (var compound in _compoundsByLength[joined.Length])
        {
            if (joined.SequenceEqual(compound)) return true;
        }
        return false;
    }

    /// <summary>Whether the two adjacent words are a phrase of the rules (<c>api key</c>).</summary>
    public bool IsPhrase(string first, string second) =>
        PhrasesByFirstWord.TryGetValue(first, out var seconds) && Array.IndexOf(seconds, second) >= 0;

    public static string ReadDefaultText()
    {
        using var stream = typeof(KeyRules).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException("The embedded resource " + ResourceName + " is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static KeyRules Parse(string text)
    {
        var keys = new List<string>();
        var safe = new List<string>();
        var words = new List<string>();
        var suffixes = new List<string>();
        var contains = new List<string>();
        var phrases = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var descriptors = new List<string>();
        var queryKeys = new List<string>();

        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var hash = rawLine.IndexOf('#');
            var line = (hash >= 0 ? rawLine[..hash] : rawLine).Trim();
            if (line.Length == 0) continue;

            var colon = line.IndexOf(':');
            if (colon <= 0) throw new FormatException($"Key rules line {lineNumber}: expected '<kind>: <values>'.");
            var kind = line[..colon].Trim();
            var values = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (values.Length == 0) throw new FormatException($"Key rules line {lineNumber}: no values.");

            switch (kind)
            {
                case "key": foreach (var v in values) keys.Add(KeyText.Normalize(v)); break;
                case "safe": foreach (var v in values) safe.Add(KeyText.Normalize(v)); break;
                case "word": foreach (var v in values) words.Add(KeyText.Normalize(v)); break;
                case "suffix": foreach (var v in values) suffixes.Add(KeyText.Normalize(v)); break;
                case "contains": foreach (var v in values) contains.Add(KeyText.Normalize(v)); break;
                case "descriptor": foreach (var v in values) descriptors.Add(KeyText.Normalize(v)); break;
                case "query": foreach (var v in values) queryKeys.Add(KeyText.Normalize(v)); break;
                case "phrase":
                    if (values.Length != 2) throw new FormatException($"Key rules line {lineNumber}: a phrase is two words.");
                    var first = KeyText.Normalize(values[0]);
                    if (!phrases.TryGetValue(first, out var seconds)) phrases[first] = seconds = new List<string>();
                    seconds.Add(KeyText.Normalize(values[1]));
                    break;
                default: throw new FormatException($"Key rules line {lineNumber}: unknown kind '{kind}'.");
            }
        }

        return new KeyRules(keys, safe, words, suffixes, contains, phrases, descriptors, queryKeys);
    }
}
