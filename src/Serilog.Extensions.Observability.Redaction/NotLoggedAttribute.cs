namespace Serilog.Extensions.Observability.Redaction;

/// <summary>
/// Marks a member that is left out whenever its object is logged: by <c>Destructure.WithRedaction</c> for
/// <c>{@object}</c> (the getter is not even called), and by <c>Enrich.WithRedaction</c> and
/// <c>WriteTo.Redacted</c> for structures of the type however they were captured. On positional records write
/// <c>[property: NotLogged]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false, Inherited = true)]
public sealed class NotLoggedAttribute : Attribute
{
}
