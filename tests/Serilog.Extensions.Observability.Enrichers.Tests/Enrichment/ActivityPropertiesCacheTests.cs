using System.Diagnostics;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers.Enrichment;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

public class ActivityPropertiesCacheTests
{
    static Activity StartW3C(string name, Activity? parent = null)
    {
        var activity = new Activity(name).SetIdFormat(ActivityIdFormat.W3C);
        if (parent is not null) activity.SetParentId(parent.TraceId, parent.SpanId);
        return activity.Start();
    }

    static void AssertMatches(ActivityProperties properties, Activity activity)
    {
        Assert.That(properties.TraceId!.Value, Is.EqualTo(new ScalarValue(activity.TraceId.ToHexString())));
        Assert.That(properties.SpanId!.Value, Is.EqualTo(new ScalarValue(activity.SpanId.ToHexString())));
        if (activity.ParentSpanId == default)
            Assert.That(properties.ParentSpanId, Is.Null);
        else
            Assert.That(properties.ParentSpanId!.Value, Is.EqualTo(new ScalarValue(activity.ParentSpanId.ToHexString())));
        Assert.That(properties.OperationName!.Value, Is.EqualTo(new ScalarValue(activity.OperationName)));
    }

    [Test]
    public void TheCorrelationFallbackWritesTheTraceIdsTextWithTheTraceIdsValue()
    {
        using var activity = StartW3C("op");
        var properties = ActivityProperties.For(activity);

        var correlation = properties.CorrelationProperty("CorrelationId")!;

        Assert.That(correlation.Name, Is.EqualTo("CorrelationId"));
        Assert.That(((ScalarValue)correlation.Value).Value, Is.EqualTo(activity.TraceId.ToHexString()));
        // One value object per activity for both properties, not one each.
        Assert.That(correlation.Value, Is.SameAs(properties.TraceId!.Value));
        Assert.That(properties.CorrelationProperty("CorrelationId"), Is.SameAs(correlation));
        Assert.That(properties.CorrelationProperty("RequestCorrelation")!.Value, Is.SameAs(properties.TraceId!.Value));
    }

    [Test]
    public void TheSameActivityGetsTheSameEntryBackOnAnyThread()
    {
        using var activity = StartW3C("op");
        var first = ActivityProperties.For(activity);
        var again = ActivityProperties.For(activity);
        var elsewhere = Task.Run(() => ActivityProperties.For(activity)).GetAwaiter().GetResult();

        Assert.That(again, Is.SameAs(first));
        Assert.That(elsewhere, Is.SameAs(first));
        AssertMatches(first, activity);
    }

    [Test]
    public void AfterTheTableHasFilledEveryActivityStillGetsItsOwnIds()
    {
        // Many more activities than table slots: entries are replaced, never mixed up.
        var activities = new List<Activity>();
        try
        {
            Activity? parent = null;
            for (var i = 0; i < ActivityProperties.TableSize * 8; i++)
            {
                var activity = StartW3C("op" + i, parent);
                activity.Stop();
                activities.Add(activity);
                parent = i % 3 == 0 ? activity : null;
            }

            foreach (var activity in activities) AssertMatches(ActivityProperties.For(activity), activity);
            // And again in reverse, after every slot has been replaced at least once.
            for (var i = activities.Count - 1; i >= 0; i--) AssertMatches(ActivityProperties.For(activities[i]), activities[i]);
        }
        finally
        {
            foreach (var activity in activities) activity.Dispose();
        }
    }

    [Test]
    public void ConcurrentLookupsOfManyActivitiesAlwaysGiveThatActivitysIds()
    {
        var activities = new Activity[ActivityProperties.TableSize * 2];
        for (var i = 0; i < activities.Length; i++)
        {
            activities[i] = StartW3C("op" + i);
            activities[i].Stop();
        }

        var mismatches = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            var random = new Random(worker);
            for (var n = 0; n < 20_000; n++)
            {
                var activity = activities[random.Next(activities.Length)];
                var properties = ActivityProperties.For(activity);
                if (!Equals(((ScalarValue)properties.SpanId!.Value).Value, activity.SpanId.ToHexString())
                    || !Equals(((ScalarValue)properties.TraceId!.Value).Value, activity.TraceId.ToHexString()))
                    Interlocked.Increment(ref mismatches);
            }
        });

        Assert.That(mismatches, Is.Zero);
        foreach (var activity in activities) activity.Dispose();
    }

    [Test]
    public void AnEventInAnActivityThatLeftTheTableStillGetsItsIds()
    {
        using var activity = StartW3C("kept");
        var evt = DelegatingSink.GetLogEvent(log => log.Information("first"), c => c.Enrich.WithSpan());
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(activity.SpanId.ToHexString())));

        // Push it out of the per-thread entry and (very likely) out of its table slot.
        for (var i = 0; i < ActivityProperties.TableSize * 4; i++)
        {
            using var other = new Activity("other").SetIdFormat(ActivityIdFormat.W3C).Start();
            other.Stop();
            ActivityProperties.For(other);
        }

        Assert.That(Activity.Current, Is.SameAs(activity));
        evt = DelegatingSink.GetLogEvent(log => log.Information("second"), c => c.Enrich.WithSpan().Enrich.WithCorrelation());
        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue(activity.TraceId.ToHexString())));
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(activity.SpanId.ToHexString())));
        Assert.That(evt.Properties["CorrelationId"], Is.EqualTo(new ScalarValue(activity.TraceId.ToHexString())));
    }

    [Test]
    public void AnActivityWithoutASpanIdIsNeverConfusedWithAnother()
    {
        // Not started: no span id, so nothing identifies it; each lookup builds its own entry.
        var unstarted = new Activity("unstarted").SetIdFormat(ActivityIdFormat.W3C);
        var a = ActivityProperties.For(unstarted);
        var b = ActivityProperties.For(unstarted);

        Assert.That(b, Is.Not.SameAs(a));
        Assert.That(a.SpanId!.Value, Is.EqualTo(new ScalarValue(unstarted.SpanId.ToHexString())));
    }
}
