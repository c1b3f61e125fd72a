using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serilog.Events;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// <c>"Serilog:Correlation"</c>: <c>AddObservability()</c> binds it onto <see cref="CorrelationOptions"/>, which
/// <c>UseCorrelation()</c> starts from, so a public-facing deployment can turn <c>TrustIncomingId</c> off in its
/// appsettings. AddObservability sets the static Log.Logger.
/// </summary>
[NonParallelizable]
public class CorrelationSectionTests
{
    const string Handled = "Handler ran";

    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static void AddJson(IConfigurationBuilder configuration, string correlation) =>
        configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes($$"""{ "Serilog": { "Correlation": {{correlation}} } }""")));

    /// <summary>As below, over <c>{ "Serilog": { "Correlation": correlation } }</c> and then <paramref name="moreConfiguration"/>.</summary>
    static Task<RunningApp> StartAsync(string correlation, WaitingSink sink, Action<CorrelationOptions>? configure = null,
        Action<IConfigurationBuilder>? moreConfiguration = null, Action<IServiceCollection>? services = null) =>
        StartAsync(c =>
        {
            AddJson(c, correlation);
            moreConfiguration?.Invoke(c);
        }, sink, configure, services);

    /// <summary>
    /// A host on the test server with <c>AddObservability()</c> over <paramref name="configuration"/>,
    /// <c>UseCorrelation(configure)</c>, a stand-in for authentication that signs every request in with the
    /// claims the tests read, and <c>/work</c>, which logs <see cref="Handled"/> into <paramref name="sink"/>, the host's
    /// logger's sink. <paramref name="services"/> registers services of the test's own before AddObservability().
    /// </summary>
    static async Task<RunningApp> StartAsync(Action<IConfigurationBuilder> configuration, WaitingSink sink, Action<CorrelationOptions>? configure = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = TestWeb.ProductionBuilder();
        configuration(builder.Configuration);
        builder.WebHost.UseTestServer();
        services?.Invoke(builder.Services);
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None).WriteTo(w => w.Sink(sink)));
        var app = builder.Build();
        app.UseCorrelation(configure);
        app.Use((context, next) =>
        {
            context.User = new ClaimsPrincipal(new ClaimsIdentity(
            [
                new Claim("sub", "sub-1"), new Claim("uid", "uid-1"),
                new Claim("tid", "tid-1"), new Claim("org", "org-1"),
                new Claim("sid", "sid-1"), new Claim("sess", "sess-1"),
            ], "Test"));
            return next(context);
        });
        app.MapGet("/work", (ILogger log) =>
        {
            log.Information(Handled);
            return "ok";
        });
        await app.StartAsync();
        return new RunningApp(app, new Uri("http://localhost/"));
    }

    static async Task<(HttpResponseMessage Response, LogEvent Handler)> GetAsync(RunningApp app, WaitingSink sink, params (string Name, string Value)[] headers)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
        foreach (var (name, value) in headers) request.Headers.Add(name, value);
        var response = await client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var handler = sink.WaitFor(e => e.MessageTemplate.Text == Handled).Last();
        return (response, handler);
    }

    static string? Id(LogEvent e) => EventText.Scalar(e, "CorrelationId");

    static string? Echoed(HttpResponseMessage response, string name = CorrelationOptions.DefaultHeaderName) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    [Test]
    public async Task HeaderNameAndAdditionalHeaderNamesFromTheSectionChooseTheHeadersReadAndEchoed()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "HeaderName": "X-Request-ID", "AdditionalHeaderNames": [ "Request-Id" ] }""", sink);

        var (fromPrimary, primaryHandler) = await GetAsync(app, sink, ("X-Request-ID", "primary-1"), ("X-Correlation-ID", "default-1"));
        Assert.That(Id(primaryHandler), Is.EqualTo("primary-1"));
        Assert.That(Echoed(fromPrimary, "X-Request-ID"), Is.EqualTo("primary-1"));
        Assert.That(Echoed(fromPrimary), Is.Null, "the default header is neither read nor echoed");

        var (fromAdditional, additionalHandler) = await GetAsync(app, sink, ("Request-Id", "additional-1"), ("X-Correlation-ID", "default-2"));
        Assert.That(Id(additionalHandler), Is.EqualTo("additional-1"));
        Assert.That(Echoed(fromAdditional, "X-Request-ID"), Is.EqualTo("additional-1"));
    }

    [Test]
    public async Task TrustIncomingIdOffInTheSectionIgnoresTheCallersId()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "TrustIncomingId": false }""", sink);

        var (response, handler) = await GetAsync(app, sink, ("X-Correlation-ID", "caller-chosen-1"));

        Assert.That(Id(handler), Is.Not.Null.And.Not.EqualTo("caller-chosen-1"));
        Assert.That(Id(handler), Is.EqualTo(EventText.Scalar(handler, "TraceId")), "the trace id, as for a request without the header");
        Assert.That(Echoed(response), Is.EqualTo(Id(handler)));
    }

    [Test]
    public async Task UseTraceIdWhenMissingOffInTheSectionGivesANewId()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "UseTraceIdWhenMissing": false }""", sink);

        var (response, handler) = await GetAsync(app, sink);

        Assert.That(EventText.Scalar(handler, "TraceId"), Is.Not.Null);
        Assert.That(Id(handler), Is.Not.Null.And.Not.EqualTo(EventText.Scalar(handler, "TraceId")));
        Assert.That(Echoed(response), Is.EqualTo(Id(handler)));
    }

    [Test]
    public async Task EchoResponseHeaderOffInTheSectionLeavesTheResponseWithoutTheId()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "EchoResponseHeader": false }""", sink);

        var (response, handler) = await GetAsync(app, sink, ("X-Correlation-ID", "sent-1"));

        Assert.That(Id(handler), Is.EqualTo("sent-1"));
        Assert.That(Echoed(response), Is.Null);
    }

    [Test]
    public async Task EnableUserContextOffInTheSectionLeavesTheUserOut()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "EnableUserContext": false }""", sink);

        var (_, handler) = await GetAsync(app, sink);

        Assert.That(handler.Properties.Keys, Has.None.AnyOf("UserId", "TenantId", "SessionId"));
    }

    [Test]
    public async Task ClaimTypesFromTheSectionReplaceTheDefaultsRatherThanAddToThem()
    {
        // Bound onto the default lists, the section's claim types would come after "sub", "tid" and "sid", which every
        // request here carries: the section would change nothing.
        var sink = new WaitingSink();
        await using var app = await StartAsync("""
            { "UserIdClaimTypes": [ "uid" ], "TenantIdClaimTypes": [ "org" ], "SessionIdClaimTypes": [ "sess" ] }
            """, sink);

        var (_, handler) = await GetAsync(app, sink);

        Assert.Multiple(() =>
        {
            Assert.That(EventText.Scalar(handler, "UserId"), Is.EqualTo("uid-1"));
            Assert.That(EventText.Scalar(handler, "TenantId"), Is.EqualTo("org-1"));
            Assert.That(EventText.Scalar(handler, "SessionId"), Is.EqualTo("sess-1"));
        });
    }

    [Test]
    public async Task AnEmptyClaimTypeListInTheSectionLeavesThatIdOut()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "UserIdClaimTypes": [ ] }""", sink);

        var (_, handler) = await GetAsync(app, sink);

        Assert.That(handler.Properties.Keys, Has.None.EqualTo("UserId"), "not the default list's sub claim");
    }

    [Test]
    public async Task UseCorrelationsCallbackChangesItsOwnCopyOfTheSectionsOptions()
    {
        // A second UseCorrelation() (a pipeline branch) starts from the section again, not from what the first one's
        // callback made of it.
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "AdditionalHeaderNames": [ "Request-Id" ] }""", sink, o => o.AdditionalHeaderNames.Add("X-Request-ID"));

        var registered = app.App.Services.GetRequiredService<IOptions<CorrelationOptions>>().Value;

        Assert.That(registered.AdditionalHeaderNames, Is.EqualTo(new[] { "Request-Id" }));
    }

    [Test]
    public async Task WithoutTheSectionTheDefaultsApply()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("{ }", sink);

        var (response, handler) = await GetAsync(app, sink, ("X-Correlation-ID", "sent-2"));

        Assert.That(Id(handler), Is.EqualTo("sent-2"));
        Assert.That(Echoed(response), Is.EqualTo("sent-2"));
        Assert.That(EventText.Scalar(handler, "UserId"), Is.EqualTo("sub-1"));
    }

    [Test]
    public async Task UseCorrelationsCallbackRunsAfterTheSectionAndWins()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "TrustIncomingId": false, "HeaderName": "X-Request-ID" }""", sink,
            o =>
            {
                Assert.That(o.TrustIncomingId, Is.False, "the callback sees the section's values");
                o.TrustIncomingId = true;
            });

        var (response, handler) = await GetAsync(app, sink, ("X-Request-ID", "code-wins-1"));

        Assert.That(Id(handler), Is.EqualTo("code-wins-1"), "the callback's TrustIncomingId, the section's HeaderName");
        Assert.That(Echoed(response, "X-Request-ID"), Is.EqualTo("code-wins-1"));
    }

    static bool IsRejection(LogEvent e) => e.MessageTemplate.Text.StartsWith("Rejected the {HeaderName}", StringComparison.Ordinal);

    // Longer than CorrelationOptions.MaxIdLength: rejected, and reported by the options' logger.
    static readonly string TooLongId = new('x', CorrelationOptions.MaxIdLength + 1);

    [Test]
    public async Task UseCorrelationsCallbackSeesNoLoggerSoThatCodeDefaultingItChoosesTheLogger()
    {
        // As with UseSerilogRequestLogging(): the host's logger is the default taken when the callback leaves Logger null,
        // not a value the callback sees, so `o.Logger ??= mine` makes mine report rejected headers.
        var sink = new WaitingSink();
        var mine = new WaitingSink();
        using var logger = TestWeb.CreateLogger(mine);
        ILogger? seen = logger;
        await using var app = await StartAsync("{ }", sink, o =>
        {
            seen = o.Logger;
            o.Logger ??= logger;
        });

        await GetAsync(app, sink, ("X-Correlation-ID", TooLongId));

        Assert.That(seen, Is.Null);
        Assert.That(mine.WaitFor(IsRejection), Has.Count.EqualTo(1));
        Assert.That(sink.Events.Where(IsRejection), Is.Empty, "the host's logger reported it");
    }

    [Test]
    public async Task ALoggerSetInTheRegisteredOptionsIsWhatTheCallbackSeesAndWinsOverTheHostsLogger()
    {
        var sink = new WaitingSink();
        var registered = new WaitingSink();
        using var logger = TestWeb.CreateLogger(registered);
        ILogger? seen = null;
        await using var app = await StartAsync("{ }", sink, o => seen = o.Logger,
            services: s => s.Configure<CorrelationOptions>(o => o.Logger = logger));

        await GetAsync(app, sink, ("X-Correlation-ID", TooLongId));

        Assert.That(seen, Is.SameAs(logger));
        Assert.That(registered.WaitFor(IsRejection), Has.Count.EqualTo(1));
        Assert.That(sink.Events.Where(IsRejection), Is.Empty, "the host's logger reported it");
    }

    [Test]
    public async Task WithoutALoggerInTheOptionsOrTheCallbackTheHostsLoggerReportsRejectedHeaders()
    {
        var sink = new WaitingSink();
        await using var app = await StartAsync("{ }", sink, o => { });

        await GetAsync(app, sink, ("X-Correlation-ID", TooLongId));

        Assert.That(sink.WaitFor(IsRejection), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AnEmptyEntryALaterSourceGivesAHeaderListSwitchesItOff()
    {
        // As for the section's other lists: Serilog__Correlation__AdditionalHeaderNames__0= over appsettings.json.
        var sink = new WaitingSink();
        await using var app = await StartAsync("""{ "AdditionalHeaderNames": [ "X-Request-ID", "Request-Id" ] }""", sink,
            moreConfiguration: c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:Correlation:AdditionalHeaderNames:0"] = "" }));

        var (_, skipped) = await GetAsync(app, sink, ("X-Request-ID", "switched-off-1"));
        var (_, read) = await GetAsync(app, sink, ("Request-Id", "still-read-1"));

        Assert.That(Id(skipped), Is.Not.EqualTo("switched-off-1"));
        Assert.That(Id(read), Is.EqualTo("still-read-1"));
    }

    [Test]
    public async Task AReloadDoesNotChangeTheOptionsOfARunningPipeline()
    {
        // As "Serilog:RequestLogging": read once, when UseCorrelation() runs.
        var sink = new WaitingSink();
        await using var app = await StartAsync(
            c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:Correlation:TrustIncomingId"] = "true" }), sink);

        app.App.Configuration["Serilog:Correlation:TrustIncomingId"] = "false";
        ((IConfigurationRoot)app.App.Configuration).Reload();
        var (_, handler) = await GetAsync(app, sink, ("X-Correlation-ID", "after-reload-1"));

        Assert.That(app.App.Configuration["Serilog:Correlation:TrustIncomingId"], Is.EqualTo("false"));
        Assert.That(Id(handler), Is.EqualTo("after-reload-1"));
    }

    [TestCase("""{ "TrustIncomingIds": false }""", "Serilog:Correlation", "'TrustIncomingIds'")]
    [TestCase("""{ "TrustIncomingId": "sometimes" }""", "Serilog:Correlation:TrustIncomingId", "Boolean")]
    [TestCase("""{ "EchoResponseHeader": "yes" }""", "Serilog:Correlation:EchoResponseHeader", "Boolean")]
    [TestCase("""{ "HeaderName": "X Correlation" }""", "Serilog:Correlation:HeaderName", "HTTP token")]
    [TestCase("""{ "HeaderName": "" }""", "Serilog:Correlation:HeaderName", "HTTP token")]
    [TestCase("""{ "AdditionalHeaderNames": [ "X-Request-ID", "Request:Id" ] }""", "Serilog:Correlation:AdditionalHeaderNames:1", "HTTP token")]
    [TestCase("""{ "AdditionalHeaderNames": "X-Request-ID" }""", "Serilog:Correlation:AdditionalHeaderNames", "list")]
    [TestCase("""{ "Logger": "Console" }""", "Serilog:Correlation:Logger", "code")]
    [TestCase("""{ "HeaderName": [ "X-Request-ID" ] }""", "Serilog:Correlation:HeaderName", "a single value")]
    [TestCase("""{ "TrustIncomingId": { "Enabled": false } }""", "Serilog:Correlation:TrustIncomingId", "a single value")]
    public void ACorrelationSectionThatIsAConfigurationErrorFailsAtAddObservabilityNamingTheKey(string correlation, string key, string rule)
    {
        var before = Log.Logger;
        var builder = TestWeb.ProductionBuilder();
        AddJson(builder.Configuration, correlation);

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None)));

        Assert.That(ex!.Message, Does.Contain(key).And.Contain(rule));
        Assert.That(Log.Logger, Is.SameAs(before), "checked before the logger is built");
    }

    [Test]
    public async Task ASectionKeyAddedAfterAddObservabilityIsCheckedWhenUseCorrelationReadsIt()
    {
        // A source added after AddObservability() (a WebApplicationFactory's ConfigureAppConfiguration runs in Build()).
        var builder = TestWeb.ProductionBuilder();
        builder.AddObservability(o => o.Console(ObservabilityConsoleFormat.None));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:Correlation:HeaderName"] = "X Late" });
        await using var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.UseCorrelation());

        Assert.That(ex!.Message, Does.Contain("Serilog:Correlation:HeaderName").And.Contain("HTTP token"));
    }
}
