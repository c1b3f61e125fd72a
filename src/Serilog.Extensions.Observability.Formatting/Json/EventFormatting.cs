using System.Buffers;
using System.Runtime.InteropServices;
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

    /// <summary>The free space asked of the output: most lines fit, and a longer one only costs a copy.</summary>
    const int DirectSizeHint = 512;

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
            // Format straight into the output's free space when it is an array (ArrayBufferWriter, pooled writers):
            // nothing is committed before Advance, so a failed event still leaves no half line behind.
            var bytes = scratch.Bytes;
            if (scratch.MayBorrow && MemoryMarshal.TryGetArray<byte>(output.GetMemory(DirectSizeHint), out var free) && free.Array is { } array)
                bytes.Borrow(array, free.Offset, free.Count);

            var sink = new Utf8Sink(bytes);
            body.Write(sink, logEvent, scratch.Render);
            sink.Literal(NewLineUtf8);

            if (bytes.IsBorrowed)
            {
                output.Advance(bytes.WrittenCount);
            }
            else
            {
                // It did not fit (or the output is not an array): one copy of the finished line.
                var written = bytes.Written;
                written.CopyTo(output.GetSpan(written.Length));
                output.Advance(written.Length);
            }
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
