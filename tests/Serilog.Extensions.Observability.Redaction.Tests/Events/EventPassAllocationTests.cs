using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Events;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>The budget: the event pass over ten non-sensitive properties allocates nothing.</summary>
[NonParallelizable]
public class EventPassAllocationTests
{
    static LogEvent TenPropertyEvent() => Some.LogEvent(
        "Order {OrderId} for {Customer} took {ElapsedMs} ms",
        properties: new[]
        {
            Some.Property("OrderId", 12345),
            Some.Property("Customer", "ann"),
            Some.Property("ElapsedMs", 12.5),
            Some.Property("CorrelationId", "3f2a9c"),
            Some.Property("TraceId", "4bf92f3577b34da6a3ce929d0e0e4736"),
            Some.Property("SpanId", "00f067aa0ba902b7"),
            Some.Property("UserId", "u-1"),
            Some.Property("ThreadId", 7),
            Some.Property("Items", new SequenceValue(new[] { new ScalarValue(1), new ScalarValue(2) })),
            Some.Property("Address", new StructureValue(new[] { new LogEventProperty("City", new ScalarValue("Oslo")) }, "Address")),
        });

    /// <summary>
    /// A text longer than the memo of clean texts keeps, with nothing in it to mask: the detectors return no rewrite, and
    /// the sink pass over an event holding it as <paramref name="name"/> allocates nothing.
    /// </summary>
    static void AssertCleanLongTextPassesWithoutAllocating(string name, string text, RedactionOptions options)
    {
        Assert.That(text.Length, Is.GreaterThan(CleanTexts.MaximumLength));
        var logEvent = TenPropertyEvent();
        logEvent.AddOrUpdateProperty(new LogEventProperty(name, new ScalarValue(text)));
        var redactor = RedactorFactory.Create(options);
        Assert.That(redactor.Detectors!.Redact(text), Is.Null);
        var sink = new RedactingSink(new DelegatingSink(_ => { }), redactor);
        Assert.That(AllocatedBy(() => sink.Emit(logEvent), 1000), Is.EqualTo(0));
    }

