using System.Threading.Channels;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Context;

public class CorrelationContextTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public void OutsideAnyScopeThereIsNoCurrentId()
    {
        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void NewIdIs32LowercaseHexCharactersAndUnique()
    {
        var first = CorrelationContext.NewId();
        var second = CorrelationContext.NewId();

        Assert.That(first, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(second, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(first, Is.Not.EqualTo(second));
    }

    [Test]
    public void NewIdsDrawnOnManyThreadsAtOnceAreAllDistinct()
    {
        // Drawn from a generator per thread: threads started together must not repeat each other's sequence.
        const int threads = 8, perThread = 20_000;
        var ids = new string[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var mine = new string[perThread];
            for (var i = 0; i < perThread; i++) mine[i] = CorrelationContext.NewId();
            ids[t] = mine;
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        var all = ids.SelectMany(x => x).ToList();
        Assert.That(all, Has.Count.EqualTo(threads * perThread));
        Assert.That(all.Distinct().Count(), Is.EqualTo(all.Count));
        Assert.That(all.All(id => id.Length == 32 && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f')), Is.True);
    }

    [Test]
    public void ADeferredScopesIdIsReadWhenAskedFor()
    {
        string? id = null;
        using (CorrelationContext.BeginDeferred(() => id))
        {
            Assert.That(CorrelationContext.CurrentId, Is.Null);
            id = "known-later";
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("known-later"));
            using (CorrelationContext.Begin("inner"))
                Assert.That(CorrelationContext.CurrentId, Is.EqualTo("inner"));
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("known-later"));
        }

        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void ADeferredScopeWithoutAnIdOrWithAnInvalidOneShowsTheEnclosingScopesId()
    {
        string? id = null;
        using (CorrelationContext.Begin("outer"))
        using (CorrelationContext.BeginDeferred(() => id))
        {
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
            id = "bad id\r\n";
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
            id = "good";
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("good"));
        }
    }

    [Test, NonParallelizable]
    public void ADeferredScopeWhoseResolverThrowsIsReportedAndShowsTheEnclosingScopesId()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using (CorrelationContext.Begin("outer"))
        using (CorrelationContext.BeginDeferred(() => throw new InvalidOperationException("resolver failed")))
        {
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
        }

        Assert.That(selfLog, Has.Some.Contains("resolver failed"));
    }

    [Test]
    public void TheEnricherWritesADeferredScopesCurrentIdOnEachEvent()
    {
        var events = new List<LogEvent>();
        using var logger = new LoggerConfiguration().Enrich.WithCorrelation().WriteTo.Sink(new DelegatingSink(events.Add)).CreateLogger();
        string? id = null;
        using (CorrelationContext.BeginDeferred(() => id))
        {
            logger.Information("before");
            id = "first";
            logger.Information("first");
            id = "second";
            logger.Information("second");
        }

        Assert.That(events.Select(e => e.Properties.TryGetValue("CorrelationId", out var v) ? ((ScalarValue)v).Value : null),
            Is.EqualTo(new object?[] { null, "first", "second" }));
    }

    [Test]
    public void ADeferredScopesResolverThatReadsTheCurrentIdSeesTheEnclosingScopesIdInsteadOfRecursing()
    {
        var calls = 0;
        using (CorrelationContext.Begin("outer"))
        using (CorrelationContext.BeginDeferred(() =>
        {
            // Bounded here so that the test fails instead of overflowing the stack (which ends the process).
            if (++calls > 50) return "recursed";
            return CorrelationContext.CurrentId;
        }))
        {
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
            Assert.That(calls, Is.EqualTo(1));
        }
    }

    [Test]
    public void NestedDeferredScopesWhoseResolversReadTheCurrentIdEndInsteadOfRecursing()
    {
        // The inner resolver reads the outer scope's id, whose resolver reads the current id: the inner scope again.
        var calls = 0;
        using (CorrelationContext.Begin("root"))
        using (CorrelationContext.BeginDeferred(() => ++calls > 50 ? "recursed" : CorrelationContext.CurrentId is { } id ? id + "-outer" : null))
        using (CorrelationContext.BeginDeferred(() => ++calls > 50 ? "recursed" : CorrelationContext.CurrentId is { } id ? id + "-inner" : null))
        {
            // Each scope, asked again inside its own resolver, gives its enclosing scope's id.
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("root-outer-inner"));
            Assert.That(calls, Is.EqualTo(2));
        }
    }

    [Test]
    public void BeginDeferredRejectsANullResolver()
    {
        Assert.That(() => CorrelationContext.BeginDeferred(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("resolve"));
    }

    [Test]
    public void BeginWithoutAnIdMakesANewIdCurrent()
    {
        using (CorrelationContext.Begin())
        {
            Assert.That(CorrelationContext.CurrentId, Does.Match("^[0-9a-f]{32}$"));
        }

        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void BeginWithAnEmptyIdMakesANewIdCurrent()
    {
        using (CorrelationContext.Begin(""))
            Assert.That(CorrelationContext.CurrentId, Does.Match("^[0-9a-f]{32}$"));
    }

    [Test]
    public void BeginWithAnIdMakesThatIdCurrent()
    {
        using (CorrelationContext.Begin("order-42"))
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("order-42"));
    }

    [TestCase(" \t ")]
    [TestCase("has space")]
    [TestCase("line\nbreak")]
    [TestCase("quote\"")]
    [TestCase("ünïcode")]
    public void BeginRejectsAnIdWithCharactersOutsideTheAllowedSetWithoutEchoingIt(string id)
    {
        var ex = Assert.Throws<ArgumentException>(() => CorrelationContext.Begin(id));

        Assert.That(ex!.ParamName, Is.EqualTo("correlationId"));
        Assert.That(ex.Message, Does.Not.Contain(id));
        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void BeginRejectsAnIdLongerThanTheMaximum()
    {
        Assert.That(() => CorrelationContext.Begin(new string('a', CorrelationContext.MaxIdLength + 1)), Throws.ArgumentException);
        using (CorrelationContext.Begin(new string('a', CorrelationContext.MaxIdLength)))
            Assert.That(CorrelationContext.CurrentId, Has.Length.EqualTo(CorrelationContext.MaxIdLength));
    }

    [TestCase("0af7651916cd43dd8448eb211c80319c", true)]
    [TestCase("5b3c2f0e-6a51-4c55-9f5e-0b2f1a0c9d11", true)]
    [TestCase("tenant:orders/42+retry=1@eu_west.2", true)]
    [TestCase("", false)]
    [TestCase(null, false)]
    [TestCase("a\r\nInjected: header", false)]
    [TestCase("<script>", false)]
    public void IsValidIdAcceptsOnlyTheDocumentedCharacterSet(string? id, bool expected)
    {
        Assert.That(CorrelationContext.IsValidId(id), Is.EqualTo(expected));
    }

    [Test]
    public void NestedScopesRestoreThePreviousIdOnDispose()
    {
        using (CorrelationContext.Begin("outer"))
        {
            using (CorrelationContext.Begin("inner"))
                Assert.That(CorrelationContext.CurrentId, Is.EqualTo("inner"));

            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
        }

        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void DisposingTheOuterScopeFirstLeavesTheInnerIdCurrentAndTheInnerDisposeSkipsTheClosedOuter()
    {
        var outer = CorrelationContext.Begin("outer");
        var inner = CorrelationContext.Begin("inner");

        outer.Dispose();
        Assert.That(CorrelationContext.CurrentId, Is.EqualTo("inner"));

        inner.Dispose();
        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void DisposingAMiddleScopeFirstRestoresTheOutermostOpenScopeLater()
    {
        using (CorrelationContext.Begin("root"))
        {
            var middle = CorrelationContext.Begin("middle");
            var inner = CorrelationContext.Begin("inner");

            middle.Dispose();
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("inner"));

            inner.Dispose();
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("root"));
        }

        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void DisposingTwiceDoesNotDisturbAScopeBegunInBetween()
    {
        using (CorrelationContext.Begin("outer"))
        {
            var first = CorrelationContext.Begin("first");
            first.Dispose();
            using (CorrelationContext.Begin("second"))
            {
                first.Dispose();
                Assert.That(CorrelationContext.CurrentId, Is.EqualTo("second"));
            }

            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
        }
    }

    /// <summary>Runs <paramref name="action"/> in a copy of the current flow, so scopes it leaves open end with it.</summary>
    internal static void InOwnFlow(Action action) => ExecutionContext.Run(ExecutionContext.Capture()!, _ => action(), null);

    [Test, NonParallelizable]
    public void ScopesBegunPerMessageAndNeverDisposedDoNotPileUpWithoutEnd()
    {
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            InOwnFlow(() =>
            {
                // A message loop that forgot 'using': every scope would keep all the earlier ones alive.
                for (var i = 0; i < 100_000; i++) CorrelationContext.Begin("message-" + i);

                Assert.That(CorrelationContext.CurrentId, Is.EqualTo("message-99999"));
                Assert.That(Enrichers.Context.CorrelationScope.Current!.Depth, Is.LessThanOrEqualTo(Enrichers.Context.CorrelationScope.MaxDepth));
            });
        }

        Assert.That(selfLog, Has.Exactly(1).Contains("CorrelationScope: more than 1024 scopes are nested in one flow"));
    }

    [Test]
    public void ScopesNestedUpToTheDepthLimitEachRestoreTheirParent()
    {
        InOwnFlow(() =>
        {
            var scopes = new Stack<IDisposable>();
            for (var i = 0; i < Enrichers.Context.CorrelationScope.MaxDepth; i++) scopes.Push(CorrelationContext.Begin("level-" + i));
            Assert.That(Enrichers.Context.CorrelationScope.Current!.Depth, Is.EqualTo(Enrichers.Context.CorrelationScope.MaxDepth));

            for (var i = Enrichers.Context.CorrelationScope.MaxDepth - 1; i > 0; i--)
            {
                scopes.Pop().Dispose();
                Assert.That(CorrelationContext.CurrentId, Is.EqualTo("level-" + (i - 1)));
            }
            scopes.Pop().Dispose();
            Assert.That(CorrelationContext.CurrentId, Is.Null);
        });
    }

    [Test]
    public async Task TheIdFlowsThroughAwaitAndThreadHops()
    {
        using (CorrelationContext.Begin("flowing"))
        {
            await Task.Yield();
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("flowing"));
            await Task.Delay(1).ConfigureAwait(false);
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("flowing"));
            Assert.That(await Task.Run(() => CorrelationContext.CurrentId), Is.EqualTo("flowing"));
        }
    }

    [Test]
    public async Task TheIdFlowsIntoEveryBodyOfParallelForEachAsync()
    {
        var seen = new System.Collections.Concurrent.ConcurrentBag<string?>();
        using (CorrelationContext.Begin("parallel"))
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 32), async (_, ct) =>
            {
                await Task.Yield();
                seen.Add(CorrelationContext.CurrentId);
            });
        }

        Assert.That(seen, Has.Count.EqualTo(32));
        Assert.That(seen, Is.All.EqualTo("parallel"));
    }

    [Test]
    public void ATimerStartedInsideTheScopeSeesTheIdAndOneStartedOutsideDoesNot()
    {
        var outside = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inside = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var startOutside = new ManualResetEventSlim();

        using var outsideTimer = new Timer(_ => outside.TrySetResult(CorrelationContext.CurrentId));
        Timer insideTimer;
        using (CorrelationContext.Begin("timer"))
        {
            insideTimer = new Timer(_ => inside.TrySetResult(CorrelationContext.CurrentId), null, 0, System.Threading.Timeout.Infinite);
            outsideTimer.Change(0, System.Threading.Timeout.Infinite);
        }

        using (insideTimer)
        {
            Assert.That(inside.Task.Wait(Timeout), Is.True);
            Assert.That(outside.Task.Wait(Timeout), Is.True);
        }

        Assert.That(inside.Task.Result, Is.EqualTo("timer"));
        Assert.That(outside.Task.Result, Is.Null);
    }

    [Test]
    public async Task ATaskStartedOutsideTheScopeNeverSeesIt()
    {
        using var gate = new ManualResetEventSlim();
        var unrelated = Task.Run(() =>
        {
            gate.Wait(Timeout);
            return CorrelationContext.CurrentId;
        });

        using (CorrelationContext.Begin("private"))
        {
            gate.Set();
            Assert.That(await unrelated, Is.Null);
        }
    }

    [Test]
    public async Task WorkQueuedWithFlowSuppressedDoesNotSeeTheId()
    {
        using (CorrelationContext.Begin("suppressed"))
        {
            Task<string?> work;
            using (ExecutionContext.SuppressFlow())
                work = Task.Run(() => CorrelationContext.CurrentId);

            Assert.That(await work, Is.Null);
        }
    }

    [Test]
    public void WorkQueuedWithUnsafeQueueUserWorkItemDoesNotSeeTheId()
    {
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (CorrelationContext.Begin("unsafe"))
            ThreadPool.UnsafeQueueUserWorkItem(_ => seen.SetResult(CorrelationContext.CurrentId), null);

        Assert.That(seen.Task.Wait(Timeout), Is.True);
        Assert.That(seen.Task.Result, Is.Null);
    }

    [TestCase(TaskCreationOptions.None)]
    [TestCase(TaskCreationOptions.RunContinuationsAsynchronously)]
    public async Task AContinuationResumedByTaskCompletionSourceSeesItsOwnIdAndTheSetterKeepsItsOwn(TaskCreationOptions options)
    {
        var signal = new TaskCompletionSource(options);
        var waiter = WaitInScope(signal.Task);
        Assert.That(CorrelationContext.CurrentId, Is.Null, "the waiter's scope stays in the waiter");

        using (CorrelationContext.Begin("setter"))
        {
            // Without RunContinuationsAsynchronously the waiter resumes inline, on this thread, inside SetResult.
            signal.SetResult();
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("setter"));
        }

        Assert.That(await waiter.WaitAsync(Timeout), Is.EqualTo("waiter"));

        static async Task<string?> WaitInScope(Task signal)
        {
            using (CorrelationContext.Begin("waiter"))
            {
                await signal;
                return CorrelationContext.CurrentId;
            }
        }
    }

    [Test]
    public async Task AChannelConsumerSeesNotTheProducersIdButTheIdOfTheScopeItBeginsFromTheMessage()
    {
        var channel = Channel.CreateUnbounded<string>();
        var consumer = Task.Run(async () =>
        {
            var seen = new List<string?>();
            await foreach (var id in channel.Reader.ReadAllAsync())
            {
                seen.Add(CorrelationContext.CurrentId);
                using (CorrelationContext.Begin(id)) seen.Add(CorrelationContext.CurrentId);
            }
            return seen;
        });

        foreach (var id in new[] { "message-1", "message-2" })
        {
            using (CorrelationContext.Begin(id)) await channel.Writer.WriteAsync(id);
        }
        channel.Writer.Complete();

        Assert.That(await consumer.WaitAsync(Timeout), Is.EqualTo(new string?[] { null, "message-1", null, "message-2" }));
    }

    [Test]
    public async Task AnAsyncIteratorsScopeIsSeenNeitherByItsConsumerNorByItselfPastTheNextYield()
    {
        // As the package README says: the iterator resumes after each yield return in the consumer's flow.
        var seen = new List<string?>();
        using (CorrelationContext.Begin("consumer"))
        {
            await foreach (var inIterator in Items())
            {
                seen.Add(inIterator);
                seen.Add(CorrelationContext.CurrentId);
            }
            seen.Add(CorrelationContext.CurrentId);
        }

        Assert.That(seen, Is.EqualTo(new[] { "iterator", "consumer", "consumer", "consumer", "consumer" }));

        static async IAsyncEnumerable<string?> Items()
        {
            using (CorrelationContext.Begin("iterator"))
            {
                yield return CorrelationContext.CurrentId;
                await Task.Yield();
                yield return CorrelationContext.CurrentId;
            }
        }
    }

    [Test]
    public async Task AScopeBegunInsideAnAsyncMethodDoesNotFlowBackToItsCaller()
    {
        using (CorrelationContext.Begin("caller"))
        {
            await BeginWithoutDisposing("callee");
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("caller"));
        }

        static async Task BeginWithoutDisposing(string id)
        {
            CorrelationContext.Begin(id);
            await Task.Yield();
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo(id));
        }
    }

    [Test]
    public async Task WorkStartedInsideAScopeKeepsItsIdAfterTheScopeIsDisposed()
    {
        using var gate = new ManualResetEventSlim();
        Task<string?> background;
        using (CorrelationContext.Begin("fire-and-forget"))
        {
            background = Task.Run(() =>
            {
                gate.Wait(Timeout);
                return CorrelationContext.CurrentId;
            });
        }

        Assert.That(CorrelationContext.CurrentId, Is.Null);
        gate.Set();
        Assert.That(await background, Is.EqualTo("fire-and-forget"));
    }

    [Test]
    public async Task ANestedScopeInWorkThatOutlivesItsParentScopeRestoresTheInheritedId()
    {
        // Fire-and-forget work keeps the request's id after the request's scope is disposed; a nested scope it
        // begins and disposes must give that id back, not drop the work's events to no id at all.
        using var requestEnded = new ManualResetEventSlim();
        Task<string?> background;
        using (CorrelationContext.Begin("request"))
        {
            background = Task.Run(() =>
            {
                requestEnded.Wait(Timeout);
                using (CorrelationContext.Begin("sub-operation")) { }
                return CorrelationContext.CurrentId;
            });
        }

        requestEnded.Set();
        Assert.That(await background, Is.EqualTo("request"));
    }

    [Test]
    public async Task DisposingAnInheritedScopeInAChildFlowDoesNotStopTheOwnerFromRestoring()
    {
        using (CorrelationContext.Begin("outer"))
        {
            var scope = CorrelationContext.Begin("shared");
            var inChild = await Task.Run(() =>
            {
                scope.Dispose();
                return CorrelationContext.CurrentId;
            });

            Assert.That(inChild, Is.EqualTo("outer"));
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("shared"));
            scope.Dispose();
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
        }
    }

    [Test]
    public async Task WorkStartedInsideAScopeDisposedOutOfOrderStillRestoresItAfterANestedScope()
    {
        // The owner disposes its scopes in the wrong order. That concerns the owner's flow: work started inside the
        // outer scope before the inner one began still holds the outer id, and gets it back when a scope of its own ends.
        using var ownerDone = new ManualResetEventSlim();
        var outer = CorrelationContext.Begin("outer");
        var background = Task.Run(() =>
        {
            ownerDone.Wait(Timeout);
            using (CorrelationContext.Begin("sub-operation")) { }
            return CorrelationContext.CurrentId;
        });
        var inner = CorrelationContext.Begin("inner");
        outer.Dispose();
        inner.Dispose();
        Assert.That(CorrelationContext.CurrentId, Is.Null);

        ownerDone.Set();
        Assert.That(await background, Is.EqualTo("outer"));
    }

    [Test]
    public async Task AChildFlowDisposingAnInheritedScopeOutOfOrderDoesNotChangeWhatOtherFlowsRestore()
    {
        using var childDone = new ManualResetEventSlim();
        var shared = CorrelationContext.Begin("shared");
        var sibling = Task.Run(() =>
        {
            childDone.Wait(Timeout);
            using (CorrelationContext.Begin("sub-operation")) { }
            return CorrelationContext.CurrentId;
        });

        await Task.Run(() =>
        {
            var own = CorrelationContext.Begin("own");
            shared.Dispose();
            own.Dispose();
            Assert.That(CorrelationContext.CurrentId, Is.Null);
        });
        childDone.Set();

        Assert.That(await sibling, Is.EqualTo("shared"));
        Assert.That(CorrelationContext.CurrentId, Is.EqualTo("shared"));
        shared.Dispose();
        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void IsValidIdJudgesEveryCharacterByTheDocumentedRule()
    {
        static bool Rule(char c) =>
            c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.' or ':' or '+' or '/' or '=' or '@';

        var wrong = new List<int>();
        for (var c = 0; c <= char.MaxValue; c++)
        {
            var ch = (char)c;
            // Alone, and after a long valid run (the vectorised search handles both).
            if (CorrelationContext.IsValidId(ch.ToString()) != Rule(ch)) wrong.Add(c);
            if (CorrelationContext.IsValidId(new string('a', 40) + ch + "b") != Rule(ch)) wrong.Add(c);
        }

        Assert.That(wrong, Is.Empty);
    }

    [Test]
    public async Task AChildFlowDisposingAnInheritedOuterScopeOutOfOrderDoesNotChangeWhatTheStartingFlowRestores()
    {
        var outer = CorrelationContext.Begin("outer");
        var inner = CorrelationContext.Begin("inner");
        // The child holds "inner" inside "outer" as the starting flow does; its out-of-order disposal acts in the child only.
        await Task.Run(() =>
        {
            outer.Dispose();
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("inner"));
            inner.Dispose();
            Assert.That(CorrelationContext.CurrentId, Is.Null);
        });

        inner.Dispose();
        Assert.That(CorrelationContext.CurrentId, Is.EqualTo("outer"));
        outer.Dispose();
        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }
}
