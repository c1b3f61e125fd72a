using System.Collections;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Redaction.Destructuring;

/// <summary>
/// Learns Serilog's <c>ToMaximumCollectionCount</c>, which a destructuring policy is not told, so that the
/// dictionaries and JSON containers the policy builds itself are cut exactly where Serilog would cut them.
/// It asks the factory to convert a probe sequence of nulls and counts the elements Serilog kept: fewer than
/// offered gives the limit exactly; all of them proves a lower bound. It probes only for a container larger than
/// any seen before (doubling), so the cost is paid a few times per logger, not per event.
/// </summary>
sealed class CollectionLimit
{
    const int MinimumProbe = 64;

    int _exact = -1;
    int _atLeast;

    /// <summary>How many of <paramref name="available"/> entries to capture.</summary>
    /// <returns>The count, or -1 when the factory is at its maximum depth (children would all be null).</returns>
    public int Resolve(ILogEventPropertyValueFactory factory, int available)
    {
        var exact = Volatile.Read(ref _exact);
        if (exact >= 0) return Math.Min(exact, available);
        if (available <= Volatile.Read(ref _atLeast)) return available;

        var offered = (int)Math.Min(int.MaxValue, Math.Max((long)available, Math.Max(MinimumProbe, 2L * Volatile.Read(ref _atLeast))));
        var result = factory.CreatePropertyValue(new Probe(offered), destructureObjects: true);
        switch (result)
        {
            case SequenceValue sequence when sequence.Elements.Count < offered:
                Volatile.Write(ref _exact, sequence.Elements.Count);
                return Math.Min(sequence.Elements.Count, available);
            case SequenceValue:
                Volatile.Write(ref _atLeast, offered);
                return available;
            case ScalarValue { Value: null }:
                return -1;
            default:
                return available; // Another policy took the probe: nothing learnt, nothing cut.
        }
    }

    /// <summary>A lazy sequence of nulls, deliberately not an <see cref="IList"/> so Serilog enumerates it.</summary>
    internal sealed class Probe : IEnumerable
    {
        readonly int _count;

        public Probe(int count) => _count = count;

        public IEnumerator GetEnumerator()
        {
            for (var i = 0; i < _count; i++) yield return null;
        }
    }
}
