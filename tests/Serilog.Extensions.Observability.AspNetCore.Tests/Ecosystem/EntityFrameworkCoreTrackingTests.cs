using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ValueGeneration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// Entity Framework Core 10 on SQLite, logging at <c>Verbose</c> through <c>AddObservability()</c> to a RollingJson file, with
/// <c>EnableSensitiveDataLogging()</c>: beside the commands (see <see cref="EntityFrameworkCoreTests"/>), its change tracking
/// and value generation events write an entity property's values under its name (<c>'Account.Password' was detected as
/// changed from '...' to '...'</c>) and an entity's key values (<c>{Token: ...}</c>), which an exception's message quotes too.
/// Asserted on the file's lines.
/// </summary>
[NonParallelizable] // Log.Logger is process-wide.
public class EntityFrameworkCoreTrackingTests
{
    const string OldPassword = "Pw-7d1a5c30";
    const string NewPassword = "Pw-9e4b2f81";
    const string ApiKey = "Key-2c8f6a13";
    const string Token = "Tok-5b7e0d92";
    const string TokenValue = "Val-4f0a8c27";
    const string Mask = "[REDACTED]";

    // The host's late logger (events after it is disposed) becomes Log.Logger; the next test must not inherit it.
    [TearDown]
    public void CloseLateLogger() => Log.CloseAndFlush();

    public sealed class Account
    {
        public int Id { get; set; }
        public string Name { get; set; } = "";
        public string Password { get; set; } = "";
        public string ApiKey { get; set; } = "";
        public Guid ResetToken { get; set; }
        public List<Session> Sessions { get; set; } = [];
    }

    public sealed class Session
    {
        public string Token { get; set; } = "";
        public int AccountId { get; set; }
        public Account? Account { get; set; }
    }

    /// <summary>An entity whose type's name is sensitive, keyed by the secret under a name that says nothing.</summary>
    public sealed class ApiToken
    {
        public string Value { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public sealed class AuthContext(DbContextOptions<AuthContext> options) : DbContext(options)
    {
        public DbSet<Account> Accounts => Set<Account>();
        public DbSet<Session> Sessions => Set<Session>();
        public DbSet<ApiToken> ApiTokens => Set<ApiToken>();

        protected override void OnModelCreating(ModelBuilder model)
        {
            model.Entity<Session>().HasKey(s => s.Token);
            model.Entity<ApiToken>().HasKey(t => t.Value);
            model.Entity<Account>().Property(a => a.ResetToken).HasValueGenerator<GuidValueGenerator>();
        }
    }

    sealed record Events(List<JsonElement> All, string File)
    {
        public JsonElement Single(string eventName, Func<JsonElement, bool>? where = null) =>
            All.Single(e => Prop(e, "EventId") is { } id && id.Contains($"\"{eventName}\"", StringComparison.Ordinal) && (where is null || where(e)));
    }

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    /// <summary>
    /// Runs <paramref name="work"/> with a host set up as the README shows, EF Core's sensitive data logging on, every
    /// level written; its events once the host has stopped.
    /// </summary>
    static async Task<Events> RunAsync(Func<IServiceProvider, Task> work, [CallerMemberName] string caller = "")
    {
        using var folder = TempFolder.ForCaller(caller);
        var logs = Path.Combine(folder.Path, "logs");
        Directory.CreateDirectory(logs);
        var builder = TestWeb.ProductionBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Verbose",
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(logs, "app-.json"),
        });
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var database = new SqliteConnectionStringBuilder { DataSource = Path.Combine(folder.Path, "auth.db") }.ToString();
        builder.Services.AddDbContext<AuthContext>(o => o.UseSqlite(database).EnableSensitiveDataLogging());
        try
        {
            // Not started: no server is needed, and disposing the host flushes and closes the file.
            await using (var app = builder.Build())
            {
                using (var scope = app.Services.CreateScope())
                    await scope.ServiceProvider.GetRequiredService<AuthContext>().Database.EnsureCreatedAsync();
                await work(app.Services);
            }
            return new Events(LogFileEvents.Read(logs), string.Concat(Directory.GetFiles(logs).Select(File.ReadAllText)));
        }
        finally
        {
            // Microsoft.Data.Sqlite keeps connections to the file open in its pool.
            SqliteConnection.ClearAllPools();
        }
    }

