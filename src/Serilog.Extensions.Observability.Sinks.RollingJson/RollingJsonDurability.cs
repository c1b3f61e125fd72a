namespace Serilog.Extensions.Observability.Sinks.RollingJson;

/// <summary>How far each batch of events is pushed before the writer takes the next one.</summary>
public enum RollingJsonDurability
{
    /// <summary>
    /// Each batch is handed to the operating system (a <c>write</c> call) before the next is taken:
    /// it survives a crash of the process, not of the machine. The default.
    /// </summary>
    Flushed,

    /// <summary>
    /// Each batch is also forced to the storage device (<c>fsync</c>) before the next is taken:
    /// it survives a power loss, at the price of one device flush per batch.
    /// </summary>
    Durable,
}
