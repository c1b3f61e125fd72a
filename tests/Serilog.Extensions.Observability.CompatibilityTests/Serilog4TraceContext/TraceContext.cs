using System.Diagnostics;
using System.Text.Json;
using Serilog.Events;
using Serilog.Formatting;
using Ours = Serilog.Extensions.Observability.Formatting;
using Reference = Serilog.Formatting.Compact;

namespace Serilog.Extensions.Observability.CompatibilityTests.Serilog4TraceContext;

/// <summary>
/// The one trace context an event should carry, checked in every place it is written: Serilog 4's own
/// <see cref="LogEvent.TraceId"/> and <see cref="LogEvent.SpanId"/>, the <c>TraceId</c> and <c>SpanId</c> properties
/// of <c>Enrich.WithSpan()</c>, and <c>@tr</c>/<c>@sp</c> as our CLEF formatter and Serilog.Formatting.Compact 3.0 write them.
/// </summary>
static class TraceContext
{
    static readonly ITextFormatter[] ClefFormatters = [new Ours.CompactJsonFormatter(), new Reference.CompactJsonFormatter()];

    public static void AssertCarries(LogEvent logEvent, ActivityContext expected, string what)
    {
        var traceId = expected.TraceId.ToHexString();
        var spanId = expected.SpanId.ToHexString();
        Assert.Multiple(() =>
        {
            Assert.That(logEvent.TraceId, Is.EqualTo(expected.TraceId), $"{what}: LogEvent.TraceId");
            Assert.That(logEvent.SpanId, Is.EqualTo(expected.SpanId), $"{what}: LogEvent.SpanId");
            Assert.That(Property(logEvent, "TraceId"), Is.EqualTo(traceId), $"{what}: the TraceId property");
            Assert.That(Property(logEvent, "SpanId"), Is.EqualTo(spanId), $"{what}: the SpanId property");
            foreach (var formatter in ClefFormatters)
            {
                var output = new StringWriter();
                formatter.Format(logEvent, output);
                using var line = JsonDocument.Parse(output.ToString());
                Assert.That(Member(line.RootElement, "@tr"), Is.EqualTo(traceId), $"{what}: @tr of {formatter.GetType().FullName}");
                Assert.That(Member(line.RootElement, "@sp"), Is.EqualTo(spanId), $"{what}: @sp of {formatter.GetType().FullName}");
            }
        });
    }

    public static string? Property(LogEvent logEvent, string name) =>
        logEvent.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: string text } ? text : null;

    static string? Member(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) ? value.GetString() : null;

    /// <summary>Listens to <paramref name="sourceNames"/> with every span sampled and recorded, as a tracer would, until disposed.</summary>
    public static ActivityListener Listen(params string[] sourceNames)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => sourceNames.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
