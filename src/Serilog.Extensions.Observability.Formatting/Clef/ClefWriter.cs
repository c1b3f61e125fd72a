using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Json;
using Serilog.Extensions.Observability.Formatting.Rendering;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Clef;

/// <summary>
/// Compact Log Event Format, member for member and byte for byte as Serilog.Formatting.Compact 2.0 and 3.0 write it.
/// Everything but the trailing newline; the caller adds that.
/// </summary>
static class ClefWriter
{
    /// <summary><c>{"@t":..,"@mt":..[,"@r":[..]]</c> (compact form).</summary>
    /// <returns>The template's cached form, when it is cached, for <see cref="WriteProperties"/>.</returns>
    public static CompactTemplate? WriteCompactHeader<TSink>(TSink sink, LogEvent logEvent, CharBuilder render, ClefCache cache) where TSink : struct, IJsonSink
    {
        WriteTimestamp(sink, logEvent);

        var template = logEvent.MessageTemplate;
        var prepared = cache.Template(template);
        if (prepared is not null)
        {
            sink.Prepared(prepared.Header);
            var formatted = prepared.Formatted;
            var decimals = prepared.FixedDecimals;
            for (var i = 0; i < formatted.Length; i++)
                WriteRendering(sink, formatted[i], decimals[i], logEvent, render, i > 0);
            if (formatted.Length > 0) sink.Ascii(']');
        }
        else
        {
            WriteTemplateMember(sink, template.Text);

            // @r: the rendering of each token that carries a format string, in token order.
            var any = false;
            foreach (var token in template.Tokens)
            {
                if (token is not PropertyToken { Format: not null } property) continue;
                WriteRendering(sink, property, -1, logEvent, render, any);
                any = true;
            }
            if (any) sink.Ascii(']');
        }

        WriteLevelExceptionAndIds(sink, logEvent);
        return prepared;
    }

    /// <summary><c>","@mt":"…"</c>: closes the timestamp string, then the template text.</summary>
    public static void WriteTemplateMember<TSink>(TSink sink, string text) where TSink : struct, IJsonSink
    {
        sink.Literal("\",\"@mt\":"u8);
        JsonText.WriteQuoted(sink, text);
    }

    static void WriteRendering<TSink>(TSink sink, PropertyToken token, int fixedDecimals, LogEvent logEvent, CharBuilder render, bool any)
        where TSink : struct, IJsonSink
    {
        sink.Literal(any ? ","u8 : ",\"@r\":["u8);

        // A fixed-point format ("0.00") of a decimal or an integer: its digits straight into the output (unless the
        // value renders itself).
        if (fixedDecimals >= 0
            && FindProperty(logEvent, token.PropertyName) is ScalarValue scalar
            && !MessageRenderer.RendersItself(scalar)
            && sink.TryQuotedFixed(scalar.Value, fixedDecimals))
            return;

        render.Length = 0;
        MessageRenderer.RenderProperty(render, token, logEvent.Properties);
        JsonText.WriteQuoted(sink, render.Written);
    }

    /// <summary>
    /// The value of the property named <paramref name="name"/>, or <see langword="null"/>. A logger names an event's
    /// properties with its template tokens' own strings, so a scan by reference over the few properties usually finds
    /// it without hashing the name; the dictionary's own lookup settles every other case.
    /// </summary>
    static LogEventPropertyValue? FindProperty(LogEvent logEvent, string name)
    {
        if (logEvent.Properties is Dictionary<string, LogEventPropertyValue> { Count: <= 16 } concrete)
        {
            foreach (var property in concrete)
                if (ReferenceEquals(property.Key, name)) return property.Value;
        }
        return logEvent.Properties.TryGetValue(name, out var value) ? value : null;
    }

    /// <summary><c>{"@t":..,"@m":..,"@i":..</c> (rendered form).</summary>
    public static void WriteRenderedHeader<TSink>(TSink sink, LogEvent logEvent, CharBuilder render) where TSink : struct, IJsonSink
    {
        WriteTimestamp(sink, logEvent);
        sink.Literal("\",\"@m\":"u8);
        render.Length = 0;
        MessageRenderer.Render(render, logEvent.MessageTemplate, logEvent.Properties);
        JsonText.WriteQuoted(sink, render.Written);
        sink.Literal(",\"@i\":\""u8);
        sink.Formatted(EventIdHash.Compute(logEvent.MessageTemplate.Text), "x8", Invariant.Culture);
        sink.Ascii('"');
        WriteLevelExceptionAndIds(sink, logEvent);
    }

