using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.CompatibilityTests.Ecosystem;

/// <summary>
/// Serilog.Sinks.Map 2.0 with a <c>RollingJson</c> sink per tenant, inside our redaction: disposing the logger disposes
/// every mapped sink once and drains its queue, and each line keeps its correlation id with its secrets masked.
/// </summary>
[NonParallelizable] // SelfLog is process-wide.
public class MapWithRollingJsonTests
{
    static readonly string[] Tenants = ["acme", "globex", "initech"];

    sealed class DisposalCounter(string key, Dictionary<string, int> disposals) : ILogEventSink, IDisposable
    {
        public void Emit(LogEvent logEvent) { }

        public void Dispose()
        {
            lock (disposals) disposals[key] = disposals.GetValueOrDefault(key) + 1;
        }
    }

    public enum Route
    {
        /// <summary><c>WithObservability(o => o.WriteTo(w => w.Map(...)))</c>.</summary>
        WithObservability,

        /// <summary><c>WriteTo.Redacted(s => s.Map(...))</c>, which Serilog 4.1 and later wrap in a sink of their own.</summary>
        Redacted,
    }

    // sinkMapCountLimit: 1 with the tenants taking turns disposes each tenant's sink and opens a new one on its file for
    // every event: the file must take the new sink's lines after the old one's, none lost.
    // disposeAsync: Logger.DisposeAsync() (Log.CloseAndFlushAsync()) rather than Dispose().
    [TestCase(Route.WithObservability, null, 3000, false)]
    [TestCase(Route.WithObservability, null, 3000, true)]
    [TestCase(Route.Redacted, null, 3000, false)]
    [TestCase(Route.Redacted, null, 3000, true)]
    [TestCase(Route.WithObservability, 1, 30, false)]
    public async Task EachTenantsFileHoldsEveryEventWithItsCorrelationIdAndEachMappedSinkIsDisposedOnce(Route route, int? sinkMapCountLimit, int events, bool disposeAsync)
    {
        using var folder = TempFolder.ForCaller();
        var disposals = new Dictionary<string, int>();
        var created = new Dictionary<string, int>();
        var selfLog = new List<string>();
        using var selfLogScope = TemporarySelfLog.SaveTo(selfLog);

        void Map(LoggerSinkConfiguration writeTo) => writeTo.Map("TenantId", "none", (tenant, sinks) =>
        {
            lock (created) created[tenant] = created.GetValueOrDefault(tenant) + 1;
            sinks.RollingJson(Path.Combine(folder.Path, tenant + "-.json"));
            sinks.Sink(new DisposalCounter(tenant, disposals));
        }, sinkMapCountLimit: sinkMapCountLimit);

        var configuration = route == Route.WithObservability
            ? new LoggerConfiguration().WithObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(Map))
            : new LoggerConfiguration().Enrich.WithCorrelation().Enrich.WithUser().WriteTo.Redacted(Map);
        var logger = configuration.CreateLogger();
        for (var i = 0; i < events; i++)
        {
            using (CorrelationContext.Begin("corr-" + i))
            using (UserContext.Begin("user-" + i, tenantId: Tenants[i % Tenants.Length]))
                logger.Information("Event {N} for {@Login}", i, new { User = "ann", Password = "hunter2" });
        }
        if (disposeAsync) await logger.DisposeAsync();
        else logger.Dispose();

        Assert.Multiple(() =>
        {
            foreach (var tenant in Tenants)
            {
                var lines = File.ReadAllLines(Directory.GetFiles(folder.Path, tenant + "-*.json").Single());
                var expected = Enumerable.Range(0, events).Where(i => i % Tenants.Length == Array.IndexOf(Tenants, tenant)).ToArray();
                Assert.That(lines.Select(Number), Is.EqualTo(expected), tenant + ": every event, in order");
                Assert.That(lines.Where(l => !l.Contains($"\"CorrelationId\":\"corr-{Number(l)}\"", StringComparison.Ordinal)), Is.Empty, tenant + ": correlation ids");
                Assert.That(lines.Where(l => !l.Contains("\"Password\":\"[REDACTED]\"", StringComparison.Ordinal) || l.Contains("hunter2", StringComparison.Ordinal)), Is.Empty, tenant + ": masked");
                Assert.That(disposals.GetValueOrDefault(tenant), Is.EqualTo(created[tenant]), tenant + ": each mapped sink disposed once");
            }
            Assert.That(selfLog, Is.Empty);
        });
    }

    static int Number(string line)
    {
        const string marker = "\"N\":";
        var start = line.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        return int.Parse(line.AsSpan(start, line.IndexOfAny([',', '}'], start) - start));
    }
}
