namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>Where an enricher reports what it could not add: SelfLog, plus a process-wide count.</summary>
static class EnricherFailures
{
    static long _count;

    /// <summary>How many events an enricher of this package failed to enrich since the process started.</summary>
    public static long Count => Interlocked.Read(ref _count);

    public static void Report(string enricher, Exception exception)
    {
        Interlocked.Increment(ref _count);
        SafeSelfLog.WriteLine("{0} failed to enrich an event; its properties were not added: {1}", enricher, exception);
    }
}
