using System.Runtime.CompilerServices;
using Serilog.Events;
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

    /// <summary>A URL whose text cannot be produced: the detectors read it.</summary>
    sealed class UnreadableUri() : Uri("https://example.test/")
    {
        public override string ToString() => throw new InvalidOperationException("no text");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AFailingPropertyWithAHugeNameIsReportedUnderItsNameCut(bool member)
    {
        // Property and member names come from data (LogContext, ForContext, dictionaries turned into structures): the
        // report's text keys a process-wide throttle, so a name of a megabyte would be kept for the process's lifetime.
        var name = "Huge" + new string('n', 1_000_000);
        LogEventPropertyValue failing = new ScalarValue(new UnreadableUri());
        var value = member ? new StructureValue([new LogEventProperty(name, failing)]) : failing;
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Redacted(s => s.Sink(sink), o => o.DetectEmailAddresses = true).CreateLogger())
        {
            logger.Write(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, MessageTemplate.Empty,
                [new LogEventProperty(member ? "Holder" : name, value)]));
        }

        Assert.That(sink.Events, Has.Count.EqualTo(1), "the event is still written");
        var what = member ? "redacting member " : "redacting property ";
        var line = selfLog.Single(l => l.Contains(what + "Huge"));
        Assert.That(line, Does.Contain(what + name[..ThrottledReports.MaximumNameLength] + "\u2026 failed"));
        Assert.That(line, Has.Length.LessThan(ThrottledReports.MaximumNameLength + 300));
    }

    [Test]
    public void ANameCutInTheMiddleOfASurrogatePairIsCutBeforeIt()
    {
        var name = new string('a', ThrottledReports.MaximumNameLength - 1) + "\U0001F600" + new string('b', 10);
        Assert.That(RedactionFailures.Named("redacting property", name), Is.EqualTo("redacting property " + name[..(ThrottledReports.MaximumNameLength - 1)] + "\u2026"));
        Assert.That(RedactionFailures.Named("redacting property", "Short"), Is.EqualTo("redacting property Short"));
    }

    [Test]
    public void AnExceptionTypeWithAHugeNameIsReportedUnderItsNameCut()
    {
        // A generic exception type's full name holds its type arguments' assembly-qualified names: no bound but the
        // types loaded. The kinds are kept for the process's lifetime.
        var reports = new ThrottledReports(TimeSpan.FromSeconds(10), new FakeTimeProvider());
        var exception = NestedGenericException();
        Assert.That(exception.GetType().FullName!.Length, Is.GreaterThan(2 * ThrottledReports.MaximumNameLength), "the premise");
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
            reports.Report("masking a value", exception);

        Assert.That(selfLog.Single(), Does.Contain(exception.GetType().FullName![..ThrottledReports.MaximumNameLength] + "\u2026"));
        Assert.That(selfLog.Single(), Has.Length.LessThan(ThrottledReports.MaximumNameLength + 300));
    }

    sealed class GenericException<T> : Exception;

    static Exception NestedGenericException() =>
        new GenericException<Dictionary<List<KeyValuePair<string, Uri>>, IReadOnlyDictionary<Guid, DateTimeOffset>>>();

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
