using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog.AspNetCore;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// <c>AddObservability()</c> beside itself and other registrations: called twice (a shared extension and the
/// application's own call), a second call that fails, the options registered without it. AddObservability sets the
/// static Log.Logger.
/// </summary>
[NonParallelizable]
public class AddObservabilityCompositionTests
{
    const string CompletionSource = "Serilog.AspNetCore.RequestLoggingMiddleware";

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static readonly Dictionary<string, string?> RequestLoggingLists = new()
    {
        ["Serilog:RequestLogging:ExcludePaths:0"] = "/health",
        ["Serilog:RequestLogging:RequestHeaders:0"] = "X-Tenant",
        ["Serilog:RequestLogging:ResponseHeaders:0"] = "X-Served-By",
    };

    static WebApplicationBuilder TestServerBuilder(Dictionary<string, string?>? settings = null)
    {
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseTestServer();
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    /// <summary>Each registration as its service type and what it creates, with how often it is there.</summary>
    static string[] Registrations(IServiceCollection services) => services
        .Select(d => $"{d.ServiceType} <- {d.ImplementationType?.FullName ?? d.ImplementationInstance?.GetType().FullName ?? "(factory)"}")
        .GroupBy(name => name)
        .Select(group => $"{group.Count()} x {group.Key}")
        .Order(StringComparer.Ordinal)
        .ToArray();

    static bool IsCompletion(LogEvent e) => EventText.Scalar(e, "SourceContext") == CompletionSource;

    [Test]
    public void ASecondCallLeavesTheServicesAsOneCallLeavesThem()
    {
        var builder = TestServerBuilder(RequestLoggingLists);
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var afterOne = Registrations(builder.Services);

        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        var afterTwo = Registrations(builder.Services);

        Assert.That(afterTwo.Except(afterOne).Select(r => "after two: " + r).Concat(afterOne.Except(afterTwo).Select(r => "after one: " + r)), Is.Empty);
    }

    [Test]
    public async Task ASecondCallDoesNotRepeatTheEntriesOfTheRequestLoggingSectionsLists()
    {
        var sink = new WaitingSink();
        var builder = TestServerBuilder(RequestLoggingLists);
        // A shared extension's call, then the application's own.
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        await using var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        app.App.UseSerilogRequestLogging();
        app.App.MapGet("/orders", (HttpContext context) =>
        {
            context.Response.Headers["X-Served-By"] = "node-1";
            return "ok";
        });
        await app.App.StartAsync();

        var options = app.App.Services.GetRequiredService<IOptions<RequestLoggingOptions>>().Value;
        Assert.That((options.ExcludePaths, options.RequestHeaders, options.ResponseHeaders),
            Is.EqualTo((new[] { "/health" }, new[] { "X-Tenant" }, new[] { "X-Served-By" })));
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders");
        request.Headers.Add("X-Tenant", "acme");
        Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var completion = sink.WaitFor(IsCompletion).Single();
        // Written twice, the name was a JSON object's key twice in the file.
        Assert.That(((DictionaryValue)completion.Properties["RequestHeaders"]).Elements.Select(e => e.Key.Value), Is.EqualTo(new[] { "X-Tenant" }));
        Assert.That(((DictionaryValue)completion.Properties["ResponseHeaders"]).Elements.Select(e => e.Key.Value), Is.EqualTo(new[] { "X-Served-By" }));
    }

    [Test]
    public void AFilterRuleTheApplicationAddsBetweenTwoCallsStillApplies()
    {
        // AddObservability()'s own rule for its provider (Trace: Serilog's levels decide) comes first, once: a rule the
        // application adds after the first call is later, and wins, as it does after a single call.
        var builder = TestServerBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Logging.AddFilter<SerilogLoggerProvider>(null, LogLevel.Warning);
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        using var app = builder.Build();

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Shop.Orders");
        Assert.That((logger.IsEnabled(LogLevel.Information), logger.IsEnabled(LogLevel.Warning)), Is.EqualTo((false, true)));
    }

    [Test]
    public async Task ASecondCallThatFailsLeavesTheHostAsTheFirstCallSetItUp()
    {
        var sink = new WaitingSink();
        var builder = TestServerBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));

