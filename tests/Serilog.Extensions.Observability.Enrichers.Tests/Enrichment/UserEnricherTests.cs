using System.Security.Cryptography;
using System.Text;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Enrichment;

public class UserEnricherTests
{
    const string KeyA = "key-A-0123456789abcdef";
    const string KeyB = "key-B-0123456789abcdef";

    static LogEvent LogAs(string? userId, string? tenantId, string? sessionId, Func<LoggerConfiguration, LoggerConfiguration> configure)
    {
        using (UserContext.Begin(userId, tenantId, sessionId))
            return DelegatingSink.GetLogEvent(log => log.Information("Hi"), configure);
    }

    static string? Text(LogEvent evt, string name) => ((ScalarValue)evt.Properties[name]).Value as string;

    [Test]
    public void UserTenantAndSessionIdsAreWritten()
    {
        var evt = LogAs("alice", "acme", "s-9", c => c.Enrich.WithUser());

        Assert.That(Text(evt, "UserId"), Is.EqualTo("alice"));
        Assert.That(Text(evt, "TenantId"), Is.EqualTo("acme"));
        Assert.That(Text(evt, "SessionId"), Is.EqualTo("s-9"));
    }

    [Test]
    public void UnknownPartsAreLeftOut()
    {
        var evt = LogAs("alice", null, null, c => c.Enrich.WithUser());

        Assert.That(evt.Properties.Keys, Does.Contain("UserId"));
        Assert.That(evt.Properties.Keys, Has.None.AnyOf("TenantId", "SessionId"));
    }

    [Test]
    public void NothingIsWrittenOutsideAUserScope()
    {
        var evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithUser());

