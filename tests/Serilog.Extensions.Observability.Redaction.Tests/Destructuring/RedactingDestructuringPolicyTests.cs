using System.Runtime.CompilerServices;
using System.Collections;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Destructuring;

public class RedactingDestructuringPolicyTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static IEnumerable<TestCaseData> SafeObjects()
    {
        yield return new TestCaseData(new Wide()).SetName("A 20-member POCO");
        yield return new TestCaseData(new { Name = "n", Count = 3, Inner = new { When = new DateTime(2026, 1, 1), Tags = new[] { "a", "b" } } }).SetName("Anonymous objects");
        yield return new TestCaseData(new SafePoint { X = 1, Y = 2 }).SetName("A struct with a null member");
        yield return new TestCaseData(new SafeDerived { Name = "d", Extra = "e", Hidden = 3 }).SetName("A derived class hiding a base member");
        yield return new TestCaseData(new SafeThrowingGetter()).SetName("A getter that throws");
        yield return new TestCaseData(new List<KeyValuePair<string, int>> { new("a", 1), new("b", 2) }).SetName("A list of pairs");
        yield return new TestCaseData(new Dictionary<int, object> { [1] = "one", [2] = new { Two = 2 } }).SetName("A dictionary with int keys");
        yield return new TestCaseData(new Dictionary<object, string> { [new object()] = "x" }).SetName("A dictionary with object keys");
        yield return new TestCaseData(new Hashtable { ["a"] = 1 }).SetName("A hashtable");
        yield return new TestCaseData((1, "two", new { Three = 3 })).SetName("A value tuple");
        yield return new TestCaseData(new Node { Name = "root", Child = new Node { Name = "child" } }).SetName("A chain of nodes");
    }

    [TestCaseSource(nameof(SafeObjects))]
    public void ObjectsWithoutSecretsAreCapturedExactlyAsSerilogCapturesThem(object value)
    {
        var expected = Capture.Destructured(value, withPolicy: false);
        var actual = Capture.Destructured(value);
        Assert.That(actual.ToString(), Is.EqualTo(expected.ToString()));
    }

    [Test]
    public void SensitiveMembersOfAPocoAreMaskedAndTheRestKept()
    {
        var value = Capture.Destructured(new Login { User = "ann", Password = "hunter2", ApiKey = "k-123", TokenCount = 42 });
        Assert.That(value.ToString(), Is.EqualTo($"Login {{ User: \"ann\", Password: \"{Mask}\", ApiKey: \"{Mask}\", TokenCount: 42, Next: null }}"));
    }

    [Test]
    public void SensitiveMembersAreMaskedAtEveryDepth()
    {
        var chain = new Login { User = "a", Password = "p1", Next = new Login { User = "b", Password = "p2", Next = new Login { Password = "p3" } } };
        var text = Capture.Destructured(chain).ToString();
        Assert.That(text, Does.Not.Contain("p1").And.Not.Contain("p2").And.Not.Contain("p3"));
        Assert.That(text, Does.Contain("\"b\""));
    }

    [Test]
    public void RecordsAreMaskedByMemberName()
    {
        var text = Capture.Destructured(new Account("main", "Server=db;Password=x", 8)).ToString();
        Assert.That(text, Is.EqualTo($"Account {{ Name: \"main\", ConnectionString: \"{Mask}\", MaxTokens: 8 }}"));
    }

    [Test]
    public void AnonymousObjectsAreMaskedByMemberName()
    {
        var text = Capture.Destructured(new { user = "ann", db_password = "hunter2", nested = new { github_token = "ghp_1" } }).ToString();
        Assert.That(text, Is.EqualTo($"{{ user: \"ann\", db_password: \"{Mask}\", nested: {{ github_token: \"{Mask}\" }} }}"));
    }

    [Test]
    public void DictionariesAreMaskedByKeyWhateverTheValue()
    {
        var text = Capture.Destructured(new Dictionary<string, object?>
        {
            ["user"] = "ann",
            ["Authorization"] = "Basic abc",
            ["cookie"] = new[] { "a=1", "b=2" },
            ["inner"] = new Dictionary<string, object?> { ["refresh_token"] = new { Deep = "rt" } },
        }).ToString();
        Assert.That(text, Is.EqualTo($"[(\"user\": \"ann\"), (\"Authorization\": \"{Mask}\"), (\"cookie\": \"{Mask}\"), (\"inner\": [(\"refresh_token\": \"{Mask}\")])]"));
    }

    public enum Field
    {
        Name,
        Password,
    }

    [Test]
    public void DictionaryKeysOfAnyTypeAreJudgedByTheirStringForm()
    {
        var byEnum = Capture.Destructured(new Dictionary<Field, string> { [Field.Name] = "n", [Field.Password] = "p" }).ToString();
        var byObject = Capture.Destructured(new Dictionary<object, string> { ["password"] = "p", [42] = "n" }).ToString();
        var concurrent = Capture.Destructured(new ConcurrentDictionary<string, string>(new[] { KeyValuePair.Create("token", "t") })).ToString();
        var table = Capture.Destructured(new Hashtable { ["secret"] = "s", ["plain"] = "v" }).ToString();
        Assert.Multiple(() =>
        {
            Assert.That(byEnum, Does.Contain($"(Password: \"{Mask}\")").And.Contain("\"n\""));
            Assert.That(byObject, Does.Not.Contain("\"p\"").And.Contain("\"n\""));
            Assert.That(concurrent, Does.Not.Contain("\"t\""));
            Assert.That(table, Does.Not.Contain("\"s\"").And.Contain("\"v\""));
        });
    }

    [Test]
    public void EnumerablesOfStringKeyedPairsAreMaskedByKey()
    {
        IEnumerable<KeyValuePair<string, string>> headers = new List<KeyValuePair<string, string>> { new("Authorization", "Bearer abc"), new("Accept", "json") };
        var text = Capture.Destructured(headers).ToString();
        Assert.That(text, Does.Not.Contain("Bearer abc").And.Contain("json").And.Contain(Mask));
    }

    [Test]
    public void NullKeysInPairsAreKeptAndNotSensitive()
    {
        var text = Capture.Destructured(new List<KeyValuePair<string?, string>> { new(null, "value") }).ToString();
        Assert.That(text, Does.Contain("\"value\""));
    }

    [Test]
    public void JsonDocumentsElementsAndNodesAreMaskedByKeyAtAnyDepth()
    {
        const string json = """{"user":"ann","password":"hunter2","items":[{"api_key":"k1","n":1.5},{"ok":true,"none":null}],"deep":{"deeper":{"client_secret":"cs"}}}""";
        using var document = JsonDocument.Parse(json);
        var values = new object[] { document, document.RootElement.Clone(), JsonNode.Parse(json)! };
        Assert.Multiple(() =>
        {
            foreach (var value in values)
            {
                var text = Capture.Destructured(value).ToString();
                Assert.That(text, Does.Not.Contain("hunter2").And.Not.Contain("k1").And.Not.Contain("\"cs\""), value.GetType().Name);
                Assert.That(text, Does.Contain("\"ann\"").And.Contain("1.5").And.Contain("True").And.Contain("null"), value.GetType().Name);
            }
        });
    }

    [Test]
    public void JsonNodesBuiltInCodeAreCaptured()
    {
        var node = new JsonObject { ["name"] = "x", ["token"] = "t0k", ["list"] = new JsonArray(1, "two", JsonValue.Create(3.5)) };
        var text = Capture.Destructured(node).ToString();
        Assert.That(text, Is.EqualTo($"[(\"name\": \"x\"), (\"token\": \"{Mask}\"), (\"list\": [1, \"two\", 3.5])]"));
    }

    [Test]
    public void JsonStringValuesBuiltInCodeFromClrValuesAreCapturedWithoutTheirJsonQuotes()
    {
        var when = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var node = new JsonObject
        {
            ["when"] = when, ["id"] = Guid.Empty, ["letter"] = 'x', ["day"] = JsonValue.Create(new DateOnly(2026, 1, 2)), ["token"] = Guid.Empty,
        };
        var text = Capture.Destructured(node).ToString();
        Assert.That(text, Is.EqualTo(
            $"[(\"when\": \"2026-01-02T03:04:05+00:00\"), (\"id\": \"{Guid.Empty}\"), (\"letter\": \"x\"), (\"day\": \"2026-01-02\"), (\"token\": \"{Mask}\")]"));
        var partial = Capture.Destructured(node, options: o => o.MaskStyle = RedactionMaskStyle.Partial).ToString();
        Assert.That(partial, Does.Contain($"(\"token\": \"{Mask}0000\")"));
    }

    [Test, NonParallelizable]
    public void ADisposedJsonDocumentIsCapturedAsSerilogCapturesItAndIsNoRedactionFailure()
    {
        var document = JsonDocument.Parse("""{"password":"hunter2","n":1}""");
        var element = document.RootElement;
        document.Dispose();
        var failures = Redaction.Masking.RedactionFailures.Count;
        Assert.Multiple(() =>
        {
            foreach (var value in new object[] { document, element })
                Assert.That(Capture.Destructured(value).ToString(), Is.EqualTo(Capture.Destructured(value, withPolicy: false).ToString()), value.GetType().Name);
            Assert.That(Redaction.Masking.RedactionFailures.Count, Is.EqualTo(failures));
        });
    }

    [Test]
    public void SensitiveAttributeMasksAndNotLoggedOmitsWithoutCallingTheGetter()
    {
        var before = Customer.NotesRead;
        var text = Capture.Destructured(new Customer { Name = "ann", Nickname = "annie" }).ToString();
        Assert.That(text, Is.EqualTo($"Customer {{ Name: \"ann\", Nickname: \"{Mask}\" }}"));
        Assert.That(Customer.NotesRead, Is.EqualTo(before));
    }

    [Test]
    public void AttributesOnRecordPropertiesAndBaseClassesAreHonoured()
    {
        var patient = Capture.Destructured(new Patient("ann", "flu", "file-7")).ToString();
        var derived = Capture.Destructured(new Derived { Name = "d", Nickname = "nick", Extra = "e" }).ToString();
        Assert.That(patient, Is.EqualTo($"Patient {{ Name: \"ann\", Diagnosis: \"{Mask}\" }}"));
        Assert.That(derived, Does.Not.Contain("nick").And.Not.Contain("never logged").And.Contain("\"e\""));
    }

    [Test]
    public void MaximumDepthCutsTheGraphWhereSerilogCutsIt()
    {
        object Nest(int depth) => depth == 0 ? "leaf" : new Dictionary<string, object> { ["level" + depth] = Nest(depth - 1), ["pwd"] = "x" };
        foreach (var maximum in new[] { 1, 2, 3, 5 })
        {
            var expected = Capture.Destructured(Nest(6), withPolicy: false, cfg => cfg.Destructure.ToMaximumDepth(maximum)).ToString().Replace("\"x\"", $"\"{Mask}\"");
            var actual = Capture.Destructured(Nest(6), configure: cfg => cfg.Destructure.ToMaximumDepth(maximum)).ToString();
            Assert.That(actual, Is.EqualTo(expected), "depth " + maximum);
        }
    }

    [Test]
    public void MaximumStringLengthAppliesToMembersAndJson()
    {
        var poco = Capture.Destructured(new Login { User = new string('u', 50) }, configure: cfg => cfg.Destructure.ToMaximumStringLength(10)).ToString();
        var json = Capture.Destructured(JsonNode.Parse("{\"user\":\"" + new string('u', 50) + "\"}")!, configure: cfg => cfg.Destructure.ToMaximumStringLength(10)).ToString();
        Assert.That(poco, Does.Contain("\"uuuuuuuuu…\""));
        Assert.That(json, Does.Contain("\"uuuuuuuuu…\""));
    }

    [Test]
    public void MaximumCollectionCountCutsDictionariesAndJsonLikeSerilogCutsSequences()
    {
        var dictionary = Enumerable.Range(0, 100).ToDictionary(i => "k" + i, i => (object)i);
        var json = JsonNode.Parse("[" + string.Join(',', Enumerable.Range(0, 100)) + "]")!;
        var jsonObject = JsonNode.Parse("{" + string.Join(',', Enumerable.Range(0, 100).Select(i => $"\"k{i}\":{i}")) + "}")!;
        using var document = JsonDocument.Parse(jsonObject.ToJsonString());
        Func<LoggerConfiguration, LoggerConfiguration> limit = cfg => cfg.Destructure.ToMaximumCollectionCount(7);

        Assert.Multiple(() =>
        {
            Assert.That(((DictionaryValue)Capture.Destructured(dictionary, configure: limit)).Elements, Has.Count.EqualTo(7));
            Assert.That(((SequenceValue)Capture.Destructured(json, configure: limit)).Elements, Has.Count.EqualTo(7));
            Assert.That(((DictionaryValue)Capture.Destructured(jsonObject, configure: limit)).Elements, Has.Count.EqualTo(7));
            Assert.That(((DictionaryValue)Capture.Destructured(document, configure: limit)).Elements, Has.Count.EqualTo(7));
            Assert.That(((DictionaryValue)Capture.Destructured(dictionary)).Elements, Has.Count.EqualTo(100), "no limit configured");
        });
    }

    [Test]
    public void TheCollectionLimitIsLearntOnceAndThenReused()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Destructure.ToMaximumCollectionCount(3).Destructure.WithRedaction().WriteTo.Sink(sink).CreateLogger();
        for (var n = 1; n < 10; n++) logger.Information("{@D}", Enumerable.Range(0, n).ToDictionary(i => i, i => i));
        var counts = sink.Events.Select(e => ((DictionaryValue)e.Properties["D"]).Elements.Count).ToArray();
        Assert.That(counts, Is.EqualTo(new[] { 1, 2, 3, 3, 3, 3, 3, 3, 3 }));
    }

    [Test]
    public void AMillionEntryDictionaryGivesABoundedEvent()
    {
        var huge = new Dictionary<int, string>(1_000_000);
        for (var i = 0; i < 1_000_000; i++) huge[i] = "v";
        huge[-1] = "x";
        var structure = (StructureValue)Capture.Destructured(new { password = "p", huge }, configure: cfg => cfg.Destructure.ToMaximumCollectionCount(50));
        Assert.That(((DictionaryValue)structure.Properties[1].Value).Elements, Has.Count.EqualTo(50));
    }

    [Test]
    public void AMillionItemLazySequenceIsNotEnumeratedBeyondTheLimit()
    {
        var items = new CountingEnumerable(1_000_000);
        Capture.Destructured(new { items }, configure: cfg => cfg.Destructure.ToMaximumCollectionCount(10));
        Assert.That(items.Pulled, Is.LessThanOrEqualTo(11));
    }

    [Test]
    public void CyclicGraphsAreCutAtTheMaximumDepth()
    {
        var a = new Node { Name = "a" };
        var b = new Node { Name = "b", Parent = a };
        a.Child = b;
        var text = Capture.Destructured(a).ToString();
        Assert.That(text, Does.Contain("\"a\"").And.Contain("\"b\""));
        Assert.That(text.Length, Is.LessThan(10_000));
    }

    [Test]
    public void AGraph1000LevelsDeepIsCutAtTheMaximumDepth()
    {
        var root = new Node { Name = "0" };
        var current = root;
        for (var i = 1; i < 1000; i++) current = current.Child = new Node { Name = i.ToString() };
        var text = Capture.Destructured(root, configure: cfg => cfg.Destructure.ToMaximumDepth(20)).ToString();
        Assert.That(text, Does.Contain("\"18\"").And.Not.Contain("\"25\""));
    }

    [Test, NonParallelizable]
    public void AThrowingGetterGivesAPlaceholderAndASensitiveOneTheMask()
    {
        var selfLog = new List<string>();
        string text;
        Redaction.Destructuring.RedactingDestructuringPolicy.AccessorReport.Reset();
        using (TemporarySelfLog.SaveTo(selfLog))
            text = Capture.Destructured(new ThrowingGetter()).ToString();
        Assert.That(text, Is.EqualTo($"ThrowingGetter {{ Fine: \"fine\", Broken: \"The property accessor threw an exception: InvalidOperationException\", Password: \"{Mask}\" }}"));
        Assert.That(selfLog, Has.Some.Contains("Broken"));
    }

    public sealed class CardHolder
    {
        public string Name => "ann";

        // A value the detectors would have masked in the event, quoted by the exception of a getter that always throws.
        public string Card => throw new FormatException("card 4111 1111 1111 1111 is not valid");
    }

    [Test, NonParallelizable]
    public void AGetterThatAlwaysThrowsIsReportedOncePerIntervalWithoutItsMessage()
    {
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        Redaction.Destructuring.RedactingDestructuringPolicy.AccessorReport.Reset();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration().Destructure.WithRedaction().WriteTo.Sink(sink).CreateLogger())
        {
            for (var i = 0; i < 200; i++) logger.Information("{@Holder}", new CardHolder());
        }

        Assert.That(sink.Events, Has.Count.EqualTo(200));
        // One line, and one more per 10 seconds the loop may have taken.
        Assert.That(selfLog.Count(l => l.Contains("CardHolder.Card")), Is.InRange(1, 10));
        Assert.That(selfLog.First(l => l.Contains("CardHolder.Card")), Does.Contain("System.FormatException"));
        Assert.That(selfLog, Has.None.Contains("4111"));
    }

    public sealed class SpanHolder
    {
        public string Name => "ann";

        public ReadOnlySpan<char> Text => "abc";
    }

    [Test, NonParallelizable]
    public void APropertyThatReflectionCannotReadIsReportedOncePerIntervalNotOncePerEvent()
    {
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        Redaction.Destructuring.TypeShape.ReflectionReport.Reset();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration().Destructure.WithRedaction().WriteTo.Sink(sink).CreateLogger())
        {
            for (var i = 0; i < 200; i++) logger.Information("{@Holder}", new SpanHolder());
        }

        Assert.That(sink.Events.Select(e => e.Properties["Holder"].ToString()),
            Has.All.EqualTo("SpanHolder { Name: \"ann\", Text: \"Accessing this property is not supported via Reflection API\" }"));
        // One line, and one more per 10 seconds the loop may have taken.
        Assert.That(selfLog.Count(l => l.Contains("Text")), Is.InRange(1, 10));
    }

    public sealed class Inner;

    public sealed class WithInner
    {
        public Inner Value => new();
    }

    [Test, NonParallelizable]
    public void AMemberWhoseCaptureAlwaysThrowsIsReportedOncePerInterval()
    {
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        Redaction.Destructuring.RedactingDestructuringPolicy.CaptureReport.Reset();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration()
                   .Destructure.ByTransforming<Inner>(_ => throw new InvalidOperationException("transform of 4111 1111 1111 1111 failed"))
                   .Destructure.WithRedaction().WriteTo.Sink(sink).CreateLogger())
        {
            for (var i = 0; i < 200; i++) logger.Information("{@Holder}", new WithInner());
        }

        Assert.That(sink.Events.Select(e => e.Properties["Holder"].ToString()),
            Has.All.EqualTo("WithInner { Value: \"Capturing the property value threw an exception: InvalidOperationException\" }"));
        Assert.That(selfLog.Count(l => l.Contains("InvalidOperationException")), Is.InRange(1, 10));
        Assert.That(selfLog, Has.None.Contains("4111"));
    }

    [Test, NonParallelizable]
    public void AThrowingGetterUnderThePartialStyleFailsClosedToTheMask()
    {
        var selfLog = new List<string>();
        var failures = Redaction.Masking.RedactionFailures.Count;
        string text;
        using (TemporarySelfLog.SaveTo(selfLog))
            text = Capture.Destructured(new ThrowingGetter(), options: o => o.MaskStyle = RedactionMaskStyle.Partial).ToString();
        Assert.That(text, Does.Contain($"Password: \"{Mask}\""));
        Assert.That(Redaction.Masking.RedactionFailures.Count, Is.EqualTo(failures + 1));
        Assert.That(selfLog, Has.Some.Contains("Password"));
    }

    [Test, NonParallelizable]
    public void AThrowingToStringInsideTheGraphGivesAPlaceholderNotAnException()
    {
        var selfLog = new List<string>();
        LogEventPropertyValue value;
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            value = Capture.Destructured(new { Holder = new HoldsThrowingToString(), Raw = (object)new Uri("http://x/") });
        }
        Assert.That(value.ToString(), Does.Contain("\"holder\""));
        var stringified = DelegatingSink.GetLogEvent(l => l.Information("{$V} {V}", new ThrowingToString(), new ThrowingToString()), c => c.Destructure.WithRedaction());
        Assert.That(stringified.Properties, Has.Count.EqualTo(1).Or.Count.EqualTo(2));
    }

    [Test]
    public void MembersReadThroughReflectionGetSerilogsOwnPlaceholders()
    {
        // Span-typed members (Memory<T>.Span) cannot be read through reflection, and a ref-returning getter that throws
        // is reported by reflection wrapped in TargetInvocationException: Serilog writes its own text for both.
        object[] values = { new Memory<int>(new[] { 1, 2 }), new HoldsSpan(), new ThrowingRefGetter() };
        Assert.Multiple(() =>
        {
            foreach (var value in values)
                Assert.That(Capture.Destructured(value).ToString(), Is.EqualTo(Capture.Destructured(value, withPolicy: false).ToString()), value.GetType().Name);
        });
    }

    [Test]
    public void ObjectsAreCapturedAlikeBeforeAndAfterTheirGettersAreCompiled()
    {
        // A type's first reads go through reflection, later ones through a compiled getter: one policy, many captures.
        var values = SafeObjects().Select(c => c.Arguments[0]!)
            .Concat(new object[] { new Memory<int>(new[] { 1, 2 }), new HoldsSpan(), new ThrowingRefGetter() }).ToList();
        var expected = values.Select(v => Capture.Destructured(v, withPolicy: false).ToString()).ToList();
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Destructure.WithRedaction().WriteTo.Sink(sink).CreateLogger();
        for (var round = 0; round < 2 * Redaction.Destructuring.MemberShape.ReadsBeforeCompiling; round++)
        {
            foreach (var value in values) logger.Information("{@Value}", value);
        }
        var texts = sink.Events.Select(e => e.Properties["Value"].ToString()).ToList();
        Assert.Multiple(() =>
        {
            for (var i = 0; i < texts.Count; i++)
                Assert.That(texts[i], Is.EqualTo(expected[i % values.Count]), $"round {i / values.Count}, {values[i % values.Count].GetType().Name}");
        });
    }

    [Test]
    public void AGetterIsCompiledOnlyAfterItsTypeKeepsBeingLogged()
    {
        var shape = Redaction.Destructuring.TypeShape.For(typeof(SafePoint), new Redaction.Keys.KeyMatcher(null, Array.Empty<string>(), Array.Empty<string>()));
        var member = shape.Members.First(m => m.Name == nameof(SafePoint.X));
        object point = new SafePoint { X = 7, Y = 2 };
        for (var i = 1; i < Redaction.Destructuring.MemberShape.ReadsBeforeCompiling; i++)
        {
            Assert.That(member.Get(point), Is.EqualTo(7));
            Assert.That(member.IsCompiled, Is.False);
        }
        Assert.That(member.Get(point), Is.EqualTo(7));
        Assert.That(member.IsCompiled, Is.True);
        Assert.That(member.Get(point), Is.EqualTo(7));
    }

    const string Credentials = "token=abc123 password=hunter2";
    const string MaskedCredentials = "token=" + Mask + " password=" + Mask;

    static IEnumerable<TestCaseData> StringsInsideSequences()
    {
        yield return new TestCaseData(new { Notes = new[] { "plain note", Credentials } }).SetName("An array in an object");
        yield return new TestCaseData(new { Notes = new List<string> { "plain note", Credentials } }).SetName("A list in an object");
        yield return new TestCaseData(new { Notes = new[] { new[] { "plain note" }, new[] { Credentials } } }).SetName("Nested arrays in an object");
        yield return new TestCaseData(new { Notes = new[] { new Dictionary<string, string> { ["name"] = "plain note", ["note"] = Credentials } } }).SetName("A dictionary in an array");
        yield return new TestCaseData(new Dictionary<string, object> { ["notes"] = new[] { "plain note", Credentials } }).SetName("An array in a dictionary");
        yield return new TestCaseData(new Tagged("plain note", new[] { "plain note", Credentials }.Select(t => t))).SetName("A record with an IEnumerable<string> member");
        yield return new TestCaseData(new { Notes = new HashSet<string> { "plain note", Credentials } }).SetName("A set in an object");
        yield return new TestCaseData(new { Notes = (1, "plain note", Credentials) }).SetName("A three-item tuple in an object");
        yield return new TestCaseData(new { Notes = new[] { new object[] { 1, new[] { "plain note", Credentials } } } }).SetName("An array three levels deep");
        yield return new TestCaseData(JsonNode.Parse("{\"notes\":[[\"plain note\",\"" + Credentials + "\"]]}")!).SetName("A JSON array in a JSON array");
    }

    [TestCaseSource(nameof(StringsInsideSequences))]
    public void StringsInsideSequencesGoThroughTheDetectorsWithThePolicyAlone(object value)
    {
        var text = Capture.Destructured(value, options: o => o.DetectEmbeddedCredentials = true).ToString();
        Assert.That(text, Does.Contain(MaskedCredentials).And.Contain("plain note").And.Not.Contain("hunter2").And.Not.Contain("abc123"));
    }

    [Test]
    public void EveryDetectorReadsTheStringsAndNumbersOfASequenceNestedInAnObject()
    {
        const string jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        const string github = "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789";
        var order = new
        {
            Id = "o-1",
            Notes = new List<string> { "paid with 4111 1111 1111 1111", "token " + jwt, "mail ann.lee@example.com", "key " + github, "ref ACCT-12345678" },
            Cards = new[] { new[] { 4111111111111111L, 42L } },
        };
        var text = Capture.Destructured(order, options: o =>
        {
            o.DetectCardNumbers = o.DetectJwts = o.DetectEmailAddresses = o.DetectKnownTokenFormats = true;
            o.ValuePatterns.Add(@"ACCT-\d{8}");
        }).ToString();

        Assert.That(text, Does.Not.Contain("4111").And.Not.Contain(jwt).And.Not.Contain("ann.lee").And.Not.Contain(github).And.Not.Contain("ACCT-"));
        Assert.That(text, Does.Contain("\"o-1\"").And.Contain("paid with " + Mask).And.Contain("42"));
    }

    [Test]
    public void SensitiveKeysInsideSequencesAreMaskedWithThePolicyAlone()
    {
        var value = new
        {
            Users = new[] { new { Name = "ann", Password = "hunter2" } },
            Tables = new List<Dictionary<string, string>> { new() { ["api_key"] = "k-123", ["region"] = "eu" } },
            Grid = new[] { new[] { new Login { User = "bob", Password = "swordfish" } } },
            Headers = new[] { new[] { "x-api-key", "k-456" }, new[] { "accept", "json" } },
            Scopes = new List<string[]> { new[] { "client_secret", "cs-789" } },
        };
        var text = Capture.Destructured(value).ToString();
        Assert.That(text, Does.Not.Contain("hunter2").And.Not.Contain("k-123").And.Not.Contain("swordfish").And.Not.Contain("k-456").And.Not.Contain("cs-789"));
        Assert.That(text, Does.Contain("\"ann\"").And.Contain("\"eu\"").And.Contain("\"bob\"").And.Contain("\"json\"").And.Contain("\"accept\""));
    }

    [Test]
    public void SequencesWithoutSecretsAreCapturedExactlyAsSerilogCapturesThemWithDetectorsOn()
    {
        var value = new { Tags = new[] { "a", "b" }, Grid = new[] { new[] { 1, 2 }, new[] { 3 } }, Pairs = new[] { new[] { "order_id", "o-1" } }, None = Array.Empty<string>() };
        var expected = Capture.Destructured(value, withPolicy: false).ToString();
        var actual = Capture.Destructured(value, options: o => o.DetectEmbeddedCredentials = o.DetectCardNumbers = o.DetectEmailAddresses = true).ToString();
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void StringsInsideSequencesKeepSerilogsLengthCollectionAndDepthLimits()
    {
        var value = new { Notes = new[] { Credentials + " " + new string('x', 40), "second", Credentials }, Deep = new[] { new[] { new[] { Credentials } } } };
        var text = Capture.Destructured(value, configure: cfg => cfg.Destructure.ToMaximumStringLength(20).Destructure.ToMaximumCollectionCount(2).Destructure.ToMaximumDepth(3),
            options: o => o.DetectEmbeddedCredentials = true).ToString();
        var serilog = Capture.Destructured(value, withPolicy: false,
            configure: cfg => cfg.Destructure.ToMaximumStringLength(20).Destructure.ToMaximumCollectionCount(2).Destructure.ToMaximumDepth(3)).ToString();

        Assert.That(text, Does.Not.Contain("abc123"));
        Assert.That(text, Is.EqualTo(serilog.Replace("token=abc123 passwo…", "token=" + Mask + " passwo…")));
    }

    [Test]
    public void PoliciesRegisteredBeforeRedactionKeepTheirTypes()
    {
        var text = DelegatingSink.GetLogEvent(
            l => l.Information("{@L}", new Login { User = "u", Password = "p" }),
            c => c.Destructure.ByTransforming<Login>(l => new { Who = l.User }).Destructure.WithRedaction()).Properties["L"].ToString();
        Assert.That(text, Is.EqualTo("{ Who: \"u\" }"));
    }

    [Test]
    public void TheSamePolicyInstanceServesManyThreads()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().Destructure.WithRedaction().WriteTo.Sink(sink).CreateLogger();
        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            logger.Information("{@L} {@D}", new Login { User = "u" + i, Password = "p" + i }, new Dictionary<string, int> { ["token"] = i, ["n"] = i }));
        var events = sink.Events;
        Assert.That(events, Has.Count.EqualTo(2000));
        Assert.That(events.Select(e => Output.Render(e)).Where(t => t.Contains("\"p1") || t.Contains("Password\":\"p")), Is.Empty);
    }

    [TestCase(true)]
    [TestCase(false)]
    [NonParallelizable]
    public void ALoggedObjectOfAnUnloadableTypeDoesNotKeepItsAssemblyLoaded(bool withPolicy)
    {
        // Plugins and scripts live in collectible assemblies; a logger lives for the whole process. Serilog holds no
        // reference to a logged object's type, so the policy's type cache must not either.
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration().WriteTo.Sink(sink);
        using var logger = (withPolicy ? configuration.Destructure.WithRedaction() : configuration).CreateLogger();
        var type = LogAnObjectOfACollectibleType(logger);
        for (var i = 0; i < 10 && type.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.That(sink.Events.Single().Properties["V"].ToString(), Is.EqualTo("Plugin { Name: \"p\" }"));
        Assert.That(type.IsAlive, Is.False);
        GC.KeepAlive(logger);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference LogAnObjectOfACollectibleType(ILogger logger)
    {
        var assembly = System.Reflection.Emit.AssemblyBuilder.DefineDynamicAssembly(
            new System.Reflection.AssemblyName("Collectible" + Guid.NewGuid().ToString("N")), System.Reflection.Emit.AssemblyBuilderAccess.RunAndCollect);
        var builder = assembly.DefineDynamicModule("m").DefineType("Plugin", System.Reflection.TypeAttributes.Public);
        builder.DefineDefaultConstructor(System.Reflection.MethodAttributes.Public);
        var getter = builder.DefineMethod("get_Name", System.Reflection.MethodAttributes.Public | System.Reflection.MethodAttributes.SpecialName | System.Reflection.MethodAttributes.HideBySig, typeof(string), Type.EmptyTypes);
        var il = getter.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Ldstr, "p");
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        builder.DefineProperty("Name", System.Reflection.PropertyAttributes.None, typeof(string), null).SetGetMethod(getter);
        var type = builder.CreateType();
        logger.Information("{@V}", Activator.CreateInstance(type));
        return new WeakReference(type);
    }
}
