using System.Collections.Concurrent;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>
/// Where an enricher reports what it could not add: SelfLog, plus a process-wide count. A failure that repeats on every
/// event is reported once per interval for each enricher, with its count.
/// </summary>
static class EnricherFailures
{
    static readonly ConcurrentDictionary<string, SelfLogThrottle> Reports = new(StringComparer.Ordinal);

    static long _count;

    /// <summary>How many events an enricher of this package failed to enrich since the process started.</summary>
    public static long Count => Interlocked.Read(ref _count);

    public static void Report(string enricher, Exception exception)
    {
        Interlocked.Increment(ref _count);
        // The enricher names are the package's own type names: a handful of throttles.
        Reports.GetOrAdd(enricher, static _ => new SelfLogThrottle())
            .WriteLine("Enrichers: {1} failed to enrich an event; its properties were not added ({0} more failures since the last report): {2}", enricher, exception);
    }
}
