using System.Buffers;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Clef;
using Serilog.Extensions.Observability.Formatting.Json;
using Serilog.Formatting;
using Serilog.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting;

/// <summary>
/// Writes events in the Compact Log Event Format (CLEF), one JSON object per line, byte for byte as
/// Serilog.Formatting.Compact 2.0's and 3.0's <c>CompactJsonFormatter</c> do: <c>@t</c>, <c>@mt</c>, <c>@r</c>
/// (renderings of the tokens that have a format string), <c>@l</c> (omitted for
/// <see cref="LogEventLevel.Information"/>), <c>@x</c>, <c>@tr</c>, <c>@sp</c>, then the properties (a leading
/// <c>@</c> doubled).
/// Readable by Seq, seqcli, Serilog.Formatting.Compact.Reader and jq.
/// </summary>
/// <remarks>
/// Instances are thread-safe. The UTF-8 path (<see cref="Format(LogEvent, IBufferWriter{byte})"/>) allocates nothing
/// per event for the common scalar types; a value of another type costs its <c>ToString()</c>, an exception its
/// <c>ToString()</c>. Where Serilog.Formatting.Compact would throw (a format string invalid for the value, a
/// <c>ToString()</c> that throws), this formatter writes the value's <c>ToString()</c> or a placeholder instead.
/// Each instance remembers the escaped text of up to 512 message templates of up to 1024 characters and 512 property
/// names of up to 128 (by reference, from their second use on): share one instance rather than creating one per event.
/// </remarks>
public sealed class CompactJsonFormatter : IUtf8Formatter
{
    readonly JsonValueFormatter? _valueFormatter;
    readonly ClefCache _cache = new();

    /// <summary>Construct a <see cref="CompactJsonFormatter"/>.</summary>
    /// <param name="valueFormatter">A formatter for property values, or <see langword="null"/> (the default) for the
    /// built-in one, which writes what <c>new JsonValueFormatter(typeTagName: "$type")</c> writes. A custom value
    /// formatter cannot be run on UTF-8 directly: with one, the UTF-8 path formats text first and encodes it, which
    /// allocates per event.</param>
    public CompactJsonFormatter(JsonValueFormatter? valueFormatter = null)
    {
        _valueFormatter = valueFormatter;
    }

    /// <summary>Format <paramref name="logEvent"/> as one line of CLEF, ending with <paramref name="output"/>'s newline.</summary>
    /// <param name="logEvent">The event to format.</param>
    /// <param name="output">The output.</param>
    public void Format(LogEvent logEvent, TextWriter output)
    {
        if (_valueFormatter is null)
            EventFormatting.ToText(new CompactBody(_cache), logEvent, output);
        else
            CustomValueFormatting.Format(logEvent, output, _valueFormatter, rendered: false, _cache);
    }

    /// <summary>
    /// Format <paramref name="logEvent"/> as one line of CLEF in UTF-8, ending with <see cref="Environment.NewLine"/>:
    /// the same bytes the <see cref="TextWriter"/> path produces through a UTF-8 writer.
    /// </summary>
    /// <param name="logEvent">The event to format.</param>
    /// <param name="output">The buffer writer to append the bytes to.</param>
    public void Format(LogEvent logEvent, IBufferWriter<byte> output)
    {
        if (_valueFormatter is null)
            EventFormatting.ToUtf8(new CompactBody(_cache), logEvent, output);
        else
            EventFormatting.TextToUtf8(this, logEvent, output);
    }
}
