using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Enrichers.Tests.Configuration;

public class AppSettingsConfigurationTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    static IConfiguration FromFile(string name) => new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(TestContext.CurrentContext.TestDirectory, "Configuration", name), optional: false)
        .Build();

    static IConfiguration FromJson(string json) => new ConfigurationBuilder()
        .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)))
        .Build();

    // Writes the same event through both loggers on one named thread, inside the same ambient scopes.
    static (LogEvent FromConfiguration, LogEvent Fluent) LogThroughBoth(IConfiguration configuration, Func<LoggerConfiguration, LoggerConfiguration> fluent)
    {
        var configured = new CollectingSink();
        var expected = new CollectingSink();
        using var fromConfiguration = new LoggerConfiguration().ReadFrom.Configuration(configuration).WriteTo.Sink(configured).CreateLogger();
        using var fromCode = fluent(new LoggerConfiguration().MinimumLevel.Verbose()).WriteTo.Sink(expected).CreateLogger();

        var thread = new Thread(() =>
        {
            using var activity = new Activity("configured-op").AddBaggage("region", "eu").AddTag("attempt", 1).Start();
            using var correlation = CorrelationContext.Begin("cfg-1");
            using var user = UserContext.Begin("alice", "acme", "s-1");
            fromConfiguration.Information("Hello {Name}", "world");
            fromCode.Information("Hello {Name}", "world");
        }) { Name = "config-test" };
        thread.Start();
        Assert.That(thread.Join(Timeout), Is.True);

        return (configured.SingleEvent, expected.SingleEvent);
    }

    static Dictionary<string, string> Rendered(LogEvent evt) =>
        evt.Properties.ToDictionary(p => p.Key, p => p.Value.ToString());

    [Test]
    public void AnAppSettingsFileWithUsingProducesTheSameEventsAsTheFluentSetup()
    {
        var (configured, fluent) = LogThroughBoth(
            FromFile("appsettings.enrichers.json"),
            c => c.Enrich.WithCorrelation()
                .Enrich.WithSpan(includeOperationName: true, includeBaggage: true, includeTags: true)
                .Enrich.WithUser("config-key-0123456789abcdef")
                .Enrich.WithThreadId()
                .Enrich.WithThreadName());

        Assert.That(Rendered(configured), Is.EquivalentTo(Rendered(fluent)));
        Assert.That(configured.Properties.Keys, Is.SupersetOf(new[]
        {
            "CorrelationId", "TraceId", "SpanId", "OperationName", "Baggage", "Tags", "UserId", "TenantId", "SessionId", "ThreadId", "ThreadName",
        }));
        Assert.That(configured.Properties["UserId"], Is.Not.EqualTo(new ScalarValue("alice")));
    }

    [Test]
    public void AnAppSettingsFileWithoutUsingFindsTheEnrichersAndBindsTheirArguments()
    {
        var (configured, fluent) = LogThroughBoth(
            FromFile("appsettings.enrichers-without-using.json"),
            c => c.Enrich.WithCorrelation("RequestId", useTraceIdWhenMissing: false)
                .Enrich.WithSpan()
                .Enrich.WithUser()
                .Enrich.WithThreadId()
                .Enrich.WithThreadName());

        Assert.That(Rendered(configured), Is.EquivalentTo(Rendered(fluent)));
        Assert.That(configured.Properties["RequestId"], Is.EqualTo(new ScalarValue("cfg-1")));
        Assert.That(configured.Properties["UserId"], Is.EqualTo(new ScalarValue("alice")));
        Assert.That(configured.Properties["ThreadName"], Is.EqualTo(new ScalarValue("config-test")));
    }

    [Test]
    public void TheTraceIdFallbackCanBeTurnedOffFromConfiguration()
    {
        var configuration = FromJson("""
            { "Serilog": { "Enrich": [ { "Name": "WithCorrelation", "Args": { "useTraceIdWhenMissing": false } } ] } }
            """);
        using var activity = new Activity("op").Start();

        var evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.ReadFrom.Configuration(configuration));

        Assert.That(evt.Properties.ContainsKey("CorrelationId"), Is.False);
    }

    [Test]
    public void ThePseudonymKeyArgumentHasTheRedactionPackagesNameAndPseudonymisesTheUserId()
    {
        // The same JSON key as WriteTo.Redacted's "pseudonymKey": an argument name Serilog.Settings.Configuration does
        // not know is ignored, so a differently named key here would silently log the clear user id.
        var configuration = FromJson("""
            { "Serilog": { "Enrich": [ { "Name": "WithUser", "Args": { "pseudonymKey": "config-key-0123456789abcdef" } } ] } }
            """);

        LogEvent evt;
        using (UserContext.Begin("alice"))
            evt = DelegatingSink.GetLogEvent(log => log.Information("Hi"), c => c.ReadFrom.Configuration(configuration));

        var userId = ((Serilog.Events.ScalarValue)evt.Properties["UserId"]).Value as string;
        Assert.That(userId, Is.Not.EqualTo("alice"));
        Assert.That(userId, Does.Match("^[0-9a-f]{64}$"));
    }

    [Test]
    public void AnUnsetEnvironmentVariableAsThePseudonymKeyFailsAtStartup()
    {
        var name = "SEO_TEST_UNSET_KEY_" + Guid.NewGuid().ToString("N");
        var configuration = FromJson($$"""
            { "Serilog": { "Enrich": [ { "Name": "WithUser", "Args": { "pseudonymKey": "%{{name}}%" } } ] } }
            """);

        var ex = Assert.Catch(() => new LoggerConfiguration().ReadFrom.Configuration(configuration));
        while (ex is System.Reflection.TargetInvocationException { InnerException: { } inner }) ex = inner;
        Assert.That(ex, Is.TypeOf<ArgumentException>());
        Assert.That(((ArgumentException)ex!).ParamName, Is.EqualTo("pseudonymKey"));
    }

    [Test]
    public void AShortPseudonymKeyInConfigurationFailsAtStartup()
    {
        var configuration = FromJson("""
            { "Serilog": { "Enrich": [ { "Name": "WithUser", "Args": { "pseudonymKey": "short" } } ] } }
            """);

        var ex = Assert.Catch(() => new LoggerConfiguration().ReadFrom.Configuration(configuration));
        while (ex is System.Reflection.TargetInvocationException { InnerException: { } inner }) ex = inner;
        Assert.That(ex, Is.TypeOf<ArgumentException>());
        Assert.That(((ArgumentException)ex!).ParamName, Is.EqualTo("pseudonymKey"));
    }
}
