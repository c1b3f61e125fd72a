namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// The package's SelfLog lines for faults that repeat on every stage, pipeline or event (a listener, an auditing sink
/// or a clock that always throws, code that always begins a stage late): each reported once per interval with its
/// count, not once per occurrence. Process-wide, as the faults they report.
/// </summary>
static class TimingReports
{
    public static readonly SelfLogThrottle LateStage = new();
    public static readonly SelfLogThrottle EventWrite = new();
    public static readonly SelfLogThrottle Listener = new();
    public static readonly SelfLogThrottle Enricher = new();

    // A failure's Message or ToString() that throws, read for its span (RecordExceptionMessageOnSpans): an exception type
    // that throws there does so for every stage or pipeline that fails with it.
    public static readonly SelfLogThrottle SpanMessage = new();
    public static readonly SelfLogThrottle SpanText = new();

    /// <summary>Makes every line due at once (tests only).</summary>
    internal static void ResetAll()
    {
        LateStage.Reset();
        EventWrite.Reset();
        Listener.Reset();
        Enricher.Reset();
        SpanMessage.Reset();
        SpanText.Reset();
    }
}
