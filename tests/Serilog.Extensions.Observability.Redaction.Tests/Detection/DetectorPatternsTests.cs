using System.Text.RegularExpressions;
using Serilog.Extensions.Observability.Redaction.Detection;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Detection;

public class DetectorPatternsTests
{
    static readonly TimeSpan DefaultTimeout = new RedactionOptions().PatternMatchTimeout;

    static IEnumerable<TestCaseData> BuiltIns()
    {
        yield return new TestCaseData("card", (Func<TimeSpan, Regex>)DetectorPatterns.CardNumbers).SetName("card");
        yield return new TestCaseData("jwt", (Func<TimeSpan, Regex>)DetectorPatterns.Jwts).SetName("jwt");
        yield return new TestCaseData("bearer", (Func<TimeSpan, Regex>)DetectorPatterns.BearerTokens).SetName("bearer");
        yield return new TestCaseData("email", (Func<TimeSpan, Regex>)DetectorPatterns.EmailAddresses).SetName("email");
    }

    [TestCaseSource(nameof(BuiltIns))]
    public void BuiltInDetectorsAtTheDefaultTimeoutAreSourceGeneratedAndShared(string detector, Func<TimeSpan, Regex> pattern)
    {
        var first = pattern(DefaultTimeout);
        Assert.That(first.GetType(), Is.Not.EqualTo(typeof(Regex)), "a source-generated expression is a subclass");
        Assert.That(first, Is.SameAs(pattern(DefaultTimeout)));
        Assert.That(first.MatchTimeout, Is.EqualTo(DefaultTimeout));
    }

    [TestCaseSource(nameof(BuiltIns))]
    public void BuiltInDetectorsAtAnotherTimeoutAreCompiledOnceWithThatTimeout(string detector, Func<TimeSpan, Regex> pattern)
    {
        var timeout = TimeSpan.FromMilliseconds(1234);
        var first = pattern(timeout);
        Assert.That(first.MatchTimeout, Is.EqualTo(timeout));
        Assert.That(first.Options & RegexOptions.Compiled, Is.EqualTo(RegexOptions.Compiled));
        Assert.That(first, Is.SameAs(pattern(timeout)));
    }

    /// <summary>The generated and the compiled expression must find the same text in every case the detector tests use.</summary>
    [TestCaseSource(nameof(BuiltIns))]
    public void GeneratedAndCompiledBuiltInsFindTheSameMatches(string detector, Func<TimeSpan, Regex> pattern)
    {
        var generated = pattern(DefaultTimeout);
        var compiled = pattern(TimeSpan.FromSeconds(5));
        var inputs = Cases.Lines("detectors.txt").Select(l => l.Split(" | ")).Select(p => p[1]).ToList();
        Assert.That(inputs, Has.Count.GreaterThan(10));
        foreach (var input in inputs)
        {
            var expected = compiled.Matches(input).Select(m => (m.Index, m.Length, m.Groups.Count > 1 ? m.Groups[1].Value : "")).ToList();
            var actual = generated.Matches(input).Select(m => (m.Index, m.Length, m.Groups.Count > 1 ? m.Groups[1].Value : "")).ToList();
            Assert.That(actual, Is.EqualTo(expected), input);
        }
    }

    [Test]
    public void AValuePatternIsCompiledOncePerProcessForEqualTimeouts()
    {
        var pattern = "ACCT-" + Guid.NewGuid().ToString("N") + @"-\d{4}";
        var first = DetectorPatterns.ValuePattern(pattern, TimeSpan.FromSeconds(1));
        Assert.That(DetectorPatterns.ValuePattern(pattern, TimeSpan.FromSeconds(1)), Is.SameAs(first));
        Assert.That(DetectorPatterns.ValuePattern(pattern, TimeSpan.FromSeconds(2)), Is.Not.SameAs(first));
        Assert.That(DetectorPatterns.ValuePattern(pattern, TimeSpan.FromSeconds(2)).MatchTimeout, Is.EqualTo(TimeSpan.FromSeconds(2)));
    }

    [Test]
    public void AnInvalidValuePatternStillThrowsWhenTheRedactionIsConfiguredEachTime()
    {
        for (var i = 0; i < 2; i++)
        {
            var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().Destructure.WithRedaction(o => o.ValuePatterns.Add("(unclosed")));
            Assert.That(ex!.Message, Does.Contain("is not a valid regular expression"));
        }
    }

    [Test, NonParallelizable]
    public void LoggersWithTheDefaultDetectorsCompileNoExpressionAtRunTime()
    {
        var before = DetectorPatterns.CompiledCount;
        for (var i = 0; i < 3; i++)
        {
            using var logger = new LoggerConfiguration()
                .Destructure.WithRedaction(o => o.DetectCardNumbers = o.DetectJwts = o.DetectBearerTokens = o.DetectEmailAddresses = true)
                .Enrich.WithRedaction(o => o.DetectCardNumbers = o.DetectJwts = o.DetectBearerTokens = o.DetectEmailAddresses = true)
                .CreateLogger();
            logger.Information("paid with {Card}", "4111 1111 1111 1111");
        }
        Assert.That(DetectorPatterns.CompiledCount - before, Is.EqualTo(0));
    }
}
