using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Attributes;

/// <summary>
/// An exception destructurer (Serilog.Exceptions) reads an exception's properties itself and hands Serilog a dictionary
/// of them with the type's full name under <c>"Type"</c>: the type's <see cref="SensitiveAttribute"/> and
/// <see cref="NotLoggedAttribute"/> members are found by that name, by the destructuring policy and by the event pass.
/// </summary>
public class TypeEntryTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static Dictionary<string, object?> Detail(string type) =>
        new() { ["Name"] = "ann", ["Nickname"] = "Nick-7f3a", ["Notes"] = "Notes-7f3a", ["Type"] = type };

    static string EventPass(object value)
    {
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(sink)).CreateLogger()) logger.Information("{@Value}", value);
        return sink.SingleEvent.Properties["Value"].ToString();
    }

    static string Policy(object value) => Capture.Destructured(value).ToString();

    [TestCase("policy")]
    [TestCase("event pass")]
    public void TheMembersOfTheTypeTheTypeEntryNamesAreMaskedAndLeftOut(string route)
    {
        var text = (route == "policy" ? Policy(Detail(typeof(Customer).FullName!)) : EventPass(Detail(typeof(Customer).FullName!)));

        Assert.That(text, Is.EqualTo($"[(\"Name\": \"ann\"), (\"Nickname\": \"{Mask}\"), (\"Type\": \"{typeof(Customer).FullName}\")]"));
    }

    // Only a qualified name is a type's: "Customer" alone is data that happens to be a type's name.
    [TestCase("policy")]
    [TestCase("event pass")]
    public void ABareWordUnderTypeIsData(string route)
    {
        var text = route == "policy" ? Policy(Detail(nameof(Customer))) : EventPass(Detail(nameof(Customer)));

        Assert.That(text, Does.Contain("\"Nick-7f3a\"").And.Contain("\"Notes-7f3a\""));
    }

    // Type.FullName of a generic type holds its arguments' assembly-qualified names: the type is still found.
    [TestCase("policy")]
    [TestCase("event pass")]
    public void AGenericTypesFullNameIsFound(string route)
    {
        var name = typeof(Tagged<Customer>).FullName!;
        var text = route == "policy" ? Policy(Detail(name)) : EventPass(Detail(name));

        Assert.That(text, Does.Contain($"(\"Nickname\": \"{Mask}\")").And.Not.Contain("Notes"));
    }

    // Serilog.Exceptions writes the type under "$Type" when the exception has a property named Type of its own.
    [TestCase("policy")]
    [TestCase("event pass")]
    public void TheTypeUnderDollarTypeIsFoundWhenTypeIsTheExceptionsOwnProperty(string route)
    {
        var detail = Detail("Checkout");
        detail["$Type"] = typeof(Customer).FullName;
        var text = route == "policy" ? Policy(detail) : EventPass(detail);

        Assert.That(text, Does.Contain($"(\"Nickname\": \"{Mask}\")").And.Not.Contain("Notes"));
    }

    // An exception destructurer that writes the type itself (as Serilog.Exceptions before 5 did) names it as well.
    [TestCase("policy")]
    [TestCase("event pass")]
    public void ATypeObjectUnderTypeIsFound(string route)
    {
        var detail = Detail("");
        detail["Type"] = typeof(Customer);
        var text = route == "policy" ? Policy(detail) : EventPass(detail);

        Assert.That(text, Does.Contain($"(\"Nickname\": \"{Mask}\")").And.Not.Contain("Notes"));
    }

    // Serilog.Exceptions appends "$" to a property name already in the dictionary (a property a derived type hides).
    [TestCase("policy")]
    [TestCase("event pass")]
    public void AMembersNameWithSerilogExceptionsSuffixIsStillThatMember(string route)
    {
        var detail = Detail(typeof(Customer).FullName!);
        detail["Nickname$"] = "Nick2-7f3a";
        detail["Notes$"] = "Notes2-7f3a";
        var text = route == "policy" ? Policy(detail) : EventPass(detail);

        Assert.That(text, Does.Contain($"(\"Nickname$\": \"{Mask}\")").And.Not.Contain("Notes"));
    }

    // A [NotLogged] member left out while another key of the same dictionary is masked: the rest is written whole.
    [Test]
    public void ALeftOutMemberBesideAMaskedKeyLeavesEveryOtherEntry()
    {
        var detail = Detail(typeof(Customer).FullName!);
        detail["ann@example.com"] = 3;
        var sink = new CollectingSink();
        using (var logger = new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(sink), o => o.DetectEmailAddresses = true).CreateLogger())
            logger.Information("{@Value}", detail);

        Assert.That(sink.SingleEvent.Properties["Value"].ToString(), Is.EqualTo(
            $"[(\"Name\": \"ann\"), (\"Nickname\": \"{Mask}\"), (\"Type\": \"{typeof(Customer).FullName}\"), (\"{Mask}\": 3)]"));
    }

    // Types are indexed by their short name: two that share it (in other namespaces or outer types) share the union of
    // their rules, so either type's entry masks what either marks (fail closed).
    [TestCase("policy")]
    [TestCase("event pass")]
    public void TypesSharingTheShortNameShareTheUnionOfTheirRules(string route)
    {
        var detail = new Dictionary<string, object?>
        {
            ["Alias"] = "Alias-7f3a", ["Pin"] = "Pin-7f3a", ["Name"] = "ann", ["Type"] = typeof(First.Profile).FullName,
        };
        var text = route == "policy" ? Policy(detail) : EventPass(detail);

        Assert.That(text, Is.EqualTo($"[(\"Alias\": \"{Mask}\"), (\"Name\": \"ann\"), (\"Type\": \"{typeof(First.Profile).FullName}\")]"));
    }

    public static class First
    {
        public sealed class Profile
        {
            [Sensitive] public string? Alias { get; set; }
        }
    }

    public static class Second
    {
        public sealed class Profile
        {
            [NotLogged] public string? Pin { get; set; }
        }
    }

    public sealed class Tagged<T>
    {
        [Sensitive] public string? Nickname { get; set; }
        [NotLogged] public string? Notes { get; set; }
        public T? Value { get; set; }
    }
}
