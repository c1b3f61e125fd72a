using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Enrichers;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem;

/// <summary>
/// What users migrating from Serilog.Enrichers.CorrelationId 3.0.1 find: its <c>WithCorrelationIdHeader()</c> and
/// <c>WithCorrelationId()</c> and ours (<c>UseCorrelation()</c> with <c>Enrich.WithCorrelation()</c>) given the same
/// requests, and both on one logger, as in a migration half done. Every app also has <c>UseSerilogRequestLogging()</c>,
/// whose completion event is written after the response has started.
/// </summary>
[NonParallelizable] // SelfLog is process-wide, and so is the Log.Logger of the README example.
public class SerilogEnrichersCorrelationIdTests
{
    const string HeaderName = "X-Correlation-ID";

    // Serilog.Enrichers.CorrelationId's new ids: Guid.ToString(), with dashes.
    static readonly Regex TheirNewId =
        new("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", RegexOptions.None, TimeSpan.FromSeconds(1));

    public enum Setup
    {
        TheirHeaderEnricher,
        TheirEnricher,
        Ours,
        OursThenTheirHeaderEnricher,
        TheirHeaderEnricherThenOurs,
        OursThenTheirEnricher,
        TheirEnricherThenOurs,
    }

    static bool UsesOurs(Setup setup) => setup is not (Setup.TheirHeaderEnricher or Setup.TheirEnricher);

    static bool UsesTheirs(Setup setup) => setup is not Setup.Ours;

    static Logger CreateLogger(Setup setup, ILogEventSink sink)
    {
        var enrich = new LoggerConfiguration().MinimumLevel.Verbose().Enrich;
        var configuration = setup switch
        {
            Setup.TheirHeaderEnricher => enrich.WithCorrelationIdHeader(HeaderName),
            Setup.TheirEnricher => enrich.WithCorrelationId(),
            Setup.Ours => enrich.WithCorrelation(),
            Setup.OursThenTheirHeaderEnricher => enrich.WithCorrelation().Enrich.WithCorrelationIdHeader(HeaderName),
            Setup.TheirHeaderEnricherThenOurs => enrich.WithCorrelationIdHeader(HeaderName).Enrich.WithCorrelation(),
            Setup.OursThenTheirEnricher => enrich.WithCorrelation().Enrich.WithCorrelationId(),
            Setup.TheirEnricherThenOurs => enrich.WithCorrelationId().Enrich.WithCorrelation(),
            _ => throw new ArgumentOutOfRangeException(nameof(setup)),
        };
        return configuration.WriteTo.Sink(sink).CreateLogger();
    }

    /// <summary>An app as each package's README sets it up; its handler logs one event unless told not to.</summary>
    static Task<RunningApp> StartAsync(Setup setup, Logger logger, Func<Task>? gate = null, bool logInHandler = true,
        bool addHttpContextAccessor = true, Action<CorrelationOptions>? configure = null) =>
        TestWeb.StartTestServerAsync(app =>
        {
            if (UsesOurs(setup))
            {
                app.UseCorrelation(o =>
                {
                    o.Logger = logger;
                    configure?.Invoke(o);
                });
            }

            app.UseSerilogRequestLogging(o => o.Logger = logger);
            app.MapGet("/work/{request}", async (string request) =>
            {
                if (gate is not null) await gate();
                if (logInHandler)
                    logger.Information("Handler ran {Request} {RequestTraceId}", request, Activity.Current?.TraceId.ToHexString());
                return "ok";
            });
        }, services =>
        {
            // Serilog.Enrichers.CorrelationId finds the request through IHttpContextAccessor, which the host sets only
            // when it is registered.
            if (UsesTheirs(setup) && addHttpContextAccessor) services.AddHttpContextAccessor();
        });

    static Task<HttpContext> SendAsync(RunningApp app, StringValues header, string request = "one") =>
        app.TestServer.SendAsync(context =>
        {
            context.Request.Method = "GET";
            context.Request.Path = "/work/" + request;
            if (header.Count > 0) context.Request.Headers[HeaderName] = header;
        });

    sealed record Outcome(int Status, string Echo, LogEvent? Handler, LogEvent Completion, IReadOnlyList<LogEvent> Events)
    {
        public string? HandlerId => Handler is null ? null : EventText.Scalar(Handler, "CorrelationId");
        public string? CompletionId => EventText.Scalar(Completion, "CorrelationId");
        public string? RequestTraceId => Handler is null ? null : EventText.Scalar(Handler, "RequestTraceId");

