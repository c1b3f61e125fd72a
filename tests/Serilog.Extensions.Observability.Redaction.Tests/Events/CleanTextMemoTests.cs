using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Events;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// A redactor's memo of strings found clean (<see cref="CleanTexts"/>) spares the next event's constants a scan, and
/// never spares a string a mask: not under other rules, not under a sensitive name, not when it held a finding.
/// </summary>
public class CleanTextMemoTests
{
    static readonly MessageTemplate Template = new MessageTemplateParser().Parse("Note {Note}");

    /// <summary>A string instance no other code holds (literals are interned and shared).</summary>
    static string Fresh(string text) => new(text.AsSpan());

    static LogEvent Event(params (string Name, string Value)[] properties) =>
        new(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, Template,
            properties.Select(p => new LogEventProperty(p.Name, new ScalarValue(p.Value))));

    static string? Masked(Redactor redactor, LogEvent logEvent, string name)
    {
        foreach (var change in EventRedaction.CollectChanges(redactor, logEvent) ?? new List<LogEventProperty>())
        {
            if (change.Name == name) return (change.Value as ScalarValue)?.Value as string;
        }
        return null;
    }

    [Test]
    public void AConstantIsReadOnceAndNeverSharedWithAnotherRedactor()
    {
        var first = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        var second = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        // The ':' is one of the detector's anchors: a text without any is passed by unread, and never remembered.
        var note = Fresh("shipped to the warehouse: north side");

        Assert.That(Masked(first, Event(("Note", note)), "Note"), Is.Null);

        Assert.That(first.Clean.Contains(note), Is.True, "the next event's pass finds the note without reading it");
        Assert.That(first.Clean.Contains(Fresh(note)), Is.False, "only the very instance");
        // One memo per redactor: another's rules, mask or match timeout may differ (a shorter timeout fails closed).
        Assert.That(second.Clean, Is.Not.SameAs(first.Clean));
        Assert.That(second.Clean.Contains(note), Is.False);
        Assert.That(Masked(first, Event(("Note", note)), "Note"), Is.Null);
    }

    [Test]
    public void ALoggerWithBothPassesWritesTheCleanStringAsItWas()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration()
            .Enrich.WithRedaction(r => r.DetectEmbeddedCredentials = true)
            .WriteTo.Redacted(w => w.Sink(sink), r => r.DetectEmbeddedCredentials = true)
            .CreateLogger();
        var note = Fresh("shipped to the warehouse on the north side");
        var secret = Fresh("Server=db;Password=hunter22;");

        for (var i = 0; i < 2; i++)
            logger.Information("Order {Note} {Connection}", note, secret);

        foreach (var logEvent in sink.Events)
        {
            Assert.That((logEvent.Properties["Note"] as ScalarValue)?.Value, Is.SameAs(note));
            Assert.That(logEvent.Properties["Connection"].ToString(), Does.Not.Contain("hunter22"));
        }
    }

    [Test]
    public void AStringFoundCleanUnderOtherRulesIsReadAgain()
    {
        // Clean for a redactor that only looks for JWTs, a secret for one that reads key=value credentials.
        var connection = Fresh("Server=db;Password=hunter22;");
        var jwtsOnly = RedactorFactory.Create(new RedactionOptions { DetectJwts = true });
        var credentials = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });

        Assert.That(Masked(jwtsOnly, Event(("Note", connection)), "Note"), Is.Null);
        Assert.That(Masked(jwtsOnly, Event(("Note", connection)), "Note"), Is.Null);

        Assert.That(Masked(credentials, Event(("Note", connection)), "Note"), Is.EqualTo("Server=db;Password=" + RedactionOptions.DefaultMask + ";"));
        // And back: the first rules' memo was emptied, not mixed with the second's.
        Assert.That(Masked(credentials, Event(("Note", connection)), "Note"), Is.Not.Null);
    }

    [Test]
    public void AStringFoundCleanUnderOneNameIsStillMaskedUnderASensitiveOne()
    {
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        var text = Fresh("correct horse battery staple");

        Assert.That(Masked(redactor, Event(("Note", text)), "Note"), Is.Null);
        Assert.That(Masked(redactor, Event(("Note", text), ("Password", text)), "Password"), Is.EqualTo(RedactionOptions.DefaultMask));
    }

    [Test]
    public void AStringWithAFindingIsMaskedEveryTime()
    {
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        var url = Fresh("https://ann:s3cret-pw@db.internal/orders");

        for (var i = 0; i < 3; i++)
            Assert.That(Masked(redactor, Event(("Note", url)), "Note"), Does.Not.Contain("s3cret-pw"), $"pass {i}");
        Assert.That(redactor.Clean.Contains(url), Is.False);
    }

    [Test]
    public void TextAlreadyInOneMasksFormIsReadAgainByARedactorWithAnotherMask()
    {
        // "Password=***" is what a redactor whose mask is *** writes, so that one leaves it as it is; one with the
        // default mask rewrites it. The first one's verdict must not reach the second.
        var starMask = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true, Mask = "***" });
        var defaultMask = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        var text = Fresh("Server=db;Password=***;");

        Assert.That(Masked(starMask, Event(("Note", text)), "Note"), Is.Null);
        Assert.That(Masked(defaultMask, Event(("Note", text)), "Note"), Is.EqualTo("Server=db;Password=" + RedactionOptions.DefaultMask + ";"));
    }

    [Test]
    public void LongStringsAreNotRemembered()
    {
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        // Each ends in ':', an anchor of the detector, so that each is read.
        var longText = Fresh(new string('a', CleanTexts.MaximumLength) + ":");
        var shortText = Fresh(new string('a', CleanTexts.MaximumLength - 1) + ":");

        Assert.That(Masked(redactor, Event(("Note", longText)), "Note"), Is.Null);
        Assert.That(Masked(redactor, Event(("Note", shortText)), "Note"), Is.Null);

        Assert.That(redactor.Clean.Contains(longText), Is.False);
        Assert.That(redactor.Clean.Contains(shortText), Is.True);
    }
}
