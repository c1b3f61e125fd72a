using System.Buffers;
using System.Text;
using Serilog.Events;
using Serilog.Formatting;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>One event's JSON object, without the trailing newline, written once for both output kinds.</summary>
interface IEventBody
{
    void Write<TSink>(TSink sink, LogEvent logEvent, CharBuilder render) where TSink : struct, IJsonSink;
}

/// <summary>
/// The two output paths. Both format into per-thread buffers and hand the line over in one piece, so an exception
/// thrown while formatting never leaves half a line in the output.
/// </summary>
static class EventFormatting
{
    public static readonly byte[] NewLineUtf8 = Encoding.UTF8.GetBytes(Environment.NewLine);

    public static void ToText<TBody>(TBody body, LogEvent logEvent, TextWriter output) where TBody : struct, IEventBody
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);

        var scratch = Scratch.Rent();
        try
        {
            body.Write(new CharSink(scratch.Chars), logEvent, scratch.Render);
            output.Write(scratch.Chars.Written);
            // TextWriter.WriteLine() writes the writer's own NewLine, exactly as Serilog.Formatting.Compact does.
            output.WriteLine();
        }
        finally
        {
            Scratch.Return(scratch);
        }
    }

    public static void ToUtf8<TBody>(TBody body, LogEvent logEvent, IBufferWriter<byte> output) where TBody : struct, IEventBody
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);

        var scratch = Scratch.Rent();
        try
        {
            var sink = new Utf8Sink(scratch.Bytes);
            body.Write(sink, logEvent, scratch.Render);
            sink.Literal(NewLineUtf8);
            var written = scratch.Bytes.Written;
            written.CopyTo(output.GetSpan(written.Length));
            output.Advance(written.Length);
        }
        finally
        {
            Scratch.Return(scratch);
        }
    }

    /// <summary>The slow path for a caller-supplied value formatter: text first, then its UTF-8 bytes.</summary>
    public static void TextToUtf8(ITextFormatter formatter, LogEvent logEvent, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);

        var text = new StringWriter();
        formatter.Format(logEvent, text);
        var chars = text.ToString();
        var written = Encoding.UTF8.GetBytes(chars, output.GetSpan(Encoding.UTF8.GetMaxByteCount(chars.Length)));
        output.Advance(written);
    }
}
