using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

public class SpanEnricherTests
{
    static LogEvent Log(Func<LoggerConfiguration, LoggerConfiguration>? configure = null) =>
        DelegatingSink.GetLogEvent(log => log.Information("Hi"), configure ?? (c => c.Enrich.WithSpan()));

    [Test]
    public void WithoutAnActivityNothingIsAdded()
    {
        var evt = Log();

        Assert.That(evt.Properties.Keys, Has.None.AnyOf("TraceId", "SpanId", "ParentSpanId"));
    }

    [Test]
    public void ARootW3CActivityGivesTraceAndSpanIdsButNoParent()
    {
        using var activity = new Activity("root").SetIdFormat(ActivityIdFormat.W3C).Start();
        var evt = Log();

        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue(activity.TraceId.ToHexString())));
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(activity.SpanId.ToHexString())));
        Assert.That(((ScalarValue)evt.Properties["TraceId"]).Value as string, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(((ScalarValue)evt.Properties["SpanId"]).Value as string, Does.Match("^[0-9a-f]{16}$"));
        Assert.That(evt.Properties.ContainsKey("ParentSpanId"), Is.False);
    }

    [Test]
    public void ThePropertiesAgreeWithTheTraceAndSpanSerilogRecordsOnTheEvent()
    {
        using var activity = new Activity("op").SetIdFormat(ActivityIdFormat.W3C).Start();
        var evt = Log();

        Assert.That(evt.SpanId, Is.Not.Null);
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(evt.SpanId!.Value.ToHexString())));
        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue(evt.TraceId!.Value.ToHexString())));
    }

    [Test]
    public void AnEventWrittenWithTheIdsOfAnotherSpanGetsThoseIdsNotTheCurrentActivitysOnes()
    {
        // A timing package writes a stage's completion event once the stage's span has stopped, with the stage's ids:
        // TraceId and SpanId must agree with the event's own @tr/@sp, whatever is current (or nothing).
        var traceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
        var spanId = ActivitySpanId.CreateFromString("b7ad6b7169203331");
        foreach (var current in new[] { null, new Activity("other").SetIdFormat(ActivityIdFormat.W3C) })
        {
            current?.Start();
            var evt = DelegatingSink.GetLogEvent(
                log => log.Write(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null,
                    new Serilog.Parsing.MessageTemplateParser().Parse("Stage ended"), [], traceId, spanId)),
                c => c.Enrich.WithSpan().Enrich.WithCorrelation());
            current?.Stop();

            Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue(traceId.ToHexString())));
            Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(spanId.ToHexString())));
            Assert.That(evt.Properties.ContainsKey("ParentSpanId"), Is.False, "the span's parent is not known");
            Assert.That(evt.Properties["CorrelationId"], Is.EqualTo(new ScalarValue(traceId.ToHexString())));
        }
    }

    [Test]
    public void AChildW3CActivityGivesItsParentSpanId()
    {
        using var parent = new Activity("parent").SetIdFormat(ActivityIdFormat.W3C).Start();
        using var child = new Activity("child").Start();
        var evt = Log();

        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue(parent.TraceId.ToHexString())));
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(child.SpanId.ToHexString())));
        Assert.That(evt.Properties["ParentSpanId"], Is.EqualTo(new ScalarValue(parent.SpanId.ToHexString())));
    }

    [Test]
    public void AnActivityWithARemoteParentGivesTheRemoteIds()
    {
        var traceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
        var parentSpanId = ActivitySpanId.CreateFromString("b7ad6b7169203331");
        using var activity = new Activity("server").SetParentId(traceId, parentSpanId).Start();
        var evt = Log();

        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue("0af7651916cd43dd8448eb211c80319c")));
        Assert.That(evt.Properties["ParentSpanId"], Is.EqualTo(new ScalarValue("b7ad6b7169203331")));
    }

    [Test]
    public void AHierarchicalActivityGivesItsRootIdIdAndParentId()
    {
        using var parent = new Activity("parent").SetIdFormat(ActivityIdFormat.Hierarchical).Start();
        using var child = new Activity("child").SetIdFormat(ActivityIdFormat.Hierarchical).Start();
        var evt = Log();

        Assert.That(child.IdFormat, Is.EqualTo(ActivityIdFormat.Hierarchical));
        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue(child.RootId)));
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(child.Id)));
        Assert.That(evt.Properties["ParentSpanId"], Is.EqualTo(new ScalarValue(parent.Id)));
    }

    [Test]
    public void OperationNameBaggageAndTagsAreAddedOnlyWhenAskedFor()
    {
        using var activity = new Activity("checkout").AddBaggage("tenant", "acme").AddTag("http.method", "GET").AddTag("retries", 2).Start();

        var plain = Log();
        var full = Log(c => c.Enrich.WithSpan(includeOperationName: true, includeBaggage: true, includeTags: true));

        Assert.That(plain.Properties.Keys, Has.None.AnyOf("OperationName", "Baggage", "Tags"));
        Assert.That(full.Properties["OperationName"], Is.EqualTo(new ScalarValue("checkout")));
        Assert.That(full.Properties["Baggage"].ToString(), Is.EqualTo("[(\"tenant\": \"acme\")]"));
        Assert.That(full.Properties["Tags"].ToString(), Is.EqualTo("[(\"http.method\": \"GET\"), (\"retries\": 2)]"));
    }

    [Test]
    public void BaggageShowsTheNearestValueOfAKey()
    {
        using var parent = new Activity("parent").AddBaggage("region", "eu").AddBaggage("tier", "gold").Start();
        using var child = new Activity("child").AddBaggage("region", "us").Start();
        var evt = Log(c => c.Enrich.WithSpan(includeBaggage: true));

        var baggage = (DictionaryValue)evt.Properties["Baggage"];
        var asText = baggage.Elements.ToDictionary(e => (string)e.Key.Value!, e => e.Value.ToString());
        Assert.That(asText, Is.EquivalentTo(new Dictionary<string, string> { ["region"] = "\"us\"", ["tier"] = "\"gold\"" }));
    }

    [Test]
    public void ATagWhoseToStringThrowsIsWrittenAsAPlaceholderAndTheEventStillGetsItsIds()
    {
        using var activity = new Activity("op").AddTag("bad", new ThrowingToString()).AddTag("list", new[] { 1, 2 }).Start();
        var evt = Log(c => c.Enrich.WithSpan(includeTags: true));

        Assert.That(evt.Properties["Tags"].ToString(), Is.EqualTo("[(\"bad\": \"<unprintable>\"), (\"list\": [1, 2])]"));
        Assert.That(evt.Properties.ContainsKey("SpanId"), Is.True);
    }

    [TestCase("fa-IR")]
    [TestCase("th-TH")]
    [TestCase("de-DE")]
    public void TagsOfOtherTypesAreTextInTheInvariantCultureWhateverTheLoggingThreadsCulture(string cultureName)
    {
        using var activity = new Activity("op")
            .AddTag("day", new DateOnly(2026, 11, 22)).AddTag("ratio", (Half)1.5).AddTag("delta", new BigInteger(-5)).Start();
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(cultureName);
        LogEvent evt;
        try
        {
            evt = Log(c => c.Enrich.WithSpan(includeTags: true));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        Assert.That(evt.Properties["Tags"].ToString(), Is.EqualTo("[(\"day\": \"11/22/2026\"), (\"ratio\": \"1.5\"), (\"delta\": \"-5\")]"));
    }

    [Test, NonParallelizable] // captures the process-wide SelfLog
    public void ARepeatedTagKeyKeepsTheFirstValueAndTheOtherTags()
    {
        using var activity = new Activity("op").AddTag("k", 1).AddTag("other", "x").AddTag("k", 2).Start();
        var selfLog = new List<string>();
        LogEvent evt;
        using (TemporarySelfLog.SaveTo(selfLog))
            evt = Log(c => c.Enrich.WithSpan(includeTags: true));

        Assert.That(evt.Properties["Tags"].ToString(), Is.EqualTo("[(\"k\": 1), (\"other\": \"x\")]"));
        Assert.That(selfLog, Is.Empty);
    }

    [Test]
    public void AnArrayTagThatHoldsItselfIsCutAndAMultiDimensionalOneIsListed()
    {
        var cyclic = new object[1];
        cyclic[0] = cyclic;
        using var activity = new Activity("op").AddTag("cyclic", cyclic).AddTag("grid", new[,] { { 1, 2 }, { 3, 4 } }).Start();
        var evt = Log(c => c.Enrich.WithSpan(includeTags: true));

        var tags = ((DictionaryValue)evt.Properties["Tags"]).Elements.ToDictionary(e => (string)e.Key.Value!, e => e.Value);
        Assert.That(tags["grid"].ToString(), Is.EqualTo("[1, 2, 3, 4]"));
        var depth = 0;
        for (var value = tags["cyclic"]; value is SequenceValue sequence; value = sequence.Elements[0]) depth++;
        Assert.That(depth, Is.EqualTo(10), "cut at ten levels, as Serilog cuts deep objects");
    }

    [Test]
    public void AnArrayTagThatHoldsItselfSeveralTimesIsCutInSizeNotOnlyInDepth()
    {
        // Cut at ten levels only, an array holding itself w times becomes w^10 values on every event: 4 gives about a
        // million (this test), 8 a billion, which no process survives. The depth cut alone does not bound the work.
        var cyclic = new object[4];
        for (var i = 0; i < cyclic.Length; i++) cyclic[i] = cyclic;
        using var activity = new Activity("op").AddTag("cyclic", cyclic).Start();
        var evt = Log(c => c.Enrich.WithSpan(includeTags: true));

        var tags = ((DictionaryValue)evt.Properties["Tags"]).Elements.ToDictionary(e => (string)e.Key.Value!, e => e.Value);
        Assert.That(CountValues(tags["cyclic"]), Is.LessThan(10_000));
    }

    static long CountValues(LogEventPropertyValue value)
    {
        long count = 0;
        var pending = new Stack<LogEventPropertyValue>();
        pending.Push(value);
        while (pending.Count > 0)
        {
            count++;
            if (pending.Pop() is SequenceValue sequence)
                foreach (var element in sequence.Elements) pending.Push(element);
        }
        return count;
    }

    [Test]
    public void AnAllZeroTraceIdIsNoTraceAndNoCorrelation()
    {
        using var activity = new Activity("zero").SetIdFormat(ActivityIdFormat.W3C);
        activity.SetParentId(default(ActivityTraceId), default(ActivitySpanId));
        activity.Start();
        Assume.That(activity.TraceId.ToHexString(), Is.EqualTo(new string('0', 32)));

        var evt = Log(c => c.Enrich.WithSpan().Enrich.WithCorrelation());

        Assert.That(evt.Properties.Keys, Has.None.AnyOf("TraceId", "ParentSpanId", "CorrelationId"));
        Assert.That(evt.Properties.ContainsKey("SpanId"), Is.True);
        Assert.That(CorrelationPropagation.OutgoingId, Is.Null);
        var headers = new Dictionary<string, string>();
        Assert.That(CorrelationPropagation.Inject(headers), Is.False);
    }

    [Test]
    public void ValuesTheCallerSetWin()
    {
        using var activity = new Activity("op").Start();
        var evt = DelegatingSink.GetLogEvent(
            log => log.ForContext("TraceId", "mine").ForContext("SpanId", "my-span").Information("Hi"),
            c => c.Enrich.WithSpan());

        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue("mine")));
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue("my-span")));
    }

    [Test]
    public void EventsInTheSameActivityShareTheirIdValuesAndANewActivityGetsNewOnes()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithSpan().WriteTo.Sink(sink).CreateLogger();
        using (new Activity("first").Start())
        {
            logger.Information("One");
            logger.Information("Two");
        }

        using (new Activity("second").Start())
            logger.Information("Three");

        var events = sink.Events;
        Assert.That(events[1].Properties["SpanId"], Is.SameAs(events[0].Properties["SpanId"]));
        Assert.That(events[1].Properties["TraceId"], Is.SameAs(events[0].Properties["TraceId"]));
        Assert.That(events[2].Properties["SpanId"], Is.Not.EqualTo(events[0].Properties["SpanId"]));
    }

    [TestCase(ActivityIdFormat.W3C)]
    [TestCase(ActivityIdFormat.Hierarchical)]
    public void AlternatingBetweenActivitiesOnOneThreadAlwaysGivesTheCurrentOnesIds(ActivityIdFormat format)
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithSpan().WriteTo.Sink(sink).CreateLogger();
        using var parent = new Activity("parent").SetIdFormat(format).Start();
        logger.Information("In parent");
        var child = new Activity("child").SetIdFormat(format).Start();
        logger.Information("In child");
        child.Stop();
        logger.Information("In parent again");
        var sibling = new Activity("sibling").SetIdFormat(format).Start();
        logger.Information("In sibling");
        sibling.Stop();

        var spanIds = sink.Events.Select(e => (string?)((ScalarValue)e.Properties["SpanId"]).Value).ToArray();
        var expected = format == ActivityIdFormat.W3C
            ? new[] { parent.SpanId.ToHexString(), child.SpanId.ToHexString(), parent.SpanId.ToHexString(), sibling.SpanId.ToHexString() }
            : new[] { parent.Id, child.Id, parent.Id, sibling.Id };
        Assert.That(spanIds, Is.EqualTo(expected));
        Assert.That(sink.Events[3].Properties["ParentSpanId"].ToString(), Does.Contain(format == ActivityIdFormat.W3C ? parent.SpanId.ToHexString() : parent.Id!));
    }

    [Test]
    public async Task EachConcurrentActivityGetsItsOwnIds()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithSpan().WriteTo.Sink(sink).CreateLogger();

        var expected = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 50), async (i, _) =>
        {
            using var activity = new Activity("flow").Start();
            expected[i] = activity.SpanId.ToHexString();
            for (var j = 0; j < 4; j++)
            {
                await Task.Yield();
                logger.Information("Flow {Flow}", i);
            }
        });

        Assert.That(sink.Events, Has.Count.EqualTo(200));
        foreach (var evt in sink.Events)
        {
            var flow = (int)((ScalarValue)evt.Properties["Flow"]).Value!;
            Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(expected[flow])));
        }
    }

    [Test]
    public void AnEventEnrichedOnAnotherThreadWhereAnotherActivityIsCurrentGetsOnlyTheIdsOfItsOwnActivity()
    {
        // A sub-logger behind an async sink, or an event forwarded with ILogger.Write(LogEvent): Serilog recorded the
        // activity the event was written in; a different one is current where it is enriched.
        LogEvent written;
        string traceId, spanId;
        using (var origin = new Activity("origin").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            written = DelegatingSink.GetLogEvent(log => log.Information("Written in origin"));
            traceId = origin.TraceId.ToHexString();
            spanId = origin.SpanId.ToHexString();
        }

        var sink = new CollectingSink();
        using var enriching = new LoggerConfiguration().Enrich.WithSpan(includeOperationName: true).WriteTo.Sink(sink).CreateLogger();
        var thread = new Thread(() =>
        {
            using var parent = new Activity("elsewhere-parent").SetIdFormat(ActivityIdFormat.W3C).Start();
            using var elsewhere = new Activity("elsewhere").SetIdFormat(ActivityIdFormat.W3C).Start();
            enriching.Write(written);
        });
        thread.Start();
        thread.Join();

        var evt = sink.SingleEvent;
        Assert.That(evt.Properties["TraceId"], Is.EqualTo(new ScalarValue(traceId)));
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(spanId)));
        Assert.That(evt.Properties.ContainsKey("ParentSpanId"), Is.False, "the origin activity had no parent");
        Assert.That(evt.Properties.TryGetValue("OperationName", out var name) ? name : null, Is.Not.EqualTo(new ScalarValue("elsewhere")));
    }

    [Test]
    public void AnEventEnrichedWhereAnotherActivityIsCurrentGetsItsOwnActivitysParentAndNameWhenThoseAreKnown()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithSpan(includeOperationName: true).WriteTo.Sink(sink).CreateLogger();
        LogEvent written;
        Activity origin;
        using (var parent = new Activity("origin-parent").SetIdFormat(ActivityIdFormat.W3C).Start())
        using (origin = new Activity("origin").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            logger.Information("Enriched in origin");
            written = DelegatingSink.GetLogEvent(log => log.Information("Written in origin"));
        }

        using (new Activity("elsewhere").SetIdFormat(ActivityIdFormat.W3C).Start())
            Task.Run(() => logger.Write(written)).GetAwaiter().GetResult();

        var evt = sink.Events[1];
        Assert.That(evt, Is.SameAs(written));
        Assert.That(evt.Properties["SpanId"], Is.EqualTo(new ScalarValue(origin.SpanId.ToHexString())));
        Assert.That(evt.Properties["ParentSpanId"], Is.EqualTo(new ScalarValue(origin.ParentSpanId.ToHexString())));
        Assert.That(evt.Properties["OperationName"], Is.EqualTo(new ScalarValue("origin")));
    }

    [Test]
    public void AnEventEnrichedWhereAnotherActivityIsCurrentNeverGetsThatActivitysBaggageOrTags()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithSpan(includeBaggage: true, includeTags: true).WriteTo.Sink(sink).CreateLogger();
        LogEvent sameThread, otherThread;
        using (var origin = new Activity("origin").AddBaggage("tenant", "origin-tenant").AddTag("who", "origin").Start())
        {
            logger.Information("Enriched in origin");
            sameThread = DelegatingSink.GetLogEvent(log => log.Information("Written in origin"));
            otherThread = DelegatingSink.GetLogEvent(log => log.Information("Written in origin"));
        }

        using (new Activity("elsewhere").AddBaggage("tenant", "other-tenant").AddTag("who", "elsewhere").Start())
        {
            logger.Write(sameThread);
            Task.Run(() => logger.Write(otherThread)).GetAwaiter().GetResult();
        }

        foreach (var evt in new[] { sameThread, otherThread })
        {
            Assert.That(evt.Properties.TryGetValue("Tags", out var tags) ? tags.ToString() : "", Does.Not.Contain("elsewhere"));
            Assert.That(evt.Properties.TryGetValue("Baggage", out var baggage) ? baggage.ToString() : "", Does.Not.Contain("other-tenant"));
        }
        Assert.That(sink.Events[0].Properties["Tags"].ToString(), Does.Contain("origin"), "the activity's own events still get its tags");
    }

    sealed class ThrowingToString
    {
        public override string ToString() => throw new InvalidOperationException("boom");
    }

    [ThreadStatic] static LogEvent? t_written;

    [Test]
    public void UnderLoadAnEventForwardedToAnotherThreadGetsOnlyItsOwnActivitysIdsAndBaggage()
    {
        // Four threads each start a new activity per event (far more than the enricher's table holds, so its slots are
        // replaced all the time), write the event bare, then forward either their own event or one another thread wrote
        // (taken whole from a shared ring) through an enriching logger while their own, different activity is current.
        const int Threads = 4;
        const int EventsPerThread = 20_000;
        using var bare = new LoggerConfiguration().WriteTo.Sink(new DelegatingSink(e => t_written = e)).CreateLogger();
        using var enriching = new LoggerConfiguration()
            .Enrich.WithSpan(includeOperationName: true, includeBaggage: true)
            .Enrich.WithCorrelation()
            .WriteTo.Sink(new DelegatingSink(e => t_written = e))
            .CreateLogger();
        var ring = new LogEvent?[64];
        var checkedEvents = 0;
        var forwarded = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        void Check(LogEvent evt)
        {
            string? Text(string name) => evt.Properties.TryGetValue(name, out var value) ? ((ScalarValue)value).Value as string : null;
            var owner = Text("Owner")!;
            var problem =
                Text("SpanId") != evt.SpanId!.Value.ToHexString() ? "SpanId"
                : Text("TraceId") != evt.TraceId!.Value.ToHexString() ? "TraceId"
                : Text("CorrelationId") != evt.TraceId!.Value.ToHexString() ? "CorrelationId"
                : Text("ParentSpanId") is { } parent && parent != Text("Parent") ? "ParentSpanId"
                : Text("OperationName") is { } operation && operation != Text("Operation") ? "OperationName"
                : evt.Properties.TryGetValue("Baggage", out var baggage)
                  && !((DictionaryValue)baggage).Elements.Any(e => Equals(e.Key.Value, "owner") && Equals(((ScalarValue)e.Value).Value, owner)) ? "Baggage"
                : null;
            if (problem is not null) failures.Enqueue(problem + " of " + owner);
            Interlocked.Increment(ref checkedEvents);
        }

        void Forward(LogEvent evt)
        {
            enriching.Write(evt);
            Check(t_written!);
        }

        var threads = new Thread[Threads];
        for (var t = 0; t < Threads; t++)
        {
            var thread = t;
            threads[t] = new Thread(() =>
            {
                var random = new Random(thread);
                using var root = new Activity("root-" + thread).SetIdFormat(ActivityIdFormat.W3C).Start();
                for (var n = 0; n < EventsPerThread; n++)
                {
                    var owner = thread + "-" + n;
                    // Every other activity is a child, so parent span ids differ between neighbours.
                    var activity = new Activity("op-" + owner).SetIdFormat(ActivityIdFormat.W3C);
                    if (n % 2 == 0) activity.SetParentId(root.TraceId, root.SpanId);
                    activity.AddBaggage("owner", owner);
                    activity.Start();
                    bare.Information("{Owner} {Parent} {Operation}", owner,
                        activity.ParentSpanId == default ? null : activity.ParentSpanId.ToHexString(), activity.OperationName);
                    var evt = t_written!;

                    if (random.Next(4) == 0)
                    {
                        Forward(evt);
                    }
                    else if (Interlocked.Exchange(ref ring[random.Next(ring.Length)], evt) is { } other)
                    {
                        Forward(other);
                        Interlocked.Increment(ref forwarded);
                    }

                    activity.Stop();
                }
            });
            threads[t].Start();
        }
        foreach (var thread in threads) thread.Join();
        for (var i = 0; i < ring.Length; i++)
        {
            if (ring[i] is { } left) Forward(left);
        }

        Assert.That(checkedEvents, Is.EqualTo(Threads * EventsPerThread));
        Assert.That(forwarded, Is.GreaterThan(Threads * EventsPerThread / 2));
        Assert.That(failures, Is.Empty, "events that got another activity's ids or baggage");
    }
}
