using System.Buffers;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Flat;
using Serilog.Extensions.Observability.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting;

/// <summary>
/// Writes each event as one flat JSON object per line, the shape log pipelines without CLEF support expect:
/// <c>timestamp</c> (ISO-8601, UTC), <c>level</c>, <c>message</c> (rendered with the invariant culture),
/// <c>message_template</c>, <c>logger</c> (the <c>SourceContext</c> property, which is then not repeated),
/// <c>trace_id</c>, <c>span_id</c>, <c>exception</c> {<c>type</c>, <c>message</c>, <c>stack_trace</c>}, then every
/// other property at the top level.
/// </summary>
/// <remarks>
/// <para>Property names are converted to snake_case (<c>CorrelationId</c> → <c>correlation_id</c>,
/// <c>HTTPStatus</c> → <c>http_status</c>, <c>ServiceName</c> → <c>service</c>) unless disabled; nested names inside
/// structured values are kept as they are. Values are written as Serilog's <c>JsonValueFormatter</c> writes them, with
/// <c>"$type"</c> for type tags.</para>
/// <para><c>trace_id</c>/<c>span_id</c> come from the event's own ids; when it carries none, a property named
/// <c>TraceId</c>/<c>SpanId</c> (after conversion: <c>trace_id</c>/<c>span_id</c>) takes the key, and a property equal
/// to the id already written is not repeated. Any other property whose name equals a reserved key is written with a
/// <c>_</c> prefix (<c>Level</c> → <c>_level</c>). <c>stack_trace</c> is <see cref="Exception.ToString()"/>, so inner
/// exceptions are kept.</para>
/// <para>Instances are thread-safe; the UTF-8 path allocates nothing per event for the common scalar types.</para>
/// </remarks>
public sealed class FlatJsonFormatter : IUtf8Formatter
{
    readonly FlatBody _body;

    /// <summary>Construct a <see cref="FlatJsonFormatter"/>.</summary>
    /// <param name="levelFormat">How the <c>level</c> key is spelled. The default is
    /// <see cref="FlatJsonLevelFormat.Full"/> (<c>Information</c>); <see cref="FlatJsonLevelFormat.Short"/> gives <c>INFO</c>.</param>
    /// <param name="snakeCaseNames">Whether property names are converted to snake_case. The default is
    /// <see langword="true"/>; with <see langword="false"/> they are written as they are.</param>
    public FlatJsonFormatter(FlatJsonLevelFormat levelFormat = FlatJsonLevelFormat.Full, bool snakeCaseNames = true)
    {
        if (levelFormat is not (FlatJsonLevelFormat.Full or FlatJsonLevelFormat.Short))
            throw new ArgumentOutOfRangeException(nameof(levelFormat), levelFormat, "The level format must be Full or Short.");
        _body = new FlatBody(levelFormat == FlatJsonLevelFormat.Short, snakeCaseNames);
    }

    /// <summary>Format <paramref name="logEvent"/> as one line of flat JSON, ending with <paramref name="output"/>'s newline.</summary>
    /// <param name="logEvent">The event to format.</param>
    /// <param name="output">The output.</param>
    public void Format(LogEvent logEvent, TextWriter output) => EventFormatting.ToText(_body, logEvent, output);

    /// <summary>
    /// Format <paramref name="logEvent"/> as one line of flat JSON in UTF-8, ending with <see cref="Environment.NewLine"/>:
    /// the same bytes the <see cref="TextWriter"/> path produces through a UTF-8 writer.
    /// </summary>
    /// <param name="logEvent">The event to format.</param>
    /// <param name="output">The buffer writer to append the bytes to.</param>
    public void Format(LogEvent logEvent, IBufferWriter<byte> output) => EventFormatting.ToUtf8(_body, logEvent, output);
}
