using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

/// <summary>Adds the ambient correlation id to outgoing requests that do not carry one already.</summary>
sealed class CorrelationPropagationHandler(string headerName) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Only an id the receiving UseCorrelation() accepts: another (a message id with '/', '+' or '=') would be
        // rejected and replaced there, with a warning, and is not worth putting on the wire.
        if (CorrelationContext.CurrentId is { } id && CorrelationId.IsAcceptable(id) && !Carries(request))
            request.Headers.TryAddWithoutValidation(headerName, id);
        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Whether the request has the header already: set by its sender, the client's default headers, or this handler on
    /// an earlier send of the same message (a retry handler before this one). A second value would make the receiving
    /// UseCorrelation() reject both, so the sender's own id wins. HTTP/1.1 sends content headers with the others: one
    /// put on the content counts too. NonValidated: a name of a standard header of the other collection (a content
    /// header on the request's, or the reverse) is not there, where the validating lookup would throw.
    /// </summary>
    bool Carries(HttpRequestMessage request) =>
        request.Headers.NonValidated.Contains(headerName) || request.Content?.Headers.NonValidated.Contains(headerName) == true;
}
