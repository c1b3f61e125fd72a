using System.Buffers;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

/// <summary>Memory whose owner does not reveal an array (as native or pinned-pool memory would not).</summary>
sealed class NotAnArray(Memory<byte> inner) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => inner.Span;

    public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
