using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting.Clef;

readonly struct CompactBody(ClefCache cache) : IEventBody
{
    public void Write<TSink>(TSink sink, LogEvent logEvent, CharBuilder render) where TSink : struct, IJsonSink
    {
        var template = ClefWriter.WriteCompactHeader(sink, logEvent, render, cache);
        ClefWriter.WriteProperties(sink, logEvent, cache, template);
        sink.Ascii('}');
    }
}

readonly struct RenderedBody(ClefCache cache) : IEventBody
{
    public void Write<TSink>(TSink sink, LogEvent logEvent, CharBuilder render) where TSink : struct, IJsonSink
    {
        ClefWriter.WriteRenderedHeader(sink, logEvent, render);
        ClefWriter.WriteProperties(sink, logEvent, cache, cache.Template(logEvent.MessageTemplate));
        sink.Ascii('}');
    }
}

/// <summary>
/// The TextWriter path when the caller supplied Serilog's <c>JsonValueFormatter</c> (or a subclass). Its output goes
/// through a writer of our own, with the output's format provider and new line, and the line reaches
/// the output only once it is whole: Serilog's formatter throws for a value it cannot write (a
/// <c>ToString()</c> that throws), and the half line already written would begin the next event's line.
/// </summary>
static class CustomValueFormatting
{
    public static void Format(LogEvent logEvent, TextWriter output, Serilog.Formatting.Json.JsonValueFormatter valueFormatter, bool rendered, ClefCache cache)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);

        var scratch = Scratch.Rent();
        try
        {
            var sink = new CharSink(scratch.Chars);
            if (rendered)
                ClefWriter.WriteRenderedHeader(sink, logEvent, scratch.Render);
            else
                ClefWriter.WriteCompactHeader(sink, logEvent, scratch.Render, cache);

            var valueWriter = scratch.ValueWriter(output);
            var values = scratch.Values;
            foreach (var property in logEvent.Properties)
            {
                ClefWriter.WritePropertyName(sink, property.Key, cache);
                valueFormatter.Format(property.Value, valueWriter);
                foreach (var chunk in values.GetChunks()) scratch.Chars.Append(chunk.Span);
                values.Clear();
            }

            sink.Ascii('}');
            output.Write(scratch.Chars.Written);
            output.WriteLine();
        }
        finally
        {
            Scratch.Return(scratch);
        }
    }
}