    // The least of three rounds: an allocation per call shows in every round, while a one-time one the runtime makes on
    // this thread as a method is recompiled (seen once on .NET 8: 3,008 B over 1,000 calls) shows in one round only.
    static long AllocatedBy(Action action, int iterations)
    {
        for (var i = 0; i < 100; i++) action();
        var least = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < iterations; i++) action();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }

    [Test]
    public void TheSinkWrapperAllocatesNothingForAnEventWithNothingToMask()
    {
        var logEvent = TenPropertyEvent();
        var inner = new DelegatingSink(_ => { });
        var sink = new RedactingSink(inner, RedactorFactory.Create(new RedactionOptions()));
        Assert.That(AllocatedBy(() => sink.Emit(logEvent), 1000), Is.EqualTo(0));
    }

    [Test]
    public void TheEnricherAllocatesNothingForAnEventWithNothingToMask()
    {
        var logEvent = TenPropertyEvent();
        var enricher = new RedactingEnricher(RedactorFactory.Create(new RedactionOptions()));
        ILogEventPropertyFactory factory = null!;
        Assert.That(AllocatedBy(() => enricher.Enrich(logEvent, factory), 1000), Is.EqualTo(0));
    }

    [Test]
    public void TwoElementSequencesWhoseFirstElementIsNoSensitiveKeyAllocateNothing()
    {
        // A scope tuple, header pairs, and a pair whose first text is too long to be a key name (never looked up).
        var logEvent = TenPropertyEvent();
        static SequenceValue Pair(string first, string second) => new(new[] { new ScalarValue(first), new ScalarValue(second) });
        logEvent.AddOrUpdateProperty(new LogEventProperty("Scope", new SequenceValue(new[] { Pair("order_id", "o-1") })));
        logEvent.AddOrUpdateProperty(new LogEventProperty("Headers", new SequenceValue(new[] { Pair("Accept", "json"), Pair("User-Agent", "probe") })));
        logEvent.AddOrUpdateProperty(new LogEventProperty("Text", Pair(new string('x', 4096), "y")));
        var sink = new RedactingSink(new DelegatingSink(_ => { }), RedactorFactory.Create(new RedactionOptions()));
        Assert.That(AllocatedBy(() => sink.Emit(logEvent), 1000), Is.EqualTo(0));
    }

    [Test]
    public void DictionariesWithNothingToMaskAndNoQualifiedTypeEntryAllocateNothing()
    {
        // A "Type" or "$Type" entry is looked up only when it holds a namespace- or type-qualified name.
        var logEvent = TenPropertyEvent();
        static DictionaryValue Dictionary(params (string Key, object Value)[] entries) =>
            new(entries.Select(e => new KeyValuePair<ScalarValue, LogEventPropertyValue>(new ScalarValue(e.Key), new ScalarValue(e.Value))));
        logEvent.AddOrUpdateProperty(new LogEventProperty("Counts", Dictionary(("orders", 3), ("refunds", 1))));
        logEvent.AddOrUpdateProperty(new LogEventProperty("Detail", Dictionary(("Type", "Refund"), ("Amount", 12))));
        logEvent.AddOrUpdateProperty(new LogEventProperty("Kind", Dictionary(("$Type", "Refund"), ("Type", 7))));
        var sink = new RedactingSink(new DelegatingSink(_ => { }), RedactorFactory.Create(new RedactionOptions()));
        Assert.That(AllocatedBy(() => sink.Emit(logEvent), 1000), Is.EqualTo(0));
    }

    [Test]
    public void AQueryKeyThatIsNotSensitiveIsCheckedAgainstTheQueryRulesWithoutAllocating()
    {
        // DetectEmbeddedCredentials asks this for every key after '?' or '&'. A property name seen twice (two instances:
        // the same one is answered by reference and not counted) is answered from the text cache without allocating.
        var keys = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        for (var i = 0; i < 2; i++) keys.IsSensitive(string.Concat("Page", "_Size"));
        var answers = 0;
        var allocated = AllocatedBy(() => answers += keys.IsSensitiveQueryKey("Page_Size") ? 1 : 0, 1000);
        Assert.Multiple(() =>
        {
            Assert.That(allocated, Is.EqualTo(0));
            Assert.That(answers, Is.EqualTo(0));
            Assert.That(keys.IsSensitiveQueryKey("Code_Verifier"), Is.True);
            Assert.That(new KeyMatcher(KeyRules.Default, Array.Empty<string>(), new[] { "state" }).IsSensitiveQueryKey("State"), Is.False);
        });
    }

    [Test]
    public void AFormFieldsNameIsCheckedWhereItStandsWithoutAllocatingOnceDecided()
    {
        // DetectEmbeddedCredentials asks this for the name of every HTML form field that has a value: a page is written
        // anew for every event, so its names are read where they stand, not cut out as strings.
        var keys = new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>());
        const string page = "<input name=\"order_id\" value=\"o-1\"><input name=\"code\" value=\"x\">";
        var orderIdAt = page.IndexOf("order_id", StringComparison.Ordinal);
        var codeAt = page.IndexOf("\"code\"", StringComparison.Ordinal) + 1;
        int safe = 0, sensitive = 0;
        var allocated = AllocatedBy(() =>
        {
            if (keys.IsSensitiveQueryKey(page.AsSpan(orderIdAt, 8))) safe++;
            if (keys.IsSensitiveQueryKey(page.AsSpan(codeAt, 4))) sensitive++;
        }, 1000);
        Assert.Multiple(() =>
        {
            Assert.That(allocated, Is.EqualTo(0));
            Assert.That((safe, sensitive), Is.EqualTo((0, 3100)));
            Assert.That(new KeyMatcher(KeyRules.Default, Array.Empty<string>(), new[] { "code" }).IsSensitiveQueryKey(page.AsSpan(codeAt, 4)), Is.False);
        });
    }

    [Test]
    public void ALongCleanTextOfPairsIsReadWithoutAllocating()
    {
        // DetectEmbeddedCredentials reads the key of every "key=value" pair. A text longer than the memo of clean texts
        // keeps is read anew for every event (a proxy's access line, a long query), so its keys are read where they
        // stand: in prose, after '?' and '&', percent-encoded, and in a quoted entity type's key values.
        var text = string.Join(" ", Enumerable.Range(0, 16).Select(i => $"field{i % 5}=value{i}"))
                   + " url=/orders?page=2&sort=desc&cursor=abc next=%3Fpage%3D3 host=\"api.internal\""
                   + " entity type 'Order' with the key value '{Id: 7}'";
        AssertCleanLongTextPassesWithoutAllocating("Line", text, new RedactionOptions { DetectEmbeddedCredentials = true });
    }

    [Test]
    public void ALongCleanTextOfHeaderLinesIsReadWithoutAllocating()
    {
        // DetectEmbeddedCredentials reads the name before every ": " (HttpRequestMessage.ToString(), a raw dump). A text
        // longer than the memo of clean texts keeps is read anew for every event, so its names are read where they stand.
        var text = "Method: GET, RequestUri: 'https://api/orders?page=2', Version: 1.1, Content: <null>, Headers:\r\n{\r\n"
                   + string.Concat(Enumerable.Range(0, 8).Select(i => $"  X-Trace-{i}: t-{i}\r\n"))
                   + "  Accept: application/json\r\n  User-Agent: probe/1.0\r\n}\r\nThe token: was rejected. Time: 12:00";
        AssertCleanLongTextPassesWithoutAllocating("Request", text, new RedactionOptions { DetectEmbeddedCredentials = true });
    }

    [Test]
    public void ALongCleanTextOfDottedNamesAndEscapedHeaderLinesIsReadWithoutAllocating()
    {
        // DetectEmbeddedCredentials reads a dotted name before ": " as a configuration key's (Jwt.Secret: ...) and a
        // header after an escaped line break (\r\n in a JSON string) as one at the start of a line: an exception's
        // ToString(), a logger category, a settings dump, a serialized HTTP record's members and a compact JSON array's
        // strings (each read from a JSON string's start) with nothing to mask (a long text that holds a whole JSON object
        // allocates in the event pass already, for another reason: left out).
        var text = "System.InvalidOperationException: Failed\n ---> System.Security.Authentication.AuthenticationException: "
                   + "The token was rejected\n   at A.B() in /src/a.cs:line 4\n"
                   + "Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerHandler: Information: Failed to validate the token.\n"
                   + string.Concat(new[] { "Default", "Microsoft", "System", "Hosting", "Routing" }.Select(c => $"Logging.LogLevel.{c}: Information\n"))
                   + "Kestrel.Endpoints.Http.Url: http://api.example:8080\n"
                   + "\"headers\":\"Host: api\\r\\nAccept: */*\\r\\nUser-Agent: probe/1.0\\r\\nX-Trace: t-1\", \"status\": 200"
                   + ", \"lines\":[\"Host: api\",\"Accept: */*\",\"status: ok\\nretry: 0\"]";
        AssertCleanLongTextPassesWithoutAllocating("Dump", text, new RedactionOptions { DetectEmbeddedCredentials = true, DetectJwts = true, DetectKnownTokenFormats = true });
    }

    [Test]
    public void ALongCleanTextOfLabelsOfTwoWordsIsReadWithoutAllocating()
    {
        // DetectEmbeddedCredentials reads the two words before a colon as one label when together they name a secret
        // ("API key: ..."). A status dump writes a label of two words a line, none a secret's: more than the few names
        // read out of text that are remembered, so they must be told apart from a secret's without being looked up.
        var labels = new[]
        {
            "Total requests", "Failed requests", "Pending orders", "Average latency", "Open connections", "Queue depth",
            "Cache hits", "Cache misses", "Worker threads", "Free memory", "Disk usage", "Last error", "Retry count",
            "Active users", "Peak memory", "Shipped orders", "Dropped events", "Written events", "Slow queries",
            "Open files", "Thread pool", "Heap size", "Build number", "Start time", "Host name", "Process id",
            "Machine name", "Runtime version", "Log level", "Config source", "Batch size", "Flush interval",
            "Buffer size", "Sink count", "Max retries",
        };
        var text = string.Concat(labels.Select((label, i) => $"{label}: {i + 1}\n"));
        AssertCleanLongTextPassesWithoutAllocating("Status", text, new RedactionOptions { DetectEmbeddedCredentials = true });
    }

    [Test]
    public void APairOfHolesWhoseKeyIsNotSensitiveIsReadWithoutAllocating()
    {
        // A template that writes a key and its value in two holes ("{Key}={Value}", a dump of configuration) has its
        // value masked when the key is sensitive: the key hole's value is read for every event, and a configuration
        // path is decided by its whole and by its last segment, each where it stands.
        static LogEvent Setting(string key) => Some.LogEvent("Setting {Key}={Value} from {Source}", properties: new[]
        {
            Some.Property("Key", key), Some.Property("Value", "Warning"), Some.Property("Source", "appsettings.json"),
        });
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true });
        LogEvent? written = null;
        var sink = new RedactingSink(new DelegatingSink(e => written = e), redactor);
        sink.Emit(Setting("Jwt:Secret"));
        Assert.That(written!.Properties["Value"].ToString(), Is.EqualTo("\"[REDACTED]\""));

        var logEvent = Setting("Logging:LogLevel:Default");
        Assert.That(AllocatedBy(() => sink.Emit(logEvent), 1000), Is.EqualTo(0));
        Assert.That(written!.Properties["Value"].ToString(), Is.EqualTo("\"Warning\""));
    }

    [Test]
    public void TextThatOnlyLooksLikeAKnownTokenFormatIsReadWithoutAllocating()
    {
        // DetectKnownTokenFormats stops at every 'A', '_' and '-' and at every armor line. A text longer than the memo of
        // clean texts keeps is read anew for every event, so near misses of every format must cost no allocation.
        var text = "ASIA-PACIFIC orders via AKIA_LIKE_NAME and AKIAIOSFODNN7EXAMPLEX, AIzaShort, ghp_short gho_ ghu-x"
                   + " github_pat_short xoxb-test xoxo-1 sk_live_short task_live_abcdefghijklmnopqrstuvwxyz pk_live_"
                   + " 3f2a9c4e-1b7d-4e2a-9c3f-0a1b2c3d4e5f A_B-C __init__ --verbose"
                   + " -----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Fy\n-----END CERTIFICATE-----"
                   + " -----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
                   + " cert=-----BEGIN%20CERTIFICATE-----%0AMIIBszCCAVmgAwIBAgIUQ2Fy%0A-----END%20CERTIFICATE-----"
                   + "&pub=-----BEGIN+PUBLIC+KEY-----%0AMFkwEwYHKoZIzj0CAQYI%0A-----END+PUBLIC+KEY-----";
        Assert.That(text.Length, Is.GreaterThan(CleanTexts.MaximumLength));
        var logEvent = TenPropertyEvent();
        logEvent.AddOrUpdateProperty(new LogEventProperty("Line", new ScalarValue(text)));
        var redactor = RedactorFactory.Create(new RedactionOptions { DetectKnownTokenFormats = true });
        Assert.That(redactor.Detectors!.Redact(text), Is.Null);
        var sink = new RedactingSink(new DelegatingSink(_ => { }), redactor);
        var enricher = new RedactingEnricher(redactor);
        ILogEventPropertyFactory factory = null!;
        Assert.Multiple(() =>
        {
            Assert.That(AllocatedBy(() => sink.Emit(logEvent), 1000), Is.EqualTo(0));
            Assert.That(AllocatedBy(() => enricher.Enrich(logEvent, factory), 1000), Is.EqualTo(0));
        });
    }

    [Test]
    public void ReadingAPageWithNothingToMaskAllocatesNothingWhicheverWayItIsWritten()
    {
        // DetectEmbeddedCredentials reads form fields in markup written with '<', with "\u003C" (a page in a JSON string)
        // or with character references ("&lt;", "&#34;", an HTML-encoded page; "\u0026lt;" in a JSON string; "&amp;lt;",
        // a page encoded twice), a textarea's content and a sensitive select's options too, and prose with references but
        // no markup. A page with nothing to mask allocates nothing, whichever way it is written.
        var detectors = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true }).Detectors!;
        const string markup =
            "<form><input name=\"q\" value=\"search term\"><textarea name=\"note\">hi</textarea><input name=\"q\" name=\"s\" value=\"a\" value=\"b\">" +
            "<select name=\"size\"><option value=\"L\" selected>Large</option><option>S</option></select>" +
            "<select name=\"password\"><option value=\"\"> </option><option>\n</option></select>" +
            "<select name=\"api_key\"><option> </option><input name=\"q\" list=\"c\" value=\"x\"><datalist id=\"c\"><option value=\"y\"></datalist></form>";
        const string escaped =
            "{\"html\":\"\\u003Cinput name=\\u0022q\\u0022 value=\\u0022search term\\u0022\\u003E\\u003Ctextarea name=\\u0022note\\u0022\\u003Ehi\\u003C/textarea\\u003E\"}";
        const string encoded =
            "&lt;form&gt;&lt;input name=&quot;q&quot; value=&#34;search term&#34;&gt;&lt;textarea name=&#x22;note&#x22;&gt;hi&lt;/textarea&gt;&lt;/form&gt;";
        const string escapedEncoded =
            "{\"html\":\"\\u0026lt;input name=\\u0026quot;q\\u0026quot; value=\\u0026#34;search term\\u0026#34;\\u0026gt;\\u0026lt;textarea name=\\u0026quot;note\\u0026quot;\\u0026gt;hi\\u0026lt;/textarea\\u0026gt;\"}";
        const string upperCased = "&#0060;input NAME=&QUOT;q&QUOT; VALUE=&#x0022;term&#x0022;&#x003E;&LT;TEXTAREA NAME=note&GT;hi&LT;/TEXTAREA&GT;";
        const string prose = "Tom &amp; Jerry &lt;3 &#60; &#x3C; &quot;quoted&quot; a=1";
        // A page encoded twice (an encoded page quoted in an encoded report), as it is and in a JSON string.
        const string encodedTwice =
            "&amp;lt;input name=&amp;quot;q&amp;quot; value=&#38;quot;term&#38;quot;&amp;gt;&amp;lt;textarea name=note&amp;gt;hi&amp;lt;/textarea&amp;gt;" +
            "{\"html\":\"\\u0026amp;lt;select name=\\u0026amp;quot;password\\u0026amp;quot;\\u0026amp;gt;\\u0026amp;lt;/select\\u0026amp;gt;\"}";
        // A page a template framework serves: binding and event attributes around the fields' names and values, expressions
        // in braces read whole, a template's tags in the element's name and around its attributes, and script whose
        // comparison's '<' opens no element (an operand's parenthesis after it, a code block's brace).
        const string template =
            "<form (ngSubmit)=\"save()\" #f=\"ngForm\"><input [disabled]=\"busy\" *ngIf=\"show\" name=\"q\" (input)=\"go()\" value=\"term\">" +
            "<input :class=\"{ bad: error }\" v-model=\"form.q\" @click.prevent=\"noop\" ?hidden=\"x\" on:input|once={h} name=\"s\" :value=\"b\"></form>" +
            "<input { ...rest } name=\"q\" on:keyup={() => n > 0 && go()} .value=${a > b ? x : y} :value.prop=\"v\">" +
            "<script>if (a <b || c) { name = \"code\"; value = \"42\"; }</script>" +
            "<input name=\"q\",value=\"term\" bind-value=\"v\" @bind=\"Q\" value={v}/>" +
            "<input{{attrs|xmlattr}} name=\"q\" {if $x}readonly{/if} #{ a} {/* c */} value=\"term\"><textarea${spread(p)} name=\"q\">hi</textarea>" +
            "<script>if (n <max) f(x, name=\"code\", value=\"42\"); if (a <b || c){ name = \"code\"; value = \"42\"; }</script>";
        var found = 0;
        long Reading(string text) => AllocatedBy(() => found += detectors.RedactEmbeddedCredentials(text) is null ? 0 : 1, 1000);
        var allocated = (Reading(markup), Reading(escaped), Reading(encoded), Reading(escapedEncoded), Reading(upperCased), Reading(prose),
            Reading(template), Reading(encodedTwice));
        Assert.Multiple(() =>
        {
            Assert.That(found, Is.EqualTo(0));
            Assert.That(allocated, Is.EqualTo((0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L)));
        });
    }

    [Test]
    public void LongFieldNamesOfAPageAreReadWithoutAllocatingOnceDecided()
    {
        // ASP.NET Web Forms names its fields by their controls' path (68 characters here); a page is longer than the memo
        // of clean texts keeps, so it is read anew for every event, and its names are answered from the memo of keys
        // read out of text, up to the length of a key the cache of property names keeps.
        var detectors = RedactorFactory.Create(new RedactionOptions { DetectEmbeddedCredentials = true }).Detectors!;
        const string name = "ctl00$MainContent$CheckoutWizard$ShippingStep$txtDeliveryInstructions";
        var page = $"<form method=\"post\"><input name=\"{name}\" value=\"leave at the door\"><input name=\"{name}2\" value=\"ring twice\"></form>";
        Assert.That(name, Has.Length.GreaterThan(64));
        var found = 0;
        var allocated = AllocatedBy(() => found += detectors.RedactEmbeddedCredentials(page) is null ? 0 : 1, 1000);
        Assert.Multiple(() =>
        {
            Assert.That(found, Is.EqualTo(0));
            Assert.That(allocated, Is.EqualTo(0));
        });
    }

    [Test]
    public void TheMeasurementSeesAllocationsWhenThereAreSome()
    {
        var logEvent = TenPropertyEvent();
        logEvent.AddOrUpdateProperty(new LogEventProperty("Password", new ScalarValue("p")));
        var sink = new RedactingSink(new DelegatingSink(_ => { }), RedactorFactory.Create(new RedactionOptions()));
        Assert.That(AllocatedBy(() => sink.Emit(logEvent), 10), Is.GreaterThan(0));
    }
}
