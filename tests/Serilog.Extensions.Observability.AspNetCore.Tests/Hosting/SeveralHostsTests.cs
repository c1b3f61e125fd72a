using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// Several hosts with AddObservability() in one process (a test suite's WebApplicationFactory per class, a worker
/// running two hosts): each host's events go to its own logger, whichever host made its logger Log.Logger last.
/// </summary>
[NonParallelizable]
public class SeveralHostsTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static WebApplication BuildHost(string folder, string service, Action<ObservabilityOptions>? configure = null, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        configureServices?.Invoke(builder.Services);
        builder.AddObservability(o =>
        {
            o.Console(ObservabilityConsoleFormat.None).Service(service).RollingJson(Path.Combine(folder, "app-.json"));
            configure?.Invoke(o);
        });
        return builder.Build();
    }

    static List<JsonElement> ReadEvents(string directory) => LogFileEvents.Read(directory);

    static string? Prop(JsonElement e, string name) => LogFileEvents.Prop(e, name);

    static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task TwoHostsStoppedInEitherOrderEachHaveAllTheirEventsInTheirOwnFile(bool firstStopsFirst)
    {
        using var folderA = TempFolder.ForCaller();
        using var folderB = TempFolder.ForCaller();
        var a = BuildHost(folderA.Path, "a");
        var b = BuildHost(folderB.Path, "b");
        await a.StartAsync();
        await b.StartAsync();
        foreach (var (app, service) in new[] { (a, "a"), (b, "b") })
        {
            var log = app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SeveralHostsTests>>();
            app.Lifetime.ApplicationStopping.Register(() => Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(log, "Host stopping {Service}", service));
        }
        var logA = a.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SeveralHostsTests>>();
        var logB = b.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SeveralHostsTests>>();
        for (var i = 0; i < 500; i++)
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logA, "Host event {Seq}", i);
            Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logB, "Host event {Seq}", i);
        }

        await StopAsync(firstStopsFirst ? a : b);
        await StopAsync(firstStopsFirst ? b : a);

        foreach (var (folder, service) in new[] { (folderA.Path, "a"), (folderB.Path, "b") })
        {
            var events = ReadEvents(folder);
            Assert.That(events.Select(e => Prop(e, "ServiceName")).Distinct(), Is.EqualTo(new[] { service }), "Only the host's own events.");
            Assert.That(events.Where(e => Prop(e, "@mt") == "Host event {Seq}").Select(e => Prop(e, "Seq")),
                Is.EqualTo(Enumerable.Range(0, 500).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))), service);
            // What a host logs while it stops, after the other host's logger took Log.Logger or was closed.
            Assert.That(events.Where(e => Prop(e, "@mt") == "Host stopping {Service}").Select(e => Prop(e, "Service")), Is.EqualTo(new[] { service }));
        }
    }

    [Test]
    public async Task RequestCompletionEventsAreWrittenByTheirOwnHostsLoggerWhenAnotherHostCameLater()
    {
        using var folderA = TempFolder.ForCaller();
        using var folderB = TempFolder.ForCaller();
        var a = BuildHost(folderA.Path, "service-a");
        a.UseSerilogRequestLogging();
        a.MapGet("/from-a", () => "a");
        var b = BuildHost(folderB.Path, "service-b");
        b.UseSerilogRequestLogging();
        b.MapGet("/from-b", () => "b");
        await a.StartAsync();
        await b.StartAsync();

        await a.GetTestClient().GetStringAsync("/from-a");
        await b.GetTestClient().GetStringAsync("/from-b");
        await StopAsync(b);
        await StopAsync(a);

        var eventsA = ReadEvents(folderA.Path).Where(e => Prop(e, "RequestPath") is not null).ToList();
        var eventsB = ReadEvents(folderB.Path).Where(e => Prop(e, "RequestPath") is not null).ToList();
        Assert.That(eventsA.Select(e => (Prop(e, "RequestPath"), Prop(e, "ServiceName"))), Is.EqualTo(new[] { ("/from-a", "service-a") }),
            "host A's request is logged by host A's logger");
        Assert.That(eventsB.Select(e => (Prop(e, "RequestPath"), Prop(e, "ServiceName"))), Is.EqualTo(new[] { ("/from-b", "service-b") }),
            "host B's logger writes only host B's requests");
    }

    [Test]
    public async Task AHostsRedactionRulesApplyToItsRequestEventsWhateverAnotherHostExcludes()
    {
        using var folderA = TempFolder.ForCaller();
        using var folderB = TempFolder.ForCaller();
        const string Secret = "s3cr3t-customer-ref";
        var a = BuildHost(folderA.Path, "service-a", o => o.Redaction(r => r.AdditionalKeys.Add("CustomerRef")));
        a.UseSerilogRequestLogging();
        a.MapGet("/order", (IDiagnosticContext diagnostics) =>
        {
            diagnostics.Set("CustomerRef", Secret);
            return "ok";
        });
        // B keeps its own rules, which do not know A's key.
        var b = BuildHost(folderB.Path, "service-b");
        await a.StartAsync();
        await b.StartAsync();

        await a.GetTestClient().GetStringAsync("/order");
        await StopAsync(b);
        await StopAsync(a);

        var written = string.Join('\n', Directory.GetFiles(folderA.Path).Concat(Directory.GetFiles(folderB.Path)).Select(File.ReadAllText));
        Assert.That(written, Does.Not.Contain(Secret));
        var completion = ReadEvents(folderA.Path).Single(e => Prop(e, "RequestPath") == "/order");
        Assert.That(Prop(completion, "CustomerRef"), Is.EqualTo("[REDACTED]"));
    }

    [Test]
    public async Task RejectedCorrelationHeadersAreReportedByTheirOwnHostsLogger()
    {
        using var folderA = TempFolder.ForCaller();
        using var folderB = TempFolder.ForCaller();
        var a = BuildHost(folderA.Path, "service-a");
        a.UseCorrelation();
        a.MapGet("/", () => "a");
        var b = BuildHost(folderB.Path, "service-b");
        await a.StartAsync();
        await b.StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.TryAddWithoutValidation("X-Correlation-ID", new string('x', 500));
        (await a.GetTestClient().SendAsync(request)).Dispose();
        await StopAsync(b);
        await StopAsync(a);

        static bool IsRejection(JsonElement e) => Prop(e, "@mt")?.StartsWith("Rejected the", StringComparison.Ordinal) == true;
        Assert.That(ReadEvents(folderB.Path).Count(IsRejection), Is.Zero, "host B's logger wrote host A's warning");
        Assert.That(ReadEvents(folderA.Path).Count(IsRejection), Is.EqualTo(1));
    }

    /// <summary>A service whose disposal takes a while (a flush), after the host's logger was created.</summary>
    sealed class SlowToDispose : IDisposable
    {
        readonly TaskCompletionSource _disposing = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Disposing => _disposing.Task;

        public void Dispose()
        {
            _disposing.TrySetResult();
            // Long enough for the next host to be built meanwhile: the outcome does not depend on it.
            Thread.Sleep(500);
        }
    }

    /// <summary>
    /// WebApplicationFactory disposes the application's host on two threads: its own, and the application's, whose
    /// app.Run() returns when the factory stops the host and disposes it too. The factory's Dispose returns at once when
    /// the application's thread is already disposing, so the next test's factory builds its host while the first one's
    /// logger is still open, or its late logger just built, on the same file.
    /// </summary>
    [Test]
    public async Task AHostBuiltWhileAnotherThreadStillDisposesAHostOnTheSameFileWritesThere()
    {
        using var folder = TempFolder.ForCaller();
        var first = BuildHost(folder.Path, "first", configureServices: services => services.AddSingleton<SlowToDispose>());
        await first.StartAsync();
        var slow = first.Services.GetRequiredService<SlowToDispose>();
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(first.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SeveralHostsTests>>(), "From {Host}", "first");
        await first.StopAsync();
        var applicationThread = Task.Run(() => first.DisposeAsync().AsTask());
        await slow.Disposing;
        await first.DisposeAsync(); // the factory's own call: returns while the other thread disposes

        var second = BuildHost(folder.Path, "second");
        await second.StartAsync();
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(second.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SeveralHostsTests>>(), "From {Host}", "second");
        await applicationThread;
        await StopAsync(second);

        Assert.That(ReadEvents(folder.Path).Where(e => Prop(e, "@mt") == "From {Host}").Select(e => Prop(e, "Host")), Is.EqualTo(new[] { "first", "second" }));
    }

    /// <summary>A service whose disposal fails, created after the host's logger: the provider's disposal stops there.</summary>
    sealed class FailsToDispose : IDisposable
    {
        public void Dispose() => throw new InvalidOperationException("Failed to dispose.");
    }

    /// <summary>
    /// A host whose disposal never reaches its logger delays the hosts built in the 10 seconds after that disposal
    /// began, and no later one: a host disposed normally after those 10 seconds does not make the next wait either.
    /// </summary>
    [Test]
    public async Task AHostWhoseDisposalNeverClosesItsLoggerNoLongerDelaysAHostBuiltAfterAnotherHostWasDisposed()
    {
        using var folderA = TempFolder.ForCaller();
        using var folderB = TempFolder.ForCaller();
        using var folderC = TempFolder.ForCaller();
        var stuck = BuildHost(folderA.Path, "stuck", configureServices: services => services.AddSingleton<FailsToDispose>());
        var stuckLogger = (IDisposable)Log.Logger;
        try
        {
            await stuck.StartAsync();
            stuck.Services.GetRequiredService<FailsToDispose>();
            await stuck.StopAsync();
            Assert.ThrowsAsync<InvalidOperationException>(async () => await stuck.DisposeAsync());

            // Waits out the stuck host's 10 seconds.
            var second = BuildHost(folderB.Path, "second");
            await second.StartAsync();
            await StopAsync(second);

            var selfLog = new List<string>();
            using (TemporarySelfLog.SaveTo(selfLog))
            {
                var third = BuildHost(folderC.Path, "third");
                await third.StartAsync();
                await StopAsync(third);
            }

            Assert.That(selfLog.Where(line => line.Contains("AddObservability: went on while", StringComparison.Ordinal)), Is.Empty,
                "the third host waited for the stuck one after the second host's disposal");
        }
        finally
        {
            stuckLogger.Dispose();
        }
    }

    /// <summary>A service whose disposal builds the next host (a test fixture's dispose callback).</summary>
    sealed class BuildsAHostWhenDisposed(Func<WebApplication> build) : IDisposable
    {
        public WebApplication? Built { get; private set; }

        public void Dispose() => Built = build();
    }

    /// <summary>
    /// The host is built while the same thread disposes another, whose logger is still open: that host cannot close its
    /// logger before the call returns, so AddObservability() must not wait for it (it waited its 10 seconds out).
    /// </summary>
    [Test]
    public async Task AHostBuiltWhileTheSameThreadDisposesAnotherHostDoesNotWaitForThatHostsLogger([Values(false, true)] bool disposeAsync)
    {
        using var folderA = TempFolder.ForCaller();
        using var folderB = TempFolder.ForCaller();
        var first = BuildHost(folderA.Path, "first", configureServices: services =>
            services.AddSingleton(_ => new BuildsAHostWhenDisposed(() => BuildHost(folderB.Path, "second"))));
        await first.StartAsync();
        var builds = first.Services.GetRequiredService<BuildsAHostWhenDisposed>();
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(first.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SeveralHostsTests>>(), "From {Host}", "first");
        var selfLog = new List<string>();
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            await first.StopAsync();
            if (disposeAsync) await first.DisposeAsync();
            else ((IDisposable)first).Dispose();
        }

        var second = builds.Built!;
        await second.StartAsync();
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(second.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SeveralHostsTests>>(), "From {Host}", "second");
        await StopAsync(second);

        Assert.That(selfLog.Where(line => line.Contains("AddObservability: went on while", StringComparison.Ordinal)), Is.Empty,
            "the host built on the disposing thread waited for the logger of the host that thread disposes");
        Assert.That(ReadEvents(folderA.Path).Where(e => Prop(e, "@mt") == "From {Host}").Select(e => Prop(e, "Host")), Is.EqualTo(new[] { "first" }));
        Assert.That(ReadEvents(folderB.Path).Where(e => Prop(e, "@mt") == "From {Host}").Select(e => Prop(e, "Host")), Is.EqualTo(new[] { "second" }));
    }

    [Test]
    public async Task AHostDisposedWhileAnotherHostCallsAddObservabilityLeavesTheOtherHostsLoggerAsLogLogger()
    {
        var first = Guid.NewGuid().ToString("N");
        var late = Guid.NewGuid().ToString("N");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:Using:0"] = typeof(DisposalProbeSink).Assembly.GetName().Name,
            ["Serilog:WriteTo:0:Name"] = "DisposalProbe",
            ["Serilog:WriteTo:0:Args:id"] = first,
        });
        builder.WebHost.UseTestServer();
        ILogger? other = null;
        var calls = 0;
        builder.AddObservability(_ =>
        {
            // The second call builds the late logger while the host is disposed: another host (a parallel test's)
            // calls AddObservability() at that moment and makes its logger Log.Logger.
            if (++calls != 2) return;
            WebApplication.CreateSlimBuilder().AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
            other = Log.Logger;
        });
        var app = builder.Build();
        await app.StartAsync();
        app.Configuration["Serilog:WriteTo:0:Args:id"] = late;
        await StopAsync(app);

        Assert.That(other, Is.Not.Null);
        Assert.That(Log.Logger, Is.SameAs(other), "the disposed host's late logger replaced the other host's");
        Assert.That((DisposalProbeSink.WasCreated(late), DisposalProbeSink.WasDisposed(late)), Is.EqualTo((true, true)),
            "the late logger nobody can reach is closed");
    }
}
