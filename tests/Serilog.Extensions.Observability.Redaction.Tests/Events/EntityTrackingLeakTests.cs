using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// Entity Framework Core's change tracking and value generation events with <c>EnableSensitiveDataLogging()</c> write an
/// entity property's values beside its name (<c>The unchanged property '{entityType}.{property}' was detected as changed
/// from '{oldValue}' to '{newValue}'</c>), and an entity's key values as <c>{Token: abc}</c>, also in exception messages.
/// With <c>DetectEmbeddedCredentials</c>, the values of a property with a sensitive name are masked; its name and the
/// values of other properties stay readable. The templates are EF Core 10's (CoreResources).
/// </summary>
public class EntityTrackingLeakTests
{
    const string PropertyChangeDetected =
        "The unchanged property '{entityType}.{property}' was detected as changed from '{oldValue}' to '{newValue}' and will be marked as modified for entity with key '{keyValues}'.";
    const string ForeignKeyChangeDetected =
        "The foreign key property '{entityType}.{property}' was detected as changed from '{oldValue}' to '{newValue}' for entity with key '{keyValues}'.";
    const string ComplexPropertyChangeDetected =
        "The unchanged property '{typePath}.{property}' was detected as changed from '{oldValue}' to '{newValue}' and will be marked as modified for entity with key '{keyValues}'.";
    const string ValueGenerated = "'{contextType}' generated value '{keyValue}' for the property '{entityType}.{property}'.";
    const string StartedTracking = "Context '{contextType}' started tracking '{entityType}' entity with key '{keyValues}'.";
    const string StateChanged = "The '{entityType}' entity with key '{keyValues}' tracked by '{contextType}' changed from '{oldState}' to '{newState}'.";
    const string CascadeDeleteOrphan =
        "'{entityType}' entity with key '{keyValues}' changed to '{state}' state due to severed required relationship to parent '{parentType}' entity.";
    const string CascadeDelete =
        "A cascade state change of an entity of type '{entityType}' with key '{keyValues}' to '{state}' occurred due to the deletion of its parent entity of type '{parentType}' with key '{parentKeyValues}'.";

    const string Mask = RedactionOptions.DefaultMask;

    static string Log(string template, params object?[] values) => Log(true, template, null, values);

