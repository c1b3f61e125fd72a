namespace Serilog.Extensions.Observability;

/// <summary>The enrichers <c>WithObservability()</c> adds; all of them by default.</summary>
[Flags]
public enum ObservabilityEnrichers
{
    /// <summary>None of them.</summary>
    None = 0,

    /// <summary><c>Enrich.FromLogContext()</c>: properties pushed with <c>LogContext.PushProperty</c>.</summary>
    LogContext = 1,

    /// <summary><c>Enrich.WithCorrelation()</c>: <c>CorrelationId</c>.</summary>
    Correlation = 2,

    /// <summary><c>Enrich.WithSpan()</c>: <c>TraceId</c>, <c>SpanId</c>, <c>ParentSpanId</c>.</summary>
    Span = 4,

    /// <summary><c>Enrich.WithUser()</c>: <c>UserId</c>, <c>TenantId</c>, <c>SessionId</c>.</summary>
    User = 8,

    /// <summary><c>Enrich.WithThreadId()</c>: <c>ThreadId</c>.</summary>
    ThreadId = 16,

    /// <summary><c>Enrich.WithPipelineTiming()</c>: <c>Pipeline</c>, <c>PipelineId</c>, <c>Stage</c> and elapsed times.</summary>
    PipelineTiming = 32,

    /// <summary>Every enricher above.</summary>
    All = LogContext | Correlation | Span | User | ThreadId | PipelineTiming,
}
