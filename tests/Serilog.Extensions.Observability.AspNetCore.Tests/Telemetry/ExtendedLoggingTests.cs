using System.Text.Json;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using MelLogger = Microsoft.Extensions.Logging.ILogger;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Telemetry;

/// <summary>
/// <c>ILogger</c> events from Microsoft.Extensions.Telemetry's source generator (which this project's
/// Microsoft.Extensions.Telemetry.Abstractions reference puts in place of the runtime's for every <c>[LoggerMessage]</c>
/// here) and its <c>EnableRedaction()</c>, in the RollingJson file of a worker host set up with <c>AddObservability()</c>.
/// </summary>
[NonParallelizable] // Log.Logger is process-wide.
public class ExtendedLoggingTests
{
    const string Password = "pw-secret-1", ApiKey = "key-secret-2", Token = "tok-secret-3", ConnStr = "Server=db;Pwd=cs-secret-4",
        Iban = "DE89370400440532013000", Email = "ann@example.org";

    static readonly LoginRequest Login = new() { User = "ann", Password = Password, ApiKey = ApiKey, ConnStr = ConnStr, Iban = Iban, PasswordPolicyVersion = 3 };

    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    /// <summary>Builds a worker host, logs through its services, disposes it (flushing the file) and reads the file.</summary>
    static (List<JsonElement> Events, string Text) Run(string directory, Action<HostApplicationBuilder> configure, Action<IServiceProvider> log)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", ApplicationName = "worker" });
        configure(builder);
        using (var host = builder.Build()) log(host.Services);
        return (LogFileEvents.Read(directory), string.Concat(Directory.GetFiles(directory).Select(File.ReadAllText)));
    }

    static Action<HostApplicationBuilder> Observability(string directory, Action<HostApplicationBuilder>? before = null, Action<HostApplicationBuilder>? after = null) => builder =>
    {
        before?.Invoke(builder);
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(directory, "app-.json"))
            .Redaction(r => r.AdditionalKeys.Add("iban")));
        after?.Invoke(builder);
    };

    static JsonElement Single(List<JsonElement> events, string template) =>
        events.Single(e => LogFileEvents.Prop(e, "@mt") == template);

    [Test]
    public void GeneratedParametersAndAnObjectAreMaskedAsTheSameValuesLoggedThroughSerilog()
    {
        using var logs = TempFolder.ForCaller();
        var (events, text) = Run(logs.Path, Observability(logs.Path), services =>
        {
            var mel = services.GetRequiredService<ILoggerFactory>().CreateLogger("Telemetry");
            TelemetryLog.LoginWith(mel, "ann", Password, ApiKey, Token);
            TelemetryLog.LoginObject(mel, Login);
            var serilog = services.GetRequiredService<ILogger>().ForContext("SourceContext", "Serilog");
            serilog.Warning(TelemetryLog.LoginWithTemplate, "ann", Password, ApiKey, Token);
            serilog.Warning(TelemetryLog.LoginObjectTemplate, Login);
        });

        var generated = events.Where(e => LogFileEvents.Prop(e, "SourceContext") == "Telemetry").ToList();
        var direct = events.Where(e => LogFileEvents.Prop(e, "SourceContext") == "Serilog").ToList();
        Assert.That(generated.Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { TelemetryLog.LoginWithTemplate, TelemetryLog.LoginObjectTemplate }));
        Assert.That(direct.Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { TelemetryLog.LoginWithTemplate, TelemetryLog.LoginObjectTemplate }));
        Assert.Multiple(() =>
        {
            foreach (var name in new[] { "User", "password", "apiKey", "token", "login" })
            {
                var i = name == "login" ? 1 : 0;
                Assert.That(LogFileEvents.Prop(generated[i], name), Is.EqualTo(LogFileEvents.Prop(direct[i], name)), name);
            }
            Assert.That(LogFileEvents.Prop(generated[0], "password"), Is.EqualTo("[REDACTED]"));
            Assert.That(generated[1].GetProperty("login").GetProperty("Password").GetString(), Is.EqualTo("[REDACTED]"));
            Assert.That(text, Does.Not.Contain(Password).And.Not.Contain(ApiKey).And.Not.Contain(Token).And.Not.Contain("cs-secret-4"));
        });
    }

    [Test]
    public void LogPropertiesMembersAreMaskedAsTheMembersOwnNamesAre()
    {
        using var logs = TempFolder.ForCaller();
        var (events, text) = Run(logs.Path, Observability(logs.Path), services =>
        {
            var mel = services.GetRequiredService<ILoggerFactory>().CreateLogger("Telemetry");
            TelemetryLog.LoginProperties(mel, Login);
            services.GetRequiredService<ILogger>().Warning("Members {User} {Password} {ApiKey} {ConnStr} {Iban} {PasswordPolicyVersion}",
                Login.User, Login.Password, Login.ApiKey, Login.ConnStr, Login.Iban, Login.PasswordPolicyVersion);
        });

        // The generator names a member "<parameter>.<member>".
        var members = Single(events, "Login attempt");
        var direct = Single(events, "Members {User} {Password} {ApiKey} {ConnStr} {Iban} {PasswordPolicyVersion}");
        Assert.Multiple(() =>
        {
            foreach (var name in new[] { "User", "Password", "ApiKey", "ConnStr", "Iban", "PasswordPolicyVersion" })
                Assert.That(LogFileEvents.Prop(members, "request." + name), Is.EqualTo(LogFileEvents.Prop(direct, name)), name);
            Assert.That(LogFileEvents.Prop(members, "request.User"), Is.EqualTo("ann"));
            Assert.That(LogFileEvents.Prop(members, "request.PasswordPolicyVersion"), Is.EqualTo("3"));
            Assert.That(text, Does.Not.Contain(Password).And.Not.Contain(ApiKey).And.Not.Contain("cs-secret-4").And.Not.Contain(Iban));
        });
    }

    /// <summary>
    /// <c>EnableRedaction()</c> replaces the logger factory with Microsoft.Extensions.Telemetry's, which wraps every
    /// provider, ours included, whether it is called before or after <c>AddObservability()</c>: a classified parameter
    /// reaches the file as the redactor wrote it, and one whose name is sensitive is masked by ours after that. Without
    /// it, the generated code hands a classified parameter to no provider.
    /// </summary>
    [TestCase("before")]
    [TestCase("after")]
    [TestCase("none")]
    public void EnableRedactionClassifiedParametersReachTheFileAsTheRedactorWroteThem(string enableRedaction)
    {
        using var logs = TempFolder.ForCaller();
        static void Redaction(HostApplicationBuilder builder)
        {
            builder.Logging.EnableRedaction();
            builder.Services.AddRedaction(r => r.SetRedactor<MarkingRedactor>(new DataClassificationSet(Taxonomy.Private)));
        }
        var selfLog = new List<string>();
        List<JsonElement> events;
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            (events, _) = Run(logs.Path, Observability(logs.Path, before: enableRedaction == "before" ? Redaction : null, after: enableRedaction == "after" ? Redaction : null),
                services => TelemetryLog.LoginClassified(services.GetRequiredService<ILoggerFactory>().CreateLogger("Telemetry"), "ann", Email, Password));
        }

        var login = Single(events, "Login as {User}");
        Assert.Multiple(() =>
        {
            Assert.That(LogFileEvents.Prop(login, "User"), Is.EqualTo("ann"));
            // Without it, a plain provider is given only the unclassified parameters: the others are left out.
            Assert.That(LogFileEvents.Prop(login, "email"), Is.EqualTo(enableRedaction == "none" ? null : MarkingRedactor.Mark(Email)));
            Assert.That(LogFileEvents.Prop(login, "password"), Is.EqualTo(enableRedaction == "none" ? null : "[REDACTED]"));
            Assert.That(selfLog, Is.Empty);
        });
    }
}

