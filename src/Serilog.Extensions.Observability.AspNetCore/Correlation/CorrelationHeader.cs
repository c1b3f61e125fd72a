namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

static class CorrelationHeader
{
    /// <summary>An RFC 9110 token: visible ASCII without separators.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return false;
        foreach (var c in name)
        {
            if (c <= ' ' || c >= 127 || "\"(),/:;<=>?@[\\]{}".Contains(c)) return false;
        }

        return true;
    }
}
