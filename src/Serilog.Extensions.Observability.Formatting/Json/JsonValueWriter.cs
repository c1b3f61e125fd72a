using System.Runtime.CompilerServices;
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
        // Nearly every value is a plain ScalarValue: one type-handle comparison instead of a cast to a class that
        // could be derived from.
        if (value.GetType() == typeof(ScalarValue))
        {
            WriteScalar(sink, Unsafe.As<ScalarValue>(value).Value);
            return;
        }

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
        // Most frequent types first: every case is one type-handle comparison.
        switch (value)
        {
            case string s: JsonText.WriteQuoted(sink, s); return;
            case int v: sink.Integer(v); return;
            case null: sink.Literal("null"u8); return;
            case long v: sink.Integer(v); return;
            case bool v: sink.Literal(v ? "true"u8 : "false"u8); return;
            case decimal v: sink.Decimal(v); return;
            case double v: WriteDouble(sink, v); return;
            case DateTimeOffset v: WriteQuotedRoundTrip(sink, v); return;
            case DateTime v: WriteQuotedRoundTrip(sink, v); return;
            // Serilog writes a Guid through ToString(), i.e. "D": the same text, without the string.
            case Guid v: WriteQuotedFormatted(sink, v, default); return;
            case TimeSpan v: WriteQuotedFormatted(sink, v, default); return;
            case float v: WriteSingle(sink, v); return;
            case uint v: sink.Integer(v); return;
            case ulong v: sink.Formatted(v, default, Invariant.Culture); return;
            case short v: sink.Integer(v); return;
            case ushort v: sink.Integer(v); return;
            case byte v: sink.Integer(v); return;
            case sbyte v: sink.Integer(v); return;
            case char v: JsonText.WriteQuoted(sink, new ReadOnlySpan<char>(in v)); return;
            case DateOnly v: WriteQuotedFormatted(sink, v, "O"); return;
            case TimeOnly v: WriteQuotedFormatted(sink, v, "O"); return;
            default: JsonText.WriteQuoted(sink, JsonText.SafeToString(value)); return;
        }
    }

    static void WriteQuotedRoundTrip<TSink>(TSink sink, DateTimeOffset value) where TSink : struct, IJsonSink
    {
        sink.Ascii('"');
        sink.RoundTrip(value);
        sink.Ascii('"');
    }

    static void WriteQuotedRoundTrip<TSink>(TSink sink, DateTime value) where TSink : struct, IJsonSink
    {
        sink.Ascii('"');
        sink.RoundTrip(value);
        sink.Ascii('"');
    }

    static void WriteQuotedFormatted<TSink, T>(TSink sink, T value, ReadOnlySpan<char> format)
        where TSink : struct, IJsonSink
        where T : ISpanFormattable, IUtf8SpanFormattable
    {
        sink.Ascii('"');
        sink.Formatted(value, format, Invariant.Culture);
        sink.Ascii('"');
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
