using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Events;

namespace Serilog.Extensions.Observability.CompatibilityTests.RequestLogging;

/// <summary>
/// The application code of a differential test, written once: each host hands it its own <c>IDiagnosticContext</c>
/// behind this interface (Serilog.AspNetCore's and ours are distinct types with the same members).
/// </summary>
interface IDiagnostics
{
    void Set(string propertyName, object? value, bool destructureObjects = false);

    void SetException(Exception exception);
}

/// <summary>
/// The <c>RequestLoggingOptions</c> members a scenario sets, in types both packages share; each host copies the ones
/// set onto its own options in <c>UseSerilogRequestLogging(o => ...)</c>.
/// </summary>
sealed class ScenarioOptions
{
    public string? MessageTemplate { get; init; }
    public Func<HttpContext, double, Exception?, LogEventLevel>? GetLevel { get; init; }
    public Action<IDiagnostics, HttpContext>? EnrichDiagnosticContext { get; init; }
    public bool IncludeQueryInRequestPath { get; init; }
    public Func<HttpContext, string, double, int, IEnumerable<LogEventProperty>>? GetMessageTemplateProperties { get; init; }

    /// <summary>Set <c>Logger</c> to a logger of the test's own, writing to <see cref="ScenarioRun.CustomEvents"/>.</summary>
    public bool CustomLogger { get; init; }

    /// <summary>
    /// Set the options in <c>services.Configure&lt;RequestLoggingOptions&gt;()</c> and call
    /// <c>UseSerilogRequestLogging()</c> without a callback.
    /// </summary>
    public bool ThroughServices { get; init; }
}

/// <summary>
/// One request to a host set up with one <see cref="ScenarioOptions"/>: on Kestrel, or on the test server, with
/// <c>UsePathBase(<paramref name="PathBase"/>)</c> before request logging when given.
/// <paramref name="Difference"/> is where the package's README says the completion event differs on purpose.
/// </summary>
sealed record RequestLoggingScenario(string Name, string Target, ScenarioOptions Options, bool TestServer = false, DocumentedDifference? Difference = null,
    string? PathBase = null)
{
    public override string ToString() => Name;
}

/// <summary>
/// A deliberate difference the package's README lists (<paramref name="Readme"/> quotes it): the text
/// <paramref name="Theirs"/> in Serilog.AspNetCore's completion event is <paramref name="Ours"/> in ours.
/// </summary>
sealed record DocumentedDifference(string Readme, string Theirs, string Ours);

/// <summary>What one host logged for one scenario: its own logger's events, and the custom logger's.</summary>
sealed record ScenarioRun(string Response, IReadOnlyList<LogEvent> HostEvents, IReadOnlyList<LogEvent> CustomEvents);

/// <summary>Customer, for the destructuring scenarios: its ToString() differs from its structure.</summary>
sealed record Customer(string Name, int Tier);

static class ScenarioApplication
{
    /// <summary>The endpoints both hosts map, with the host's diagnostic context.</summary>
    public static void Map(WebApplication app)
    {
        app.MapGet("/orders/{id:int}", (int id, HttpContext http) =>
        {
            var diagnostics = http.RequestServices.GetRequiredService<IDiagnostics>();
            diagnostics.Set("OrderId", id);
            // An event of the application's own, through the static logger both set-ups set.
            Log.ForContext(Core.Constants.SourceContextPropertyName, "Handler").Information("Loading order {OrderId}", id);
            diagnostics.Set("Customer", new Customer("ann", 2));
            diagnostics.Set("Cart", new Customer("bob", 3), destructureObjects: true);
            diagnostics.Set("Tags", new[] { "new", "gift" });
            diagnostics.Set("Coupon", null);
            return Results.Ok("ok");
        });
        app.MapGet("/search", (HttpContext http) =>
        {
            http.RequestServices.GetRequiredService<IDiagnostics>().Set("Hits", 3);
            return Results.Ok("found");
        });
        app.MapGet("/fail", (HttpContext http) =>
        {
            http.RequestServices.GetRequiredService<IDiagnostics>().Set("Step", "charge");
            throw new InvalidOperationException("The payment service failed.");
        });
        app.MapGet("/fail-after-start", async (HttpContext http) =>
        {
            http.RequestServices.GetRequiredService<IDiagnostics>().Set("Step", "streaming");
            await http.Response.WriteAsync("partial");
            await http.Response.Body.FlushAsync();
            throw new InvalidOperationException("The stream's source failed.");
        });
        app.MapGet("/recovered", (HttpContext http) =>
        {
            http.RequestServices.GetRequiredService<IDiagnostics>().SetException(new TimeoutException("The cache timed out."));
            return Results.Ok("served from the database");
        });
        app.MapGet("/overridden", (HttpContext http) =>
        {
            // The template's own properties win over the diagnostic context's.
            var diagnostics = http.RequestServices.GetRequiredService<IDiagnostics>();
            diagnostics.Set("RequestPath", "/from-the-handler");
            diagnostics.Set("StatusCode", 299);
            return Results.Ok("ok");
        });
    }

