using Serilog.Extensions.Observability.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting.Flat;

/// <summary>Property names in snake_case, computed into a scratch buffer (no string per event).</summary>
static class SnakeCase
{
    /// <summary>
    /// Appends <paramref name="name"/> in snake_case: an underscore before an upper-case letter that follows a
    /// lower-case letter or digit, or that ends an acronym (<c>HTTPStatus</c> → <c>http_status</c>); letters lowered
    /// with the invariant culture; everything else kept.
    /// </summary>
    public static void Append(CharBuilder output, string name)
    {
        // The design's canonical flat names that are not a plain conversion.
        if (name == "ServiceName")
        {
            output.Append("service");
            return;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (!char.IsUpper(c))
            {
                output.Append(c);
                continue;
            }

            if (i > 0)
            {
                var previous = name[i - 1];
                var endsAcronym = char.IsUpper(previous) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(previous) || char.IsDigit(previous) || endsAcronym)
                    output.Append('_');
            }
            output.Append(char.ToLowerInvariant(c));
        }
    }
}
