using System.Text;
using Microsoft.Extensions.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>
/// What the package README's "Things to know" says, as it behaves today: the order of what is added beside
/// <c>WithObservability()</c>, the <c>"Serilog"</c> section, and level overrides in a sub-logger. A change to any of
/// these must change the README with it.
/// </summary>
public class ThingsToKnowTests
{
    sealed class Login
    {
        public string User { get; set; } = "";
        public string Password { get; set; } = "";
    }

    static LoggerConfiguration WithQuietObservability(LoggerConfiguration configuration) =>
        configuration.WithObservability(o => o.Console(ObservabilityConsoleFormat.None));

    static IConfiguration Section(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    static string[] Texts(CollectingSink sink) => sink.Events.Select(e => e.MessageTemplate.Text).ToArray();

    // Serilog asks its destructuring policies in the order they were added, and WithObservability()'s redaction policy
    // takes every class, record and struct: a policy added after it is never asked about them.
    [Test]
    public void ATransformAddedAfterWithObservabilityIsNotUsedForAnObjectItsRedactionCaptures()
    {
        var evt = DelegatingSink.GetLogEvent(l => l.Information("{@Login}", new Login { User = "ann", Password = "hunter2" }),
            c => WithQuietObservability(c).Destructure.ByTransforming<Login>(login => new { Who = login.User }));

        Assert.That(evt.Properties["Login"].ToString(), Is.EqualTo("Login { User: \"ann\", Password: \"[REDACTED]\" }"));
    }

    sealed class LoginAsUserPolicy : IDestructuringPolicy
    {
        public bool TryDestructure(object value, ILogEventPropertyValueFactory propertyValueFactory, out LogEventPropertyValue result)
        {
            result = value is Login login ? new ScalarValue(login.User) : null!;
            return value is Login;
        }
    }

    [TestCase(false, "Login { User: \"ann\", Password: \"[REDACTED]\" }")]
    [TestCase(true, "\"ann\"")]
    public void APolicyOfYourOwnIsUsedForSuchAnObjectOnlyWhenAddedBeforeWithObservability(bool before, string expected)
    {
        var evt = DelegatingSink.GetLogEvent(l => l.Information("{@Login}", new Login { User = "ann", Password = "hunter2" }),
            c => before
                ? WithQuietObservability(c.Destructure.With(new LoginAsUserPolicy()))
                : WithQuietObservability(c).Destructure.With(new LoginAsUserPolicy()));

        Assert.That(evt.Properties["Login"].ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void ATransformAddedBeforeWithObservabilityIsUsedAndWhatItReturnsIsMasked()
    {
        var evt = DelegatingSink.GetLogEvent(l => l.Information("{@Login}", new Login { User = "ann", Password = "hunter2" }),
            c => WithQuietObservability(c.Destructure.ByTransforming<Login>(login => new { Who = login.User, login.Password })));

        Assert.That(evt.Properties["Login"].ToString(), Is.EqualTo("{ Who: \"ann\", Password: \"[REDACTED]\" }"));
    }

    [Test]
    public void AScalarTypeAndAFilterTakeEffectWhereverTheyAreAdded()
    {
        string? correlationIdSeenByFilter = null;
        LogEvent evt;
        using (CorrelationContext.Begin("corr-filter"))
        {
            evt = DelegatingSink.GetLogEvent(l => l.Information("{@Login}", new Login { User = "ann", Password = "hunter2" }),
                c => WithQuietObservability(c.Filter.ByIncludingOnly(e =>
                    {
                        correlationIdSeenByFilter = e.Properties.TryGetValue("CorrelationId", out var id) ? id.ToString() : null;
                        return true;
                    }))
                    .Destructure.AsScalar<Login>());
        }

        Assert.That(evt.Properties["Login"], Is.TypeOf<ScalarValue>(), "AsScalar after WithObservability()");
        Assert.That(correlationIdSeenByFilter, Is.EqualTo("\"corr-filter\""), "a filter added before it runs after its enrichers");
    }

    // Enrichers run in the order they were added; WithObservability()'s redaction pass is the last of its own enrichers.
    // Its own sinks are inside WriteTo.Redacted and mask the event again; a sink beside it and a filter see the value.
    [Test]
    public void AnEnricherAddedAfterWithObservabilityReachesASinkBesideItUnmasked()
    {
        var inside = new CollectingSink();
        var beside = new CollectingSink();
        var audit = new CollectingSink();
        string? seenByFilter = null;
        using (var logger = new LoggerConfiguration()
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(inside)))
                   .Enrich.WithProperty("ApiKey", "enriched-secret-1")
                   .Filter.ByIncludingOnly(e =>
                   {
                       seenByFilter = e.Properties["ApiKey"].ToString();
                       return true;
                   })
                   .WriteTo.Sink(beside)
                   .AuditTo.Sink(audit)
                   .CreateLogger())
        {
            logger.Information("Hello");
        }

        Assert.That(inside.SingleEvent.Properties["ApiKey"].ToString(), Is.EqualTo("\"[REDACTED]\""));
        Assert.That(beside.SingleEvent.Properties["ApiKey"].ToString(), Is.EqualTo("\"enriched-secret-1\""));
        Assert.That(audit.SingleEvent.Properties["ApiKey"].ToString(), Is.EqualTo("\"enriched-secret-1\""));
        Assert.That(seenByFilter, Is.EqualTo("\"enriched-secret-1\""));
    }

    [Test]
    public void AnEnricherAddedBeforeWithObservabilityIsMaskedForEverySink()
    {
        var inside = new CollectingSink();
        var beside = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .Enrich.WithProperty("ApiKey", "enriched-secret-1")
                   .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(inside)))
                   .WriteTo.Sink(beside)
                   .CreateLogger())
        {
            logger.Information("Hello");
        }

        Assert.That(inside.SingleEvent.Properties["ApiKey"].ToString(), Is.EqualTo("\"[REDACTED]\""));
        Assert.That(beside.SingleEvent.Properties["ApiKey"].ToString(), Is.EqualTo("\"[REDACTED]\""));
    }

    // A second call replaces what the first attached, in the first call's place.
    [Test]
    public void CallingWithObservabilityAgainDoesNotMoveItAfterAnEnricherOrAPolicyAddedSince()
    {
        var beside = new CollectingSink();
        using (var logger = WithQuietObservability(new LoggerConfiguration())
                   .Enrich.WithProperty("ApiKey", "enriched-secret-1")
                   .Destructure.With(new LoginAsUserPolicy())
                   .WithObservability(o => o.Service("svc"))
                   .WriteTo.Sink(beside)
                   .CreateLogger())
        {
            logger.Information("{@Login}", new Login { User = "ann", Password = "hunter2" });
        }

        Assert.That(beside.SingleEvent.Properties["ApiKey"].ToString(), Is.EqualTo("\"enriched-secret-1\""));
        Assert.That(beside.SingleEvent.Properties["Login"].ToString(), Is.EqualTo("Login { User: \"ann\", Password: \"[REDACTED]\" }"));
    }

    // Every enricher here adds a property only when it is absent: the first one added keeps it.
    [TestCase(true, "mine")]
    [TestCase(false, "svc")]
    public void TheFirstEnricherToAddAPropertyKeepsIt(bool propertyBeforeWithObservability, string expected)
    {
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration().WriteTo.Sink(sink);
        if (propertyBeforeWithObservability) configuration.Enrich.WithProperty("ServiceName", "mine");
        configuration.WithObservability(o => o.Service("svc").Console(ObservabilityConsoleFormat.None));
        if (!propertyBeforeWithObservability) configuration.Enrich.WithProperty("ServiceName", "mine");
        using (var logger = configuration.CreateLogger()) logger.Information("Hello");

        Assert.That(sink.SingleEvent.Properties["ServiceName"].ToString(), Is.EqualTo($"\"{expected}\""));
    }

    // WithObservability() extends LoggerConfiguration itself; Serilog.Settings.Configuration calls only methods of
    // Enrich, WriteTo, Destructure, Filter, AuditTo and MinimumLevel, and passes over one it cannot find.
    [Test, NonParallelizable]
    public void WithObservabilityNamedInTheSerilogSectionIsPassedOverWithOnlyASelfLogLine()
    {
        var selfLog = new List<string>();
        var sink = new CollectingSink();
        var section = Section("""
            { "Serilog": { "Using": [ "Serilog.Extensions.Observability" ],
                           "Enrich": [ "WithObservability" ], "WriteTo": [ { "Name": "WithObservability" } ] } }
            """);
        using (TemporarySelfLog.SaveTo(selfLog))
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(section).WriteTo.Sink(sink).CreateLogger())
        using (CorrelationContext.Begin("corr-section"))
        {
            logger.Information("Login with {Password}", "section-secret-1");
        }

        Assert.That(selfLog.Count(line => line.Contains("Unable to find a method called WithObservability", StringComparison.Ordinal)),
            Is.EqualTo(2));
        Assert.That(sink.SingleEvent.Properties.ContainsKey("CorrelationId"), Is.False);
        Assert.That(sink.SingleEvent.Properties["Password"].ToString(), Is.EqualTo("\"section-secret-1\""));
    }

    [Test]
    public void CalledAfterReadFromConfigurationItAddsToWhatTheSectionSetAndMasksWhatItsEnrichersAdd()
    {
        var beside = new CollectingSink();
        var section = Section("""
            { "Serilog": { "MinimumLevel": { "Default": "Warning" },
                           "Properties": { "ApiKey": "section-secret-1" } } }
            """);
        using (var logger = WithQuietObservability(new LoggerConfiguration().ReadFrom.Configuration(section))
                   .WriteTo.Sink(beside)
                   .CreateLogger())
        using (CorrelationContext.Begin("corr-section"))
        {
            logger.Information("Dropped");
            logger.Warning("Kept");
        }

        Assert.That(Texts(beside), Is.EqualTo(new[] { "Kept" }));
        Assert.That(beside.SingleEvent.Properties["CorrelationId"].ToString(), Is.EqualTo("\"corr-section\""));
        Assert.That(beside.SingleEvent.Properties["ApiKey"].ToString(), Is.EqualTo("\"[REDACTED]\""));
    }

    // A sink of the section is beside WithObservability()'s: the event pass has masked its properties, but the
    // template's text and the exception are as logged unless the section puts the sink inside "Redacted".
    [Test]
    public void ASinkOfTheSectionGetsTheTemplatesTextMaskedOnlyInsideRedacted()
    {
        using var folder = TempFolder.ForCaller();
        var directory = folder.Path.Replace('\\', '/');
        var section = Section($$"""
            { "Serilog": { "WriteTo": [
              { "Name": "RollingJson", "Args": { "path": "{{directory}}/plain-.json" } },
              { "Name": "Redacted", "Args": { "detectEmbeddedCredentials": true,
                  "configure": [ { "Name": "RollingJson", "Args": { "path": "{{directory}}/redacted-.json" } } ] } } ] } }
            """);
        using (var logger = WithQuietObservability(new LoggerConfiguration().ReadFrom.Configuration(section)).CreateLogger())
        {
            logger.Information("Connecting with password=template-secret-1 as {User}", "ann");
        }

        string File(string prefix) => System.IO.File.ReadAllText(Directory.GetFiles(folder.Path, prefix + "*.json").Single());
        Assert.That(File("plain-"), Does.Contain("template-secret-1"));
        Assert.That(File("redacted-"), Does.Not.Contain("template-secret-1").And.Contain("\"User\":\"ann\""));
    }

    [Test]
    public void MinimumLevelLowersASourcesLevelBelowTheDefaultInTheRootLogger()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Information()
                   .WithObservability(o => o.MinimumLevel("Chatty.Library", LogEventLevel.Debug).Console(ObservabilityConsoleFormat.None))
                   .WriteTo.Sink(sink)
                   .CreateLogger())
        {
            logger.ForContext(Constants.SourceContextPropertyName, "Chatty.Library.Thing").Debug("kept");
            logger.ForContext(Constants.SourceContextPropertyName, "Other.Library").Debug("dropped");
        }

        Assert.That(Texts(sink), Is.EqualTo(new[] { "kept" }));
    }

    // Serilog applies level overrides as a logger is made for a source context (ForContext), which a sub-logger never
    // does; and a sub-logger gets only the events its parent's level let through.
    [Test]
    public void MinimumLevelDoesNothingInASubLogger()
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Information()
                   .WriteTo.Logger(sub => sub.MinimumLevel.Verbose().WithObservability(o => o
                       .MinimumLevel("Noisy.Library", LogEventLevel.Warning)
                       .MinimumLevel("Chatty.Library", LogEventLevel.Debug)
                       .Console(ObservabilityConsoleFormat.None)
                       .WriteTo(w => w.Sink(sink))))
                   .CreateLogger())
        {
            logger.ForContext(Constants.SourceContextPropertyName, "Noisy.Library.Thing").Information("noisy information");
            logger.ForContext(Constants.SourceContextPropertyName, "Chatty.Library.Thing").Debug("chatty debug");
        }

        Assert.That(Texts(sink), Is.EqualTo(new[] { "noisy information" }));
    }
}
