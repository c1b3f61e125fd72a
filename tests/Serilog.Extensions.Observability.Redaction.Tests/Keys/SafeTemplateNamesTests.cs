using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Redaction.Tests.Keys;

/// <summary>
/// The event pass's per-template cache of expected names stays small whatever templates arrive (interpolated text is
/// a new template per event), and a template that keeps coming back gets a slot whenever it arrives.
/// </summary>
public class SafeTemplateNamesTests
{
    static SafeTemplateNames NewNames() => new(new KeyMatcher(KeyRules.Default, Array.Empty<string>(), Array.Empty<string>()));

    static string[] TokenNames(MessageTemplate template) => template.Tokens.OfType<PropertyToken>().Select(t => t.PropertyName).ToArray();

    [Test]
    public void OneOffLongTemplatesAreNotKeptAndAHotTemplateThatArrivesLaterIsCached()
    {
        var names = NewNames();
        var oneOffs = SeeOnce(names, count: 5_000, length: 2_000);
        for (var i = 0; i < 5 && oneOffs.Any(t => t.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var retainedCharacters = oneOffs.Count(t => t.IsAlive) * 2_000L;
        Assert.That(retainedCharacters, Is.LessThanOrEqualTo(64 * 1024), "text of one-off templates kept alive by the cache");

        var hot = new MessageTemplateParser().Parse("Order {OrderId} for {Customer}");
        var expected = TokenNames(hot);
        names.For(hot);
        names.For(hot);
        var cached = names.For(hot);
        Assert.That(cached, Is.EqualTo(expected));
        Assert.That(names.For(hot), Is.SameAs(cached), "cached");
    }

    [Test]
    public void TemplatesSeenOnceDoNotTakeTheSlotsOfTemplatesSeenAgain()
    {
        var names = NewNames();
        for (var i = 0; i < 5_000; i++) names.For(new MessageTemplateParser().Parse($"Reading {i} of {{Count}} from {{Path}}"));
        Assert.That(names.Count, Is.LessThanOrEqualTo(2), "a slot for a template seen once (the doorkeeper remembers a hash, rarely a colliding one)");

        var hot = new MessageTemplateParser().Parse("Order {OrderId} for {Customer}");
        Assert.That(names.For(hot), Is.Empty, "the first sighting takes the per-name route");
        var cached = names.For(hot);
        Assert.That(cached, Is.EqualTo(TokenNames(hot)));
        Assert.That(names.For(hot), Is.SameAs(cached));
    }

    [Test]
    public void TwoHotTemplatesThatShareASetAreBothKept()
    {
        // Two ways per set: alternating templates of one set do not push each other out on every event.
        var names = NewNames();
        var parser = new MessageTemplateParser();
        var templates = Enumerable.Range(0, 2_000).Select(i => parser.Parse($"T{i} {{A}}")).ToList();
        var pair = templates.GroupBy(t => RuntimeHelpers.GetHashCode(t) & (SafeTemplateNames.Sets - 1)).First(g => g.Count() >= 2).Take(2).ToArray();
        foreach (var template in new[] { pair[0], pair[0], pair[1], pair[1] }) names.For(template);
        var first = names.For(pair[0]);
        var second = names.For(pair[1]);
        Assert.That(first, Is.Not.Empty);
        Assert.That(second, Is.Not.Empty);
        for (var i = 0; i < 3; i++)
        {
            Assert.That(names.For(pair[0]), Is.SameAs(first));
            Assert.That(names.For(pair[1]), Is.SameAs(second));
        }
    }

    [Test]
    public void TwoHotTemplatesThatTakeTurnsAreBothKeptWhenTheirFirstSightingsShareASlot()
    {
        // Each overwrote the other's first sighting, so neither was ever admitted: both took the per-name route on
        // every event, in the processes whose identity hashes fell that way.
        var names = NewNames();
        var (first, second) = SharingASightingSlot(names.Seen, new MessageTemplateParser(), "Request {Method} {Path} started",
            "Request {Method} {Path} finished");
        for (var i = 0; i < 2; i++)
        {
            names.For(first);
            names.For(second);
        }
        Assert.That(names.For(first), Is.EqualTo(TokenNames(first)));
        Assert.That(names.For(second), Is.EqualTo(TokenNames(second)));
    }

    /// <summary>
    /// Two templates whose first sightings go to one slot of <paramref name="seen"/>, parsed anew until they do (an
    /// identity hash is random; one pair in a few hundred shares a slot).
    /// </summary>
    internal static (MessageTemplate First, MessageTemplate Second) SharingASightingSlot(
        Redaction.Core.FirstSightings seen, MessageTemplateParser parser, string first, string second)
    {
        var a = parser.Parse(first);
        var slot = seen.SlotOf(RuntimeHelpers.GetHashCode(a));
        for (var attempt = 0; attempt < 1_000_000; attempt++)
        {
            var b = parser.Parse(second);
            var hash = RuntimeHelpers.GetHashCode(b);
            if (seen.SlotOf(hash) == slot && hash != RuntimeHelpers.GetHashCode(a)) return (a, b);
        }
        throw new InvalidOperationException("No two templates of one slot in a million tries.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static List<WeakReference> SeeOnce(SafeTemplateNames names, int count, int length)
    {
        var parser = new MessageTemplateParser();
        var seen = new List<WeakReference>(count);
        for (var i = 0; i < count; i++)
        {
            var text = "Body " + i.ToString("D6") + " {Id} " + new string('x', length - 17);
            var template = parser.Parse(text);
            Assert.That(template.Text, Has.Length.EqualTo(length));
            names.For(template);
            seen.Add(new WeakReference(template));
        }
        return seen;
    }
}
