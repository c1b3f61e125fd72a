using System.Security.Cryptography;
using System.Text;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Masking;

public class MaskStyleTests
{
    const string Key = "0123456789abcdef-test-key";

    static IEnumerable<TestCaseData> EveryRoute() => Routes.All.Select(r => new TestCaseData(r).SetName("{m} via " + r));

    static string ExpectedPseudonym(string value, string key = Key, string keyId = "k1") =>
        keyId + ":" + Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value))[..16]).ToLowerInvariant();

    [TestCaseSource(nameof(EveryRoute))]
    public void FixedTextReplacesTheValue(Route route)
    {
        var text = Output.Render(Routes.Write(route, "Token", "tok-secret-1", Pieces.All, o => o.Mask = "***"));
        Assert.That(text, Does.Not.Contain("tok-secret-1").And.Contain("\"***\""));
    }

    [TestCaseSource(nameof(EveryRoute))]
    public void PartialKeepsTheLastCharacters(Route route)
    {
        var text = Output.Render(Routes.Write(route, "CardNumber", "4111111111114242", Pieces.All, o => o.MaskStyle = RedactionMaskStyle.Partial));
        Assert.That(text, Does.Not.Contain("41111111").And.Contain("[REDACTED]4242"));
    }

    [TestCaseSource(nameof(EveryRoute))]
    public void PartialMasksShortValuesCompletely(Route route)
    {
        // Letters for the part a partial mask would show: digits such as "4567" turn up in the event's timestamp.
        var text = Output.Render(Routes.Write(route, "Pin", "123wxyz", Pieces.All, o => o.MaskStyle = RedactionMaskStyle.Partial));
        Assert.That(text, Does.Not.Contain("wxyz").And.Contain("[REDACTED]"));
    }

    [TestCaseSource(nameof(EveryRoute))]
    public void PseudonymIsTheKeyedHmacWithTheKeyIdPrefix(Route route)
    {
        var text = Output.Render(Routes.Write(route, "Secret", "ann@example.com", Pieces.All, o =>
        {
            o.MaskStyle = RedactionMaskStyle.Pseudonym;
            o.PseudonymKey = Key;
        }));
        Assert.That(text, Does.Not.Contain("ann@example.com").And.Contain(ExpectedPseudonym("ann@example.com")));
    }

    [TestCaseSource(nameof(EveryRoute))]
    public void PseudonymsOfTheSameValueMatchAcrossRoutesAndShapes(Route route)
    {
        Action<RedactionOptions> options = o =>
        {
            o.MaskStyle = RedactionMaskStyle.Pseudonym;
            o.PseudonymKey = Key;
            o.PseudonymKeyId = "2026a";
        };
        var expected = ExpectedPseudonym("user-77", keyId: "2026a");
        var scalar = Output.Render(Routes.Write(route, "Password", "user-77", Pieces.All, options));
        var nested = Output.Render(Routes.Write(route, "Body", new Dictionary<string, object> { ["inner"] = new { password = "user-77" } }, Pieces.All, options));
        var json = Output.Render(Routes.Write(route, "Json", """{"password":"user-77"}""", Pieces.All, options));
        Assert.That(scalar, Does.Contain(expected));
        Assert.That(json, Does.Contain(expected));
        if (route.Destructures()) Assert.That(nested, Does.Contain(expected));
        Assert.That(nested, Does.Not.Contain("user-77\""));
    }

    [Test]
    public void DifferentKeysGiveUnrelatedPseudonyms()
    {
        string Write(string key) => Routes.Write(Route.MessageArgument, "Password", "same", Pieces.Sink, o =>
        {
            o.MaskStyle = RedactionMaskStyle.Pseudonym;
            o.PseudonymKey = key;
        }).Single().Properties["Password"].ToString();

        Assert.That(Write(Key), Is.Not.EqualTo(Write(Key + "-rotated")));
        Assert.That(Write(Key), Is.EqualTo(Write(Key)));
    }

    [Test]
    public void StructuresUnderASensitiveKeyAreMaskedWholeInEveryStyle()
    {
        foreach (var style in Enum.GetValues<RedactionMaskStyle>())
        {
            var text = Output.Render(Routes.Write(Route.DestructuredArgument, "Credentials", new { User = "u-secret", Pass = "p-secret" }, Pieces.All, o =>
            {
                o.MaskStyle = style;
                o.PseudonymKey = Key;
            }));
            Assert.That(text, Does.Not.Contain("u-secret").And.Not.Contain("p-secret"), style.ToString());
        }
    }

    [Test]
    public void NumbersAndBooleansUnderSensitiveKeysAreMaskedByTheirInvariantText()
    {
        var text = Output.Render(Routes.Write(Route.MessageArgument, "cvv", 123456.5m, Pieces.All, o => o.MaskStyle = RedactionMaskStyle.Partial));
        Assert.That(text, Does.Contain("[REDACTED]56.5").And.Not.Contain("123456"));
    }
}