        public IReadOnlyList<LogEvent> Rejections =>
            Events.Where(e => e.MessageTemplate.Text.StartsWith("Rejected the {HeaderName}", StringComparison.Ordinal)).ToList();
    }

    static IEnumerable<string> ScalarTexts(LogEvent logEvent) =>
        logEvent.Properties.Values.OfType<ScalarValue>().Select(v => v.Value?.ToString() ?? "");

    static async Task<Outcome> RunAsync(Setup setup, StringValues header, bool logInHandler = true, bool addHttpContextAccessor = true,
        Action<CorrelationOptions>? configure = null)
    {
        var sink = new WaitingSink();
        using var logger = CreateLogger(setup, sink);
        await using var app = await StartAsync(setup, logger, logInHandler: logInHandler, addHttpContextAccessor: addHttpContextAccessor,
            configure: configure);
        var context = await SendAsync(app, header);
        var completion = sink.WaitForCompletion("/work/one");
        var handler = logInHandler ? sink.WaitFor(e => e.MessageTemplate.Text.StartsWith("Handler ran", StringComparison.Ordinal)).Single() : null;
        return new Outcome(context.Response.StatusCode, context.Response.Headers[HeaderName].ToString(), handler, completion, sink.Events);
    }

    [Test]
    public async Task AnAcceptableHeaderIsLoggedAndEchoedByTheirHeaderEnricherAndOursAlikeAndIgnoredByTheirOtherOne()
    {
        const string id = "order-42.retry:1_a";

        var theirHeaderEnricher = await RunAsync(Setup.TheirHeaderEnricher, id);
        var ours = await RunAsync(Setup.Ours, id);
        var theirEnricher = await RunAsync(Setup.TheirEnricher, id);

        Assert.Multiple(() =>
        {
            foreach (var outcome in new[] { theirHeaderEnricher, ours })
            {
                Assert.That(outcome.HandlerId, Is.EqualTo(id));
                Assert.That(outcome.CompletionId, Is.EqualTo(id));
                Assert.That(outcome.Echo, Is.EqualTo(id));
            }

            // WithCorrelationId() never reads the header: a new id for the request, not echoed.
            Assert.That(theirEnricher.HandlerId, Does.Match(TheirNewId));
            Assert.That(theirEnricher.CompletionId, Is.EqualTo(theirEnricher.HandlerId));
            Assert.That(theirEnricher.Echo, Is.Empty);
        });
    }

