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

/// <summary>The TextWriter path when the caller supplied Serilog's <c>JsonValueFormatter</c> (or a subclass).</summary>
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

            foreach (var property in logEvent.Properties)
            {
                ClefWriter.WritePropertyName(sink, property.Key, cache);
                output.Write(scratch.Chars.Written);
                scratch.Chars.Length = 0;
                valueFormatter.Format(property.Value, output);
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
