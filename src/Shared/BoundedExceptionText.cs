using System.Text;

namespace Serilog.Extensions.Observability;

/// <summary>
/// An exception's text without <see cref="Exception.ToString()"/> where that would cost too much. It recurses once per
/// inner exception (a chain of tens of thousands, built by a retry loop that wraps the last failure each time,
/// overflows the stack and kills the process, in quadratic time before that) and writes an inner exception once per
/// path to it (aggregates that share inner exceptions give text in gigabytes); an
/// <see cref="AggregateException"/>'s <see cref="Exception.Message"/> quotes its inner exceptions' messages the same
/// way. <see cref="IsSmall"/> counts the tree without recursion; a tree that is not small is written by
/// <see cref="Walk"/>, iteratively and within a total budget.
/// </summary>
static class BoundedExceptionText
{
    /// <summary>The most exceptions (counted once per path, as <see cref="Exception.ToString()"/> writes them) read whole.</summary>
    public const int MaxExceptions = 256;

    /// <summary>The deepest chain of inner exceptions read whole; no real one comes near it.</summary>
    public const int MaxDepth = 128;

    const int MaxInnerExceptions = 64;

    /// <summary>An exception that cannot be read fails on every event that holds it: reported once per interval.</summary>
    internal static readonly SelfLogThrottle ReadReport = new();
    const int MaxChars = 256 * 1024;

    /// <summary>
    /// Whether <see cref="Exception.ToString()"/> and <see cref="Exception.Message"/> are safe to call: at most
    /// <see cref="MaxExceptions"/> exceptions on all paths and no chain deeper than <see cref="MaxDepth"/>. Reads only
    /// <see cref="Exception.InnerException"/> and <see cref="AggregateException.InnerExceptions"/>, which run no user code.
    /// </summary>
    public static bool IsSmall(Exception exception)
    {
        // Most exceptions are a short chain without aggregates: followed without allocating.
        var depth = 0;
        for (var current = exception; current is not AggregateException; depth++)
        {
            if (current.InnerException is not { } next) return true;
            if (depth == MaxDepth) return false;
            current = next;
        }

        var pending = new Stack<(Exception Exception, int Depth)>();
        pending.Push((exception, 0));
        var count = 0;
        while (pending.TryPop(out var item))
        {
            if (++count > MaxExceptions || item.Depth > MaxDepth) return false;
            if (item.Exception is AggregateException aggregate)
            {
                var inners = aggregate.InnerExceptions;
                // Exception.ToString() writes an aggregate's first inner exception twice (as InnerException too).
                if (inners.Count > 0) count++;
                if (count + pending.Count + inners.Count > MaxExceptions) return false;
                for (var i = 0; i < inners.Count; i++) pending.Push((inners[i], item.Depth + 1));
            }
            else if (item.Exception.InnerException is { } inner)
            {
                pending.Push((inner, item.Depth + 1));
            }
        }
        return true;
    }

    /// <summary>
    /// The exception's <see cref="Exception.Message"/>, except for an aggregate of a tree that is not small whose
    /// inner exceptions include aggregates: its message would quote every message below it once per path.
    /// <paramref name="small"/> is <see cref="IsSmall"/>'s answer for <paramref name="exception"/>. May throw what the
    /// message's getter throws.
    /// </summary>
    public static string Message(Exception exception, bool small) =>
        small || !HoldsAggregates(exception) ? exception.Message : exception.GetType().Name + ": its message, which quotes every inner exception's, was not read";

    static bool HoldsAggregates(Exception exception)
    {
        if (exception is not AggregateException aggregate) return false;
        var inners = aggregate.InnerExceptions;
        if (inners.Count > MaxInnerExceptions) return true;
        for (var i = 0; i < inners.Count; i++)
        {
            if (inners[i] is AggregateException) return true;
        }
        return false;
    }

    /// <summary>
    /// <c>Type: message</c>, each inner exception after <c> ---&gt; </c> (an aggregate's numbered as
    /// <see cref="Exception.ToString()"/> numbers them), then the stack trace: <see cref="Exception.ToString()"/>'s shape,
    /// without recursion. Cut with <c>...</c> below <see cref="MaxDepth"/> levels (only a chain more than that deep),
    /// past 64 inner exceptions of one aggregate, past <see cref="MaxExceptions"/> exceptions in all and past 256 K
    /// characters. A member that throws is written as a placeholder and reported through SelfLog, its lines starting
    /// with <paramref name="reporter"/>. <paramref name="small"/> is <see cref="IsSmall"/>'s answer for <paramref name="exception"/>. Without
    /// <paramref name="messages"/> each exception is written as its type name alone, for an output that no redaction reads.
    /// </summary>
    public static string Walk(Exception exception, bool small, string reporter, bool messages = true)
    {
        var text = new StringBuilder();
        var budget = MaxExceptions;
        // Either an exception to write at a depth, or text to write (the separator before an inner exception, or the
        // stack trace that follows the inner exceptions), in the order popped.
        var pending = new Stack<(Exception? Exception, int Depth, string? Text)>();
        pending.Push((exception, 0, null));
        while (pending.TryPop(out var item))
        {
            if (item.Exception is not { } current)
            {
                text.Append(item.Text);
                continue;
            }

            if (budget <= 0 || text.Length >= MaxChars)
            {
                text.Append("...");
                continue;
            }
            budget--;

            var type = current.GetType();
            text.Append(type.FullName ?? type.Name);
            if (messages) text.Append(": ").Append(Read(current, small, reporter, ReadMessage, "Message"));
            // At the limit only what lies below is left out: the last exception of a chain exactly MaxDepth deep (which
            // IsSmall lets through, and which gets here when its ToString() throws) is written whole, with no marker.
            if (item.Depth >= MaxDepth && HasInner(current))
            {
                text.Append(" ---> ...");
                continue;
            }

            var stackTrace = Read(current, small, reporter, static (e, _) => e.StackTrace, "StackTrace");
            if (!string.IsNullOrEmpty(stackTrace)) pending.Push((null, 0, "\n" + stackTrace));

            if (current is AggregateException aggregate)
            {
                var inners = aggregate.InnerExceptions;
                if (inners.Count > MaxInnerExceptions) pending.Push((null, 0, "\n ---> ..."));
                for (var i = Math.Min(inners.Count, MaxInnerExceptions) - 1; i >= 0; i--)
                {
                    pending.Push((inners[i], item.Depth + 1, null));
                    pending.Push((null, 0, "\n ---> (Inner Exception #" + i + ") "));
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push((inner, item.Depth + 1, null));
                pending.Push((null, 0, "\n ---> "));
            }
        }
        return text.ToString();
    }

    static bool HasInner(Exception exception) =>
        exception is AggregateException aggregate ? aggregate.InnerExceptions.Count > 0 : exception.InnerException is not null;

    static string? ReadMessage(Exception exception, bool small) => Message(exception, small);

    static string? Read(Exception exception, bool small, string reporter, Func<Exception, bool, string?> read, string member)
    {
        try
        {
            return read(exception, small);
        }
        catch (Exception ex)
        {
            // The failure is an argument, printed inside SafeSelfLog's guard: its own ToString() may throw (a Message
            // that throws), which here, in the catch block, would lose the whole walk.
            ReadReport.WriteLine("{1} threw, so a placeholder was written ({0} more since the last report): {2}",
                reporter + ": " + exception.GetType() + "." + member, ex);
            return "<" + exception.GetType().Name + "." + member + " failed>";
        }
    }
}
