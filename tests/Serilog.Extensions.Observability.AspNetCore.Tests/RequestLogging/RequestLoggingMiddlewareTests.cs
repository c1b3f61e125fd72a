using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serilog.AspNetCore;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Timing;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.RequestLogging;

public class RequestLoggingMiddlewareTests
{
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

    Task<RunningApp> StartAsync(Action<RequestLoggingOptions>? configure, Action<WebApplication> endpoints, bool kestrel = true, Action<WebApplication>? before = null, Action<IServiceCollection>? services = null)
    {
        void Configure(WebApplication app)
        {
            before?.Invoke(app);
            app.UseSerilogRequestLogging(o =>
            {
                o.Logger = _logger;
                configure?.Invoke(o);
            });
            endpoints(app);
        }

        void Services(IServiceCollection collection)
        {
            DiagnosticContextRegistration.Add(collection, _logger);
            services?.Invoke(collection);
        }

        return kestrel ? TestWeb.StartKestrelAsync(Configure, Services) : TestWeb.StartTestServerAsync(Configure, Services);
    }

    [Test]
    public async Task CompletionEventHasSerilogAspNetCoresTemplatePropertiesAndSourceContext()
    {
        await using var app = await StartAsync(null, a => a.MapGet("/hello", () => "hi"));
        using var client = app.CreateClient();

        var response = await client.GetAsync("/hello?x=1");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var evt = _sink.WaitForCompletion("/hello");
        Assert.That(evt.MessageTemplate.Text, Is.EqualTo("HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms"));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(EventText.Scalar(evt, "RequestMethod"), Is.EqualTo("GET"));
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(200));
        Assert.That(((ScalarValue)evt.Properties["Elapsed"]).Value, Is.TypeOf<double>().And.GreaterThan(0.0));
        Assert.That(EventText.Scalar(evt, "SourceContext"), Is.EqualTo("Serilog.AspNetCore.RequestLoggingMiddleware"));
        Assert.That(evt.TraceId, Is.Not.Null.And.Not.EqualTo(default(System.Diagnostics.ActivityTraceId)));
        Assert.That(evt.SpanId, Is.Not.Null.And.Not.EqualTo(default(System.Diagnostics.ActivitySpanId)));
        Assert.That(evt.RenderMessage(), Does.StartWith("HTTP \"GET\" \"/hello\" responded 200 in "));
    }

    [Test]
    public async Task QueryIsIncludedInRequestPathOnlyWhenAskedFor()
    {
        await using var app = await StartAsync(o => o.IncludeQueryInRequestPath = true, a => a.MapGet("/q", () => "q"));
        using var client = app.CreateClient();

        await client.GetAsync("/q?a=1&b=2");

        Assert.That(_sink.WaitForCompletion("/q?a=1&b=2"), Is.Not.Null);
    }

    [Test]
    public async Task CredentialsInTheQueryAreMaskedWhenTheQueryIsIncludedInRequestPath()
    {
        await using var app = await StartAsync(o => o.IncludeQueryInRequestPath = true, a => a.MapGet("/hub", () => "q"));
        using var client = app.CreateClient();

        // SignalR and OAuth put tokens in the query; presigned URLs put signatures and credentials there.
        await client.GetAsync("/hub?id=7&access_token=eyJ.secret&page=2&api%20key=k1&X-Amz-Signature=abc&sig=s1&code=c1&flag&empty_token=");

        var logged = _sink.WaitFor(e => e.Properties.ContainsKey("RequestPath") && e.Properties["RequestPath"].ToString().Contains("/hub")).Single();
        Assert.That(((ScalarValue)logged.Properties["RequestPath"]).Value, Is.EqualTo(
            "/hub?id=7&access_token=[REDACTED]&page=2&api%20key=[REDACTED]&X-Amz-Signature=[REDACTED]&sig=[REDACTED]&code=[REDACTED]&flag&empty_token=[REDACTED]"));
    }

    [TestCase("/p", "/p")]
    [TestCase("/p?", "/p?")]
    [TestCase("/p?a=1&b=2", "/p?a=1&b=2")]
    [TestCase("/p?token=1", "/p?token=[REDACTED]")]
    [TestCase("/p?Password=a%26b&x=1", "/p?Password=[REDACTED]&x=1")]
    [TestCase("/p?x=1&refresh_token=r&&client_secret=s", "/p?x=1&refresh_token=[REDACTED]&&client_secret=[REDACTED]")]
    [TestCase("/p?access%5Ftoken=t", "/p?access%5Ftoken=[REDACTED]")]
    [TestCase("/p?code", "/p?code")]
    [TestCase("/p?%zz=1&sessionid=9", "/p?%zz=1&sessionid=[REDACTED]")]
    [TestCase("/p?tokenizer=bpe", "/p?tokenizer=[REDACTED]")]
    // Names cased under tr-TR: "SESSION".ToLower() is "sessıon", "signature".ToUpper() is "SİGNATURE".
    [TestCase("/p?sess%C4%B1on=9&x=1", "/p?sess%C4%B1on=[REDACTED]&x=1")]
    [TestCase("/p?S%C4%B0GNATURE=abc", "/p?S%C4%B0GNATURE=[REDACTED]")]
    [TestCase("/p?X-Amz-Credent%C4%B1al=k", "/p?X-Amz-Credent%C4%B1al=[REDACTED]")]
    // An OpenID Connect callback (response_mode=query) and an authorization request: the code, the state, the nonce.
    [TestCase("/signin-oidc?code=c1&state=CfDJ8x&iss=idp", "/signin-oidc?code=[REDACTED]&state=[REDACTED]&iss=idp")]
    [TestCase("/authorize?client_id=web&nonce=6393.ZDQ3&State=s&code_verifier=v", "/authorize?client_id=web&nonce=[REDACTED]&State=[REDACTED]&code_verifier=[REDACTED]")]
    // The short names too, read as the credential words are: tr-TR's "SİG" and "CODE_VERİFİER", and other separators.
    [TestCase("/p?S%C4%B0G=s1&CODE_VER%C4%B0F%C4%B0ER=v1", "/p?S%C4%B0G=[REDACTED]&CODE_VER%C4%B0F%C4%B0ER=[REDACTED]")]
    [TestCase("/p?codeVerifier=v1&code-verifier=v2&x=1", "/p?codeVerifier=[REDACTED]&code-verifier=[REDACTED]&x=1")]
    [TestCase("/p?statement=1&codes=2&signal=3", "/p?statement=1&codes=2&signal=3")]
    // SAML's assertion and request with its RelayState, the device flow's codes, and an end-session request's id token.
    [TestCase("/saml/acs?SAMLResponse=PHNhbWxw&RelayState=r1", "/saml/acs?SAMLResponse=[REDACTED]&RelayState=[REDACTED]")]
    [TestCase("/saml/sso?SAMLRequest=fZJN&SigAlg=rsa&Signature=s1", "/saml/sso?SAMLRequest=[REDACTED]&SigAlg=rsa&Signature=[REDACTED]")]
    [TestCase("/device?user_code=WDJB-MJHT&device_code=d1", "/device?user_code=[REDACTED]&device_code=[REDACTED]")]
    [TestCase("/connect/logout?id_token_hint=h.e.s&login_hint=ann", "/connect/logout?id_token_hint=[REDACTED]&login_hint=ann")]
    // "id" is a SignalR connection's token only on its hub's requests (below); elsewhere it is an ordinary id.
    [TestCase("/orders?id=42&ID=43", "/orders?id=42&ID=43")]
    // An absolute-form target (RFC 9112 3.2.2, which Kestrel accepts) with userinfo: the whole userinfo is masked, as a
    // user name can be a token too ("https://ghp_x@host"); an '@' after the authority is the path's or the query's own.
    [TestCase("http://user:s3cret@host:80/p?access_token=t&x=1", "http://[REDACTED]@host:80/p?access_token=[REDACTED]&x=1")]
    [TestCase("http://ghp_abc@host/p", "http://[REDACTED]@host/p")]
    [TestCase("HTTPS://a:b@c@host?x=1", "HTTPS://[REDACTED]@host?x=1")]
    [TestCase("http://host/p@q?mail=a@b", "http://host/p@q?mail=a@b")]
    [TestCase("http://host?mail=a@b", "http://host?mail=a@b")]
    [TestCase("/p@q?x=1", "/p@q?x=1")]
    public void QueryMaskingMasksTheValuesOfCredentialNames(string target, string expected)
    {
        Assert.That(QueryMasking.Mask(target), Is.EqualTo(expected));
    }

    // On a hub's own requests (the WebSocket, the event stream, each poll and each message sent) "id" is the connection's
    // token, which lets its holder read and send the connection's messages; ASP.NET Core reads query names in any case.
    [TestCase("/hubs/chat?id=Qk7x2mTz9bC4dE6fG8hJ1w", "/hubs/chat?id=[REDACTED]")]
    [TestCase("/hubs/chat?ID=Qk7x&access_token=t&caller=ann", "/hubs/chat?ID=[REDACTED]&access_token=[REDACTED]&caller=ann")]
    // A name is read decoded, as SignalR's Query["id"] reads it.
    [TestCase("/hubs/chat?%69d=Qk7x&I%64=Rm8y", "/hubs/chat?%69d=[REDACTED]&I%64=[REDACTED]")]
    [TestCase("/hubs/chat?idle=1&uid=2", "/hubs/chat?idle=1&uid=2")]
    public void OnAHubsRequestsTheConnectionTokenIsMaskedToo(string target, string expected)
    {
        Assert.That(QueryMasking.Mask(target, isConnection: true), Is.EqualTo(expected));
    }

    [Test]
    public async Task PropertiesSetThroughTheDiagnosticContextFromAHandlerAndFromTheOptionsCallbackAppear()
    {
        await using var app = await StartAsync(
            o => o.EnrichDiagnosticContext = (dc, ctx) => dc.Set("RequestHost", ctx.Request.Host.Host),
            a => a.MapGet("/order", (IDiagnosticContext dc) =>
            {
                dc.Set("OrderId", 42);
                dc.Set("Cart", new { Items = 3, Total = 9.5m }, destructureObjects: true);
                return "ok";
            }));
        using var client = app.CreateClient();

        await client.GetAsync("/order");

        var evt = _sink.WaitForCompletion("/order");
        Assert.That(((ScalarValue)evt.Properties["OrderId"]).Value, Is.EqualTo(42));
        Assert.That(evt.Properties["Cart"], Is.TypeOf<StructureValue>());
        Assert.That(EventText.Scalar(evt, "RequestHost"), Is.EqualTo("127.0.0.1"));
    }

    sealed class ThrowingToString
    {
        public override string ToString() => throw new InvalidOperationException("no text");
    }

    [Test]
    public void ARequestSettingAPropertyPerMessageCollectsAtMostTheLimitOfNames()
    {
        // A long-lived request (a WebSocket, SSE or gRPC stream) that sets a name per message would otherwise grow its
        // collection until it ends.
        var context = new DiagnosticContext(_logger);
        using var collector = context.BeginCollection();
        for (var i = 0; i < 100_000; i++) context.Set("Message" + i, i);
        context.Set("Message0", "last");

        Assert.That(collector.TryComplete(out var properties, out _), Is.True);
        Assert.That(properties, Has.Count.EqualTo(DiagnosticContextCollector.MaxProperties));
        Assert.That(properties.Single(p => p.Name == "Message0").Value.ToString(), Is.EqualTo("\"last\""), "a name already set is still updated");
    }

    [Test, NonParallelizable] // SelfLog is process-wide
    public async Task AValueWhoseToStringThrowsSetThroughTheDiagnosticContextCostsItsTextNotTheRequest()
    {
        var selfLog = new List<string>();
        using var _ = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog);
        await using var app = await StartAsync(null, a => a.MapGet("/order", (IDiagnosticContext dc) =>
        {
            dc.Set("Bad", new ThrowingToString());
            dc.Set("OrderId", 42);
            return "ok";
        }));
        using var client = app.CreateClient();

        Assert.That((await client.GetAsync("/order")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var evt = _sink.WaitForCompletion("/order");
        Assert.That(((ScalarValue)evt.Properties["OrderId"]).Value, Is.EqualTo(42));
        Assert.That(EventText.Scalar(evt, "Bad"), Is.EqualTo("Capturing the property value threw an exception: InvalidOperationException"));
        Assert.That(selfLog, Has.Some.Contains("Bad").And.Contains("System.InvalidOperationException"));
    }

    sealed class SecretToString(string secret)
    {
        public override string ToString() => throw new FormatException("cannot show " + secret);
    }

    [Test, NonParallelizable] // SelfLog is process-wide
    public async Task CallbacksAndValuesThatFailOnEveryRequestAreReportedOncePerIntervalNotOncePerRequest()
    {
        var selfLog = new List<string>();
        using var _ = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog);
        await using var app = await StartAsync(o =>
            {
                o.GetLevel = (_, _, _) => throw new InvalidOperationException("level");
                o.EnrichDiagnosticContext = (_, _) => throw new InvalidOperationException("enrich");
            },
            a => a.Run(context =>
            {
                // The value's ToString() quotes what it holds: the line names the property and the exception type only.
                context.RequestServices.GetRequiredService<IDiagnosticContext>().Set("Password", new SecretToString("hunter2"));
                return Task.CompletedTask;
            }), kestrel: false);
        using var client = app.CreateClient();

        for (var i = 0; i < 20; i++)
        {
            Assert.That((await client.GetAsync("/r" + i)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            _sink.WaitForCompletion("/r" + i);
        }

        // One line each, and one more per 10 seconds the requests may have taken.
        Assert.That(selfLog.Count(l => l.Contains("GetLevel callback failed")), Is.InRange(1, 10));
        Assert.That(selfLog.Count(l => l.Contains("EnrichDiagnosticContext callback failed")), Is.InRange(1, 10));
        Assert.That(selfLog.Count(l => l.Contains("Password")), Is.InRange(1, 10));
        Assert.That(selfLog, Has.None.Contains("hunter2"));
    }

    [Test]
    public async Task SetExceptionWithNullClearsTheExceptionAsInSerilogAspNetCore()
    {
        await using var app = await StartAsync(null, a => a.MapGet("/recovered", (IDiagnosticContext dc) =>
        {
            dc.SetException(new InvalidOperationException("retried"));
            // Serilog.Extensions.Hosting: "If null is given, it clears any previously assigned exception."
            dc.SetException(null!);
            return "ok";
        }));
        using var client = app.CreateClient();

        var response = await client.GetAsync("/recovered");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var evt = _sink.WaitForCompletion("/recovered");
        Assert.That(evt.Exception, Is.Null);
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Information));
        // Outside a request it does nothing, null or not.
        Assert.DoesNotThrow(() => app.App.Services.GetRequiredService<IDiagnosticContext>().SetException(null!));
    }

    [Test]
    public async Task TemplatePropertiesWinOverDiagnosticContextPropertiesOfTheSameName()
    {
        await using var app = await StartAsync(null, a => a.MapGet("/clash", (IDiagnosticContext dc) =>
        {
            dc.Set("StatusCode", "not-a-status");
            return "ok";
        }));
        using var client = app.CreateClient();

        await client.GetAsync("/clash");

        Assert.That(((ScalarValue)_sink.WaitForCompletion("/clash").Properties["StatusCode"]).Value, Is.EqualTo(200));
    }

    [Test]
    public async Task AnEscapingExceptionIsLoggedOnceAtErrorWithStatus500AndStillReachesTheServer()
    {
        await using var app = await StartAsync(null, a => a.MapGet("/boom", string () => throw new InvalidOperationException("kaboom")));
        using var client = app.CreateClient();

        var response = await client.GetAsync("/boom");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        var evt = _sink.WaitForCompletion("/boom");
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(evt.Exception, Is.TypeOf<InvalidOperationException>().With.Message.EqualTo("kaboom"));
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(500));
        Assert.That(_sink.Events.Count(e => EventText.Scalar(e, "RequestPath") == "/boom"), Is.EqualTo(1));
    }

    [Test]
    public async Task TheKnownStatusOfABadRequestExceptionIsLoggedWhenAskedFor()
    {
        await using var app = await StartAsync(o => o.UseExceptionStatusCode = true,
            a => a.MapGet("/too-large", string () => throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge)));
        using var client = app.CreateClient();

        await client.GetAsync("/too-large");

        var evt = _sink.WaitForCompletion("/too-large");
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(413));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Error));
    }

    [Test]
    public async Task AnExceptionAfterTheResponseStartedLogsTheStatusAlreadySentWhenAskedFor()
    {
        await using var app = await StartAsync(o => o.UseExceptionStatusCode = true, a => a.MapGet("/late", async (HttpContext ctx) =>
        {
            ctx.Response.StatusCode = StatusCodes.Status202Accepted;
            await ctx.Response.WriteAsync("partial");
            await ctx.Response.Body.FlushAsync();
            throw new InvalidOperationException("late-boom");
        }));
        using var client = app.CreateClient();

        // The client got 202 and a cut body; the server can no longer change the status.
        try { await client.GetAsync("/late"); } catch (HttpRequestException) { }

        var evt = _sink.WaitForCompletion("/late");
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(202));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(evt.Exception?.Message, Is.EqualTo("late-boom"));
    }

    [Test]
    public async Task AnExceptionAfterTheResponseStartedIsStillLoggedAs500ByDefaultAsSerilogAspNetCoreDoes()
    {
        await using var app = await StartAsync(null, a => a.MapGet("/late-default", async (HttpContext ctx) =>
        {
            await ctx.Response.WriteAsync("partial");
            await ctx.Response.Body.FlushAsync();
            throw new InvalidOperationException("late-boom");
        }));
        using var client = app.CreateClient();

        try { await client.GetAsync("/late-default"); } catch (HttpRequestException) { }

        Assert.That(((ScalarValue)_sink.WaitForCompletion("/late-default").Properties["StatusCode"]).Value, Is.EqualTo(500));
    }

    [Test]
    public async Task UseExceptionHandlerStillProducesItsResponseAndTheEventKeepsTheException()
    {
        await using var app = await StartAsync(null,
            a => a.MapGet("/handled", string () => throw new InvalidOperationException("handled-boom")),
            before: a => a.UseExceptionHandler(error => error.Run(ctx => ctx.Response.WriteAsync("sorry"))));
        using var client = app.CreateClient();

        var response = await client.GetAsync("/handled");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("sorry"));
        var evt = _sink.WaitForCompletion("/handled");
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(evt.Exception?.Message, Is.EqualTo("handled-boom"));
    }

    [TestCase("completes", "none")]
    [TestCase("throws synchronously", "none")]
    [TestCase("throws synchronously", "UseExceptionHandler")]
    [TestCase("throws synchronously", "UseDeveloperExceptionPage")]
    [TestCase("throws after an await", "none")]
    [TestCase("throws after an await", "UseExceptionHandler")]
    [TestCase("throws after an await", "UseDeveloperExceptionPage")]
    public async Task TheCompletionEventCarriesTheRequestsSpanAndWhatInnerCodeGaveItHoweverTheRequestEnds(string inner, string handler)
    {
        // A middleware written without async sets a diagnostic property and starts a span of its own, inside an outer
        // correlation scope. A synchronous throw reaches the completion event's exception filter before that span is
        // stopped (its finally blocks run later): the event still names the request's span, as on the other paths.
        System.Diagnostics.ActivitySpanId requestSpan = default, innerSpan = default;
        System.Diagnostics.ActivityTraceId requestTrace = default;
        await using var app = await StartAsync(null,
            a =>
            {
                a.Use(next => context =>
                {
                    if (context.Request.Path != "/inner") return next(context);
                    context.RequestServices.GetRequiredService<IDiagnosticContext>().Set("Inner", 1);
                    var request = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()!.Activity;
                    (requestTrace, requestSpan) = (request.TraceId, request.SpanId);
                    using var span = new System.Diagnostics.Activity("inner").Start();
                    innerSpan = span.SpanId;
                    return inner switch
                    {
                        "throws synchronously" => throw new InvalidOperationException("inner-boom"),
                        "throws after an await" => ThrowAfterAnAwait(),
                        _ => context.Response.WriteAsync("ok"),
                    };
                });
                a.MapGet("/error", () => "sorry");
            },
            before: a =>
            {
                if (handler == "UseExceptionHandler") a.UseExceptionHandler("/error");
                else if (handler == "UseDeveloperExceptionPage") a.UseDeveloperExceptionPage();
                a.Use(async (context, next) =>
                {
                    using (Serilog.Extensions.Observability.Enrichers.CorrelationContext.Begin("outer-id")) await next(context);
                });
            });
        using var client = app.CreateClient();

        var response = await client.GetAsync("/inner");

        Assert.That((int)response.StatusCode, Is.EqualTo(inner == "completes" ? 200 : 500));
        var evt = _sink.WaitFor(e => EventText.Scalar(e, "RequestPath") == "/inner" && e.Properties.ContainsKey("Inner")).Single();
        Assert.That(evt.Exception?.Message, Is.EqualTo(inner == "completes" ? null : "inner-boom"));
        Assert.That(innerSpan, Is.Not.EqualTo(requestSpan));
        Assert.That((evt.TraceId, evt.SpanId), Is.EqualTo((requestTrace, requestSpan)), "The completion event names the request's span.");
        Assert.That(((ScalarValue)evt.Properties["Inner"]).Value, Is.EqualTo(1));
        Assert.That(EventText.Scalar(evt, "CorrelationId"), Is.EqualTo("outer-id"));

        static async Task ThrowAfterAnAwait()
        {
            await Task.Yield();
            throw new InvalidOperationException("inner-boom");
        }
    }

    [TestCase("completes")]
    [TestCase("completes after an await")]
    [TestCase("throws after an await")]
    public async Task ALogContextPropertyAnInnerMiddlewareLeftPushedReachesTheCompletionEventAsInSerilogAspNetCore(string inner)
    {
        // A middleware written without async pushes a property for the rest of the request and returns: the flow it
        // leaves is the one the completion event is written in, here as in Serilog.AspNetCore. Only an exception thrown
        // synchronously is logged in the middleware's own flow (the frames it passed through have not ended yet).
        await using var app = await StartAsync(null, a => a.Use(next => context =>
        {
            Serilog.Context.LogContext.PushProperty("Tenant", "t-1");
            return inner switch
            {
                "completes" => context.Response.WriteAsync("ok"),
                "completes after an await" => WriteAfterAnAwait(context),
                _ => ThrowAfterAnAwait(),
            };
        }));
        using var client = app.CreateClient();

        await client.GetAsync("/tenant");

        var evt = _sink.WaitForCompletion("/tenant");
        Assert.That(evt.Exception?.Message, Is.EqualTo(inner == "throws after an await" ? "tenant-boom" : null));
        Assert.That(EventText.Scalar(evt, "Tenant"), Is.EqualTo("t-1"));

        static async Task WriteAfterAnAwait(HttpContext context)
        {
            await Task.Yield();
            await context.Response.WriteAsync("ok");
        }

        static async Task ThrowAfterAnAwait()
        {
            await Task.Yield();
            throw new InvalidOperationException("tenant-boom");
        }
    }

    [Test]
    public async Task TheDeveloperExceptionPageStillShowsTheException()
    {
        await using var app = await StartAsync(null,
            a => a.MapGet("/dev", string () => throw new InvalidOperationException("dev-page-boom")),
            before: a => a.UseDeveloperExceptionPage());
        using var client = app.CreateClient();

        var response = await client.GetAsync("/dev");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("dev-page-boom"));
        Assert.That(_sink.WaitForCompletion("/dev").Level, Is.EqualTo(LogEventLevel.Error));
    }

    [Test]
    public async Task ExcludedPathsProduceNoEventIncludingEndpointRoutedHealthChecks()
    {
        await using var app = await StartAsync(
            o => o.ExcludePaths = ["/health", "/metrics/*"],
            a =>
            {
                a.MapHealthChecks("/health");
                a.MapGet("/metrics/cpu", () => "1");
                a.MapGet("/healthz", () => "not excluded");
                a.MapGet("/last", () => "last");
            },
            services: s => s.AddHealthChecks());
        using var client = app.CreateClient();

        Assert.That((await client.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.GetAsync("/HEALTH/")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await client.GetAsync("/metrics/cpu");
        await client.GetAsync("/healthz");
        await client.GetAsync("/last");

        _sink.WaitForCompletion("/last");
        _sink.WaitForCompletion("/healthz");
        var paths = _sink.Events.Select(e => EventText.Scalar(e, "RequestPath")).ToList();
        Assert.That(paths, Has.None.EqualTo("/health").And.None.EqualTo("/HEALTH/").And.None.EqualTo("/metrics/cpu"));
    }

    [TestCase(false, LogEventLevel.Information)]
    [TestCase(true, LogEventLevel.Warning)]
    public async Task ClientErrorsAreWarningsOnlyWithThePreset(bool preset, LogEventLevel expected)
    {
        await using var app = await StartAsync(o => o.LogClientErrorsAsWarning = preset, a => a.MapGet("/missing", () => Results.NotFound()));
        using var client = app.CreateClient();

        await client.GetAsync("/missing");

        var evt = _sink.WaitForCompletion("/missing");
        Assert.That(evt.Level, Is.EqualTo(expected));
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(404));
    }

    // The usual way to adjust the default level: wrap it. Whoever wrapped it, and when, its presets are those of the
    // options the middleware runs with, not those of the instance the wrapper happened to capture.
    [TestCase("registration wraps, call sets the preset")]
    [TestCase("call wraps, registration sets the preset")]
    [TestCase("call wraps and sets the preset")]
    public async Task AWrappedDefaultLevelUsesThePresetsOfTheOptionsTheMiddlewareRunsWith(string arrangement)
    {
        static void Wrap(RequestLoggingOptions o)
        {
            var inner = o.GetLevel;
            o.GetLevel = (ctx, ms, ex) => ctx.Request.Path == "/x" ? LogEventLevel.Debug : inner(ctx, ms, ex);
        }

        var registrationWraps = arrangement.StartsWith("registration wraps", StringComparison.Ordinal);
        var callSetsPreset = arrangement.Contains("call sets", StringComparison.Ordinal) || arrangement.Contains("and sets", StringComparison.Ordinal);
        await using var app = await StartAsync(o =>
        {
            if (!registrationWraps) Wrap(o);
            if (callSetsPreset) o.LogClientErrorsAsWarning = true;
        }, a =>
        {
            a.MapGet("/missing", () => Results.NotFound());
            a.MapGet("/x", () => "x");
        }, kestrel: false, services: s => s.Configure<RequestLoggingOptions>(o =>
        {
            if (registrationWraps) Wrap(o);
            if (!callSetsPreset) o.LogClientErrorsAsWarning = true;
        }));
        using var client = app.CreateClient();

        await client.GetAsync("/x");
        await client.GetAsync("/missing");

        Assert.That(_sink.WaitForCompletion("/x").Level, Is.EqualTo(LogEventLevel.Debug), "the wrapper runs");
        Assert.That(_sink.WaitForCompletion("/missing").Level, Is.EqualTo(LogEventLevel.Warning), "the wrapped default sees LogClientErrorsAsWarning");
    }

    [Test]
    public async Task AWrappedRegisteredDefaultUsesEachCallsOwnPresets()
    {
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            a.MapWhen(context => context.Request.Path.StartsWithSegments("/api"), api =>
            {
                api.UseSerilogRequestLogging(o => { o.Logger = _logger; o.LogClientErrorsAsWarning = true; });
                api.Run(context => { context.Response.StatusCode = 404; return Task.CompletedTask; });
            });
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/page", (HttpContext context) => { context.Response.StatusCode = 404; return "page"; });
        }, services =>
        {
            DiagnosticContextRegistration.Add(services, _logger);
            services.Configure<RequestLoggingOptions>(o =>
            {
                var inner = o.GetLevel;
                o.GetLevel = (ctx, ms, ex) => inner(ctx, ms, ex);
            });
        });
        using var client = app.CreateClient();

        await client.GetAsync("/api/thing");
        await client.GetAsync("/page");

        Assert.That(_sink.WaitForCompletion("/api/thing").Level, Is.EqualTo(LogEventLevel.Warning), "the branch sets LogClientErrorsAsWarning");
        Assert.That(_sink.WaitForCompletion("/page").Level, Is.EqualTo(LogEventLevel.Information), "the other call does not");
    }

    [Test]
    public async Task TheDefaultLevelOfAnUnrelatedOptionsObjectKeepsItsOwnPresets()
    {
        var mine = new RequestLoggingOptions { LogClientErrorsAsWarning = true };
        await using var app = await StartAsync(o => o.GetLevel = mine.GetLevel, a => a.MapGet("/missing", () => Results.NotFound()), kestrel: false);
        using var client = app.CreateClient();

        await client.GetAsync("/missing");

        Assert.That(_sink.WaitForCompletion("/missing").Level, Is.EqualTo(LogEventLevel.Warning));
    }

    [Test]
    public async Task RequestsOverTheSlowThresholdAreWarnings()
    {
        await using var app = await StartAsync(o => o.SlowRequestThreshold = TimeSpan.FromTicks(1), a => a.MapGet("/slow", () => "s"));
        using var client = app.CreateClient();

        await client.GetAsync("/slow");

        Assert.That(_sink.WaitForCompletion("/slow").Level, Is.EqualTo(LogEventLevel.Warning));
    }

    [Test]
    public async Task ARequestAbortedByTheClientIsLoggedAs499AtInformationWithThePreset()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(o => o.LogAbortedRequestsAsClientClosed = true, a => a.MapGet("/hang", async (HttpContext ctx) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            return "never";
        }));
        using var client = app.CreateClient();
        using var cts = new CancellationTokenSource();

        var request = client.GetAsync("/hang", cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15));
        cts.Cancel();
        Assert.That(async () => await request, Throws.InstanceOf<OperationCanceledException>());

        var evt = _sink.WaitForCompletion("/hang");
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(499));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Information));
    }

    [TestCase(true, "cancellation", 499, LogEventLevel.Information, false)]
    [TestCase(true, "connection reset", 499, LogEventLevel.Information, false)]
    [TestCase(false, "cancellation", 500, LogEventLevel.Error, true)]
    [TestCase(false, "connection reset", 500, LogEventLevel.Error, true)]
    public async Task WithThePresetARequestTheClientAbortedCarriesNoExceptionOtherwiseItCarriesWhatEscaped(
        bool preset, string failure, int status, LogEventLevel level, bool carriesException)
    {
        // The abort is the client's doing, not a failure of the application: with the preset the 499 event at
        // Information has no exception; without it the event stays Serilog.AspNetCore's (500, Error, the exception).
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Exception? thrown = null;
        await using var app = await StartAsync(o => o.LogAbortedRequestsAsClientClosed = preset, a => a.MapGet("/gone", async (HttpContext ctx) =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            }
            catch (OperationCanceledException cancelled)
            {
                // What a read or write on the connection the client closed throws in Kestrel.
                thrown = failure == "cancellation" ? cancelled : new Microsoft.AspNetCore.Connections.ConnectionResetException("The client reset the connection.");
                throw thrown;
            }
            return "never";
        }));
        using var client = app.CreateClient();
        using var cts = new CancellationTokenSource();

        var request = client.GetAsync("/gone", cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15));
        cts.Cancel();
        Assert.That(async () => await request, Throws.InstanceOf<OperationCanceledException>());

        var evt = _sink.WaitForCompletion("/gone");
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(status));
        Assert.That(evt.Level, Is.EqualTo(level));
        Assert.That(evt.Exception, carriesException ? Is.SameAs(thrown) : Is.Null);
    }

    [Test]
    public void WithThePresetTheLevelFollowsTheSameReadingOfTheAbortAsTheStatusAndTheException()
    {
        // Kestrel cancels RequestAborted on the thread pool, so it may be cancelled between two reads of it: the first
        // (status and exception) finds the request running, a later one finds it aborted. The event must not mix them
        // (a 500 carrying its exception at Information).
        var options = new RequestLoggingOptions { Logger = _logger, LogAbortedRequestsAsClientClosed = true };
        var thrown = new OperationCanceledException("cancelled by the handler itself");
        var middleware = new RequestLoggingMiddleware(_ => throw thrown, new DiagnosticContext(_logger), options);
        var context = new DefaultHttpContext();
        context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpRequestLifetimeFeature>(new AbortedBetweenReads());
        context.Request.Method = "GET";
        context.Request.Path = "/raced";

        Assert.ThrowsAsync<OperationCanceledException>(() => middleware.Invoke(context));

        var evt = _sink.WaitForCompletion("/raced");
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(500));
        Assert.That(evt.Exception, Is.SameAs(thrown));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Error));
    }

    /// <summary>A request whose abort token is found running by its first read and cancelled by every later one.</summary>
    sealed class AbortedBetweenReads : Microsoft.AspNetCore.Http.Features.IHttpRequestLifetimeFeature
    {
        static readonly CancellationToken s_cancelled = new(canceled: true);
        int _reads;

        public CancellationToken RequestAborted
        {
            get => Interlocked.Increment(ref _reads) == 1 ? CancellationToken.None : s_cancelled;
            set { }
        }

        public void Abort() { }
    }

    [Test]
    public async Task WithThePresetARequestTimeoutIsNotTakenForTheClientClosingTheRequest()
    {
        // UseRequestTimeouts() placed before request logging hands the rest of the pipeline a RequestAborted token that
        // its timeout cancels: the server gave up on the request, the client did not leave.
        await using var app = await StartAsync(o => o.LogAbortedRequestsAsClientClosed = true,
            a => a.MapGet("/timed-out", async (HttpContext ctx) =>
            {
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
                return "never";
            }).WithRequestTimeout(TimeSpan.FromMilliseconds(1)),
            kestrel: false, before: a => a.UseRequestTimeouts(), services: s => s.AddRequestTimeouts());
        using var client = app.CreateClient();

        var response = await client.GetAsync("/timed-out");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout), "the timeout middleware answered");
        var evt = _sink.WaitForCompletion("/timed-out");
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(500));
        Assert.That(evt.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(evt.Exception, Is.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task WithThePresetAnExceptionSetThroughTheDiagnosticContextOnAnAbortedRequestIsStillAttached()
    {
        // The application chose to attach it (IDiagnosticContext.SetException): only the exception that escaped because
        // the client left is left out.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var chosen = new InvalidOperationException("set by the handler");
        await using var app = await StartAsync(o => o.LogAbortedRequestsAsClientClosed = true, a => a.MapGet("/chosen", async (HttpContext ctx, IDiagnosticContext diagnostics) =>
        {
            diagnostics.SetException(chosen);
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            return "never";
        }));
        using var client = app.CreateClient();
        using var cts = new CancellationTokenSource();

        var request = client.GetAsync("/chosen", cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15));
        cts.Cancel();
        Assert.That(async () => await request, Throws.InstanceOf<OperationCanceledException>());

        var evt = _sink.WaitForCompletion("/chosen");
        Assert.That(((ScalarValue)evt.Properties["StatusCode"]).Value, Is.EqualTo(499));
        Assert.That(evt.Exception, Is.SameAs(chosen));
    }

    [Test]
    public async Task AllowListedHeadersAreCopiedAndCredentialsAreAlwaysMasked()
    {
        await using var app = await StartAsync(o =>
            {
                o.RequestHeaders = ["User-Agent", "Authorization", "X-Api-Key", "Cookie", "X-Absent"];
                o.ResponseHeaders = ["Set-Cookie", "X-Served-By"];
            },
            a => a.MapGet("/headers", (HttpContext ctx) =>
            {
                ctx.Response.Headers["Set-Cookie"] = "session=resp-secret";
                ctx.Response.Headers["X-Served-By"] = "node-1";
                return "h";
            }));
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/headers");
        request.Headers.TryAddWithoutValidation("User-Agent", "tests/1.0");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer req-secret-token");
        request.Headers.TryAddWithoutValidation("X-Api-Key", "req-secret-key");
        request.Headers.TryAddWithoutValidation("Cookie", "a=req-secret-cookie");

        await client.SendAsync(request);

        var evt = _sink.WaitForCompletion("/headers");
        var requestHeaders = ((DictionaryValue)evt.Properties["RequestHeaders"]).Elements.ToDictionary(kv => (string)kv.Key.Value!, kv => ((ScalarValue)kv.Value).Value);
        var responseHeaders = ((DictionaryValue)evt.Properties["ResponseHeaders"]).Elements.ToDictionary(kv => (string)kv.Key.Value!, kv => ((ScalarValue)kv.Value).Value);
        Assert.That(requestHeaders["User-Agent"], Is.EqualTo("tests/1.0"));
        Assert.That(requestHeaders["Authorization"], Is.EqualTo("[REDACTED]"));
        Assert.That(requestHeaders["X-Api-Key"], Is.EqualTo("[REDACTED]"));
        Assert.That(requestHeaders["Cookie"], Is.EqualTo("[REDACTED]"));
        Assert.That(requestHeaders.ContainsKey("X-Absent"), Is.False);
        Assert.That(responseHeaders["Set-Cookie"], Is.EqualTo("[REDACTED]"));
        Assert.That(responseHeaders["X-Served-By"], Is.EqualTo("node-1"));
        Assert.That(EventText.Of(evt), Does.Not.Contain("secret"));
    }

    [Test]
    public void AHeaderListedTwiceIsCapturedOnceUnderItsFirstSpelling()
    {
        // Header names are case-insensitive: "x-tenant" is X-Tenant again, and a dictionary property holding both would
        // be written as one JSON object with the same key twice.
        var capture = RequestLoggingMiddleware.HeaderCapture.Create("RequestHeaders", ["X-Tenant", "x-tenant", " X-Tenant ", "User-Agent", "X-TENANT"])!;
        var headers = new HeaderDictionary { ["X-Tenant"] = "acme", ["User-Agent"] = "tests/1.0" };

        var property = capture.Capture(headers)!;

        var keys = ((DictionaryValue)property.Value).Elements.Select(kv => (string)kv.Key.Value!).ToArray();
        Assert.That(keys, Is.EqualTo(new[] { "X-Tenant", "User-Agent" }));
    }

    [TestCase("Authorization", true)]
    [TestCase("Proxy-Authorization", true)]
    [TestCase("Cookie", true)]
    [TestCase("Set-Cookie", true)]
    [TestCase("X-Api-Key", true)]
    [TestCase("Ocp-Apim-Subscription-Key", true)]
    [TestCase("X-Functions-Key", true)]
    [TestCase("x-goog-api-key", true)]
    [TestCase("X-Amz-Security-Token", true)]
    [TestCase("X-Amz-Credential", true)]
    [TestCase("X-Hub-Signature-256", true)]
    [TestCase("X-Session-Id", true)]
    [TestCase("X_AUTH_USER", true)]
    [TestCase("Client-Secret", true)]
    [TestCase("User-Agent", false)]
    [TestCase("Accept-Language", false)]
    [TestCase("X-Served-By", false)]
    [TestCase("Content-Type", false)]
    [TestCase("Keep-Alive", false)]
    public void HeadersThatMayCarryACredentialAreAlwaysMasked(string name, bool masked) =>
        Assert.That(RequestLoggingMiddleware.HeaderCapture.IsAlwaysMasked(name), Is.EqualTo(masked));

    [Test]
    public async Task StagesOfAPipelineThatRanInsideTheRequestAreOnTheEvent()
    {
        await using var app = await StartAsync(null, a => a.MapPost("/voice", () =>
        {
            using var pipeline = PipelineTimer.Begin("voice-turn", _logger);
            using (pipeline.Stage("stt")) { }
            using (pipeline.Stage("llm")) { }
            pipeline.Complete();
            return "done";
        }));
        using var client = app.CreateClient();

        await client.PostAsync("/voice", null);

        var stages = (DictionaryValue)_sink.WaitForCompletion("/voice").Properties["Stages"];
        Assert.That(stages.Elements.Select(kv => kv.Key.Value), Is.EqualTo(new[] { "stt", "llm" }));
        Assert.That(stages.Elements.Values.Select(v => ((ScalarValue)v).Value), Has.All.TypeOf<double>());
    }

    [Test]
    public async Task WithoutARegisteredDiagnosticContextRequestLoggingStillWorks()
    {
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.MapGet("/plain", () => "p");
        });
        using var client = app.CreateClient();

        await client.GetAsync("/plain");

        Assert.That(_sink.WaitForCompletion("/plain").Level, Is.EqualTo(LogEventLevel.Information));
    }

    [Test]
    public async Task ASecondCallInABranchDoesNotChangeTheFirstCallsOptions()
    {
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            a.UseSerilogRequestLogging(o => o.Logger = _logger);
            a.Map("/api", api =>
            {
                api.UseSerilogRequestLogging(o => { o.Logger = _logger; o.MessageTemplate = "API {RequestPath}"; o.ExcludePaths = ["/*"]; o.LogClientErrorsAsWarning = true; });
                api.Run(context => context.Response.WriteAsync("api"));
            });
            a.MapGet("/page", (HttpContext context) => { context.Response.StatusCode = 404; return "page"; });
        }, services => services.Configure<RequestLoggingOptions>(_ => { }));
        using var client = app.CreateClient();

        await client.GetAsync("/page");

        var page = _sink.WaitForCompletion("/page");
        Assert.That(page.MessageTemplate.Text, Is.EqualTo("HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms"));
        Assert.That(page.Level, Is.EqualTo(LogEventLevel.Information), "the branch's LogClientErrorsAsWarning is its own");
    }

    [Test, NonParallelizable] // SelfLog is process-wide
    public async Task ThrowingCallbacksStillLeaveTheRequestLine()
    {
        var selfLog = new List<string>();
        using var _ = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog);
        await AssertThrowingCallbacksLeaveTheRequestLines();
        Assert.That(selfLog, Has.Some.Contains("enrich").And.Some.Contains("level"));
    }

    [Test, NonParallelizable] // SelfLog is process-wide
    public async Task TheSelfLogLineOfAThrowingCallbackNamesTheRequestByMethodAndCorrelationIdNotByItsPath()
    {
        // SelfLog is written outside the redaction: a credential in the path, masked in the event's RequestPath, was
        // echoed there as it came.
        var selfLog = new List<string>();
        using var _ = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.SaveTo(selfLog);
        await using var app = await StartAsync(o =>
            {
                o.GetLevel = (_, _, _) => throw new InvalidOperationException("level");
                o.EnrichDiagnosticContext = (_, _) => throw new InvalidOperationException("enrich");
            },
            a => a.Run(_ => Task.CompletedTask), before: a => a.UseCorrelation());
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/reset;password=hunter2-path");
        request.Headers.Add("X-Correlation-ID", "order-17");

        Assert.That((await client.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        _sink.WaitForCompletion("/reset;password=hunter2-path");
        var reports = selfLog.Where(line => line.Contains("callback failed")).ToList();
        Assert.That(reports, Has.Count.EqualTo(2));
        Assert.That(reports, Has.All.Contains("GET request order-17").And.None.Contain("hunter2"));
    }

    [Test, NonParallelizable] // SelfLog is process-wide
    public async Task ThrowingCallbacksStillLeaveTheRequestLineWhenTheSelfLogOutputThrows()
    {
        // SelfLog.Enable(TextWriter) on a full disk throws from every line: that costs the report, not the request line.
        using var failingSelfLog = Serilog.Extensions.Observability.Tests.Support.TemporarySelfLog.Failing();
        await AssertThrowingCallbacksLeaveTheRequestLines();
    }

    /// <summary>A throwing EnrichDiagnosticContext and a throwing GetLevel: both requests answer 200 and are logged.</summary>
    async Task AssertThrowingCallbacksLeaveTheRequestLines()
    {
        await using var app = await TestWeb.StartTestServerAsync(a =>
        {
            a.UseSerilogRequestLogging(o =>
            {
                o.Logger = _logger;
                o.EnrichDiagnosticContext = (diagnostics, _) => { diagnostics.Set("BeforeFailure", 1); throw new InvalidOperationException("enrich"); };
            });
            a.Map("/level", branch =>
            {
                branch.UseSerilogRequestLogging(o => { o.Logger = _logger; o.GetLevel = (_, _, _) => throw new InvalidOperationException("level"); });
                branch.Run(context => context.Response.WriteAsync("level"));
            });
            a.MapGet("/e", () => "e");
        });
        using var client = app.CreateClient();

        Assert.That((await client.GetAsync("/e")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var enriched = _sink.WaitForCompletion("/e");
        Assert.That(enriched.Level, Is.EqualTo(LogEventLevel.Information));
        Assert.That(EventText.Scalar(enriched, "BeforeFailure"), Is.EqualTo("1"));

        Assert.That((await client.GetAsync("/level")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_sink.WaitFor(e => EventText.Scalar(e, "RequestPath") == "/level"), Is.Not.Empty);
    }

    [Test]
    public async Task AnExceptionAfterTheClientLeftIsStillAnErrorWith499Preset()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestWeb.StartKestrelAsync(a =>
        {
            a.UseSerilogRequestLogging(o => { o.Logger = _logger; o.LogAbortedRequestsAsClientClosed = true; });
            a.MapGet("/bug", async (HttpContext context) =>
            {
                started.SetResult();
                try { await Task.Delay(Timeout.Infinite, context.RequestAborted); } catch (OperationCanceledException) { }
                throw new NullReferenceException("a bug, not the client");
            });
        });
        using var client = app.CreateClient();
        using var cancel = new CancellationTokenSource();
        var request = client.GetAsync("/bug", cancel.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        cancel.Cancel();
        try { await request; } catch (OperationCanceledException) { }

        var completion = _sink.WaitForCompletion("/bug");
        Assert.That(completion.Level, Is.EqualTo(LogEventLevel.Error));
        Assert.That(EventText.Scalar(completion, "StatusCode"), Is.EqualTo("500"));
        Assert.That(completion.Exception, Is.TypeOf<NullReferenceException>(), "a failure of the application keeps its exception");
    }

    [Test]
    public void NullMessageTemplateIsRejectedAtConfiguration()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();

        var ex = Assert.Throws<ArgumentException>(() => app.UseSerilogRequestLogging(o => o.MessageTemplate = null!));
        Assert.That(ex!.Message, Does.Contain("MessageTemplate"));
    }

    [Test]
    public void ANonPositiveSlowThresholdIsRejectedAtConfiguration()
    {
        var app = WebApplication.CreateSlimBuilder().Build();

        var ex = Assert.Throws<ArgumentException>(() => app.UseSerilogRequestLogging(o => o.SlowRequestThreshold = TimeSpan.Zero));
        Assert.That(ex!.Message, Does.Contain("SlowRequestThreshold"));
    }
}
