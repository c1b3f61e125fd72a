using System.Collections.Concurrent;
using Serilog.Debugging;

namespace Serilog.Extensions.Observability.Redaction.Masking;

/// <summary>
/// Failure lines through <see cref="SelfLog"/>, at most one per interval for each kind of failure (what failed and the
/// exception's type): the first at once, later ones counted into the next line of their kind, so a getter that throws
/// on every event does not write a line per event. Past <see cref="MaximumKinds"/> kinds the rest share one throttle.
/// Called from any thread; a failure of a known kind takes no lock.
/// </summary>
/// <remarks>
/// A kind is keyed by the exception type's name, never the <see cref="Type"/>: the reports are process-wide, and a
/// type held here would keep its assembly loaded, a plugin's (a collectible load context) for good. The names in a key
/// (see <see cref="Cut"/>) are cut at <see cref="MaximumNameLength"/>, as the kinds are kept for good too.
/// </remarks>
sealed class ThrottledReports
{
    internal const int MaximumKinds = 256;

    /// <summary>
    /// The longest name (a property's, member's or type's) kept in a kind and written in its line. Property and member
    /// names come from data, and a generic exception type's full name holds its type arguments' assembly-qualified names.
    /// </summary>
    internal const int MaximumNameLength = 128;

    readonly TimeProvider _time;
    readonly long _interval;
    readonly ConcurrentDictionary<(string What, string Exception), Kind> _kinds = new();
    readonly Kind _others = new(shared: true);
    int _kindCount;

    public ThrottledReports(TimeSpan interval, TimeProvider time)
    {
        _time = time;
        _interval = (long)(interval.TotalSeconds * time.TimestampFrequency);
    }

    public void Report(string what, Exception exception)
    {
        var type = exception.GetType();
        var typeName = Cut(type.FullName ?? type.Name);
        var kind = KindOf(what, typeName);
        if (!kind.IsDue(_time.GetTimestamp(), _interval, out var unreported)) return;

        try
        {
            // The exception's type only, never its message: the failure was on a value being masked, and a message
            // may quote it (a FormatException from parsing the secret does, on .NET 8 and later).
            if (unreported == 0)
                SelfLog.WriteLine("Redaction: {0} failed and was replaced by the mask: {1} (its message is not written, as it may quote the value)", what, typeName);
            else if (kind.Shared)
                SelfLog.WriteLine("Redaction: {0} failed and was replaced by the mask, after {1} other failures since the last report: {2}", what, unreported, typeName);
            else
                SelfLog.WriteLine("Redaction: {0} failed {1} more times since the last report and was replaced by the mask: {2}", what, unreported, typeName);
        }
        catch (Exception)
        {
            // A SelfLog output that throws must not turn a masked value into an exception in the application.
        }
    }

    /// <summary>
    /// <paramref name="name"/>, or its first <see cref="MaximumNameLength"/> characters (one fewer where that would
    /// split a surrogate pair) and <c>…</c>.
    /// </summary>
    internal static string Cut(string name)
    {
        if (name.Length <= MaximumNameLength) return name;
        var length = char.IsHighSurrogate(name[MaximumNameLength - 1]) ? MaximumNameLength - 1 : MaximumNameLength;
        return string.Concat(name.AsSpan(0, length), "\u2026");
    }

    Kind KindOf(string what, string exception)
    {
        var key = (what, exception);
        if (_kinds.TryGetValue(key, out var kind)) return kind;
        if (Volatile.Read(ref _kindCount) >= MaximumKinds) return _others;

        kind = new Kind(shared: false);
        if (_kinds.TryAdd(key, kind))
        {
            Interlocked.Increment(ref _kindCount);
            return kind;
        }
        return _kinds.TryGetValue(key, out var added) ? added : _others;
    }

    sealed class Kind
    {
        /// <summary>The timestamp from which the next line may be written; the first line is due at once.</summary>
        long _due = long.MinValue;
        long _unreported;

        public Kind(bool shared) => Shared = shared;

        /// <summary>Whether this kind gathers the failures of every kind past the limit.</summary>
        public bool Shared { get; }

        /// <summary>Whether a line is due now, with the failures not reported since the last one; counts this one if not.</summary>
        public bool IsDue(long now, long interval, out long unreported)
        {
            var due = Volatile.Read(ref _due);
            if (now < due || Interlocked.CompareExchange(ref _due, now + interval, due) != due)
            {
                Interlocked.Increment(ref _unreported);
                unreported = 0;
                return false;
            }
            unreported = Interlocked.Exchange(ref _unreported, 0);
            return true;
        }
    }
}
