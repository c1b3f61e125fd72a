using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// An application's middleware pipeline (its startup filters included, as the host applies them) called directly, one
/// request at a time on the calling thread: what a request allocates is then what
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts, exactly and with no server in between.
/// </summary>
sealed class InProcessPipeline
{
    readonly RequestDelegate _pipeline;

    InProcessPipeline(RequestDelegate pipeline) => _pipeline = pipeline;

    /// <summary>Builds the pipeline of <paramref name="app"/> (built, not started) with <paramref name="configure"/> as its middleware.</summary>
    public static InProcessPipeline Build(WebApplication app, Action<IApplicationBuilder> configure)
    {
        Action<IApplicationBuilder> outer = configure;
        foreach (var filter in app.Services.GetServices<IStartupFilter>().Reverse()) outer = filter.Configure(outer);
        var builder = ((IApplicationBuilder)app).New();
        outer(builder);
        return new InProcessPipeline(builder.Build());
    }

    /// <summary>Runs one request; the pipeline must complete it synchronously.</summary>
    public HttpContext Send(string method = "GET", string path = "/ping")
    {
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature { Method = method, Path = path, RawTarget = path });
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        var context = new DefaultHttpContext(features);
        var task = _pipeline(context);
        Assert.That(task.IsCompletedSuccessfully, Is.True, "The pipeline did not complete the request synchronously.");
        return context;
    }

    /// <summary>
    /// The bytes one request allocates on this thread, averaged over <paramref name="requests"/> after a warm-up; request
    /// i has the path <paramref name="paths"/>[i % length] (default <c>/ping</c>).
    /// </summary>
    public double BytesPerRequest(int requests = 2000, params string[] paths)
    {
        if (paths.Length == 0) paths = ["/ping"];
        for (var i = 0; i < 500; i++) Send(path: paths[i % paths.Length]);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < requests; i++) Send(path: paths[i % paths.Length]);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)requests;
    }
}
