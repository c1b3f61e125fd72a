using System.Diagnostics;
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

        // From here on the render buffer holds the keys written so far (see WriteProperty), and past a few of them a set
        // holds them too.
        render.Length = 0;
        var keys = new WrittenKeys();
        if (logEvent.Properties is Dictionary<string, LogEventPropertyValue> concrete)
        {
            foreach (var property in concrete)
                WriteProperty(sink, logEvent, property.Key, property.Value, render, ref keys, ref traceWritten, ref spanWritten);
        }
        else
        {
            foreach (var property in logEvent.Properties)
                WriteProperty(sink, logEvent, property.Key, property.Value, render, ref keys, ref traceWritten, ref spanWritten);
        }

        sink.Ascii('}');
    }

    void WriteProperty<TSink>(TSink sink, LogEvent logEvent, string name, LogEventPropertyValue value, CharBuilder render,
        ref WrittenKeys keys, ref bool traceWritten, ref bool spanWritten) where TSink : struct, IJsonSink
    {
        if (name == SourceContext) return; // written as "logger"

        // Each key written is kept in the render buffer as [length: 2 chars][key], so a later property whose key
        // coincides with it (UserId and user_id, Level prefixed to _level and a property named _level) is written
        // under one more '_' instead of twice: log stores reject or silently merge duplicate keys.
        var entry = render.Length;
        render.Append('\0');
        render.Append('\0');
        if (snakeCaseNames)
            SnakeCase.Append(render, name);
        else
            render.Append(name);
        var keyStart = entry + 2;

        var prefixes = 0;
        switch (ReservedKeys.Classify(render.From(keyStart)))
        {
            case ReservedKey.None:
                break;
            case ReservedKey.TraceId:
                if (!traceWritten)
                {
                    traceWritten = true; // the event carries no trace id: this property takes the key
                    break;
                }
                if (logEvent.TraceId is { } traceId && IsSameId(value, traceId))
                {
                    render.Length = entry;
                    return;
                }
                prefixes = 1;
                break;
            case ReservedKey.SpanId:
                if (!spanWritten)
                {
                    spanWritten = true;
                    break;
                }
                if (logEvent.SpanId is { } spanId && IsSameId(value, spanId))
                {
                    render.Length = entry;
                    return;
                }
                prefixes = 1;
                break;
            default:
                prefixes = 1;
                break;
        }

        prefixes = keys.FirstFree(render, entry, prefixes);
        if (prefixes > 0) render.Insert(keyStart, '_', prefixes);
        var length = render.Length - keyStart;
        render.Set(entry, (char)(length >> 16));
        render.Set(entry + 1, (char)length);
        keys.Added(render.From(keyStart));

        sink.Literal(",\""u8);
        JsonText.WriteEscaped(sink, render.From(keyStart));
        sink.Literal("\":"u8);
        JsonValueWriter.Write(sink, value);
    }

    /// <summary>
    /// The keys written so far: the render buffer alone for the usual few, scanned per key; past
    /// <see cref="ScannedKeys"/> a set as well, so that an event with many properties costs linear time, not quadratic.
    /// </summary>
    struct WrittenKeys
    {
        const int ScannedKeys = 32;

        int _count;
        HashSet<string>? _set;

        /// <summary>The fewest underscores, from <paramref name="prefixes"/> up, that make the key at <paramref name="entry"/> one not written yet.</summary>
        public int FirstFree(CharBuilder keys, int entry, int prefixes)
        {
            if (_set is null && _count < ScannedKeys)
            {
                while (IsWritten(keys, entry, prefixes)) prefixes++;
                return prefixes;
            }

            _set ??= Stored(keys, entry);
            var key = keys.Written.Slice(entry + 2);
            while (_set.Contains(Prefixed(key, prefixes))) prefixes++;
            return prefixes;
        }

        /// <summary>Records the key just stored (its prefixes included).</summary>
        public void Added(ReadOnlySpan<char> key)
        {
            _count++;
            _set?.Add(key.ToString());
        }

        static HashSet<string> Stored(CharBuilder keys, int entry)
        {
            var all = keys.Written;
            var set = new HashSet<string>(StringComparer.Ordinal);
            for (var at = 0; at < entry;)
            {
                var stored = (all[at] << 16) | all[at + 1];
                set.Add(all.Slice(at + 2, stored).ToString());
                at += 2 + stored;
            }
            return set;
        }

        static string Prefixed(ReadOnlySpan<char> key, int prefixes)
        {
            if (prefixes == 0) return key.ToString();
            var chars = new char[prefixes + key.Length];
            chars.AsSpan(0, prefixes).Fill('_');
            key.CopyTo(chars.AsSpan(prefixes));
            return new string(chars);
        }
    }

    /// <summary>
    /// Whether <paramref name="prefixes"/> underscores followed by the key being added at <paramref name="entry"/> equal
    /// a key stored before it.
    /// </summary>
    static bool IsWritten(CharBuilder keys, int entry, int prefixes)
    {
        var all = keys.Written;
        var key = all.Slice(entry + 2);
        var length = prefixes + key.Length;
        for (var at = 0; at < entry;)
        {
            var stored = (all[at] << 16) | all[at + 1];
            var text = all.Slice(at + 2, stored);
            at += 2 + stored;
            if (stored != length) continue;
            if (text.Slice(0, prefixes).ContainsAnyExcept('_')) continue;
            if (text.Slice(prefixes).SequenceEqual(key)) return true;
        }
        return false;
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
        sink.Literal(",\"exception\":{\"type\":"u8);
        JsonText.WriteQuoted(sink, ExceptionTypeName.Of(exception));
        sink.Literal(",\"message\":"u8);
        JsonText.WriteQuoted(sink, ExceptionText.MessageOf(exception));
        sink.Literal(",\"stack_trace\":"u8);
        JsonText.WriteQuoted(sink, ExceptionText.Of(exception));
        sink.Ascii('}');
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
