using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>An immutable stage → milliseconds snapshot that keeps start order (a Dictionary does not promise it).</summary>
sealed class StageDurations : IReadOnlyDictionary<string, double>
{
    public static readonly StageDurations Empty = new([], []);

    readonly string[] _names;
    readonly double[] _milliseconds;

    public StageDurations(string[] names, double[] milliseconds)
    {
        _names = names;
        _milliseconds = milliseconds;
    }

    public int Count => _names.Length;

    /// <summary>The name at <paramref name="index"/>, in start order (no enumerator to allocate).</summary>
    public string NameAt(int index) => _names[index];

    /// <summary>The milliseconds at <paramref name="index"/>.</summary>
    public double MillisecondsAt(int index) => _milliseconds[index];

    public double this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No stage named '{key}' has finished.");

    public IEnumerable<string> Keys => _names;

    public IEnumerable<double> Values => _milliseconds;

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value)
    {
        var index = IndexOf(key);
        value = index >= 0 ? _milliseconds[index] : 0;
        return index >= 0;
    }

    int IndexOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        for (var i = 0; i < _names.Length; i++)
            if (string.Equals(_names[i], key, StringComparison.Ordinal)) return i;
        return -1;
    }

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        for (var i = 0; i < _names.Length; i++)
            yield return new KeyValuePair<string, double>(_names[i], _milliseconds[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
