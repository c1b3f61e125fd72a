using Microsoft.AspNetCore.Http;
using Serilog.Events;

namespace Serilog.Extensions.Observability.AspNetCore.RequestLogging;

/// <summary>
/// The default message template properties (<c>RequestMethod</c>, <c>RequestPath</c>, <c>StatusCode</c>,
/// <c>Elapsed</c>) added straight to the completion event, in the order and with the values
/// <see cref="Serilog.AspNetCore.RequestLoggingOptions.GetMessageTemplateProperties"/>' default gives, without the list,
/// and, for the standard methods, the status codes and a path the thread's last request had, without the properties
/// it builds per request.
/// </summary>
static class TemplateProperties
{
    const string RequestMethod = "RequestMethod", RequestPath = "RequestPath", StatusCode = "StatusCode", Elapsed = "Elapsed";

    // A property never changes: one per standard method, and one per status code, built on first use (a race builds two,
    // both the same).
    static readonly LogEventProperty Get = Method(HttpMethods.Get), Post = Method(HttpMethods.Post), Put = Method(HttpMethods.Put),
        Delete = Method(HttpMethods.Delete), Patch = Method(HttpMethods.Patch), Head = Method(HttpMethods.Head), Options = Method(HttpMethods.Options);

    const int FirstCachedStatus = 100, LastCachedStatus = 599;
    static readonly LogEventProperty?[] StatusCodes = new LogEventProperty?[LastCachedStatus - FirstCachedStatus + 1];

    public static void AddDefaults(LogEvent logEvent, string method, string requestPath, double elapsedMs, int statusCode)
    {
        logEvent.AddOrUpdateProperty(MethodProperty(method));
        logEvent.AddOrUpdateProperty(PathProperty(requestPath));
        logEvent.AddOrUpdateProperty(StatusCodeProperty(statusCode));
        logEvent.AddOrUpdateProperty(new LogEventProperty(Elapsed, new ScalarValue(elapsedMs)));
    }

    // The thread's last path, reused while requests on it have the same one (a health probe, a hot endpoint); another
    // instance with the same text writes the same value.
    [ThreadStatic] static LogEventProperty? t_lastPath;

    static LogEventProperty PathProperty(string requestPath)
    {
        var last = t_lastPath;
        if (last is not null && string.Equals((string?)((ScalarValue)last.Value).Value, requestPath, StringComparison.Ordinal)) return last;
        return t_lastPath = new LogEventProperty(RequestPath, new ScalarValue(requestPath));
    }

    static LogEventProperty Method(string method) => new(RequestMethod, new ScalarValue(method));

    static LogEventProperty MethodProperty(string method) => method switch
    {
        "GET" => Get,
        "POST" => Post,
        "PUT" => Put,
        "DELETE" => Delete,
        "PATCH" => Patch,
        "HEAD" => Head,
        "OPTIONS" => Options,
        _ => Method(method),
    };

    static LogEventProperty StatusCodeProperty(int statusCode)
    {
        if (statusCode is < FirstCachedStatus or > LastCachedStatus) return new LogEventProperty(StatusCode, new ScalarValue(statusCode));
        ref var slot = ref StatusCodes[statusCode - FirstCachedStatus];
        return Volatile.Read(ref slot) ?? CreateStatusCode(ref slot, statusCode);
    }

    static LogEventProperty CreateStatusCode(ref LogEventProperty? slot, int statusCode)
    {
        var value = new LogEventProperty(StatusCode, new ScalarValue(statusCode));
        Volatile.Write(ref slot, value);
        return value;
    }
}