    static async Task InScopeAsync(IServiceProvider services, Func<AuthContext, IServiceProvider, Task> work)
    {
        using var scope = services.CreateScope();
        await work(scope.ServiceProvider.GetRequiredService<AuthContext>(), scope.ServiceProvider);
    }

    /// <summary>Adds an account with a session; the reset token EF Core generated for it.</summary>
    static async Task<Guid> AddAnnAsync(IServiceProvider services)
    {
        var account = new Account { Name = "ann", Password = OldPassword, ApiKey = ApiKey, Sessions = [new Session { Token = Token }] };
        await InScopeAsync(services, async (db, _) =>
        {
            db.Accounts.Add(account);
            await db.SaveChangesAsync();
        });
        return account.ResetToken;
    }

    [Test]
    public async Task ChangeTrackingWritesNeitherTheOldNorTheNewPasswordButKeepsTheOtherValuesReadable()
    {
        var events = await RunAsync(async services =>
        {
            await AddAnnAsync(services);
            await InScopeAsync(services, async (db, _) =>
            {
                var account = await db.Accounts.SingleAsync();
                account.Password = NewPassword;
                account.Name = "anna";
                await db.SaveChangesAsync();
            });
        });

        const string Detected = "Microsoft.EntityFrameworkCore.ChangeTracking.PropertyChangeDetected";
        var password = events.Single(Detected, e => Prop(e, "property") == "Password");
        var name = events.Single(Detected, e => Prop(e, "property") == "Name");
        Assert.Multiple(() =>
        {
            Assert.That(events.File, Does.Not.Contain(OldPassword).And.Not.Contain(NewPassword).And.Not.Contain(ApiKey));
            Assert.That(Prop(password, "@l"), Is.EqualTo("Debug"));
            Assert.That(Prop(password, "entityType"), Is.EqualTo("Account"));
            Assert.That(Prop(password, "oldValue"), Is.EqualTo(Mask));
            Assert.That(Prop(password, "newValue"), Is.EqualTo(Mask));
            Assert.That(Prop(password, "keyValues"), Is.EqualTo("{Id: 1}"));
            Assert.That(Prop(name, "oldValue"), Is.EqualTo("ann"));
            Assert.That(Prop(name, "newValue"), Is.EqualTo("anna"));
        });
    }

    [Test]
    public async Task AGeneratedValueOfASensitivePropertyIsMasked()
    {
        var resetToken = Guid.Empty;
        var events = await RunAsync(async services => resetToken = await AddAnnAsync(services));

        var generated = events.Single("Microsoft.EntityFrameworkCore.ChangeTracking.ValueGenerated", e => Prop(e, "property") == "ResetToken");
        Assert.Multiple(() =>
        {
            Assert.That(resetToken, Is.Not.EqualTo(Guid.Empty));
            Assert.That(Prop(generated, "keyValue"), Is.EqualTo(Mask));
            Assert.That(Prop(generated, "entityType"), Is.EqualTo("Account"));
            Assert.That(events.File, Does.Not.Contain(resetToken.ToString()));
        });
    }

    [Test]
    public async Task ASensitiveKeyIsMaskedInEveryTrackingEventAndInTheIdentityConflictsMessage()
    {
        var events = await RunAsync(async services =>
        {
            await AddAnnAsync(services);
            await InScopeAsync(services, async (db, provider) =>
            {
                await db.Sessions.SingleAsync();
                try
                {
                    db.Sessions.Attach(new Session { Token = Token, AccountId = 1 });
                }
                catch (InvalidOperationException e)
                {
                    provider.GetRequiredService<ILogger<EntityFrameworkCoreTrackingTests>>().LogError(e, "Could not sign in");
                }
            });
            await InScopeAsync(services, async (db, _) =>
            {
                db.Accounts.Remove(await db.Accounts.Include(a => a.Sessions).SingleAsync());
                await db.SaveChangesAsync();
            });
        });

        var keyed = events.All.Where(e => Prop(e, "keyValues") is { } key && key.StartsWith("{Token: ", StringComparison.Ordinal)).ToList();
        var conflict = events.All.Single(e => Prop(e, "@mt") == "Could not sign in");
        var cascade = events.Single("Microsoft.EntityFrameworkCore.Update.CascadeDelete");
        Assert.Multiple(() =>
        {
            Assert.That(events.File, Does.Not.Contain(Token));
            // Started tracking, state changed, navigation and foreign key detected as changed, cascade delete.
            Assert.That(keyed.Select(e => Prop(e, "EventId")).Distinct().Count(), Is.GreaterThanOrEqualTo(4));
            Assert.That(keyed.Select(e => Prop(e, "keyValues")).Distinct(), Is.EqualTo(new[] { $"{{Token: {Mask}}}" }));
            Assert.That(Prop(cascade, "parentKeyValues"), Is.EqualTo("{Id: 1}"));
            Assert.That(Prop(conflict, "@x"), Does.Contain($"another instance with the key value '{{Token: {Mask}}}' is already being tracked"));
        });
    }

