using System.Diagnostics;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Serilog.Events;

namespace Serilog.Extensions.Observability.PerformanceTests.Enrichers;

/// <summary>
/// A web server's pattern: every operation is a new Activity (one per request) with two events in it, one on another
/// thread than the first. Where the span properties are kept: a ConditionalWeakTable keyed by the Activity (what
/// WithSpan did before), a bounded table indexed by the span-id string's identity hash (what it does now; both behind a
/// per-thread "last activity" entry), or built for every event.
/// </summary>
[MemoryDiagnoser]
public class ActivityChurnBenchmarks
{
    const int TableSize = 256;

    static readonly ConditionalWeakTable<Activity, Cached> Weak = new();
    static readonly ConditionalWeakTable<Activity, Cached>.CreateValueCallback Create = static a => new Cached(a);
    static readonly Cached?[] Bounded = new Cached?[TableSize];

    [ThreadStatic] static Cached? _last;

    static LogEventProperty WeakTable(Activity activity)
    {
        var identity = activity.SpanId.ToHexString();
        var last = _last;
        if (last is not null && ReferenceEquals(last.Identity, identity)) return last.SpanId;
        if (!Weak.TryGetValue(activity, out var cached)) cached = Weak.GetValue(activity, Create);
        _last = cached;
        return cached.SpanId;
    }

    static LogEventProperty BoundedTable(Activity activity)
    {
        var identity = activity.SpanId.ToHexString();
        var last = _last;
        if (last is not null && ReferenceEquals(last.Identity, identity)) return last.SpanId;
        ref var slot = ref Bounded[RuntimeHelpers.GetHashCode(identity) & (TableSize - 1)];
        var cached = Volatile.Read(ref slot);
        if (cached is null || !ReferenceEquals(cached.Identity, identity))
        {
            cached = new Cached(activity);
            Volatile.Write(ref slot, cached);
        }

        _last = cached;
        return cached.SpanId;
    }

    // The second event runs as if on another thread: the per-thread entry points at some other activity.
    static readonly Cached Elsewhere = MakeElsewhere();

    static Cached MakeElsewhere()
    {
        using var activity = new Activity("elsewhere").SetIdFormat(ActivityIdFormat.W3C).Start();
        return new Cached(activity);
    }

    [Benchmark(Baseline = true)]
    public LogEventProperty ConditionalWeakTable()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        WeakTable(activity);
        _last = Elsewhere;
        return WeakTable(activity);
    }

    [Benchmark]
    public LogEventProperty BoundedIdentityTable()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        BoundedTable(activity);
        _last = Elsewhere;
        return BoundedTable(activity);
    }

    [Benchmark]
    public LogEventProperty NoCache()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        _ = new Cached(activity).SpanId;
        return new Cached(activity).SpanId;
    }

    [Benchmark]
    public Activity ActivityAlone()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        _ = activity.SpanId.ToHexString();
        return activity;
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
