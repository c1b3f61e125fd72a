namespace Serilog.Extensions.Observability;

/// <summary>How <c>WithObservability()</c> writes to the console.</summary>
public enum ObservabilityConsoleFormat
{
    /// <summary>No console sink.</summary>
    None,

    /// <summary>Human-readable text: time, level, correlation id and message.</summary>
    Text,

    /// <summary>Compact JSON (CLEF), one event per line.</summary>
    Clef,

    /// <summary>Flat JSON with snake_case names, one event per line.</summary>
    FlatJson,
}
