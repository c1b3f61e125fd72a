using Serilog.Exceptions;
using Serilog.Extensions.Observability.Redaction;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Tests.Ecosystem;

/// <summary>
/// Serilog.Exceptions' <c>Enrich.WithExceptionDetails()</c> writes an exception's <c>Data</c> and properties as an
/// <c>ExceptionDetail</c> property, which <c>@x</c> (the exception's <c>ToString()</c>) does not hold. Each redaction
/// set-up that sees that property keeps every secret in it out of the file; <c>@x</c> is masked as the Redaction
/// README says: by <c>DetectEmbeddedCredentials</c>, on in <c>WithObservability()</c> and off by default elsewhere.
/// </summary>
public class ExceptionDetailsTests
{
    public sealed class LoginException(string message) : Exception(message)
    {
        public string? Password { get; init; }
        public string? Token { get; init; }
        public string? ConnectionString { get; init; }
        public string? Authorization { get; init; }
        public List<KeyValuePair<string, string>>? Headers { get; init; }
        public Uri? Endpoint { get; init; }
        [Sensitive] public string? Phone { get; init; }
        [NotLogged] public string? Notes { get; init; }
    }

    const string MessageSecret = "MsgPw111";

    /// <summary>Secrets of the exception's properties and <c>Data</c>, which only <c>ExceptionDetail</c> holds.</summary>
    static readonly string[] DetailSecrets =
    [
        "PropPw222", "PropTok333", "ConnPw444", "AuthBearer555", "HdrBearer666", "PhoneBBB", "NotesCCC",
        "DataPw777", "DataTok888", "DataAuth999", "DataConn000", "NestedKeyAAA",
    ];

    static Exception Thrown()
    {
        var exception = new LoginException($"Login failed for Server=db;Password={MessageSecret};")
        {
            Password = "PropPw222",
            Token = "PropTok333",
            ConnectionString = "Server=db;User Id=sa;Password=ConnPw444;",
            Authorization = "Bearer AuthBearer555",
            Headers = [new("Authorization", "Bearer HdrBearer666")],
            Phone = "PhoneBBB",
            Notes = "NotesCCC",
        };
        exception.Data["password"] = "DataPw777";
        exception.Data["token"] = "DataTok888";
        exception.Data["Authorization"] = "Basic DataAuth999";
        exception.Data["ConnectionString"] = "Server=db;Password=DataConn000;";
        exception.Data["nested"] = new Dictionary<string, object> { ["api_key"] = "NestedKeyAAA" };
        try { throw exception; }
        catch (Exception caught) { return caught; }
    }

    public static IEnumerable<TestCaseData> SetUps()
    {
        static LoggerConfiguration Observability(LoggerConfiguration configuration, string path) =>
            configuration.WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(path));

        // messageMasked: whether @x and ExceptionDetail.Message have the connection string's password masked.
        TestCaseData Case(string name, bool messageMasked, Func<string, LoggerConfiguration> configure) =>
            new TestCaseData(messageMasked, configure).SetArgDisplayNames(name);

