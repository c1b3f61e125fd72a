using System.Text;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Formatting;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Writing;

/// <summary>
/// Turns one event into one UTF-8 line (no BOM) in the batch buffer: straight through <see cref="IUtf8Formatter"/>
/// when the formatter has it, otherwise through a reused <see cref="StringWriter"/> and encoder.
/// Used by the writer thread only.
/// </summary>
internal sealed class EventEncoder
{
    const int MaxRetainedTextCapacity = 64 * 1024;

    readonly IUtf8Formatter? _utf8Formatter;
    readonly ITextFormatter _textFormatter;
    readonly Encoder _encoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetEncoder();
    StringWriter? _text;

    public EventEncoder(ITextFormatter formatter)
    {
        _textFormatter = formatter;
        _utf8Formatter = formatter as IUtf8Formatter;
    }

    /// <summary>Appends the event's line; on an exception nothing of the event stays in <paramref name="output"/>.</summary>
    public void Encode(LogEvent logEvent, PooledBufferWriter output)
    {
        var start = output.WrittenCount;
        try
        {
            if (_utf8Formatter is not null)
                _utf8Formatter.Format(logEvent, output);
            else
                EncodeText(logEvent, output);

            // One event per line, whatever the formatter did about the terminator.
            if (output.WrittenCount == start || output.WrittenSpan[^1] != (byte)'\n')
            {
                output.GetSpan(1)[0] = (byte)'\n';
                output.Advance(1);
            }
        }
        catch
        {
            output.Truncate(start);
            _encoder.Reset();
            throw;
        }
    }

    void EncodeText(LogEvent logEvent, PooledBufferWriter output)
    {
        var text = _text ??= new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
        var builder = text.GetStringBuilder();
        if (builder.Capacity > MaxRetainedTextCapacity)
        {
            // One huge event should not pin its buffer for the life of the sink.
            text = _text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
            builder = text.GetStringBuilder();
        }
        builder.Clear();
        _textFormatter.Format(logEvent, text);
        foreach (var chunk in builder.GetChunks())
        {
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length));
            output.Advance(_encoder.GetBytes(chunk.Span, span, flush: false));
        }
        var tail = output.GetSpan(8);
        output.Advance(_encoder.GetBytes(ReadOnlySpan<char>.Empty, tail, flush: true));
    }
}
