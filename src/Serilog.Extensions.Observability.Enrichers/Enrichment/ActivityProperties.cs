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
    readonly string? _operationNameValue;
    // Built from an event's own ids (its activity was not at hand): no parent, no operation name. Never returned for
    // an activity, which rebuilds the entry in full.
    readonly bool _fromEvent;
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

    // An event's own ids, when the activity it was written in is not current where it is enriched.
    ActivityProperties(ActivityTraceId? traceId, string spanId)
    {
        _identity = spanId;
        _fromEvent = true;
        if (traceId is { } trace && trace != default)
        {
            var traceIdValue = trace.ToHexString();
            if (!IsAllZero(traceIdValue))
            {
                TraceIdValue = traceIdValue;
                TraceId = new LogEventProperty(SpanPropertyNames.TraceId, new ScalarValue(traceIdValue));
            }
        }
        SpanId = new LogEventProperty(SpanPropertyNames.SpanId, new ScalarValue(spanId));
    }

    /// <summary>Whether a hex id is all zeros, W3C's invalid id.</summary>
    public static bool IsAllZero(string hex) => hex.AsSpan().IndexOfAnyExcept('0') < 0;

    /// <summary>The W3C trace id as hex, or <see langword="null"/> for a hierarchical activity or an all-zero id.</summary>
    public string? TraceIdValue { get; }

    public LogEventProperty? TraceId { get; }

    public LogEventProperty? SpanId { get; }

    public LogEventProperty? ParentSpanId { get; }

    /// <summary>The operation name; <see langword="null"/> when the entry was built from an event's ids alone.</summary>
    public LogEventProperty? OperationName =>
        _operationNameValue is null ? null : _operationName ??= new LogEventProperty(SpanPropertyNames.OperationName, new ScalarValue(_operationNameValue));

    /// <summary>Whether these are the properties of <paramref name="activity"/> (so its baggage and tags go with them).</summary>
    public bool Describes(Activity activity) => _identity is not null && !_fromEvent && ReferenceEquals(_identity, IdentityOf(activity));

    /// <summary>
    /// The properties of the activity <paramref name="logEvent"/> was written in. Serilog records that activity's
    /// span id on the event; when <see cref="Activity.Current"/> is another activity (the event was created on another
    /// thread, or earlier, and is enriched here) its ids must not be written, so the event's own ids are. An event
    /// without a span id (none recorded, or a hierarchical activity) takes <see cref="Activity.Current"/>'s.
    /// </summary>
    /// <param name="logEvent">The event being enriched.</param>
    /// <param name="current">Activity.Current when it was read and is the event's activity; otherwise null.</param>
    public static ActivityProperties? ForEvent(LogEvent logEvent, out Activity? current)
    {
        current = null;
        string? eventSpan = null;
        if (logEvent.SpanId is { } spanId && spanId != default)
        {
            // Steady state: the event's span id is the thread's last activity's (the same string instance).
            eventSpan = spanId.ToHexString();
            var last = _last;
            if (last is not null && ReferenceEquals(last._identity, eventSpan)) return last;
        }

        var activity = Activity.Current;
        if (eventSpan is null)
        {
            if (activity is null) return null;
            current = activity;
            return For(activity);
        }

        if (activity is not null && activity.IdFormat == ActivityIdFormat.W3C
            && (ReferenceEquals(IdentityOf(activity), eventSpan)
                || (activity.SpanId == logEvent.SpanId!.Value && activity.TraceId == logEvent.TraceId.GetValueOrDefault())))
        {
            current = activity;
            return For(activity);
        }

        // Another activity is current: the entry of the event's own activity if the table still has it, else one
        // built from the event's ids (kept in the table, so a stream of such events builds it once).
        ref var slot = ref Table[RuntimeHelpers.GetHashCode(eventSpan) & (TableSize - 1)];
        var cached = Volatile.Read(ref slot);
        if (cached is not null && ReferenceEquals(cached._identity, eventSpan)) return cached;
        var properties = new ActivityProperties(logEvent.TraceId, eventSpan);
        Volatile.Write(ref slot, properties);
        return properties;
    }

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
            if (cached is not null && !cached._fromEvent && ReferenceEquals(cached._identity, identity))
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

    // The string instance that only this activity holds: its W3C span id, or its hierarchical id. Null when
    // there is none (a default span id is a shared literal, so it cannot tell activities apart).
    static string? IdentityOf(Activity activity)
    {
        if (activity.IdFormat != ActivityIdFormat.W3C) return activity.Id;
        var spanId = activity.SpanId;
        return spanId == default ? null : spanId.ToHexString();
    }

    /// <summary>The W3C trace id under <paramref name="propertyName"/>; <see langword="null"/> when there is none.</summary>
    public LogEventProperty? CorrelationProperty(string propertyName)
    {
        if (TraceIdValue is null) return null;
        var property = _correlation;
        if (property is not null && property.Name == propertyName) return property;
        // The trace id's own value (set with it in both constructors): the same text, one object fewer per activity.
        property = new LogEventProperty(propertyName, TraceId!.Value);
        _correlation = property;
        return property;
    }
}
