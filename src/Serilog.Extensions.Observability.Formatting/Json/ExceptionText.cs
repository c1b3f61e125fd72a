using System.Text;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// The text written for an event's exception: <see cref="Exception.ToString()"/>, as Serilog.Formatting.Compact writes
/// it. Where that throws (an override, or a <see cref="Exception.Message"/> or <see cref="Exception.StackTrace"/> of
/// the exception or of any inner exception that throws), Serilog's formatter loses the event; here the chain is written
/// as far as it can be read instead, in <see cref="Exception.ToString()"/>'s own shape, with a placeholder saying so,
/// and the failure goes to SelfLog.
/// </summary>
static class ExceptionText
{
    // Bounds the walk: a chain deeper, or an aggregate wider, than any real one is cut with "...".
    const int MaxDepth = 16;
    const int MaxInnerExceptions = 64;

    public static string Of(Exception exception)
    {
        try
        {
            return exception.ToString();
        }
        catch (Exception ex)
        {
            SafeSelfLog.WriteLine("Formatting: {0}.ToString() threw {1}", exception.GetType(), ex);
            try
            {
                var text = new StringBuilder();
                Append(text, exception, 0);
                return text.Append("\n<").Append(exception.GetType().Name).Append(".ToString() failed>").ToString();
            }
            catch (Exception)
            {
                // Only the reads below can throw, and each is guarded: an out-of-memory builder, say.
                return "<" + exception.GetType().Name + ".ToString() failed>";
            }
        }
    }

    /// <summary><c>Type: message</c>, each inner exception after <c> ---&gt; </c>, then the stack trace.</summary>
    static void Append(StringBuilder text, Exception exception, int depth)
    {
        var type = exception.GetType();
        text.Append(type.FullName ?? type.Name).Append(": ").Append(Read(exception, static e => e.Message, "Message"));

        if (depth >= MaxDepth)
        {
            text.Append(" ---> ...");
            return;
        }

        if (exception is AggregateException aggregate)
        {
            var inners = aggregate.InnerExceptions;
            for (var i = 0; i < inners.Count; i++)
            {
                if (i == MaxInnerExceptions)
                {
                    text.Append("\n ---> ...");
                    break;
                }
                text.Append("\n ---> (Inner Exception #").Append(i).Append(") ");
                Append(text, inners[i], depth + 1);
            }
        }
        else if (exception.InnerException is { } inner)
        {
            text.Append("\n ---> ");
            Append(text, inner, depth + 1);
        }

        var stackTrace = Read(exception, static e => e.StackTrace, "StackTrace");
        if (!string.IsNullOrEmpty(stackTrace)) text.Append('\n').Append(stackTrace);
    }

    static string? Read(Exception exception, Func<Exception, string?> read, string member)
    {
        try
        {
            return read(exception);
        }
        catch (Exception ex)
        {
            SafeSelfLog.WriteLine("Formatting: {0}.{1} threw {2}", exception.GetType(), member, ex);
            return "<" + exception.GetType().Name + "." + member + " failed>";
        }
    }
}
