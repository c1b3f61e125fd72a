using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

public class RedactingSinkTests
{
    const string Mask = RedactionOptions.DefaultMask;

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void ASecretScalarUnderASensitiveNameNeverReachesTheSink(Route route, Pieces pieces)
    {
        var text = Output.Render(Routes.Write(route, "Password", "hunter2-scalar", pieces));
        Assert.That(text, Does.Not.Contain("hunter2-scalar").And.Contain(Mask));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void ADictionaryWithASensitiveKeyIsMaskedByKeyOnEveryRoute(Route route, Pieces pieces)
    {
        var value = new Dictionary<string, object?> { ["user"] = "ann-visible", ["api_key"] = "key-secret-1", ["inner"] = new Dictionary<string, string> { ["Cookie"] = "c-secret-2" } };
        var text = Output.Render(Routes.Write(route, "Request", value, pieces));
        Assert.That(text, Does.Not.Contain("key-secret-1").And.Not.Contain("c-secret-2").And.Contain("ann-visible"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void APocoIsMaskedByMemberNameOnEveryRoute(Route route, Pieces pieces)
    {
        var text = Output.Render(Routes.Write(route, "Login", new Login { User = "ann-visible", Password = "pw-secret-3" }, pieces));
        Assert.That(text, Does.Not.Contain("pw-secret-3"));
        if (route.Destructures()) Assert.That(text, Does.Contain("ann-visible"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void RecordsAndAnonymousObjectsLoggedWithoutDestructuringAreMaskedInTheirText(Route route, Pieces pieces)
    {
        var record = Output.Render(Routes.Write(route, "Account", new Account("main-visible", "Server=db;pw=cs-secret-4", 3), pieces));
        var anonymous = Output.Render(Routes.Write(route, "Anon", new { who = "ann-visible", session_token = "st-secret-5", n = 1 }, pieces));
        Assert.That(record, Does.Not.Contain("cs-secret-4").And.Contain("main-visible"));
        Assert.That(anonymous, Does.Not.Contain("st-secret-5").And.Contain("ann-visible"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonTextAndJsonNodesAreMaskedByKeyOnEveryRoute(Route route, Pieces pieces)
    {
        const string json = """{"user":"ann-visible","password":"pw-secret-6","items":[{"refresh_token":"rt-secret-7","n":1}]}""";
        var asText = Output.Render(Routes.Write(route, "Body", json, pieces));
        var asNode = Output.Render(Routes.Write(route, "Node", JsonNode.Parse(json), pieces));
        Assert.That(asText, Does.Not.Contain("pw-secret-6").And.Not.Contain("rt-secret-7").And.Contain("ann-visible"));
        Assert.That(asNode, Does.Not.Contain("pw-secret-6").And.Not.Contain("rt-secret-7"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonTextDeeperThanTheParseLimitFailsClosedOnEveryRoute(Route route, Pieces pieces)
    {
        var json = "{\"password\":\"deep-secret-31\",\"nested\":" + new string('[', 1000) + new string(']', 1000) + "}";
        var text = Output.Render(Routes.Write(route, "Body", json, pieces));
        Assert.That(text, Does.Not.Contain("deep-secret-31").And.Contain(Mask));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonTextCutByTheMaximumStringLengthIsStillMasked(Route route, Pieces pieces)
    {
        var json = "{\"user\":\"ann\",\"password\":\"cut-secret-32\",\"data\":\"" + new string('a', 300) + "\"}";
        var request = new Dictionary<string, string> { ["body"] = json };
        var asText = Output.Render(Routes.Write(route, "Body", json, pieces, extra: c => c.Destructure.ToMaximumStringLength(100)));
        var inside = Output.Render(Routes.Write(route, "Request", request, pieces, extra: c => c.Destructure.ToMaximumStringLength(100)));
        Assert.That(asText, Does.Not.Contain("cut-secret-32"));
        Assert.That(inside, Does.Not.Contain("cut-secret-32"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonTextCutInsideAJsonDocumentHeldInAStringValueIsStillMasked(Route route, Pieces pieces)
    {
        // The cut falls inside the inner document, so the outer string value is unfinished and cannot be read whole.
        var inner = "{\\\"user\\\":\\\"ann\\\",\\\"password\\\":\\\"cut-inner-secret-41\\\",\\\"data\\\":\\\"" + new string('a', 300) + "\\\"}";
        var envelope = "{\"type\":\"notification\",\"message\":\"" + inner + "\"}";
        // Every cut from just after the secret on, including those inside an escape sequence (\\\").
        var secretEnd = envelope.IndexOf("cut-inner-secret-41", StringComparison.Ordinal) + "cut-inner-secret-41".Length;
        for (var length = secretEnd + 1; length <= secretEnd + 24; length++)
        {
            var maximum = length;
            var text = Output.Render(Routes.Write(route, "Envelope", envelope, pieces, extra: c => c.Destructure.ToMaximumStringLength(maximum)));
            Assert.That(text, Does.Not.Contain("cut-inner-secret"), $"cut at {maximum}");
        }
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonDocumentsInsideJsonStringValuesAreMaskedByKey(Route route, Pieces pieces)
    {
        const string envelope = """{"type":"notification-visible","message":"{\"user\":\"ann-visible\",\"password\":\"inner-secret-33\"}"}""";
        var text = Output.Render(Routes.Write(route, "Envelope", envelope, pieces));
        Assert.That(text, Does.Not.Contain("inner-secret-33").And.Contain("notification-visible").And.Contain("ann-visible"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void JsonWithCommentsOrTrailingCommasIsMaskedByKey(Route route, Pieces pieces)
    {
        const string json = """{ "user": "ann-visible", /* login */ "password": "comma-secret-34", }""";
        var text = Output.Render(Routes.Write(route, "Body", json, pieces));
        Assert.That(text, Does.Not.Contain("comma-secret-34").And.Contain("ann-visible"));
    }

    [Test]
    public void ASinkWithMoreKeysMasksTextAnEarlierPassRewroteUnderANameOnlyItFindsSensitive()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Enrich.WithRedaction()
                   .WriteTo.Redacted(s => s.Sink(sink), additionalKeys: new[] { "internal*" })
                   .CreateLogger())
        {
            logger.Information("{InternalPayload} {Other}", """{"password":"p","note":"note-secret-35"}""", "other-visible");
        }
        var text = Output.Render(sink.Events);
        Assert.That(text, Does.Not.Contain("note-secret-35").And.Contain("other-visible"));
    }

    [Test]
    public void ASinkWithADetectorLooksIntoTextAPolicyWithOtherRulesRewrote()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Destructure.WithRedaction(detectCardNumbers: true)
                   .WriteTo.Redacted(s => s.Sink(sink), detectEmailAddresses: true, additionalKeys: new[] { "internal*" })
                   .CreateLogger())
        {
            logger.Information("{@Request}", new { Note = "card 4111111111111111 from mail-secret-36@example.com", InternalNote = "card 4111111111111111 note-secret-37" });
        }
        var text = Output.Render(sink.Events);
        Assert.That(text, Does.Not.Contain("mail-secret-36").And.Not.Contain("note-secret-37").And.Not.Contain("4111111111111111"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ASecretRenderedIntoAMicrosoftExtensionsLoggingScopeIsMaskedThereToo(bool enricher)
    {
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration();
        if (enricher) configuration.Enrich.FromLogContext().Enrich.WithRedaction().WriteTo.Sink(sink);
        else configuration.Enrich.FromLogContext().WriteTo.Redacted(s => s.Sink(sink));
        using (var serilog = configuration.CreateLogger())
        using (var provider = new SerilogLoggerProvider(serilog))
        {
            var logger = provider.CreateLogger("Login");
            using (logger.BeginScope("Signing in {User} with {Password}", "ann-visible", "scope-secret-40"))
                logger.LogInformation("Signed in");
        }

        var logEvent = sink.SingleEvent;
        var text = Output.Render(logEvent);
        Assert.That(text, Does.Not.Contain("scope-secret-40"));
        Assert.That(logEvent.Properties["Scope"].ToString(), Is.EqualTo($"[\"Signing in ann-visible with {Mask}\"]"));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void PairsLoggedWithoutDestructuringAreMaskedByKey(Route route, Pieces pieces)
    {
        var headers = new List<KeyValuePair<string, string>> { new("Authorization", "Basic au-secret-8"), new("Accept", "accept-visible") };
        var text = Output.Render(Routes.Write(route, "Headers", headers, pieces));
        Assert.That(text, Does.Not.Contain("au-secret-8").And.Contain("accept-visible"));
    }

    [Test]
    public void AttributesInheritedByATypeFromAnAssemblyThatDoesNotReferenceThePackageAreHonouredByTheEventPass()
    {
        // The derived type's assembly references only the test assembly, where its attributed base lives (a shared
        // model library with the attributes, and a service assembly deriving from it).
        var derived = OtherAssembly.DeriveFrom(typeof(AttributedBase), "ElsewhereDerived");
        Assert.That(derived.Assembly.GetReferencedAssemblies().Select(a => a.Name), Does.Not.Contain(typeof(SensitiveAttribute).Assembly.GetName().Name));
        var value = (AttributedBase)Activator.CreateInstance(derived)!;
        value.Nickname = "nick-secret-38";
        value.Notes = "notes-secret-39";
        value.Label = "label-visible";

        var text = Output.Render(Routes.Write(Route.DestructuredArgument, "Person", value, Pieces.Sink));

        Assert.That(text, Does.Not.Contain("nick-secret-38").And.Not.Contain("notes-secret-39").And.Contain("label-visible").And.Contain(Mask));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void AttributesAreHonouredByTheEventPassWithAndWithoutThePolicy(Route route, Pieces pieces)
    {
        var text = Output.Render(Routes.Write(route, "Patient", new Patient("ann-visible", "diag-secret-9", "record-secret-10"), pieces));
        Assert.That(text, Does.Not.Contain("diag-secret-9").And.Not.Contain("record-secret-10").And.Contain("ann-visible"));
    }

    [Test]
    public void TheSinkSeesWhatEnrichersAddedAfterTheRedactionEnricher()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Enrich.WithRedaction()
                   .Enrich.FromLogContext()
                   .WriteTo.Redacted(s => s.Sink(sink))
                   .CreateLogger())
        using (LogContext.PushProperty("db_password", "late-secret"))
        {
            logger.Information("Hello");
        }
        Assert.That(sink.SingleEvent.Properties["db_password"].ToString(), Is.EqualTo($"\"{Mask}\""));
    }

    [Test]
    public void TheOriginalEventIsNotChangedForSinksOutsideTheWrapper()
    {
        var outside = new CollectingSink();
        var inside = new CollectingSink();
        using (var logger = new LoggerConfiguration().WriteTo.Sink(outside).WriteTo.Redacted(s => s.Sink(inside)).CreateLogger())
            logger.Information("{Password}", "p");
        Assert.That(outside.SingleEvent.Properties["Password"].ToString(), Is.EqualTo("\"p\""));
        Assert.That(inside.SingleEvent.Properties["Password"].ToString(), Is.EqualTo($"\"{Mask}\""));
        Assert.That(inside.SingleEvent, Is.Not.SameAs(outside.SingleEvent));
    }

    [Test]
    public void AnEventWithNothingToMaskIsPassedOnAsIs()
    {
        var outside = new CollectingSink();
        var inside = new CollectingSink();
        using (var logger = new LoggerConfiguration().WriteTo.Sink(outside).WriteTo.Redacted(s => s.Sink(inside)).CreateLogger())
            logger.Information("{A} {B}", 1, "two");
        Assert.That(inside.SingleEvent, Is.SameAs(outside.SingleEvent));
    }

    [Test]
    public void TimestampLevelTemplateExceptionAndTraceIdsAreKept()
    {
        using var source = new ActivitySource("redaction-tests");
        using var listener = new ActivityListener { ShouldListenTo = s => s.Name == "redaction-tests", Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData };
        ActivitySource.AddActivityListener(listener);
        var sink = new CollectingSink();
        var outside = new CollectingSink();
        var error = new InvalidOperationException("boom");
        using (var logger = new LoggerConfiguration().WriteTo.Sink(outside).WriteTo.Redacted(s => s.Sink(sink)).CreateLogger())
        using (source.StartActivity("op"))
            logger.Warning(error, "Failed for {Token}", "t");
        var original = outside.SingleEvent;
        var redacted = sink.SingleEvent;
        Assert.Multiple(() =>
        {
            Assert.That(redacted.Timestamp, Is.EqualTo(original.Timestamp));
            Assert.That(redacted.Level, Is.EqualTo(LogEventLevel.Warning));
            Assert.That(redacted.MessageTemplate, Is.SameAs(original.MessageTemplate));
            Assert.That(redacted.Exception, Is.SameAs(error));
            Assert.That(redacted.TraceId, Is.EqualTo(original.TraceId).And.Not.Null);
            Assert.That(redacted.SpanId, Is.EqualTo(original.SpanId).And.Not.Null);
        });
    }

    [Test]
    public void InnerSinksAddedBeforeOneThatFailsToConfigureAreDisposed()
    {
        // Serilog's Wrap holds the sinks the callback added until it returns: one that throws (an invalid argument of
        // an appsettings entry inside "Redacted") would leave those before it open, a file sink's file with them.
        var first = new DisposableSink();
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WriteTo.Redacted(s =>
        {
            s.Sink(first);
            throw new ArgumentException("The sink's argument is invalid.", "configure");
        }));
        Assert.That(ex!.ParamName, Is.EqualTo("configure"));
        Assert.That(first.Disposed, Is.True);
    }

    [Test]
    public void WhatTheCallbackChainsBesideWriteToIsNotAppliedAfterTheRedaction()
    {
        // As in Serilog's Wrap, a sink method returns a configuration that only WriteTo of is used: an enricher chained
        // there would otherwise add its properties after the redaction, unmasked, to the event every other sink shares.
        var inside = new CollectingSink();
        var beside = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Redacted(s => s.Sink(inside).Enrich.WithProperty("Password", "hunter2-chained").Filter.ByExcluding(_ => true))
                   .WriteTo.Sink(beside)
                   .CreateLogger())
        {
            logger.Information("Hello");
        }

        Assert.That(inside.Events.Select(e => e.MessageTemplate.Text), Is.EqualTo(new[] { "Hello" }));
        Assert.That(inside.Events.Concat(beside.Events).SelectMany(e => e.Properties.Keys), Is.Empty);
    }

    [Test]
    public void InnerSinksAreDisposedWithTheLogger()
    {
        var inner = new DisposableSink();
        new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(inner)).CreateLogger().Dispose();
        Assert.That(inner.Disposed, Is.True);
    }

    [Test]
    public void InnerSinksAreDisposedOnce()
    {
        // Serilog 4.1 and later dispose the sinks a Wrap callback added themselves, after the wrapper: Redacted must
        // then leave them to it. A sink whose Dispose is not idempotent (a logger passed to WriteTo.Sink disposes its
        // own sinks each time) would otherwise be closed twice.
        var single = new DisposableSink();
        var first = new DisposableSink();
        var second = new DisposableSink();
        var aggregated = new DisposableSink();
        var subLogger = new LoggerConfiguration().WriteTo.Sink(aggregated).CreateLogger();
        new LoggerConfiguration()
            .WriteTo.Redacted(s => s.Sink(single))
            .WriteTo.Redacted(s => s.Sink(first).WriteTo.Sink(second).WriteTo.Sink(subLogger), (Action<RedactionOptions>?)null, LogEventLevel.Warning)
            .CreateLogger()
            .Dispose();

        Assert.That(new[] { single.Disposals, first.Disposals, second.Disposals, aggregated.Disposals }, Is.EqualTo(new[] { 1, 1, 1, 1 }));
    }

    [Test]
    public async Task InnerSinksAreDisposedAsynchronouslyWhenTheLoggerIs()
    {
        // As by Serilog's own wrappers (WriteTo.Conditional, a sub-logger): a sink that flushes in DisposeAsync gets that
        // call from DisposeAsync() or CloseAndFlushAsync(), one or several, with or without a minimum level.
        var single = new AsyncDisposableSink();
        var first = new AsyncDisposableSink();
        var second = new AsyncDisposableSink();
        var logger = new LoggerConfiguration()
            .WriteTo.Redacted(s => s.Sink(single))
            .WriteTo.Redacted(s => s.Sink(first).WriteTo.Sink(second), (Action<RedactionOptions>?)null, LogEventLevel.Warning)
            .CreateLogger();

        await logger.DisposeAsync();

        Assert.That(new[] { single.DisposedBy, first.DisposedBy, second.DisposedBy }, Is.EqualTo(new[] { "DisposeAsync", "DisposeAsync", "DisposeAsync" }));
        Assert.That(new[] { single.Disposals, first.Disposals, second.Disposals }, Is.EqualTo(new[] { 1, 1, 1 }), "each sink disposed once");
    }

    [Test]
    public void TheMinimumLevelRestrictsWhatReachesTheInnerSinks()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose()
                   .WriteTo.Redacted(s => s.Sink(sink), (Action<RedactionOptions>?)null, LogEventLevel.Warning).CreateLogger())
        {
            logger.Information("no");
            logger.Warning("yes");
        }
        Assert.That(sink.Events.Select(e => e.MessageTemplate.Text), Is.EqualTo(new[] { "yes" }));
    }

    [Test, NonParallelizable]
    public void AFailingInnerSinkIsReportedAndDoesNotThrow()
    {
        // The wrapper itself, not through a logger: a logger catches and reports a sink's exception on its own, so the
        // test would pass whether or not the wrapper does (AuditTo and other wrappers around it do not).
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var sink = new RedactingSink(new DelegatingSink(_ => throw new IOException("disk")), RedactorFactory.Create(new RedactionOptions()));
            Assert.DoesNotThrow(() => sink.Emit(Some.LogEvent("x")));
        }
        Assert.That(selfLog, Has.Some.Contains("disk"));
    }

    [Test, NonParallelizable]
    public void AnInnerSinkThatAlwaysFailsIsReportedOncePerIntervalNotOncePerEvent()
    {
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var sink = new RedactingSink(new DelegatingSink(_ => throw new IOException("disk")), RedactorFactory.Create(new RedactionOptions()));
            for (var i = 0; i < 200; i++) sink.Emit(Some.LogEvent("x"));
        }
        // One line, and one more per 10 seconds the loop may have taken; the next line counts the failures between.
        Assert.That(selfLog.Count(l => l.Contains("disk")), Is.InRange(1, 10));
    }

    [Test, NonParallelizable]
    public void AFailingSinkBesideOthersInsideRedactedIsReportedOnceAndTheOthersStillGetTheEvent()
    {
        // With several sinks inside, Serilog encloses them in an aggregate of its own, which reports each sink's failure
        // to SelfLog and then throws them together: the wrapper reported the same failure a second time.
        var selfLog = new List<string>();
        var before = new CollectingSink();
        var after = new CollectingSink();
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Redacted(s =>
                   {
                       s.Sink(before);
                       s.Sink(new DelegatingSink(_ => throw new IOException("disk " + "full")));
                       s.Sink(after);
                   })
                   .CreateLogger())
        {
            logger.Information("x");
        }

        Assert.That(selfLog.Count(l => l.Contains("disk full")), Is.EqualTo(1), string.Join("\n", selfLog));
        Assert.That((before.Events.Count, after.Events.Count), Is.EqualTo((1, 1)));
    }

    [Test, NonParallelizable]
    public void AValueWhoseMaskingThrowsIsReplacedByTheFixedMaskAndTheEventIsStillWritten()
    {
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        var failures = Redaction.Masking.RedactionFailures.Count;
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration()
                   .Enrich.With(new AddEnricher("Password", new ThrowingFormattable()))
                   .WriteTo.Redacted(s => s.Sink(sink), o => o.MaskStyle = RedactionMaskStyle.Partial).CreateLogger())
        {
            logger.Information("Visible {N}", 1);
        }
        var logEvent = sink.SingleEvent;
        Assert.That(logEvent.Properties["Password"].ToString(), Is.EqualTo($"\"{Mask}\""));
        Assert.That(logEvent.Properties["N"].ToString(), Is.EqualTo("1"));
        Assert.That(Redaction.Masking.RedactionFailures.Count, Is.GreaterThan(failures));
        Assert.That(selfLog, Has.Some.Contains("Redaction").And.Some.Contains("FormatException"));
    }

    [Test]
    public void AValueKindThePassCannotInspectIsMasked()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().Enrich.With(new AddEnricher("Opaque", new OpaqueValue())).WriteTo.Redacted(s => s.Sink(sink)).CreateLogger())
            logger.Information("x");
        Assert.That(sink.SingleEvent.Properties["Opaque"].ToString(), Is.EqualTo($"\"{Mask}\""));
    }

    [Test]
    public void HandMadeValuesDeeperThanTheWalkLimitAreMaskedWhole()
    {
        LogEventPropertyValue value = new ScalarValue("deep-visible");
        for (var i = 0; i < 500; i++) value = new SequenceValue(new[] { value });
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().Enrich.With(new AddEnricher("Deep", value)).WriteTo.Redacted(s => s.Sink(sink)).CreateLogger())
            logger.Information("x");
        Assert.That(Output.Render(sink.SingleEvent), Does.Contain(Mask));
    }

    [Test]
    public void RunningTheEventPassTwiceGivesTheSameResultAsOnce()
    {
        Action<RedactionOptions> pseudonyms = o =>
        {
            o.MaskStyle = RedactionMaskStyle.Pseudonym;
            o.PseudonymKey = "0123456789abcdef-test-key";
        };
        var once = Routes.Write(Route.MessageArgument, "email_password", "same-value", Pieces.Sink, pseudonyms).Single();
        var twice = Routes.Write(Route.MessageArgument, "email_password", "same-value", Pieces.All, pseudonyms).Single();
        var body = Routes.Write(Route.DestructuredArgument, "Body", new Dictionary<string, string> { ["email_password"] = "same-value" }, Pieces.All, pseudonyms).Single();
        var pseudonym = once.Properties["email_password"].ToString();
        Assert.That(pseudonym, Does.StartWith("\"k1:"));
        Assert.That(twice.Properties["email_password"].ToString(), Is.EqualTo(pseudonym));
        Assert.That(body.Properties["Body"].ToString(), Does.Contain(pseudonym));
    }

    [Test]
    public void EnricherAloneMasksWhatEarlierEnrichersAdded()
    {
        var logEvent = DelegatingSink.GetLogEvent(
            l => l.ForContext("ApiKey", "early").Information("x {Secret}", "arg"),
            c => c.Enrich.WithRedaction());
        Assert.That(logEvent.Properties["ApiKey"].ToString(), Is.EqualTo($"\"{Mask}\""));
        Assert.That(logEvent.Properties["Secret"].ToString(), Is.EqualTo($"\"{Mask}\""));
    }

    sealed class DisposableSink : ILogEventSink, IDisposable
    {
        public bool Disposed => Disposals > 0;
        public int Disposals { get; private set; }
        public void Emit(LogEvent logEvent) { }
        public void Dispose() => Disposals++;
    }

    sealed class AsyncDisposableSink : ILogEventSink, IDisposable, IAsyncDisposable
    {
        public string? DisposedBy { get; private set; }
        public int Disposals { get; private set; }
        public void Emit(LogEvent logEvent) { }

        public void Dispose()
        {
            Disposals++;
            DisposedBy ??= "Dispose";
        }

        public ValueTask DisposeAsync()
        {
            Disposals++;
            DisposedBy ??= "DisposeAsync";
            return default;
        }
    }

    sealed class AddEnricher : ILogEventEnricher
    {
        readonly string _name;
        readonly LogEventPropertyValue _value;

        public AddEnricher(string name, object value)
        {
            _name = name;
            _value = value as LogEventPropertyValue ?? new ScalarValue(value);
        }

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) => logEvent.AddOrUpdateProperty(new LogEventProperty(_name, _value));
    }

    /// <summary>A value kind Serilog does not define: it could render anything.</summary>
    sealed class OpaqueValue : LogEventPropertyValue
    {
        public override void Render(TextWriter output, string? format = null, IFormatProvider? formatProvider = null) => output.Write("opaque-visible");
    }

    /// <summary>A scalar whose text cannot be produced: the partial mask needs it.</summary>
    sealed class ThrowingFormattable : IFormattable
    {
        public string ToString(string? format, IFormatProvider? formatProvider) => throw new FormatException("no text");
        public override string ToString() => throw new FormatException("no text");
    }

    [Test]
    public void AnExceptionChainedDeeperThanAnyRealOneIsNotReadThroughTheRecursiveExceptionToStringAndStaysMasked()
    {
        // Exception.ToString() calls InnerException.ToString(), one frame per link: a chain built by a retry loop that
        // wraps the last failure each time overflows the stack on the logging thread, which kills the process.
        // 2,000 links fit any stack; a bounded reading never goes near 1,000 frames.
        var probe = new ExceptionFrameProbe("connect failed: Server=db;Password=hunter2secret");
        Exception exception = probe;
        for (var i = 0; i < 2_000; i++) exception = new InvalidOperationException("retry " + i, exception);
        // The root cause lies below the cut; a secret in the part that is read must be masked there.
        exception = new InvalidOperationException("gave up: Server=db;Password=outer-secret-1", exception);
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(sink), detectEmbeddedCredentials: true).CreateLogger())
            logger.Error(exception, "Gave up");

        var written = sink.Events.Single().Exception!;
        Assert.That(written.ToString(), Does.Contain("gave up: Server=db;Password=").And.Contain("retry 1999"));
        Assert.That(written.ToString() + written.Message, Does.Not.Contain("hunter2secret").And.Not.Contain("outer-secret-1"));
        Assert.That(probe.DeepestFrames, Is.LessThan(1_000), "the chain's text was built one frame per link");
    }
}
