using System.Globalization;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Keys;

public class KeyMatcherTests
{
    static readonly KeyMatcher Defaults = new(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());

    static IEnumerable<TestCaseData> KeyCases() =>
        Cases.Keys().Select(c => new TestCaseData(c.Key, c.Sensitive).SetName($"Key '{c.Key}' is sensitive: {c.Sensitive}"));

    [TestCaseSource(nameof(KeyCases))]
    public void DefaultRulesClassifyEveryKeyInTheCasesFile(string key, bool sensitive)
    {
        Assert.That(Defaults.IsSensitive(key), Is.EqualTo(sensitive));
    }

    [Test]
    public void KeysCasedUnderATurkishCurrentCultureAreMaskedOnEveryPath()
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("tr-TR");
        string output;
        try
        {
            // What application code running under tr-TR writes when it changes a key's case with the current culture.
            var keys = new[]
            {
                "api_key".ToUpper(CultureInfo.CurrentCulture),
                "PIN".ToLower(CultureInfo.CurrentCulture),
                "Authorization".ToUpper(CultureInfo.CurrentCulture),
            };
            Assert.That(keys, Is.EqualTo(new[] { "APİ_KEY", "pın", "AUTHORİZATİON" }));
            output = Capture.AllPiecesOutput(log =>
            {
                for (var i = 0; i < keys.Length; i++)
                {
                    log.Information("{@Body}", new Dictionary<string, string> { [keys[i]] = "s3cret-body-" + i });
                    log.ForContext(keys[i], "s3cret-context-" + i).Information("Context");
                }
            });
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        Assert.That(output, Does.Not.Contain("s3cret"));
        Assert.That(output, Does.Contain(RedactionOptions.DefaultMask));
    }

    [Test]
    public void LongKeysFromDataAreDecidedEveryTimeButNeverKept()
    {
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        var padding = new string('x', 4096);
        for (var i = 0; i < 10_000; i++)
        {
            var safe = padding + "_field_" + i;
            var secret = padding + "_password_" + i;
            Assert.That(matcher.IsSensitive(safe), Is.False);
            Assert.That(matcher.IsSensitive(secret), Is.True);
            Assert.That(matcher.IsSensitivePropertyName(secret), Is.True);
        }
        Assert.That(matcher.IsSensitive("db_password"), Is.True);
        // 40 million characters went through; what the caches keep is a few short names at most.
        Assert.That(matcher.RetainedKeyCharacters, Is.LessThanOrEqualTo(64));
    }

    [TestCase("customer_note", false)]
    [TestCase("customer_secret", true)]
    public void ANewKeyAfterManyDistinctKeysFromDataIsAnsweredWithoutAllocatingOnceSeen(string key, bool sensitive)
    {
        // Dictionary and JSON keys come from data, each a new string instance: tens of thousands of distinct ones
        // first, then one that keeps coming back must find room in the cache rather than be decided every time.
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        for (var i = 0; i < 20_000; i++) Assert.That(matcher.IsSensitive("field_" + i), Is.False);

        var copies = Enumerable.Range(0, 1_100).Select(_ => new string(key.AsSpan())).ToArray();
        for (var i = 0; i < 100; i++) Assert.That(matcher.IsSensitive(copies[i]), Is.EqualTo(sensitive));
        var (answers, allocated) = AskEach(matcher, copies.AsSpan(100), sensitive);
        Assert.That(answers, Is.EqualTo(1_000));
        Assert.That(allocated, Is.EqualTo(0));
        Assert.That(matcher.RetainedKeyCharacters, Is.LessThanOrEqualTo(16_384 * KeyMatcher.MaximumCachedKeyLength));
    }

    [Test]
    public void TwoKeysFromDataThatTakeTurnsAreBothAdmittedWhenTheirFirstSightingsShareASlot()
    {
        // Each overwrote the other's first sighting, so neither was admitted and both were decided on every event
        // (a string each), in the processes whose string hashes fell that way.
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        var first = "customer_note";
        var slot = matcher.Seen.SlotOf(first.GetHashCode());
        var second = Enumerable.Range(0, 1_000_000).Select(i => "order_note_" + i)
            .First(key => matcher.Seen.SlotOf(key.GetHashCode()) == slot && key.GetHashCode() != first.GetHashCode());
        var copies = Enumerable.Range(0, 1_000).Select(i => new string((i % 2 == 0 ? first : second).AsSpan())).ToArray();

        for (var i = 0; i < 10; i++) Assert.That(matcher.IsSensitive(copies[i]), Is.False);
        var (answers, allocated) = AskEach(matcher, copies.AsSpan(10), expected: false);
        Assert.That(answers, Is.EqualTo(990));
        Assert.That(allocated, Is.EqualTo(0));
    }

