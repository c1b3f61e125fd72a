using System.Diagnostics;
using System.Text;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.Enrichers.Tests;

public class CorrelationPropagationTests
{
    [Test]
    public void InjectWritesTheCurrentIdUnderTheDefaultHeader()
    {
        var headers = new Dictionary<string, string>();
        using (CorrelationContext.Begin("abc-123"))
            Assert.That(CorrelationPropagation.Inject(headers), Is.True);

        Assert.That(headers, Is.EquivalentTo(new Dictionary<string, string> { ["X-Correlation-ID"] = "abc-123" }));
    }

    [Test]
    public void InjectReplacesAnOlderValueOfTheSameHeaderInAnotherCase()
    {
        // A relayed message may carry the header as another producer spelled it; TryExtract matches names ignoring case,
        // so a consumer reading "x-correlation-id" must not get the old id next to the new one.
        var strings = new Dictionary<string, string> { ["x-correlation-id"] = "stale", ["Other"] = "kept" };
        var objects = new Dictionary<string, object> { ["X-CORRELATION-ID"] = "stale"u8.ToArray() };
        using (CorrelationContext.Begin("fresh"))
        {
            Assert.That(CorrelationPropagation.Inject(strings), Is.True);
            Assert.That(CorrelationPropagation.Inject(objects), Is.True);
        }

        Assert.That(strings, Is.EquivalentTo(new Dictionary<string, string> { ["X-Correlation-ID"] = "fresh", ["Other"] = "kept" }));
        Assert.That(objects, Is.EquivalentTo(new Dictionary<string, object> { ["X-Correlation-ID"] = "fresh" }));
        Assert.That(CorrelationPropagation.TryExtract(strings, out var id, "x-correlation-id") ? id : null, Is.EqualTo("fresh"));
    }

    [Test]
    public void InjectWithoutACorrelationIdOrActivityWritesNothing()
    {
        var headers = new Dictionary<string, string>();
        Assert.That(CorrelationPropagation.Inject(headers), Is.False);
        Assert.That(headers, Is.Empty);
    }

    [Test]
    public void InjectFallsBackToTheCurrentW3CTraceId()
    {
        var headers = new Dictionary<string, object>();
        using var activity = new Activity("send").SetIdFormat(ActivityIdFormat.W3C).Start();

        Assert.That(CorrelationPropagation.Inject(headers, "correlation"), Is.True);
        Assert.That(headers["correlation"], Is.EqualTo(activity.TraceId.ToHexString()));
    }

    [Test]
    public void InjectThroughASetterReachesAnyCarrier()
    {
        var carrier = new List<(string, string)>();
        using (CorrelationContext.Begin("custom"))
            CorrelationPropagation.Inject(carrier, static (c, name, value) => c.Add((name, value)), "cid");

        Assert.That(carrier, Is.EqualTo(new[] { ("cid", "custom") }));
    }

    [Test]
    public void AnIdInjectedOnOneSideIsExtractedAndBegunOnTheOther()
    {
        var headers = new Dictionary<string, string>();
        using (CorrelationContext.Begin("round-trip"))
            CorrelationPropagation.Inject(headers);

        Assert.That(CorrelationContext.CurrentId, Is.Null);
        using (CorrelationPropagation.BeginFrom(headers))
            Assert.That(CorrelationContext.CurrentId, Is.EqualTo("round-trip"));
    }

    [Test]
    public void TryExtractMatchesTheHeaderNameIgnoringCase()
    {
        var headers = new List<KeyValuePair<string, string>> { new("x-correlation-id", "lower") };

        Assert.That(CorrelationPropagation.TryExtract(headers, out var id), Is.True);
        Assert.That(id, Is.EqualTo("lower"));
    }

    [Test]
    public void TryExtractPrefersTheExactHeaderNameInAListThatAlsoHoldsItInAnotherCase()
    {
        // Not a dictionary (Kafka headers, a list of pairs): the documented "exactly first, then ignoring case" still holds.
        var strings = new List<KeyValuePair<string, string>> { new("x-correlation-id", "other-case"), new("X-Correlation-ID", "exact") };
        var objects = new List<KeyValuePair<string, object>> { new("x-correlation-id", "other-case"), new("X-Correlation-ID", "exact"u8.ToArray()) };

        Assert.That(CorrelationPropagation.TryExtract(strings, out var fromStrings), Is.True);
        Assert.That(fromStrings, Is.EqualTo("exact"));
        Assert.That(CorrelationPropagation.TryExtract(objects, out var fromObjects), Is.True);
        Assert.That(fromObjects, Is.EqualTo("exact"));
    }

    [Test]
    public void TryExtractReadsUtf8ByteValuesFromObjectHeaders()
    {
        var headers = new Dictionary<string, object> { ["X-Correlation-ID"] = Encoding.UTF8.GetBytes("from-rabbit") };

        Assert.That(CorrelationPropagation.TryExtract(headers, out var id), Is.True);
        Assert.That(id, Is.EqualTo("from-rabbit"));
    }

