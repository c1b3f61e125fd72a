using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serilog.AspNetCore;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.RequestLogging;

/// <summary>
/// Code written for Serilog.AspNetCore 8 (its README's samples, its own tests' set-ups) compiles against this package
/// and logs the same completion event: properties, their order, level, message and exception.
/// </summary>
public class SerilogAspNetCoreCompatibilityTests
{
    const string DefaultTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms";

    WaitingSink _sink = null!;
    Logger _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _sink = new WaitingSink();
        // Nothing but the sink: the event's properties are then exactly those the middleware wrote (and SourceContext).
        _logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(_sink).CreateLogger();
    }

    [TearDown]
    public void TearDown() => _logger.Dispose();

    Task<RunningApp> Start(Action<WebApplication> configure, Action<IServiceCollection>? services = null, bool kestrel = false)
    {
        void Services(IServiceCollection collection)
        {
            DiagnosticContextRegistration.Add(collection, _logger);
            services?.Invoke(collection);
        }

        return kestrel ? TestWeb.StartKestrelAsync(configure, Services) : TestWeb.StartTestServerAsync(configure, Services);
    }

    // Serilog.AspNetCore's README, "Request logging": the sample compiles as written, with `using Serilog;` only.
    static void ReadmeSample(IApplicationBuilder app, ILogger logger) =>
        app.UseSerilogRequestLogging(options =>
        {
            // Customize the message template
            options.MessageTemplate = "Handled {RequestPath}";

            // Emit debug-level events instead of the defaults
            options.GetLevel = (httpContext, elapsed, ex) => LogEventLevel.Debug;

            // Attach additional properties to the request completion event
            options.EnrichDiagnosticContext = (diagnosticContext, httpContext) =>
            {
                diagnosticContext.Set("RequestHost", httpContext.Request.Host.Value);
                diagnosticContext.Set("RequestScheme", httpContext.Request.Scheme);
            };

            options.Logger = logger;
        });

    // The README's helper-class pattern: method groups for both callbacks.
    static class LogHelper
    {
        public static void EnrichFromRequest(IDiagnosticContext diagnosticContext, HttpContext httpContext)
        {
            var request = httpContext.Request;
            diagnosticContext.Set("Host", request.Host);
            diagnosticContext.Set("Protocol", request.Protocol);
            diagnosticContext.Set("Scheme", request.Scheme);
            if (request.QueryString.HasValue) diagnosticContext.Set("QueryString", request.QueryString.Value);
            diagnosticContext.Set("ContentType", httpContext.Response.ContentType);
            var endpoint = httpContext.GetEndpoint();
            if (endpoint is not null) diagnosticContext.Set("EndpointName", endpoint.DisplayName);
        }

        public static LogEventLevel ExcludeHealthChecks(HttpContext ctx, double _, Exception? ex) =>
            ex != null ? LogEventLevel.Error
            : ctx.Response.StatusCode > 499 ? LogEventLevel.Error
            : ctx.GetEndpoint()?.DisplayName == "Health checks" ? LogEventLevel.Verbose
            : LogEventLevel.Information;
    }

    [Test]
    public async Task TheReadmeSampleCompilesAndLogsAtItsLevelWithItsTemplateAndProperties()
    {
        await using var app = await Start(a =>
        {
            ReadmeSample(a, _logger);
            a.MapGet("/sample", () => "ok");
        });
        using var client = app.CreateClient();

        await client.GetAsync("/sample");

        var evt = _sink.WaitForCompletion("/sample");
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Debug));
        Assert.That(evt.RenderMessage(), Is.EqualTo("Handled \"/sample\""));
        Assert.That(EventText.Scalar(evt, "RequestHost"), Is.EqualTo("localhost"));
        Assert.That(EventText.Scalar(evt, "RequestScheme"), Is.EqualTo("http"));
    }

    [Test]
    public async Task MethodGroupCallbacksFromTheReadmeHelperClassWork()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(opts =>
            {
                opts.Logger = _logger;
                opts.EnrichDiagnosticContext = LogHelper.EnrichFromRequest;
                opts.GetLevel = LogHelper.ExcludeHealthChecks;
            });
            a.MapGet("/helper", () => "ok").WithDisplayName("Helper endpoint");
        });
        using var client = app.CreateClient();

        await client.GetAsync("/helper?x=1");

        var evt = _sink.WaitForCompletion("/helper");
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(EventText.Scalar(evt, "EndpointName"), Is.EqualTo("Helper endpoint"));
        Assert.That(EventText.Scalar(evt, "QueryString"), Is.EqualTo("?x=1"));
        Assert.That(evt.Properties["Host"], Is.TypeOf<ScalarValue>());
    }

    [Test]
    public void EveryOverloadOfSerilogAspNetCoreCompiles()
    {
        var app = WebApplication.CreateSlimBuilder().Build();

        // Overload resolution as with Serilog.AspNetCore: no arguments, a template, a callback, named arguments.
        app.UseSerilogRequestLogging();
        app.UseSerilogRequestLogging("HTTP {RequestMethod} {RequestPath}");
        app.UseSerilogRequestLogging(messageTemplate: "HTTP {RequestPath}");
        app.UseSerilogRequestLogging(configureOptions: o => o.IncludeQueryInRequestPath = true);
        SerilogApplicationBuilderExtensions.UseSerilogRequestLogging(app, o => o.Logger = null);
        Action<RequestLoggingOptions>? none = null;
        IApplicationBuilder chained = app.UseSerilogRequestLogging(none);

        Assert.That(chained, Is.SameAs(app));
        Assert.That(RequestLoggingOptions.HttpContextItemsElapsedKey, Is.EqualTo("Serilog.AspNetCore.ElapsedMs"));
    }

    [Test]
    public void TheOptionsHaveSerilogAspNetCoresDefaults()
    {
        var options = new RequestLoggingOptions();
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";

        Assert.That(options.MessageTemplate, Is.EqualTo(DefaultTemplate));
        Assert.That(options.Logger, Is.Null);
        Assert.That(options.EnrichDiagnosticContext, Is.Null);
        Assert.That(options.IncludeQueryInRequestPath, Is.False);
        Assert.That(options.AddElapsedToHttpContext, Is.False);
        Assert.That(options.GetLevel(context, 1.0, null), Is.EqualTo(LogEventLevel.Information));
        Assert.That(options.GetLevel(context, 1.0, new Exception()), Is.EqualTo(LogEventLevel.Error));
        context.Response.StatusCode = 499;
        Assert.That(options.GetLevel(context, 1.0, null), Is.EqualTo(LogEventLevel.Information));
        context.Response.StatusCode = 500;
        Assert.That(options.GetLevel(context, 1.0, null), Is.EqualTo(LogEventLevel.Error));

        var properties = options.GetMessageTemplateProperties(context, "/p", 1.5, 201).ToList();
        Assert.That(properties.Select(p => p.Name), Is.EqualTo(new[] { "RequestMethod", "RequestPath", "StatusCode", "Elapsed" }));
        Assert.That(properties.Select(p => ((ScalarValue)p.Value).Value), Is.EqualTo(new object[] { "POST", "/p", 201, 1.5 }));
    }

    [Test]
    public async Task ElapsedHasTheStopwatchsResolutionAsInSerilogAspNetCore()
    {
        // Serilog.AspNetCore divides the Stopwatch ticks by its frequency; a TimeSpan would round them to 100 ns.
        if (Stopwatch.Frequency <= TimeSpan.TicksPerSecond)
            Assert.Ignore($"The Stopwatch here ticks {Stopwatch.Frequency} times a second, no finer than a TimeSpan.");
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/tick/{i:int}", (int i) => "ok");
        });
        using var client = app.CreateClient();

        const int Requests = 10;
        var nanoseconds = new List<double>();
        for (var i = 0; i < Requests; i++)
        {
            await client.GetAsync($"/tick/{i}");
            nanoseconds.Add(Math.Round((double)((ScalarValue)_sink.WaitForCompletion($"/tick/{i}").Properties["Elapsed"]).Value! * 1_000_000));
        }

        // Each a whole number of 100 ns with the rounding: the chance of that for ten nanosecond readings is 10^-20.
        Assert.That(nanoseconds, Has.Some.Matches<double>(ns => ns % 100 != 0), "Elapsed, in nanoseconds");
    }

    [Test]
    public async Task TheEventHasDiagnosticPropertiesInSetOrderThenTheTemplatesPropertiesThenSourceContext()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/order", (IDiagnosticContext dc) =>
            {
                dc.Set("First", 1);
                dc.Set("Second", 2);
                dc.Set("First", 3); // replaces the value, keeps its place
                dc.Set("Elapsed", "overridden by the template");
                return "ok";
            });
        });
        using var client = app.CreateClient();

        await client.GetAsync("/order");

        var evt = _sink.WaitForCompletion("/order");
        Assert.That(evt.Properties.Keys, Is.EqualTo(new[] { "First", "Second", "Elapsed", "RequestMethod", "RequestPath", "StatusCode", "SourceContext" }));
        Assert.That(EventText.Scalar(evt, "First"), Is.EqualTo("3"));
        Assert.That(((ScalarValue)evt.Properties["Elapsed"]).Value, Is.TypeOf<double>());
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.TypeOf<int>());
        Assert.That(EventText.Scalar(evt, "SourceContext"), Is.EqualTo("Serilog.AspNetCore.RequestLoggingMiddleware"));
        Assert.That(evt.Exception, Is.Null);
    }

    [Test]
    public async Task SetWithAndWithoutDestructuringBindsAsTheLoggerWould()
    {
        var order = new Order(7, "book");
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/bind", (IDiagnosticContext dc) =>
            {
                dc.Set("Structured", order, destructureObjects: true);
                dc.Set("Stringified", order);
                dc.Set("Items", new[] { 1, 2 });
                dc.Set("Nothing", null);
                dc.Set("", "an invalid name is ignored");
                return "ok";
            });
        });
        using var client = app.CreateClient();

        await client.GetAsync("/bind");

        var evt = _sink.WaitForCompletion("/bind");
        Assert.That(evt.Properties["Structured"], Is.TypeOf<StructureValue>());
        Assert.That(((StructureValue)evt.Properties["Structured"]).TypeTag, Is.EqualTo("Order"));
        Assert.That(((ScalarValue)evt.Properties["Stringified"]).Value, Is.EqualTo(order.ToString()));
        Assert.That(evt.Properties["Items"], Is.TypeOf<SequenceValue>());
        Assert.That(((ScalarValue)evt.Properties["Nothing"]).Value, Is.Null);
        Assert.That(evt.Properties.ContainsKey(""), Is.False);
    }

    sealed record Order(int Id, string Title);

    [Test]
    public void SetWithANullNameThrowsAsSerilogsDiagnosticContextDoes()
    {
        var context = new DiagnosticContext(_logger);

        Assert.Throws<ArgumentNullException>(() => context.Set(null!, 1));
        Assert.DoesNotThrow(() => context.Set("OutsideARequest", 1));
        // Serilog.Extensions.Hosting's parameter names, for callers that name their arguments.
        IDiagnosticContext contract = context;
        Assert.DoesNotThrow(() => contract.Set(propertyName: "Named", value: null, destructureObjects: true));
        Assert.DoesNotThrow(() => contract.SetException(exception: new InvalidOperationException()));
    }

    [Test]
    public async Task AnExceptionSetWithoutOneEscapingIsAttachedWithoutChangingTheLevel()
    {
        var handled = new InvalidOperationException("handled");
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/set", (IDiagnosticContext dc) =>
            {
                dc.SetException(handled);
                return "ok";
            });
        });
        using var client = app.CreateClient();

        await client.GetAsync("/set");

        var evt = _sink.WaitForCompletion("/set");
        Assert.That(evt.Exception, Is.SameAs(handled));
        // GetLevel sees only the exception that escaped: none.
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(EventText.Scalar(evt, "StatusCode"), Is.EqualTo("200"));
    }

    [Test]
    public async Task AnEscapingExceptionWinsOverOneSetInTheDiagnosticContextAndStillReachesTheServer()
    {
        var set = new InvalidOperationException("set");
        var thrown = new InvalidOperationException("thrown");
        Exception? seenByGetLevel = null;
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = _logger;
                o.EnrichDiagnosticContext = (dc, _) => dc.SetException(set);
                o.GetLevel = (ctx, _, ex) => { seenByGetLevel = ex; return LogEventLevel.Warning; };
            });
            a.Run(_ => throw thrown);
        });
        using var client = app.CreateClient();

        var escaped = Assert.ThrowsAsync<InvalidOperationException>(() => client.GetAsync("/thrown"));

        Assert.That(escaped, Is.SameAs(thrown));
        var evt = _sink.WaitForCompletion("/thrown");
        Assert.That(evt.Exception, Is.SameAs(thrown));
        Assert.That(seenByGetLevel, Is.SameAs(thrown));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Warning));
        Assert.That(EventText.Scalar(evt, "StatusCode"), Is.EqualTo("500"));
    }

    [Test]
    public async Task ValuesSetByNestedMiddlewareEndpointFiltersAndAwaitedWorkAreOnTheEvent()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.Use(async (context, next) =>
            {
                var dc = context.RequestServices.GetRequiredService<IDiagnosticContext>();
                dc.Set("BeforeNext", true);
                await next(context);
                dc.Set("AfterNext", context.Response.StatusCode);
            });
            a.MapGet("/nested", async (IDiagnosticContext dc) =>
                {
                    await Task.Run(() => dc.Set("FromTaskRun", "yes"));
                    return "ok";
                })
                .AddEndpointFilter(async (invocation, next) =>
                {
                    var dc = invocation.HttpContext.RequestServices.GetRequiredService<IDiagnosticContext>();
                    dc.Set("FromFilter", "filter");
                    return await next(invocation);
                });
        });
        using var client = app.CreateClient();

        await client.GetAsync("/nested");

        var evt = _sink.WaitForCompletion("/nested");
        Assert.That(EventText.Scalar(evt, "BeforeNext"), Is.EqualTo("True"));
        Assert.That(EventText.Scalar(evt, "AfterNext"), Is.EqualTo("200"));
        Assert.That(EventText.Scalar(evt, "FromFilter"), Is.EqualTo("filter"));
        Assert.That(EventText.Scalar(evt, "FromTaskRun"), Is.EqualTo("yes"));
    }

    [Test]
    public async Task ValuesSetAfterTheEventWasWrittenAreDroppedWithoutAnError()
    {
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await Start(a =>
        {
            a.Use(async (context, next) =>
            {
                await next(context);
                // Outside UseSerilogRequestLogging, after its event: nothing to add to, and no exception.
                context.RequestServices.GetRequiredService<IDiagnosticContext>().Set("Outer", 1);
            });
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/late", (HttpContext context, IDiagnosticContext dc) =>
            {
                context.Response.OnCompleted(() =>
                {
                    dc.Set("OnCompleted", 1);
                    completed.SetResult();
                    return Task.CompletedTask;
                });
                return "ok";
            });
        }, kestrel: true);
        using var client = app.CreateClient();

        Assert.That((await client.GetAsync("/late")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await completed.Task.WaitAsync(TimeSpan.FromSeconds(15));

        var evt = _sink.WaitForCompletion("/late");
        Assert.That(evt.Properties.ContainsKey("OnCompleted"), Is.False);
        Assert.That(evt.Properties.ContainsKey("Outer"), Is.False);
    }

    [Test]
    public async Task ConcurrentRequestsEachGetOnlyTheValuesTheirOwnCodeSet()
    {
        const int requests = 40;
        var arrived = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/concurrent/{id}", async (string id, IDiagnosticContext dc) =>
            {
                dc.Set("Id", id);
                // Every request is in its handler at once before any goes on.
                if (Interlocked.Increment(ref arrived) == requests) all.SetResult();
                await all.Task.WaitAsync(TimeSpan.FromSeconds(15));
                await Task.Run(() => dc.Set("IdFromTaskRun", id));
                return id;
            });
        }, kestrel: true);
        using var client = app.CreateClient();
        var ids = Enumerable.Range(0, requests).Select(i => "r" + i).ToArray();

        await Task.WhenAll(ids.Select(id => client.GetAsync("/concurrent/" + id)));

        var events = _sink.WaitFor(e => e.Properties.ContainsKey("RequestPath"), requests);
        Assert.That(events.Select(e => EventText.Scalar(e, "RequestPath")), Is.EquivalentTo(ids.Select(id => "/concurrent/" + id)));
        Assert.That(events.Select(e => "/concurrent/" + EventText.Scalar(e, "Id")), Is.EqualTo(events.Select(e => EventText.Scalar(e, "RequestPath"))));
        Assert.That(events.Select(e => EventText.Scalar(e, "IdFromTaskRun")), Is.EqualTo(events.Select(e => EventText.Scalar(e, "Id"))));
    }

    [Test]
    public async Task ANestedCallCollectsWhatIsSetInsideItAndTheOuterOneWhatIsSetAroundIt()
    {
        // As in Serilog.AspNetCore: the inner middleware's collection replaces the outer's while the rest of the pipeline
        // runs inside it, and the outer's is current again once the inner middleware has returned.
        var innerSink = new WaitingSink();
        using var inner = new LoggerConfiguration().WriteTo.Sink(innerSink).CreateLogger();
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.Use(async (context, next) =>
            {
                var dc = context.RequestServices.GetRequiredService<IDiagnosticContext>();
                dc.Set("BeforeInner", 1);
                await next(context);
                dc.Set("AfterInner", 2);
            });
            a.UseSerilogRequestLogging(o => o.Logger = inner);
            a.MapGet("/nested-calls", (IDiagnosticContext dc) => { dc.Set("InHandler", 3); return "ok"; });
        });
        using var client = app.CreateClient();

        await client.GetAsync("/nested-calls");

        var outerEvent = _sink.WaitForCompletion("/nested-calls");
        var innerEvent = innerSink.WaitForCompletion("/nested-calls");
        Assert.That(outerEvent.Properties.Keys, Is.EqualTo(new[] { "BeforeInner", "AfterInner", "RequestMethod", "RequestPath", "StatusCode", "Elapsed", "SourceContext" }));
        Assert.That(innerEvent.Properties.Keys, Is.EqualTo(new[] { "InHandler", "RequestMethod", "RequestPath", "StatusCode", "Elapsed", "SourceContext" }));
    }

    [Test]
    public async Task WorkARequestLeftRunningSetsNothingOnTheNextRequestsEvent()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? leftRunning = null;
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/first", (IDiagnosticContext dc) =>
            {
                // Not awaited: it outlives the request, and sets values while the next request runs.
                leftRunning = Task.Run(async () =>
                {
                    await release.Task.WaitAsync(TimeSpan.FromSeconds(15));
                    dc.Set("FromTheFirstRequest", "late");
                    dc.SetException(new InvalidOperationException("late"));
                });
                return "ok";
            });
            a.MapGet("/second", async (IDiagnosticContext dc) =>
            {
                release.SetResult();
                await leftRunning!.WaitAsync(TimeSpan.FromSeconds(15));
                dc.Set("Own", 1);
                return "ok";
            });
        }, kestrel: true);
        using var client = app.CreateClient();

        await client.GetAsync("/first");
        var first = _sink.WaitForCompletion("/first");
        Assert.That((await client.GetAsync("/second")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var second = _sink.WaitForCompletion("/second");
        Assert.That(leftRunning!.IsCompletedSuccessfully, Is.True);
        Assert.That(first.Properties.ContainsKey("FromTheFirstRequest"), Is.False);
        Assert.That(second.Properties.ContainsKey("FromTheFirstRequest"), Is.False);
        Assert.That(EventText.Scalar(second, "Own"), Is.EqualTo("1"));
        Assert.That(second.Exception, Is.Null);
    }

    [TestCase(false, "/items/a b")]
    [TestCase(true, "/base/items/a%20b?q=1")] // the raw request target, path base included
    public async Task RequestPathIsTheServersPathAfterPathBaseAndTheRawTargetWithTheQuery(bool includeQuery, string expected)
    {
        await using var app = await Start(a =>
        {
            a.UsePathBase("/base");
            a.UseSerilogRequestLogging(o => { o.Logger = _logger; o.IncludeQueryInRequestPath = includeQuery; });
            a.MapGet("/items/{name}", (string name) => name);
        }, kestrel: true);
        using var client = app.CreateClient();

        await client.GetAsync("/base/items/a%20b?q=1");

        Assert.That(_sink.WaitForCompletion(expected), Is.Not.Null);
    }

    [Test]
    public async Task OnAHostWithoutARawTargetTheQueryIsStillIncludedWhenAskedFor()
    {
        // A documented difference: the test server reports no raw target, and Serilog.AspNetCore then writes the path alone.
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => { o.Logger = _logger; o.IncludeQueryInRequestPath = true; });
            a.Run(_ => Task.CompletedTask);
        });
        using var client = app.CreateClient();

        await client.GetAsync("/search?q=1&api_key=k");

        Assert.That(_sink.WaitForCompletion("/search?q=1&api_key=[REDACTED]"), Is.Not.Null);
    }

    [Test]
    public async Task RequestLoggingBeforePathBaseLogsTheFullPath()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.UsePathBase("/base");
            a.MapGet("/x", () => "x");
        }, kestrel: true);
        using var client = app.CreateClient();

        await client.GetAsync("/base/x");

        Assert.That(_sink.WaitForCompletion("/base/x"), Is.Not.Null);
    }

    [Test]
    public async Task ALevelTheLoggerDoesNotWriteSkipsTheEventAndTheEnrichCallback()
    {
        var enriched = 0;
        using var warnings = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Sink(_sink).CreateLogger();
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = warnings;
                o.EnrichDiagnosticContext = (_, _) => Interlocked.Increment(ref enriched);
            });
            a.MapGet("/ok", () => "ok");
            a.MapGet("/fail", () => Results.StatusCode(503));
        });
        using var client = app.CreateClient();

        await client.GetAsync("/ok");
        await client.GetAsync("/fail");

        Assert.That(_sink.WaitForCompletion("/fail").Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(_sink.Events.Count, Is.EqualTo(1));
        Assert.That(enriched, Is.EqualTo(1));
    }

    [Test]
    public async Task ASourceContextLevelOverrideForSerilogAspNetCoreApplies()
    {
        using var overridden = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .MinimumLevel.Override("Serilog.AspNetCore", LogEventLevel.Warning)
            .WriteTo.Sink(_sink)
            .CreateLogger();
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = overridden);
            a.MapGet("/ok", () => "ok");
            a.MapGet("/fail", () => Results.StatusCode(500));
        });
        using var client = app.CreateClient();

        await client.GetAsync("/ok");
        await client.GetAsync("/fail");

        _sink.WaitForCompletion("/fail");
        Assert.That(_sink.Events.Select(e => EventText.Scalar(e, "RequestPath")), Is.EqualTo(new[] { "/fail" }));
    }

    [Test, NonParallelizable] // Log.Logger is process-wide
    public async Task WithoutALoggerOptionTheStaticLoggerOfTheMomentWritesTheEvent()
    {
        var previous = Log.Logger;
        try
        {
            Log.Logger = Logger.None;
            await using var app = await Start(a =>
            {
                a.UseSerilogRequestLogging();
                a.MapGet("/static", (IDiagnosticContext dc) => { dc.Set("Bound", 1); return "ok"; });
            });
            using var client = app.CreateClient();

            // Replaced after the pipeline was built, as a test fixture or a reloadable logger does.
            Log.Logger = _logger;
            await client.GetAsync("/static");

            var evt = _sink.WaitForCompletion("/static");
            Assert.That(EventText.Scalar(evt, "SourceContext"), Is.EqualTo("Serilog.AspNetCore.RequestLoggingMiddleware"));
            Assert.That(EventText.Scalar(evt, "Bound"), Is.EqualTo("1"));
        }
        finally
        {
            Log.Logger = previous;
        }
    }

    [Test]
    public async Task OptionsConfiguredThroughIOptionsAndTheCallbackAreCombinedAsInSerilogAspNetCoresTests()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(options =>
            {
                options.EnrichDiagnosticContext += (diagnosticContext, _) => diagnosticContext.Set("SomeInteger", 42);
            });
            a.Run(_ => Task.CompletedTask);
        }, services => services.Configure<RequestLoggingOptions>(options =>
        {
            options.Logger = _logger;
            options.EnrichDiagnosticContext += (diagnosticContext, _) => diagnosticContext.Set("SomeString", "string");
        }));
        using var client = app.CreateClient();

        await client.GetAsync("/resource");

        var evt = _sink.WaitForCompletion("/resource");
        Assert.That(((ScalarValue)evt.Properties["SomeInteger"]).Value, Is.EqualTo(42));
        Assert.That(((ScalarValue)evt.Properties["SomeString"]).Value, Is.EqualTo("string"));
        Assert.That(EventText.Scalar(evt, "RequestMethod"), Is.EqualTo("GET"));
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(200));
    }

    [Test]
    public async Task CustomisedTemplatePropertiesReplaceTheDefaultOnes()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(options =>
            {
                options.Logger = _logger;
                options.MessageTemplate = "HTTP {RequestMethod} responded {Status} in {ElapsedMilliseconds:0.0000} ms";
                options.GetMessageTemplateProperties = (ctx, path, elapsedMs, status) =>
                [
                    new LogEventProperty("RequestMethod", new ScalarValue(ctx.Request.Method)),
                    new LogEventProperty("Status", new ScalarValue(status)),
                    new LogEventProperty("ElapsedMilliseconds", new ScalarValue(elapsedMs)),
                    new LogEventProperty("Path", new ScalarValue(path)),
                ];
            });
            a.Run(_ => Task.CompletedTask);
        });
        using var client = app.CreateClient();

        await client.GetAsync("/custom");

        var evt = _sink.WaitFor(e => EventText.Scalar(e, "Path") == "/custom").Single();
        Assert.That(((ScalarValue)evt.Properties["Status"]).Value, Is.EqualTo(200));
        Assert.That(evt.Properties.ContainsKey("Elapsed"), Is.False);
        Assert.That(evt.Properties.ContainsKey("RequestPath"), Is.False);
        Assert.That(evt.Properties.ContainsKey("StatusCode"), Is.False);
    }

    [Test]
    public async Task ElapsedIsInHttpContextItemsForTheEnrichCallbackWhenAskedFor()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(options =>
            {
                options.Logger = _logger;
                options.AddElapsedToHttpContext = true;
                options.EnrichDiagnosticContext += (diagnosticContext, httpContext) =>
                    diagnosticContext.Set("ElapsedValue", (double)(httpContext.Items[RequestLoggingOptions.HttpContextItemsElapsedKey] ?? -0.1));
            });
            a.Run(_ => Task.CompletedTask);
        });
        using var client = app.CreateClient();

        await client.GetAsync("/elapsed");

        var evt = _sink.WaitForCompletion("/elapsed");
        Assert.That((double)((ScalarValue)evt.Properties["ElapsedValue"]).Value!, Is.GreaterThan(0));
        Assert.That(((ScalarValue)evt.Properties["ElapsedValue"]).Value, Is.EqualTo(((ScalarValue)evt.Properties["Elapsed"]).Value));
    }

    [Test, NonParallelizable] // SelfLog is process-wide
    public async Task AThrowingGetMessageTemplatePropertiesLosesTheEventWithASelfLogLineAndNotTheRequest()
    {
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = _logger;
                o.GetMessageTemplateProperties = (_, _, _, _) => throw new InvalidOperationException("properties");
            });
            a.MapGet("/props", () => "ok");
        });
        using var client = app.CreateClient();

        Assert.That((await client.GetAsync("/props")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        Assert.That(selfLog, Has.Some.Contains("properties"));
        Assert.That(_sink.Events, Is.Empty);
    }

    [Test]
    public async Task TheEventCarriesTheTraceAndSpanIdsOfTheRequestActivity()
    {
        ActivityTraceId traceId = default;
        ActivitySpanId spanId = default;
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/traced", () =>
            {
                traceId = Activity.Current!.TraceId;
                spanId = Activity.Current.SpanId;
                return "ok";
            });
        });
        using var client = app.CreateClient();

        await client.GetAsync("/traced");

        var evt = _sink.WaitForCompletion("/traced");
        Assert.That(traceId, Is.Not.EqualTo(default(ActivityTraceId)));
        Assert.That(evt.TraceId, Is.EqualTo(traceId));
        Assert.That(evt.SpanId, Is.EqualTo(spanId));
    }

    [TestCase(399, LogEventLevel.Information)]
    [TestCase(499, LogEventLevel.Information)]
    [TestCase(500, LogEventLevel.Error)]
    public async Task TheDefaultLevelIsErrorAbove499(int status, LogEventLevel expected)
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/status", () => Results.StatusCode(status));
        });
        using var client = app.CreateClient();

        await client.GetAsync("/status");

        var evt = _sink.WaitForCompletion("/status");
        Assert.That(evt.Level, Is.EqualTo(expected));
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(status));
    }

    [Test]
    public async Task TheCallbacksGetTheRequestsContextAndTheValuesTheEventIsWrittenWith()
    {
        var thrown = new InvalidOperationException("thrown");
        HttpContext? handled = null, enriched = null, leveled = null, templated = null;
        Exception? levelException = null;
        double levelElapsed = -1, templateElapsed = -2;
        string? templatePath = null;
        int templateStatus = 0;
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = _logger;
                var defaults = o.GetMessageTemplateProperties;
                o.GetLevel = (ctx, elapsed, ex) => { leveled = ctx; levelElapsed = elapsed; levelException = ex; return LogEventLevel.Warning; };
                o.EnrichDiagnosticContext = (_, ctx) => enriched = ctx;
                o.GetMessageTemplateProperties = (ctx, path, elapsed, status) =>
                {
                    templated = ctx;
                    templatePath = path;
                    templateElapsed = elapsed;
                    templateStatus = status;
                    return defaults(ctx, path, elapsed, status);
                };
            });
            a.Run(ctx => { handled = ctx; throw thrown; });
        });
        using var client = app.CreateClient();

        Assert.ThrowsAsync<InvalidOperationException>(() => client.GetAsync("/callbacks"));

        var evt = _sink.WaitForCompletion("/callbacks");
        Assert.That(handled, Is.Not.Null);
        Assert.That(new[] { enriched, leveled, templated }, Has.All.SameAs(handled));
        Assert.That(levelException, Is.SameAs(thrown));
        Assert.That(templatePath, Is.EqualTo("/callbacks"));
        Assert.That(templateStatus, Is.EqualTo(500));
        Assert.That(levelElapsed, Is.GreaterThan(0));
        Assert.That(templateElapsed, Is.EqualTo(levelElapsed));
        Assert.That(((ScalarValue)evt.Properties["Elapsed"]).Value, Is.EqualTo(levelElapsed));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Warning));
    }

    [Test]
    public async Task AnExceptionSetByTheEnrichCallbackIsAttachedWhenNoneEscapes()
    {
        var handled = new InvalidOperationException("set in EnrichDiagnosticContext");
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = _logger;
                o.EnrichDiagnosticContext = (dc, _) => dc.SetException(handled);
            });
            a.Run(_ => Task.CompletedTask);
        });
        using var client = app.CreateClient();

        await client.GetAsync("/enrich-exception");

        var evt = _sink.WaitForCompletion("/enrich-exception");
        Assert.That(evt.Exception, Is.SameAs(handled));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Information));
    }

    [Test]
    public async Task ValuesSetOutsideARequestReachNoRequestsEvent()
    {
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.Run(_ => Task.CompletedTask);
        });
        var context = app.App.Services.GetRequiredService<IDiagnosticContext>();
        context.Set("OutsideARequest", 1);
        context.SetException(new InvalidOperationException("outside"));
        using var client = app.CreateClient();

        await client.GetAsync("/after-outside");

        var evt = _sink.WaitForCompletion("/after-outside");
        Assert.That(evt.Properties.ContainsKey("OutsideARequest"), Is.False);
        Assert.That(evt.Exception, Is.Null);
    }

    [Test, NonParallelizable] // SelfLog is process-wide
    public async Task AnAuditLoggerThatFailsToWriteTheEventDoesNotFailTheRequest()
    {
        // A documented difference: Serilog.AspNetCore lets the audit sink's exception reach the server.
        var selfLog = new List<string>();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        using var audit = new LoggerConfiguration().AuditTo.Sink(new FailingSink()).CreateLogger();
        await using var app = await Start(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = audit);
            a.MapGet("/audited", () => "ok");
        });
        using var client = app.CreateClient();

        var response = await client.GetAsync("/audited");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("ok"));
        Assert.That(selfLog, Has.Some.Contains("Failed to write the request completion event").And.Contains("audit sink failed"));
    }

    sealed class FailingSink : Serilog.Core.ILogEventSink
    {
        public void Emit(LogEvent logEvent) => throw new IOException("audit sink failed");
    }

    [Test, NonParallelizable] // AddObservability sets Log.Logger
    public async Task TheCallbackSeesTheLoggerItWasGivenSoThatCodeDefaultingItChoosesTheLogger()
    {
        // Serilog.AspNetCore hands the callback the registered options as they are: Logger is null unless set, and code
        // written for it that fills in a logger only when none was given (`o.Logger ??= ...`) has its own logger write
        // the events. The host's logger is the default when the callback leaves it null, not a value it sees.
        using var logs = TempFolder.ForCaller();
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logs.Path, "app-.json")));
        var app = builder.Build();
        ILogger? seen = _logger;
        app.UseSerilogRequestLogging(o =>
        {
            seen = o.Logger;
            o.Logger ??= _logger;
        });
        app.MapGet("/defaulted", () => "ok");
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            await client.GetAsync("/defaulted");

            Assert.That(seen, Is.Null);
            Assert.That(EventText.Scalar(_sink.WaitForCompletion("/defaulted"), "SourceContext"), Is.EqualTo("Serilog.AspNetCore.RequestLoggingMiddleware"));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Log.CloseAndFlush();
        }
    }

    [Test, NonParallelizable] // AddObservability sets Log.Logger
    public async Task ALoggerSetInTheRegisteredOptionsIsWhatTheCallbackSeesAndWritesTheEvents()
    {
        // services.Configure<RequestLoggingOptions>(o => o.Logger = ...) wins over the host's logger, and the callback
        // sees it, as Serilog.AspNetCore hands the registered options over.
        using var logs = TempFolder.ForCaller();
        var builder = TestWeb.ProductionBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.Configure<RequestLoggingOptions>(o => o.Logger = _logger);
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logs.Path, "app-.json")));
        var app = builder.Build();
        ILogger? seen = null;
        app.UseSerilogRequestLogging(o => seen = o.Logger);
        app.MapGet("/registered", () => "ok");
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            await client.GetAsync("/registered");

            Assert.That(seen, Is.SameAs(_logger));
            Assert.That(EventText.Scalar(_sink.WaitForCompletion("/registered"), "SourceContext"), Is.EqualTo("Serilog.AspNetCore.RequestLoggingMiddleware"));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Log.CloseAndFlush();
        }
    }

    [Test, NonParallelizable] // AddObservability sets Log.Logger
    public async Task WithAddObservabilityTheEventCarriesTheHostsRequestScopeAsWithUseSerilog()
    {
        // Serilog.AspNetCore's README shows RequestId and ConnectionId on the completion event: ASP.NET Core's request
        // scope reaches Serilog's LogContext through Serilog.Extensions.Logging's provider.
        using var logs = TempFolder.ForCaller();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(logs.Path, "app-.json")));
        var app = builder.Build();
        app.UseSerilogRequestLogging();
        app.MapGet("/scoped", (IDiagnosticContext dc) => { dc.Set("CatalogLoadTime", 1423); return "ok"; });
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            await client.GetAsync("/scoped");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Log.CloseAndFlush();
        }

        var completion = Directory.GetFiles(logs.Path).SelectMany(File.ReadAllLines)
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement)
            .Single(e => e.TryGetProperty("SourceContext", out var c) && c.GetString() == "Serilog.AspNetCore.RequestLoggingMiddleware");
        Assert.That(completion.GetProperty("@mt").GetString(), Is.EqualTo(DefaultTemplate));
        Assert.That(completion.GetProperty("RequestPath").GetString(), Is.EqualTo("/scoped"));
        Assert.That(completion.GetProperty("CatalogLoadTime").GetInt32(), Is.EqualTo(1423));
        Assert.That(completion.TryGetProperty("RequestId", out _), Is.True, "RequestId");
        Assert.That(completion.TryGetProperty("ConnectionId", out _), Is.True, "ConnectionId");
    }
}
