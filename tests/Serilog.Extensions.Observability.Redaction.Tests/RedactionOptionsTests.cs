using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests;

public class RedactionOptionsTests
{
    static void Configure(Action<RedactionOptions> configure) =>
        new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(new CollectingSink()), configure);

    [Test]
    public void DefaultsAreDocumented()
    {
        var options = new RedactionOptions();
        Assert.Multiple(() =>
        {
            Assert.That(options.Mask, Is.EqualTo("[REDACTED]"));
            Assert.That(options.MaskStyle, Is.EqualTo(RedactionMaskStyle.Fixed));
            Assert.That(options.PartialVisibleCharacters, Is.EqualTo(4));
            Assert.That(options.PseudonymKeyId, Is.EqualTo("k1"));
            Assert.That(options.UseDefaultKeys, Is.True);
            Assert.That(options.DetectCardNumbers || options.DetectJwts || options.DetectBearerTokens || options.DetectEmailAddresses, Is.False);
            Assert.That(options.PatternMatchTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
            Assert.That(options.MaximumJsonLength, Is.EqualTo(32 * 1024));
        });
    }

    static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.Mask = ""), "Mask").SetName("An empty mask is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.PartialVisibleCharacters = 0), "PartialVisibleCharacters").SetName("Zero visible characters are rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.PartialVisibleCharacters = 17), "PartialVisibleCharacters").SetName("More than 16 visible characters are rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.MaskStyle = RedactionMaskStyle.Pseudonym), "PseudonymKey").SetName("The pseudonym style without a key is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => { o.MaskStyle = RedactionMaskStyle.Pseudonym; o.PseudonymKey = "short"; }), "PseudonymKey").SetName("A pseudonym key under 16 bytes is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.PseudonymKeyId = "k 1"), "PseudonymKeyId").SetName("A key id with a space is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.MaskStyle = (RedactionMaskStyle)42), "MaskStyle").SetName("An unknown mask style is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.PatternMatchTimeout = TimeSpan.Zero), "PatternMatchTimeout").SetName("A zero match timeout is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.MaximumJsonLength = -1), "MaximumJsonLength").SetName("A negative JSON length is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.ValuePatterns.Add("(unclosed")), "ValuePatterns").SetName("An invalid value pattern is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.AdditionalKeys.Add("a*b")), "additionalKeys").SetName("An invalid key pattern is rejected");
        yield return new TestCaseData((Action<RedactionOptions>)(o => o.ExcludedKeys.Add(" ")), "excludedKeys").SetName("An empty excluded key is rejected");
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public void InvalidOptionsAreRejectedAtConfigurationTimeWithTheirName(Action<RedactionOptions> configure, string parameter)
    {
        var ex = Assert.Catch<ArgumentException>(() => Configure(configure));
        Assert.That(ex!.ParamName, Is.EqualTo(parameter));
        Assert.That(ex.Message, Is.Not.Empty);
    }

    [Test]
    public void NullConfigurationArgumentsAreRejected()
    {
        Assert.Throws<ArgumentNullException>(() => new LoggerConfiguration().WriteTo.Redacted(null!));
        Assert.Throws<ArgumentNullException>(() => RedactionLoggerConfigurationExtensions.WithRedaction((Serilog.Configuration.LoggerEnrichmentConfiguration)null!));
    }

    [Test]
    public void AnUndefinedRestrictedToMinimumLevelOfRedactedIsRejectedInsteadOfFilteringOutEveryEvent()
    {
        var withOptions = Assert.Catch<ArgumentException>(() =>
            new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(new CollectingSink()), (Action<RedactionOptions>?)null, (LogEventLevel)9));
        Assert.That(withOptions!.ParamName, Is.EqualTo("restrictedToMinimumLevel"));
        Assert.That(withOptions.Message, Does.StartWith("The level must be one of Verbose, Debug, Information, Warning, Error or Fatal."));
        var withParameters = Assert.Catch<ArgumentException>(() =>
            new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(new CollectingSink()), restrictedToMinimumLevel: (LogEventLevel)(-1)));
        Assert.That(withParameters!.ParamName, Is.EqualTo("restrictedToMinimumLevel"));
    }

    [Test]
    public void ChangingTheOptionsAfterConfigurationHasNoEffect()
    {
        var sink = new CollectingSink();
        RedactionOptions? captured = null;
        using (var logger = new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(sink), o => captured = o).CreateLogger())
        {
            captured!.Mask = "changed";
            captured.ExcludedKeys.Add("password");
            logger.Information("{Password}", "p");
        }
        Assert.That(sink.SingleEvent.Properties["Password"].ToString(), Is.EqualTo("\"[REDACTED]\""));
    }

    [Test]
    public void ParametersAndTheOptionsActionConfigureTheSameThing()
    {
        var byParameters = DelegatingSink.GetLogEvent(l => l.Information("{Badge}", "b"), c => c.Enrich.WithRedaction(additionalKeys: new[] { "badge" }, mask: "#"));
        var byAction = DelegatingSink.GetLogEvent(l => l.Information("{Badge}", "b"), c => c.Enrich.WithRedaction(o =>
        {
            o.AdditionalKeys.Add("badge");
            o.Mask = "#";
        }));
        Assert.That(byParameters.Properties["Badge"].ToString(), Is.EqualTo("\"#\""));
        Assert.That(byAction.Properties["Badge"].ToString(), Is.EqualTo("\"#\""));
    }
}
