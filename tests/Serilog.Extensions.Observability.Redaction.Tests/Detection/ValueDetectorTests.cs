using System.Globalization;
using System.Text.Json.Nodes;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Detection;

public class ValueDetectorTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static Action<RedactionOptions> Detector(string name)
    {
        Action<RedactionOptions> detector = name switch
        {
            "card" => o => o.DetectCardNumbers = true,
            "jwt" => o => o.DetectJwts = true,
            "bearer" => o => o.DetectBearerTokens = true,
            "email" => o => o.DetectEmailAddresses = true,
            "credentials" => o => o.DetectEmbeddedCredentials = true,
            "pattern" => o => o.ValuePatterns.Add(@"ACCT-\d{8}"),
            _ => throw new ArgumentException(name),
        };
        // The timeout is wall-clock time: on a loaded test machine a descheduled thread could mask a whole string
        // (fail closed). These cases test what is found, so they allow more; the timeout has its own test.
        return o =>
        {
            detector(o);
            o.PatternMatchTimeout = TimeSpan.FromSeconds(5);
        };
    }

    static IEnumerable<TestCaseData> DetectorCases()
    {
        foreach (var line in Cases.Lines("detectors.txt"))
        {
            var parts = line.Split(" | ");
            if (parts.Length != 3) throw new FormatException("Bad line in detectors.txt: " + line);
            foreach (var route in Routes.All)
                yield return new TestCaseData(parts[0], parts[1], parts[2], route).SetName($"{parts[0]}: '{parts[1]}' via {route}");
        }
    }

    [Test]
    public void TheCasesFileHasAValueThatEveryDetectorMasks()
    {
        // The two tests below take their cases from detectors.txt: a detector whose lines went missing (or an empty
        // file) would leave them passing with nothing checked.
        var masked = Cases.Lines("detectors.txt").Select(line => line.Split(" | ")).Where(parts => parts[1] != parts[2])
            .Select(parts => parts[0]).ToHashSet();
        Assert.That(masked, Is.SupersetOf(new[] { "card", "jwt", "bearer", "email", "credentials", "pattern" }));
    }

    [TestCaseSource(nameof(DetectorCases))]
    public void DetectorsMaskWhatTheyFindInStringValuesOnEveryRoute(string detector, string input, string expected, Route route)
    {
        var events = Routes.Write(route, "Note", input, Pieces.All, Detector(detector));
        Assert.That(events.Single().Properties["Note"].ToString(), Is.EqualTo("\"" + expected + "\""));
    }

    [TestCaseSource(nameof(DetectorCases))]
    public void DetectorsMaskWhatTheyFindInsideObjects(string detector, string input, string expected, Route route)
    {
        // A destructured object is masked by the policy alone too, down to the strings of an array inside it.
        foreach (var pieces in route.Destructures() ? new[] { Pieces.Policy, Pieces.All } : new[] { Pieces.All })
        {
            var text = Output.Render(Routes.Write(route, "Body", new Dictionary<string, object> { ["comment"] = new[] { input } }, pieces, Detector(detector)));
            Assert.That(text, Does.Contain(expected), pieces.ToString());
            if (expected != input) Assert.That(text, Does.Not.Contain(input), pieces.ToString());
        }
    }

    static IEnumerable<TestCaseData> KeyCases()
    {
        foreach (var route in Routes.All)
        foreach (var pieces in route.Destructures() ? new[] { Pieces.Policy, Pieces.Sink, Pieces.All } : new[] { Pieces.Sink, Pieces.All })
            yield return new TestCaseData(route, pieces).SetName($"Dictionary keys via {route} with {pieces}");
    }

    [TestCaseSource(nameof(KeyCases))]
    public void DetectorsMaskWhatTheyFindInDictionaryKeysAndKeepEveryValue(Route route, Pieces pieces)
    {
        var perUser = new Dictionary<string, int>
        {
            ["ann.lee@example.com"] = 1110001,
            ["bob.lee@example.com"] = 2220002,
            [Mask] = 3330003,
            ["visible-key"] = 4440004,
        };
        var json = JsonNode.Parse("""{"carl.lee@example.com":5550005,"dora.lee@example.com":6660006}""");

        var text = Output.Render(Routes.Write(route, "PerUser", perUser, pieces, Detector("email")));
        var jsonText = Output.Render(Routes.Write(route, "PerUser", json, pieces, Detector("email")));

        Assert.That(text, Does.Not.Contain("lee@example.com").And.Contain("visible-key"));
        foreach (var value in perUser.Values) Assert.That(text, Does.Contain(value.ToString(CultureInfo.InvariantCulture)), "no value lost to a masked key");
        Assert.That(jsonText, Does.Not.Contain("lee@example.com"));
    }

    [TestCase(Route.MessageArgument, Pieces.Sink)]
    [TestCase(Route.MessageArgument, Pieces.Enricher)]
    [TestCase(Route.DestructuredArgument, Pieces.Policy)]
    public void ManyDictionaryKeysMaskedToTheSameTextAreAllKeptWithoutAQuadraticSearch(Route route, Pieces pieces)
    {
        // Every key masks to the same text, so each needs its own suffix: trying #2, #3, ... afresh for every key
        // would take billions of steps here (a collection of 50,000 items is bad input the pass must bound).
        const int count = 50_000;
        var perUser = new Dictionary<string, int>(count);
        for (var i = 0; i < count; i++) perUser["user" + i.ToString(CultureInfo.InvariantCulture) + "@example.com"] = i;

        var work = Task.Run(() => Routes.Write(route, "PerUser", perUser, pieces, Detector("email")));

        Assert.That(work.Wait(TimeSpan.FromSeconds(30)), Is.True, "masking the keys did not finish");
        var elements = ((DictionaryValue)work.Result.Single().Properties["PerUser"]).Elements;
        Assert.That(elements, Has.Count.EqualTo(count));
        Assert.That(elements.Keys.Select(k => k.Value as string), Has.None.Contains("@example.com"));
        Assert.That(elements.Values.Select(v => (int)((ScalarValue)v).Value!).Distinct().Count(), Is.EqualTo(count), "no value lost to a masked key");
    }

    static IEnumerable<TestCaseData> UriCases()
    {
        foreach (var route in Routes.All)
        foreach (var pieces in new[] { Pieces.Policy | Pieces.Sink, Pieces.Sink, Pieces.All })
            yield return new TestCaseData(route, pieces).SetName($"Uri values via {route} with {pieces}");
    }

    [TestCaseSource(nameof(UriCases))]
    public void DetectorsMaskWhatTheyFindInUriValues(Route route, Pieces pieces)
    {
        var callback = new Uri("https://app.example.com/signed-in?state=state-visible&jwt_hint=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1cmkifQ.c2lnLXVyaS1zZWNyZXQ");
        var text = Output.Render(Routes.Write(route, "Callback", callback, pieces, Detector("jwt")));
        Assert.That(text, Does.Not.Contain("eyJzdWIiOiJ1cmkifQ").And.Contain("state-visible"));
    }

    [Test]
    public void DetectorsMaskTheExceptionMessageAndText()
    {
        var error = new InvalidOperationException("Charge of 4111 1111 1111 1111 for ann@example.com failed");
        var logEvent = Routes.Write(Route.MessageArgument, "N", 1, Pieces.Sink, o =>
        {
            o.DetectCardNumbers = true;
            o.DetectEmailAddresses = true;
        }, exception: error).Single();
        var text = Output.Render(logEvent);
        Assert.That(text, Does.Not.Contain("4111 1111").And.Not.Contain("ann@example.com"));
        Assert.That(logEvent.Exception!.Message, Is.EqualTo($"Charge of {Mask} for {Mask} failed"));
        Assert.That(logEvent.Exception.ToString(), Does.StartWith("System.InvalidOperationException: Charge of " + Mask));
    }

    [Test]
    public void EmbeddedCredentialsAreMaskedInTheExceptionAndByTheKeyRulesInForce()
    {
        // What ADO.NET providers put in a message when a connection string is malformed or a login fails.
        var error = new ArgumentException("Keyword not supported: 'serverr'. Server=db;User Id=sa;Password=hunter2;Pin=4321");
        var logEvent = Routes.Write(Route.MessageArgument, "N", 1, Pieces.Sink, o =>
        {
            o.DetectEmbeddedCredentials = true;
            o.AdditionalKeys.Add("user id");
            o.ExcludedKeys.Add("pin");
        }, exception: error).Single();

        Assert.That(logEvent.Exception!.Message, Is.EqualTo($"Keyword not supported: 'serverr'. Server=db;User Id={Mask};Password={Mask};Pin=4321"));
        Assert.That(Output.Render(logEvent), Does.Not.Contain("hunter2"));
    }

    [Test]
    public void KeysReadFromTextAreNotKeptInTheKeyCache()
    {
        // Arbitrary text cannot crowd out property names: its keys go to a memo of a fixed number of short entries only.
        var redactor = Serilog.Extensions.Observability.Redaction.Core.RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        var keys = redactor.Keys;
        var before = keys.RetainedKeyCharacters - keys.RetainedTextNameCharacters;
        for (var i = 0; i < 2000; i++)
            Assert.That(redactor.Detectors!.Redact($"item{i}_password=x{i};other{i}=y"), Is.EqualTo($"item{i}_password={Mask};other{i}=y"));
        Assert.Multiple(() =>
        {
            Assert.That(keys.RetainedKeyCharacters - keys.RetainedTextNameCharacters, Is.EqualTo(before));
            Assert.That(keys.RetainedTextNameCharacters, Is.InRange(1, Serilog.Extensions.Observability.Redaction.Keys.KeyMatcher.TextNameSlots * Serilog.Extensions.Observability.Redaction.Keys.KeyMatcher.MaximumTextNameLength));
        });
    }

    [Test]
    public void DetectorsMaskInnerExceptionsToo()
    {
        var error = new AggregateException(new InvalidOperationException("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_abc"));
        var logEvent = Routes.Write(Route.MessageArgument, "N", 1, Pieces.Sink, o => o.DetectJwts = true, exception: error).Single();
        Assert.That(Output.Render(logEvent), Does.Not.Contain("eyJzdWIiOiIxIn0"));
    }

    [Test]
    public void AnExceptionWithoutFindingsIsPassedOnUnchanged()
    {
        var error = new InvalidOperationException("plain");
        var logEvent = Routes.Write(Route.MessageArgument, "N", 1, Pieces.Sink, o => o.DetectJwts = true, exception: error).Single();
        Assert.That(logEvent.Exception, Is.SameAs(error));
    }

    [Test]
    public void DetectorsMaskTheMessageTemplateText()
    {
        var logEvent = Routes.Write(Route.MessageArgument, "User", "ann", Pieces.Sink, o => o.DetectEmailAddresses = true, template: "Mail bob@example.com about").Single();
        Assert.That(Output.Render(logEvent), Does.Not.Contain("bob@example.com"));
        Assert.That(logEvent.RenderMessage(), Is.EqualTo($"Mail {Mask} about \"ann\""));
    }

    [Test]
    public void CardNumbersLoggedAsIntegersAreMasked()
    {
        var logEvent = Routes.Write(Route.MessageArgument, "Amount", 4111111111111111L, Pieces.All, o => o.DetectCardNumbers = true).Single();
        var small = Routes.Write(Route.MessageArgument, "Amount", 4111111111111112L, Pieces.All, o => o.DetectCardNumbers = true).Single();
        Assert.That(logEvent.Properties["Amount"].ToString(), Is.EqualTo($"\"{Mask}\""));
        Assert.That(small.Properties["Amount"].ToString(), Is.EqualTo("4111111111111112"));
    }

    [Test, NonParallelizable]
    public void ARegexThatTimesOutMasksTheWholeStringAndIsReported()
    {
        var selfLog = new List<string>();
        var failures = Redaction.Masking.RedactionFailures.Count;
        Serilog.Events.LogEvent logEvent;
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            logEvent = Routes.Write(Route.MessageArgument, "Note", new string('a', 5000) + "!", Pieces.Sink, o =>
            {
                o.ValuePatterns.Add("(a+)+$");
                o.PatternMatchTimeout = TimeSpan.FromMilliseconds(5);
            }).Single();
        }
        Assert.That(logEvent.Properties["Note"].ToString(), Is.EqualTo($"\"{Mask}\""));
        Assert.That(Redaction.Masking.RedactionFailures.Count, Is.GreaterThan(failures));
        Assert.That(selfLog, Has.Some.Contains("RegexMatchTimeoutException"));
    }

    [Test]
    public void WithoutDetectorsNothingIsScannedByContent()
    {
        var logEvent = Routes.Write(Route.MessageArgument, "Note", "card 4111 1111 1111 1111 mail a@b.io", Pieces.All).Single();
        Assert.That(logEvent.Properties["Note"].ToString(), Does.Contain("4111 1111 1111 1111").And.Contain("a@b.io"));
    }
}