    [Test]
    public async Task WithoutAHeaderTheirsMakeANewGuidAndOursTakesTheRequestsTraceId()
    {
        var theirHeaderEnricher = await RunAsync(Setup.TheirHeaderEnricher, StringValues.Empty);
        var theirEnricher = await RunAsync(Setup.TheirEnricher, StringValues.Empty);
        var ours = await RunAsync(Setup.Ours, StringValues.Empty);

        Assert.Multiple(() =>
        {
            Assert.That(theirHeaderEnricher.HandlerId, Does.Match(TheirNewId));
            Assert.That(theirHeaderEnricher.CompletionId, Is.EqualTo(theirHeaderEnricher.HandlerId));
            Assert.That(theirHeaderEnricher.Echo, Is.EqualTo(theirHeaderEnricher.HandlerId));

            Assert.That(theirEnricher.HandlerId, Does.Match(TheirNewId));
            Assert.That(theirEnricher.CompletionId, Is.EqualTo(theirEnricher.HandlerId));
            Assert.That(theirEnricher.Echo, Is.Empty);

            Assert.That(ours.RequestTraceId, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(ours.HandlerId, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.CompletionId, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.Echo, Is.EqualTo(ours.RequestTraceId));
        });
    }

    [Test]
    public async Task AnEmptyHeaderIsTakenAsAbsentByTheirHeaderEnricherAndOurs()
    {
        var theirs = await RunAsync(Setup.TheirHeaderEnricher, "");
        var ours = await RunAsync(Setup.Ours, "");

        Assert.Multiple(() =>
        {
            Assert.That(theirs.HandlerId, Does.Match(TheirNewId));
            Assert.That(theirs.Echo, Is.EqualTo(theirs.HandlerId));

            // As without a header: the trace id, echoed, and no warning.
            Assert.That(ours.HandlerId, Is.EqualTo(ours.RequestTraceId).And.Match("^[0-9a-f]{32}$"));
            Assert.That(ours.CompletionId, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.Echo, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.Rejections, Is.Empty);
        });
    }

    [Test]
    public async Task WithTrustIncomingIdOffOursIgnoresTheHeaderAsTheirWithCorrelationIdDidAndEchoesItsOwnId()
    {
        const string id = "order-42.retry:1_a";

        var theirEnricher = await RunAsync(Setup.TheirEnricher, id);
        var ours = await RunAsync(Setup.Ours, id, configure: o => o.TrustIncomingId = false);

        Assert.Multiple(() =>
        {
            Assert.That(theirEnricher.HandlerId, Does.Match(TheirNewId));
            Assert.That(theirEnricher.Echo, Is.Empty);

            Assert.That(ours.HandlerId, Is.EqualTo(ours.RequestTraceId).And.Match("^[0-9a-f]{32}$"));
            Assert.That(ours.CompletionId, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.Echo, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.Rejections, Is.Empty);
            Assert.That(ours.Events.SelectMany(ScalarTexts), Has.None.Contains(id));
        });
    }

    public static IEnumerable<TestCaseData> InvalidHeaders()
    {
        yield return new TestCaseData(new string('a', CorrelationOptions.MaxIdLength + 1)).SetName("{m}(OneOverTheLimit)");
        yield return new TestCaseData("order\u0001-42").SetName("{m}(ControlCharacter)");
    }

    [TestCaseSource(nameof(InvalidHeaders))]
    public async Task AnInvalidHeaderTheirHeaderEnricherLogsAndEchoesAsItCameOursReplacesAndReports(string invalid)
    {
        var theirs = await RunAsync(Setup.TheirHeaderEnricher, invalid);
        var ours = await RunAsync(Setup.Ours, invalid);

        Assert.Multiple(() =>
        {
            Assert.That(theirs.HandlerId, Is.EqualTo(invalid));
            Assert.That(theirs.CompletionId, Is.EqualTo(invalid));
            Assert.That(theirs.Echo, Is.EqualTo(invalid));
            Assert.That(theirs.Rejections, Is.Empty);

            // On purpose: never logged or echoed raw; the trace id replaces it and a warning says so, without the value.
            Assert.That(ours.HandlerId, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.CompletionId, Is.EqualTo(ours.RequestTraceId));
            Assert.That(ours.Echo, Is.EqualTo(ours.RequestTraceId));
            var rejection = ours.Rejections.Single();
            Assert.That(rejection.Level, Is.EqualTo(LogEventLevel.Warning));
            Assert.That(EventText.Scalar(rejection, "Length"), Is.EqualTo(invalid.Length.ToString()));
            Assert.That(ours.Events.SelectMany(ScalarTexts), Has.None.Contains(invalid));
        });
    }

    [TestCase(Setup.TheirHeaderEnricher)]
    [TestCase(Setup.TheirEnricher)]
    [TestCase(Setup.Ours)]
    public async Task TwoRequestsInTheHandlerAtOnceEachKeepTheirOwnId(Setup setup)
    {
        var sink = new WaitingSink();
        using var logger = CreateLogger(setup, sink);
        // Both handlers log only once both requests are inside one.
        var arrived = 0;
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(setup, logger, gate: () =>
        {
            if (Interlocked.Increment(ref arrived) == 2) both.SetResult();
            return both.Task.WaitAsync(TimeSpan.FromSeconds(15));
        });

        var responses = await Task.WhenAll(SendAsync(app, "request-a", "a"), SendAsync(app, StringValues.Empty, "b"));

        var handlers = sink.WaitFor(e => e.MessageTemplate.Text.StartsWith("Handler ran", StringComparison.Ordinal), 2);
        LogEvent HandlerOf(string request) => handlers.Single(e => EventText.Scalar(e, "Request") == request);
        string? Id(LogEvent e) => EventText.Scalar(e, "CorrelationId");
        var (a, b) = (HandlerOf("a"), HandlerOf("b"));
        var (completionA, completionB) = (sink.WaitForCompletion("/work/a"), sink.WaitForCompletion("/work/b"));
        var (echoA, echoB) = (responses[0].Response.Headers[HeaderName].ToString(), responses[1].Response.Headers[HeaderName].ToString());

        Assert.Multiple(() =>
        {
            Assert.That(Id(completionA), Is.EqualTo(Id(a)));
            Assert.That(Id(completionB), Is.EqualTo(Id(b)));
            switch (setup)
            {
                case Setup.TheirHeaderEnricher:
                    Assert.That(Id(a), Is.EqualTo("request-a"));
                    Assert.That(Id(b), Does.Match(TheirNewId));
                    Assert.That((echoA, echoB), Is.EqualTo(("request-a", Id(b))));
                    break;
                case Setup.TheirEnricher:
                    Assert.That(Id(a), Does.Match(TheirNewId).And.Not.EqualTo(Id(b)));
                    Assert.That(Id(b), Does.Match(TheirNewId));
                    Assert.That((echoA, echoB), Is.EqualTo(("", "")));
                    break;
                default:
                    Assert.That(Id(a), Is.EqualTo("request-a"));
                    Assert.That(Id(b), Is.EqualTo(EventText.Scalar(b, "RequestTraceId")).And.Not.EqualTo(EventText.Scalar(a, "RequestTraceId")));
                    Assert.That((echoA, echoB), Is.EqualTo(("request-a", Id(b))));
                    break;
            }
        });
    }

    [Test]
    public async Task TheirHeaderEnricherEchoesAndTagsARequestOnlyOnceAnEventIsWrittenBeforeTheResponseStarts()
    {
        var selfLog = new List<string>();
        Outcome theirs;
        using (TemporarySelfLog.SaveTo(selfLog))
            theirs = await RunAsync(Setup.TheirHeaderEnricher, "order-42", logInHandler: false);
        var ours = await RunAsync(Setup.Ours, "order-42", logInHandler: false);

        Assert.Multiple(() =>
        {
            // Its echo is a side effect of enriching an event; after the response has started, adding the header throws,
            // and the event loses the property (the exception goes to SelfLog).
            Assert.That(theirs.Echo, Is.Empty);
            Assert.That(theirs.Completion.Properties.ContainsKey("CorrelationId"), Is.False);
            Assert.That(selfLog, Has.Some.Contains("InvalidOperationException"));

            Assert.That(ours.Echo, Is.EqualTo("order-42"));
            Assert.That(ours.CompletionId, Is.EqualTo("order-42"));
        });
    }

    [Test]
    public async Task WithoutIHttpContextAccessorRegisteredTheirEnrichersAddNothing()
    {
        var header = await RunAsync(Setup.TheirHeaderEnricher, "order-42", addHttpContextAccessor: false);
        var plain = await RunAsync(Setup.TheirEnricher, "order-42", addHttpContextAccessor: false);

        Assert.Multiple(() =>
        {
            foreach (var outcome in new[] { header, plain })
            {
                Assert.That(outcome.Events.Where(e => e.Properties.ContainsKey("CorrelationId")), Is.Empty);
                Assert.That(outcome.Echo, Is.Empty);
            }
        });
    }

    [TestCase(Setup.OursThenTheirHeaderEnricher)]
    [TestCase(Setup.TheirHeaderEnricherThenOurs)]
    [TestCase(Setup.OursThenTheirEnricher)]
    [TestCase(Setup.TheirEnricherThenOurs)]
    public async Task WithBothOnOneLoggerTheirValueWinsOnRequestEventsWhateverTheOrderAndNothingIsThrown(Setup setup)
    {
        var invalid = new string('a', CorrelationOptions.MaxIdLength + 1);
        var selfLog = new List<string>();
        Outcome outcome;
        LogEvent outside;
        using (TemporarySelfLog.SaveTo(selfLog))
        {
            outcome = await RunAsync(setup, invalid);
            var sink = new WaitingSink();
            using var logger = CreateLogger(setup, sink);
            using (CorrelationContext.Begin("batch-7")) logger.Information("Outside a request");
            outside = sink.Events.Single();
        }

        var rejection = outcome.Rejections.Single();
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Status, Is.EqualTo(StatusCodes.Status200OK));
            Assert.That(selfLog, Is.Empty);
            if (setup is Setup.OursThenTheirHeaderEnricher or Setup.TheirHeaderEnricherThenOurs)
            {
                // Its value replaces ours, on our own warning too: the header is logged and echoed as it came.
                Assert.That(outcome.HandlerId, Is.EqualTo(invalid));
                Assert.That(outcome.CompletionId, Is.EqualTo(invalid));
                Assert.That(EventText.Scalar(rejection, "CorrelationId"), Is.EqualTo(invalid));
                Assert.That(outcome.Echo, Is.EqualTo(invalid));
            }
            else
            {
                // Its new id replaces ours on every event of the request, while the response carries ours.
                Assert.That(outcome.HandlerId, Does.Match(TheirNewId));
                Assert.That(outcome.CompletionId, Is.EqualTo(outcome.HandlerId));
                Assert.That(EventText.Scalar(rejection, "CorrelationId"), Is.EqualTo(outcome.HandlerId));
                Assert.That(outcome.Echo, Is.EqualTo(outcome.RequestTraceId));
            }

            // Outside a request theirs add nothing, and ours stands.
            Assert.That(EventText.Scalar(outside, "CorrelationId"), Is.EqualTo("batch-7"));
        });
    }

    [Test]
    public async Task TheReadmesMigrationExampleIsThisCodeAndCorrelatesTheRequest()
    {
        var builder = TestWeb.ProductionBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        var console = new StringWriter();
        var original = Console.Out;
        Console.SetOut(console);
        try
        {
            // README: begin
            Log.Logger = new LoggerConfiguration()
                .Enrich.WithCorrelation()   // was .Enrich.WithCorrelationIdHeader("X-Correlation-ID") or .WithCorrelationId()
                .WriteTo.Console(outputTemplate: "[{Level:u3}] {CorrelationId} {Message:lj}{NewLine}{Exception}")
                .CreateLogger();

            // builder.Services.AddHttpContextAccessor() can go unless code of your own uses IHttpContextAccessor.
            var app = builder.Build();
            app.UseCorrelation(o => o.HeaderName = "X-Correlation-ID"); // first; the header WithCorrelationIdHeader read
            app.UseSerilogRequestLogging();
            // README: end
            app.MapGet("/orders/{id}", (int id) => Log.Information("Order {OrderId} placed", id));
            await app.StartAsync();
            try
            {
                var valid = await app.GetTestServer().SendAsync(c =>
                {
                    c.Request.Path = "/orders/7";
                    c.Request.Headers[HeaderName] = "order-7";
                });
                var invalid = await app.GetTestServer().SendAsync(c =>
                {
                    c.Request.Path = "/orders/8";
                    c.Request.Headers[HeaderName] = "order\u0001-8";
                });
                Log.CloseAndFlush();

                var lines = console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
                var replacement = invalid.Response.Headers[HeaderName].ToString();
                Assert.Multiple(() =>
                {
                    Assert.That(valid.Response.Headers[HeaderName].ToString(), Is.EqualTo("order-7"));
                    Assert.That(lines, Has.One.StartsWith("[INF] order-7 Order 7 placed"));
                    Assert.That(lines, Has.One.StartsWith("[INF] order-7 HTTP GET /orders/7 responded 200"));
                    Assert.That(replacement, Does.Match("^[0-9a-f]{32}$"));
                    Assert.That(lines, Has.One.StartsWith($"[WRN] {replacement} Rejected the X-Correlation-ID request header"));
                    Assert.That(lines, Has.One.StartsWith($"[INF] {replacement} Order 8 placed"));
                });
            }
            finally
            {
                await app.DisposeAsync();
            }
        }
        finally
        {
            Console.SetOut(original);
            Log.CloseAndFlush();
        }

        Assert.That(ReadmeBlock("## Migrating from Serilog.Enrichers.CorrelationId"), Is.EqualTo(ThisTestsReadmeRegion()));
    }

    static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serilog.Extensions.Observability.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "The repository root was not found above the test assembly.");
        return dir!.FullName;
    }

    static string ReadmeBlock(string heading)
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "Serilog.Extensions.Observability.AspNetCore", "README.md"));
        var section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"The README has no '{heading}'.");
        var start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    /// <summary>The lines between the README markers of the test above, less the test's indentation.</summary>
    static string ThisTestsReadmeRegion()
    {
        var source = File.ReadAllLines(Path.Combine(RepositoryRoot(), "tests", "Serilog.Extensions.Observability.AspNetCore.Tests",
            "Ecosystem", "SerilogEnrichersCorrelationIdTests.cs"));
        var begin = Array.FindIndex(source, l => l.Trim() == "// README: begin");
        var end = Array.FindIndex(source, l => l.Trim() == "// README: end");
        var indent = source[begin].Length - source[begin].TrimStart().Length;
        return string.Concat(source[(begin + 1)..end].Select(l => (l.Length >= indent ? l[indent..] : l.TrimStart()) + "\n"));
    }
}