    [Test]
    public async Task TheKeyOfAnEntityTypeWithASensitiveNameIsMaskedWhateverItsPropertysName()
    {
        var events = await RunAsync(async services =>
        {
            await InScopeAsync(services, async (db, _) =>
            {
                db.ApiTokens.Add(new ApiToken { Value = TokenValue, Label = "ci" });
                await db.SaveChangesAsync();
            });
            await InScopeAsync(services, async (db, provider) =>
            {
                var token = await db.ApiTokens.SingleAsync();
                token.Label = "deploy";
                await db.SaveChangesAsync();
                try
                {
                    db.ApiTokens.Attach(new ApiToken { Value = TokenValue });
                }
                catch (InvalidOperationException e)
                {
                    provider.GetRequiredService<ILogger<EntityFrameworkCoreTrackingTests>>().LogError(e, "Could not attach");
                }
            });
        });

        var keyed = events.All.Where(e => Prop(e, "entityType") == "ApiToken" && Prop(e, "keyValues") is not null).ToList();
        var label = events.Single("Microsoft.EntityFrameworkCore.ChangeTracking.PropertyChangeDetected", e => Prop(e, "property") == "Label");
        var conflict = events.All.Single(e => Prop(e, "@mt") == "Could not attach");
        Assert.Multiple(() =>
        {
            Assert.That(events.File, Does.Not.Contain(TokenValue));
            // Started tracking, state changed, property detected as changed.
            Assert.That(keyed.Select(e => Prop(e, "EventId")).Distinct().Count(), Is.GreaterThanOrEqualTo(3));
            Assert.That(keyed.Select(e => Prop(e, "keyValues")).Distinct(), Is.EqualTo(new[] { $"{{Value: {Mask}}}" }));
            // A property of the type is masked as a whole, as before: the label is one of its values.
            Assert.That(Prop(label, "newValue"), Is.EqualTo(Mask));
            Assert.That(Prop(conflict, "@x"), Does.Contain($"another instance with the key value '{{Value: {Mask}}}' is already being tracked"));
        });
    }

    [Test]
    public async Task AValueComparedWithASecretAQueryRenamedThroughAnExpressionIsMasked()
    {
        // Distinct and Take before Where: EF Core keeps the projection in a subquery, whose column is lower("a"."ApiKey")
        // under the projection member's name, and compares the outer query's "K" with the captured variable.
        const string Probe = "key-2c8f6a13";
        var found = -1;
        var events = await RunAsync(async services =>
        {
            await AddAnnAsync(services);
            await InScopeAsync(services, async (db, _) =>
            {
                var probe = Probe;
                var name = "ann";
                found = await db.Accounts.Select(a => new { K = a.ApiKey.ToLower(), a.Name }).Distinct().Take(5)
                    .Where(x => x.K == probe && x.Name == name).CountAsync();
            });
        });

        var query = events.Single("Microsoft.EntityFrameworkCore.Database.Command.CommandExecuted",
            e => Prop(e, "commandText")!.Contains("lower(", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(found, Is.EqualTo(1));
            Assert.That(events.File, Does.Not.Contain(Probe).And.Not.Contain(ApiKey));
            Assert.That(Prop(query, "commandText"), Does.Contain("lower(\"a\".\"ApiKey\") AS \"K\"").And.Contain("WHERE \"a0\".\"K\" = @probe"));
            Assert.That(Prop(query, "parameters"), Does.Contain("@probe=[REDACTED]").And.Contain("@name='ann' (Size = 3)"));
        });
    }
}
