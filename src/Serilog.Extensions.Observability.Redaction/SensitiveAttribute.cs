namespace Serilog.Extensions.Observability.Redaction;

/// <summary>
/// Marks a member whose value is masked whenever its object is logged, whatever the member's name: by
/// <c>Destructure.WithRedaction</c> for <c>{@object}</c>, and by <c>Enrich.WithRedaction</c> and
/// <c>WriteTo.Redacted</c> for structures of the type however they were captured. On positional records write
/// <c>[property: Sensitive]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false, Inherited = true)]
public sealed class SensitiveAttribute : Attribute
{
}
