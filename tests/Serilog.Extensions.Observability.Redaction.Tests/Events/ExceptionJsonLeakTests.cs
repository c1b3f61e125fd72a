using Serilog.Extensions.Observability.Redaction.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// JSON quoted in an exception's message (a response or request body) is masked by key in the sink's stand-in, as in
/// a string property's prose, also with no detector turned on (the default <c>WriteTo.Redacted</c>).
/// </summary>
public class ExceptionJsonLeakTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static Exception Thrown(Func<Exception> create)
    {
        try
        {
            throw create();
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    static IReadOnlyList<Serilog.Events.LogEvent> Write(Exception error, Action<RedactionOptions>? configure = null) =>
        Routes.Write(Route.MessageArgument, "N", 1, Pieces.Sink, configure, exception: error);

    [Test]
    public void JsonInAnExceptionMessageIsMaskedByKeyWithTheDefaultOptions()
    {
        var error = Thrown(() => new HttpRequestException("Response status code 400: {\"password\":\"hunter2\",\"user\":\"ann\"}"));
        var logEvent = Write(error).Single();

        Assert.That(logEvent.Exception, Is.TypeOf<RedactedException>());
        Assert.That(logEvent.Exception!.Message, Is.EqualTo($"Response status code 400: {{\"password\":\"{Mask}\",\"user\":\"ann\"}}"));
        var text = logEvent.Exception.ToString();
        Assert.That(text, Does.StartWith($"System.Net.Http.HttpRequestException: Response status code 400: {{\"password\":\"{Mask}\",\"user\":\"ann\"}}"));
        Assert.That(text, Does.Contain(nameof(Thrown)), "the stack trace is kept");
        Assert.That(Output.Render(logEvent), Does.Not.Contain("hunter2"));
    }

    [Test]
    public void EscapedJsonInAnInnerExceptionIsMasked()
    {
        var inner = Thrown(() => new InvalidOperationException("request body: {\"access_token\":\"at-secret-1\",\"scope\":\"read\"}"));
        var error = Thrown(() => new InvalidOperationException("the API call failed", inner));
        var aggregate = new AggregateException(new InvalidOperationException("{\"user\":\"ann\",\"client_secret\":\"cs-secret-2\"}"));

        foreach (var logged in new[] { error, aggregate })
        {
            var logEvent = Write(logged).Single();
            var text = Output.Render(logEvent);
            Assert.That(text, Does.Not.Contain("at-secret-1").And.Not.Contain("cs-secret-2"));
            Assert.That(logEvent.Exception!.ToString(), Does.Contain(Mask));
        }
    }

    [Test]
    public void JsonInAnExceptionMessageIsMaskedWithTheDetectorsOn()
    {
        var error = Thrown(() => new HttpRequestException("400: {\"password\":\"hunter2\",\"mail\":\"bob@example.com\"}"));
        var logEvent = Write(error, o => o.DetectEmailAddresses = true).Single();
        Assert.That(logEvent.Exception!.Message, Is.EqualTo($"400: {{\"password\":\"{Mask}\",\"mail\":\"{Mask}\"}}"));
        Assert.That(Output.Render(logEvent), Does.Not.Contain("hunter2").And.Not.Contain("bob@example.com"));
    }

    [Test]
    public void CutJsonInAnExceptionMessageFailsClosed()
    {
        var error = new InvalidOperationException("Response: {\"user\":\"ann\",\"password\":\"hunter2-cut");
        var logEvent = Write(error).Single();
        Assert.That(logEvent.Exception!.Message, Is.EqualTo($"Response: {{\"user\":\"ann\",\"password\":{Mask}"));
        Assert.That(Output.Render(logEvent), Does.Not.Contain("hunter2"));
    }

    [TestCase("plain failure")]
    [TestCase("Response 400: {\"user\":\"ann\",\"reason\":\"bad\"} [retry 2]")]
    public void AnExceptionWithNoSensitiveJsonKeyIsPassedOnAsIs(string message)
    {
        var error = Thrown(() => new InvalidOperationException(message));
        Assert.That(Write(error).Single().Exception, Is.SameAs(error));
    }

    [Test]
    public void AnExceptionWhoseTextCannotBeReadIsMaskedNotThrown()
    {
        var error = new UnreadableException();
        var logEvent = Write(error).Single();
        Assert.That(logEvent.Exception, Is.TypeOf<RedactedException>());
        Assert.That(logEvent.Exception!.Message, Is.EqualTo(Mask));
    }

    sealed class UnreadableException : Exception
    {
        public override string ToString() => throw new FormatException("no text");
    }
}
