using System.Diagnostics;
using System.Runtime.CompilerServices;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>
/// The properties built from one <see cref="Activity"/>'s ids, built on the first event logged in it and
/// reused for every later one. Ids never change once an activity has started.
/// </summary>
/// <remarks>
/// Two levels (docs/benchmarks.md, ActivityCacheBenchmarks): a per-thread "last activity" entry, recognised by
/// the identity of the activity's span-id string (each started activity owns its own string instance), then a
/// <see cref="ConditionalWeakTable{TKey,TValue}"/> keyed by the activity. Neither keeps an activity alive:
/// the table entry dies with the activity and this object holds no reference to it. The table is also
/// invisible to other listeners, unlike <see cref="Activity.SetCustomProperty"/>, and measured cheaper.
/// </remarks>
sealed class ActivityProperties
{
    static readonly ConditionalWeakTable<Activity, ActivityProperties> Cache = new();
    static readonly ConditionalWeakTable<Activity, ActivityProperties>.CreateValueCallback Create = static activity => new ActivityProperties(activity);

    [ThreadStatic] static ActivityProperties? _last;

    readonly string? _identity;
    readonly string _operationNameValue;
    LogEventProperty? _operationName;
    LogEventProperty? _correlation;

    ActivityProperties(Activity activity)
    {
        _identity = IdentityOf(activity);
        _operationNameValue = activity.OperationName;
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
        _operationName ??= new LogEventProperty(SpanPropertyNames.OperationName, new ScalarValue(_operationNameValue));

    public static ActivityProperties For(Activity activity)
    {
        var last = _last;
        if (last is not null && last._identity is not null && ReferenceEquals(last._identity, IdentityOf(activity))) return last;

        if (!Cache.TryGetValue(activity, out var properties)) properties = Cache.GetValue(activity, Create);
        _last = properties;
        return properties;
    }

    /// <summary>
    /// The properties of the activity an event was written in, found without reading
    /// <see cref="Activity.Current"/> again: Serilog already copied the current activity's span id into the
    /// event, and that copy shares the activity's own string instance. Null unless it is this thread's last entry.
    /// </summary>
    public static ActivityProperties? LastFor(LogEvent logEvent)
    {
        var last = _last;
        if (last?._identity is null || logEvent.SpanId is not { } spanId) return null;
        return ReferenceEquals(last._identity, spanId.ToHexString()) ? last : null;
    }

    // The string instance that only this activity holds: its W3C span id, or its hierarchical id. Null when
    // there is none (a default span id is a shared literal, so it cannot tell activities apart).
    static string? IdentityOf(Activity activity)
    {
        if (activity.IdFormat != ActivityIdFormat.W3C) return activity.Id;
        var spanId = activity.SpanId;
        return spanId == default ? null : spanId.ToHexString();
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
