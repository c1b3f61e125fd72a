namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// The options a <see cref="PipelineTimer"/> begun without options uses. <c>Enrich.WithPipelineTiming(...)</c>
/// replaces them when a logger configuration (code or appsettings) is applied: the last one applied wins.
/// </summary>
static class PipelineTimingDefaults
{
    static PipelineTimingOptions s_options = new();

    public static PipelineTimingOptions Current => Volatile.Read(ref s_options);

    /// <summary>Installs <paramref name="options"/> and returns the previous defaults (tests put them back).</summary>
    public static PipelineTimingOptions Replace(PipelineTimingOptions options) =>
        Interlocked.Exchange(ref s_options, options);
}
