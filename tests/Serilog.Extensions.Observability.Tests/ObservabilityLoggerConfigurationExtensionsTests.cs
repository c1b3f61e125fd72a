using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.Tests;

public class ObservabilityLoggerConfigurationExtensionsTests
{
    static string? Scalar(LogEvent logEvent, string name) =>
        logEvent.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: { } v } ? v.ToString() : null;

    [Test]
    public void WithNoArgumentsEveryEventCarriesCorrelationUserThreadAndPipelineProperties()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.None)).WriteTo.Sink(sink).CreateLogger())
        using (CorrelationContext.Begin("corr-1"))
        using (UserContext.Begin("user-1", "tenant-1"))
        using (var pipeline = PipelineTimer.Begin("ingest", logger))
        using (pipeline.Stage("chunk"))
        using (Context.LogContext.PushProperty("FromLogContext", 5))
        {
            logger.Information("Hello");
        }

        var evt = sink.Events.Single(e => e.MessageTemplate.Text == "Hello");
        Assert.That(Scalar(evt, "CorrelationId"), Is.EqualTo("corr-1"));
        Assert.That(Scalar(evt, "UserId"), Is.EqualTo("user-1"));
        Assert.That(Scalar(evt, "TenantId"), Is.EqualTo("tenant-1"));
        Assert.That(Scalar(evt, "ThreadId"), Is.EqualTo(Environment.CurrentManagedThreadId.ToString()));
        Assert.That(Scalar(evt, "Pipeline"), Is.EqualTo("ingest"));
        Assert.That(Scalar(evt, "Stage"), Is.EqualTo("chunk"));
        Assert.That(Scalar(evt, "FromLogContext"), Is.EqualTo("5"));
    }

    [Test]
    public async Task DisposingTheLoggerAsynchronouslyDisposesItsSinksAsynchronously()
    {
        // Serilog's own wrappers pass DisposeAsync on: a sink that flushes there must get that call through ours too.
        var sink = new AsyncDisposalProbeSink();
        var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)))
            .CreateLogger();
        logger.Information("Hello");

        await logger.DisposeAsync();

        Assert.That((sink.Events, sink.DisposedAsynchronously, sink.Disposed), Is.EqualTo((1, true, false)));
    }

    [Test, NonParallelizable]
    public void AnEventWrittenAfterTheLoggerIsDisposedReachesItsSinksAsSerilogsOwnDoSoTheFileSinkReportsItsLoss()
    {
        // What still holds a disposed logger: a PipelineTimer begun before a worker's host stopped, an injected ILogger.
        using var logs = TempFolder.ForCaller();
        var selfLog = new List<string>();
        using var capture = TemporarySelfLog.SaveTo(selfLog);
        var inside = new CountingSink();
        var beside = new CountingSink();
        var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logs.Path, "app-.json")).WriteTo(w => w.Sink(inside)))
            .WriteTo.Sink(beside)
            .CreateLogger();
        logger.Information("Before");
        logger.Dispose();
        logger.Information("After");
        logger.Dispose();

        Assert.That(inside.Events, Is.EqualTo(beside.Events).And.EqualTo(2));
        Assert.That(inside.Disposals, Is.EqualTo(1), "disposed once, however often the logger is");
        Assert.That(selfLog, Has.One.Contains("logged during or after disposal dropped"));
    }

    // A sink that writes through something its disposal closed (Serilog.Sinks.File's stream) throws then: the late
    // event must not reach the application, and the failure is reported, once.
    [TestCase(false), TestCase(true), NonParallelizable]
    public async Task AnEventWrittenAfterDisposalToASinkThatThrowsOnceDisposedDoesNotReachTheApplication(bool disposeAsynchronously)
    {
        var selfLog = new List<string>();
        using var capture = TemporarySelfLog.SaveTo(selfLog);
        var sink = new ThrowsOnceDisposedSink();
        var logger = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)))
            .CreateLogger();
        logger.Information("Before");
        if (disposeAsynchronously) await logger.DisposeAsync();
        else logger.Dispose();

        Assert.DoesNotThrow(() => logger.Information("After"));
        Assert.That(sink.Events, Is.EqualTo(1));
        Assert.That(selfLog.Where(line => line.Contains(nameof(ObjectDisposedException))), Has.Exactly(1).Items);
    }

    sealed class ThrowsOnceDisposedSink : Serilog.Core.ILogEventSink, IDisposable
    {
        bool _disposed;
        public int Events;

        public void Emit(LogEvent logEvent)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Events++;
        }

        public void Dispose() => _disposed = true;
    }

    sealed class CountingSink : Serilog.Core.ILogEventSink, IDisposable
    {
        public int Events;
        public int Disposals;

        public void Emit(LogEvent logEvent) => Events++;

        public void Dispose() => Disposals++;
    }

    sealed class AsyncDisposalProbeSink : Serilog.Core.ILogEventSink, IDisposable, IAsyncDisposable
    {
        public int Events;
        public bool Disposed;
        public bool DisposedAsynchronously;

        public void Emit(LogEvent logEvent) => Events++;

        public void Dispose() => Disposed = true;

        public ValueTask DisposeAsync()
        {
            DisposedAsynchronously = true;
            return default;
        }
    }

    [Test, NonParallelizable]
    public void ConfiguringLoggingAndClosingWriteNothingToSelfLog()
    {
        // SelfLog is where an operator looks for what went wrong: a line written on every start (Serilog's Wrap reports
        // a wrapping enricher that is not IDisposable) is noise that hides the real reports.
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var sink = new CollectingSink();
            using (var logger = new LoggerConfiguration()
                       .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)))
                       .CreateLogger())
            {
                logger.Information("Hello {Name}", "world");
            }

            Assert.That(sink.Events, Has.Count.EqualTo(1));
        }

        Assert.That(selfLog, Is.Empty);
    }

    [Test, NonParallelizable]
    public void StageAndPipelineEventsCarryTheirOwnSpansParentWhetherOrNotAnythingWasLoggedInsideThem()
    {
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Serilog.Extensions.Observability.Timing",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) =>
                System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var sink = new CollectingSink();
        string pipelineId;
        using (var logger = new LoggerConfiguration().MinimumLevel.Debug().WithObservability(o => o.Console(ObservabilityConsoleFormat.None)).WriteTo.Sink(sink).CreateLogger())
        using (var request = new System.Diagnostics.Activity("request").Start())
        {
            using (var pipeline = PipelineTimer.Begin("voice-turn", logger))
            {
                pipelineId = pipeline.Id;
                using (pipeline.Stage("stt")) { }
                using (pipeline.Stage("llm")) logger.Information("Inside llm");
            }

            var events = sink.Events.Where(e => e.Properties.ContainsKey("Outcome")).ToDictionary(e => Scalar(e, "Stage") ?? "(summary)");
            Assert.That(events.Keys, Is.EquivalentTo(new[] { "stt", "llm", "(summary)" }));
            Assert.That(Scalar(events["stt"], "ParentSpanId"), Is.EqualTo(pipelineId), "nothing was logged inside stt");
            Assert.That(Scalar(events["llm"], "ParentSpanId"), Is.EqualTo(pipelineId));
            Assert.That(Scalar(events["(summary)"], "SpanId"), Is.EqualTo(pipelineId));
            Assert.That(Scalar(events["(summary)"], "ParentSpanId"), Is.EqualTo(request.SpanId.ToHexString()));
        }
    }

    [Test]
    public void SecretsAreMaskedOnEveryRouteByDefault()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.None)).WriteTo.Sink(sink).CreateLogger())
        using (Context.LogContext.PushProperty("api_key", "ctx-secret-1"))
        {
            logger.ForContext("client_secret", "fc-secret-2")
                .Information("Login {Password} {@Body} {Headers}", "arg-secret-3",
                    new { User = "ann", Password = "obj-secret-4" },
                    new Dictionary<string, string> { ["Authorization"] = "Bearer dict-secret-5", ["Accept"] = "json" });
        }

        var text = Render(sink.Events.Single());
        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain("ann").And.Contain("json"));
    }

    [Test]
    public void CredentialsEmbeddedInTextAreMaskedByDefaultAndTheDetectorCanBeTurnedOff()
    {
        static string Logged(Action<ObservabilityOptions> configure)
        {
            var sink = new CollectingSink();
            using (var logger = new LoggerConfiguration().WithObservability(configure).WriteTo.Sink(sink).CreateLogger())
                logger.Warning("Retrying {Connection} after {Error}", "Server=db;User Id=app;Password=conn-secret-1;",
                    new InvalidOperationException("redis://:url-secret-2@cache:6379 refused"));
            return Render(sink.Events.Single());
        }

        var text = Logged(o => o.Console(ObservabilityConsoleFormat.None));
        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain("Server=db;User Id=app;Password=[REDACTED];").And.Contain("redis://:[REDACTED]@cache:6379"));

        var off = Logged(o => o.Console(ObservabilityConsoleFormat.None).Redaction(r => r.DetectEmbeddedCredentials = false));
        Assert.That(off, Does.Contain("conn-secret-1"));
    }

    [Test]
    public void JsonWebTokensInTextAreMaskedByDefaultAndTheDetectorCanBeTurnedOff()
    {
        // Microsoft.IdentityModel with ShowPII and LogCompleteSecurityArtifact writes a rejected token whole into
        // JwtBearer's failure message and exception (AspNetCore.Tests, JwtBearerTests); a token pasted into any text is as
        // much a secret as a password.
        const string Token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJ0In0.c2lnbmF0dXJlLXNlY3JldC14eXo";
        static string Logged(Action<ObservabilityOptions> configure)
        {
            // Inside WithObservability()'s redaction, where the exception and the template's text are masked too.
            var sink = new CollectingSink();
            using (var logger = new LoggerConfiguration().WithObservability(o => configure(o.WriteTo(w => w.Sink(sink)))).CreateLogger())
                logger.Information(new InvalidOperationException($"IDX10223: Lifetime validation failed. The token is expired. token: '{Token}'."),
                    "Failed to validate the token " + Token + " of {User}: {Detail}", "ann", "token: " + Token);
            return Render(sink.Events.Single());
        }

        var text = Logged(o => o.Console(ObservabilityConsoleFormat.None));
        Assert.That(text, Does.Not.Contain("eyJ").And.Not.Contain("c2lnbmF0dXJl"));
        Assert.That(text, Does.Contain("token: '[REDACTED]'").And.Contain("\"Detail\":\"token: [REDACTED]\"").And.Contain("ann"));

        var off = Logged(o => o.Console(ObservabilityConsoleFormat.None).Redaction(r => r.DetectJwts = false));
        Assert.That(off, Does.Contain(Token));
    }

    [Test]
    public void KnownTokenFormatsInTextAreMaskedByDefaultAndTheDetectorCanBeTurnedOff()
    {
        // A cloud key pasted into an error message, or a private key dumped with a failed configuration, is as much a
        // secret as a password. Assembled at run time, so that secret scanners do not flag the repository.
        var awsKeyId = "AKIA" + "IOSFODNN7EXAMPLE";
        var githubToken = "ghp" + "_" + new string('a', 18) + new string('7', 18);
        var pemBody = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
        var pem = "-----BEGIN " + "PRIVATE KEY-----\n" + pemBody + "\n-----END " + "PRIVATE KEY-----";
        string Logged(Action<ObservabilityOptions> configure)
        {
            var sink = new CollectingSink();
            using (var logger = new LoggerConfiguration().WithObservability(o => configure(o.WriteTo(w => w.Sink(sink)))).CreateLogger())
                logger.Warning(new InvalidOperationException("could not load the signing key " + pem),
                    "Deploy with " + awsKeyId + " failed for {Repo}: {Detail}", "web", "token " + githubToken + " was refused");
            return Render(sink.Events.Single());
        }

        var text = Logged(o => o.Console(ObservabilityConsoleFormat.None));
        Assert.That(text, Does.Not.Contain(awsKeyId).And.Not.Contain(githubToken).And.Not.Contain(pemBody));
        Assert.That(text, Does.Contain("Deploy with [REDACTED] failed").And.Contain("token [REDACTED] was refused").And.Contain("web"));

        var off = Logged(o => o.Console(ObservabilityConsoleFormat.None).Redaction(r => r.DetectKnownTokenFormats = false));
        Assert.That(off, Does.Contain(awsKeyId).And.Contain(githubToken).And.Contain(pemBody));
    }

    [Test]
    public void ASinkAddedThroughTheOptionsGetsTheTemplateTextAndTheExceptionMaskedWhereOneBesideThemDoesNot()
    {
        var inside = new CollectingSink();
        var beside = new CollectingSink();
        var audit = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(inside)))
                   .WriteTo.Sink(beside)
                   .AuditTo.Sink(audit)
                   .CreateLogger())
        {
            logger.Error(new InvalidOperationException("login failed: password=exception-secret-1"), "Connecting with password=template-secret-2 now {Password}", "property-secret-3");
        }

        Assert.That(Render(inside.Events.Single()), Does.Not.Contain("secret-"));
        foreach (var (name, sink) in new[] { ("WriteTo", beside), ("AuditTo", audit) })
        {
            var rendered = Render(sink.Events.Single());
            Assert.That(rendered, Does.Contain("template-secret-2"), name + ": the enricher alone cannot change the template");
            Assert.That(rendered, Does.Not.Contain("property-secret-3"), name + ": the enricher masks the properties");
        }
    }

    [Test]
    public void ASinkOfTheOptionsThatThrowsAtConfigurationLeavesTheRollingJsonFileFree()
    {
        // The RollingJson sink claims its path as it is built; a sink added through WriteTo(...) that fails after it
        // would leave the path claimed by a sink nothing can close, and the next configuration on it refused.
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path)
                .WriteTo(_ => throw new ArgumentException("The sink's argument is invalid.", "configure"))));
        Assert.That(ex!.ParamName, Is.EqualTo("configure"));

        using (var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path)).CreateLogger())
            logger.Information("After the failure");

        Assert.That(File.ReadAllText(Directory.GetFiles(folder.Path).Single()), Does.Contain("After the failure"));
    }

    [Test]
    public void ASinkOfTheOptionsThatThrowsAtConfigurationLeavesTheFileOfASinkAddedBeforeItFree()
    {
        // An earlier WriteTo(...) call, or the same callback before it throws, built a RollingJson sink that claimed its
        // path: nothing else can close it, so it is closed before the error goes on.
        using var folder = TempFolder.ForCaller();
        var audit = Path.Combine(folder.Path, "audit-.json");
        var other = Path.Combine(folder.Path, "other-.json");
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None)
                .WriteTo(w => w.RollingJson(audit))
                .WriteTo(w =>
                {
                    w.RollingJson(other);
                    throw new ArgumentException("The sink's argument is invalid.", "configure");
                })));
        Assert.That(ex!.ParamName, Is.EqualTo("configure"));

        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.RollingJson(audit).WriteTo.RollingJson(other)))
                   .CreateLogger())
            logger.Information("After the failure");

        Assert.That(Directory.GetFiles(folder.Path).Select(File.ReadAllText).ToArray(), Has.Length.EqualTo(2).And.All.Contains("After the failure"));
    }

    [Test]
    public void ARollingJsonFileThatCannotBeOpenedLeavesTheFilesOfTheOptionsSinksFree()
    {
        // The options' own sinks are built before the file: a file refused (its path held by a live logger) must not
        // leave their files claimed when the path is free again.
        using var folder = TempFolder.ForCaller();
        var app = Path.Combine(folder.Path, "app-.json");
        var audit = Path.Combine(folder.Path, "audit-.json");
        ObservabilityOptions Configure(ObservabilityOptions o) => o.Console(ObservabilityConsoleFormat.None).RollingJson(app).WriteTo(w => w.RollingJson(audit));
        using (new LoggerConfiguration().WriteTo.RollingJson(app).CreateLogger())
            Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WithObservability(o => Configure(o)));

        using (var logger = new LoggerConfiguration().WithObservability(o => Configure(o)).CreateLogger())
            logger.Information("After the failure");

        Assert.That(File.ReadAllText(Directory.GetFiles(folder.Path, "audit-*").Single()), Does.Contain("After the failure"));
    }

    [Test]
    public void ASecondCallWhoseSinkThrowsReportsThatSinksErrorAndKeepsTheFirstCallsFile()
    {
        using var folder = TempFolder.ForCaller();
        var configuration = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder.Path, "app-.json")));

        var ex = Assert.Throws<ArgumentException>(() => configuration.WithObservability(o =>
            o.WriteTo(_ => throw new ArgumentException("The sink's argument is invalid.", "configure"))));
        Assert.That(ex!.ParamName, Is.EqualTo("configure"), "not the file's path, still claimed by the failed set");

        using (var logger = configuration.CreateLogger())
            logger.Information("After the failure");
        Assert.That(File.ReadAllText(Directory.GetFiles(folder.Path).Single()), Does.Contain("After the failure"));
    }

    [Test]
    public void ServiceNameVersionAndEnvironmentAreOnEveryEvent()
    {
        var evt = DelegatingSink.GetLogEvent(l => l.Information("x"),
            c => c.WithObservability(o => o.Service("checkout-api", "1.2.3", "Staging").Console(ObservabilityConsoleFormat.None)));

        Assert.That(Scalar(evt, "ServiceName"), Is.EqualTo("checkout-api"));
        Assert.That(Scalar(evt, "ServiceVersion"), Is.EqualTo("1.2.3"));
        Assert.That(Scalar(evt, "Environment"), Is.EqualTo("Staging"));
    }

    [Test]
    public void ServicePropertiesAreTheSameOnEveryEventAndNeverOverrideTheEventsOwn()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Service("checkout-api", "1.2.3", "Staging").Console(ObservabilityConsoleFormat.None))
                   .WriteTo.Sink(sink).CreateLogger())
        {
            logger.Information("first");
            logger.Information("second");
            logger.Information("Running as {ServiceName} in {Environment}", "worker-override", "Local");
        }

        var first = sink.Events.Single(e => e.MessageTemplate.Text == "first");
        var second = sink.Events.Single(e => e.MessageTemplate.Text == "second");
        var own = sink.Events.Single(e => e.MessageTemplate.Text.StartsWith("Running", StringComparison.Ordinal));
        foreach (var name in new[] { "ServiceName", "ServiceVersion", "Environment" })
            Assert.That(second.Properties[name], Is.EqualTo(first.Properties[name]));
        Assert.That(Scalar(first, "ServiceName"), Is.EqualTo("checkout-api"));
        Assert.That(Scalar(own, "ServiceName"), Is.EqualTo("worker-override"));
        Assert.That(Scalar(own, "Environment"), Is.EqualTo("Local"));
        Assert.That(Scalar(own, "ServiceVersion"), Is.EqualTo("1.2.3"));
    }

    [Test]
    public void NamingTheServiceAgainKeepsTheVersionAndEnvironmentItDoesNotRepeat()
    {
        var evt = DelegatingSink.GetLogEvent(l => l.Information("x"),
            c => c.WithObservability(o => o.Service("default-name", environment: "Staging").Console(ObservabilityConsoleFormat.None))
                  .WithObservability(o => o.Service("chosen-name", "3.0.0")));

        Assert.That(Scalar(evt, "ServiceName"), Is.EqualTo("chosen-name"));
        Assert.That(Scalar(evt, "ServiceVersion"), Is.EqualTo("3.0.0"));
        Assert.That(Scalar(evt, "Environment"), Is.EqualTo("Staging"));
    }

    [Test]
    public void ACallThatFailsValidationLeavesTheConfigurationUsableForTheNextCall()
    {
        var configuration = new LoggerConfiguration();
        Assert.Throws<ArgumentException>(() => configuration.WithObservability(o => o.Service("")));

        var sink = new CollectingSink();
        using (var logger = configuration.WithObservability(o => o.Console(ObservabilityConsoleFormat.None)).WriteTo.Sink(sink).CreateLogger())
        using (CorrelationContext.Begin("after-failure"))
            logger.Information("x");

        Assert.That(Scalar(sink.SingleEvent, "CorrelationId"), Is.EqualTo("after-failure"));
    }

    [Test]
    public void ACallWhoseOptionsFailToBuildIsNotKeptForTheNextCall()
    {
        // Options that only fail once built (a redaction mask, a queue limit) must not stay in the configuration.
        // The file goes to a folder of this test's own: a relative path lands in the working directory, where an earlier
        // run (or another test) may have left files by that name.
        using var folder = TempFolder.ForCaller();
        var configuration = new LoggerConfiguration();
        Assert.Throws<ArgumentException>(() => configuration.WithObservability(o => o.Redaction(r => r.Mask = "")));
        Assert.Throws<ArgumentOutOfRangeException>(() => configuration.WithObservability(o => o.RollingJson(Path.Combine(folder.Path, "never-.json"), f => f.QueueLimit = 0)));

        var sink = new CollectingSink();
        using (var logger = configuration.WithObservability(o => o.Console(ObservabilityConsoleFormat.None)).WriteTo.Sink(sink).CreateLogger())
        using (CorrelationContext.Begin("after-two-failures"))
            logger.Information("x");

        Assert.That(Scalar(sink.SingleEvent, "CorrelationId"), Is.EqualTo("after-two-failures"));
        Assert.That(Directory.GetFiles(folder.Path), Is.Empty, "the failed call's file sink was kept");
    }

    [Test]
    public void AFileOptionChangedInACallThatFailsIsNotKeptForTheNextCall()
    {
        using var folder = TempFolder.ForCaller();
        var configuration = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None)
                .RollingJson(Path.Combine(folder.Path, "app-.json"), f => f.RollingInterval = Sinks.RollingJson.RollingJsonInterval.Infinite));

        var failed = Assert.Throws<ArgumentOutOfRangeException>(() => configuration.WithObservability(o => o.RollingJsonOptions.QueueLimit = 0));
        Assert.That(failed!.ParamName, Is.EqualTo("queueLimit"));

        Assert.DoesNotThrow(() => configuration.WithObservability(o => o.Service("after-failure")));
        using (var logger = configuration.CreateLogger())
            logger.Information("x");
        Assert.That(File.ReadAllText(Directory.GetFiles(folder.Path).Single()), Does.Contain("\"ServiceName\":\"after-failure\""));
    }

    [Test]
    public void AKeyedUserEnricherAfterWithObservabilityPseudonymisesTheUserId()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None))
                   .Enrich.WithUser(pseudonymKey: "0123456789abcdef0123")
                   .WriteTo.Sink(sink).CreateLogger())
        using (UserContext.Begin("alice@example.com"))
            logger.Information("x");

        Assert.That(Scalar(sink.SingleEvent, "UserId"), Is.Not.EqualTo("alice@example.com"));
        Assert.That(Scalar(sink.SingleEvent, "UserId") as string, Has.Length.EqualTo(64));
    }

    [Test]
    public void EnrichersCanBeTurnedOff()
    {
        LogEvent evt;
        using (CorrelationContext.Begin("corr-off"))
        {
            evt = DelegatingSink.GetLogEvent(l => l.Information("x"),
                c => c.WithObservability(o => o.Without(ObservabilityEnrichers.ThreadId | ObservabilityEnrichers.Correlation).Console(ObservabilityConsoleFormat.None)));
        }

        Assert.That(evt.Properties.ContainsKey("ThreadId"), Is.False);
        Assert.That(evt.Properties.ContainsKey("CorrelationId"), Is.False);
    }

    [Test]
    public void RedactionRulesCanBeExtended()
    {
        var evt = DelegatingSink.GetLogEvent(l => l.Information("{CustomerNumber} {Other}", "cn-123", "visible"),
            c => c.WithObservability(o => o.Redaction(r => r.AdditionalKeys.Add("customer_number")).Console(ObservabilityConsoleFormat.None)));

        Assert.That(Scalar(evt, "CustomerNumber"), Is.Not.EqualTo("cn-123"));
        Assert.That(Scalar(evt, "Other"), Is.EqualTo("visible"));
    }

    [Test]
    public void MinimumLevelOverridesQuietNoisyNamespaces()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose()
                   .WithObservability(o => o.MinimumLevel("Noisy.Library", LogEventLevel.Warning).Console(ObservabilityConsoleFormat.None))
                   .WriteTo.Sink(sink).CreateLogger())
        {
            logger.ForContext(Core.Constants.SourceContextPropertyName, "Noisy.Library.Thing").Information("dropped");
            logger.ForContext(Core.Constants.SourceContextPropertyName, "Noisy.Library.Thing").Warning("kept");
            logger.ForContext(Core.Constants.SourceContextPropertyName, "Quiet.Library").Information("kept too");
        }

        Assert.That(sink.Events.Select(e => e.MessageTemplate.Text), Is.EqualTo(new[] { "kept", "kept too" }));
    }

    [Test]
    public void ALaterCallDoesNotUndoAnOverrideSetByHandAfterTheEarlierOne()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.MinimumLevel("Noisy.Library", LogEventLevel.Error).Console(ObservabilityConsoleFormat.None))
                   .MinimumLevel.Override("Noisy.Library", LogEventLevel.Information)
                   .WithObservability(o => o.Service("svc").MinimumLevel("Other.Library", LogEventLevel.Warning))
                   .WriteTo.Sink(sink).CreateLogger())
        {
            logger.ForContext(Core.Constants.SourceContextPropertyName, "Noisy.Library.Thing").Information("kept");
            logger.ForContext(Core.Constants.SourceContextPropertyName, "Other.Library.Thing").Information("dropped");
        }

        Assert.That(sink.Events.Select(e => e.MessageTemplate.Text), Is.EqualTo(new[] { "kept" }));
    }

    [Test]
    public void TheRollingJsonFileGetsRedactedCorrelatedClefLines()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path, f => f.RollingInterval = Sinks.RollingJson.RollingJsonInterval.Infinite))
                   .CreateLogger())
        using (CorrelationContext.Begin("file-corr"))
        {
            logger.Information("Signed in with {Password}", "file-secret-9");
        }

        var lines = File.ReadAllLines(Directory.GetFiles(folder.Path).Single());
        Assert.That(lines, Has.Length.EqualTo(1));
        using var json = JsonDocument.Parse(lines[0]);
        Assert.That(json.RootElement.GetProperty("@mt").GetString(), Is.EqualTo("Signed in with {Password}"));
        Assert.That(json.RootElement.GetProperty("CorrelationId").GetString(), Is.EqualTo("file-corr"));
        Assert.That(lines[0], Does.Not.Contain("file-secret-9"));
    }

    [Test]
    public void CallingItTwiceDoesNotDuplicateSinksOrProperties()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "twice.json");
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path, f => f.RollingInterval = Sinks.RollingJson.RollingJsonInterval.Infinite))
                   .Enrich.WithCorrelation()
                   .WithObservability(o => o.Service("svc"))
                   .WriteTo.Sink(sink)
                   .CreateLogger())
        using (CorrelationContext.Begin("twice-corr"))
        {
            logger.Information("Once");
        }

        var lines = File.ReadAllLines(Directory.GetFiles(folder.Path).Single());
        Assert.That(lines, Has.Length.EqualTo(1), "One file sink, one line.");
        Assert.That(lines[0], Does.Contain("\"ServiceName\":\"svc\""), "The second call's options apply.");
        Assert.That(sink.Events, Has.Count.EqualTo(1));
        Assert.That(Scalar(sink.Events[0], "CorrelationId"), Is.EqualTo("twice-corr"));
    }

    [Test]
    [NonParallelizable]
    public void TheDefaultConsoleShowsLevelCorrelationIdAndMessage()
    {
        var captured = ConsoleCapture.Output(() =>
        {
            using (var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text)).CreateLogger())
            using (CorrelationContext.Begin("console-corr"))
            {
                logger.Warning("Disk at {Percent}%", 93);
            }
        });

        Assert.That(captured, Does.Match(@"\[\d\d:\d\d:\d\d WRN\] console-corr Disk at 93%"));
    }

    [TestCase(ObservabilityConsoleFormat.Clef, "\"@mt\":\"Disk at {Percent}%\"")]
    [TestCase(ObservabilityConsoleFormat.FlatJson, "\"message\":\"Disk at 93%\"")]
    [NonParallelizable]
    public void TheConsoleCanWriteJson(ObservabilityConsoleFormat format, string expected)
    {
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(format)).CreateLogger();
            logger.Information("Disk at {Percent}%", 93);
        });

        var line = captured.Trim();
        Assert.That(line, Does.Contain(expected));
        Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose());
    }

    [Test]
    public void InvalidOptionsAreRejectedWithTheParameterName()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WithObservability(o => o.Service(" ")));
        Assert.That(ex!.ParamName, Is.EqualTo("name"));
        var path = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WithObservability(o => o.RollingJson("")));
        Assert.That(path!.ParamName, Is.EqualTo("path"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LoggerConfiguration().WithObservability(o => o.Console((ObservabilityConsoleFormat)42)));
    }

    [TestCase("", null, "version")]
    [TestCase(" ", null, "version")]
    [TestCase(null, "", "environment")]
    [TestCase(null, "\t", "environment")]
    public void ABlankServiceVersionOrEnvironmentIsRejectedWithTheParameterName(string? version, string? environment, string parameter)
    {
        // Null keeps the value set before; blank text is neither that nor a version, and was written as-is on every event.
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WithObservability(o => o.Service("svc", version, environment)));
        Assert.That(ex!.ParamName, Is.EqualTo(parameter));
        Assert.That(ex.Message, Does.Contain("must not be empty or white space"));
    }

    [Test]
    public void ConsolePropertiesSetDirectlyAreCheckedLikeConsole()
    {
        // Set as properties (as a configuration binder does) they used to skip Console()'s checks: an undefined format
        // silently meant no console at all.
        var format = Assert.Throws<ArgumentOutOfRangeException>(() => new LoggerConfiguration().WithObservability(o => o.ConsoleFormat = (ObservabilityConsoleFormat)42));
        Assert.That(format!.ParamName, Is.EqualTo(nameof(ObservabilityOptions.ConsoleFormat)));
        var template = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WithObservability(o => o.ConsoleTemplate = " "));
        Assert.That(template!.ParamName, Is.EqualTo(nameof(ObservabilityOptions.ConsoleTemplate)));
        Assert.That(new ObservabilityOptions { ConsoleFormat = ObservabilityConsoleFormat.FlatJson }.ConsoleFormat, Is.EqualTo(ObservabilityConsoleFormat.FlatJson));
    }

    [TestCase(1024)]
    [TestCase(64)]
    [TestCase((int)ObservabilityEnrichers.All | 128)]
    public void UndefinedEnricherFlagsAreRejectedWithTheNameAndTheRule(int value)
    {
        // They used to be accepted and ignored, so a typo or a value from a newer version turned nothing on or off.
        var set = Assert.Throws<ArgumentOutOfRangeException>(() => new LoggerConfiguration().WithObservability(o => o.Enrichers = (ObservabilityEnrichers)value));
        Assert.That(set!.ParamName, Is.EqualTo(nameof(ObservabilityOptions.Enrichers)));
        Assert.That(set.Message, Does.Contain("only the flags ObservabilityEnrichers defines"));

        var without = Assert.Throws<ArgumentOutOfRangeException>(() => new LoggerConfiguration().WithObservability(o => o.Without((ObservabilityEnrichers)value)));
        Assert.That(without!.ParamName, Is.EqualTo("enrichers"));
        Assert.That(without.Message, Does.Contain("only the flags ObservabilityEnrichers defines"));
    }

    [Test]
    public void EveryDefinedCombinationOfEnricherFlagsIsAccepted()
    {
        var options = new ObservabilityOptions { Enrichers = ObservabilityEnrichers.Span | ObservabilityEnrichers.User };
        Assert.That(options.Without(ObservabilityEnrichers.User | ObservabilityEnrichers.ThreadId).Enrichers, Is.EqualTo(ObservabilityEnrichers.Span));
        Assert.DoesNotThrow(() => options.Enrichers = ObservabilityEnrichers.All);
        Assert.DoesNotThrow(() => options.Enrichers = ObservabilityEnrichers.None);
    }

    [TestCase(ObservabilityConsoleFormat.Clef)]
    [TestCase(ObservabilityConsoleFormat.FlatJson)]
    [TestCase(ObservabilityConsoleFormat.None)]
    public void ATemplateWithAFormatOtherThanTextIsRejected(ObservabilityConsoleFormat format)
    {
        // The JSON formats have no template: it used to be accepted and silently ignored.
        var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WithObservability(o => o.Console(format, "{Message}{NewLine}")));
        Assert.That(ex!.ParamName, Is.EqualTo("template"));
        Assert.That(ex.Message, Does.Contain("only applies to the Text console format"));
    }

    [Test]
    public void ARejectedConsoleCallChangesNothing()
    {
        var options = new ObservabilityOptions();
        options.Console(ObservabilityConsoleFormat.Text, "{Message}{NewLine}");
        Assert.Throws<ArgumentException>(() => options.Console(ObservabilityConsoleFormat.Clef, "{Level} {Message}{NewLine}"));
        Assert.Throws<ArgumentException>(() => options.Console(ObservabilityConsoleFormat.FlatJson, " "));
        Assert.That(options.ConsoleFormat, Is.EqualTo(ObservabilityConsoleFormat.Text));
        Assert.That(options.ConsoleTemplate, Is.EqualTo("{Message}{NewLine}"));
    }

    public sealed record LoyaltyCard(string Holder, string LoyaltyNumber);

    [Test]
    public void ASensitiveKeyAddedByALaterCallMasksObjectsCapturedWithAt()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None))
                   .WithObservability(o => o.Redaction(r => r.AdditionalKeys.Add("loyalty_number")))
                   // Added after WithObservability's event pass and written to a sink outside WriteTo.Redacted: only the
                   // destructuring policy stands between this object and the output.
                   .Enrich.WithProperty("Card", new LoyaltyCard("ann", "loyalty-secret-1"), destructureObjects: true)
                   .WriteTo.Sink(sink)
                   .CreateLogger())
        {
            logger.Information("Paid with {@Used}", new LoyaltyCard("bob", "loyalty-secret-2"));
        }

        var text = Render(sink.SingleEvent);
        Assert.That(text, Does.Not.Contain("loyalty-secret"));
        Assert.That(text, Does.Contain("\"LoyaltyNumber\":\"[REDACTED]\"").And.Contain("ann").And.Contain("bob"));
    }

    [Test]
    public void ObjectsCapturedWithAtAreMaskedWithTheLatestCallsRules()
    {
        // The event pass leaves a value the destructuring policy already masked as it is, so the policy's rules decide.
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).Redaction(r => r.AdditionalKeys.Add("holder")))
                   .WithObservability(o => o.Redaction(r =>
                   {
                       r.Mask = "***";
                       r.ExcludedKeys.Add("holder");
                   }))
                   .WriteTo.Sink(sink)
                   .CreateLogger())
        {
            logger.Information("Login {@Login} {Password}", new { Holder = "ann", Password = "hunter2" }, "plain-secret");
        }

        var text = Render(sink.SingleEvent);
        Assert.That(text, Does.Contain("\"Login\":{\"Holder\":\"ann\",\"Password\":\"***\"}"));
        Assert.That(text, Does.Contain("\"Password\":\"***\""));
        Assert.That(text, Does.Not.Contain("hunter2").And.Not.Contain("plain-secret").And.Not.Contain("[REDACTED]"));
    }

    [Test]
    [NonParallelizable]
    public void TheDefaultConsoleLineHasASingleSpaceBeforeTheMessageWithoutACorrelationId()
    {
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text)).CreateLogger();
            Assert.That(System.Diagnostics.Activity.Current, Is.Null, "No trace id for the correlation id to fall back to.");
            logger.Warning("Disk at {Percent}%", 93);
            using (CorrelationContext.Begin("console-corr"))
                logger.Warning("Disk at {Percent}%", 94);
        });

        var lines = captured.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[0], Does.Match(@"^\[\d\d:\d\d:\d\d WRN\] Disk at 93%$"));
        Assert.That(lines[1], Does.Match(@"^\[\d\d:\d\d:\d\d WRN\] console-corr Disk at 94%$"));
    }

    [TestCase("{Level:u3} {CorrelationId} {Message:lj}{NewLine}", "WRN Disk at 93%")]
    [TestCase("{{{Level:u3}}} {CorrelationId} {Message:lj}{NewLine}", "{WRN} Disk at 93%")]
    [TestCase("{Level:u3} {Message:lj} {CorrelationId}{NewLine}", "WRN Disk at 93% ")]
    [NonParallelizable]
    public void AConsoleTemplateLeavesOutTheCorrelationIdAndTheSpaceAfterItWhenThereIsNone(string template, string expected)
    {
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, template)).CreateLogger();
            logger.Warning("Disk at {Percent}%", 93);
        });

        Assert.That(captured, Is.EqualTo(expected + Environment.NewLine));
    }

    [TestCase("{Level:u3} {CorrelationId,-12:l} | {Message:lj}{NewLine}", "WRN              | Disk at 93%")]
    [TestCase("{Level:u3} {CorrelationId,12}| {Message:lj}{NewLine}", "WRN             | Disk at 93%")]
    [NonParallelizable]
    public void AnAlignedCorrelationIdKeepsItsColumnWhenThereIsNone(string template, string expected)
    {
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, template)).CreateLogger();
            logger.Warning("Disk at {Percent}%", 93);
        });

        Assert.That(captured, Is.EqualTo(expected + Environment.NewLine));
    }

    [TestCase(null, "[{Level:u3}] {CorrelationId} {Message:lj}{NewLine}", "[WRN] Disk at 93%")]
    [TestCase("", "[{Level:u3}] {CorrelationId} {Message:lj}{NewLine}", "[WRN] Disk at 93%")]
    [TestCase(null, "{Level:u3} {Message:lj} {CorrelationId}{NewLine}", "WRN Disk at 93% ")]
    [TestCase(null, "{Level:u3} {CorrelationId,-6}| {Message:lj}{NewLine}", "WRN       | Disk at 93%")]
    [NonParallelizable]
    public void ANullOrEmptyCorrelationIdIsWrittenLikeAMissingOne(string? id, string template, string expected)
    {
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, template)).CreateLogger();
            logger.ForContext("CorrelationId", id).Warning("Disk at {Percent}%", 93);
        });

        Assert.That(captured, Is.EqualTo(expected + Environment.NewLine));
    }

    [TestCase("/a\r\n[12:00:00 INF] forged", "/a\\r\\n[12:00:00 INF] forged")]
    [TestCase("/a\u001b[31mred\u001b[0m", "/a\\u001b[31mred\\u001b[0m", TestName = "{m}(an ANSI escape sequence)")]
    [TestCase("/a\u0085b\u2028c\u0000d", "/a\\u0085b\\u2028c\\u0000d", TestName = "{m}(NEL, a line separator and NUL)")]
    [TestCase("/tab\tand \"quotes\"", "/tab\tand \"quotes\"")]
    [NonParallelizable]
    public void TheTextConsoleEscapesControlCharactersInValuesSoThatAValueCannotForgeALine(string value, string expected)
    {
        // A request path, a user name or a header value with a line break would otherwise write a line of its own
        // ({Message:lj} writes a string as it is), and an escape sequence would reach the terminal.
        const string template = "[{Level:u3}] {Message:lj} {UserName}{NewLine}";
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, template)).CreateLogger();
            logger.ForContext("UserName", value).Information("HTTP GET {RequestPath} responded", value);
        });

        Assert.That(captured, Is.EqualTo($"[INF] HTTP GET {expected} responded {expected}{Environment.NewLine}"));
    }

    [TestCase('\n', "\\n", "\\n")]
    [TestCase('\u001b', "\\u001b", "\\u001b", TestName = "{m}(ESC)")]
    [TestCase('x', "'x'", "x", TestName = "{m}(a plain char, as Serilog writes it)")]
    [NonParallelizable]
    public void TheTextConsoleEscapesAControlCharacterHeldAsAChar(char value, string inMessage, string inTemplate)
    {
        // The console writes a char as it is, like a string (quoted in the message, bare in the output template). An
        // escaped one is written as its escape's text, as an escaped string is.
        const string template = "[{Level:u3}] {Message:lj} {Separator}{NewLine}";
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, template)).CreateLogger();
            logger.ForContext("Separator", value).Information("Split on {Separator}", value);
        });

        Assert.That(captured, Is.EqualTo($"[INF] Split on {inMessage} {inTemplate}{Environment.NewLine}"));
    }

    [TestCase("{Message:l}{NewLine}", "[\"\\n\"] {C=\"\\u001B\"} {[\"\\r\"]=\"\\n\"}")]
    [TestCase("{Message:lj}{NewLine}", "[\"\\n\"] {\"C\": \"\\u001B\"} {\"\\r\": \"\\n\"}")]
    [NonParallelizable]
    public void TheTextConsoleWritesAControlCharacterHeldAsACharInsideAValueAsQuotedJson(string template, string expected)
    {
        // Without the j format (a template's {Message}, {Message:l} or {Properties}) the console writes a char inside a
        // sequence, structure or dictionary as it is, between single quotes, where it writes a string as quoted JSON:
        // a line break or an escape sequence reached the console. With j it was quoted JSON already, and stays so.
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, template)).CreateLogger();
            logger.Information("{Chars} {@Holder} {Map}", new[] { '\n' }, new { C = '\u001b' }, new Dictionary<char, char> { ['\r'] = '\n' });
        });

        Assert.That(captured, Is.EqualTo(expected + Environment.NewLine));
    }

    [Test]
    [NonParallelizable]
    public void TheTextConsoleEscapesANestedStringOnce()
    {
        // The console writes a string inside a sequence, structure or dictionary as quoted JSON, escaped already.
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, "{Message:l}{NewLine}")).CreateLogger();
            logger.Information("{Names} {@Order} {Tags}", new[] { "a\nb" }, new { Name = "c\nd" }, new Dictionary<string, string> { ["e\nf"] = "g\nh" });
        });

        Assert.That(captured, Is.EqualTo("[\"a\\nb\"] {Name=\"c\\nd\"} {[\"e\\nf\"]=\"g\\nh\"}" + Environment.NewLine));
    }

    [Test]
    [NonParallelizable]
    public void ATemplateThatQuotesStringsEscapesAnEscapedValueAgainOnOneLine()
    {
        var captured = ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.Text, "{Message}{NewLine}")).CreateLogger();
            logger.Information("Path {RequestPath}", "a\nb");
        });

        Assert.That(captured, Is.EqualTo("Path \"a\\\\nb\"" + Environment.NewLine));
    }

    [Test]
    [NonParallelizable]
    public void TheTextConsoleLeavesTheEventForTheOtherSinksAsLogged()
    {
        LogEvent? seen = null;
        ConsoleCapture.Output(() =>
        {
            using var logger = new LoggerConfiguration()
                .WithObservability(o => o.Console(ObservabilityConsoleFormat.Text).WriteTo(w => w.Sink(new DelegateSink(e => seen = e))))
                .CreateLogger();
            logger.Information("Path {RequestPath}", "/a\nb");
        });

        Assert.That(((ScalarValue)seen!.Properties["RequestPath"]).Value, Is.EqualTo("/a\nb"));
    }

    sealed class DelegateSink(Action<LogEvent> write) : Core.ILogEventSink
    {
        public void Emit(LogEvent logEvent) => write(logEvent);
    }

    static string Render(LogEvent logEvent)
    {
        var writer = new StringWriter();
        new Formatting.CompactJsonFormatter().Format(logEvent, writer);
        return writer.ToString();
    }
}
