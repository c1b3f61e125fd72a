namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// The "doorkeeper" of a bounded cache that admits an entry the second time its key is seen: the hashes of keys seen
/// once, so that keys that occur once (a template built by interpolation, an id used as a dictionary key) never take
/// a cache slot. Holds no reference, so nothing is kept alive.
/// </summary>
/// <remarks>
/// Two hashes per slot, the newer first: two hot keys whose hashes share a slot and take turns (a request's start and
/// end templates, two property names written by every event) are each found on their second sighting. With one hash
/// per slot each overwrote the other's, so neither was ever admitted and both were worked out anew on every event, in
/// the processes whose hashes happened to fall that way. Slots are overwritten without locks: a racing writer at worst
/// makes a key wait for one more sighting.
/// </remarks>
sealed class FirstSightings
{
    readonly int[] _hashes;
    readonly int _shift;

    /// <param name="slots">A power of two: how many slots of two hashes.</param>
    /// <param name="shift">How many low bits of the hash to pass over: those the cache's own sets are chosen by.</param>
    public FirstSightings(int slots, int shift)
    {
        _hashes = new int[slots * 2];
        _shift = shift;
    }

    /// <summary>The slot <paramref name="hash"/> is remembered in (for tests).</summary>
    internal int SlotOf(int hash) => (hash >>> _shift) & (_hashes.Length / 2 - 1);

    /// <summary>Whether <paramref name="hash"/> was seen before (rarely another key's of the same hash); remembers it if not.</summary>
    public bool SeenBefore(int hash)
    {
        var slot = SlotOf(hash) * 2;
        var newer = Volatile.Read(ref _hashes[slot]);
        if (newer == hash || Volatile.Read(ref _hashes[slot + 1]) == hash) return true;
        Volatile.Write(ref _hashes[slot + 1], newer);
        Volatile.Write(ref _hashes[slot], hash);
        return false;
    }
}
