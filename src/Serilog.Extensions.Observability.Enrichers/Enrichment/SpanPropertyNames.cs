namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

static class SpanPropertyNames
{
    public const string TraceId = "TraceId";
    public const string SpanId = "SpanId";
    public const string ParentSpanId = "ParentSpanId";
    public const string OperationName = "OperationName";
    public const string Baggage = "Baggage";
    public const string Tags = "Tags";
}
