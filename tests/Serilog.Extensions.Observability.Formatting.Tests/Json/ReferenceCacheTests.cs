using Serilog.Extensions.Observability.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting.Tests.Json;

public class ReferenceCacheTests
{
    sealed class Key(int id)
    {
        public readonly int Id = id;
    }

    sealed class Value(Key key)
    {
        public readonly Key Key = key;
    }

    [Test]
    public void AKeyIsAdmittedOnlyOnItsSecondSighting()
    {
        var cache = new ReferenceCache<Key, Value>(sets: 8);
        var key = new Key(1);

        Assert.That(cache.TryGet(key, out _), Is.False);
        Assert.That(cache.ShouldAdd(key), Is.False);
        Assert.That(cache.TryGet(key, out _), Is.False);
        Assert.That(cache.ShouldAdd(key), Is.True);

        var value = new Value(key);
        cache.Add(key, value);
        Assert.That(cache.TryGet(key, out var cached), Is.True);
        Assert.That(cached, Is.SameAs(value));
    }

    [Test]
    public void TwoKeysOfOneSetThatTakeTurnsAreBothAdmittedOnTheirSecondSighting()
    {
        // Two property names every event writes, one after the other: with one key remembered per set each forgot
        // the other, and neither was ever cached, in the processes whose identity hashes put them in one set.
        var cache = new ReferenceCache<Key, Value>(sets: 1);
        var first = new Key(1);
        var second = new Key(2);

        Assert.That(cache.ShouldAdd(first), Is.False);
        Assert.That(cache.ShouldAdd(second), Is.False);
        Assert.That(cache.ShouldAdd(first), Is.True);
        Assert.That(cache.ShouldAdd(second), Is.True);
    }

    [Test]
    public void AThirdKeyOfASetPushesTheOldestFirstSightingOut()
    {
        var cache = new ReferenceCache<Key, Value>(sets: 1);
        var keys = Enumerable.Range(0, 3).Select(i => new Key(i)).ToArray();
        foreach (var key in keys) cache.ShouldAdd(key);

        Assert.That(cache.RetainedKeys, Is.EquivalentTo(new[] { keys[1], keys[2] }), "only two first sightings are kept alive");
        Assert.That(cache.ShouldAdd(keys[0]), Is.False);
        Assert.That(cache.ShouldAdd(keys[2]), Is.True);
    }

    [Test]
    public void KeysAreComparedByReferenceNotByValue()
    {
        var cache = new ReferenceCache<string, Value>(sets: 8);
        var name = new string('a', 5);
        cache.ShouldAdd(name);
        cache.ShouldAdd(name);
        cache.Add(name, new Value(new Key(0)));

        Assert.That(cache.TryGet(new string('a', 5), out _), Is.False);
        Assert.That(cache.TryGet(name, out _), Is.True);
    }

    [Test]
    public void KeysSeenOnceNeverTakeASlot()
    {
        var cache = new ReferenceCache<Key, Value>(sets: 4);
        for (var i = 0; i < 1000; i++)
            Assert.That(cache.ShouldAdd(new Key(i)), Is.False);
        Assert.That(cache.Count, Is.Zero);
    }

    [Test]
    public void TheCacheNeverHoldsMoreThanTwoEntriesPerSetAndKeepsTheNewest()
    {
        var cache = new ReferenceCache<Key, Value>(sets: 4);
        var keys = Enumerable.Range(0, 500).Select(i => new Key(i)).ToArray();
        foreach (var key in keys)
        {
            cache.Add(key, new Value(key));
            Assert.That(cache.Count, Is.LessThanOrEqualTo(cache.Capacity));
        }

        Assert.That(cache.Capacity, Is.EqualTo(8));
        Assert.That(cache.Count, Is.EqualTo(8));
        Assert.That(cache.TryGet(keys[^1], out var newest), Is.True);
        Assert.That(newest!.Key, Is.SameAs(keys[^1]));
        Assert.That(keys.Count(k => cache.TryGet(k, out _)), Is.EqualTo(8));
    }

    [Test]
    public void ACollidingNewcomerDoesNotEvictTheOtherWayOfItsSet()
    {
        var cache = new ReferenceCache<Key, Value>(sets: 1); // every key maps to the one set
        var hot = new Key(0);
        var cold = new Key(1);
        cache.Add(hot, new Value(hot));
        cache.Add(cold, new Value(cold));
        Assert.That(cache.TryGet(hot, out _), Is.True);
        Assert.That(cache.TryGet(cold, out _), Is.True);

        var third = new Key(2);
        cache.Add(third, new Value(third));
        Assert.That(cache.TryGet(third, out _), Is.True);
        Assert.That(cache.TryGet(cold, out _), Is.True, "the entry admitted later survives");
        Assert.That(cache.TryGet(hot, out _), Is.False, "the entry admitted first is the one evicted");
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(-8)]
    public void TheNumberOfSetsMustBeAPositivePowerOfTwo(int sets)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ReferenceCache<Key, Value>(sets));
        Assert.That(ex!.ParamName, Is.EqualTo("sets"));
    }

    [Test]
    public void ConcurrentReadersAndWritersOnlyEverSeeTheValueOfTheirOwnKey()
    {
        var cache = new ReferenceCache<Key, Value>(sets: 16);
        var keys = Enumerable.Range(0, 200).Select(i => new Key(i)).ToArray();
        var failures = 0;
        var hits = 0;

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 50_000; i++)
            {
                var key = keys[random.Next(keys.Length)];
                if (cache.TryGet(key, out var value))
                {
                    Interlocked.Increment(ref hits);
                    if (!ReferenceEquals(value.Key, key)) Interlocked.Increment(ref failures);
                }
                else if (cache.ShouldAdd(key))
                {
                    cache.Add(key, new Value(key));
                }
            }
        });

        Assert.That(failures, Is.Zero);
        Assert.That(hits, Is.GreaterThan(0));
        Assert.That(cache.Count, Is.LessThanOrEqualTo(cache.Capacity));
    }
}
