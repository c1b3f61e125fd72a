using System.Diagnostics;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Json;
using Serilog.Extensions.Observability.Formatting.Rendering;

namespace Serilog.Extensions.Observability.Formatting.Flat;

readonly struct FlatBody(bool shortLevels, bool snakeCaseNames) : IEventBody
{
    const string SourceContext = "SourceContext";

    public void Write<TSink>(TSink sink, LogEvent logEvent, CharBuilder render) where TSink : struct, IJsonSink
    {
        sink.Literal("{\"timestamp\":\""u8);
        sink.EventTimestamp(logEvent.Timestamp);
        sink.Literal("\",\"level\":\""u8);
        WriteLevel(sink, logEvent.Level);
        sink.Literal("\",\"message\":"u8);
        render.Length = 0;
        MessageRenderer.Render(render, logEvent.MessageTemplate, logEvent.Properties);
        JsonText.WriteQuoted(sink, render.Written);
        sink.Literal(",\"message_template\":"u8);
        JsonText.WriteQuoted(sink, logEvent.MessageTemplate.Text);

        if (logEvent.Properties.TryGetValue(SourceContext, out var sourceContext))
        {
            sink.Literal(",\"logger\":"u8);
            JsonValueWriter.Write(sink, sourceContext);
        }

        var traceWritten = false;
        var spanWritten = false;
        if (logEvent.TraceId is { } traceId)
        {
            sink.Literal(",\"trace_id\":\""u8);
            JsonText.WriteHex(sink, traceId);
            sink.Ascii('"');
            traceWritten = true;
        }

        if (logEvent.SpanId is { } spanId)
        {
            sink.Literal(",\"span_id\":\""u8);
            JsonText.WriteHex(sink, spanId);
            sink.Ascii('"');
            spanWritten = true;
        }

        if (logEvent.Exception is { } exception)
            WriteException(sink, exception);

        if (logEvent.Properties is Dictionary<string, LogEventPropertyValue> concrete)
        {
            foreach (var property in concrete)
                WriteProperty(sink, logEvent, property.Key, property.Value, render, ref traceWritten, ref spanWritten);
        }
        else
        {
            foreach (var property in logEvent.Properties)
                WriteProperty(sink, logEvent, property.Key, property.Value, render, ref traceWritten, ref spanWritten);
        }

        sink.Ascii('}');
    }

    void WriteProperty<TSink>(TSink sink, LogEvent logEvent, string name, LogEventPropertyValue value, CharBuilder render,
        ref bool traceWritten, ref bool spanWritten) where TSink : struct, IJsonSink
    {
        if (name == SourceContext) return; // written as "logger"

        render.Length = 0;
        if (snakeCaseNames)
            SnakeCase.Append(render, name);
        else
            render.Append(name);
        var key = render.Written;

        var prefix = false;
        switch (ReservedKeys.Classify(key))
        {
            case ReservedKey.None:
                break;
            case ReservedKey.TraceId:
                if (!traceWritten)
                {
                    traceWritten = true; // the event carries no trace id: this property takes the key
                    break;
                }
                if (logEvent.TraceId is { } traceId && IsSameId(value, traceId)) return;
                prefix = true;
                break;
            case ReservedKey.SpanId:
                if (!spanWritten)
                {
                    spanWritten = true;
                    break;
                }
                if (logEvent.SpanId is { } spanId && IsSameId(value, spanId)) return;
                prefix = true;
                break;
            default:
                prefix = true;
                break;
        }

        sink.Literal(",\""u8);
        if (prefix) sink.Ascii('_');
        JsonText.WriteEscaped(sink, key);
        sink.Literal("\":"u8);
        JsonValueWriter.Write(sink, value);
    }

    static bool IsSameId(LogEventPropertyValue value, ActivityTraceId id)
    {
        if (value is not ScalarValue { Value: string text } || text.Length != 32) return false;
        Span<byte> bytes = stackalloc byte[16];
        id.CopyTo(bytes);
        Span<char> hex = stackalloc char[32];
        JsonText.FormatHex(bytes, hex);
        return text.AsSpan().SequenceEqual(hex);
    }

    static bool IsSameId(LogEventPropertyValue value, ActivitySpanId id)
    {
        if (value is not ScalarValue { Value: string text } || text.Length != 16) return false;
        Span<byte> bytes = stackalloc byte[8];
        id.CopyTo(bytes);
        Span<char> hex = stackalloc char[16];
        JsonText.FormatHex(bytes, hex);
        return text.AsSpan().SequenceEqual(hex);
    }

    void WriteLevel<TSink>(TSink sink, LogEventLevel level) where TSink : struct, IJsonSink
    {
        var name = (shortLevels, level) switch
        {
            (true, LogEventLevel.Verbose) => "TRACE"u8,
            (true, LogEventLevel.Debug) => "DEBUG"u8,
            (true, LogEventLevel.Information) => "INFO"u8,
            (true, LogEventLevel.Warning) => "WARN"u8,
            (true, LogEventLevel.Error) => "ERROR"u8,
            (true, LogEventLevel.Fatal) => "FATAL"u8,
            (false, LogEventLevel.Verbose) => "Verbose"u8,
            (false, LogEventLevel.Debug) => "Debug"u8,
            (false, LogEventLevel.Information) => "Information"u8,
            (false, LogEventLevel.Warning) => "Warning"u8,
            (false, LogEventLevel.Error) => "Error"u8,
            (false, LogEventLevel.Fatal) => "Fatal"u8,
            _ => default,
        };
        if (name.IsEmpty)
            sink.Formatted((int)level, default, Invariant.Culture);
        else
            sink.Literal(name);
    }

    static void WriteException<TSink>(TSink sink, Exception exception) where TSink : struct, IJsonSink
    {
        var type = exception.GetType();
        sink.Literal(",\"exception\":{\"type\":"u8);
        JsonText.WriteQuoted(sink, type.FullName ?? type.Name);
        sink.Literal(",\"message\":"u8);
        JsonText.WriteQuoted(sink, SafeMessage(exception));
        sink.Literal(",\"stack_trace\":"u8);
        JsonText.WriteQuoted(sink, JsonText.SafeToString(exception));
        sink.Ascii('}');
    }

    static string SafeMessage(Exception exception)
    {
        try
        {
            return exception.Message;
        }
        catch (Exception ex)
        {
            SelfLog.WriteLine("Formatting: {0}.Message threw {1}", exception.GetType(), ex);
            return "<" + exception.GetType().Name + ".Message failed>";
        }
    }
}

enum ReservedKey { None, Other, TraceId, SpanId }

static class ReservedKeys
{
    public static ReservedKey Classify(ReadOnlySpan<char> key) => key switch
    {
        "trace_id" => ReservedKey.TraceId,
        "span_id" => ReservedKey.SpanId,
        "timestamp" or "level" or "message" or "message_template" or "logger" or "exception" => ReservedKey.Other,
        _ => ReservedKey.None,
    };
}
