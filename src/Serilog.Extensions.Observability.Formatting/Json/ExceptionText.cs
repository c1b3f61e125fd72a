namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// The text written for an event's exception: <see cref="Exception.ToString()"/>, as Serilog.Formatting.Compact writes
/// it. Where that throws (an override, or a <see cref="Exception.Message"/> or <see cref="Exception.StackTrace"/> of
/// the exception or of any inner exception that throws), Serilog's formatter loses the event; here the chain is written
/// as far as it can be read instead, in <see cref="Exception.ToString()"/>'s own shape, with a placeholder saying so,
/// and the failure goes to SelfLog. A chain or tree of inner exceptions too deep or too large for
/// <see cref="Exception.ToString()"/> (which would overflow the stack, or take exponential time) is written in part the
/// same way, without calling it.
/// </summary>
static class ExceptionText
{
    static readonly SelfLogThrottle PartReport = new();

    /// <summary>An exception that cannot be written fails on every event that holds it: reported once per interval.</summary>
    internal static readonly SelfLogThrottle ToStringReport = new();

    internal static readonly SelfLogThrottle MessageReport = new();

    public static string Of(Exception exception)
    {
        if (!BoundedExceptionText.IsSmall(exception))
        {
            // Exception.ToString() recurses once per inner exception and writes a shared one once per path to it: a
            // chain or tree past the bounds would cost the stack (a crash) or exponential time.
            PartReport.WriteLine("Formatting: an exception with more than {1} inner exceptions or a chain deeper than {2} was written in part ({0} more since the last report)",
                BoundedExceptionText.MaxExceptions, BoundedExceptionText.MaxDepth);
            try
            {
                return BoundedExceptionText.Walk(exception, small: false, "Formatting");
            }
            catch (Exception)
            {
                // Every read in the walk is guarded: an out-of-memory builder, say.
                return "<" + exception.GetType().Name + ".ToString() failed>";
            }
        }

        try
        {
            return exception.ToString();
        }
        catch (Exception ex)
        {
            ToStringReport.WriteLine("Formatting: {1}.ToString() threw, so it was written as far as it could be read ({0} more since the last report): {2}", exception.GetType(), ex);
            try
            {
                return BoundedExceptionText.Walk(exception, small: true, "Formatting") + "\n<" + exception.GetType().Name + ".ToString() failed>";
            }
            catch (Exception)
            {
                // Every read in the walk is guarded: an out-of-memory builder, say.
                return "<" + exception.GetType().Name + ".ToString() failed>";
            }
        }
    }

    /// <summary>
    /// The exception's message, or a placeholder where reading it throws; an aggregate of a large tree's is not read
    /// (see <see cref="BoundedExceptionText.Message"/>).
    /// </summary>
    public static string MessageOf(Exception exception)
    {
        try
        {
            return BoundedExceptionText.Message(exception, exception is not AggregateException || BoundedExceptionText.IsSmall(exception));
        }
        catch (Exception ex)
        {
            MessageReport.WriteLine("Formatting: {1}.Message threw, so a placeholder was written ({0} more since the last report): {2}", exception.GetType(), ex);
            return "<" + exception.GetType().Name + ".Message failed>";
        }
    }
}