    static string Log(bool detect, string template, Exception? exception, params object?[] values)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .MinimumLevel.Verbose()
                   .WriteTo.Redacted(s => s.Sink(sink), r => r.DetectEmbeddedCredentials = detect)
                   .CreateLogger())
        {
            // Twice: the second event of a template takes the cached route.
            for (var i = 0; i < 2; i++) logger.Debug(exception, template, values);
        }
        return Output.Render(sink.Events);
    }

    [Test]
    public void TheOldAndNewValuesOfASensitivePropertyDetectedAsChangedAreMasked()
    {
        var text = Log(PropertyChangeDetected, "User", "Password", "pw-secret-1", "pw-secret-2", "{Id: 1}");

        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain($"\"property\":\"Password\",\"oldValue\":\"{Mask}\",\"newValue\":\"{Mask}\",\"keyValues\":\"{{Id: 1}}\""));
        Assert.That(text, Does.Contain($"The unchanged property 'User.Password' was detected as changed from '{Mask}' to '{Mask}'"));
    }

    [Test]
    public void AForeignKeyAComplexTypesPropertyAndAGeneratedValueOfASensitivePropertyAreMasked()
    {
        var guid = Guid.NewGuid();
        var text = Log(ForeignKeyChangeDetected, "Login", "SessionToken", "tok-secret-1", "tok-secret-2", "{Id: 1}")
                   + Log(ComplexPropertyChangeDetected, "User.Credentials#Credentials", "ClientSecret", "cs-secret-3", "cs-secret-4", "{Id: 1}")
                   + Log(ValueGenerated, "AuthContext", guid, "Account", "ResetToken");

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("secret-").And.Not.Contain(guid.ToString()));
            Assert.That(text, Does.Contain($"\"keyValue\":\"{Mask}\",\"entityType\":\"Account\",\"property\":\"ResetToken\""));
        });
    }

    [Test]
    public void EveryValueOfAPropertyOfAnEntityTypeWithASensitiveNameIsMasked()
    {
        // ASP.NET Core Identity keeps an authenticator key and recovery codes in IdentityUserToken<string>.Value.
        var text = Log(PropertyChangeDetected, "IdentityUserToken<string>", "Value", "ak-secret-1", "ak-secret-2",
            "{UserId: u-1, LoginProvider: [AspNetUserStore], Name: AuthenticatorKey}");

        Assert.That(text, Does.Not.Contain("secret-"));
        // Its key values too, value by value: which of them holds a secret the names do not say (an ApiKey keyed by its
        // Value), so all are masked and the names kept, as every value of a statement on a sensitive table is.
        Assert.That(text, Does.Contain($"\"keyValues\":\"{{UserId: {Mask}, LoginProvider: {Mask}, Name: {Mask}}}\""));
    }

    [Test]
    public void TheValuesOfPropertiesWhoseNamesAreNotSensitiveStayReadable()
    {
        var text = Log(PropertyChangeDetected, "User", "Name", "ann", "anna", "{Id: 1}")
                   + Log(ValueGenerated, "AuthContext", -2147482647, "Session", "AccountId");

        Assert.That(text, Does.Contain("\"property\":\"Name\",\"oldValue\":\"ann\",\"newValue\":\"anna\"").And.Contain("\"keyValue\":-2147482647"));
        Assert.That(text, Does.Not.Contain(Mask));
    }

    [Test]
    public void ASensitiveKeyPropertysValueIsMaskedInEveryEventThatWritesTheKey()
    {
        var text = Log(StartedTracking, "AuthContext", "Session", "{Token: tok-secret-1}")
                   + Log(CascadeDelete, "Grant", "{UserId: 7, RefreshToken: rt-secret-2, Issued: 2026-11-23 10:00:00}", "Deleted", "Session",
                       "{Token: tok-secret-3}")
                   + Log(PropertyChangeDetected, "Session", "Expires", "2026-11-23", "2026-11-24", "{Token: tok-secret-4}");

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("secret-"));
            Assert.That(text, Does.Contain($"\"keyValues\":\"{{Token: {Mask}}}\""));
            Assert.That(text, Does.Contain($"\"keyValues\":\"{{UserId: 7, RefreshToken: {Mask}, Issued: 2026-11-23 10:00:00}}\""));
            Assert.That(text, Does.Contain($"\"parentKeyValues\":\"{{Token: {Mask}}}\""));
            Assert.That(text, Does.Contain("\"oldValue\":\"2026-11-23\",\"newValue\":\"2026-11-24\""));
        });
    }

    [Test]
    public void ASensitiveKeyValueQuotedInAnExceptionsMessageIsMasked()
    {
        var error = new InvalidOperationException(
            "The instance of entity type 'Session' cannot be tracked because another instance with the key value " +
            "'{Token: tok-secret-1}' is already being tracked. When attaching existing entities, ensure that only one entity " +
            "instance with a given key value is attached.");
        var other = new InvalidOperationException(
            "The instance of entity type 'User' cannot be tracked because another instance with the key value '{Id: 1}' is already being tracked.");

        var text = Log(true, "Could not attach", error) + Log(true, "Could not attach", other);

        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain($"another instance with the key value '{{Token: {Mask}}}' is already being tracked"));
        Assert.That(text, Does.Contain("another instance with the key value '{Id: 1}' is already being tracked"));
    }

    [Test]
    public void WithoutTheDetectorTheValuesAreWrittenAsTheyAre()
    {
        // DetectEmbeddedCredentials is the opt-in this belongs to (AddObservability and WithObservability turn it on).
        var text = Log(false, PropertyChangeDetected, null, "User", "Password", "visible-1", "visible-2", "{Token: visible-3}");

        Assert.That(text, Does.Contain("visible-1").And.Contain("visible-2").And.Contain("visible-3"));
    }

    [Test]
    public void TextThatOnlyLooksLikeAKeyValueListIsKept()
    {
        var text = Log("Settings {Settings} and {Note}", "{Token: }", "see '{Secret: x' and {Password: y} in the docs");

        Assert.That(text, Does.Contain("\"Settings\":\"{Token: }\"").And.Contain("{Password: y} in the docs"));
    }

    // A generic entity type (ASP.NET Core Identity's) is named with its type arguments, which are not looked at.
    // Also with the two templates' first sightings in one slot of the memo of templates (which a run's identity hashes
    // decide): each forgot the other, so neither was kept and every event read its template anew (1,428 B an event).
    [TestCase("User", false), NonParallelizable]
    [TestCase("IdentityUserRole<string>", false)]
    [TestCase("User", true)]
    [TestCase("IdentityUserRole<string>", true)]
    public void AChangeTrackingEventWithNothingToMaskAllocatesNothing(string entityType, bool firstSightingsShareASlot)
    {
        // EF Core formats the key values (and the entity gives the values) anew for every event: each event here holds
        // its own copies, so the redactor's memo of strings it found clean (by instance) never answers for them and
        // every event's key values are read. With one instance for all events the result depended on that memo: it
        // forgets a string whose slot another string of the event shares, as the identity hashes fell in some runs.
        static string Copy(string text) => new(text.AsSpan());
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        var parser = new Parsing.MessageTemplateParser();
        var (template, trackingTemplate) = firstSightingsShareASlot
            ? Keys.SafeTemplateNamesTests.SharingASightingSlot(redactor.CredentialHoles!.Seen, parser, PropertyChangeDetected, StartedTracking)
            : (parser.Parse(PropertyChangeDetected), parser.Parse(StartedTracking));
        LogEvent Changed() => new(DateTimeOffset.UnixEpoch, LogEventLevel.Debug, null, template, new[]
        {
            new LogEventProperty("entityType", new ScalarValue(Copy(entityType))),
            new LogEventProperty("property", new ScalarValue("Name")),
            new LogEventProperty("oldValue", new ScalarValue(Copy("ann"))),
            new LogEventProperty("newValue", new ScalarValue(Copy("anna"))),
            new LogEventProperty("keyValues", new ScalarValue(Copy("{Id: 1}"))),
        });
        // Key values beside an entity type that is not sensitive, in a template without a property's values.
        LogEvent Tracking() => new(DateTimeOffset.UnixEpoch, LogEventLevel.Debug, null, trackingTemplate, new[]
        {
            new LogEventProperty("contextType", new ScalarValue("AuthContext")),
            new LogEventProperty("entityType", new ScalarValue(Copy(entityType))),
            new LogEventProperty("keyValues", new ScalarValue(Copy("{Id: 1}"))),
        });
        var events = Enumerable.Range(0, 1000).SelectMany(_ => new[] { Changed(), Tracking() }).ToArray();
        var sink = new RedactingSink(new DelegatingSink(_ => { }), redactor);

        for (var i = 0; i < 200; i++) sink.Emit(events[i]);
        // The least of three rounds: an allocation per event shows in every round, a one-time one of the runtime's in one.
        var least = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var logEvent in events) sink.Emit(logEvent);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.That(least, Is.EqualTo(0));
    }

    [Test]
    public void EveryKeyValueOfAnEntityTypeWithASensitiveNameIsMaskedWhateverThePropertysName()
    {
        // An ApiKey entity keyed by its Value: the key is the secret, under a name that says nothing.
        var text = Log(StartedTracking, "AuthContext", "ApiKey", "{Value: ak-secret-1}")
                   + Log(StateChanged, "ApiKey", "{Value: ak-secret-2, Issuer: acme}", "AuthContext", "Unchanged", "Deleted")
                   + Log(CascadeDeleteOrphan, "ApiKey", "{Value: ak-secret-3}", "Deleted", "User")
                   + Log(PropertyChangeDetected, "ApiKey", "Expires", "2026-11-23", "2026-11-24", "{Value: ak-secret-4}")
                   + Log(CascadeDelete, "Grant", "{Id: 7}", "Deleted", "ApiKey", "{Value: ak-secret-5}");

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("secret-"));
            Assert.That(text, Does.Contain($"\"keyValues\":\"{{Value: {Mask}}}\""));
            Assert.That(text, Does.Contain($"\"keyValues\":\"{{Value: {Mask}, Issuer: {Mask}}}\""));
            // The other entity's key is its own: Grant's is kept beside its parent ApiKey's.
            Assert.That(text, Does.Contain($"\"keyValues\":\"{{Id: 7}}\",\"state\":\"Deleted\",\"parentType\":\"ApiKey\",\"parentKeyValues\":\"{{Value: {Mask}}}\""));
        });
    }

    [Test]
    public void EveryKeyValueOfAnEntityTypeWithASensitiveNameIsMaskedInAnExceptionsMessage()
    {
        var conflict = new InvalidOperationException(
            "The instance of entity type 'ApiKey' cannot be tracked because another instance with the key value " +
            "'{Value: ak-secret-1}' is already being tracked. When attaching existing entities, ensure that only one entity " +
            "instance with a given key value is attached.");
        var generic = new InvalidOperationException(
            "The instance of entity type 'IdentityUserToken<string>' cannot be tracked because another instance with the key value " +
            "'{UserId: u-1, LoginProvider: ak-secret-2, Name: AuthenticatorKey}' is already being tracked.");
        // The type quoted last before the key is the key's: the second of two entities.
        var severed = new InvalidOperationException(
            "The association between entities 'User' and 'ApiKey' with the key value '{Value: ak-secret-3}' has been severed, but the " +
            "relationship is either marked as required or is implicitly required because the foreign key is not nullable.");
        var other = new InvalidOperationException(
            "The instance of entity type 'User' cannot be tracked because another instance with the key value '{Id: 1, Value: 2}' is already being tracked.");
        // A type quoted in an earlier sentence is not the key's.
        var earlier = new InvalidOperationException("Loaded 'ApiKey'. Then another instance with the key value '{Id: 3, Value: 4}' was found.");

        var text = Log(true, "Could not attach", conflict) + Log(true, "Could not attach", generic) + Log(true, "Could not attach", severed) +
                   Log(true, "Could not attach", other) + Log(true, "Could not attach", earlier);

        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain($"another instance with the key value '{{Value: {Mask}}}' is already being tracked"));
        Assert.That(text, Does.Contain($"'{{UserId: {Mask}, LoginProvider: {Mask}, Name: {Mask}}}'"));
        Assert.That(text, Does.Contain("another instance with the key value '{Id: 1, Value: 2}' is already being tracked"));
        Assert.That(text, Does.Contain("the key value '{Id: 3, Value: 4}' was found"));
    }

    [Test]
    public void AKeyValueOfAnEntityTypeWithASensitiveNameHasOnePseudonymWhetherOneOrTwoPassesRun()
    {
        // AddObservability() runs the enricher and the sink wrapper with the same rules: the second pass leaves the
        // first one's key values as they are, so a value has the pseudonym it has under a sensitive property name.
        string Write(bool bothPasses, Action<ILogger> write)
        {
            var properties = CredentialPass.WithPseudonyms(bothPasses, write).Properties;
            return properties.TryGetValue("keyValues", out var keyValues) ? keyValues.ToString() : properties["ApiKey"].ToString();
        }

        var pseudonym = Write(false, l => l.Information("{ApiKey}", "ak-secret-1")).Trim('"');
        var once = Write(false, l => l.Debug(StartedTracking, "AuthContext", "ApiKey", "{Value: ak-secret-1}"));
        var twice = Write(true, l => l.Debug(StartedTracking, "AuthContext", "ApiKey", "{Value: ak-secret-1}"));

        Assert.That(pseudonym, Does.StartWith("k1:"));
        Assert.That(once, Is.EqualTo($"\"{{Value: {pseudonym}}}\""));
        Assert.That(twice, Is.EqualTo(once));
    }
}
