namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

static class UserPropertyNames
{
    public const string UserId = "UserId";
    public const string TenantId = "TenantId";
    public const string SessionId = "SessionId";
}
