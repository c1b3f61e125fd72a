using Serilog.Events;

namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// Writes a property value as Serilog's <c>JsonValueFormatter(typeTagName: "$type")</c> does: the same scalar
/// spellings, sequences as arrays, structures as objects with a trailing <c>"$type"</c>, dictionaries as objects
/// keyed by the key's <c>ToString()</c>.
/// </summary>
static class JsonValueWriter
{
    public static void Write<TSink>(TSink sink, LogEventPropertyValue value) where TSink : struct, IJsonSink
    {
        switch (value)
        {
            case ScalarValue scalar:
                WriteScalar(sink, scalar.Value);
                break;
            case SequenceValue sequence:
                WriteSequence(sink, sequence);
                break;
            case StructureValue structure:
                WriteStructure(sink, structure);
                break;
            case DictionaryValue dictionary:
                WriteDictionary(sink, dictionary);
                break;
            default:
                // A LogEventPropertyValue subclass unknown to Serilog's visitor (which would throw): keep the event.
                JsonText.WriteQuoted(sink, JsonText.SafeToString(value));
                break;
        }
    }

    static void WriteSequence<TSink>(TSink sink, SequenceValue sequence) where TSink : struct, IJsonSink
    {
        sink.Ascii('[');
        var elements = sequence.Elements;
        for (var i = 0; i < elements.Count; i++)
        {
            if (i > 0) sink.Ascii(',');
            Write(sink, elements[i]);
        }
        sink.Ascii(']');
    }

    static void WriteStructure<TSink>(TSink sink, StructureValue structure) where TSink : struct, IJsonSink
    {
        sink.Ascii('{');
        var properties = structure.Properties;
        for (var i = 0; i < properties.Count; i++)
        {
            if (i > 0) sink.Ascii(',');
            var property = properties[i];
            JsonText.WriteQuoted(sink, property.Name);
            sink.Ascii(':');
            Write(sink, property.Value);
        }

        if (structure.TypeTag is { } typeTag)
        {
            if (properties.Count > 0) sink.Ascii(',');
            sink.Literal("\"$type\":"u8);
            JsonText.WriteQuoted(sink, typeTag);
        }
        sink.Ascii('}');
    }

    static void WriteDictionary<TSink>(TSink sink, DictionaryValue dictionary) where TSink : struct, IJsonSink
    {
        sink.Ascii('{');
        var first = true;
        if (dictionary.Elements is Dictionary<ScalarValue, LogEventPropertyValue> concrete)
        {
            foreach (var element in concrete)
            {
                WriteEntry(sink, element.Key, element.Value, first);
                first = false;
            }
        }
        else
        {
            foreach (var element in dictionary.Elements)
            {
                WriteEntry(sink, element.Key, element.Value, first);
                first = false;
            }
        }
        sink.Ascii('}');
    }

    static void WriteEntry<TSink>(TSink sink, ScalarValue key, LogEventPropertyValue value, bool first) where TSink : struct, IJsonSink
    {
        if (!first) sink.Ascii(',');
        // Serilog keys with the current culture's ToString(), not the invariant one: kept for byte identity.
        var text = key.Value switch
        {
            null => "null",
            string s => s,
            var other => JsonText.SafeToString(other),
        };
        JsonText.WriteQuoted(sink, text);
        sink.Ascii(':');
        Write(sink, value);
    }

    public static void WriteScalar<TSink>(TSink sink, object? value) where TSink : struct, IJsonSink
    {
        var culture = Invariant.Culture;
        switch (value)
        {
            case null: sink.Literal("null"u8); return;
            case string s: JsonText.WriteQuoted(sink, s); return;
            case int v: sink.Formatted(v, default, culture); return;
            case long v: sink.Formatted(v, default, culture); return;
            case double v: WriteDouble(sink, v); return;
            case bool v: sink.Literal(v ? "true"u8 : "false"u8); return;
            case uint v: sink.Formatted(v, default, culture); return;
            case ulong v: sink.Formatted(v, default, culture); return;
            case decimal v: WriteDecimal(sink, v); return;
            case byte v: sink.Formatted(v, default, culture); return;
            case sbyte v: sink.Formatted(v, default, culture); return;
            case short v: sink.Formatted(v, default, culture); return;
            case ushort v: sink.Formatted(v, default, culture); return;
            case float v: WriteSingle(sink, v); return;
            case char v: JsonText.WriteQuoted(sink, new ReadOnlySpan<char>(in v)); return;
            case DateTime v: WriteQuotedFormatted(sink, v, "O"); return;
            case DateTimeOffset v: WriteQuotedFormatted(sink, v, "O"); return;
            case TimeSpan v: WriteQuotedFormatted(sink, v, default); return;
            // Serilog writes a Guid through ToString(), i.e. "D": the same text, without the string.
            case Guid v: WriteQuotedFormatted(sink, v, default); return;
            case DateOnly v: WriteQuotedFormatted(sink, v, "O"); return;
            case TimeOnly v: WriteQuotedFormatted(sink, v, "O"); return;
            default: JsonText.WriteQuoted(sink, JsonText.SafeToString(value)); return;
        }
    }

    static void WriteQuotedFormatted<TSink, T>(TSink sink, T value, ReadOnlySpan<char> format)
        where TSink : struct, IJsonSink
        where T : ISpanFormattable, IUtf8SpanFormattable
    {
        sink.Ascii('"');
        sink.Formatted(value, format, Invariant.Culture);
        sink.Ascii('"');
    }

    static void WriteDecimal<TSink>(TSink sink, decimal value) where TSink : struct, IJsonSink
    {
        Span<byte> text = stackalloc byte[DecimalText.MaxLength];
        if (DecimalText.TryFormat(value, text, out var written))
            sink.Literal(text.Slice(0, written));
        else
            sink.Formatted(value, default, Invariant.Culture);
    }

    static void WriteDouble<TSink>(TSink sink, double value) where TSink : struct, IJsonSink
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
            WriteQuotedFormatted(sink, value, default);
        else
            sink.Formatted(value, "R", Invariant.Culture);
    }

    static void WriteSingle<TSink>(TSink sink, float value) where TSink : struct, IJsonSink
    {
        if (float.IsNaN(value) || float.IsInfinity(value))
            WriteQuotedFormatted(sink, value, default);
        else
            sink.Formatted(value, "R", Invariant.Culture);
    }
}
