namespace Serilog.Extensions.Observability.Formatting;

/// <summary>How <see cref="FlatJsonFormatter"/> spells the <c>level</c> key.</summary>
public enum FlatJsonLevelFormat
{
    /// <summary>Serilog's level names: <c>Verbose</c>, <c>Debug</c>, <c>Information</c>, <c>Warning</c>, <c>Error</c>, <c>Fatal</c>.</summary>
    Full,

    /// <summary>The upper-case names most log pipelines expect: <c>TRACE</c>, <c>DEBUG</c>, <c>INFO</c>, <c>WARN</c>, <c>ERROR</c>, <c>FATAL</c>.</summary>
    Short,
}
