using Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Writing;

public class PooledBufferWriterTests
{
    [Test]
    public void ABufferThatCannotBeShrunkWhenClearedIsKeptNeverThrowsAndIsReturnedOnce()
    {
        // A batch grew the buffer past eight times its start size, and the smaller one it is cleared to finds no memory.
        // Before the fix the large array went back to the pool first and Clear then threw, with the writer still holding
        // it: the next Clear returned it to the pool again, for two renters to share.
        var pool = new RecordingArrayPool();
        var writer = new PooledBufferWriter(16, pool);
        writer.GetSpan(16 * 9);
        writer.Advance(16 * 9);
        pool.FailNextRents(16, 1);

        Assert.DoesNotThrow(writer.Clear);

        Assert.That(writer.WrittenCount, Is.EqualTo(0));
        Assert.That(pool.FailedRents, Is.EqualTo(1), "the premise: the smaller buffer found no memory");
        writer.GetSpan(16 * 9)[16 * 9 - 1] = 1;
        writer.Advance(16 * 9);
        writer.Clear();
        writer.Dispose();
        Assert.That(pool.DoubleReturns, Is.EqualTo(0), "An array went back to the pool twice.");
    }
}
