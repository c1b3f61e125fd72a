namespace Serilog.Extensions.Observability.Redaction.Keys;

/// <summary>Splits key names into words and normalises them.</summary>
static class KeyText
{
    /// <summary>Lowercase letters and digits only (see <see cref="Fold"/>): <c>X-Api_Key</c> becomes <c>xapikey</c>.</summary>
    public static string Normalize(string key)
    {
        Span<char> buffer = key.Length <= 256 ? stackalloc char[key.Length] : new char[key.Length];
        return new string(buffer[..Normalize(key, buffer)]);
    }

    /// <summary><see cref="Normalize(string)"/> into a buffer at least as long as the key; returns the length written.</summary>
    public static int Normalize(ReadOnlySpan<char> key, Span<char> buffer)
    {
        var length = 0;
        foreach (var c in key)
        {
            if (char.IsLetterOrDigit(c)) buffer[length++] = Fold(c);
        }
        return length;
    }

    /// <summary>
    /// The invariant lower case, with both Turkish i's read as <c>i</c>. Code that changes a key's case with the current
    /// culture under tr-TR or az turns <c>PIN</c> into <c>pın</c> (dotless) and <c>api_key</c> into <c>APİ_KEY</c>
    /// (dotted capital); the invariant mapping keeps U+0131 and U+0130 as they are, so those keys would match no rule
    /// and their values would be written.
    /// </summary>
    static char Fold(char c) => c is '\u0130' or '\u0131' ? 'i' : char.ToLowerInvariant(c);

    static string Lower(ReadOnlySpan<char> word)
    {
        Span<char> buffer = word.Length <= 256 ? stackalloc char[word.Length] : new char[word.Length];
        for (var i = 0; i < word.Length; i++) buffer[i] = Fold(word[i]);
        return new string(buffer);
    }

    /// <summary>
    /// Lowercase words: split on anything but letters and digits, on lower-to-upper case changes, before the last
    /// capital of an acronym followed by a lowercase letter (<c>APIKey</c>: api, key) and between letters and digits.
    /// </summary>
    public static List<string> SplitWords(string key)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (!char.IsLetterOrDigit(c))
            {
                if (start >= 0) words.Add(Lower(key.AsSpan(start, i - start)));
                start = -1;
                continue;
            }

            if (start >= 0 && IsBoundary(key, i))
            {
                words.Add(Lower(key.AsSpan(start, i - start)));
                start = i;
            }
            else if (start < 0)
            {
                start = i;
            }
        }

        if (start >= 0) words.Add(Lower(key.AsSpan(start)));
        return words;
    }

    static bool IsBoundary(string key, int i)
    {
        var previous = key[i - 1];
        var current = key[i];
        if (char.IsDigit(previous) != char.IsDigit(current)) return true;
        if (char.IsUpper(current))
        {
            if (char.IsLower(previous)) return true;
            // End of an acronym: "APIKey" splits before the K, because a lowercase letter follows it.
            if (char.IsUpper(previous) && i + 1 < key.Length && char.IsLower(key[i + 1])) return true;
        }
        return false;
    }
}
