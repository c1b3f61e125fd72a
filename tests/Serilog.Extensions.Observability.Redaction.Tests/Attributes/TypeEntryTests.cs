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
}
