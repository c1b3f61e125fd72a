using System.Diagnostics;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Serilog.Events;

namespace Serilog.Extensions.Observability.PerformanceTests.Enrichers;

/// <summary>
/// Where WithSpan keeps the properties it built for an Activity: a ConditionalWeakTable keyed by the
/// Activity (what the enricher did first) against Activity.GetCustomProperty, a per-thread last-activity check in front of the table, and building them anew.
/// Lookups of one long-lived activity only; ActivityChurnBenchmarks measures a new activity per operation, which is why the
/// enricher now keeps a bounded table instead.
/// </summary>
[MemoryDiagnoser]
public class ActivityCacheBenchmarks
{
    const string CustomPropertyKey = "Serilog.Extensions.Observability.Enrichers.Properties";

    static readonly ConditionalWeakTable<Activity, Cached> Table = new();
    static readonly ConditionalWeakTable<Activity, Cached>.CreateValueCallback Create = static a => new Cached(a);

    readonly List<Activity> _others = new();
    Activity _activity = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Other live activities in the table and in custom properties, as in a busy service.
        for (var i = 0; i < 100; i++)
        {
            var other = new Activity("other").SetIdFormat(ActivityIdFormat.W3C).Start();
            other.Stop();
            Table.GetValue(other, Create);
            other.SetCustomProperty(CustomPropertyKey, new Cached(other));
            _others.Add(other);
        }

        _activity = new Activity("benchmark").SetIdFormat(ActivityIdFormat.W3C).Start();
        _activity.SetCustomProperty("other.library", "x");
        Table.GetValue(_activity, Create);
        _activity.SetCustomProperty(CustomPropertyKey, new Cached(_activity));
    }

    [GlobalCleanup]
    public void Cleanup() => _activity.Dispose();

    [Benchmark(Baseline = true)]
    public LogEventProperty ConditionalWeakTableLookup()
    {
        var activity = Activity.Current!;
        if (!Table.TryGetValue(activity, out var cached)) cached = Table.GetValue(activity, Create);
        return cached.SpanId;
    }

    [Benchmark]
    public LogEventProperty CustomPropertyLookup()
    {
        var activity = Activity.Current!;
        if (activity.GetCustomProperty(CustomPropertyKey) is not Cached cached)
        {
            cached = new Cached(activity);
            activity.SetCustomProperty(CustomPropertyKey, cached);
        }

        return cached.SpanId;
    }

    [Benchmark]
    public LogEventProperty ThreadStaticLastThenTable()
    {
        // A per-thread "last activity" check by span-id string identity (no Activity kept alive),
        // falling back to the table: what the enricher does.
        var activity = Activity.Current!;
        var identity = activity.SpanId.ToHexString();
        var last = _last;
        if (last is not null && ReferenceEquals(last.Identity, identity)) return last.SpanId;
        if (!Table.TryGetValue(activity, out var cached)) cached = Table.GetValue(activity, Create);
        _last = cached;
        return cached.SpanId;
    }

    [ThreadStatic] static Cached? _last;

    [Benchmark]
    public LogEventProperty NoCache()
    {
        var cached = new Cached(Activity.Current!);
        return cached.SpanId;
    }

    sealed class Cached
    {
        public Cached(Activity activity)
        {
            Identity = activity.SpanId.ToHexString();
            TraceId = new LogEventProperty("TraceId", new ScalarValue(activity.TraceId.ToHexString()));
            SpanId = new LogEventProperty("SpanId", new ScalarValue(activity.SpanId.ToHexString()));
        }

        public string Identity { get; }

        public LogEventProperty TraceId { get; }

        public LogEventProperty SpanId { get; }
    }
}
