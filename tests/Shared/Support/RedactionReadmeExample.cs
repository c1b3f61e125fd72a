namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>
/// The event the tests of the Redaction package README's appsettings block log, and what its console output must and
/// must not show: one copy for each Serilog line that runs that block.
/// </summary>
static class RedactionReadmeExample
{
    public static void Log(ILogger logger) =>
        logger.Information("Login {@Login} paid with {Card} as {Auth} from {Account}, {internal_note}, {token_type}",
            new { User = "ann", door_pin = "9876" }, "4111 1111 1111 1111", "Bearer abc.def.ghi", "ACCT-12345678",
            "readme-internal-secret", "readme-visible-type");

    public static void AssertMasked(string text) =>
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("ann"), "the event reached the console inside Redacted");
            Assert.That(text, Does.Not.Contain("9876"), "additionalKeys *_pin, in Destructure and WriteTo");
            Assert.That(text, Does.Not.Contain("4111 1111 1111 1111"), "detectCardNumbers");
            Assert.That(text, Does.Not.Contain("abc.def.ghi"), "detectBearerTokens");
            Assert.That(text, Does.Not.Contain("ACCT-12345678"), "valuePatterns");
            Assert.That(text, Does.Not.Contain("readme-internal-secret"), "additionalKeys internal*");
            Assert.That(text, Does.Contain("readme-visible-type"), "excludedKeys token_type");
            Assert.That(text, Does.Contain("***"), "mask");
        });
}
