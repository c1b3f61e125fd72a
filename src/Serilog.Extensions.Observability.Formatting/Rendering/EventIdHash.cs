namespace Serilog.Extensions.Observability.Formatting.Rendering;

/// <summary>The <c>@i</c> event id: Jenkins' one-at-a-time hash over the template's UTF-16 code units.</summary>
static class EventIdHash
{
    public static uint Compute(ReadOnlySpan<char> template)
    {
        unchecked
        {
            uint hash = 0;
            foreach (var c in template)
            {
                hash += c;
                hash += hash << 10;
                hash ^= hash >> 6;
            }
            hash += hash << 3;
            hash ^= hash >> 11;
            hash += hash << 15;
            return hash;
        }
    }
}
