using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>
/// A <c>UserId</c> that a user enricher without a pseudonymization key wrote in clear. A keyed enricher that runs after it
/// knows the value by its type, not by comparing it with the user it resolves itself: a deferred identity may answer
/// differently between the two enrichers (another thread changed it), and the clear id of the first answer must not
/// stay on the event.
/// </summary>
sealed class ClearUserIdValue : ScalarValue
{
    public ClearUserIdValue(string userId)
        : base(userId)
    {
    }

    public string UserId => (string)Value!;
}
