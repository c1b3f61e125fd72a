using System.Text.Json;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>
/// <c>WriteTo.Redacted</c> replaces an exception whose text held a secret by a stand-in; the flat formatter's
/// <c>exception.type</c> (what dashboards group errors by) must still name the original type.
/// </summary>
public class RedactedExceptionFormattingTests
{
    sealed class CollectingSink : ILogEventSink
    {
        public readonly List<LogEvent> Events = new();
        public void Emit(LogEvent logEvent) => Events.Add(logEvent);
    }

    static JsonElement FlatException(LogEvent logEvent)
    {
        var output = new StringWriter();
        new FlatJsonFormatter().Format(logEvent, output);
        return JsonDocument.Parse(output.ToString()).RootElement.GetProperty("exception").Clone();
    }

    static LogEvent Redacted(Exception exception, bool detectors)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration()
                   .WriteTo.Redacted(s => s.Sink(sink), o => o.DetectEmbeddedCredentials = detectors)
                   .CreateLogger())
            logger.Error(exception, "Request failed");
        return sink.Events.Single();
    }

    [Test]
    public void TheFlatExceptionTypeOfAMaskedExceptionIsTheOriginalType()
    {
        var logEvent = Redacted(new HttpRequestException("GET https://app:s3cret@api.example/v1 failed"), detectors: true);

        var exception = FlatException(logEvent);
        Assert.That(exception.GetProperty("type").GetString(), Is.EqualTo("System.Net.Http.HttpRequestException"));
        Assert.That(exception.GetProperty("stack_trace").GetString(), Does.Not.Contain("s3cret"));
        Assert.That(exception.GetProperty("message").GetString(), Does.Not.Contain("s3cret"));
    }

    [Test]
    public void TheFlatExceptionTypeOfAnExceptionMaskedByQuotedJsonIsTheOriginalType()
    {
        var logEvent = Redacted(new InvalidOperationException("400: {\"password\":\"hunter2\"}"), detectors: false);

        var exception = FlatException(logEvent);
        Assert.That(exception.GetProperty("type").GetString(), Is.EqualTo("System.InvalidOperationException"));
        Assert.That(exception.GetProperty("stack_trace").GetString(), Does.Not.Contain("hunter2"));
    }

    sealed class UnreadableException : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
    }

    [Test]
    public void TheFlatExceptionTypeOfAnUnreadableExceptionIsTheOriginalType()
    {
        var logEvent = Redacted(new UnreadableException(), detectors: false);

        Assert.That(FlatException(logEvent).GetProperty("type").GetString(), Is.EqualTo(typeof(UnreadableException).FullName));
    }
}
