namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>Full collections until a weak reference's target is gone, for tests that prove nothing keeps it.</summary>
static class Collected
{
    /// <summary>
    /// Whether <paramref name="reference"/>'s target is collected within ten seconds of full collections. One collection
    /// right after an await is not enough on a busy machine: the pool thread that completed the awaited work may still be
    /// unwinding frames that hold it.
    /// </summary>
    public static bool Eventually(WeakReference reference) =>
        SpinWait.SpinUntil(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return !reference.IsAlive;
        }, TimeSpan.FromSeconds(10));
}
