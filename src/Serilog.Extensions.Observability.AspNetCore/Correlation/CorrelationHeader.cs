namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

static class CorrelationHeader
{
    /// <summary>What <see cref="IsValidName"/> requires, worded for an exception message.</summary>
    public const string NameRule =
        "an HTTP token: one or more visible ASCII characters, without white space or a separator (\" ( ) , / : ; < = > ? @ [ \\ ] { }).";

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
