using System.Reflection;
using Microsoft.Extensions.Logging;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>Captured without <c>@</c> as its type's full name, which ends in a sensitive word.</summary>
public sealed class ServiceCredentials;

/// <summary>
/// A tuple of (key name, value) is captured by Serilog as a two-element sequence, <c>["api_key","secret"]</c>: a scope
/// state, a header pair, a list of header pairs. The value is masked when the key name is sensitive.
/// </summary>
public class TuplePairLeakTests
{
    const string Mask = RedactionOptions.DefaultMask;

    /// <summary>
    /// Serilog.Extensions.Logging 9 and 10 turn a scope state that is a pair tuple with a string first element into a
    /// property named by it (<c>"api_key":"…"</c>); 8.0.0, whose assembly version is 7.0.0.0, captures the tuple as a
    /// <c>Scope</c> item (<c>"Scope":[["api_key","…"]]</c>). The package's version decides, not the assembly's; a version
    /// no test run takes fails rather than guesses.
    /// </summary>
    static bool ATupleScopeIsAProperty
    {
        get
        {
            var package = typeof(Serilog.Extensions.Logging.SerilogLoggerProvider).Assembly
                .GetCustomAttribute<AssemblyFileVersionAttribute>()!.Version;
            return Version.Parse(package).Major switch
            {
                8 => false,
                9 or 10 => true,
                _ => throw new InvalidOperationException($"No expected shape for Serilog.Extensions.Logging {package}."),
            };
        }
    }