static class Taxonomy
{
    public static DataClassification Private => new("Test", "Private");
}

sealed class PrivateDataAttribute() : DataClassificationAttribute(Taxonomy.Private);

/// <summary>
/// Writes <c>&lt;private:c&gt;</c>, c the value's first character: recognisably this redactor's output, and different for
/// the two values logged (a fixed text would make the email a copy of the masked password, which ours masks too).
/// </summary>
sealed class MarkingRedactor : Redactor
{
    public static string Mark(ReadOnlySpan<char> value) => value.IsEmpty ? "<private>" : $"<private:{value[0]}>";

    public override int GetRedactedLength(ReadOnlySpan<char> input) => Mark(input).Length;

    public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
    {
        var mark = Mark(source);
        mark.AsSpan().CopyTo(destination);
        return mark.Length;
    }
}

public sealed class LoginRequest
{
    public string User { get; set; } = "";
    public string Password { get; set; } = "";
    public string ApiKey { get; set; } = "";
    public string ConnStr { get; set; } = "";
    public string Iban { get; set; } = "";
    public int PasswordPolicyVersion { get; set; }
}

static partial class TelemetryLog
{
    public const string LoginWithTemplate = "Login for {User} with {password} {apiKey} {token}";
    public const string LoginObjectTemplate = "Login {@login}";

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = LoginWithTemplate)]
    public static partial void LoginWith(MelLogger logger, string user, string password, string apiKey, string token);

#pragma warning disable LOGGEN036 // An object for Serilog to capture ({@login}), not text: what a user who ignores the warning gets.
    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = LoginObjectTemplate)]
    public static partial void LoginObject(MelLogger logger, LoginRequest login);
#pragma warning restore LOGGEN036

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Login attempt")]
    public static partial void LoginProperties(MelLogger logger, [LogProperties] LoginRequest request);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "Login as {User}")]
    public static partial void LoginClassified(MelLogger logger, string user, [PrivateData] string email, [PrivateData] string password);
}