        var ex = Assert.Throws<ArgumentException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.Text, " ")));
        Assert.That(ex!.ParamName, Is.EqualTo("template"));

        // The application catches it and goes on (or logs it and stops): the host still builds, with the first call's
        // logger, provider and IDiagnosticContext.
        await using var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        app.App.UseSerilogRequestLogging();
        app.App.MapGet("/orders", (IDiagnosticContext diagnostics, ILogger<AddObservabilityCompositionTests> logger) =>
        {
            diagnostics.Set("OrderId", 7);
            logger.LogInformation("Loading the order");
            return "ok";
        });
        await app.App.StartAsync();
        Assert.That(app.App.Services.GetRequiredService<Serilog.ILogger>(), Is.SameAs(Log.Logger));
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/orders")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var completion = sink.WaitFor(IsCompletion).Single();
        Assert.That(EventText.Scalar(completion, "OrderId"), Is.EqualTo("7"));
        Assert.That(sink.Events.Count(e => e.MessageTemplate.Text == "Loading the order"), Is.EqualTo(1));
    }

    [Test]
    public void ASecondCallWhoseSectionHasAnArgumentTheSinkRefusesFailsNamingTheKeyAndTheRule()
    {
        // A source added between the calls (a shared extension's defaults, then the application's appsettings file).
        using var folder = TempFolder.ForCaller();
        var builder = TestServerBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "app-.json"),
            ["Serilog:WriteTo:0:Args:queueLimit"] = "0",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Args:queueLimit\" setting is invalid: ").And.Contain("greater than zero"));
        Assert.That(ex.InnerException, Is.InstanceOf<System.Reflection.TargetInvocationException>(), "what Serilog.Settings.Configuration threw");
    }

    [TestCase("RefusingQueue", "queueLimit", "500")]
    [TestCase("RefusingPath", "path", null)]
    public void AnEntryThatFailsOnAnArgumentItWasNotGivenDoesNotNameAnotherEntrysKey(string refusingSink, string parameter, string? otherValue)
    {
        // The first entry throws for a parameter the section does not give it; the second has an "Args" key of that
        // name, but it is not the one at fault: the reader's exception is left as it is.
        using var folder = TempFolder.ForCaller();
        var builder = TestServerBuilder();
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:Using:0"] = typeof(RefusingSinkConfigurationExtensions).Assembly.GetName().Name,
            ["Serilog:WriteTo:0:Name"] = refusingSink,
            ["Serilog:WriteTo:0:Args:id"] = "first",
            ["Serilog:WriteTo:1:Name"] = "RollingJson",
            ["Serilog:WriteTo:1:Args:path"] = Path.Combine(folder.Path, "app-.json"),
        };
        if (otherValue is not null) settings["Serilog:WriteTo:1:Args:" + parameter] = otherValue;
        builder.Configuration.AddInMemoryCollection(settings);

        var ex = Assert.Catch(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.Not.Contain("Serilog:WriteTo:1"));
        Assert.That(ex, Is.InstanceOf<System.Reflection.TargetInvocationException>(), "what Serilog.Settings.Configuration threw");
        Assert.That(((ArgumentException)ex.GetBaseException()).ParamName, Is.EqualTo(parameter));
    }

    [TestCase("Properties:Name", "orders-api")]
    [TestCase("Using:0", "Serilog.Extensions.Observability.AspNetCore.Tests")]
    public void ASettingThatCallsNoMethodDoesNotKeepTheOnlyEntrysKeyFromBeingNamed(string key, string value)
    {
        // A property called "Name" is a property, not an entry: the section's only entry is the one that failed.
        var builder = TestServerBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:Using:1"] = typeof(RefusingSinkConfigurationExtensions).Assembly.GetName().Name,
            ["Serilog:WriteTo:0:Name"] = "RefusingPath",
            ["Serilog:WriteTo:0:Args:id"] = "first",
            ["Serilog:WriteTo:0:Args:path"] = "/var/log/app.json",
            ["Serilog:" + key] = value,
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Args:path\" setting is invalid: "));
    }

    [Test]
    public void AnOutOfRangeArgumentIsNamedByTheKeyWhoseValueTheSinkRefused()
    {
        // Two entries give queueLimit; only the one whose value the sink refused is named.
        using var folder = TempFolder.ForCaller();
        var builder = TestServerBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "first-.json"),
            ["Serilog:WriteTo:0:Args:queueLimit"] = "500",
            ["Serilog:WriteTo:1:Name"] = "RollingJson",
            ["Serilog:WriteTo:1:Args:path"] = Path.Combine(folder.Path, "second-.json"),
            ["Serilog:WriteTo:1:Args:queueLimit"] = "0",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:1:Args:queueLimit\" setting is invalid: ").And.Contain("greater than zero"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AnArgumentValueTheReaderCannotConvertFailsNamingItsKey(bool besideAnotherEntry)
    {
        // The reader's own ArgumentException (an enum's name it cannot parse), not wrapped: it names no key.
        using var folder = TempFolder.ForCaller();
        var builder = TestServerBuilder();
        var entry = besideAnotherEntry ? "Serilog:WriteTo:1:" : "Serilog:WriteTo:0:";
        var settings = new Dictionary<string, string?>
        {
            [entry + "Name"] = "RollingJson",
            [entry + "Args:path"] = Path.Combine(folder.Path, "app-.json"),
            [entry + "Args:restrictedToMinimumLevel"] = "Verbos",
        };
        if (besideAnotherEntry)
        {
            settings["Serilog:WriteTo:0:Name"] = "RollingJson";
            settings["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "other-.json");
            settings["Serilog:WriteTo:0:Args:restrictedToMinimumLevel"] = "Warning";
        }
        builder.Configuration.AddInMemoryCollection(settings);

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith($"The \"{entry}Args:restrictedToMinimumLevel\" setting is invalid: ").And.Contain("'Verbos'"));
        Assert.That(ex.InnerException, Is.InstanceOf<ArgumentException>(), "what Serilog.Settings.Configuration threw");
    }

    [Test]
    public void AnArgumentValueOfASinkInsideAnAsyncEntryThatTheReaderCannotConvertFailsNamingItsKey()
    {
        // Converted inside Async's method, so reported wrapped in TargetInvocationException.
        using var folder = TempFolder.ForCaller();
        var builder = TestServerBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "Async",
            ["Serilog:WriteTo:0:Args:configure:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:configure:0:Args:path"] = Path.Combine(folder.Path, "app-.json"),
            ["Serilog:WriteTo:0:Args:configure:0:Args:restrictedToMinimumLevel"] = "Verbos",
        });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Args:configure:0:Args:restrictedToMinimumLevel\" setting is invalid: ")
            .And.Contain("'Verbos'"));
        Assert.That(ex.InnerException, Is.InstanceOf<System.Reflection.TargetInvocationException>(), "what Serilog.Settings.Configuration threw");
    }

    [Test]
    public void AValueTheReaderCannotConvertGivenTwiceIsNotNamed()
    {
        using var folder = TempFolder.ForCaller();
        var builder = TestServerBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "first-.json"),
            ["Serilog:WriteTo:0:Args:restrictedToMinimumLevel"] = "Verbos",
            ["Serilog:WriteTo:1:Name"] = "RollingJson",
            ["Serilog:WriteTo:1:Args:path"] = Path.Combine(folder.Path, "second-.json"),
            ["Serilog:WriteTo:1:Args:restrictedToMinimumLevel"] = "Verbos",
        });

        var ex = Assert.Catch(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex, Is.TypeOf<ArgumentException>(), "what Serilog.Settings.Configuration threw, as it is");
    }

    [Test]
    public void AnArgumentExceptionOfTheCallbackThatQuotesASectionValueIsNotTakenForTheReaders()
    {
        using var folder = TempFolder.ForCaller();
        var path = Path.Combine(folder.Path, "app-.json");
        var builder = TestServerBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = path,
        });

        var ex = Assert.Catch(() => builder.AddObservability(_ => throw new ArgumentException($"The callback refuses '{path}'.")));

        Assert.That(ex, Is.TypeOf<ArgumentException>());
        Assert.That(ex!.Message, Does.StartWith("The callback refuses"));
    }

    [Test]
    public void ARefusedValueWhoseConverterFailsLeavesTheReadersExceptionAsItIs()
    {
        // Comparing the refused value with the key's text must not put the converter's exception in the reader's place.
        var builder = TestServerBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RefusingUnconvertible",
            ["Serilog:WriteTo:0:Args:mode"] = "fast",
        });

        var ex = Assert.Throws<System.Reflection.TargetInvocationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.InnerException, Is.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("mode"));
    }

    [Test]
    public async Task AHostLeftWithoutALoggerByASecondCallsFailureStillBuildsStartsAndStops()
    {
        // The configuration both calls read became invalid between them: the first call's logger cannot be rebuilt.
        var builder = TestServerBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Configuration["Serilog:MinimumLevel:Default"] = "Verbos";
        Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        app.App.MapGet("/", () => "ok");
        await app.App.StartAsync();
        await using (app)
        {
            using var client = app.CreateClient();
            Assert.That((await client.GetAsync("/")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    public async Task AHostLeftWithoutALoggerByASecondCallsFailureStillServesHandlersThatTakeTheDiagnosticContext()
    {
        // The failed call removed the first call's DiagnosticContext; IDiagnosticContext, registered once, resolves it.
        var builder = TestServerBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Configuration["Serilog:MinimumLevel:Default"] = "Verbos";
        Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        app.App.UseSerilogRequestLogging();
        app.App.MapGet("/orders", (IDiagnosticContext diagnostics) =>
        {
            diagnostics.Set("OrderId", 7);
            return "ok";
        });
        await app.App.StartAsync();
        await using (app)
        {
            using var client = app.CreateClient();
            Assert.That((await client.GetAsync("/orders")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    /// <summary>A builder whose second call failed on configuration both calls read, fixed and called a third time.</summary>
    static WebApplicationBuilder CalledAgainAfterAFailureThatLeftNoLogger(Action<ObservabilityOptions> configure, List<string[]>? afterOne = null)
    {
        var builder = TestServerBuilder(RequestLoggingLists);
        builder.AddObservability(configure);
        afterOne?.Add(Registrations(builder.Services));
        builder.Configuration["Serilog:MinimumLevel:Default"] = "Verbos";
        Assert.Throws<InvalidOperationException>(() => builder.AddObservability(configure));
        builder.Configuration["Serilog:MinimumLevel:Default"] = "Verbose";
        builder.AddObservability(configure);
        return builder;
    }

    [Test]
    public void ACallAfterOneThatLeftTheHostWithoutALoggerRegistersNothingTwice()
    {
        var afterOne = new List<string[]>();
        var builder = CalledAgainAfterAFailureThatLeftNoLogger(o => o.Console(ObservabilityConsoleFormat.None), afterOne);
        var afterThree = Registrations(builder.Services);

        Assert.That(afterThree.Except(afterOne[0]).Select(r => "after three: " + r).Concat(afterOne[0].Except(afterThree).Select(r => "after one: " + r)), Is.Empty);
    }

    [Test]
    public async Task ACallAfterOneThatLeftTheHostWithoutALoggerGivesTheDiagnosticContextItsLogger()
    {
        var sink = new WaitingSink();
        var builder = CalledAgainAfterAFailureThatLeftNoLogger(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        await using var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        app.App.UseSerilogRequestLogging();
        app.App.MapGet("/orders", (IDiagnosticContext diagnostics) =>
        {
            diagnostics.Set("OrderId", 7);
            return "ok";
        });
        await app.App.StartAsync();
        // Another host's call takes Log.Logger: the host's diagnostic context still binds its values through its own logger.
        Log.Logger = Core.Logger.None;
        using var client = app.CreateClient();
        Assert.That((await client.GetAsync("/orders")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        Assert.That(EventText.Scalar(sink.WaitFor(IsCompletion).Single(), "OrderId"), Is.EqualTo("7"));
    }

    [Test]
    public void AnOptionsMonitorFollowsTheRequestLoggingSectionBesideTheApplicationsOwnNamedBinding()
    {
        // The application binds named request logging options of its own before AddObservability(): its change token
        // source is another section's, and the section's must still be registered for the default options.
        var builder = TestServerBuilder(new Dictionary<string, string?> { ["Serilog:RequestLogging:SlowRequestThreshold"] = "00:00:02" });
        builder.Services.Configure<RequestLoggingOptions>("admin", builder.Configuration.GetSection("AdminRequestLogging"));
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        using var app = builder.Build();
        var monitor = app.Services.GetRequiredService<IOptionsMonitor<RequestLoggingOptions>>();
        Assert.That(monitor.CurrentValue.SlowRequestThreshold, Is.EqualTo(TimeSpan.FromSeconds(2)));

        app.Configuration["Serilog:RequestLogging:SlowRequestThreshold"] = "00:00:05";
        ((IConfigurationRoot)app.Configuration).Reload();

        Assert.That(monitor.CurrentValue.SlowRequestThreshold, Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void OptionsConfiguredInCodeRunInRegistrationOrderWithTheSectionsBinding()
    {
        // The section is bound where the first call registered it: code before it runs first (the request logging
        // section's lists add to what it set, the correlation section's replace it), code after it wins.
        var builder = TestServerBuilder(new Dictionary<string, string?>(RequestLoggingLists)
        {
            ["Serilog:Correlation:AdditionalHeaderNames:0"] = "X-Request-ID",
        });
        builder.Services.Configure<RequestLoggingOptions>(o => o.ExcludePaths = ["/metrics"]);
        builder.Services.Configure<CorrelationOptions>(o => o.AdditionalHeaderNames = ["X-Trace-ID"]);
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Services.Configure<RequestLoggingOptions>(o => o.RequestHeaders = ["X-Other"]);
        builder.Services.Configure<CorrelationOptions>(o => o.HeaderName = "X-Ours");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        using var app = builder.Build();

        var requestLogging = app.Services.GetRequiredService<IOptions<RequestLoggingOptions>>().Value;
        var correlation = app.Services.GetRequiredService<IOptions<CorrelationOptions>>().Value;
        Assert.That((requestLogging.ExcludePaths, requestLogging.RequestHeaders), Is.EqualTo((new[] { "/metrics", "/health" }, new[] { "X-Other" })));
        Assert.That((correlation.AdditionalHeaderNames, correlation.HeaderName), Is.EqualTo((new[] { "X-Request-ID" }, "X-Ours")));
    }

    [Test]
    public async Task ClearProvidersAfterAddObservabilityIsReportedWhenTheHostStarts()
    {
        // It removes Serilog's provider with the others: every ILogger<T> event would be lost without a word.
        var sink = new WaitingSink();
        var builder = TestServerBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        builder.Logging.ClearProviders();
        await using var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        await app.App.StartAsync();

        var warning = sink.WaitFor(e => EventText.Scalar(e, "SourceContext") == "Serilog.Extensions.Observability.AspNetCore").Single();
        Assert.That(warning.Level, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(warning.MessageTemplate.Text, Does.Contain("ClearProviders() after AddObservability()").And.Contain("ILogger<T>"));
    }

    [Test]
    public async Task ALoggerFactoryReplacingTheHostsAfterAddObservabilityIsReportedWhenTheHostStarts()
    {
        // As Serilog.AspNetCore's UseSerilog() does: a logger factory of its own in place of the host's.
        var sink = new WaitingSink();
        var builder = TestServerBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        builder.Services.AddSingleton<ILoggerFactory>(_ => new SerilogLoggerFactory(new LoggerConfiguration().CreateLogger(), dispose: true));
        await using var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        await app.App.StartAsync();

        var warning = sink.WaitFor(e => EventText.Scalar(e, "SourceContext") == "Serilog.Extensions.Observability.AspNetCore").Single();
        Assert.That(warning.Level, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(warning.MessageTemplate.Text, Does.Contain("another logger factory replaced the host's"));
    }

    [Test]
    public async Task AHostWhoseProviderIsInPlaceGetsNoWarningAboutIt()
    {
        var sink = new WaitingSink();
        var builder = TestServerBuilder();
        builder.Logging.ClearProviders();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        await using var app = new RunningApp(builder.Build(), new Uri("http://localhost/"));
        await app.App.StartAsync();
        // Written after the host's start, where the warning would have been written before it.
        app.App.Services.GetRequiredService<ILogger<AddObservabilityCompositionTests>>().LogWarning("Started");

        sink.WaitFor(e => e.MessageTemplate.Text == "Started");
        Assert.That(sink.Events.Where(e => EventText.Scalar(e, "SourceContext") == "Serilog.Extensions.Observability.AspNetCore"), Is.Empty);
    }

    [Test]
    public async Task AGenericHostThatNeverLogsGetsNoWarningAboutTheProvider([Values] bool empty)
    {
        // No ILogger<T> anywhere in the application: the host's own logger factory still creates the provider.
        var sink = new WaitingSink();
        var builder = empty ? Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" })
            : Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" });
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        using var host = builder.Build();
        await host.StartAsync();
        Log.Information("Started");
        sink.WaitFor(e => e.MessageTemplate.Text == "Started");
        await host.StopAsync();

        Assert.That(sink.Events.Where(e => EventText.Scalar(e, "SourceContext") == "Serilog.Extensions.Observability.AspNetCore"), Is.Empty);
    }

    [Test]
    public async Task CorrelationOptionsConfiguredInCodeApplyToUseCorrelationWithoutAddObservability()
    {
        // The options pattern, as UseForwardedHeaders() reads ForwardedHeadersOptions: UseCorrelation() starts from the
        // registered options, whoever registered them.
        var app = await TestWeb.StartTestServerAsync(
            a =>
            {
                a.UseCorrelation();
                a.MapGet("/", () => "ok");
            },
            services => services.Configure<CorrelationOptions>(o => o.HeaderName = "X-Request-ID"));
        await using (app)
        {
            using var client = app.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Add("X-Request-ID", "order-7");
            var response = await client.SendAsync(request);
            Assert.That(response.Headers.GetValues("X-Request-ID"), Is.EqualTo(new[] { "order-7" }));
            Assert.That(response.Headers.Contains(CorrelationOptions.DefaultHeaderName), Is.False);
        }
    }
}