        yield return Case("WithObservability() then WithExceptionDetails()", true, path => Observability(new LoggerConfiguration(), path).Enrich.WithExceptionDetails());
        yield return Case("WithExceptionDetails() then WithObservability()", true, path => Observability(new LoggerConfiguration().Enrich.WithExceptionDetails(), path));
        yield return Case("Destructure.WithRedaction() and WriteTo.Redacted", false, path => new LoggerConfiguration()
            .Destructure.WithRedaction().Enrich.WithExceptionDetails().WriteTo.Redacted(sinks => sinks.RollingJson(path)));
        yield return Case("WriteTo.Redacted with DetectEmbeddedCredentials", true, path => new LoggerConfiguration()
            .Enrich.WithExceptionDetails().WriteTo.Redacted(sinks => sinks.RollingJson(path), r => r.DetectEmbeddedCredentials = true));
        // Without WriteTo.Redacted: the destructuring policy sees the details as Serilog.Exceptions captures them.
        yield return Case("Destructure.WithRedaction() alone", false, path => new LoggerConfiguration()
            .Destructure.WithRedaction().Enrich.WithExceptionDetails().WriteTo.RollingJson(path));
        yield return Case("Enrich.WithRedaction() after WithExceptionDetails()", false, path => new LoggerConfiguration()
            .Enrich.WithExceptionDetails().Enrich.WithRedaction().WriteTo.RollingJson(path));
    }

    [TestCaseSource(nameof(SetUps))]
    public void NoSecretOfTheExceptionDetailReachesTheFile(bool messageMasked, Func<string, LoggerConfiguration> configure)
    {
        using var folder = TempFolder.ForCaller();
        using (var logger = configure(Path.Combine(folder.Path, "app-.json")).CreateLogger()) logger.Error(Thrown(), "Login failed");

        var file = string.Concat(Directory.GetFiles(folder.Path).Select(File.ReadAllText));
        var message = messageMasked ? "Server=db;Password=[REDACTED];" : $"Server=db;Password={MessageSecret};";
        Assert.Multiple(() =>
        {
            Assert.That(DetailSecrets.Where(file.Contains), Is.Empty);
            Assert.That(file, Does.Contain("\"ExceptionDetail\":{\"Data\":{\"password\":\"[REDACTED]\",\"token\":\"[REDACTED]\",\"Authorization\":\"[REDACTED]\""));
            Assert.That(file, Does.Contain("\"Password\":\"[REDACTED]\",\"Token\":\"[REDACTED]\",\"ConnectionString\":\"[REDACTED]\",\"Authorization\":\"[REDACTED]\""));
            Assert.That(file, Does.Contain("\"Headers\":[{\"Key\":\"Authorization\",\"Value\":\"[REDACTED]\""));
            // Serilog.Exceptions reads the properties itself: the attributes are found by the type its "Type" entry names.
            Assert.That(file, Does.Contain("\"Phone\":\"[REDACTED]\"").And.Not.Contain("\"Notes\""), "[Sensitive] and [NotLogged]");
            Assert.That(file, Does.Contain("\"@x\":\"" + typeof(LoginException).FullName + ": Login failed for " + message));
            Assert.That(file, Does.Contain("\"Message\":\"Login failed for " + message + "\""));
        });
    }

    // Serilog.Exceptions writes an inner exception as a dictionary of its own, under InnerException or InnerExceptions.
    [TestCaseSource(nameof(SetUps))]
    public void NoSecretOfAnInnerExceptionsDetailReachesTheFile(bool messageMasked, Func<string, LoggerConfiguration> configure)
    {
        using var folder = TempFolder.ForCaller();
        using (var logger = configure(Path.Combine(folder.Path, "app-.json")).CreateLogger())
        {
            logger.Error(new InvalidOperationException("Checkout failed", Thrown()), "Checkout failed");
            logger.Error(new AggregateException(new TimeoutException("slow"), Thrown()), "Checkout failed");
        }

        var file = string.Concat(Directory.GetFiles(folder.Path).Select(File.ReadAllText));
        Assert.Multiple(() =>
        {
            Assert.That(file, Does.Contain("\"InnerException\":{").And.Contain("\"InnerExceptions\":["));
            Assert.That(DetailSecrets.Where(file.Contains), Is.Empty);
            Assert.That(file.Split("\"Phone\":\"[REDACTED]\"").Length - 1, Is.EqualTo(2), "[Sensitive]");
            Assert.That(file, Does.Not.Contain("\"Notes\""), "[NotLogged]");
        });
    }

    public sealed class QuotaException<T>(string message) : Exception(message)
    {
        [Sensitive] public string? Phone { get; init; }
        [NotLogged] public string? Notes { get; init; }
    }

    // A property named Type of the exception's own: Serilog.Exceptions writes the exception's type under "$Type" then.
    public sealed class KindException(string message) : Exception(message)
    {
        public string? Type { get; init; }
        [Sensitive] public string? Phone { get; init; }
        [NotLogged] public string? Notes { get; init; }
    }

    // Serilog.Exceptions writes a generic exception's Type with its arguments' assembly-qualified names.
    [TestCaseSource(nameof(SetUps))]
    public void TheAttributesOfAGenericExceptionAndOfOneWithATypePropertyAreFound(bool messageMasked, Func<string, LoggerConfiguration> configure)
    {
        using var folder = TempFolder.ForCaller();
        using (var logger = configure(Path.Combine(folder.Path, "app-.json")).CreateLogger())
        {
            logger.Error(new QuotaException<int>("Over quota") { Phone = "PhoneDDD", Notes = "NotesEEE" }, "Over quota");
            logger.Error(new KindException("Wrong kind") { Type = "Refund", Phone = "PhoneFFF", Notes = "NotesGGG" }, "Wrong kind");
        }

        var file = string.Concat(Directory.GetFiles(folder.Path).Select(File.ReadAllText));
        Assert.Multiple(() =>
        {
            Assert.That(file, Does.Contain("\"Type\":\"Refund\"").And.Contain("\"$Type\":\"" + typeof(KindException).FullName + "\""));
            Assert.That(new[] { "PhoneDDD", "NotesEEE", "PhoneFFF", "NotesGGG" }.Where(file.Contains), Is.Empty);
            Assert.That(file.Split("\"Phone\":\"[REDACTED]\"").Length - 1, Is.EqualTo(2), "[Sensitive]");
            Assert.That(file, Does.Not.Contain("\"Notes\""), "[NotLogged]");
        });
    }
}
