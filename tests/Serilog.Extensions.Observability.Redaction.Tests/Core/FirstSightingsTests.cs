using Serilog.Extensions.Observability.Redaction.Core;

namespace Serilog.Extensions.Observability.Redaction.Tests.Core;

public class FirstSightingsTests
{
    [Test]
    public void AHashIsSeenBeforeOnlyFromItsSecondSighting()
    {
        var sightings = new FirstSightings(slots: 4, shift: 0);

        Assert.That(sightings.SeenBefore(17), Is.False);
        Assert.That(sightings.SeenBefore(17), Is.True);
        Assert.That(sightings.SeenBefore(18), Is.False);
    }

    [Test]
    public void TwoHashesOfOneSlotThatTakeTurnsAreEachSeenOnTheirSecondSighting()
    {
        // A request's start and end templates, two names every event writes: with one hash a slot they overwrote
        // each other, and neither was ever admitted.
        var sightings = new FirstSightings(slots: 4, shift: 0);
        Assert.That(sightings.SlotOf(1), Is.EqualTo(sightings.SlotOf(5)));

        Assert.That(sightings.SeenBefore(1), Is.False);
        Assert.That(sightings.SeenBefore(5), Is.False);
        Assert.That(sightings.SeenBefore(1), Is.True);
        Assert.That(sightings.SeenBefore(5), Is.True);
    }

    [Test]
    public void AThirdHashOfASlotPushesOutTheOldestOfTheTwo()
    {
        var sightings = new FirstSightings(slots: 1, shift: 0);
        sightings.SeenBefore(1);
        sightings.SeenBefore(2);
        sightings.SeenBefore(3);

        Assert.That(sightings.SeenBefore(1), Is.False, "the oldest is forgotten");
        Assert.That(sightings.SeenBefore(3), Is.True);
    }

    [Test]
    public void TheSlotIsChosenByTheBitsAboveTheShift()
    {
        var sightings = new FirstSightings(slots: 4, shift: 8);

        Assert.That(sightings.SlotOf(0x0000_01FF), Is.EqualTo(1));
        Assert.That(sightings.SlotOf(0x0000_03FF), Is.EqualTo(3));
        Assert.That(sightings.SlotOf(unchecked((int)0x8000_04FF)), Is.EqualTo(0));
    }
}
