using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Events;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// The event pass's caches (known-safe name instances, per-template expected names) give the rules' answers: a cached
/// answer never lets a sensitive name through, whatever string instance carries it, whatever the rules of another
/// redactor said, on any thread, and the caches stay bounded.
/// </summary>
public class EventPassCacheTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static Redactor Defaults() => RedactorFactory.Create(new RedactionOptions());

    /// <summary>A copy with the same text that is not the same instance (literals and parsed names are shared or interned).</summary>
    static string Fresh(string text) => new(text.AsSpan());

    static LogEvent Event(MessageTemplate template, params (string Name, object? Value)[] properties)
    {
        var list = new List<LogEventProperty>();
        foreach (var (name, value) in properties) list.Add(new LogEventProperty(name, value as LogEventPropertyValue ?? new ScalarValue(value)));
        return new LogEvent(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, template, list);
    }

    static Dictionary<string, LogEventPropertyValue?> Changes(Redactor redactor, LogEvent logEvent)
    {
        var result = new Dictionary<string, LogEventPropertyValue?>();
        foreach (var change in EventRedaction.CollectChanges(redactor, logEvent) ?? new List<LogEventProperty>()) result[change.Name] = change.Value;
        return result;
    }

    static string? Masked(Redactor redactor, LogEvent logEvent, string name) =>
        Changes(redactor, logEvent).TryGetValue(name, out var value) ? (value as ScalarValue)?.Value as string : null;

    [Test]
    public void TheStructureEndTableAgreesWithTheCharacterRulesForEveryCharacter()
    {
        for (var c = char.MinValue; ; c++)
        {
            var expected = c is '}' or ']' or '\u2026' || char.IsWhiteSpace(c);
            if (Redactor.EndsLikeStructure(c) != expected) Assert.Fail($"U+{(int)c:X4}: expected {expected}");
            if (c == char.MaxValue) break;
        }
    }

    [Test]
    public void APlainScalarIsOneWithNothingToLookInto()
    {
        var redactor = Defaults();
        Assert.That(redactor.IsPlainScalar(new ScalarValue(42)), Is.True);
        Assert.That(redactor.IsPlainScalar(new ScalarValue(null)), Is.True);
        Assert.That(redactor.IsPlainScalar(new ScalarValue("ann")), Is.True);
        Assert.That(redactor.IsPlainScalar(new ScalarValue("x")), Is.True);
        Assert.That(redactor.IsPlainScalar(new ScalarValue("{\"a\":1}")), Is.False);
        Assert.That(redactor.IsPlainScalar(new ScalarValue("[1, 2]")), Is.False);
        Assert.That(redactor.IsPlainScalar(new ScalarValue("trailing\u00A0")), Is.False);
        Assert.That(redactor.IsPlainScalar(new StructureValue(Array.Empty<LogEventProperty>())), Is.False);
        Assert.That(redactor.IsPlainScalar(new Serilog.Extensions.Observability.Redaction.Masking.RedactedValue("x")), Is.False);
        // With JSON parsing off or limited, text that may be a record's or a pair's is still looked into, up to the
        // structured-text limit; beyond it a string is plain.
        Assert.That(RedactorFactory.Create(new RedactionOptions { MaximumJsonLength = 0 }).IsPlainScalar(new ScalarValue("{}")), Is.False);
        Assert.That(RedactorFactory.Create(new RedactionOptions { MaximumJsonLength = 4 }).IsPlainScalar(new ScalarValue("{\"a\"}")), Is.False);
        Assert.That(RedactorFactory.Create(new RedactionOptions { MaximumJsonLength = 4 }).IsPlainScalar(new ScalarValue(new string('x', Redactor.StructuredTextLimit) + "}")), Is.True);
        Assert.That(RedactorFactory.Create(new RedactionOptions { MaximumJsonLength = 4 }).IsPlainScalar(new ScalarValue("[12]")), Is.False);
        // With detectors, a text is plain only when it holds none of their anchors ("eyJ" for a JWT); see DetectorAnchorTests.
        Assert.That(RedactorFactory.Create(new RedactionOptions { DetectJwts = true }).IsPlainScalar(new ScalarValue("ann")), Is.True);
        Assert.That(RedactorFactory.Create(new RedactionOptions { DetectJwts = true }).IsPlainScalar(new ScalarValue("eyJann")), Is.False);
        Assert.That(RedactorFactory.Create(new RedactionOptions { DetectCardNumbers = true }).IsPlainScalar(new ScalarValue("ann")), Is.False);
        Assert.That(RedactorFactory.Create(new RedactionOptions { DetectCardNumbers = true }).IsPlainScalar(new ScalarValue(42)), Is.False);
    }

    [Test]
    public void ANameFoundSafeIsKnownByInstanceOnly()
    {
        var keys = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        var name = Fresh("OrderId");
        Assert.That(keys.IsKnownSafeName(name), Is.False);
        Assert.That(keys.IsSensitivePropertyName(name), Is.False);
        Assert.That(keys.IsKnownSafeName(name), Is.True);
        Assert.That(keys.IsKnownSafeName(Fresh("OrderId")), Is.False, "another instance with the same text goes to the rules");
    }

    [Test]
    public void ASensitiveNameIsNeverKnownSafe()
    {
        var keys = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        foreach (var text in new[] { "Password", "api_key", "session_token", "Authorization" })
        {
            var name = Fresh(text);
            for (var i = 0; i < 3; i++) Assert.That(keys.IsSensitivePropertyName(name), Is.True, text);
            Assert.That(keys.IsKnownSafeName(name), Is.False, text);
        }
    }

    [Test]
    public void EmptyAndLongNamesAreNeverKnownSafe()
    {
        var keys = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        var longName = Fresh(new string('a', KeyMatcher.MaximumSafeNameLength + 1));
        Assert.That(keys.IsSensitivePropertyName(longName), Is.False);
        Assert.That(keys.IsKnownSafeName(longName), Is.False);
        Assert.That(keys.IsKnownSafeName(""), Is.False);
        Assert.That(keys.IsSensitivePropertyName(""), Is.False);
    }

    [Test]
    public void ATemplatesExpectedNamesAreItsOwnInstancesInOrderUpToTheFirstSensitiveOne()
    {
        var names = new SafeTemplateNames(new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>()));
        var template = new MessageTemplateParser().Parse("{Id} {Name} {Id} {Password} {Host}");
        var tokens = template.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();
        Assert.That(names.For(template), Is.Empty, "seen once: the per-name route, nothing kept");
        var expected = names.For(template);
        Assert.That(expected, Has.Length.EqualTo(2));
        Assert.That(expected[0], Is.SameAs(tokens[0]));
        Assert.That(expected[1], Is.SameAs(tokens[1]));
        Assert.That(names.For(template), Is.SameAs(expected), "cached");
        var secretFirst = new MessageTemplateParser().Parse("{Secret} {Host}");
        names.For(secretFirst);
        Assert.That(names.For(secretFirst), Is.Empty);
        Assert.That(names.Count, Is.EqualTo(2), "two templates, each seen twice");
    }

    [Test]
    public void EverySensitiveInstanceIsMaskedAfterTheSameTextWasSeenUnderTheTemplate()
    {
        var redactor = Defaults();
        var template = new MessageTemplateParser().Parse("Login {User} with {Password} from {Host}");
        var tokens = template.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();
        for (var i = 0; i < 5; i++)
        {
            // The template's own instances, then fresh ones for every name, in the template's order and reversed.
            var byTemplate = Event(template, (tokens[0], "ann"), (tokens[1], "pw-" + i), (tokens[2], "web-1"));
            var fresh = Event(template, (Fresh("Host"), "web-1"), (Fresh("Password"), "pw-" + i), (Fresh("User"), "ann"));
            Assert.That(Changes(redactor, byTemplate).Keys, Is.EquivalentTo(new[] { "Password" }));
            Assert.That(Changes(redactor, fresh).Keys, Is.EquivalentTo(new[] { "Password" }));
            Assert.That(Masked(redactor, byTemplate, "Password"), Is.EqualTo(Mask));
        }
    }

    [Test]
    public void PropertiesAfterTheTemplatesAndInAnyOrderAreStillChecked()
    {
        var redactor = Defaults();
        var template = new MessageTemplateParser().Parse("{A} {B} {A} {C}");
        var names = template.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();
        for (var i = 0; i < 3; i++)
        {
            var logEvent = Event(template, (names[0], 1), (names[1], "x"), (names[3], 2.5), ("Token", "tk-secret"), ("db_password", "pw"), ("Body", """{"secret":"s1"}"""));
            Assert.That(Changes(redactor, logEvent).Keys, Is.EquivalentTo(new[] { "Token", "db_password", "Body" }));
            var reversed = Event(template, ("apiKey", "k"), (names[3], 2.5), (names[1], "x"), (names[0], 1));
            Assert.That(Changes(redactor, reversed).Keys, Is.EquivalentTo(new[] { "apiKey" }));
        }
    }

    [Test]
    public void AKnownSafeNameStillHasItsValueLookedInto()
    {
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectCardNumbers = true, DetectEmailAddresses = true });
        var template = new MessageTemplateParser().Parse("{Note} {Number} {Body}");
        var names = template.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();
        var plain = Event(template, (names[0], "hello"), (names[1], 42), (names[2], "text"));
        for (var i = 0; i < 3; i++) Assert.That(Changes(redactor, plain), Is.Empty);

        var secrets = Event(template, (names[0], "mail ann@example.com"), (names[1], 4111111111111111L), (names[2], """{"password":"pw-1"}"""));
        Assert.That(Changes(redactor, secrets).Keys, Is.EquivalentTo(new[] { "Note", "Number", "Body" }));
    }

    [Test]
    public void EachRedactorKeepsItsOwnRulesForTheSameInstances()
    {
        var lenient = RedactorFactory.Create(new RedactionOptions { ExcludedKeys = { "password" } });
        var strict = Defaults();
        var template = new MessageTemplateParser().Parse("{Password} {User}");
        var names = template.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();
        var logEvent = Event(template, (names[0], "pw-secret"), (names[1], "ann"));

        for (var i = 0; i < 3; i++) Assert.That(Changes(lenient, logEvent), Is.Empty);
        for (var i = 0; i < 3; i++) Assert.That(Masked(strict, logEvent, "Password"), Is.EqualTo(Mask));
        Assert.That(Changes(lenient, logEvent), Is.Empty);
    }

    [Test]
    public void DistinctNamesAndTemplatesWithoutBoundDoNotGrowTheCaches()
    {
        var redactor = Defaults();
        for (var i = 0; i < 20_000; i++)
        {
            var template = new MessageTemplateParser().Parse($"Item {{Name{i}}} and {{secret_{i}}}");
            var names = template.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();
            var changes = Changes(redactor, Event(template, (names[0], "v"), (names[1], "s"), ("Extra" + i, 1)));
            Assert.That(changes.Keys, Is.EquivalentTo(new[] { "secret_" + i }));
        }

        Assert.That(redactor.TemplateNames.Count, Is.LessThanOrEqualTo(512));
        Assert.That(redactor.Keys.KnownSafeNameCount, Is.LessThanOrEqualTo(512));

        // Still right for names and templates that found every slot taken.
        var late = new MessageTemplateParser().Parse("{Late} {access_token}");
        var lateNames = late.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();
        for (var i = 0; i < 3; i++)
            Assert.That(Changes(redactor, Event(late, (lateNames[0], "v"), (lateNames[1], "t"))).Keys, Is.EquivalentTo(new[] { "access_token" }));
    }

    [Test]
    public void WithDetectorsOnlyATemplateThatComesBackIsCached()
    {
        // Interpolated text makes a new template per event: caching each one cost a ConditionalWeakTable entry (a GC
        // handle) per event. A template is cached when it comes back, and one over 1024 characters (which Serilog
        // parses anew for every event) never.
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectEmailAddresses = true });
        var parser = new MessageTemplateParser();

        var hot = parser.Parse("Mail from ann@example.com about {OrderId}");
        var first = redactor.RedactTemplate(hot);
        var second = redactor.RedactTemplate(hot);
        var third = redactor.RedactTemplate(hot);
        Assert.That(first.Text, Is.EqualTo($"Mail from {Mask} about {{OrderId}}"));
        Assert.That(second.Text, Is.EqualTo(first.Text));
        Assert.That(second, Is.Not.SameAs(first), "seen once: built, not kept");
        Assert.That(third, Is.SameAs(second), "seen again: kept");

        var longText = "Mail from ann@example.com about {OrderId} " + new string('x', 1024);
        var oneOff = parser.Parse(longText);
        var results = Enumerable.Range(0, 3).Select(_ => redactor.RedactTemplate(oneOff)).ToArray();
        Assert.That(results.Select(r => r.Text), Has.All.EqualTo(longText.Replace("ann@example.com", Mask)));
        Assert.That(results[2], Is.Not.SameAs(results[1]), "never kept");
    }

    [Test]
    public void TwoTemplatesThatTakeTurnsAreBothKeptWhenTheirFirstSightingsShareASlot()
    {
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectEmailAddresses = true, DetectEmbeddedCredentials = true });
        var holes = redactor.CredentialHoles!;
        var (first, second) = Keys.SafeTemplateNamesTests.SharingASightingSlot(holes.Seen, new MessageTemplateParser(),
            "Mail from ann@example.com with password={Pw}", "Mail from bob@example.com with password={Pw}");

        // The same slot choice in every memo of templates: the redactor's own for its rewritten templates too.
        var rewritten = new[] { first, second, first, second, first, second }.Select(redactor.RedactTemplate).ToArray();
        Assert.That(rewritten[4], Is.SameAs(rewritten[2]), "the first template kept");
        Assert.That(rewritten[5], Is.SameAs(rewritten[3]), "the second template kept");
        var found = new[] { first, second, first, second, first, second }.Select(holes.For).ToArray();
        Assert.That(found[4].Holes, Is.EqualTo(new[] { "Pw" }));
        Assert.That(found[4], Is.SameAs(found[2]));
        Assert.That(found[5], Is.SameAs(found[3]));
    }

    [Test]
    public void ConcurrentPassesGiveTheRulesAnswers()
    {
        var redactor = Defaults();
        var templates = Enumerable.Range(0, 40)
            .Select(i => new MessageTemplateParser().Parse($"T{i} {{Id{i % 7}}} {{Password}} {{Name{i % 5}}} {{refresh_token}}"))
            .ToArray();
        var failures = 0;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                var template = templates[(i * 7 + t) % templates.Length];
                var names = template.Tokens.OfType<PropertyToken>().Select(p => p.PropertyName).ToArray();
                var useFresh = (i & 1) == 0;
                var logEvent = Event(template,
                    (useFresh ? Fresh(names[0]) : names[0], i),
                    (useFresh ? Fresh(names[1]) : names[1], "pw"),
                    (names[2], "ann"),
                    (useFresh ? names[3] : Fresh(names[3]), "rt"),
                    ("Other" + (i % 300), "x"),
                    (i % 3 == 0 ? Fresh("Cookie") : "Cookie", "c"));
                var changed = Changes(redactor, logEvent).Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
                if (!changed.SequenceEqual(new[] { "Cookie", "Password", "refresh_token" })) Interlocked.Increment(ref failures);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.That(failures, Is.Zero);
    }

    [Test]
    public void TheLoggerRoutesMaskAfterTheCachesAreWarm()
    {
        var written = new List<LogEvent>();
        var sink = new DelegatingSink(written.Add);
        using var wrapped = new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(sink)).CreateLogger();
        using var enriched = new LoggerConfiguration().Enrich.WithRedaction().WriteTo.Sink(sink).CreateLogger();
        foreach (var logger in new Logger[] { wrapped, enriched })
        {
            for (var i = 0; i < 5; i++)
            {
                logger.Information("Order {OrderId} for {Customer} with {ApiKey}", i, "ann", "key-" + i);
                logger.ForContext("client_secret", "cs-" + i).Information("Order {OrderId} for {Customer}", i, "ann");
            }
        }

        Assert.That(written, Has.Count.EqualTo(20));
        foreach (var logEvent in written)
        {
            Assert.That(((ScalarValue)logEvent.Properties["Customer"]).Value, Is.EqualTo("ann"));
            var secret = logEvent.Properties.TryGetValue("ApiKey", out var key) ? key : logEvent.Properties["client_secret"];
            Assert.That(((ScalarValue)secret).Value, Is.EqualTo(Mask));
        }
    }
}
