using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Context;

public class UserContextTests
{
    [Test]
    public void OutsideAnyScopeThereIsNoCurrentUser()
    {
        Assert.That(UserContext.Current, Is.Null);
    }

    [Test]
    public void BeginMakesTheIdentityCurrentAndDisposeRestoresNone()
    {
        using (UserContext.Begin("alice", "acme", "s-1"))
        {
            var current = UserContext.Current;
            Assert.That(current, Is.Not.Null);
            Assert.That(current!.UserId, Is.EqualTo("alice"));
            Assert.That(current.TenantId, Is.EqualTo("acme"));
            Assert.That(current.SessionId, Is.EqualTo("s-1"));
        }

        Assert.That(UserContext.Current, Is.Null);
    }

    [Test]
    public void NestedScopesRestoreThePreviousIdentity()
    {
        using (UserContext.Begin("alice", "acme"))
        {
            using (UserContext.Begin("bob"))
            {
                Assert.That(UserContext.Current!.UserId, Is.EqualTo("bob"));
                Assert.That(UserContext.Current.TenantId, Is.Null);
            }

            Assert.That(UserContext.Current!.UserId, Is.EqualTo("alice"));
        }
    }

    [Test]
    public void AnInnerScopeWithNoUserHidesTheOuterUser()
    {
        using (UserContext.Begin("alice"))
        using (UserContext.Begin(null))
        {
            Assert.That(UserContext.Current, Is.Not.Null);
            Assert.That(UserContext.Current!.UserId, Is.Null);
        }
    }

    [Test]
    public void OutOfOrderDisposalLeavesTheInnerIdentityCurrentThenRestoresNone()
    {
        var outer = UserContext.Begin("outer");
        var inner = UserContext.Begin("inner");

        outer.Dispose();
        Assert.That(UserContext.Current!.UserId, Is.EqualTo("inner"));
        inner.Dispose();
        Assert.That(UserContext.Current, Is.Null);
    }

    [Test]
    public async Task ANestedScopeInWorkThatOutlivesItsParentScopeRestoresTheInheritedIdentity()
    {
        using var requestEnded = new ManualResetEventSlim();
        Task<UserIdentity?> background;
        using (UserContext.Begin("alice", "acme"))
        {
            background = Task.Run(() =>
            {
                requestEnded.Wait(TimeSpan.FromSeconds(10));
                using (UserContext.Begin("system")) { }
                return UserContext.Current;
            });
        }

        requestEnded.Set();
        var identity = await background;
        Assert.That(identity?.UserId, Is.EqualTo("alice"));
        Assert.That(identity?.TenantId, Is.EqualTo("acme"));
    }

    [Test]
    public async Task TheIdentityFlowsThroughAwaitAndTaskRunButNotIntoEarlierWork()
    {
        using var gate = new ManualResetEventSlim();
        var unrelated = Task.Run(() =>
        {
            gate.Wait(TimeSpan.FromSeconds(10));
            return UserContext.Current;
        });

        using (UserContext.Begin("carol", "globex"))
        {
            gate.Set();
            await Task.Yield();
            var inTask = await Task.Run(() => UserContext.Current);
            Assert.That(inTask!.UserId, Is.EqualTo("carol"));
            Assert.That(await unrelated, Is.Null);
        }
    }

    [Test]
    public void CorrelationAndUserScopesAreIndependent()
    {
        using (CorrelationContext.Begin("c-1"))
        {
            using (UserContext.Begin("dave"))
            {
                Assert.That(CorrelationContext.CurrentId, Is.EqualTo("c-1"));
            }

            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("c-1"));
            Assert.That(UserContext.Current, Is.Null);
        }
    }

    [Test, NonParallelizable]
    public void ScopesBegunPerMessageAndNeverDisposedDoNotPileUpWithoutEnd()
    {
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            CorrelationContextTests.InOwnFlow(() =>
            {
                for (var i = 0; i < 100_000; i++) UserContext.Begin("user-" + i, "tenant-" + (i % 7));

                Assert.That(UserContext.Current?.UserId, Is.EqualTo("user-99999"));
                Assert.That(Enrichers.Context.UserScope.Current!.Depth, Is.LessThanOrEqualTo(Enrichers.Context.UserScope.MaxDepth));
            });
        }

        Assert.That(selfLog, Has.Exactly(1).Contains("UserScope: more than 1024 scopes are nested in one flow"));
    }

    [Test, NonParallelizable]
    public void ADeferredResolverThatThrowsGivesNoUserAndIsReportedInsteadOfThrowingIntoTheCaller()
    {
        var selfLog = new List<string>();
        Serilog.Extensions.Observability.Enrichers.Context.UserScope.ResolverReport.Reset();
        using var _ = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog);
        using (UserContext.Begin("outer"))
        using (UserContext.BeginDeferred(() => throw new InvalidOperationException("claims failed")))
        {
            UserIdentity? current = null;
            Assert.DoesNotThrow(() => current = UserContext.Current);
            Assert.That(current, Is.Null, "as for a resolver that returns none");
        }

        Assert.That(selfLog, Has.Some.Contains("claims failed"));
    }

    [Test]
    public void ADeferredResolverThatReadsTheCurrentUserSeesTheEnclosingOneInsteadOfRecursing()
    {
        var depth = 0;
        using (UserContext.Begin("outer"))
        using (UserContext.BeginDeferred(() =>
               {
                   // Capped, so that a regression fails the test instead of overflowing the stack.
                   if (++depth > 5) return new UserIdentity("recursed");
                   return UserContext.Current is { } enclosing ? new UserIdentity(enclosing.UserId + "-derived") : null;
               }))
        {
            Assert.That(UserContext.Current?.UserId, Is.EqualTo("outer-derived"));
        }
    }

    [Test]
    public void NestedDeferredScopesWhoseResolversReadTheCurrentUserEndInsteadOfRecursing()
    {
        // The inner resolver reads the outer scope's user, whose resolver reads the current user: the inner scope again.
        var calls = 0;
        UserIdentity? Derive(string suffix) =>
            ++calls > 50 ? new UserIdentity("recursed") : UserContext.Current is { } enclosing ? new UserIdentity(enclosing.UserId + suffix) : null;
        using (UserContext.Begin("root"))
        using (UserContext.BeginDeferred(() => Derive("-outer")))
        using (UserContext.BeginDeferred(() => Derive("-inner")))
        {
            Assert.That(UserContext.Current?.UserId, Is.EqualTo("root-outer-inner"));
            Assert.That(calls, Is.EqualTo(2));
        }
    }
}
