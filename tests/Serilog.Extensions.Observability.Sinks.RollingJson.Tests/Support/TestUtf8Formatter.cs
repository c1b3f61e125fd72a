using System.Buffers;
using System.Text.Json;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

/// <summary>A small UTF-8 formatter: {"@t":..,"@l":..,"@mt":..,"Prop":scalar,...}\n; counts which path the sink took.</summary>
sealed class TestUtf8Formatter : IUtf8Formatter
{
    readonly Utf8JsonWriter _writer = new(Stream.Null);
    public int Utf8Calls;
    public int TextCalls;
    public Func<LogEvent, bool>? ThrowWhen;

    public void Format(LogEvent logEvent, IBufferWriter<byte> output)
    {
        Utf8Calls++;
        if (ThrowWhen?.Invoke(logEvent) == true) throw new InvalidOperationException("formatter failure on purpose");
        _writer.Reset(output);
        Write(logEvent, _writer);
        _writer.Flush();
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    public void Format(LogEvent logEvent, TextWriter output)
    {
        TextCalls++;
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) Write(logEvent, writer);
        output.Write(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        output.Write('\n');
    }

    static void Write(LogEvent logEvent, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("@t", logEvent.Timestamp);
        writer.WriteString("@l", logEvent.Level.ToString());
        writer.WriteString("@mt", logEvent.MessageTemplate.Text);
        foreach (var property in logEvent.Properties)
        {
            if (property.Value is ScalarValue { Value: int i }) writer.WriteNumber(property.Key, i);
            else if (property.Value is ScalarValue { Value: long l }) writer.WriteNumber(property.Key, l);
            else if (property.Value is ScalarValue { Value: string s }) writer.WriteString(property.Key, s);
            else writer.WriteString(property.Key, property.Value.ToString());
        }
        writer.WriteEndObject();
    }
}
