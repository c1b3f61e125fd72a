using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using MelLogger = Microsoft.Extensions.Logging.ILogger;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// One secret, planted on every route a request offers, must not reach the RollingJson file of a host set up as the
/// README shows (<c>AddObservability()</c> with a plain <c>"WriteTo"</c> entry, <c>UseCorrelation()</c>,
/// <c>UseSerilogRequestLogging()</c>), nor SelfLog, nor the response's correlation header.
/// </summary>
[NonParallelizable] // SelfLog and Log.Logger are process-wide.
public class SecretCanaryTests
{
    const string Canary = "Canary-7f3a9c";

    static readonly Action<MelLogger, string, Exception?> LoginWith =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(7, "Login"), "Login with {Password}");

    public static IEnumerable<TestCaseData> Routes()
    {
        TestCaseData Case(string name, string written, string target, RequestDelegate handler, string? correlationId = null,
            Action<Serilog.AspNetCore.RequestLoggingOptions>? requestLogging = null, bool exceptionHandler = false, string? aspNetCoreLevel = null) =>
            new TestCaseData(written, target, handler, correlationId, requestLogging, exceptionHandler, aspNetCoreLevel).SetArgDisplayNames(name);

        static MelLogger Logger(HttpContext context) => context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Canary");
        static IDiagnosticContext Diagnostics(HttpContext context) => context.RequestServices.GetRequiredService<IDiagnosticContext>();

        yield return Case("query without IncludeQueryInRequestPath", "\"RequestPath\":\"/q\"", "/q?password=" + Canary, _ => Task.CompletedTask);
        yield return Case("query with IncludeQueryInRequestPath", "access_token=[REDACTED]", "/q?access_token=" + Canary + "&x=1", _ => Task.CompletedTask, requestLogging: o => o.IncludeQueryInRequestPath = true);
        yield return Case("query in ASP.NET Core's own request events", "Request starting", "/q?password=" + Canary + "&access_token=" + Canary, _ => Task.CompletedTask,
            aspNetCoreLevel: "Information");
        yield return Case("response header allow-list", "\"Location\":", "/r", context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = "https://app.example/callback#access_token=" + Canary + "&token_type=bearer";
            context.Response.Headers.SetCookie = "session=" + Canary + "; HttpOnly";
            return Task.CompletedTask;
        });
        yield return Case("hostile correlation id", "CorrelationId", "/c", _ => Task.CompletedTask, correlationId: "password=" + Canary);
        yield return Case("oversized correlation id", "CorrelationId", "/c", _ => Task.CompletedTask, correlationId: Canary + new string('a', 200));
        yield return Case("correlation id with a space", "CorrelationId", "/c", _ => Task.CompletedTask, correlationId: "token " + Canary);
        yield return Case("unhandled exception", "\"@x\":\"System.InvalidOperationException", "/x", _ => throw new InvalidOperationException("login failed: password=" + Canary));
        yield return Case("unhandled inner exception", "System.IO.IOException", "/x", _ => throw new InvalidOperationException("outer", new IOException("Server=db;Password=" + Canary)));
        yield return Case("exception handler's own event", "An unhandled exception has occurred", "/x", _ => throw new InvalidOperationException("login failed: password=" + Canary), exceptionHandler: true);
        yield return Case("path when EnrichDiagnosticContext throws", "/reset;password=[REDACTED]", "/reset;password=" + Canary, _ => Task.CompletedTask,
            requestLogging: o => o.EnrichDiagnosticContext = (_, _) => throw new InvalidOperationException("enrichment failed"));
        yield return Case("path when GetLevel throws", "/reset;password=[REDACTED]", "/reset;password=" + Canary, _ => Task.CompletedTask,
            requestLogging: o => o.GetLevel = (_, _, _) => throw new InvalidOperationException("level failed"));
        yield return Case("IDiagnosticContext.Set", "\"Password\":\"[REDACTED]\"", "/d", context =>
        {
            Diagnostics(context).Set("Password", Canary);
            Diagnostics(context).Set("Login", new { User = "ann", Password = Canary }, destructureObjects: true);
            return Task.CompletedTask;
        });
        yield return Case("IDiagnosticContext.SetException", "\"@x\":\"System.InvalidOperationException", "/d", context =>
        {
            Diagnostics(context).SetException(new InvalidOperationException("password=" + Canary));
            return Task.CompletedTask;
        });
        yield return Case("ILogger structured state", "Login with {Password}", "/l", context =>
        {
            Logger(context).LogWarning("Login with {Password}", Canary);
            return Task.CompletedTask;
        });
        yield return Case("ILogger exception", "\"@x\":\"System.InvalidOperationException", "/l", context =>
        {
            Logger(context).LogError(new InvalidOperationException("password=" + Canary), "Failed");
            return Task.CompletedTask;
        });
        yield return Case("LoggerMessage.Define", "Login with {Password}", "/l", context =>
        {
            LoginWith(Logger(context), Canary, null);
            return Task.CompletedTask;
        });
        // Generated by Microsoft.Extensions.Telemetry.Abstractions' generator, which this project references (see its csproj).
        yield return Case("source-generated LoggerMessage", "Login with {Password}", "/l", context =>
        {
            Generated.LoginWith(Logger(context), Canary);
            return Task.CompletedTask;
        });
        yield return Case("text scope", "Connecting with password=[REDACTED]", "/s", context =>
        {
            using (Logger(context).BeginScope("Connecting with password=" + Canary)) Logger(context).LogWarning("Inside");
            return Task.CompletedTask;
        });
        yield return Case("template scope", "\"Pw\":\"[REDACTED]\"", "/s", context =>
        {
            using (Logger(context).BeginScope("password={Pw}", Canary)) Logger(context).LogWarning("Inside");
            return Task.CompletedTask;
        });
        yield return Case("dictionary scope", "\"Password\":\"[REDACTED]\"", "/s", context =>
        {
            using (Logger(context).BeginScope(new Dictionary<string, object> { ["Password"] = Canary })) Logger(context).LogWarning("Inside");
            return Task.CompletedTask;
        });
        yield return Case("key-value list scope", "\"access_token\":\"[REDACTED]\"", "/s", context =>
        {
            using (Logger(context).BeginScope(new List<KeyValuePair<string, object>> { new("access_token", Canary) })) Logger(context).LogWarning("Inside");
            return Task.CompletedTask;
        });
        // Serilog.Extensions.Logging 8 writes a (string, object) scope as a "Scope" item, ["api_key", value]; 9 and 10
        // (the Serilog 4 line) make it an "api_key" property. Masked either way.
        // The package's version, not the assembly's (Serilog.Extensions.Logging 8.0.0 is assembly version 7.0.0.0).
        var package = typeof(Serilog.Extensions.Logging.SerilogLoggerProvider).Assembly.GetCustomAttribute<AssemblyFileVersionAttribute>()!.Version;
        var tupleScope = Version.Parse(package).Major switch
        {
            8 => "\"Scope\":[[\"api_key\",\"[REDACTED]\"]]",
            9 or 10 => "\"api_key\":\"[REDACTED]\"",
            _ => throw new InvalidOperationException($"No expected output for Serilog.Extensions.Logging {package}."),
        };
        yield return Case("tuple scope", tupleScope, "/s", context =>
        {
            using (Logger(context).BeginScope(("api_key", Canary))) Logger(context).LogWarning("Inside");
            return Task.CompletedTask;
        });
    }

    // The host's late logger (events after it is disposed) becomes Log.Logger; the next test must not inherit it.
    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    [Test]
    public async Task TheCanaryLoggedAfterTheHostIsDisposedReachesNoOutput()
    {
        // Program.cs's catch around app.Run(), a worker past the shutdown timeout: the late logger, from the same configuration.
        using var logs = TempFolder.ForCaller();
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Serilog:WriteTo:0:Name"] = "RollingJson",
                ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
            });
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
            var app = builder.Build();
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Canary");
            await app.StartAsync();
            await app.StopAsync();
            await app.DisposeAsync();

            Log.Fatal(new InvalidOperationException("Host terminated: Server=db;Password=" + Canary), "Host terminated {Password}", Canary);
            logger.LogError(new InvalidOperationException("password=" + Canary), "Late {Password}", Canary);
            Log.CloseAndFlush();
        }

        var file = string.Concat(Directory.GetFiles(logs.Path).Select(File.ReadAllText));
        Assert.Multiple(() =>
        {
            Assert.That(file, Does.Contain("Host terminated {Password}").And.Contain("Late {Password}"), "the late events reached the file");
            Assert.That(file, Does.Not.Contain(Canary), "RollingJson file");
            Assert.That(string.Join("\n", selfLog), Does.Not.Contain(Canary), "SelfLog");
        });
    }

    [TestCaseSource(nameof(Routes))]
    public async Task TheCanaryReachesNoOutput(string written, string target, RequestDelegate handler, string? correlationId,
        Action<Serilog.AspNetCore.RequestLoggingOptions>? requestLogging, bool exceptionHandler, string? aspNetCoreLevel)
    {
        using var logs = TempFolder.ForCaller();
        var selfLog = new List<string>();
        string response;
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            // Production whatever the machine's ASPNETCORE_ENVIRONMENT: the developer exception page would echo the
            // request's headers, canary included, in the answer to an unhandled exception.
            var builder = TestWeb.ProductionBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            var settings = new Dictionary<string, string?>
            {
                ["Serilog:WriteTo:0:Name"] = "RollingJson",
                ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs.Path, "app-.json"),
                ["Serilog:RequestLogging:RequestHeaders:0"] = "Authorization",
                ["Serilog:RequestLogging:RequestHeaders:1"] = "X-Api-Key",
                ["Serilog:RequestLogging:RequestHeaders:2"] = "Referer",
                ["Serilog:RequestLogging:ResponseHeaders:0"] = "Location",
                ["Serilog:RequestLogging:ResponseHeaders:1"] = "Set-Cookie",
            };
            if (aspNetCoreLevel is not null) settings["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = aspNetCoreLevel;
            builder.Configuration.AddInMemoryCollection(settings);
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
            await using (var app = builder.Build())
            {
                if (exceptionHandler) app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = context => Task.CompletedTask });
                app.UseCorrelation();
                app.UseSerilogRequestLogging(options => requestLogging?.Invoke(options));
                app.Run(handler);
                await app.StartAsync();
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
                using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(address) };
                using var request = new HttpRequestMessage(HttpMethod.Get, target);
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Canary);
                request.Headers.TryAddWithoutValidation("X-Api-Key", Canary);
                request.Headers.TryAddWithoutValidation("Referer", "https://app.example/callback?state=1&access_token=" + Canary);
                if (correlationId is not null) request.Headers.TryAddWithoutValidation("X-Correlation-ID", correlationId);
                using var answer = await client.SendAsync(request);
                // What the package answers with: the correlation header and, for an unhandled exception, the body.
                response = string.Join(",", answer.Headers.TryGetValues("X-Correlation-ID", out var ids) ? ids : []) + "\n"
                    + await answer.Content.ReadAsStringAsync();
                await app.StopAsync();
            }
        }

        var file = string.Concat(Directory.GetFiles(logs.Path).Select(File.ReadAllText));
        Assert.Multiple(() =>
        {
            Assert.That(file, Does.Contain("RequestPath"), "the request completion event was written");
            Assert.That(file, Does.Contain(written), "the route reached the file");
            Assert.That(file, Does.Not.Contain(Canary), "RollingJson file");
            Assert.That(response, Does.Not.Contain(Canary), "the response's correlation header and body");
            Assert.That(string.Join("\n", selfLog), Does.Not.Contain(Canary), "SelfLog");
        });
    }
}

static partial class Generated
{
    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Login with {Password}")]
    public static partial void LoginWith(Microsoft.Extensions.Logging.ILogger logger, string password);
}
