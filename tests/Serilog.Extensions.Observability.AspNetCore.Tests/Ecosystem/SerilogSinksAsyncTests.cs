using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;
using WebAppProgram = Program;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// The <c>"Serilog"</c> section's RollingJson entry inside an <c>"Async"</c> entry (Serilog.Sinks.Async), as many
/// appsettings.json files wrap every sink: <c>AddObservability()</c> reads it as one of the section's plain sinks.
/// </summary>
[NonParallelizable]
public class SerilogSinksAsyncTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static Dictionary<string, string?> AsyncEntry(int index, string path) => new()
    {
        [$"Serilog:WriteTo:{index}:Name"] = "Async",
        [$"Serilog:WriteTo:{index}:Args:blockWhenFull"] = "true",
        [$"Serilog:WriteTo:{index}:Args:configure:0:Name"] = "RollingJson",
        [$"Serilog:WriteTo:{index}:Args:configure:0:Args:path"] = path,
    };

    [Test]
    public async Task EveryEventOfAHostIsWrittenMaskedThroughAnAsyncEntryWhenTheHostIsDisposed()
    {
        const int threads = 4, perThread = 1_000;
        using var logs = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(AsyncEntry(0, Path.Combine(logs.Path, "app-.json")));
        builder.AddObservability();
        var app = builder.Build();
        await app.StartAsync();
        var logger = app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SerilogSinksAsyncTests>>();
        var writers = Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < perThread; i++)
            {
                if (i % 2 == 0) Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "Event {Seq}", t * perThread + i);
                else Log.Information("Event {Seq}", t * perThread + i);
            }
        })).ToArray();
        await Task.WhenAll(writers);
        Log.Information("Connecting with password=hunter2-template now");
        await app.StopAsync();
        await app.DisposeAsync();

        var events = LogFileEvents.Read(logs.Path);
        Assert.That(events.Where(e => LogFileEvents.Prop(e, "@mt") == "Event {Seq}").Select(e => int.Parse(LogFileEvents.Prop(e, "Seq")!)).Order(),
            Is.EqualTo(Enumerable.Range(0, threads * perThread)), "every event, once");
        Assert.That(string.Join("\n", events.Select(e => e.GetRawText())), Does.Not.Contain("hunter2"),
            "written behind AddObservability()'s redaction, as a plain entry is");
    }

    [Test]
    public void AnAsyncEntryOnTheFileOfARunningHostIsRefusedNamingPathAndTakesItOnceThatHostIsClosed()
    {
        using var logs = TempFolder.ForCaller();
        var settings = AsyncEntry(0, Path.Combine(logs.Path, "app-.json"));
        var first = WebApplication.CreateSlimBuilder();
        first.Configuration.AddInMemoryCollection(settings);
        first.AddObservability();
        var firstApp = first.Build();
        Log.Information("From the first");

        var second = WebApplication.CreateSlimBuilder();
        second.Configuration.AddInMemoryCollection(settings);
        var ex = Assert.Throws<InvalidOperationException>(() => second.AddObservability());
        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Args:configure:0:Args:path\" setting is invalid: "));
        // Serilog.Settings.Configuration calls Async, and Async's list calls RollingJson, through reflection.
        var refusal = ex.GetBaseException();
        Assert.That(refusal, Is.TypeOf<ArgumentException>());
        Assert.That(((ArgumentException)refusal).ParamName, Is.EqualTo("path"));

        ((IDisposable)firstApp).Dispose();
        Log.CloseAndFlush();
        var third = WebApplication.CreateSlimBuilder();
        third.Configuration.AddInMemoryCollection(settings);
        third.AddObservability();
        Log.Information("From the third");
        Log.CloseAndFlush();

        var messages = LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")).ToList();
        Assert.That(messages, Does.Contain("From the first").And.Contain("From the third"));
    }

    [TestCase(false, TestName = "APlainSinkThatFailsToConfigureAfterAnAsyncEntryLeavesThatEntrysFileFree")]
    [TestCase(true, TestName = "ASinkThatFailsToConfigureInAnAsyncEntryOfItsOwnLeavesTheFileOfTheAsyncEntryBeforeItFree")]
    public void ASinkThatFailsToConfigureAfterAnAsyncEntryLeavesThatEntrysFileFree(bool failingInAsync)
    {
        // AddObservability() closes the sinks built before a failing entry: Async disposes the sink it wraps. (Not a sink
        // listed before the failing one in the same "configure" list: Serilog's Wrap keeps those to itself, see README.)
        using var logs = TempFolder.ForCaller();
        var settings = AsyncEntry(0, Path.Combine(logs.Path, "async-.json"));
        var prefix = "Serilog:WriteTo:1:";
        if (failingInAsync)
        {
            settings[prefix + "Name"] = "Async";
            prefix += "Args:configure:0:";
        }
        settings[prefix + "Name"] = "RollingJson";
        settings[prefix + "Args:path"] = Path.Combine(logs.Path, "second-.json");
        settings[prefix + "Args:queueLimit"] = "0";
        var failing = WebApplication.CreateSlimBuilder();
        failing.Configuration.AddInMemoryCollection(settings);
        var ex = Assert.Catch<Exception>(() => failing.AddObservability());
        Assert.That(ex!.ToString(), Does.Contain("queueLimit"));

        settings.Remove(prefix + "Args:queueLimit");
        var next = WebApplication.CreateSlimBuilder();
        next.Configuration.AddInMemoryCollection(settings);
        next.AddObservability();
        Log.Information("After the failure");
        Log.CloseAndFlush();

        Assert.That(LogFileEvents.Read(logs.Path).Count(e => LogFileEvents.Prop(e, "@mt") == "After the failure"), Is.EqualTo(2), "both files");
    }

    [Test]
    public void ASinkALaterSourceSwitchesOffInsideAnAsyncEntryIsNotBuiltAsSerilogSettingsConfigurationLeavesItOut(
        [Values("0", "File")] string key)
    {
        // Serilog__WriteTo__0__Args__configure__0= (or "File": "" in an environment's file): Async's "configure" is a list
        // of sinks by its parameter's type, on every reader and Async version the packages run with.
        using var switchedOff = TempFolder.ForCaller();
        using var kept = TempFolder.ForCaller();
        var other = key == "0" ? "1" : "Other";
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "Async",
            [$"Serilog:WriteTo:0:Args:configure:{key}:Name"] = "RollingJson",
            [$"Serilog:WriteTo:0:Args:configure:{key}:Args:path"] = Path.Combine(switchedOff.Path, "app-.json"),
            [$"Serilog:WriteTo:0:Args:configure:{other}:Name"] = "RollingJson",
            [$"Serilog:WriteTo:0:Args:configure:{other}:Args:path"] = Path.Combine(kept.Path, "app-.json"),
        };
        var later = new Dictionary<string, string?> { [$"Serilog:WriteTo:0:Args:configure:{key}"] = "" };
        var alone = new ConfigurationBuilder().AddInMemoryCollection(settings).AddInMemoryCollection(later).Build();
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(alone).CreateLogger())
            logger.Information("Through Serilog.Settings.Configuration");
        Assert.That(LogFileEvents.Read(switchedOff.Path), Is.Empty, "the reader leaves the entry out");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddInMemoryCollection(later);
        builder.AddObservability();
        Log.Information("Through AddObservability");
        Log.CloseAndFlush();

        Assert.That(LogFileEvents.Read(switchedOff.Path), Is.Empty, "the entry switched off");
        Assert.That(LogFileEvents.Read(kept.Path).Select(e => LogFileEvents.Prop(e, "@mt")),
            Is.EqualTo(new[] { "Through Serilog.Settings.Configuration", "Through AddObservability" }));
    }

    [Test]
    public async Task APathSetWithUseSettingInsideAnAsyncEntryIsTheFileTheApplicationWrites()
    {
        // WebApplicationFactory passes UseSetting's keys as command-line arguments, with "" for each key above them
        // ("Serilog:WriteTo:2", "...:Args:configure", "...:configure:0"): the nested entry must still read as a sink.
        using var plain = TempFolder.ForCaller();
        using var wrapped = TempFolder.ForCaller();
        var factory = new AsyncOrdersApp(plain.Path, wrapped.Path);
        using (var client = factory.CreateClient())
        using (var response = await client.GetAsync("/orders/5"))
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
        var services = factory.Services;
        factory.Dispose();
        await WebAppProgram.Ended(services);
        Log.CloseAndFlush();

        static IEnumerable<string?> Loaded(string folder) =>
            LogFileEvents.Read(folder).Where(e => LogFileEvents.Prop(e, "@mt") == "Loaded order {OrderId}").Select(e => LogFileEvents.Prop(e, "OrderId"));
        Assert.That(Loaded(wrapped.Path), Is.EqualTo(new[] { "5" }), "the Async entry's file");
        Assert.That(Loaded(plain.Path), Is.EqualTo(new[] { "5" }), "the application's own entry");
    }

    /// <summary>The test application (appsettings.json: Console, RollingJson), with an Async entry added by UseSetting.</summary>
    sealed class AsyncOrdersApp(string plainFolder, string wrappedFolder) : WebApplicationFactory<WebAppProgram>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("Serilog:WriteTo:1:Args:path", Path.Combine(plainFolder, "app-.json"));
            foreach (var (key, value) in AsyncEntry(2, Path.Combine(wrappedFolder, "app-.json"))) builder.UseSetting(key, value);
        }
    }
}
