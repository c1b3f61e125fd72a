using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.AspNetCore;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.RequestLogging;

/// <summary>
/// What the completion event costs per request, and that what it saves leaves the event as it was: the same
/// properties, in the same order, with the same values and value types.
/// </summary>
[NonParallelizable]
public class CompletionEventAllocationTests
{
    static readonly Func<HttpContext, string, double, int, IEnumerable<LogEventProperty>> Default = new RequestLoggingOptions().GetMessageTemplateProperties;

    // The default GetMessageTemplateProperties, called through a delegate of the application's own: the general path.
    static readonly Func<HttpContext, string, double, int, IEnumerable<LogEventProperty>> ThroughTheCallback =
        (context, path, elapsed, status) => Default(context, path, elapsed, status);

    static (InProcessPipeline Pipeline, CollectingSink Sink, IAsyncDisposable App) Start(Action<RequestLoggingOptions>? configure, Action<HttpContext>? handler = null)
    {
        var sink = new CollectingSink();
        var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var pipeline = InProcessPipeline.Build(app, a =>
        {
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = logger;
                configure?.Invoke(o);
            });
            a.Run(context =>
            {
                (handler ?? (c => c.Response.StatusCode = 200))(context);
                return Task.CompletedTask;
            });
        });
        return (pipeline, sink, new Owned(app, logger));
    }

    sealed class Owned(WebApplication app, Logger logger) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await app.DisposeAsync();
            logger.Dispose();
        }
    }

    static LogEvent CompletionEvent(Action<RequestLoggingOptions>? configure, string method, int status)
    {
        var (pipeline, sink, app) = Start(configure, c => c.Response.StatusCode = status);
        try
        {
            pipeline.Send(method, "/orders/7");
            return sink.SingleEvent;
        }
        finally
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [TestCase("GET", 200)]
    [TestCase("POST", 201)]
    [TestCase("DELETE", 404)]
    [TestCase("OPTIONS", 599)]
    [TestCase("PROPFIND", 207)]
    [TestCase("get", 100)]
    [TestCase("GET", 99)]
    [TestCase("GET", 600)]
    public void TheDefaultTemplatePropertiesAreThoseTheCallbackGives(string method, int status)
    {
        var fast = CompletionEvent(null, method, status);
        var general = CompletionEvent(o => o.GetMessageTemplateProperties = ThroughTheCallback, method, status);

        Assert.That(fast.Properties.Keys, Is.EqualTo(general.Properties.Keys));
        Assert.That(fast.Properties.Keys, Is.EqualTo(new[] { "RequestMethod", "RequestPath", "StatusCode", "Elapsed", "SourceContext" }));
        foreach (var name in new[] { "RequestMethod", "RequestPath", "StatusCode" })
        {
            var expected = ((ScalarValue)general.Properties[name]).Value;
            var actual = ((ScalarValue)fast.Properties[name]).Value;
            Assert.That(actual, Is.EqualTo(expected), name);
            Assert.That(actual!.GetType(), Is.EqualTo(expected!.GetType()), name);
        }
        Assert.That(((ScalarValue)fast.Properties["RequestMethod"]).Value, Is.EqualTo(method));
        Assert.That(((ScalarValue)fast.Properties["StatusCode"]).Value, Is.EqualTo(status));
        Assert.That(((ScalarValue)fast.Properties["Elapsed"]).Value, Is.TypeOf<double>());
    }

    [Test]
    public void TheDefaultTemplatePropertiesRenderTheMessageAsTheCallbacksDo()
    {
        static string Rendered(LogEvent e)
        {
            var copy = new LogEvent(e.Timestamp, e.Level, e.Exception, e.MessageTemplate,
                e.Properties.Where(p => p.Key != "Elapsed").Select(p => new LogEventProperty(p.Key, p.Value)).Append(new LogEventProperty("Elapsed", new ScalarValue(1.25))));
            return copy.RenderMessage();
        }

        var fast = CompletionEvent(null, "PUT", 204);
        var general = CompletionEvent(o => o.GetMessageTemplateProperties = ThroughTheCallback, "PUT", 204);
        Assert.That(Rendered(fast), Is.EqualTo("HTTP \"PUT\" \"/orders/7\" responded 204 in 1.2500 ms"));
        Assert.That(Rendered(fast), Is.EqualTo(Rendered(general)));
    }

    [Test]
    public void ACallbackOfTheApplicationStillDecidesTheTemplateProperties()
    {
        var custom = CompletionEvent(o => o.GetMessageTemplateProperties = (_, _, _, status) => [new LogEventProperty("Status", new ScalarValue(status))], "GET", 200);
        Assert.That(custom.Properties.ContainsKey("RequestMethod"), Is.False);
        Assert.That(((ScalarValue)custom.Properties["Status"]).Value, Is.EqualTo(200));
    }

    [Test]
    public async Task TheDefaultTemplatePropertiesCostLessThanTheGeneralPath()
    {
        // Deterministic: the same requests on this thread allocate the same bytes each run. The default path builds no
        // list and reuses the method's and the status code's properties: 4 properties, 5 values and the list fewer.
        var (fast, _, fastApp) = Start(null);
        var (general, _, generalApp) = Start(o => o.GetMessageTemplateProperties = ThroughTheCallback);
        await using (fastApp)
        await using (generalApp)
        {
            var saved = general.BytesPerRequest() - fast.BytesPerRequest();
            TestContext.Out.WriteLine($"saved {saved:F1} B/request");
            Assert.That(saved, Is.GreaterThan(150));
        }
    }

    [Test]
    public async Task EachEventHasItsOwnRequestsPathWhenPathsAlternate()
    {
        var (pipeline, sink, app) = Start(null);
        await using (app)
        {
            foreach (var path in new[] { "/a", "/b", "/b", "/a", "/A" }) pipeline.Send(path: path);
            Assert.That(sink.Events.Select(e => ((ScalarValue)e.Properties["RequestPath"]).Value), Is.EqualTo(new[] { "/a", "/b", "/b", "/a", "/A" }));
        }
    }

    [Test]
    public async Task ARequestWithTheThreadsLastPathReusesItsPathProperty()
    {
        // Deterministic, as above: alternating paths build a RequestPath property (and value) for every request.
        var (pipeline, _, app) = Start(null);
        await using (app)
        {
            var repeated = pipeline.BytesPerRequest(2000, "/orders");
            var alternating = pipeline.BytesPerRequest(2000, "/orders", "/customers");
            TestContext.Out.WriteLine($"repeated {repeated:F1} B/request, alternating {alternating:F1} B/request");
            Assert.That(alternating - repeated, Is.GreaterThan(40));
        }
    }
}
