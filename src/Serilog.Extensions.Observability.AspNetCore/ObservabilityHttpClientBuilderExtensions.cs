using Microsoft.Extensions.DependencyInjection;
using Serilog.Extensions.Observability.AspNetCore.Correlation;

namespace Serilog;

/// <summary>Correlation propagation for <see cref="System.Net.Http.HttpClient"/>.</summary>
public static class ObservabilityHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds the ambient correlation id to every outgoing request of this client under
    /// <paramref name="headerName"/>, unless the request sets that header itself. W3C <c>traceparent</c>
    /// is propagated by .NET's own HTTP instrumentation.
    /// </summary>
    /// <param name="builder">The HTTP client builder.</param>
    /// <param name="headerName">The header to write. The default is <c>X-Correlation-ID</c>.</param>
    /// <returns>The HTTP client builder.</returns>
    public static IHttpClientBuilder AddCorrelationPropagation(this IHttpClientBuilder builder, string headerName = "X-Correlation-ID")
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!CorrelationHeader.IsValidName(headerName))
            throw new ArgumentException("The header name must be a non-empty HTTP header name.", nameof(headerName));
        return builder.AddHttpMessageHandler(() => new CorrelationPropagationHandler(headerName));
    }
}
