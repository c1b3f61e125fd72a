using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
// The application's Program (tests/Shared/Serilog.Extensions.Observability.TestWebApp): this assembly has one of its own.
using WebAppProgram = Program;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// An application's own Program.cs (<c>builder.AddObservability()</c> reading <c>"Serilog"</c> from appsettings.json,
/// RollingJson) under Microsoft.AspNetCore.Mvc.Testing's <c>WebApplicationFactory&lt;Program&gt;</c>, as its integration
/// tests run it: the file the test configures, several factories in one process, one after another, and services the
/// test replaces. Serilog.AspNetCore's users meet "The logger is already frozen", a Log.Logger one factory disposed
/// under another, files still locked and the factory's configuration ignored here.
/// </summary>
[NonParallelizable]
public class WebApplicationFactoryTests
{
    // The RollingJson entry of the application's appsettings.json ("WriteTo": [ Console, RollingJson ]).
    const string PathKey = "Serilog:WriteTo:1:Args:path";
    const string CompletionTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms";

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    /// <summary>The application, logging to <c>app-.json</c> in <paramref name="folder"/>, set as the README says.</summary>
    sealed class OrdersApp(string folder) : WebApplicationFactory<WebAppProgram>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder) =>
            builder.UseSetting(PathKey, Path.Combine(folder, "app-.json"));
    }

    static List<JsonElement> Read(string folder) => LogFileEvents.Read(folder);

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    static IEnumerable<string?> Completed(string folder) =>
        Read(folder).Where(e => Prop(e, "@mt") == CompletionTemplate).Select(e => Prop(e, "RequestPath"));

    static IEnumerable<string?> Loaded(string folder) =>
        Read(folder).Where(e => Prop(e, "@mt") == "Loaded order {OrderId}").Select(e => Prop(e, "OrderId"));

    static async Task GetOrderAsync(WebApplicationFactory<WebAppProgram> factory, int id)
    {
        using var client = factory.CreateClient();
        using var response = await client.GetAsync($"/orders/{id}");
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    /// <summary>
    /// Disposes the factory and waits for Program.cs to return: its <c>app.Run()</c>, on the application's own thread,
    /// disposes the host too, and the factory's Dispose can return while that thread still closes the logger.
    /// </summary>
    static async Task DisposeAsync(WebApplicationFactory<WebAppProgram> factory)
    {
        var services = factory.Services;
        factory.Dispose();
        await WebAppProgram.Ended(services);
    }

    /// <summary>
    /// Closes the late logger the last disposed host left as Log.Logger, on the same file: what is logged after that
    /// host's disposal goes there (the factory stops the host after the application's thread may have disposed it, and
    /// the host logs its stop), so the file is complete only once it is closed.
    /// </summary>
    static void CloseTheLateLogger() => Log.CloseAndFlush();

    [Test]
    public async Task APathSetWithUseSettingGetsTheRequestsEvents()
    {
        using var folder = TempFolder.ForCaller();
        var factory = new OrdersApp(folder.Path);
        await GetOrderAsync(factory, 7);
        await DisposeAsync(factory);
        CloseTheLateLogger();

        var events = Read(folder.Path);
        var completion = events.Single(e => Prop(e, "@mt") == CompletionTemplate);
        Assert.That((Prop(completion, "RequestPath"), Prop(completion, "StatusCode"), Prop(completion, "OrderStore")),
            Is.EqualTo(("/orders/7", "200", "database")));
        var loaded = events.Single(e => Prop(e, "@mt") == "Loaded order {OrderId}");
        Assert.That(Prop(loaded, "OrderId"), Is.EqualTo("7"));
        Assert.That(Prop(completion, "CorrelationId"), Is.Not.Null.And.EqualTo(Prop(loaded, "CorrelationId")), "one request, one id");
        Assert.That(events.Count(e => Prop(e, "@l") == "Debug"), Is.Zero, "appsettings.json's level is Information");
    }

    [Test]
    public async Task ALevelSetWithUseSettingIsTheLoggersMinimumLevel()
    {
        using var folder = TempFolder.ForCaller();
        var factory = new OrdersApp(folder.Path).WithWebHostBuilder(web => web.UseSetting("Serilog:MinimumLevel:Default", "Debug"));
        await GetOrderAsync(factory, 3);
        await DisposeAsync(factory);
        CloseTheLateLogger();

        Assert.That(Read(folder.Path).Where(e => Prop(e, "@mt") == "Looking up order {OrderId}").Select(e => Prop(e, "OrderId")),
            Is.EqualTo(new[] { "3" }));
    }

    [Test]
    public async Task TrustIncomingIdSetWithUseSettingIsTheCorrelationMiddlewaresOption()
    {
        // Program.cs calls UseCorrelation() with no callback: "Serilog:Correlation" is how a deployment (here, the test)
        // turns off ids chosen by the caller. UseSetting gives "Serilog" and "Serilog:Correlation" empty values too.
        using var folder = TempFolder.ForCaller();
        var factory = new OrdersApp(folder.Path).WithWebHostBuilder(web => web.UseSetting("Serilog:Correlation:TrustIncomingId", "false"));
        string echoed;
        using (var client = factory.CreateClient())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/4");
            request.Headers.Add("X-Correlation-ID", "caller-chosen-4");
            using var response = await client.SendAsync(request);
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            echoed = response.Headers.GetValues("X-Correlation-ID").Single();
        }
        await DisposeAsync(factory);
        CloseTheLateLogger();

        var loaded = Read(folder.Path).Single(e => Prop(e, "@mt") == "Loaded order {OrderId}");
        Assert.That(echoed, Is.Not.EqualTo("caller-chosen-4"));
        Assert.That(Prop(loaded, "CorrelationId"), Is.EqualTo(echoed));
    }

    /// <summary>
    /// With Program.cs's WebApplication.CreateBuilder(), WebApplicationFactory applies a ConfigureAppConfiguration
    /// callback in builder.Build(), after AddObservability() has built the logger: the application's configuration has the
    /// setting, the logger has only what follows a configuration reload (the minimum levels). The package README says
    /// so, and to use UseSetting.
    /// </summary>
    [Test]
    public async Task ConfigurationAddedWithConfigureAppConfigurationReachesTheLoggerOnlyAsAReload()
    {
        using var folder = TempFolder.ForCaller();
        // Not the path: the logger would write to the one appsettings.json names.
        var factory = new OrdersApp(folder.Path).WithWebHostBuilder(web =>
            web.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Serilog:Properties:TestRun"] = "factory",
                ["Serilog:MinimumLevel:Default"] = "Debug",
            })));
        await GetOrderAsync(factory, 8);
        Assert.That(factory.Services.GetRequiredService<IConfiguration>()["Serilog:Properties:TestRun"], Is.EqualTo("factory"));
        await DisposeAsync(factory);
        CloseTheLateLogger();

        var loaded = Read(folder.Path).Single(e => Prop(e, "@mt") == "Loaded order {OrderId}");
        Assert.That(Prop(loaded, "TestRun"), Is.Null, "read once, before the factory's configuration was added");
        Assert.That(Read(folder.Path).Where(e => Prop(e, "@mt") == "Looking up order {OrderId}").Select(e => Prop(e, "OrderId")),
            Is.EqualTo(new[] { "8" }), "the level follows, as after a reload");
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task TwoFactoriesAliveAtOnceWriteOnlyTheirOwnFilesAndOneDisposedLeavesTheOtherLogging(bool disposeFirstCreated)
    {
        using var folderA = TempFolder.ForCaller();
        using var folderB = TempFolder.ForCaller();
        var a = new OrdersApp(folderA.Path);
        var b = new OrdersApp(folderB.Path);
        await GetOrderAsync(a, 1);
        await GetOrderAsync(b, 2);

        var (disposed, remaining) = disposeFirstCreated ? (a, b) : (b, a);
        await DisposeAsync(disposed);
        await GetOrderAsync(remaining, disposeFirstCreated ? 20 : 10);
        await DisposeAsync(remaining);
        CloseTheLateLogger();

        Assert.That(Loaded(folderA.Path), Is.EqualTo(disposeFirstCreated ? new[] { "1" } : new[] { "1", "10" }));
        Assert.That(Completed(folderA.Path), Is.EqualTo(disposeFirstCreated ? new[] { "/orders/1" } : new[] { "/orders/1", "/orders/10" }));
        Assert.That(Loaded(folderB.Path), Is.EqualTo(disposeFirstCreated ? new[] { "2", "20" } : new[] { "2" }));
        Assert.That(Completed(folderB.Path), Is.EqualTo(disposeFirstCreated ? new[] { "/orders/2", "/orders/20" } : new[] { "/orders/2" }));
    }

    [Test]
    public async Task ADisposedFactoryHasWrittenEveryEventAndReleasedTheFile()
    {
        ProcessResources.Require();
        using var folder = TempFolder.ForCaller();
        var factory = new OrdersApp(folder.Path);
        for (var i = 0; i < 50; i++)
            await GetOrderAsync(factory, i);
        // The sink's writer opens the file with its first batch, on its own thread: a loaded machine may not have run it
        // yet when the last response arrives.
        Assert.That(SpinWait.SpinUntil(() => ProcessResources.OpenFilesUnder(folder.Path) > 0, TimeSpan.FromSeconds(30)), Is.True,
            "the host's file is open while it runs");
        await DisposeAsync(factory);
        CloseTheLateLogger();

        var expected = Enumerable.Range(0, 50).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.That(Loaded(folder.Path), Is.EqualTo(expected));
        Assert.That(Completed(folder.Path), Is.EqualTo(expected.Select(i => "/orders/" + i)));
        Assert.That(ProcessResources.OpenFilesUnder(folder.Path), Is.Zero, "a file of the folder is still open");
        Directory.Delete(folder.Path, recursive: true);
    }

    [Test]
    public async Task TheSameFactoryCreatedRightAfterTheFirstIsDisposedWritesTheSameFile()
    {
        using var folder = TempFolder.ForCaller();
        // A fixture per test class: the same factory, the same file, one after another. The first factory's Dispose can
        // return while the application's thread still closes its logger: the second's AddObservability() waits for it.
        var first = new OrdersApp(folder.Path);
        await GetOrderAsync(first, 1);
        var firstRun = WebAppProgram.Ended(first.Services);
        first.Dispose();
        var second = new OrdersApp(folder.Path);
        await GetOrderAsync(second, 2);
        await firstRun;
        await DisposeAsync(second);
        CloseTheLateLogger();

        Assert.That(Loaded(folder.Path), Is.EqualTo(new[] { "1", "2" }));
        Assert.That(Completed(folder.Path), Is.EqualTo(new[] { "/orders/1", "/orders/2" }));
    }

    sealed class FakeStore : IOrderStore
    {
        public string Name => "fake";
    }

    [Test]
    public async Task ServicesReplacedWithConfigureTestServicesKeepTheDiagnosticContextAndRequestLogging()
    {
        using var folder = TempFolder.ForCaller();
        var factory = new OrdersApp(folder.Path).WithWebHostBuilder(web => web.ConfigureTestServices(services =>
        {
            services.RemoveAll<IOrderStore>();
            services.AddSingleton<IOrderStore, FakeStore>();
        }));
        await GetOrderAsync(factory, 5);
        await DisposeAsync(factory);
        CloseTheLateLogger();

        var completion = Read(folder.Path).Single(e => Prop(e, "@mt") == CompletionTemplate);
        Assert.That((Prop(completion, "RequestPath"), Prop(completion, "OrderStore")), Is.EqualTo(("/orders/5", "fake")));
        Assert.That(Loaded(folder.Path), Is.EqualTo(new[] { "5" }));
    }
}
