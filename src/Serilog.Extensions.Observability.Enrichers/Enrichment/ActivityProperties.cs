using System.Diagnostics;
using System.Runtime.CompilerServices;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>
/// The properties built from one <see cref="Activity"/>'s ids, built on the first event logged in it and
/// reused for every later one. Ids never change once an activity has started.
/// </summary>
sealed class ActivityProperties
{
    // Attached to the activity's lifetime: collected with it, invisible to other listeners
    // (unlike Activity.SetCustomProperty), and measured cheaper (docs/benchmarks.md).
    static readonly ConditionalWeakTable<Activity, ActivityProperties> Cache = new();
    static readonly ConditionalWeakTable<Activity, ActivityProperties>.CreateValueCallback Create = static activity => new ActivityProperties(activity);

    readonly Activity _activity;
    LogEventProperty? _operationName;
    LogEventProperty? _correlation;

    ActivityProperties(Activity activity)
    {
        _activity = activity;
        if (activity.IdFormat == ActivityIdFormat.W3C)
        {
            TraceIdValue = activity.TraceId.ToHexString();
            TraceId = new LogEventProperty(SpanPropertyNames.TraceId, new ScalarValue(TraceIdValue));
            SpanId = new LogEventProperty(SpanPropertyNames.SpanId, new ScalarValue(activity.SpanId.ToHexString()));
            var parent = activity.ParentSpanId;
            if (parent != default)
                ParentSpanId = new LogEventProperty(SpanPropertyNames.ParentSpanId, new ScalarValue(parent.ToHexString()));
        }
        else
        {
            // Hierarchical ids ("|root.1.2."): the root id names the trace, the id the span, the parent id its parent.
            if (activity.RootId is { } rootId) TraceId = new LogEventProperty(SpanPropertyNames.TraceId, new ScalarValue(rootId));
            if (activity.Id is { } id) SpanId = new LogEventProperty(SpanPropertyNames.SpanId, new ScalarValue(id));
            if (activity.ParentId is { } parentId) ParentSpanId = new LogEventProperty(SpanPropertyNames.ParentSpanId, new ScalarValue(parentId));
        }
    }

    /// <summary>The W3C trace id as hex, or <see langword="null"/> for a hierarchical activity.</summary>
    public string? TraceIdValue { get; }

    public LogEventProperty? TraceId { get; }

    public LogEventProperty? SpanId { get; }

    public LogEventProperty? ParentSpanId { get; }

    public LogEventProperty OperationName =>
        _operationName ??= new LogEventProperty(SpanPropertyNames.OperationName, new ScalarValue(_activity.OperationName));

    public static ActivityProperties For(Activity activity)
    {
        if (Cache.TryGetValue(activity, out var properties)) return properties;
        return Cache.GetValue(activity, Create);
    }

    /// <summary>The W3C trace id under <paramref name="propertyName"/>; only called for W3C activities.</summary>
    public LogEventProperty CorrelationProperty(string propertyName)
    {
        var property = _correlation;
        if (property is not null && property.Name == propertyName) return property;
        property = new LogEventProperty(propertyName, new ScalarValue(TraceIdValue));
        _correlation = property;
        return property;
    }
}
