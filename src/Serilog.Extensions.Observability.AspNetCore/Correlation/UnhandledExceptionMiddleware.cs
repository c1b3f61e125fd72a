using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;

namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

/// <summary>
/// The request feature through which the outermost middleware and <see cref="CorrelationMiddleware"/> agree on who
/// answers an exception nobody handled. Two shared instances, so no request allocates one.
/// </summary>
sealed class UnhandledExceptionFeature
{
    /// <summary>The outermost middleware runs for this request: whatever escapes the pipeline reaches it.</summary>
    public static readonly UnhandledExceptionFeature Available = new();

    /// <summary>A correlation middleware echoes an id on this request's response: an escaping exception is answered with it.</summary>
    public static readonly UnhandledExceptionFeature Requested = new();

    UnhandledExceptionFeature() { }
}

/// <summary>
/// Put before everything the application adds (by <see cref="UnhandledExceptionStartupFilter"/>): answers an exception
/// that escaped every handler, so the correlation id reaches the client, while exception handlers the application
/// placed before <c>UseCorrelation()</c> (the developer exception page, <c>UseExceptionHandler</c>) still see it first.
/// </summary>
sealed class UnhandledExceptionMiddleware(RequestDelegate next)
{
    public Task Invoke(HttpContext context)
    {
        context.Features.Set(UnhandledExceptionFeature.Available);
        Task task;
        try
        {
            task = next(context);
        }
        catch (Exception ex)
        {
            task = Task.FromException(ex);
        }

        return task.IsCompletedSuccessfully ? task : AwaitAsync(context, task);
    }

    static async Task AwaitAsync(HttpContext context, Task task)
    {
        try
        {
            await task;
        }
        catch (Exception ex) when (!context.Response.HasStarted && ReferenceEquals(context.Features.Get<UnhandledExceptionFeature>(), UnhandledExceptionFeature.Requested))
        {
            await AnswerAsync(context, ex);
            if (!RequestLoggingMiddleware.HasLogged(context, ex)) throw;
        }
    }

    /// <summary>
    /// The server answers an unhandled exception with a bare 500 after clearing every header (and without running the
    /// response's OnStarting callbacks), so the echoed id would be lost: send that answer here instead, with the status
    /// the server would give (a bad request keeps its own), and complete it so the id's OnStarting callback runs.
    /// When request logging has already written the exception, the caller ends the request; otherwise it rethrows so
    /// the server logs it (it then closes the connection, after the complete response).
    /// </summary>
    internal static Task AnswerAsync(HttpContext context, Exception exception)
    {
        context.Response.Clear();
        context.Response.StatusCode = exception is BadHttpRequestException badRequest ? badRequest.StatusCode : StatusCodes.Status500InternalServerError;
        context.Response.ContentLength = 0;
        return context.Response.CompleteAsync();
    }
}

/// <summary>Registered by <c>AddObservability()</c>: puts <see cref="UnhandledExceptionMiddleware"/> first in the pipeline.</summary>
sealed class UnhandledExceptionStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static inner => new UnhandledExceptionMiddleware(inner).Invoke);
        next(app);
    };
}