    public static IEnumerable<RequestLoggingScenario> All()
    {
        yield return new("Defaults", "/orders/7", new());
        yield return new("NotFound", "/missing", new());
        yield return new("QueryNotIncluded", "/search?q=shoes&page=2", new());
        yield return new("QueryIncluded", "/search?q=shoes&page=2", new() { IncludeQueryInRequestPath = true });
        yield return new("QueryWithCredentialsIncluded", "/search?q=shoes&access_token=abc123&code=xyz", new() { IncludeQueryInRequestPath = true },
            Difference: new("With IncludeQueryInRequestPath, credentials in the query are masked",
                "/search?q=shoes&access_token=abc123&code=xyz", "/search?q=shoes&access_token=[REDACTED]&code=[REDACTED]"));
        yield return new("QueryIncludedOnTheTestServer", "/search?q=shoes&page=2", new() { IncludeQueryInRequestPath = true }, TestServer: true,
            Difference: new("On a host that reports no raw request target (the test server behind WebApplicationFactory), "
                + "RequestPath is the path and the query, where Serilog.AspNetCore writes the path alone",
                "\"/search\"", "\"/search?q=shoes&page=2\""));
        yield return new("QueryNotIncludedOnTheTestServer", "/search?q=shoes&page=2", new(), TestServer: true);
        yield return new("EncodedPath", "/caf%C3%A9/x%2Fy?q=a%20b", new());
        yield return new("EncodedPathWithQueryIncluded", "/caf%C3%A9/x%2Fy?q=a%20b", new() { IncludeQueryInRequestPath = true });
        yield return new("PathBase", "/api/orders/7?q=1", new(), PathBase: "/api");
        yield return new("PathBaseWithQueryIncluded", "/api/orders/7?q=1", new() { IncludeQueryInRequestPath = true }, PathBase: "/api");
        yield return new("TemplatePropertiesWin", "/overridden", new());
        yield return new("UnhandledException", "/fail", new());
        yield return new("UnhandledExceptionAfterTheResponseStarted", "/fail-after-start", new());
        yield return new("SetException", "/recovered", new());
        yield return new("EnrichDiagnosticContext", "/orders/7", new()
        {
            EnrichDiagnosticContext = (diagnostics, http) =>
            {
                diagnostics.Set("RequestHost", http.Request.Host.Value);
                diagnostics.Set("RequestScheme", http.Request.Scheme);
                diagnostics.Set("EndpointName", http.GetEndpoint()?.DisplayName);
                // After the handler's value: the callback's wins.
                diagnostics.Set("OrderId", "from-the-callback");
                diagnostics.Set("ResponseContentType", http.Response.ContentType);
            },
        });
        yield return new("EnrichDiagnosticContextOnException", "/fail", new()
        {
            EnrichDiagnosticContext = (diagnostics, http) => diagnostics.Set("ResponseStarted", http.Response.HasStarted),
        });
        yield return new("MessageTemplate", "/orders/7", new()
        {
            MessageTemplate = "Handled {RequestMethod} {RequestPath} for order {OrderId} ({Customer}, {@Cart}) with {StatusCode} in {Elapsed:0.00} ms",
        });
        yield return new("GetLevelWarning", "/orders/7", new()
        {
            GetLevel = (http, elapsed, exception) => http.Response.StatusCode == 200 ? LogEventLevel.Warning : LogEventLevel.Fatal,
        });
        yield return new("GetLevelBelowMinimum", "/orders/7", new()
        {
            GetLevel = (_, _, _) => LogEventLevel.Debug,
        });
        yield return new("GetLevelSeesException", "/fail", new()
        {
            GetLevel = (_, _, exception) => exception is InvalidOperationException ? LogEventLevel.Fatal : LogEventLevel.Information,
        });
        yield return new("GetMessageTemplateProperties", "/search?q=shoes", new()
        {
            GetMessageTemplateProperties = (http, path, elapsed, status) =>
            [
                new LogEventProperty("RequestMethod", new ScalarValue(http.Request.Method.ToLowerInvariant())),
                new LogEventProperty("RequestPath", new ScalarValue(path.ToUpperInvariant())),
                new LogEventProperty("StatusCode", new ScalarValue(status + 1000)),
                new LogEventProperty("Elapsed", new ScalarValue(elapsed)),
                new LogEventProperty("Route", new ScalarValue(http.GetEndpoint()?.DisplayName)),
            ],
        });
        yield return new("GetMessageTemplatePropertiesWithQuery", "/search?q=shoes", new()
        {
            IncludeQueryInRequestPath = true,
            GetMessageTemplateProperties = (http, path, elapsed, status) =>
            [
                new LogEventProperty("RequestPath", new ScalarValue(path)),
                new LogEventProperty("Elapsed", new ScalarValue(elapsed)),
            ],
        });
        yield return new("ThroughServices", "/search?q=shoes", new()
        {
            ThroughServices = true,
            MessageTemplate = "Served {RequestPath} with {Hits} hits ({StatusCode})",
            IncludeQueryInRequestPath = true,
            EnrichDiagnosticContext = (diagnostics, http) => diagnostics.Set("Scheme", http.Request.Scheme),
        });
        yield return new("CustomLogger", "/orders/7", new() { CustomLogger = true });
        yield return new("CustomLoggerOnException", "/fail", new() { CustomLogger = true });
    }
}
