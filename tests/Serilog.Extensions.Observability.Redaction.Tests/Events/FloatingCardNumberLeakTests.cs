using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// A card number held in a <see cref="double"/> (exact below 2^53) is written as its digits, like a
/// <see cref="long"/>: with <c>DetectCardNumbers</c> on it is masked too.
/// </summary>
public class FloatingCardNumberLeakTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static void Cards(RedactionOptions options) => options.DetectCardNumbers = true;

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void ACardNumberInADoubleIsMasked(Route route, Pieces pieces)
    {
        var text = Output.Render(Routes.Write(route, "Amount", 4111111111111111d, pieces, Cards));
        Assert.That(text, Does.Not.Contain("4111111111111111").And.Not.Contain("4.11111111111111"));
        Assert.That(text, Does.Contain(Mask));
    }

    [TestCaseSource(typeof(Routes), nameof(Routes.WithPieces))]
    public void ACardNumberInADoubleInsideAnObjectIsMasked(Route route, Pieces pieces)
    {
        var text = Output.Render(Routes.Write(route, "Payment", new { Reference = "r-visible", Number = 4111111111111111d }, pieces, Cards));
        Assert.That(text, Does.Not.Contain("4111111111111111").And.Not.Contain("4.11111111111111"));
        Assert.That(text, Does.Contain("r-visible"));
    }

    [Test]
    public void OtherDoublesAreKept()
    {
        foreach (var value in new[] { 4111111111111112d, 4111111111111111.5d, 0.5d, -4111111111111111d, double.NaN, double.PositiveInfinity, 1e300 })
        {
            var logEvent = Routes.Write(Route.MessageArgument, "Amount", value, Pieces.All, Cards).Single();
            Assert.That(logEvent.Properties["Amount"].ToString(), Does.Not.Contain(Mask), value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Test]
    public void ACardNumberInAFloatIsMaskedWhenItsValuePassesTheCheck()
    {
        // A float is exact only to 2^24: a card number stored in one is written rounded, which is no longer the card.
        // What is written is masked when that value passes the check, as for a double.
        const float value = 4111111111111111f;
        var passes = ((double)value) == Math.Floor(value) && LuhnOf((ulong)(double)value);
        var logEvent = Routes.Write(Route.MessageArgument, "Amount", value, Pieces.Sink, Cards).Single();
        Assert.That(logEvent.Properties["Amount"].ToString() == $"\"{Mask}\"", Is.EqualTo(passes));
    }

    [Test]
    public void DoublesAreNotLookedIntoWithoutCardDetection()
    {
        var logEvent = Routes.Write(Route.MessageArgument, "Amount", 4111111111111111d, Pieces.All).Single();
        Assert.That(logEvent.Properties["Amount"].ToString(), Does.Not.Contain(Mask));
    }

    static bool LuhnOf(ulong value)
    {
        var digits = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (digits.Length is < 13 or > 19) return false;
        var sum = 0;
        var twice = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (twice && (d *= 2) > 9) d -= 9;
            sum += d;
            twice = !twice;
        }
        return sum % 10 == 0;
    }
}