    static string LogThroughMicrosoftLogging(Action<Microsoft.Extensions.Logging.ILogger> write, bool allPieces)
    {
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration().Enrich.FromLogContext();
        if (allPieces) configuration = configuration.Destructure.WithRedaction().Enrich.WithRedaction();
        using (var serilog = configuration.WriteTo.Redacted(s => s.Sink(sink)).CreateLogger())
        using (var provider = new Serilog.Extensions.Logging.SerilogLoggerProvider(serilog))
            write(provider.CreateLogger("Probe"));
        return Output.Render(sink.Events);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ATupleScopeNamingASensitiveKeyHasItsValueMasked(bool allPieces)
    {
        var text = LogThroughMicrosoftLogging(l =>
        {
            using (l.BeginScope(("api_key", "tuple-scope-secret-1"))) l.LogInformation("Calling upstream");
        }, allPieces);

        Assert.That(text, Does.Not.Contain("tuple-scope-secret-1"));
        if (ATupleScopeIsAProperty)
            Assert.That(text, Does.Contain($"\"api_key\":\"{Mask}\"").And.Not.Contain("\"Scope\""));
        else
            Assert.That(text, Does.Contain($"\"Scope\":[[\"api_key\",\"{Mask}\"]]"));
    }

    [Test]
    public void ATupleScopeNamingAnOrdinaryKeyIsKept()
    {
        var text = LogThroughMicrosoftLogging(l =>
        {
            using (l.BeginScope(("order_id", "order-visible-7"))) l.LogInformation("Calling upstream");
        }, allPieces: true);

        if (ATupleScopeIsAProperty)
            Assert.That(text, Does.Contain("\"order_id\":\"order-visible-7\"").And.Not.Contain("\"Scope\""));
        else
            Assert.That(text, Does.Contain("\"Scope\":[[\"order_id\",\"order-visible-7\"]]"));
    }

    [Test]
    public void ADottedKeyNameIsASensitiveKeyToo()
    {
        var text = Output.Render(Routes.Write(Route.MessageArgument, "Setting", ("db.password", "dotted-secret-9"), Pieces.Sink));
        Assert.That(text, Does.Not.Contain("dotted-secret-9").And.Contain("db.password"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void APairTupleNamingASensitiveKeyHasItsValueMaskedOnEveryRoute(Route route, Pieces pieces)
    {
        var pair = ValueTuple.Create<string, object>("password", "pair-secret-2");
        var text = Output.Render(Routes.Write(route, "Pair", pair, pieces));
        Assert.That(text, Does.Not.Contain("pair-secret-2").And.Contain("password").And.Contain(Mask));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void HeaderPairsInAnArrayOrAListHaveTheSensitiveOnesMaskedOnEveryRoute(Route route, Pieces pieces)
    {
        var array = new[] { ("Accept", "application/json-visible"), ("Authorization", "Bearer header-pair-secret-3") };
        var list = new List<(string, string)> { ("X-Api-Key", "header-pair-secret-4"), ("User-Agent", "agent-visible") };
        var nested = new Dictionary<string, object> { ["request"] = new { Headers = new[] { ("Cookie", "header-pair-secret-5") } } };

        var text = Output.Render(Routes.Write(route, "Headers", array, pieces)) +
                   Output.Render(Routes.Write(route, "Headers", list, pieces)) +
                   Output.Render(Routes.Write(route, "Context", nested, pieces));

        Assert.That(text, Does.Not.Contain("header-pair-secret"));
        Assert.That(text, Does.Contain("application/json-visible").And.Contain("agent-visible"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void TwoElementSequencesWhoseFirstElementIsNotASensitiveKeyAreKept(Route route, Pieces pieces)
    {
        var values = new object[]
        {
            ("order_id", "keep-1"),
            new[] { "token_count", "keep-2" },
            new[] { "keep-3", "password" },
            (42, "keep-4"),
            new[] { "password", "keep-5", "third" },
            new[] { "Password reset, then signed in", "keep-6" },
            new object[] { new ServiceCredentials(), "keep-7" },
        };
        var expected = Output.Render(Routes.Write(route, "Values", values, Pieces.None));
        var text = Output.Render(Routes.Write(route, "Values", values, pieces));

        Assert.That(text, Does.Contain("keep-1").And.Contain("keep-2").And.Contain("keep-3").And.Contain("keep-4").And.Contain("keep-5").And.Contain("keep-6").And.Contain("keep-7"));
        Assert.That(text, Does.Not.Contain(Mask));
        Assert.That(expected, Does.Contain("keep-5"));
    }

    [Test]
    public void TheDestructuringPolicyAloneMasksAValueTupleNamingASensitiveKey()
    {
        var value = Capture.Destructured(("api_key", "policy-tuple-secret-6"));
        Assert.That(value, Is.InstanceOf<SequenceValue>());
        Assert.That(value.ToString(), Is.EqualTo($"[\"api_key\", \"{Mask}\"]"));
    }

    [Test]
    public void TheDestructuringPolicyAloneMasksASystemTupleNamingASensitiveKey()
    {
        var withoutPolicy = Capture.Destructured(Tuple.Create("client_secret", "policy-tuple-secret-7"), withPolicy: false).ToString();
        var text = Capture.Destructured(Tuple.Create("client_secret", "policy-tuple-secret-7")).ToString();
        Assert.That(text, Does.Not.Contain("policy-tuple-secret-7"));
        Assert.That(text, Is.EqualTo(withoutPolicy.Replace("policy-tuple-secret-7", Mask)));
    }

    [Test]
    public void TheDestructuringPolicyKeepsTuplesThatNameNoSensitiveKeyExactlyAsSerilogCapturesThem()
    {
        foreach (var value in new object[] { ("order_id", "o-1"), Tuple.Create("user", "ann"), ("password", 1, 2), (1, "password") })
        {
            Assert.That(Capture.Destructured(value).ToString(), Is.EqualTo(Capture.Destructured(value, withPolicy: false).ToString()), value.ToString());
        }
    }

    [Test]
    public void AMaskedTupleValueIsMaskedInTheEventPassWithThePartialStyleToo()
    {
        var text = Output.Render(Routes.Write(Route.MessageArgument, "Pair", ("session_token", "partial-secret-8912"), Pieces.Sink,
            o => o.MaskStyle = RedactionMaskStyle.Partial));
        Assert.That(text, Does.Not.Contain("partial-secret-8912").And.Contain("8912"));
    }
}
