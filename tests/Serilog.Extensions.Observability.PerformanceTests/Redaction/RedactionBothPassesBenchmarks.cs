using System.Globalization;
using BenchmarkDotNet.Attributes;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.PerformanceTests.Redaction;

/// <summary>
/// The two event passes as <c>WithObservability()</c> sets them up (<c>Enrich.WithRedaction</c> and
/// <c>WriteTo.Redacted</c>, equal options with <c>DetectEmbeddedCredentials</c>, <c>DetectJwts</c> and
/// <c>DetectKnownTokenFormats</c>), over an ASP.NET Core request's
/// completion event: 13 properties, 9 of them the same instances on every event (method, path, source context, service
/// name, ...) and 4 new strings per event (request id, correlation and trace id, span id), as a server writes them. The
/// baseline writes the same event to the null sink directly; every method builds its event the same way. The
/// <c>EmbeddedCredentialsOnly</c> row is the set-up before <c>DetectJwts</c> joined the defaults, the
/// <c>WithoutKnownTokenFormats</c> row the one before <c>DetectKnownTokenFormats</c> did.
/// </summary>
[MemoryDiagnoser]
public class RedactionBothPassesBenchmarks
{
    static readonly MessageTemplate Template = new MessageTemplateParser().Parse("HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms");

    static readonly LogEventProperty[] Constants =
    [
        new("RequestMethod", new ScalarValue("GET")),
        new("RequestPath", new ScalarValue("/orders/recent")),
        new("StatusCode", new ScalarValue(200)),
        new("Elapsed", new ScalarValue(1.2345)),
        new("SourceContext", new ScalarValue("Serilog.AspNetCore.RequestLoggingMiddleware")),
        new("ConnectionId", new ScalarValue("0HNQ8OQ6GKKJP")),
        new("ThreadId", new ScalarValue(12)),
        new("ServiceName", new ScalarValue("checkout-api")),
        new("Environment", new ScalarValue("Production")),
    ];

    Logger _plain = null!;
    Logger _bothPasses = null!;
    Logger _embeddedCredentialsOnly = null!;
    Logger _withoutKnownTokenFormats = null!;
    int _request;

    [GlobalSetup]
    public void Setup()
    {
        _plain = new LoggerConfiguration().WriteTo.Sink(new DiscardingSink()).CreateLogger();
        _bothPasses = new LoggerConfiguration()
            .Enrich.WithRedaction(Defaults)
            .WriteTo.Redacted(s => s.Sink(new DiscardingSink()), Defaults)
            .CreateLogger();
        _embeddedCredentialsOnly = new LoggerConfiguration()
            .Enrich.WithRedaction(r => r.DetectEmbeddedCredentials = true)
            .WriteTo.Redacted(s => s.Sink(new DiscardingSink()), r => r.DetectEmbeddedCredentials = true)
            .CreateLogger();
        _withoutKnownTokenFormats = new LoggerConfiguration()
            .Enrich.WithRedaction(WithoutKnownTokenFormats)
            .WriteTo.Redacted(s => s.Sink(new DiscardingSink()), WithoutKnownTokenFormats)
            .CreateLogger();

        static void Defaults(Serilog.Extensions.Observability.Redaction.RedactionOptions r)
        {
            WithoutKnownTokenFormats(r);
            r.DetectKnownTokenFormats = true;
        }

        static void WithoutKnownTokenFormats(Serilog.Extensions.Observability.Redaction.RedactionOptions r)
        {
            r.DetectEmbeddedCredentials = true;
            r.DetectJwts = true;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plain.Dispose();
        _bothPasses.Dispose();
        _embeddedCredentialsOnly.Dispose();
        _withoutKnownTokenFormats.Dispose();
    }

    LogEvent NextEvent()
    {
        var request = ++_request;
        var traceId = request.ToString("x32", CultureInfo.InvariantCulture);
        var properties = new List<LogEventProperty>(Constants.Length + 4);
        properties.AddRange(Constants);
        properties.Add(new LogEventProperty("RequestId", new ScalarValue("0HNQ8OQ6GKKJP:" + request.ToString("X8", CultureInfo.InvariantCulture))));
        properties.Add(new LogEventProperty("CorrelationId", new ScalarValue(traceId)));
        properties.Add(new LogEventProperty("TraceId", new ScalarValue(traceId)));
        properties.Add(new LogEventProperty("SpanId", new ScalarValue(request.ToString("x16", CultureInfo.InvariantCulture))));
        return new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, Template, properties);
    }

    [Benchmark(Baseline = true)]
    public void PlainNullSink() => _plain.Write(NextEvent());

    [Benchmark]
    public void BothPassesWithDetectorsNullSink() => _bothPasses.Write(NextEvent());

    [Benchmark]
    public void BothPassesEmbeddedCredentialsOnlyNullSink() => _embeddedCredentialsOnly.Write(NextEvent());

    [Benchmark]
    public void BothPassesWithoutKnownTokenFormatsNullSink() => _withoutKnownTokenFormats.Write(NextEvent());

    sealed class DiscardingSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
        }
    }
}
