using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// Entity Framework Core 10 on SQLite (a database file in a temporary folder) in an API set up as the READMEs show:
/// <c>AddObservability()</c> writing CLEF to a RollingJson file, <c>UseCorrelation()</c>, <c>UseSerilogRequestLogging()</c>,
/// on real Kestrel. EF Core logs through the host's <c>ILoggerFactory</c>, so its command events pass the same
/// enrichment and redaction as the application's own; asserted on the file's lines.
/// </summary>
[NonParallelizable] // Log.Logger is process-wide.
public class EntityFrameworkCoreTests
{
    const string PasswordHash = "Hash-5e1f0c9d";
    const string ApiKey = "Key-8b2d7a41";
    const string Password = "Pw-3c9e6f27";
    const string ConnectionPassword = "Conn-6a0d4e18";

    const string Executed = "Microsoft.EntityFrameworkCore.Database.Command.CommandExecuted";
    const string Failed = "Microsoft.EntityFrameworkCore.Database.Command.CommandError";

    // The host's late logger (events after it is disposed) becomes Log.Logger; the next test must not inherit it.
    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    public sealed class User
    {
        public int Id { get; set; }
        public string Name { get; set; } = "";
        public string PasswordHash { get; set; } = "";
        public string ApiKey { get; set; } = "";
        public string Password { get; set; } = "";
    }

    public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
    {
        public DbSet<User> Users => Set<User>();

        protected override void OnModelCreating(ModelBuilder model) => model.Entity<User>().HasIndex(u => u.Name).IsUnique();
    }

    sealed record Events(List<JsonElement> All, string File)
    {
        public List<JsonElement> Named(string eventName) =>
            All.Where(e => e.TryGetProperty("EventId", out var id) && id.TryGetProperty("Name", out var name) && name.GetString() == eventName).ToList();
    }

    sealed class App(WebApplication web, TempFolder folder) : IAsyncDisposable
    {
        bool _stopped;

        public HttpClient Client { get; } = new()
        {
            BaseAddress = new Uri(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()),
        };

        /// <summary>Stops the host, which flushes and closes the file; its events.</summary>
        public async Task<Events> StopAndReadAsync()
        {
            await StopAsync();
            var logs = Path.Combine(folder.Path, "logs");
            return new Events(LogFileEvents.Read(logs), string.Concat(Directory.GetFiles(logs).Select(File.ReadAllText)));
        }

