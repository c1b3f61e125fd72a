namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>
/// What a piece of code wrote to <see cref="Console.Out"/>. The console is process-wide: a test that uses this must be
/// <c>[NonParallelizable]</c>.
/// </summary>
static class ConsoleCapture
{
    public static string Output(Action log)
    {
        var original = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            log();
        }
        finally
        {
            Console.SetOut(original);
        }
        return captured.ToString();
    }
}
