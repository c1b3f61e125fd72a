using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Correlation;

public class CorrelationMiddlewareTests
{
    static readonly Regex AcceptableId = new("^[A-Za-z0-9._:-]{1,128}$", RegexOptions.None, TimeSpan.FromSeconds(1));

    WaitingSink _sink = null!;
    Logger _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _sink = new WaitingSink();
        _logger = TestWeb.CreateLogger(_sink);
    }

    [TearDown]
    public void TearDown() => _logger.Dispose();

    void Pipeline(WebApplication app, Action<CorrelationOptions>? configure = null, Action<WebApplication>? afterCorrelation = null)
    {
        app.UseCorrelation(o =>
        {
            o.Logger = _logger;
            configure?.Invoke(o);
        });
        afterCorrelation?.Invoke(app);
        app.UseSerilogRequestLogging(o => o.Logger = _logger);
        app.MapGet("/work", () =>
        {
            _logger.Information("Handler ran");
            return "ok";
        });
        app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
    }

    static void Services(IServiceCollection services) { }

    [Test]
    public async Task AnAcceptableIncomingIdIsUsedForEveryEventAndEchoed()
    {
        await using var app = await TestWeb.StartKestrelAsync(a => Pipeline(a), Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
        request.Headers.Add("X-Correlation-ID", "order-42.retry:1_a-b");

        var response = await client.SendAsync(request);

        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("order-42.retry:1_a-b"));
        var completion = _sink.WaitForCompletion("/work");
        var handler = _sink.WaitFor(e => e.MessageTemplate.Text == "Handler ran").Single();
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo("order-42.retry:1_a-b"));
        Assert.That(EventText.Scalar(handler, "CorrelationId"), Is.EqualTo("order-42.retry:1_a-b"));
    }

    [Test]
    public async Task WithoutAHeaderTheTraceIdBecomesTheCorrelationIdAndIsEchoed()
    {
        await using var app = await TestWeb.StartKestrelAsync(a => Pipeline(a), Services);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/work");

        var echoed = response.Headers.GetValues("X-Correlation-ID").Single();
        var completion = _sink.WaitForCompletion("/work");
        Assert.That(echoed, Is.EqualTo(completion.TraceId!.Value.ToHexString()));
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo(echoed));
    }

    [Test]
    public async Task WithoutAHeaderOrTraceIdUseANewId()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o => o.UseTraceIdWhenMissing = false), Services);
        using var client = app.CreateClient();

        var first = (await client.GetAsync("/work")).Headers.GetValues("X-Correlation-ID").Single();
        var second = (await client.GetAsync("/work")).Headers.GetValues("X-Correlation-ID").Single();

        Assert.That(first, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(second, Does.Match("^[0-9a-f]{32}$").And.Not.EqualTo(first));
    }

    [Test]
    public async Task AdditionalHeaderNamesAreAcceptedWhenTheMainOneIsAbsent()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o => o.AdditionalHeaderNames.Add("X-Request-ID")), Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
        request.Headers.Add("X-Request-ID", "req-7");

        var response = await client.SendAsync(request);

        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("req-7"));
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/work"), "CorrelationId"), Is.EqualTo("req-7"));
    }

    public static IEnumerable<TestCaseData> HostileHeaders()
    {
        yield return new TestCaseData((object)new[] { "abc\r\nSet-Cookie: pwned=1" }).SetName("CarriageReturnLineFeed");
        yield return new TestCaseData((object)new[] { new string('A', 10 * 1024) }).SetName("TenKilobytes");
        yield return new TestCaseData((object)new[] { new string('b', 129) }).SetName("OneOverTheLimit");
        yield return new TestCaseData((object)new[] { "ünïcødé-ID" }).SetName("NonAscii");
        yield return new TestCaseData((object)new[] { "has space" }).SetName("Space");
        yield return new TestCaseData((object)new[] { "<script>alert(1)</script>" }).SetName("Markup");
        yield return new TestCaseData((object)new[] { "first-id", "second-id" }).SetName("SeveralValues");
        // One line listing two values, as a proxy that joins header lines writes them.
        yield return new TestCaseData((object)new[] { "first-id, second-id" }).SetName("TwoValuesOnOneLine");
        // Several lines stay several values, even when some or all of them are blank.
        yield return new TestCaseData((object)new[] { "", "first-id" }).SetName("AnEmptyLineThenAnAcceptableOne");
        yield return new TestCaseData((object)new[] { "", "" }).SetName("TwoEmptyLines");
    }

    static bool IsRejection(LogEvent e) => e.MessageTemplate.Text.StartsWith("Rejected the {HeaderName}", StringComparison.Ordinal);

    // An empty field value, or one of optional white space only (RFC 9110 strips it around every field value): the
    // header says nothing, as if absent. Kestrel strips it itself; the test server hands it over as it came.
    [TestCase("")]
    [TestCase(" ")]
    [TestCase("\t")]
    [TestCase(" \t  ")]
    public async Task AnEmptyOrBlankHeaderCountsAsAbsentAndIsReplacedWithoutAWarning(string blank)
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o => o.UseTraceIdWhenMissing = false), Services);

        var context = await app.TestServer.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = "/work";
            ctx.Request.Headers["X-Correlation-ID"] = blank;
        });

        var echoed = context.Response.Headers["X-Correlation-ID"].ToString();
        Assert.That(echoed, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/work"), "CorrelationId"), Is.EqualTo(echoed));
        // The warning is written before the completion event, in the request's own flow.
        Assert.That(_sink.Events.Where(IsRejection), Is.Empty);
    }

    [Test]
    public async Task AnEmptyHeaderOnKestrelIsReplacedByTheTraceIdWithoutAWarning()
    {
        await using var app = await TestWeb.StartKestrelAsync(a => Pipeline(a), Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
        request.Headers.TryAddWithoutValidation("X-Correlation-ID", "");

        var response = await client.SendAsync(request);

        var completion = _sink.WaitForCompletion("/work");
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo(completion.TraceId!.Value.ToHexString()));
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo(completion.TraceId!.Value.ToHexString()));
        Assert.That(_sink.Events.Where(IsRejection), Is.Empty);
    }

    [Test]
    public async Task AnEmptyMainHeaderLetsTheAdditionalHeadersBeTried()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o => o.AdditionalHeaderNames.Add("X-Request-ID")), Services);

        var context = await app.TestServer.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = "/work";
            ctx.Request.Headers["X-Correlation-ID"] = "";
            ctx.Request.Headers["X-Request-ID"] = "req-7";
        });

        Assert.That(context.Response.Headers["X-Correlation-ID"].ToString(), Is.EqualTo("req-7"));
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/work"), "CorrelationId"), Is.EqualTo("req-7"));
        Assert.That(_sink.Events.Where(IsRejection), Is.Empty);
    }

    [Test]
    public void IncomingIdsAreTrustedByDefault() => Assert.That(new CorrelationOptions().TrustIncomingId, Is.True);

    [Test]
    public async Task WithTrustIncomingIdOffAnAcceptableIdIsIgnoredAndTheTraceIdIsUsedAndEchoed()
    {
        await using var app = await TestWeb.StartKestrelAsync(a => Pipeline(a, o =>
        {
            o.TrustIncomingId = false;
            o.AdditionalHeaderNames.Add("X-Request-ID");
        }), Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
        request.Headers.Add("X-Correlation-ID", "chosen-by-the-caller-1");
        request.Headers.Add("X-Request-ID", "chosen-by-the-caller-2");

        var response = await client.SendAsync(request);

        var completion = _sink.WaitForCompletion("/work");
        var traceId = completion.TraceId!.Value.ToHexString();
        var handler = _sink.WaitFor(e => e.MessageTemplate.Text == "Handler ran").Single();
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo(traceId));
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo(traceId));
        Assert.That(EventText.Scalar(handler, "CorrelationId"), Is.EqualTo(traceId));
        Assert.That(_sink.Events.Where(IsRejection), Is.Empty);
        Assert.That(_sink.Events.Select(EventText.Of), Has.None.Contains("chosen-by-the-caller"), "An ignored id reached an event.");
    }

    [Test]
    public async Task WithTrustIncomingIdOffAndNoTraceIdEachRequestGetsANewIdWhateverItSends()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o =>
        {
            o.TrustIncomingId = false;
            o.UseTraceIdWhenMissing = false;
        }), Services);

        async Task<string> SendAsync(string header)
        {
            var context = await app.TestServer.SendAsync(ctx =>
            {
                ctx.Request.Method = "GET";
                ctx.Request.Path = "/work";
                ctx.Request.Headers["X-Correlation-ID"] = header;
            });
            return context.Response.Headers["X-Correlation-ID"].ToString();
        }

        var first = await SendAsync("same-id");
        var second = await SendAsync("same-id");

        Assert.That(first, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(second, Does.Match("^[0-9a-f]{32}$").And.Not.EqualTo(first));
        var completions = _sink.WaitFor(e => e.Properties.ContainsKey("RequestPath"), 2);
        Assert.That(completions.Select(e => EventText.Scalar(e, "CorrelationId")), Is.EquivalentTo(new[] { first, second }));
    }

    [Test]
    public async Task WithTrustIncomingIdOffATraceparentStillChoosesTheTraceIdUnlessTheTraceIdIsNotUsed()
    {
        // What the option's docs say: ASP.NET Core continues the caller's trace, so only a new id escapes the caller's choice.
        const string callersTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

        async Task<string> SendAsync(bool useTraceId)
        {
            await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o =>
            {
                o.TrustIncomingId = false;
                o.UseTraceIdWhenMissing = useTraceId;
            }), Services);
            var context = await app.TestServer.SendAsync(ctx =>
            {
                ctx.Request.Method = "GET";
                ctx.Request.Path = "/work";
                ctx.Request.Headers["traceparent"] = $"00-{callersTrace}-00f067aa0ba902b7-01";
                ctx.Request.Headers["X-Correlation-ID"] = "chosen-by-the-caller";
            });
            return context.Response.Headers["X-Correlation-ID"].ToString();
        }

        Assert.That(await SendAsync(useTraceId: true), Is.EqualTo(callersTrace));
        Assert.That(await SendAsync(useTraceId: false), Does.Match("^[0-9a-f]{32}$").And.Not.EqualTo(callersTrace));
    }

    [Test]
    public async Task WithTrustIncomingIdOffAHostileHeaderIsIgnoredWithoutAWarning()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o => o.TrustIncomingId = false), Services);

        var context = await app.TestServer.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = "/work";
            ctx.Request.Headers["X-Correlation-ID"] = new string('A', 10 * 1024);
        });

        var echoed = context.Response.Headers["X-Correlation-ID"].ToString();
        Assert.That(echoed, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/work"), "CorrelationId"), Is.EqualTo(echoed));
        Assert.That(_sink.Events.Where(IsRejection), Is.Empty);
    }

    [Test]
    public async Task WithTrustIncomingIdOffARequestHeadersEntryStillCopiesTheCallersHeaderIntoTheCompletionEvent()
    {
        // What the option's docs say: it governs UseCorrelation() only; the request logging's allow-list is the application's.
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            a.UseCorrelation(o =>
            {
                o.Logger = _logger;
                o.TrustIncomingId = false;
            });
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = _logger;
                o.RequestHeaders = ["X-Correlation-ID"];
            });
            a.MapGet("/work", () => "ok");
        }, Services);

        await app.TestServer.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = "/work";
            ctx.Request.Headers["X-Correlation-ID"] = "chosen-by-the-caller";
        });

        var completion = _sink.WaitForCompletion("/work");
        var headers = ((DictionaryValue)completion.Properties["RequestHeaders"]).Elements
            .ToDictionary(kv => (string)kv.Key.Value!, kv => ((ScalarValue)kv.Value).Value);
        Assert.That(headers["X-Correlation-ID"], Is.EqualTo("chosen-by-the-caller"));
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Does.Match("^[0-9a-f]{32}$"));
    }

    [Test]
    public async Task WithTrustIncomingIdAndTheEchoOffNoHeaderIsSent()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o =>
        {
            o.TrustIncomingId = false;
            o.EchoResponseHeader = false;
        }), Services);

        var context = await app.TestServer.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = "/work";
            ctx.Request.Headers["X-Correlation-ID"] = "chosen-by-the-caller";
        });

        Assert.That(context.Response.Headers.ContainsKey("X-Correlation-ID"), Is.False);
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/work"), "CorrelationId"), Does.Match("^[0-9a-f]{32}$"));
    }

    [Test]
    public async Task TheRejectedHeaderWarningCarriesTheIdTheRequestIsAnsweredWith()
    {
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            a.UseCorrelation(o => { o.Logger = _logger; o.UseTraceIdWhenMissing = false; });
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/work", () => "ok");
        });

        var context = await app.TestServer.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = "/work";
            ctx.Request.Headers["X-Correlation-ID"] = "bad value";
        });

        var echoed = context.Response.Headers["X-Correlation-ID"].ToString();
        var rejection = _sink.WaitFor(e => e.MessageTemplate.Text.StartsWith("Rejected the {HeaderName}", StringComparison.Ordinal)).Single();
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/work"), "CorrelationId"), Is.EqualTo(echoed));
        Assert.That(EventText.Scalar(rejection, "CorrelationId"), Is.EqualTo(echoed));
    }

    [Test]
    public async Task TheRejectedHeaderWarningSaysWhetherTheTraceIdOrANewIdReplacedIt()
    {
        // On Kestrel the request has a W3C trace id, which replaces the rejected header: the warning must not say "new".
        await using (var app = await TestWeb.StartKestrelAsync(a => Pipeline(a), Services))
        {
            using var client = app.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
            request.Headers.TryAddWithoutValidation("X-Correlation-ID", "bad value");
            var echoed = (await client.SendAsync(request)).Headers.GetValues("X-Correlation-ID").Single();

            Assert.That(echoed, Is.EqualTo(_sink.WaitForCompletion("/work").TraceId!.Value.ToHexString()));
            var rejection = _sink.WaitFor(e => e.MessageTemplate.Text.StartsWith("Rejected the {HeaderName}", StringComparison.Ordinal)).Single();
            Assert.That(rejection.RenderMessage(), Does.Contain("the trace id is used").And.Not.Contain("new"));
        }

        _sink = new WaitingSink();
        _logger.Dispose();
        _logger = TestWeb.CreateLogger(_sink);
        await using (var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, o => o.UseTraceIdWhenMissing = false), Services))
        {
            var context = await app.TestServer.SendAsync(ctx =>
            {
                ctx.Request.Method = "GET";
                ctx.Request.Path = "/work";
                ctx.Request.Headers["X-Correlation-ID"] = "bad value";
            });

            var rejection = _sink.WaitFor(e => e.MessageTemplate.Text.StartsWith("Rejected the {HeaderName}", StringComparison.Ordinal)).Single();
            Assert.That(rejection.RenderMessage(), Does.Contain("a new correlation id is used"));
        }
    }

    [TestCaseSource(nameof(HostileHeaders))]
    public async Task AHostileHeaderIsReplacedNeverEchoedAndNeverLoggedRaw(string[] hostile)
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a), Services);

        var context = await app.TestServer.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = "/work";
            ctx.Request.Headers["X-Correlation-ID"] = new StringValues(hostile);
        });

        var echoed = context.Response.Headers["X-Correlation-ID"].ToString();
        Assert.That(echoed, Does.Match(AcceptableId));
        foreach (var value in hostile)
        {
            if (!string.IsNullOrEmpty(value)) Assert.That(echoed, Is.Not.EqualTo(value));
        }

        var completion = _sink.WaitForCompletion("/work");
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo(echoed));
        var rejection = _sink.WaitFor(e => e.MessageTemplate.Text.StartsWith("Rejected the {HeaderName}", StringComparison.Ordinal)).Single();
        Assert.That(((ScalarValue)rejection.Properties["Length"]).Value, Is.EqualTo(hostile.Sum(v => v?.Length ?? 0)));
        foreach (var evt in _sink.Events)
        {
            var text = EventText.Of(evt);
            foreach (var value in hostile)
            {
                if (!string.IsNullOrEmpty(value) && value.Length > 8)
                    Assert.That(text, Does.Not.Contain(value), "A hostile value reached an event.");
            }
        }
    }

    [Test]
    public async Task ErrorResponsesCarryTheIdToo()
    {
        await using var app = await TestWeb.StartKestrelAsync(a => Pipeline(a), Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Correlation-ID", "err-1");

        var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("err-1"));
        var completion = _sink.WaitForCompletion("/boom");
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.EqualTo("err-1"));
    }

    [Test]
    public async Task AnEscapingBadRequestExceptionKeepsTheStatusTheServerGivesItAndCarriesTheId()
    {
        await using var app = await TestWeb.StartKestrelAsync(a =>
        {
            Pipeline(a);
            a.MapPost("/upload", string () => throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge));
        }, Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/upload");
        request.Headers.Add("X-Correlation-ID", "too-large-1");

        var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("too-large-1"));
    }

    [Test]
    public async Task AResponseStartedBeforeTheMiddlewareRanIsLeftAloneAndNothingIsThrown()
    {
        var failures = new List<Exception>();
        await using var app = await TestWeb.StartKestrelAsync(a =>
        {
            a.Use(async (HttpContext ctx, RequestDelegate next) =>
            {
                await ctx.Response.WriteAsync("early;");
                try
                {
                    await next(ctx);
                }
                catch (Exception ex)
                {
                    lock (failures) failures.Add(ex);
                }
            });
            Pipeline(a);
            a.MapGet("/streamed", (HttpContext ctx) => ctx.Response.WriteAsync("ok"));
        }, Services);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/streamed");

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("early;ok"));
        Assert.That(failures, Is.Empty);
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/streamed"), "CorrelationId"), Is.Not.Null);
    }

    [Test]
    public async Task TwoHundredParallelRequestsEachSeeOnlyTheirOwnId()
    {
        await using var app = await TestWeb.StartKestrelAsync(a =>
        {
            a.UseCorrelation(o => o.Logger = _logger);
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/flow/{n:int}", async (int n) =>
            {
                _logger.Information("Before await {N}", n);
                await Task.Yield();
                await Task.Run(() => _logger.Information("In thread pool {N}", n));
                _logger.Information("After await {N}", n);
                return n;
            });
        }, Services);
        using var client = app.CreateClient();

        var requests = Enumerable.Range(0, 200).Select(async n =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/flow/{n}");
            request.Headers.Add("X-Correlation-ID", $"flow-{n}");
            var response = await client.SendAsync(request);
            Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo($"flow-{n}"));
        });
        await Task.WhenAll(requests);

        _sink.WaitFor(e => e.Properties.ContainsKey("RequestPath"), 200);
        var handlerEvents = _sink.WaitFor(e => e.Properties.ContainsKey("N"), 600);
        foreach (var evt in handlerEvents)
            Assert.That(EventText.Scalar(evt, "CorrelationId"), Is.EqualTo("flow-" + EventText.Scalar(evt, "N")));
        foreach (var evt in _sink.Events.Where(e => e.Properties.ContainsKey("RequestPath")))
            Assert.That("/flow/" + EventText.Scalar(evt, "CorrelationId")!["flow-".Length..], Is.EqualTo(EventText.Scalar(evt, "RequestPath")));
    }

    [Test]
    public async Task TheUserFromAuthenticationThatRunsLaterIsOnTheRequestsEvents()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a, afterCorrelation: inner => inner.Use(async (ctx, next) =>
        {
            // Stands in for UseAuthentication(), which runs after UseCorrelation().
            ctx.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "user-7"), new Claim("tid", "tenant-3"), new Claim("sid", "session-9")], "test"));
            await next(ctx);
        })), Services);
        using var client = app.CreateClient();

        await client.GetAsync("/work");

        var handler = _sink.WaitFor(e => e.MessageTemplate.Text == "Handler ran").Single();
        var completion = _sink.WaitForCompletion("/work");
        foreach (var evt in new[] { handler, completion })
        {
            Assert.That(EventText.Scalar(evt, "UserId"), Is.EqualTo("user-7"));
            Assert.That(EventText.Scalar(evt, "TenantId"), Is.EqualTo("tenant-3"));
            Assert.That(EventText.Scalar(evt, "SessionId"), Is.EqualTo("session-9"));
        }
    }

    [Test]
    public async Task AnEventWrittenWhileAnotherThreadIsStillReadingANewUserCarriesThatUser()
    {
        var principal = new GatedPrincipal(new ClaimsIdentity([new Claim("sub", "user-9"), new Claim("tid", "tenant-9")], "test"));
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            Pipeline(a);
            a.MapGet("/concurrent", async (HttpContext ctx) =>
            {
                ctx.User = principal;
                // The first event's enrichment stops inside the claim lookup; the second is written meanwhile. The first
                // runs on a thread of its own: this request thread blocks below, and a pool thread for it would have to
                // wait for the pool to add one (about a second on two cores, longer on a busy machine).
                var first = Task.Factory.StartNew(() => _logger.Information("First of two"), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
                if (!principal.Entered.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("The first event never read the user.");
                _logger.Information("Second of two");
                principal.Release.Set();
                await first;
                return "ok";
            });
        }, Services);
        using var client = app.CreateClient();

        await client.GetAsync("/concurrent");

        foreach (var evt in _sink.WaitFor(e => e.MessageTemplate.Text.EndsWith(" of two", StringComparison.Ordinal), count: 2))
        {
            Assert.That(EventText.Scalar(evt, "UserId"), Is.EqualTo("user-9"), evt.MessageTemplate.Text);
            Assert.That(EventText.Scalar(evt, "TenantId"), Is.EqualTo("tenant-9"), evt.MessageTemplate.Text);
        }
    }

    /// <summary>A principal whose first claim lookup waits until released, holding one thread inside the user resolution.</summary>
    sealed class GatedPrincipal(ClaimsIdentity identity) : ClaimsPrincipal(identity)
    {
        int _lookups;

        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public override Claim? FindFirst(string type)
        {
            if (Interlocked.Increment(ref _lookups) == 1)
            {
                Entered.Set();
                Release.Wait(TimeSpan.FromSeconds(10));
            }

            return base.FindFirst(type);
        }
    }

    [Test]
    public async Task WorkThatOutlivesItsRequestKeepsThatRequestsUserWhenTheConnectionServesAnotherUser()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var logged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? background = null;
        await using var app = await TestWeb.StartKestrelAsync(a =>
        {
            Pipeline(a, afterCorrelation: inner => inner.Use(async (ctx, next) =>
            {
                // Stands in for UseAuthentication(): the user named by the request.
                ctx.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", ctx.Request.Headers["X-Test-User"].ToString())], "test"));
                await next(ctx);
            }));
            a.MapGet("/start-background", () =>
            {
                // Fire-and-forget work of alice's request that logs after her request has ended.
                background = Task.Run(async () =>
                {
                    await release.Task;
                    _logger.Information("Background work");
                    logged.TrySetResult();
                });
                return "ok";
            });
            a.MapGet("/hold", async () =>
            {
                // Bob's request is running on the connection (and HttpContext) that served alice's.
                release.TrySetResult();
                await logged.Task.WaitAsync(TimeSpan.FromSeconds(15));
                return "ok";
            });
        }, Services);
        // One connection: Kestrel serves both requests with the same (reused) HttpContext.
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = app.BaseAddress };

        using var first = new HttpRequestMessage(HttpMethod.Get, "/start-background");
        first.Headers.Add("X-Test-User", "alice");
        (await client.SendAsync(first)).EnsureSuccessStatusCode();
        _sink.WaitForCompletion("/start-background");
        using var second = new HttpRequestMessage(HttpMethod.Get, "/hold");
        second.Headers.Add("X-Test-User", "bob");
        (await client.SendAsync(second)).EnsureSuccessStatusCode();
        await background!.WaitAsync(TimeSpan.FromSeconds(15));

        var evt = _sink.WaitFor(e => e.MessageTemplate.Text == "Background work").Single();
        Assert.That(EventText.Scalar(_sink.WaitForCompletion("/hold"), "UserId"), Is.EqualTo("bob"));
        Assert.That(EventText.Scalar(evt, "UserId"), Is.EqualTo("alice"));
    }

    [Test]
    [NonParallelizable]
    public async Task APrincipalWhoseClaimsAlwaysThrowNeverFailsARequestAndIsReportedOncePerInterval()
    {
        var selfLog = new List<string>();
        Serilog.Extensions.Observability.AspNetCore.Correlation.CorrelationMiddleware.RequestState.UserReport.Reset();
        using var _ = TemporarySelfLog.SaveTo(selfLog);
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            a.UseCorrelation(o => o.Logger = _logger);
            a.Use(async (ctx, next) =>
            {
                ctx.User = new ThrowingPrincipal();
                await next(ctx);
            });
            a.MapGet("/quiet", () => "ok");
        }, Services);
        using var client = app.CreateClient();

        for (var i = 0; i < 20; i++) Assert.That((await client.GetAsync("/quiet")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // One line, and one more per 10 seconds the requests may have taken.
        Assert.That(selfLog.Count(l => l.Contains("request that ended")), Is.InRange(1, 10));
        Assert.That(selfLog, Has.Some.Contains("claims broke"), "the report carries the failure");
    }

    sealed class ThrowingPrincipal() : ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "x")], "test"))
    {
        public override Claim? FindFirst(string type) => throw new InvalidOperationException("claims broke");
    }

    [Test]
    public async Task AnAnonymousRequestHasNoUserProperties()
    {
        await using var app = await TestWeb.StartTestServerAsync(a => Pipeline(a), Services);
        using var client = app.CreateClient();

        await client.GetAsync("/work");

        Assert.That(_sink.WaitForCompletion("/work").Properties.ContainsKey("UserId"), Is.False);
    }

    [Test]
    public async Task AnAnonymousRequestIsEnrichedWithoutCreatingAnEmptyUser()
    {
        var principalCreated = true;
        await using var app = await TestWeb.StartKestrelAsync(a => Pipeline(a, afterCorrelation: inner => inner.Use(async (ctx, next) =>
        {
            await next(ctx);
            // Both events (handler and completion) have been enriched by now; reading HttpContext.User would have
            // stored an empty principal in the feature.
            principalCreated = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.Authentication.IHttpAuthenticationFeature>()?.User is not null;
        })), Services);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/work");

        var completion = _sink.WaitForCompletion("/work");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(completion.Properties.ContainsKey("UserId"), Is.False);
        Assert.That(principalCreated, Is.False);
    }

    [Test]
    public async Task WithTheEchoOffTheUserIsStillResolvedAndNoHeaderIsSent()
    {
        await using var app = await TestWeb.StartKestrelAsync(a => Pipeline(a, o => o.EchoResponseHeader = false, inner => inner.Use(async (ctx, next) =>
        {
            ctx.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "user-8")], "test"));
            await next(ctx);
        })), Services);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/work");

        var completion = _sink.WaitForCompletion("/work");
        Assert.That(response.Headers.Contains("X-Correlation-ID"), Is.False);
        Assert.That(EventText.Scalar(completion, "UserId"), Is.EqualTo("user-8"));
        Assert.That(EventText.Scalar(completion, "CorrelationId"), Is.Not.Null);
    }

    [Test]
    public async Task TheRequestsScopesEndWithTheRequestAndLeaveTheCallersContextAsItWas()
    {
        string? seenAfterwards = "unset";
        string? seenInBackground = "unset";
        Task? background = null;
        var requestDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestWeb.StartKestrelAsync(a =>
        {
            a.Use(async (ctx, next) =>
            {
                await next(ctx);
                seenAfterwards = Enrichers.CorrelationContext.CurrentId;
                // UseCorrelation has returned: its scopes have ended.
                if (ctx.Request.Path == "/background") requestDone.TrySetResult();
            });
            Pipeline(a);
            a.MapGet("/background", () =>
            {
                background = Task.Run(async () =>
                {
                    await requestDone.Task;
                    // The request's scope has ended; work it started keeps the request's id, also after a scope of its own
                    // ends (the Enrichers contract: disposing a scope restores the value the flow had before it).
                    using (Enrichers.CorrelationContext.Begin("later")) { }
                    seenInBackground = Enrichers.CorrelationContext.CurrentId;
                });
                return "ok";
            });
        }, Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/background");
        request.Headers.Add("X-Correlation-ID", "bg-1");

        var response = await client.SendAsync(request);
        _sink.WaitForCompletion("/background");
        await requestDone.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await background!.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(seenAfterwards, Is.Null);
        Assert.That(seenInBackground, Is.EqualTo("bg-1"));
    }

    [Test]
    public async Task AFlowCapturedInARequestKeepsItsIdAndUserButNotTheRequest()
    {
        var captured = new CapturedRequest();
        await ServeOneCapturingRequestAsync(captured);

        Assert.That(captured.RequestIsAlive(), Is.False, "The captured flow keeps the HttpContext alive.");
        Assert.That(captured.Ambient(), Is.EqualTo(("kept-1", "user-5")));
    }

    [Test]
    public async Task AFlowCapturedInARequestDoesNotKeepTheMiddlewareAlive()
    {
        // A static timer or cache entry created during a request outlives the app (test suites build many apps): the
        // flow it captured holds the request's user scope and state, which must not hold the middleware, and through it
        // the rest of the app's pipeline, its services and its logger.
        var (flow, middleware) = await ServeOneRequestCapturingItsFlowAsync();
        Assert.That(Collected.Eventually(middleware), Is.True, "The captured flow keeps the middleware alive.");
        string? id = null;
        ExecutionContext.Run(flow, _ => id = Enrichers.CorrelationContext.CurrentId, null);
        Assert.That(id, Is.EqualTo("kept-2"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static async Task<(ExecutionContext Flow, WeakReference Middleware)> ServeOneRequestCapturingItsFlowAsync()
    {
        ExecutionContext? flow = null;
        var middleware = new AspNetCore.Correlation.CorrelationMiddleware(_ =>
        {
            flow = ExecutionContext.Capture();
            return Task.CompletedTask;
        }, new CorrelationOptions(), leaveErrorsToOuterHandlers: false);
        var context = new DefaultHttpContext();
        context.Request.Headers["X-Correlation-ID"] = "kept-2";
        await middleware.Invoke(context);
        return (flow!, new WeakReference(middleware));
    }

    /// <summary>One request on real Kestrel whose handler captures its flow; the app is stopped and disposed on return.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    async Task ServeOneCapturingRequestAsync(CapturedRequest captured)
    {
        await using var app = await TestWeb.StartKestrelAsync(a =>
        {
            Pipeline(a, afterCorrelation: inner => inner.Use(async (ctx, next) =>
            {
                ctx.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "user-5")], "test"));
                await next(ctx);
            }));
            a.MapGet("/capture", (HttpContext ctx) =>
            {
                captured.Capture(ctx);
                return "ok";
            });
        }, Services);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/capture");
        request.Headers.Add("X-Correlation-ID", "kept-1");
        using var response = await client.SendAsync(request);
        Assert.That(response.Headers.GetValues("X-Correlation-ID").Single(), Is.EqualTo("kept-1"));
        _sink.WaitForCompletion("/capture");
    }

    [Test]
    public void TheHeaderRuleJudgesEveryCharacter()
    {
        static bool Rule(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '_' or ':' or '-';

        var wrong = new List<int>();
        for (var c = 0; c <= char.MaxValue; c++)
        {
            var ch = (char)c;
            if (AspNetCore.Correlation.CorrelationId.IsAcceptable(ch.ToString()) != Rule(ch)) wrong.Add(c);
            if (AspNetCore.Correlation.CorrelationId.IsAcceptable(new string('a', 40) + ch + "b") != Rule(ch)) wrong.Add(c);
        }

        Assert.That(wrong, Is.Empty);
        Assert.That(AspNetCore.Correlation.CorrelationId.IsAcceptable(new string('a', 128)), Is.True);
        Assert.That(AspNetCore.Correlation.CorrelationId.IsAcceptable(new string('a', 129)), Is.False);
        Assert.That(AspNetCore.Correlation.CorrelationId.IsAcceptable(""), Is.False);
    }

    [Test]
    public async Task ACallFromAppAToAppBThroughAPropagatingClientSharesCorrelationAndTraceIds()
    {
        await using var appB = await TestWeb.StartKestrelAsync(b =>
        {
            b.UseCorrelation(o => o.Logger = _logger);
            b.UseSerilogRequestLogging(o => o.Logger = _logger);
            b.MapGet("/inventory", () =>
            {
                _logger.Information("App B served inventory");
                return "7";
            });
        }, Services);

        await using var appA = await TestWeb.StartKestrelAsync(a =>
        {
            a.UseCorrelation(o => o.Logger = _logger);
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/order", async (IHttpClientFactory factory) =>
            {
                var stock = await factory.CreateClient("inventory").GetStringAsync("/inventory");
                _logger.Information("App A got stock {Stock}", stock);
                return stock;
            });
        }, services => services.AddHttpClient("inventory", c => c.BaseAddress = appB.BaseAddress).AddCorrelationPropagation());
        using var client = appA.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/order");
        request.Headers.Add("X-Correlation-ID", "cross-app-1");

        await client.SendAsync(request);

        var inA = _sink.WaitForCompletion("/order");
        var inB = _sink.WaitForCompletion("/inventory");
        var servedB = _sink.WaitFor(e => e.MessageTemplate.Text == "App B served inventory").Single();
        Assert.That(EventText.Scalar(inA, "CorrelationId"), Is.EqualTo("cross-app-1"));
        Assert.That(EventText.Scalar(inB, "CorrelationId"), Is.EqualTo("cross-app-1"));
        Assert.That(EventText.Scalar(servedB, "CorrelationId"), Is.EqualTo("cross-app-1"));
        Assert.That(inB.TraceId, Is.EqualTo(inA.TraceId), "W3C traceparent is propagated by .NET's HttpClient.");
        Assert.That(inB.SpanId, Is.Not.EqualTo(inA.SpanId));
    }

    [Test]
    public async Task APropagatingClientKeepsAnIdTheRequestSetItself()
    {
        string? seen = null;
        await using var appB = await TestWeb.StartTestServerAsync(b => b.MapGet("/echo", (HttpContext ctx) => seen = ctx.Request.Headers["X-Correlation-ID"].ToString()));
        var services = new ServiceCollection();
        services.AddHttpClient("b").AddCorrelationPropagation().ConfigurePrimaryHttpMessageHandler(() => appB.TestServer.CreateHandler());
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("b");

        using (Serilog.Extensions.Observability.Enrichers.CorrelationContext.Begin("ambient-1"))
        {
            using var explicitRequest = new HttpRequestMessage(HttpMethod.Get, "http://localhost/echo");
            explicitRequest.Headers.Add("X-Correlation-ID", "explicit-1");
            await client.SendAsync(explicitRequest);
            Assert.That(seen, Is.EqualTo("explicit-1"));

            await client.GetAsync("http://localhost/echo");
            Assert.That(seen, Is.EqualTo("ambient-1"));
        }

        // An id the receiving UseCorrelation() would reject (a message id) is not sent.
        using (Serilog.Extensions.Observability.Enrichers.CorrelationContext.Begin("msg/abc+def=="))
        {
            await client.GetAsync("http://localhost/echo");
            Assert.That(seen, Is.Empty);
        }
    }

    [TestCase("")]
    [TestCase("Bad Header")]
    [TestCase("X-Id:")]
    public void AnInvalidHeaderNameIsRejectedAtConfiguration(string name)
    {
        var app = WebApplication.CreateSlimBuilder().Build();

        var ex = Assert.Throws<ArgumentException>(() => app.UseCorrelation(o => o.HeaderName = name));
        Assert.That(ex!.ParamName, Is.EqualTo("configure"));
        Assert.That(ex.Message, Does.Contain("HeaderName"));
        Assert.That(ex.Message, Does.Contain("HTTP token"), "the message states the rule");
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddHttpClient("x").AddCorrelationPropagation(name));

        var additional = Assert.Throws<ArgumentException>(() => app.UseCorrelation(o => o.AdditionalHeaderNames.Add(name)));
        Assert.That(additional!.ParamName, Is.EqualTo("configure"));
        Assert.That(additional.Message, Does.Contain("AdditionalHeaderNames").And.Contain("HTTP token"));
    }
}
