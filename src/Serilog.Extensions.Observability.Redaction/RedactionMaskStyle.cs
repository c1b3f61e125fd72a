namespace Serilog.Extensions.Observability.Redaction;

/// <summary>How a sensitive value is replaced.</summary>
public enum RedactionMaskStyle
{
    /// <summary>By <see cref="RedactionOptions.Mask"/> (<c>[REDACTED]</c>).</summary>
    Fixed,

    /// <summary>
    /// By <see cref="RedactionOptions.Mask"/> followed by the last <see cref="RedactionOptions.PartialVisibleCharacters"/>
    /// characters of the value (<c>[REDACTED]4242</c>). Values that are not scalars are masked completely.
    /// </summary>
    Partial,

    /// <summary>
    /// By <c>keyId:hex</c>, the first 16 bytes of HMAC-SHA256(<see cref="RedactionOptions.PseudonymKey"/>, UTF-8 value)
    /// in lowercase hex: the same value always gives the same pseudonym, so events stay correlatable, while the value
    /// cannot be recovered without the key. Values that are not scalars are masked completely.
    /// </summary>
    Pseudonym,
}