        Assert.That(evt.Properties.Keys, Has.None.AnyOf("UserId", "TenantId", "SessionId"));
    }

    [Test]
    public void AValueTheCallerSetWins()
    {
        LogEvent evt;
        using (UserContext.Begin("ambient", "t"))
            evt = DelegatingSink.GetLogEvent(log => log.ForContext("UserId", "explicit").Information("Hi"), c => c.Enrich.WithUser());

        Assert.That(Text(evt, "UserId"), Is.EqualTo("explicit"));
        Assert.That(Text(evt, "TenantId"), Is.EqualTo("t"));
    }

    [Test]
    public void APseudonymisedIdIsTheHmacSha256OfTheIdAsLowercaseHexAndNotTheRawId()
    {
        var evt = LogAs("alice", "acme", null, c => c.Enrich.WithUser(KeyA));

        var expected = Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(KeyA), Encoding.UTF8.GetBytes("alice"))).ToLowerInvariant();
        Assert.That(Text(evt, "UserId"), Is.EqualTo(expected));
        Assert.That(Text(evt, "UserId"), Does.Match("^[0-9a-f]{64}$"));
        Assert.That(Text(evt, "TenantId"), Is.EqualTo("acme"));
    }

    [Test]
    public void PseudonymisedIdsAreStableForTheSameKeyAcrossScopesAndLoggers()
    {
        var first = LogAs("alice", null, null, c => c.Enrich.WithUser(KeyA));
        var second = LogAs("alice", null, null, c => c.Enrich.WithUser(KeyA));

        Assert.That(Text(second, "UserId"), Is.EqualTo(Text(first, "UserId")));
    }

    [Test]
    public void PseudonymisedIdsDifferAcrossKeysAndAcrossUsers()
    {
        var aliceA = Text(LogAs("alice", null, null, c => c.Enrich.WithUser(KeyA)), "UserId");
        var aliceB = Text(LogAs("alice", null, null, c => c.Enrich.WithUser(KeyB)), "UserId");
        var bobA = Text(LogAs("bob", null, null, c => c.Enrich.WithUser(KeyA)), "UserId");

        Assert.That(aliceB, Is.Not.EqualTo(aliceA));
        Assert.That(bobA, Is.Not.EqualTo(aliceA));
    }

    [Test]
    public void TwoLoggersWithDifferentKeysInOneScopeEachUseTheirOwnKey()
    {
        var sinkA = new CollectingSink();
        var sinkB = new CollectingSink();
        using var a = new LoggerConfiguration().Enrich.WithUser(KeyA).WriteTo.Sink(sinkA).CreateLogger();
        using var b = new LoggerConfiguration().Enrich.WithUser(KeyB).WriteTo.Sink(sinkB).CreateLogger();
        using (UserContext.Begin("alice"))
        {
            a.Information("1");
            b.Information("2");
            a.Information("3");
        }

        Assert.That(Text(sinkA.Events[0], "UserId"), Is.EqualTo(Text(sinkA.Events[1], "UserId")));
        Assert.That(Text(sinkB.SingleEvent, "UserId"), Is.Not.EqualTo(Text(sinkA.Events[0], "UserId")));
    }

    [TestCase("")]
    [TestCase("too-short")]
    [TestCase("0123456789abcde")]
    public void AKeyShorterThan16BytesIsAConfigurationErrorNotSilentlyIgnored(string key)
    {
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().Enrich.WithUser(key));
        Assert.That(ex!.ParamName, Is.EqualTo("pseudonymKey"));
    }

    [TestCase("%USER_PSEUDONYMIZATION_KEY%")]
    [TestCase(" %SERILOG_USER_ID_HASH_KEY% ")]
    public void AKeyThatIsAnUnexpandedEnvironmentVariableIsAConfigurationError(string key)
    {
        // Serilog.Settings.Configuration expands %NAME% only when NAME is set: otherwise the placeholder itself,
        // text anyone who reads the configuration knows, would become the secret key.
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().Enrich.WithUser(key));
        Assert.That(ex!.ParamName, Is.EqualTo("pseudonymKey"));
        Assert.That(ex.Message, Does.Contain("environment variable"));
    }

    [TestCase("%leading-percent-but-a-real-secret")]
    [TestCase("a-secret-with-%-inside-it-%")]
    [TestCase("%two%variables-are-not-one%")]
    public void AKeyWithPercentSignsThatIsNotAPlaceholderIsAccepted(string key)
    {
        Assert.DoesNotThrow(() => new LoggerConfiguration().Enrich.WithUser(key));
    }

    [Test]
    public void EventsInTheSameScopeShareTheirPropertyValues()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithUser(KeyA).WriteTo.Sink(sink).CreateLogger();
        using (UserContext.Begin("alice", "acme", "s"))
        {
            logger.Information("One");
            logger.Information("Two");
        }

        var events = sink.Events;
        foreach (var name in new[] { "UserId", "TenantId", "SessionId" })
            Assert.That(events[1].Properties[name], Is.SameAs(events[0].Properties[name]), name);
    }

    [Test]
    public void AKeyedUserEnricherReplacesTheCurrentUsersClearIdAnUnkeyedOneAddedFirst()
    {
        // WithObservability() adds an unkeyed WithUser(); a keyed one configured after it must still pseudonymise,
        // also for an identity resolved anew for each event and for the first events of concurrent flows.
        var keyedOnly = Text(LogAs("alice", null, null, c => c.Enrich.WithUser(pseudonymKey: KeyA)), "UserId");
        Assert.That(keyedOnly, Is.Not.EqualTo("alice"));
        Assert.That(Text(LogAs("alice", null, null, c => c.Enrich.WithUser().Enrich.WithUser(pseudonymKey: KeyA)), "UserId"), Is.EqualTo(keyedOnly));

        LogEvent deferred;
        using (UserContext.BeginDeferred(() => new UserIdentity("alice")))
            deferred = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithUser().Enrich.WithUser(pseudonymKey: KeyA));
        Assert.That(Text(deferred, "UserId"), Is.EqualTo(keyedOnly));

        LogEvent own;
        using (UserContext.Begin("alice"))
            own = DelegatingSink.GetLogEvent(log => log.Information("Deleted {UserId}", "bob"), c => c.Enrich.WithUser().Enrich.WithUser(pseudonymKey: KeyA));
        Assert.That(Text(own, "UserId"), Is.EqualTo("bob"), "another user's id the event brings itself is the event's");
    }

    [TestCase(42)]
    [TestCase(42L)]
    public void AKeyedUserEnricherReplacesTheCurrentUsersIdLoggedAsANumber(object loggedId)
    {
        // Ids are often numbers in the application ("Order placed by {UserId}", user.Id) and text in the scope
        // (claims are strings): the current user's id is then the same id, and must not be written in clear.
        LogEvent evt;
        using (UserContext.Begin("42"))
            evt = DelegatingSink.GetLogEvent(log => log.Information("Order placed by {UserId}", loggedId), c => c.Enrich.WithUser(pseudonymKey: KeyA));

        Assert.That(evt.Properties["UserId"], Is.EqualTo(new ScalarValue(Pseudonym(KeyA, "42"))));
    }

    [TestCase("3f2504e0-4f89-41d3-9a0c-0305e82c3301")]
    [TestCase("3F2504E0-4F89-41D3-9A0C-0305E82C3301")]
    public void AKeyedUserEnricherReplacesTheCurrentUsersIdLoggedAsAGuid(string scopeId)
    {
        var loggedId = Guid.Parse("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
        LogEvent evt;
        using (UserContext.Begin(scopeId))
            evt = DelegatingSink.GetLogEvent(log => log.ForContext("UserId", loggedId).Information("Hi"), c => c.Enrich.WithUser(pseudonymKey: KeyA));

        Assert.That(evt.Properties["UserId"], Is.EqualTo(new ScalarValue(Pseudonym(KeyA, scopeId))));
    }

    [Test]
    public void AKeyedUserEnricherKeepsAnotherUsersIdLoggedAsANumber()
    {
        LogEvent evt;
        using (UserContext.Begin("42"))
            evt = DelegatingSink.GetLogEvent(log => log.Information("Deleted {UserId}", 43), c => c.Enrich.WithUser(pseudonymKey: KeyA));

        Assert.That(evt.Properties["UserId"], Is.EqualTo(new ScalarValue(43)), "another user's id the event brings itself is the event's");
    }

    static string Pseudonym(string key, string userId) =>
        Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(userId))).ToLowerInvariant();

    [TestCase("bob")]
    [TestCase(null)]
    public void AKeyedUserEnricherNeverLeavesTheClearIdOfAUserThatChangedAfterTheUnkeyedOneReadIt(string? secondAnswer)
    {
        // A deferred identity read by each enricher in turn may change in between (another thread re-authenticates,
        // signs out): the unkeyed enricher wrote alice in clear, the keyed one then resolves bob, or nobody.
        var answers = new[] { new UserIdentity("alice", "acme"), secondAnswer is null ? null : new UserIdentity(secondAnswer, "globex") };
        var calls = 0;
        LogEvent evt;
        using (UserContext.BeginDeferred(() => answers[calls++ % 2]))
            evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.Enrich.WithUser().Enrich.WithUser(pseudonymKey: KeyA));

        Assert.That(calls, Is.EqualTo(2), "each enricher resolved the user once");
        Assert.That(Text(evt, "UserId"), Is.EqualTo(Pseudonym(KeyA, "alice")), "the event's one user, as the unkeyed enricher found it, pseudonymised");
        Assert.That(Text(evt, "TenantId"), Is.EqualTo("acme"));
    }

    [Test]
    public void UnderConcurrentChangesOfADeferredUserNoClearIdIsWrittenAndEachEventKeepsOneUser()
    {
        // Four threads log through one deferred scope whose answer moves on with every read, so the two enrichers of one
        // event see different users whenever threads interleave (and always on one thread).
        const int Users = 8;
        const int Threads = 4;
        const int EventsPerThread = 5_000;
        var identities = new UserIdentity[Users];
        var tenantToPseudonym = new Dictionary<string, string>();
        for (var i = 0; i < Users; i++)
        {
            identities[i] = new UserIdentity("user-" + i, "tenant-" + i);
            tenantToPseudonym["tenant-" + i] = Pseudonym(KeyA, "user-" + i);
        }

        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Enrich.WithUser().Enrich.WithUser(pseudonymKey: KeyA).WriteTo.Sink(sink).CreateLogger();
        var reads = 0;
        using (UserContext.BeginDeferred(() => identities[(int)((uint)Interlocked.Increment(ref reads) % Users)]))
        {
            var threads = new Thread[Threads];
            for (var t = 0; t < Threads; t++)
            {
                threads[t] = new Thread(() =>
                {
                    for (var n = 0; n < EventsPerThread; n++) logger.Information("Event {N}", n);
                });
                threads[t].Start();
            }
            foreach (var thread in threads) thread.Join();
        }

        var events = sink.Events;
        Assert.That(events, Has.Count.EqualTo(Threads * EventsPerThread));
        var mixed = 0;
        foreach (var evt in events)
        {
            var userId = Text(evt, "UserId")!;
            Assert.That(userId, Does.Not.StartWith("user-"), "a clear user id was written");
            if (!string.Equals(tenantToPseudonym[Text(evt, "TenantId")!], userId, StringComparison.Ordinal)) mixed++;
        }
        Assert.That(mixed, Is.Zero, "events whose UserId is another user's than their TenantId");
    }
}
