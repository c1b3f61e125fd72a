using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests;

/// <summary>
/// <c>@x</c> (and the flat formatter's <c>stack_trace</c>) is <see cref="Exception.ToString()"/>, as in
/// Serilog.Formatting.Compact. Where that throws, Serilog's formatter loses the event; these write what of the
/// exception chain can still be read.
/// </summary>
[NonParallelizable] // SelfLog is process-wide
public class ExceptionTextTests
{
    static readonly IUtf8Formatter[] Formatters = [new CompactJsonFormatter(), new RenderedCompactJsonFormatter(), new FlatJsonFormatter()];

    sealed class StackTraceThrows(string message) : Exception(message)
    {
        public override string? StackTrace => throw new InvalidOperationException("no stack trace");
    }

    sealed class MessageThrows : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
    }

    static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }

    /// <summary>The exception text of the formatted line: <c>@x</c>, or the flat formatter's <c>exception.stack_trace</c>.</summary>
    static string ExceptionText(IUtf8Formatter formatter, LogEvent logEvent)
    {
        var text = Utf8.FormatText(formatter, logEvent);
        Assert.That(Utf8.FormatUtf8(formatter, logEvent), Is.EqualTo(Utf8.Encode(text)), formatter.GetType().Name);
        var root = JsonDocument.Parse(text).RootElement;
        return root.TryGetProperty("@x", out var x) ? x.GetString()! : root.GetProperty("exception").GetProperty("stack_trace").GetString()!;
    }

    [Test]
    public void AnAggregateExceptionWhoseInnerExceptionCannotBeFormattedStillShowsEveryInnerException()
    {
        var first = Thrown(new InvalidOperationException("first failure"));
        var aggregate = new AggregateException("several failed", first, new StackTraceThrows("second failure"), new ArgumentException("third failure"));
        Assert.That(aggregate.ToString, Throws.InvalidOperationException, "the premise: ToString() throws");
        var selfLog = new List<string>();
        FormattingRobustnessTests.ResetReports();

        using (TemporarySelfLog.SaveTo(selfLog))
        {
            foreach (var formatter in Formatters)
            {
                var text = ExceptionText(formatter, Some.LogEvent(level: LogEventLevel.Error, exception: aggregate));

                Assert.That(text, Does.StartWith("System.AggregateException: several failed"), formatter.GetType().Name);
                Assert.That(text, Does.Contain("System.InvalidOperationException: first failure")
                    .And.Contain(nameof(Thrown))
                    .And.Contain(typeof(StackTraceThrows).FullName + ": second failure")
                    .And.Contain("System.ArgumentException: third failure")
                    .And.Contain("<AggregateException.ToString() failed>"), formatter.GetType().Name);
            }
        }
        Assert.That(selfLog, Has.Some.Contains("no stack trace"));
    }

    [Test]
    public void AnExceptionWhoseMessageThrowsIsStillNamedByItsFullTypeNameAndShowsItsInnerException()
    {
        var exception = Thrown(new MessageThrows());
        var wrapped = new InvalidOperationException("outer", exception);
        using var _ = TemporarySelfLog.SaveTo(new List<string>());

        foreach (var formatter in Formatters)
        {
            var own = ExceptionText(formatter, Some.LogEvent(exception: exception));
            Assert.That(own, Does.StartWith(typeof(MessageThrows).FullName + ": <MessageThrows.Message failed>"), formatter.GetType().Name);
            Assert.That(own, Does.Contain(nameof(Thrown)), formatter.GetType().Name);

            var outer = ExceptionText(formatter, Some.LogEvent(exception: wrapped));
            Assert.That(outer, Does.StartWith("System.InvalidOperationException: outer"), formatter.GetType().Name);
            Assert.That(outer, Does.Contain(" ---> " + typeof(MessageThrows).FullName), formatter.GetType().Name);
        }
    }

    sealed class StackTraceThrowsAnUnprintableException(string message) : Exception(message)
    {
        public override string? StackTrace => throw new MessageThrows();
    }

    [Test]
    public void AMemberThatThrowsAnExceptionThatCannotBePrintedStillLeavesTheRestOfTheChain()
    {
        // The walk's report of the failed read must not print the failure itself outside the guard: its ToString()
        // reads its Message, which throws, and the whole chain was lost to a placeholder.
        var exception = new InvalidOperationException("outer", new StackTraceThrowsAnUnprintableException("inner message"));
        Assert.That(exception.ToString, Throws.TypeOf<MessageThrows>(), "the premise: ToString() throws what cannot be printed");
        var selfLog = new List<string>();

        using (TemporarySelfLog.SaveTo(selfLog))
        {
            foreach (var formatter in Formatters)
            {
                var text = ExceptionText(formatter, Some.LogEvent(exception: exception));

                Assert.That(text, Does.StartWith("System.InvalidOperationException: outer"), formatter.GetType().Name);
                Assert.That(text, Does.Contain(typeof(StackTraceThrowsAnUnprintableException).FullName + ": inner message")
                    .And.Contain("<StackTraceThrowsAnUnprintableException.StackTrace failed>"), formatter.GetType().Name);
            }
        }
    }

    [TestCase(BoundedExceptionText.MaxDepth - 1)]
    [TestCase(BoundedExceptionText.MaxDepth)]
    [TestCase(BoundedExceptionText.MaxDepth + 1)]
    public void AChainIsMarkedCutOnlyWhenItIsChainedMoreThanTheDepthLimit(int depth)
    {
        // The innermost exception's StackTrace throws, so ToString() does too and the chain is written by the walk
        // (in part past the limit, where ToString() is not called at all). "More than 128 deep": the inner exception
        // at depth 128 is the last one written, and " ---> ..." says only that something below it was left out.
        Exception exception = new StackTraceThrows("root cause");
        for (var i = depth - 1; i >= 0; i--) exception = new InvalidOperationException("level " + i, exception);
        Assert.That(exception.ToString, Throws.InvalidOperationException, "the premise: ToString() throws");
        using var _ = TemporarySelfLog.SaveTo(new List<string>());

        foreach (var formatter in Formatters)
        {
            var text = ExceptionText(formatter, Some.LogEvent(exception: exception));

            Assert.That(text, Does.StartWith("System.InvalidOperationException: level 0"), formatter.GetType().Name);
            if (depth <= BoundedExceptionText.MaxDepth)
            {
                Assert.That(text, Does.Contain(typeof(StackTraceThrows).FullName + ": root cause").And.Not.Contain(" ---> ..."), formatter.GetType().Name);
                Assert.That(text.Split(" ---> ").Length - 1, Is.EqualTo(depth), formatter.GetType().Name);
            }
            else
            {
                Assert.That(text, Does.Contain("System.InvalidOperationException: level " + BoundedExceptionText.MaxDepth + " ---> ...").And.Not.Contain("root cause"), formatter.GetType().Name);
            }
        }
    }

    [Test]
    public void AVeryLongExceptionIsWrittenWhole()
    {
        var exception = Thrown(new InvalidOperationException(new string('x', 1_000_000) + "\u00e9\"\\\n\u2028end"));

        foreach (var formatter in Formatters)
            Assert.That(ExceptionText(formatter, Some.LogEvent(exception: exception)), Is.EqualTo(exception.ToString()), formatter.GetType().Name);
    }

    sealed class FormatsWhileFormatted(IUtf8Formatter formatter) : Exception("outer event's exception")
    {
        public string? Inner;

        public override string ToString()
        {
            // Another event, with an exception of its own, formatted on the same thread while this one is half written.
            Inner = Utf8.FormatText(formatter, Some.LogEvent("inner {X}", exception: new ArgumentException("inner event's exception")));
            return base.ToString();
        }
    }

    [Test]
    public void AnExceptionWhoseToStringFormatsAnotherEventLeavesBothLinesWhole()
    {
        foreach (var formatter in Formatters)
        {
            var exception = new FormatsWhileFormatted(formatter);

            var text = ExceptionText(formatter, Some.LogEvent(exception: exception));

            Assert.That(text, Does.Contain("outer event's exception"), formatter.GetType().Name);
            var inner = JsonDocument.Parse(exception.Inner!).RootElement;
            var innerText = inner.TryGetProperty("@x", out var x) ? x.GetString() : inner.GetProperty("exception").GetProperty("stack_trace").GetString();
            Assert.That(innerText, Is.EqualTo("System.ArgumentException: inner event's exception"), formatter.GetType().Name);
        }
    }
}