    [Test]
    public void TwoKeysReadOutOfTextThatShareASetAreBothAnsweredWithoutAllocating()
    {
        // A page's form fields, read where they stand for every event: 'input' (of Svelte's on:input=) and
        // 'value.prop' took one slot and cost a string and a decision each on every event, as any two names the
        // slot function puts together would.
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        Assert.That(KeyMatcher.TextNameSetOf("input"), Is.EqualTo(KeyMatcher.TextNameSetOf("value.prop")));
        var text = "input value.prop";
        for (var i = 0; i < 3; i++)
        {
            Assert.That(matcher.IsSensitiveTextKey(text.AsSpan(0, 5)), Is.False);
            Assert.That(matcher.IsSensitiveTextKey(text.AsSpan(6)), Is.False);
        }
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                matcher.IsSensitiveTextKey(text.AsSpan(0, 5));
                matcher.IsSensitiveTextKey(text.AsSpan(6));
            }
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.That(allocated, Is.EqualTo(0));
    }

    /// <summary>
    /// How many keys got the expected answer, and the least bytes allocated over three rounds (a third of the keys each),
    /// as the other allocation checks read them: an allocation per key shows in every round, while a one-time one the
    /// runtime makes on this thread as a method is recompiled (seen once on .NET 8: 3,008 B over 1,000 calls) shows in one only.
    /// </summary>
    static (int Answers, long Allocated) AskEach(KeyMatcher matcher, ReadOnlySpan<string> keys, bool expected)
    {
        var answers = 0;
        var least = long.MaxValue;
        var third = keys.Length / 3;
        for (var round = 0; round < 3; round++)
        {
            var part = round < 2 ? keys.Slice(round * third, third) : keys[(2 * third)..];
            var before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var key in part)
            {
                if (matcher.IsSensitive(key) == expected) answers++;
            }
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return (answers, least);
    }

    [Test]
    public void AKeyReadOutOfTextWhereItStandsGetsTheRulesAnswerAndAllocatesNothingOnceDecided()
    {
        // Entity key names are read out of key values written anew for every event ({Token: ..., UserId: ...}): many
        // names share the few slots, so each answer must be the rules' for its own text, never a neighbour's.
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        var keys = Cases.Keys().Select(c => c.Key).Append(new string('k', KeyMatcher.MaximumTextNameLength + 1) + "Token").ToArray();
        var wrong = new List<string>();
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var key in keys)
            {
                var text = "{" + key + ": 1}";
                if (matcher.IsSensitiveTextKey(text.AsSpan(1, key.Length)) != Defaults.IsSensitive(key)) wrong.Add(key);
            }
        }

        var list = "{UserId: 7, RefreshToken: x}";
        var answers = 0;
        for (var i = 0; i < 100; i++) answers += matcher.IsSensitiveTextKey(list.AsSpan(1, 6)) ? 0 : 1;
        // The least of three rounds: an allocation per call shows in every round, a one-time one of the runtime's in one.
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++) answers += matcher.IsSensitiveTextKey(list.AsSpan(1, 6)) ? 0 : 1;
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Multiple(() =>
        {
            Assert.That(wrong, Is.Empty);
            Assert.That(allocated, Is.EqualTo(0));
            Assert.That(answers, Is.EqualTo(3100));
            Assert.That(matcher.IsSensitiveTextKey(list.AsSpan(12, 12)), Is.True);
        });
    }

    [Test]
    public void KeysReadOutOfTextGetTheirOwnAnswerWhileManyThreadsReplaceEachOthersSlots()
    {
        // Emitters on many threads read distinct keys out of their texts at once: far more names than slots, so each
        // slot is replaced under the readers' feet. An answer is always the rules' for the key asked, never a
        // neighbour's (a name compared with one entry and answered from another).
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        var keys = Enumerable.Range(0, 8 * KeyMatcher.TextNameSlots)
            .Select(i => i % 2 == 0 ? $"field{i}_note" : $"field{i}_secret").ToArray();
        var texts = keys.Select(k => "x " + k + "=1").ToArray();
        var expected = keys.Select(k => Defaults.IsSensitive(k)).ToArray();
        Assert.That(expected.Count(e => e), Is.EqualTo(keys.Length / 2));
        var wrong = 0;
        var answered = 0;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (var pass = 0; pass < 50; pass++)
            {
                for (var n = 0; n < keys.Length; n++)
                {
                    // Each thread walks the keys from its own place, so the same slot holds another name for each.
                    var k = (n + t * 97) % keys.Length;
                    if (matcher.IsSensitiveTextKey(texts[k].AsSpan(2, keys[k].Length)) != expected[k]) Interlocked.Increment(ref wrong);
                    Interlocked.Increment(ref answered);
                }
            }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        var finished = threads.All(thread => thread.Join(TimeSpan.FromSeconds(60)));

        Assert.Multiple(() =>
        {
            Assert.That(finished, Is.True, "the readers did not finish");
            Assert.That(answered, Is.EqualTo(4 * 50 * keys.Length));
            Assert.That(wrong, Is.EqualTo(0));
        });
    }

    [Test]
    public void AKeyReadOutOfTextWhereItStandsKeepsTheConfiguredAdditionsAndExclusions()
    {
        // The memo answers a span from the same rules as a string: added and excluded keys, the rules' query parameters
        // unless excluded, and keys too long to be kept, asked twice (decided, then answered from the memo).
        var matcher = new KeyMatcher(KeyRules.Default, new[] { "badge_code", "*_iban" }, new[] { "token", "state" });
        var longSafe = new string('k', KeyMatcher.MaximumTextNameLength + 1) + "_note";
        var longSecret = new string('k', KeyMatcher.MaximumTextNameLength + 1) + "_password";
        (string Key, bool Text, bool Query)[] cases =
        {
            ("BadgeCode", true, true), ("customer_iban", true, true), ("Token", false, false), ("access_token", true, true),
            ("code", false, true), ("state", false, false), ("badge_code_hint", false, false),
            (longSafe, false, false), (longSecret, true, true),
        };
        var wrong = new List<string>();
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var (key, text, query) in cases)
            {
                var written = "?" + key + "=1";
                if (matcher.IsSensitiveTextKey(written.AsSpan(1, key.Length)) != text) wrong.Add($"text {key} pass {pass}");
                if (matcher.IsSensitiveQueryKey(written.AsSpan(1, key.Length)) != query) wrong.Add($"query {key} pass {pass}");
            }
        }
        Assert.Multiple(() =>
        {
            Assert.That(wrong, Is.Empty);
            Assert.That(matcher.RetainedTextNameCharacters, Is.LessThanOrEqualTo(KeyMatcher.TextNameSlots * KeyMatcher.MaximumTextNameLength));
        });
    }

    [Test]
    public void TheCasesFileCoversTheIssuesLists()
    {
        var keys = Cases.Keys().Select(k => k.Key).ToHashSet();
        var required = new[]
        {
            "password", "passwd", "pwd", "secret", "client_secret", "token", "access_token", "refresh_token", "id_token",
            "api_key", "apikey", "x-api-key", "authorization", "cookie", "set-cookie", "credit_card", "card_number", "cvv",
            "ssn", "private_key", "connection_string", "token_count", "tokens_used", "max_tokens", "prompt_tokens",
            "completion_tokens", "total_tokens", "tokenizer", "db_password", "newPassword", "github_token",
            "aws_secret_access_key", "session_token", "ApiKey", "API-KEY",
        };
        Assert.That(required.Where(k => !keys.Contains(k)), Is.Empty);
    }

    [Test]
    public void TheEmbeddedRulesFileIsTheOneInTheSourceTree()
    {
        // The repository root is found, not counted up to: the output folder's depth differs between runs
        // (bin/Release/net10.0, bin/serilog4/Release/net10.0).
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        var source = Path.Combine(dir!.FullName, "src", "Serilog.Extensions.Observability.Redaction", "Rules", "default-key-rules.txt");
        Assert.That(KeyRules.ReadDefaultText().ReplaceLineEndings(), Is.EqualTo(File.ReadAllText(source).ReplaceLineEndings()));
    }

    [Test]
    public void EveryWordOfTheRulesFileMakesACompoundKeySensitiveUnlessADescriptorFollows()
    {
        var rules = KeyRules.Parse(KeyRules.ReadDefaultText());
        // The file has lines of each kind checked below: a parse that lost one would leave its loop checking nothing.
        Assert.That(new[] { rules.Words.Count, rules.PhrasesByFirstWord.Count, rules.Keys.Count, rules.SafeKeys.Count }, Has.All.GreaterThan(0),
            "counts of words, phrases, keys, safe keys");
        Assert.Multiple(() =>
        {
            foreach (var word in rules.Words)
            {
                Assert.That(Defaults.IsSensitive("my_" + word), Is.True, "my_" + word);
                Assert.That(Defaults.IsSensitive("My" + char.ToUpperInvariant(word[0]) + word[1..]), Is.True, "My" + word);
                Assert.That(Defaults.IsSensitive(word + "_count"), Is.False, word + "_count");
            }
            foreach (var (first, second) in rules.PhrasesByFirstWord.SelectMany(p => p.Value.Select(s => (p.Key, s))))
            {
                Assert.That(Defaults.IsSensitive(first + "-" + second), Is.True, first + "-" + second);
                Assert.That(Defaults.IsSensitive("old_" + first + "_" + second + "_id"), Is.False, first + " " + second + " id");
            }
            foreach (var key in rules.Keys) Assert.That(Defaults.IsSensitive(key), Is.True, key);
            foreach (var key in rules.SafeKeys) Assert.That(Defaults.IsSensitive(key), Is.False, key);
            // Behind a dotted prefix, as [LogProperties] names an object's members ("request.ConnStr"): the same answer.
            foreach (var key in rules.Keys) Assert.That(Defaults.IsSensitive("request." + key), Is.True, "request." + key);
            foreach (var key in rules.SafeKeys) Assert.That(Defaults.IsSensitive("request." + key), Is.False, "request." + key);
        });
    }

    [Test]
    public void AnUnknownRuleKindIsRejectedWithItsLineNumber()
    {
        var ex = Assert.Throws<FormatException>(() => KeyRules.Parse("word: a\nsynonym: b\n"));
        Assert.That(ex!.Message, Does.Contain("line 2"));
    }

    [TestCase("api_key")]
    [TestCase("ApiKey")]
    [TestCase("API-KEY")]
    [TestCase("x-api-key")]
    [TestCase("api.key")]
    [TestCase("api key")]
    public void SpellingsOfOneKeyAreOneKey(string key)
    {
        Assert.That(Defaults.IsSensitive(key), Is.True);
    }

    [Test]
    public void AdditionalExactKeysMatchAfterNormalisationOnly()
    {
        var matcher = new KeyMatcher(KeyRules.Default, new[] { "badge_code" }, Array.Empty<string>());
        Assert.Multiple(() =>
        {
            Assert.That(matcher.IsSensitive("BadgeCode"), Is.True);
            Assert.That(matcher.IsSensitive("badge-code"), Is.True);
            Assert.That(matcher.IsSensitive("badge_code_hint"), Is.False);
        });
    }

    [Test]
    public void AdditionalSuffixPrefixAndContainsPatternsMatch()
    {
        var matcher = new KeyMatcher(null, new[] { "*_iban", "internal*", "*salary*" }, Array.Empty<string>());
        Assert.Multiple(() =>
        {
            Assert.That(matcher.IsSensitive("customerIban"), Is.True);
            Assert.That(matcher.IsSensitive("InternalNotes"), Is.True);
            Assert.That(matcher.IsSensitive("base_salary_eur"), Is.True);
            Assert.That(matcher.IsSensitive("iban_country"), Is.False);
            Assert.That(matcher.IsSensitive("password"), Is.False, "defaults are off");
        });
    }

    [Test]
    public void ExcludedKeysWinOverDefaultsAndAdditions()
    {
        var matcher = new KeyMatcher(KeyRules.Default, new[] { "nickname" }, new[] { "token", "nick_name", "*cookie" });
        Assert.Multiple(() =>
        {
            Assert.That(matcher.IsSensitive("Token"), Is.False);
            Assert.That(matcher.IsSensitive("NickName"), Is.False);
            Assert.That(matcher.IsSensitive("set-cookie"), Is.False);
            Assert.That(matcher.IsSensitive("access_token"), Is.True, "only the exact key is excluded");
        });
    }

    [Test]
    public void TheLastSegmentOfADottedKeyMatchesAdditionalAndExcludedKeys()
    {
        // Microsoft.Extensions.Telemetry's [LogProperties] writes a member as "<parameter>.<member>"; a nested one adds
        // more segments ("order.Payment.Iban").
        var matcher = new KeyMatcher(KeyRules.Default, new[] { "iban" }, new[] { "token", "nick_name" });
        Assert.Multiple(() =>
        {
            Assert.That(matcher.IsSensitive("request.Iban"), Is.True);
            Assert.That(matcher.IsSensitive("order.Payment.Iban"), Is.True);
            Assert.That(matcher.IsSensitive("request.IbanCountry"), Is.False, "only the exact key is added");
            Assert.That(matcher.IsSensitive("iban.Country"), Is.False, "only the last segment is compared");
            Assert.That(matcher.IsSensitive("request.Token"), Is.False, "excluded as Token is");
            Assert.That(matcher.IsSensitive("request.AccessToken"), Is.True, "only the exact key is excluded");
            Assert.That(matcher.IsSensitive("token.Value"), Is.True, "a sensitive word before the last segment still counts");
        });
    }

    [Test]
    public void AnExcludedOrSafeLastSegmentDoesNotKeepTheMemberOfASensitiveObject()
    {
        // {"token": {"Value": ...}} is masked whole, by its "token": "token.Value", the same member written flat, is too.
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), new[] { "value" });
        Assert.Multiple(() =>
        {
            Assert.That(matcher.IsSensitive("Value"), Is.False);
            Assert.That(matcher.IsSensitive("request.Value"), Is.False, "excluded as Value is");
            Assert.That(matcher.IsSensitive("token.Value"), Is.True);
            Assert.That(matcher.IsSensitive("request.password.Value"), Is.True);
            Assert.That(matcher.IsSensitive("request.PassThrough"), Is.False, "safe as PassThrough is");
            Assert.That(matcher.IsSensitive("secret.PassThrough"), Is.True);
            Assert.That(matcher.IsSensitive("api_key.MaxTokens"), Is.True);
        });
    }

    [Test]
    public void AnExcludedLastSegmentDoesNotKeepAKeyWhoseWordsJoinAcrossTheDot()
    {
        // "Api.Key" is the api key written as a member of an object "Api": an excluded "key" names a member that is a
        // key of its own ("cache.Key"), not the second word of a phrase the dot splits.
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), new[] { "key" });
        Assert.Multiple(() =>
        {
            Assert.That(matcher.IsSensitive("cache.Key"), Is.False, "excluded as Key is");
            Assert.That(matcher.IsSensitive("options.Api.Key"), Is.True);
            Assert.That(matcher.IsSensitive("Private.Key"), Is.True);
            Assert.That(matcher.IsSensitive("storage.Account.Key"), Is.True);
            Assert.That(matcher.IsSensitive("Signing.Key"), Is.True);
        });
    }

    [Test]
    public void ADottedKeyOfManySegmentsIsDecidedAsItsWordsSay()
    {
        // Dictionary and JSON keys come from data: a key of many excluded or safe segments after a sensitive word is
        // still masked, and deciding it looks back over a bounded number of segments (no recursion per segment).
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), new[] { "bypass" });
        var shallow = "password" + string.Concat(Enumerable.Repeat(".ByPass", 40));
        var deep = "password" + string.Concat(Enumerable.Repeat(".ByPass", 20_000));
        string? deepError = null;
        var deepAnswer = false;
        // A small stack, as a thread pool thread may have: a check per segment would overflow it.
        var thread = new Thread(() =>
        {
            try { deepAnswer = matcher.IsSensitive(deep); }
            catch (Exception e) { deepError = e.ToString(); }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        Assert.Multiple(() =>
        {
            Assert.That(matcher.IsSensitive("request.ByPass"), Is.False, "safe and excluded as ByPass is");
            Assert.That(matcher.IsSensitive("password.ByPass"), Is.True);
            Assert.That(matcher.IsSensitive(shallow), Is.True);
            Assert.That(deepError, Is.Null);
            Assert.That(deepAnswer, Is.True);
        });
    }

    [TestCase("")]
    [TestCase("  ")]
    [TestCase("*")]
    [TestCase("a*b")]
    [TestCase("*-*")]
    public void InvalidPatternsAreRejected(string pattern)
    {
        var ex = Assert.Throws<ArgumentException>(() => new KeyMatcher(null, new[] { pattern }, Array.Empty<string>()));
        Assert.That(ex!.ParamName, Is.EqualTo("additionalKeys"));
    }

    [Test]
    public void NullAndEmptyKeysAreNotSensitive()
    {
        Assert.That(Defaults.IsSensitive(null), Is.False);
        Assert.That(Defaults.IsSensitive(""), Is.False);
        Assert.That(Defaults.IsSensitive("--"), Is.False);
    }

    [Test]
    public void ManyDistinctKeysStillGetCorrectAnswersBeyondTheCache()
    {
        var matcher = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        for (var i = 0; i < 10_000; i++) matcher.IsSensitive("field" + i);
        Assert.That(matcher.IsSensitive("field_password_20000"), Is.True);
        Assert.That(matcher.IsSensitive("field20001"), Is.False);
    }

    [TestCase("APIKey", "api key")]
    [TestCase("newPassword", "new password")]
    [TestCase("oauth2Token", "oauth 2 token")]
    [TestCase("x-api-key", "x api key")]
    [TestCase("HTTPServerURL", "http server url")]
    [TestCase("aws.secret_access-key", "aws secret access key")]
    public void KeysSplitIntoWords(string key, string words)
    {
        Assert.That(string.Join(' ', KeyText.SplitWords(key)), Is.EqualTo(words));
    }
}