        async Task StopAsync()
        {
            if (_stopped) return;
            _stopped = true;
            Client.Dispose();
            await web.StopAsync();
            await web.DisposeAsync();
            // Microsoft.Data.Sqlite keeps connections to the file open in its pool.
            SqliteConnection.ClearAllPools();
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await StopAsync();
            }
            finally
            {
                folder.Dispose();
            }
        }
    }

    /// <summary>
    /// Holds every request of a wave inside its handler until all have arrived, so that they run at once; each wave of
    /// <paramref name="count"/> requests waits for its own.
    /// </summary>
    sealed class Gate(int count)
    {
        readonly object _sync = new();
        int _arrived;
        TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task PassAsync()
        {
            TaskCompletionSource wave;
            lock (_sync)
            {
                wave = _open;
                if (++_arrived % count == 0)
                {
                    wave.TrySetResult();
                    _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
            return wave.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    static async Task<App> StartAsync(bool sensitiveDataLogging, bool pool = false, Dictionary<string, string?>? settings = null,
        string? connectionPassword = null, Gate? gate = null, [CallerMemberName] string caller = "")
    {
        var folder = TempFolder.ForCaller(caller);
        try
        {
            Directory.CreateDirectory(Path.Combine(folder.Path, "logs"));
            var builder = TestWeb.ProductionBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            var configuration = new Dictionary<string, string?>
            {
                ["Serilog:WriteTo:0:Name"] = "RollingJson",
                ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "logs", "app-.json"),
            };
            foreach (var (key, value) in settings ?? []) configuration[key] = value;
            builder.Configuration.AddInMemoryCollection(configuration);
            builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));

            var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(folder.Path, "shop.db") };
            if (connectionPassword is not null) connectionString.Password = connectionPassword;
            void Options(DbContextOptionsBuilder options)
            {
                options.UseSqlite(connectionString.ToString());
                if (sensitiveDataLogging) options.EnableSensitiveDataLogging();
            }
            if (pool) builder.Services.AddDbContextPool<ShopContext>(Options, poolSize: 2);
            else builder.Services.AddDbContext<ShopContext>(Options);

            var app = builder.Build();
            app.UseCorrelation();
            app.UseSerilogRequestLogging();
            app.MapPost("/users/{name}", async (string name, ShopContext db) =>
            {
                db.Users.Add(new User { Name = name, PasswordHash = PasswordHash, ApiKey = ApiKey, Password = Password });
                try
                {
                    await db.SaveChangesAsync();
                }
                catch (DbUpdateException)
                {
                    return Results.Conflict(EndpointAnswer.Current());
                }
                return Results.Ok(EndpointAnswer.Current());
            });
            app.MapGet("/login/{name}", async (string name, ShopContext db) =>
            {
                var password = Password;
                await db.Users.AnyAsync(u => u.Name == name && u.Password == password);
                return Results.Ok(EndpointAnswer.Current());
            });
            app.MapGet("/orders/{tag}", async (string tag, ShopContext db) =>
            {
                if (gate is not null) await gate.PassAsync();
                await db.Users.TagWith(tag).CountAsync();
                return Results.Ok(EndpointAnswer.Current());
            });
            app.MapGet("/health/db", async (ShopContext db, ILogger<EntityFrameworkCoreTests> logger) =>
            {
                try
                {
                    await db.Database.OpenConnectionAsync();
                    return Results.Ok();
                }
                catch (InvalidOperationException)
                {
                    // What a health endpoint tends to write: the connection string it could not open.
                    logger.LogWarning("Database {Database} is unavailable", db.Database.GetConnectionString());
                    return Results.StatusCode(503);
                }
            });

            if (connectionPassword is null)
            {
                using var scope = app.Services.CreateScope();
                await scope.ServiceProvider.GetRequiredService<ShopContext>().Database.EnsureCreatedAsync();
            }
            await app.StartAsync();
            return new App(app, folder);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    static async Task<EndpointAnswer> SendAsync(App app, HttpMethod method, string path, string? correlationId = null,
        HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(method, path);
        if (correlationId is not null) request.Headers.Add("X-Correlation-ID", correlationId);
        using var response = await app.Client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(expected), path);
        return (await response.Content.ReadFromJsonAsync<EndpointAnswer>())!;
    }

    [Test]
    public async Task WithSensitiveDataLoggingTheSecretColumnsOfAnInsertAndAQueryNeverReachTheFile()
    {
        Events events;
        await using (var app = await StartAsync(sensitiveDataLogging: true))
        {
            await SendAsync(app, HttpMethod.Post, "/users/ann");
            await SendAsync(app, HttpMethod.Get, "/login/ann");
            events = await app.StopAndReadAsync();
        }

        var insert = events.Named(Executed).Single(e => Prop(e, "commandText")!.StartsWith("INSERT", StringComparison.Ordinal));
        var query = events.Named(Executed).Single(e => Prop(e, "commandText")!.Contains("EXISTS", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(events.File, Does.Not.Contain(PasswordHash).And.Not.Contain(ApiKey).And.Not.Contain(Password));
            // The values of the columns that are not sensitive stay readable.
            Assert.That(Prop(insert, "parameters"), Is.EqualTo(
                "@p0=[REDACTED], @p1='ann' (Nullable = false) (Size = 3), @p2=[REDACTED], @p3=[REDACTED]"));
            Assert.That(Prop(insert, "commandText"), Does.Contain("(\"ApiKey\", \"Name\", \"Password\", \"PasswordHash\")"));
            // EF Core 10 names a captured variable after it: "@password".
            Assert.That(Prop(query, "parameters"), Is.EqualTo("@name='ann' (Size = 3), @password=[REDACTED]"));
        });
    }

    [Test]
    public async Task WithSensitiveDataLoggingAFailedInsertsErrorEventsKeepTheSecretsOutToo()
    {
        // The command's error event is written at Error: it reaches the file even where commands are kept at Warning.
        Events events;
        await using (var app = await StartAsync(sensitiveDataLogging: true,
                         settings: new() { ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore"] = "Warning" }))
        {
            await SendAsync(app, HttpMethod.Post, "/users/ann", "request-1");
            await SendAsync(app, HttpMethod.Post, "/users/ann", "request-2", HttpStatusCode.Conflict);
            events = await app.StopAndReadAsync();
        }

        var failed = events.Named(Failed).Single();
        var saveFailed = events.Named("Microsoft.EntityFrameworkCore.Update.SaveChangesFailed").Single();
        Assert.Multiple(() =>
        {
            Assert.That(events.File, Does.Not.Contain(PasswordHash).And.Not.Contain(ApiKey).And.Not.Contain(Password));
            Assert.That(events.Named(Executed), Is.Empty, "Microsoft.EntityFrameworkCore at Warning");
            Assert.That(Prop(failed, "@l"), Is.EqualTo("Error"));
            Assert.That(Prop(failed, "parameters"), Does.Contain("@p1='ann'").And.Contain("@p0=[REDACTED]"));
            Assert.That(Prop(failed, "CorrelationId"), Is.EqualTo("request-2"));
            Assert.That(Prop(saveFailed, "@x"), Does.Contain("UNIQUE constraint failed: Users.Name"));
            Assert.That(Prop(saveFailed, "CorrelationId"), Is.EqualTo("request-2"));
        });
    }

    [Test]
    public async Task WithoutSensitiveDataLoggingEfCoreWritesNoParameterValues()
    {
        Events events;
        await using (var app = await StartAsync(sensitiveDataLogging: false))
        {
            await SendAsync(app, HttpMethod.Post, "/users/ann");
            await SendAsync(app, HttpMethod.Get, "/login/ann");
            events = await app.StopAndReadAsync();
        }

        var parameters = events.Named(Executed).Select(e => Prop(e, "parameters")).Where(p => p is { Length: > 0 }).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events.File, Does.Not.Contain(PasswordHash).And.Not.Contain(ApiKey).And.Not.Contain(Password));
            Assert.That(parameters, Is.EqualTo(new[]
            {
                "@p0='?' (Size = 12), @p1='?' (Size = 3), @p2='?' (Size = 11), @p3='?' (Size = 13)",
                // A parameter named after a secret is masked whatever it holds, EF Core's "'?'" too.
                "@name='?' (Size = 3), @password=[REDACTED]",
            }));
        });
    }

    [Test]
    public async Task AConnectionStringsPasswordIsMaskedInTheApplicationsEventAndAbsentFromEfCoresError()
    {
        // The bundled SQLite has no encryption: opening with a password fails, and EF Core logs the connection error.
        Events events;
        await using (var app = await StartAsync(sensitiveDataLogging: true, connectionPassword: ConnectionPassword))
        {
            using var response = await app.Client.GetAsync("/health/db");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            events = await app.StopAndReadAsync();
        }

        var warning = events.All.Single(e => Prop(e, "@mt") == "Database {Database} is unavailable");
        Assert.Multiple(() =>
        {
            Assert.That(events.File, Does.Not.Contain(ConnectionPassword));
            Assert.That(Prop(warning, "Database"), Does.EndWith(";Password=[REDACTED]"));
            Assert.That(events.Named("Microsoft.EntityFrameworkCore.Database.Connection.ConnectionError"), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task UnderConcurrencyWithAPooledContextEachCommandCarriesItsOwnRequestsIds()
    {
        // Two waves of six requests held at a gate until all six are inside: a pool of two contexts serves them, so
        // contexts go from one request to another.
        const int Wave = 6;
        var gate = new Gate(Wave);
        var answers = new Dictionary<string, EndpointAnswer>();
        Events events;
        await using (var app = await StartAsync(sensitiveDataLogging: false, pool: true, gate: gate))
        {
            for (var wave = 0; wave < 2; wave++)
            {
                var tags = Enumerable.Range(wave * Wave, Wave).Select(i => "tag-" + i).ToList();
                var sent = await Task.WhenAll(tags.Select(tag => SendAsync(app, HttpMethod.Get, "/orders/" + tag, "request-" + tag)));
                for (var i = 0; i < Wave; i++) answers[tags[i]] = sent[i];
            }
            events = await app.StopAndReadAsync();
        }

        var commands = events.Named(Executed).Where(e => Prop(e, "commandText")!.StartsWith("-- tag-", StringComparison.Ordinal)).ToList();
        Assert.That(commands, Has.Count.EqualTo(2 * Wave));
        Assert.Multiple(() =>
        {
            foreach (var command in commands)
            {
                var tag = Prop(command, "commandText")!.Split('\n')[0]["-- ".Length..];
                Assert.That(Prop(command, "CorrelationId"), Is.EqualTo("request-" + tag), tag);
                Assert.That(Prop(command, "TraceId"), Is.EqualTo(answers[tag].TraceId).And.Not.Null, tag);
                Assert.That(Prop(command, "RequestPath"), Is.EqualTo("/orders/" + tag), tag);
            }
        });
    }

    [TestCase(null, true, TestName = "{m}(no override: EF Core's commands at Information)")]
    [TestCase("Microsoft.EntityFrameworkCore", false)]
    [TestCase("Microsoft.EntityFrameworkCore.Database.Command", false)]
    [TestCase("Microsoft.EntityFrameworkCore.Update", true)]
    public async Task TheSerilogSectionsOverridesDecideWhichEfCoreEventsAreWritten(string? warningSource, bool commandsWritten)
    {
        var settings = new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information" };
        if (warningSource is not null) settings["Serilog:MinimumLevel:Override:" + warningSource] = "Warning";
        Events events;
        await using (var app = await StartAsync(sensitiveDataLogging: true, settings: settings))
        {
            await SendAsync(app, HttpMethod.Post, "/users/ann");
            events = await app.StopAndReadAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(events.Named(Executed), commandsWritten ? Is.Not.Empty : Is.Empty);
            // Debug events (connection opened, SaveChanges started) are below every level set here.
            Assert.That(events.All.Where(e => Prop(e, "@l") == "Debug"), Is.Empty);
        });
    }
}