    static void WriteTimestamp<TSink>(TSink sink, LogEvent logEvent) where TSink : struct, IJsonSink
    {
        sink.Literal("{\"@t\":\""u8);
        sink.EventTimestamp(logEvent.Timestamp);
    }

    static void WriteLevelExceptionAndIds<TSink>(TSink sink, LogEvent logEvent) where TSink : struct, IJsonSink
    {
        if (logEvent.Level != LogEventLevel.Information)
        {
            sink.Literal(",\"@l\":\""u8);
            WriteLevel(sink, logEvent.Level);
            sink.Ascii('"');
        }

        if (logEvent.Exception is { } exception)
        {
            sink.Literal(",\"@x\":"u8);
            JsonText.WriteQuoted(sink, ExceptionText.Of(exception));
        }

        if (logEvent.TraceId is { } traceId)
        {
            sink.Literal(",\"@tr\":\""u8);
            JsonText.WriteHex(sink, traceId);
            sink.Ascii('"');
        }

        if (logEvent.SpanId is { } spanId)
        {
            sink.Literal(",\"@sp\":\""u8);
            JsonText.WriteHex(sink, spanId);
            sink.Ascii('"');
        }
    }

    /// <summary><c>,"Name":</c>, from the cache when the name is in it.</summary>
    public static void WritePropertyName<TSink>(TSink sink, string name, ClefCache cache) where TSink : struct, IJsonSink
    {
        if (cache.Name(name) is { } prepared)
            sink.Prepared(prepared);
        else
            WritePropertyNameUncached(sink, name);
    }

    /// <summary><c>,"Name":</c> with a leading <c>@</c> doubled so it cannot be read as a CLEF member.</summary>
    public static void WritePropertyNameUncached<TSink>(TSink sink, string name) where TSink : struct, IJsonSink
    {
        sink.Literal(",\""u8);
        if (name.Length > 0 && name[0] == '@') sink.Ascii('@');
        JsonText.WriteEscaped(sink, name);
        sink.Literal("\":"u8);
    }

    /// <summary>
    /// The properties as <c>,"Name":value</c>. Names that follow <paramref name="template"/>'s own names in order (the
    /// usual case) take their prepared text from it; any other name goes through the name cache.
    /// </summary>
    public static void WriteProperties<TSink>(TSink sink, LogEvent logEvent, ClefCache cache, CompactTemplate? template) where TSink : struct, IJsonSink
    {
        var names = template?.Names ?? [];
        var prepared = template?.PreparedNames ?? [];
        var next = 0;
        if (logEvent.Properties is Dictionary<string, LogEventPropertyValue> concrete)
        {
            foreach (var property in concrete)
            {
                var name = property.Key;
                if (next < names.Length && (uint)next < (uint)prepared.Length && string.Equals(name, names[next]))
                    sink.Prepared(prepared[next++]);
                else
                    WritePropertyName(sink, name, cache);
                JsonValueWriter.Write(sink, property.Value);
            }
        }
        else
        {
            foreach (var property in logEvent.Properties)
            {
                WritePropertyName(sink, property.Key, cache);
                JsonValueWriter.Write(sink, property.Value);
            }
        }
    }

    /// <summary>The level as <c>Enum.ToString()</c> spells it (a number when out of range), without the string.</summary>
    static void WriteLevel<TSink>(TSink sink, LogEventLevel level) where TSink : struct, IJsonSink
    {
        var name = LevelName(level);
        if (name.IsEmpty)
            sink.Formatted((int)level, default, Invariant.Culture);
        else
            sink.Literal(name);
    }

    /// <summary>The level's enum name as ASCII; empty when out of range.</summary>
    public static ReadOnlySpan<byte> LevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "Verbose"u8,
        LogEventLevel.Debug => "Debug"u8,
        LogEventLevel.Information => "Information"u8,
        LogEventLevel.Warning => "Warning"u8,
        LogEventLevel.Error => "Error"u8,
        LogEventLevel.Fatal => "Fatal"u8,
        _ => default,
    };
}
