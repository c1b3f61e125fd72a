using System.Runtime.CompilerServices;
using Serilog.Extensions.Observability.Redaction.Masking;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Masking;

/// <summary>
/// A failure that repeats on every event (a getter that always throws) is reported once, then at most once per interval
/// with its count, and still counted each time; other failures are reported at once.
/// </summary>
[NonParallelizable]
public class RedactionFailuresTests
{
    const string Mask = RedactionOptions.DefaultMask;

    public sealed class BadgeHolder
    {
        public string Name => "ann";

        [Sensitive]
        public string BadgeCode => throw new InvalidOperationException("the badge reader is offline");
    }

    [Test]
    public void AGetterThatAlwaysThrowsIsNotReportedOncePerEvent()
    {
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        var failures = RedactionFailures.Count;
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration()
                   .Destructure.WithRedaction(o => o.MaskStyle = RedactionMaskStyle.Partial)
                   .WriteTo.Sink(sink).CreateLogger())
        {
            for (var i = 0; i < 200; i++) logger.Information("{@Holder}", new BadgeHolder());
        }

        Assert.That(sink.Events, Has.Count.EqualTo(200));
        Assert.That(sink.Events.Select(e => e.Properties["Holder"].ToString()), Has.All.EqualTo($"BadgeHolder {{ Name: \"ann\", BadgeCode: \"{Mask}\" }}"));
        Assert.That(RedactionFailures.Count - failures, Is.EqualTo(200), "every failure is counted");
        // One line, and one more per 10 seconds the loop may have taken.
        Assert.That(selfLog.Count(l => l.Contains("BadgeCode")), Is.InRange(1, 10));
        Assert.That(selfLog.First(l => l.Contains("BadgeCode")), Does.Contain("System.InvalidOperationException").And.Not.Contain("the badge reader is offline"));
    }

    public sealed class PinHolder
    {
        public string Name => "ann";

        public string RawPin { private get; init; } = "";

        // On .NET 8 and later the FormatException's message quotes the text it could not parse: the secret.
        [Sensitive]
        public int Pin => int.Parse(RawPin, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public void AFailureIsReportedWithoutItsExceptionMessageWhichMayQuoteTheSensitiveValue()
    {
        var secret = "84-" + Guid.NewGuid().ToString("N");
        Assert.That(() => int.Parse(secret), Throws.TypeOf<FormatException>().With.Message.Contains(secret), "the premise: the message quotes the value");
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration()
                   .Destructure.WithRedaction(o => o.MaskStyle = RedactionMaskStyle.Partial)
                   .WriteTo.Sink(sink).CreateLogger())
        {
            logger.Information("{@Holder}", new PinHolder { RawPin = secret });
        }

        Assert.That(sink.Events.Single().Properties["Holder"].ToString(), Is.EqualTo($"PinHolder {{ Name: \"ann\", Pin: \"{Mask}\" }}"));
        Assert.That(selfLog, Has.Some.Contains("reading sensitive member Pin").And.Contains("System.FormatException"));
        Assert.That(selfLog, Has.None.Contains(secret));
    }

    [Test]
    public void ARepeatedFailureIsReportedAtOnceThenOncePerIntervalWithItsCount()
    {
        var time = new FakeTimeProvider();
        var reports = new ThrottledReports(TimeSpan.FromSeconds(10), time);
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            reports.Report("reading sensitive member Pin", new IOException("offline"));
            Assert.That(selfLog, Has.Count.EqualTo(1));
            Assert.That(selfLog[0], Does.Contain("reading sensitive member Pin failed and was replaced by the mask: System.IO.IOException").And.Not.Contain("offline"));

            for (var i = 0; i < 99; i++) reports.Report("reading sensitive member Pin", new IOException("offline"));
            time.Advance(TimeSpan.FromSeconds(9));
            reports.Report("reading sensitive member Pin", new IOException("offline"));
            Assert.That(selfLog, Has.Count.EqualTo(1), "within the interval");

            // Another failure, or the same one with another exception, is another kind: reported at once.
            reports.Report("masking a value", new IOException("offline"));
            reports.Report("reading sensitive member Pin", new FormatException("bad"));
            Assert.That(selfLog, Has.Count.EqualTo(3));

            time.Advance(TimeSpan.FromSeconds(1));
            reports.Report("reading sensitive member Pin", new IOException("still offline"));
            Assert.That(selfLog, Has.Count.EqualTo(4));
            Assert.That(selfLog[3], Does.Contain("reading sensitive member Pin failed 100 more times since the last report").And.Contain("System.IO.IOException").And.Not.Contain("still offline"));

            reports.Report("reading sensitive member Pin", new IOException("offline"));
            Assert.That(selfLog, Has.Count.EqualTo(4), "a new interval began with that line");
        }
    }

    [Test]
    public void PastTheKindLimitFailuresShareOneThrottle()
    {
        var time = new FakeTimeProvider();
        var reports = new ThrottledReports(TimeSpan.FromSeconds(10), time);
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            for (var i = 0; i < ThrottledReports.MaximumKinds + 1_000; i++) reports.Report("redacting property P" + i, new IOException("x"));
            Assert.That(selfLog, Has.Count.EqualTo(ThrottledReports.MaximumKinds + 1));

            time.Advance(TimeSpan.FromSeconds(10));
            reports.Report("redacting property Q", new IOException("x"));
            Assert.That(selfLog, Has.Count.EqualTo(ThrottledReports.MaximumKinds + 2));
            Assert.That(selfLog[^1], Does.Contain("redacting property Q failed and was replaced by the mask, after 999 other failures since the last report"));
        }
    }

    [Test]
    public void AReportedExceptionOfAnUnloadableTypeDoesNotKeepItsAssemblyLoaded()
    {
        // The reports of the event pass and the policy are process-wide: a plugin's exception type (a collectible
        // assembly) must stay free to unload, as the policy's type cache lets the plugin's own types unload.
        var reports = new ThrottledReports(TimeSpan.FromSeconds(10), new FakeTimeProvider());
        WeakReference type;
        using (TemporarySelfLog.SaveTo(new List<string>()))
            type = ReportAnExceptionOfACollectibleType(reports);
        for (var i = 0; i < 10 && type.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.That(type.IsAlive, Is.False);
        GC.KeepAlive(reports);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference ReportAnExceptionOfACollectibleType(ThrottledReports reports)
    {
        var assembly = System.Reflection.Emit.AssemblyBuilder.DefineDynamicAssembly(
            new System.Reflection.AssemblyName("Collectible" + Guid.NewGuid().ToString("N")), System.Reflection.Emit.AssemblyBuilderAccess.RunAndCollect);
        var builder = assembly.DefineDynamicModule("m").DefineType("PluginException", System.Reflection.TypeAttributes.Public, typeof(Exception));
        builder.DefineDefaultConstructor(System.Reflection.MethodAttributes.Public);
        var type = builder.CreateType();
        reports.Report("reading sensitive member Pin", (Exception)Activator.CreateInstance(type)!);
        return new WeakReference(type);
    }

    sealed class UnreadableMessageException : Exception
    {
        public override string Message => throw new InvalidOperationException("the message cannot be read");
    }

    public sealed class BrokenBadgeHolder
    {
        public string Name => "ann";

        [Sensitive]
        public string BadgeCode => throw new UnreadableMessageException();
    }

    [Test]
    public void AFailureWhoseExceptionMessageThrowsIsStillMaskedAndNeverThrows()
    {
        var reports = new ThrottledReports(TimeSpan.FromSeconds(10), new FakeTimeProvider());
        using (TemporarySelfLog.SaveTo(new List<string>()))
        {
            Assert.DoesNotThrow(() => reports.Report("masking a value", new UnreadableMessageException()));

            var sink = new CollectingSink();
            using (var logger = new LoggerConfiguration().Destructure.WithRedaction().WriteTo.Sink(sink).CreateLogger())
                logger.Information("{@Holder}", new BrokenBadgeHolder());

            Assert.That(sink.Events.Single().Properties["Holder"].ToString(), Is.EqualTo($"BrokenBadgeHolder {{ Name: \"ann\", BadgeCode: \"{Mask}\" }}"));
        }
    }
}
