using System.Collections.Concurrent;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// The values one metric tag has taken, up to a limit. An exporter keeps a series per distinct tag combination for the
/// life of the process, so names carrying ids (<c>import-4711</c>, <c>msg-</c> + id) would grow it without end: past the
/// limit a new value is recorded as <see cref="Other"/>, and the first time is reported to SelfLog. So is a value longer
/// than <see cref="MaxValueLength"/> (a name built from data: a prompt, a document title), so that what the tag keeps
/// alive for the life of the process is bounded in length as well as in number.
/// </summary>
sealed class MetricTagValues
{
    public const string Other = "other";

    /// <summary>Longer values are recorded as <see cref="Other"/> and never kept.</summary>
    public const int MaxValueLength = 256;

    readonly string _tag;
    readonly int _limit;
    readonly ConcurrentDictionary<string, bool> _kept = new(StringComparer.Ordinal);
    readonly object _gate = new();
    int _count; // under _gate
    int _full;  // 1 once the limit is reached
    int _longReported;

    public MetricTagValues(string tag, int limit)
    {
        _tag = tag;
        _limit = limit;
    }

    /// <summary>The most distinct values kept; later ones become <see cref="Other"/>.</summary>
    public int Limit => _limit;

    /// <summary><paramref name="value"/> if it is one of the first <see cref="Limit"/> distinct values, else <see cref="Other"/>.</summary>
    public string Map(string value)
    {
        // A lock-free read for every value already kept; only a value not seen yet takes the lock.
        if (value.Length > MaxValueLength) return TooLong();
        if (_kept.ContainsKey(value)) return value;
        return Volatile.Read(ref _full) != 0 ? Other : Add(value);
    }

    string TooLong()
    {
        if (Interlocked.Exchange(ref _longReported, 1) == 0)
            SafeSelfLog.WriteLine("{0}: a value of the metric tag {1} is longer than {2} characters and is recorded as \"other\". " +
                "Give pipelines and stages short, low-cardinality names; reported once.",
                TimingDiagnostics.Name, _tag, MaxValueLength);
        return Other;
    }

    string Add(string value)
    {
        lock (_gate)
        {
            if (_kept.ContainsKey(value)) return value;
            if (_count < _limit)
            {
                _kept[value] = true;
                _count++;
                return value;
            }
            if (Interlocked.Exchange(ref _full, 1) == 0)
                SafeSelfLog.WriteLine("{0}: the metric tag {1} has taken {2} distinct values; later ones are recorded as \"other\". " +
                    "Give pipelines and stages low-cardinality names (no ids, no per-message names); reported once.",
                    TimingDiagnostics.Name, _tag, _limit);
            return Other;
        }
    }

    /// <summary>The characters of the values kept (for tests): at most <see cref="Limit"/> times <see cref="MaxValueLength"/>.</summary>
    internal long RetainedCharacters
    {
        get
        {
            long total = 0;
            foreach (var value in _kept.Keys) total += value.Length;
            return total;
        }
    }

    /// <summary>Forgets every value (tests only: the tags are process-wide).</summary>
    internal void Reset()
    {
        lock (_gate)
        {
            _kept.Clear();
            _count = 0;
            Volatile.Write(ref _full, 0);
            Volatile.Write(ref _longReported, 0);
        }
    }
}
