using System.Text;
using Serilog.Events;

namespace Serilog.Extensions.Observability.CompatibilityTests.RequestLogging;

/// <summary>
/// The same application and request logging options on a host with Serilog.AspNetCore and on one with this package,
/// one request each: the completion events must match but for what the package's README lists as deliberate.
/// </summary>
[NonParallelizable] // both set-ups replace Log.Logger
public class RequestLoggingDifferentialTests
{
    const string CompletionSource = "Serilog.AspNetCore.RequestLoggingMiddleware";

    // What AddObservability()'s enrichers add to every event of the host's logger (its README, "What AddObservability()
    // adds"): not part of request logging, and not on the event of a custom Logger.
    static readonly HashSet<string> OurEnricherProperties =
        ["CorrelationId", "TraceId", "SpanId", "ParentSpanId", "ThreadId", "ServiceName", "ServiceVersion", "Environment", "UserId", "TenantId", "SessionId"];

    static IEnumerable<string> Scenarios() => ScenarioApplication.All().Select(s => s.Name);

    static RequestLoggingScenario Scenario(string name) => ScenarioApplication.All().Single(s => s.Name == name);

    [TestCaseSource(nameof(Scenarios))]
    public async Task CompletionEvent(string name)
    {
        var scenario = Scenario(name);
        var theirs = await TheirHost.RunAsync(scenario);
        var ours = await OurHost.RunAsync(scenario);

        Assert.That(ours.Response, Is.EqualTo(theirs.Response), "the response");
        var theirEvents = scenario.Options.CustomLogger ? theirs.CustomEvents : theirs.HostEvents;
        var ourEvents = scenario.Options.CustomLogger ? ours.CustomEvents : ours.HostEvents;
        var expected = Describe(Completion(theirEvents), ours: false);
        if (scenario.Difference is { } difference)
        {
            Assert.That(expected, Does.Contain(difference.Theirs), "Serilog.AspNetCore's event, where the README says ours differs");
            expected = expected.Replace(difference.Theirs, difference.Ours, StringComparison.Ordinal);
        }
        Assert.That(Describe(Completion(ourEvents), ours: !scenario.Options.CustomLogger), Is.EqualTo(expected));
        if (!scenario.Options.CustomLogger && Completion(ourEvents) is { } ourCompletion)
        {
            // The properties left out above: only those of AddObservability()'s enrichers, the ones it always adds among them.
            var added = ourCompletion.Properties.Keys.Except(Completion(theirEvents)!.Properties.Keys).ToArray();
            Assert.That(added, Is.SubsetOf(OurEnricherProperties).And.Contains("CorrelationId").And.Contains("ServiceName").And.Contains("Environment"),
                "what AddObservability()'s enrichers add");
        }
        var theirOthers = Others(theirs.HostEvents);
        if (scenario.Target.StartsWith("/fail", StringComparison.Ordinal))
        {
            // README, "Differences": an exception the completion event has written is logged once; the server's own
            // event for it is not written.
            const string ServerEvent = "[Error] \"Microsoft.AspNetCore.Server.Kestrel\" Connection id \"{ConnectionId}\", Request id \"{TraceIdentifier}\": An unhandled exception was thrown by the application. InvalidOperationException ";
            Assert.That(theirOthers.Count(e => e.StartsWith(ServerEvent, StringComparison.Ordinal)), Is.EqualTo(1), "Serilog.AspNetCore's host");
            theirOthers = theirOthers.Where(e => !e.StartsWith(ServerEvent, StringComparison.Ordinal)).ToArray();
        }
        Assert.That(Others(ours.HostEvents, ours: true), Is.EqualTo(theirOthers), "the host's other events");
        Assert.That(Others(ours.CustomEvents), Is.EqualTo(Others(theirs.CustomEvents)), "the custom logger's other events");
    }

    static LogEvent? Completion(IReadOnlyList<LogEvent> events) =>
        events.SingleOrDefault(e => e.Properties.TryGetValue("SourceContext", out var source) && source is ScalarValue { Value: CompletionSource });

    // The events other than the completion event, with the names of their properties (the request scope's among them).
    static string[] Others(IReadOnlyList<LogEvent> events, bool ours = false) =>
        events.Where(e => !(e.Properties.TryGetValue("SourceContext", out var source) && source is ScalarValue { Value: CompletionSource }))
            .Select(e => $"[{e.Level}] {e.Properties.GetValueOrDefault("SourceContext")} {e.MessageTemplate.Text} {e.Exception?.GetType().Name} "
                + string.Join(",", e.Properties.Keys.Where(k => !(ours && OurEnricherProperties.Contains(k))).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal)
            .ToArray();

    // The values that differ from one server or connection to the next.
    static string Normalise(string key, LogEventPropertyValue value) =>
        key is "RequestId" or "ConnectionId" && value is ScalarValue { Value: string { Length: > 0 } }
            ? "(the request's)"
            : System.Text.RegularExpressions.Regex.Replace(value.ToString(), @"127\.0\.0\.1:\d+", "127.0.0.1:(port)");

    static string Describe(LogEvent? e, bool ours)
    {
        if (e is null) return "(no completion event)";
        var text = new StringBuilder();
        text.AppendLine($"Level: {e.Level}");
        text.AppendLine($"Template: {e.MessageTemplate.Text}");
        var normalised = e.Properties.ToDictionary(p => p.Key, p => p.Key == "Elapsed" ? new ScalarValue(12.3456789) : p.Value);
        text.AppendLine($"Message: {e.MessageTemplate.Render(normalised)}");
        foreach (var (key, value) in e.Properties)
        {
            if (ours && OurEnricherProperties.Contains(key)) continue;
            text.AppendLine(key == "Elapsed"
                ? $"Property {key}: {(value is ScalarValue { Value: double } ? "a double" : value.ToString())}"
                : $"Property {key}: {Normalise(key, value)} ({value.GetType().Name})");
        }
        text.AppendLine($"TraceId: {(e.TraceId is null ? "none" : "set")}, SpanId: {(e.SpanId is null ? "none" : "set")}");
        text.AppendLine($"Exception: {e.Exception?.GetType().Name} {e.Exception?.Message}");
        return text.ToString();
    }
}
