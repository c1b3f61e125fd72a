using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

public record ContactCard(string Name, [property: Sensitive] string Phone);

public record OrderPlaced(string OrderId, ContactCard Contact);

/// <summary>[Sensitive] members of records nested in other objects logged without @.</summary>
public class NestedRecordTextLeakTests
{
    static string Log(Action<ILogger> write) => Capture.AllPiecesOutput(write);

    [Test]
    public void ASensitiveMemberOfARecordNestedInARecordLoggedAsTextIsMasked()
    {
        var text = Log(l => l.Information("Placed {Order}", new OrderPlaced("o-1", new ContactCard("ann", "+44-7700-900123"))));

        Assert.That(text, Does.Not.Contain("7700-900123"));
        Assert.That(text, Does.Contain("Name = ann"));
    }

    [Test]
    public void ASensitiveMemberOfARecordNestedInAnAnonymousObjectLoggedAsTextIsMasked()
    {
        var text = Log(l => l.Information("Placed {Order}", new { OrderId = "o-2", Contact = new ContactCard("bob", "+44-7700-900456") }));

        Assert.That(text, Does.Not.Contain("7700-900456"));
    }
}
