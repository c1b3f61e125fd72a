using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

/// <summary>Adds the ambient correlation id to outgoing requests that do not carry one already.</summary>
sealed class CorrelationPropagationHandler(string headerName) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Only an id the receiving UseCorrelation() accepts: another (a message id with '/', '+' or '=') would be
        // rejected and replaced there, with a warning, and is not worth putting on the wire.
        if (CorrelationContext.CurrentId is { } id && CorrelationId.IsAcceptable(id) && !request.Headers.Contains(headerName))
            request.Headers.TryAddWithoutValidation(headerName, id);
        return base.SendAsync(request, cancellationToken);
    }
}
