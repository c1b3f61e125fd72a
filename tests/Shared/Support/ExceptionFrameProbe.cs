using System.Diagnostics;

namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>
/// The root cause of an exception chain: records how deep the stack was when something asked for its text, so a test
/// can tell a chain read one frame per link (<see cref="Exception.ToString()"/>) from one read by a bounded walk.
/// </summary>
sealed class ExceptionFrameProbe(string message = "root cause") : Exception(message)
{
    public int DeepestFrames;

    public override string ToString()
    {
        DeepestFrames = Math.Max(DeepestFrames, new StackTrace().FrameCount);
        return base.ToString();
    }
}