    [Test]
    public void TryExtractReturnsFalseWhenTheHeaderIsAbsentOrTheCollectionIsNull()
    {
        Assert.That(CorrelationPropagation.TryExtract(new Dictionary<string, string>(), out _), Is.False);
        Assert.That(CorrelationPropagation.TryExtract((IEnumerable<KeyValuePair<string, string>>?)null, out _), Is.False);
        Assert.That(CorrelationPropagation.TryExtract(new Dictionary<string, object> { ["X-Correlation-ID"] = 42 }, out _), Is.False);
    }

    [TestCaseSource(nameof(HostileValues))]
    public void AHostileHeaderIsRejectedAndReplacedByANewId(string hostile)
    {
        var headers = new Dictionary<string, string> { ["X-Correlation-ID"] = hostile };

        Assert.That(CorrelationPropagation.TryExtract(headers, out var id), Is.False);
        Assert.That(id, Is.Null);
        using (CorrelationPropagation.BeginFrom(headers))
            Assert.That(CorrelationContext.CurrentId, Does.Match("^[0-9a-f]{32}$"));
    }

    [Test]
    public void TheHostileValuesFileHoldsEachKindOfAttack()
    {
        // The test above takes its cases from the file: with lines gone (or the file emptied) it would check nothing.
        var values = HostileValues().ToList();
        Assert.That(values.Any(v => v.Length > 128), Is.True, "one over the length limit");
        Assert.That(values.Any(v => v.Contains('\r') || v.Contains('\n')), Is.True, "a line break (header or log injection)");
        Assert.That(values.Any(v => v.Contains('\0')), Is.True, "a NUL");
        Assert.That(values.Any(v => v.Any(c => c > 127)), Is.True, "non-ASCII");
    }

    static IEnumerable<string> HostileValues() => File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "Configuration", "hostile-correlation-ids.txt"))
        .Where(line => !line.StartsWith('#'))
        .Select(line => line.Replace("\\r", "\r").Replace("\\n", "\n").Replace("\\0", "\0").Replace("{LONG}", new string('a', 129)));

    [Test]
    public void TryExtractThroughAGetterAppliesTheSameValidation()
    {
        var ok = CorrelationPropagation.TryExtract("good-id", static (c, _) => c, out var id);
        var bad = CorrelationPropagation.TryExtract("bad id", static (c, _) => c, out _);

        Assert.That(ok, Is.True);
        Assert.That(id, Is.EqualTo("good-id"));
        Assert.That(bad, Is.False);
    }

    [Test]
    public void BeginFromThroughAGetterBeginsTheCarriersIdUnderTheGivenName()
    {
        var jobParameters = new Dictionary<string, string> { ["CorrelationId"] = "job-7", ["X-Correlation-ID"] = "other" };
        string? seen;
        using (CorrelationPropagation.BeginFrom(jobParameters, static (p, name) => p.GetValueOrDefault(name), "CorrelationId"))
            seen = CorrelationContext.CurrentId;

        Assert.That(seen, Is.EqualTo("job-7"));
        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [TestCaseSource(nameof(HostileValues))]
    public void BeginFromThroughAGetterReplacesAHostileValueByANewId(string hostile)
    {
        using (CorrelationPropagation.BeginFrom(hostile, static (c, _) => c))
            Assert.That(CorrelationContext.CurrentId, Does.Match("^[0-9a-f]{32}$"));
    }

    [Test]
    public void BeginFromThroughAGetterBeginsANewIdWhenTheCarrierHasNone()
    {
        string? first, second;
        using (CorrelationPropagation.BeginFrom(new object(), static (_, _) => null))
            first = CorrelationContext.CurrentId;
        using (CorrelationPropagation.BeginFrom(new object(), static (_, _) => null))
            second = CorrelationContext.CurrentId;

        Assert.That(first, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(second, Does.Match("^[0-9a-f]{32}$").And.Not.EqualTo(first));
    }

    [Test]
    public void BeginFromThroughAGetterChecksItsArguments()
    {
        var getter = Assert.Throws<ArgumentNullException>(() => CorrelationPropagation.BeginFrom("carrier", null!));
        var name = Assert.Throws<ArgumentException>(() => CorrelationPropagation.BeginFrom("carrier", static (c, _) => c, " "));

        Assert.That(getter!.ParamName, Is.EqualTo("getter"));
        Assert.That(name!.ParamName, Is.EqualTo("headerName"));
        Assert.That(CorrelationContext.CurrentId, Is.Null);
    }

    [Test]
    public void ABlankHeaderNameIsAConfigurationError()
    {
        var ex = Assert.Throws<ArgumentException>(() => CorrelationPropagation.Inject(new Dictionary<string, string>(), " "));
        Assert.That(ex!.ParamName, Is.EqualTo("headerName"));
    }
}
