using System.Diagnostics;
using System.Runtime.CompilerServices;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>
/// The properties built from one <see cref="Activity"/>'s ids, built on the first event logged in it and
/// reused for every later one. Ids never change once an activity has started.
/// </summary>
/// <remarks>
/// Two levels (docs/benchmarks.md, ActivityCacheBenchmarks): a per-thread "last activity" entry, then a small shared
/// table of the most recent activities' entries; both recognise an activity by the identity of its span-id string
/// (each started activity owns its own string instance). Neither holds a reference to an activity, so neither keeps one
/// alive, and neither is visible to other listeners, unlike <see cref="Activity.SetCustomProperty"/>. The table
/// replaced a <see cref="ConditionalWeakTable{TKey,TValue}"/>: in a web server every request starts a new activity,
/// and adding each one to that table (a dependent GC handle per activity, scanned by every collection) cost more than
/// building the three properties it saved.
/// </remarks>
sealed class ActivityProperties
{
    // A power of two. Entries are replaced on collision, so the table never grows; a replaced entry is rebuilt on the
    // next miss, with the same values.
    internal const int TableSize = 256;
    static readonly ActivityProperties?[] Table = new ActivityProperties?[TableSize];

    [ThreadStatic] static ActivityProperties? _last;

    readonly string? _identity;
    readonly string _operationNameValue;
    LogEventProperty? _operationName;
    LogEventProperty? _correlation;

    ActivityProperties(Activity activity, string? identity)
    {
        _identity = identity;
        _operationNameValue = activity.OperationName;
        if (activity.IdFormat == ActivityIdFormat.W3C)
        {
            // An all-zero id is W3C's "invalid" (a parent set from default ids): it names no trace and correlates
            // nothing, so it is left out rather than shared by every such event.
            var traceId = activity.TraceId.ToHexString();
            if (!IsAllZero(traceId))
            {
                TraceIdValue = traceId;
                TraceId = new LogEventProperty(SpanPropertyNames.TraceId, new ScalarValue(traceId));
            }
            SpanId = new LogEventProperty(SpanPropertyNames.SpanId, new ScalarValue(activity.SpanId.ToHexString()));
            var parent = activity.ParentSpanId;
            if (parent != default && !IsAllZero(parent.ToHexString()))
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

    /// <summary>Whether a hex id is all zeros, W3C's invalid id.</summary>
    public static bool IsAllZero(string hex) => hex.AsSpan().IndexOfAnyExcept('0') < 0;

    /// <summary>The W3C trace id as hex, or <see langword="null"/> for a hierarchical activity or an all-zero id.</summary>
    public string? TraceIdValue { get; }

    public LogEventProperty? TraceId { get; }

    public LogEventProperty? SpanId { get; }

    public LogEventProperty? ParentSpanId { get; }

    public LogEventProperty OperationName =>
        _operationName ??= new LogEventProperty(SpanPropertyNames.OperationName, new ScalarValue(_operationNameValue));

    public static ActivityProperties For(Activity activity)
    {
        var identity = IdentityOf(activity);
        var last = _last;
        if (last is not null && identity is not null && ReferenceEquals(last._identity, identity)) return last;

        ActivityProperties properties;
        if (identity is null)
        {
            // Nothing tells this activity apart from others: build, never share.
            properties = new ActivityProperties(activity, null);
        }
        else
        {
            ref var slot = ref Table[RuntimeHelpers.GetHashCode(identity) & (TableSize - 1)];
            var cached = Volatile.Read(ref slot);
            if (cached is not null && ReferenceEquals(cached._identity, identity))
            {
                properties = cached;
            }
            else
            {
                // Benign race: two threads may each build one for the same activity; either is correct.
                properties = new ActivityProperties(activity, identity);
                Volatile.Write(ref slot, properties);
            }
        }

        _last = properties;
        return properties;
    }

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
    public LogEventProperty? CorrelationProperty(string propertyName)
    {
        if (TraceIdValue is null) return null;
        var property = _correlation;
        if (property is not null && property.Name == propertyName) return property;
        property = new LogEventProperty(propertyName, new ScalarValue(TraceIdValue));
        _correlation = property;
        return property;
    }
}
