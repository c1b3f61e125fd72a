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
    /// <summary>
    /// Containers nested deeper than this are written as <c>null</c>: the writer recurses once per level, and a value
    /// built by hand thousands deep (no destructuring limit applies to it) would overflow the stack, which kills the
    /// process. Redaction cuts at the same depth.
    /// </summary>
    internal const int MaxDepth = 128;

    /// <summary>The SelfLog line for a value cut at <see cref="MaxDepth"/>, shared with the message renderer.</summary>
    internal static readonly SelfLogThrottle DepthReport = new();

    internal static void ReportDepth() =>
        DepthReport.WriteLine("Formatting: a property value nested more than {1} levels deep was cut at that depth ({0} more since the last report)", MaxDepth);

    public static void Write<TSink>(TSink sink, LogEventPropertyValue value) where TSink : struct, IJsonSink => Write(sink, value, 0);

    static void Write<TSink>(TSink sink, LogEventPropertyValue value, int depth) where TSink : struct, IJsonSink
    {
        // Nearly every value is a plain ScalarValue: one type-handle comparison instead of a cast to a class that
        // could be derived from.
        if (value.GetType() == typeof(ScalarValue))
        {
            WriteScalar(sink, Unsafe.As<ScalarValue>(value).Value);
            return;
        }

        if (depth >= MaxDepth && value is SequenceValue or StructureValue or DictionaryValue)
        {
            ReportDepth();
            sink.Literal("null"u8);
            return;
        }

        switch (value)
        {
            case ScalarValue scalar:
                WriteScalar(sink, scalar.Value);
                break;
            case SequenceValue sequence:
                WriteSequence(sink, sequence, depth);
                break;
            case StructureValue structure:
                WriteStructure(sink, structure, depth);
                break;
            case DictionaryValue dictionary:
                WriteDictionary(sink, dictionary, depth);
                break;
            default:
                // A LogEventPropertyValue subclass unknown to Serilog's visitor (which would throw): keep the event.
                JsonText.WriteQuoted(sink, JsonText.SafeToString(value));
                break;
        }
    }

    static void WriteSequence<TSink>(TSink sink, SequenceValue sequence, int depth) where TSink : struct, IJsonSink
    {
        sink.Ascii('[');
        var elements = sequence.Elements;
        for (var i = 0; i < elements.Count; i++)
        {
            if (i > 0) sink.Ascii(',');
            Write(sink, elements[i], depth + 1);
        }
        sink.Ascii(']');
    }

    static void WriteStructure<TSink>(TSink sink, StructureValue structure, int depth) where TSink : struct, IJsonSink
    {
        sink.Ascii('{');
        var properties = structure.Properties;
        for (var i = 0; i < properties.Count; i++)
        {
            if (i > 0) sink.Ascii(',');
            var property = properties[i];
            JsonText.WriteQuoted(sink, property.Name);
            sink.Ascii(':');
            Write(sink, property.Value, depth + 1);
        }

        if (structure.TypeTag is { } typeTag)
        {
            if (properties.Count > 0) sink.Ascii(',');
            sink.Literal("\"$type\":"u8);
            JsonText.WriteQuoted(sink, typeTag);
        }
        sink.Ascii('}');
    }

    static void WriteDictionary<TSink>(TSink sink, DictionaryValue dictionary, int depth) where TSink : struct, IJsonSink
    {
        sink.Ascii('{');
        var first = true;
        if (dictionary.Elements is Dictionary<ScalarValue, LogEventPropertyValue> concrete)
        {
            foreach (var element in concrete)
            {
                WriteEntry(sink, element.Key, element.Value, first, depth);
                first = false;
            }
        }
        else
        {
            foreach (var element in dictionary.Elements)
            {
                WriteEntry(sink, element.Key, element.Value, first, depth);
                first = false;
            }
        }
        sink.Ascii('}');
    }

    static void WriteEntry<TSink>(TSink sink, ScalarValue key, LogEventPropertyValue value, bool first, int depth) where TSink : struct, IJsonSink
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
        Write(sink, value, depth + 1);
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
