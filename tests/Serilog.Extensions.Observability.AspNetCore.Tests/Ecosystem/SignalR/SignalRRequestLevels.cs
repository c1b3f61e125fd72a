// The recipe the package README shows under "SignalR": the lines between the markers are that README's code block,
// character for character (SignalRTests.TheReadmeShowsTheRecipeTestedHere).
namespace Serilog.Extensions.Observability.AspNetCore.Tests.Ecosystem.SignalR;

// README: begin
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Serilog.AspNetCore;
using Serilog.Events;

static class SignalRRequestLevels
{
    // A long poll, or a message a client sent over server-sent events or long polling: at Debug unless it failed on the
    // server. A 404 (a stopping client's DELETE that finds its connection already closed) is one of them.
    // Negotiate and the connection's WebSocket or event stream keep their level.
    public static void MessagesAtDebug(RequestLoggingOptions options)
    {
        var level = options.GetLevel; // the default, with its presets (SlowRequestThreshold, ...)
        options.GetLevel = (context, elapsedMs, exception) =>
            exception is null && context.Response.StatusCode < 500 && IsMessage(context)
                ? LogEventLevel.Debug
                : level(context, elapsedMs, exception);
    }

    static bool IsMessage(HttpContext context) =>
        context.GetEndpoint()?.Metadata is { } metadata
        && metadata.GetMetadata<HubMetadata>() is not null
        && metadata.GetMetadata<NegotiateMetadata>() is null
        && !context.WebSockets.IsWebSocketRequest
        && context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) != true;
}
// README: end
