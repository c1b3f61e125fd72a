using System.Buffers;
using System.Text;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Composition;

/// <summary>
/// Hands the text console a copy of each event whose string (or char) values hold a control character, with those characters
/// escaped (<c>\r</c>, <c>\n</c>, <c>\u001b</c>). <c>{Message:lj}</c> and output-template properties write a string as
/// it is: a request path <c>/a%0D%0A[12:00:00 INF] ...</c> or a user name with a line break would write a line that
/// looks like an event of its own, and an escape sequence would reach the terminal. The JSON formats escape them
/// already, and the other sinks get the event as logged. Tabs stay; the message template's own text and the exception
/// are written as they are (they come from the code, and an exception's text is several lines by nature). A template
/// that writes strings quoted (<c>{Message}</c> without <c>l</c>, <c>{Properties}</c>) escapes them as JSON itself,
/// on top of this: such a value shows its backslash doubled (<c>"a\nb"</c>), which is still one line.
/// </summary>
sealed class ControlCharacterEscapingSink(ILogEventSink inner) : ILogEventSink
{
    /// <summary>C0 but tab, DEL, C1 (NEL among them), and the Unicode line and paragraph separators.</summary>
    static readonly SearchValues<char> Unsafe = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f" +
        "\u007f\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f" +
        "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f\u2028\u2029");

    public void Emit(LogEvent logEvent)
    {
        LogEvent escaped;
        try
        {
            escaped = Escape(logEvent);
        }
        catch (Exception ex)
        {
            // Not expected (no user code runs here); the event is not lost for it.
            SafeSelfLog.WriteLine("WithObservability: the text console could not escape an event's values: {0}", ex);
            escaped = logEvent;
        }
        inner.Emit(escaped);
    }

    static LogEvent Escape(LogEvent logEvent)
    {
        // Most events hold nothing to escape: one scan, no copy.
        var unsafeValues = false;
        foreach (var property in logEvent.Properties)
        {
            if (!ReferenceEquals(Escape(property.Value), property.Value))
            {
                unsafeValues = true;
                break;
            }
        }
        if (!unsafeValues) return logEvent;

        var properties = new List<LogEventProperty>(logEvent.Properties.Count);
        foreach (var property in logEvent.Properties)
            properties.Add(new LogEventProperty(property.Key, Escape(property.Value)));
        return new LogEvent(logEvent.Timestamp, logEvent.Level, logEvent.Exception, logEvent.MessageTemplate, properties,
            logEvent.TraceId ?? default, logEvent.SpanId ?? default);
    }

    /// <summary>
    /// <paramref name="value"/> itself unless it is a string holding a character to escape, or a char to escape (which
    /// becomes the string of its escape, written without the quotes the console puts around a char in the message).
    /// Strings inside a sequence, structure or dictionary are left alone: the console writes them as quoted JSON, escaped
    /// already; chars there are not (see <see cref="EscapeNested"/>). Other scalars (a type logged as a scalar with
    /// <c>Destructure.AsScalar&lt;T&gt;()</c>) are left as they are: their text comes from their own formatting, which this
    /// does not look into.
    /// </summary>
    static LogEventPropertyValue Escape(LogEventPropertyValue value) => value switch
    {
        ScalarValue { Value: string text } when text.AsSpan().IndexOfAny(Unsafe) >= 0 => new ScalarValue(Escape(text)),
        ScalarValue { Value: char c } when Unsafe.Contains(c) => new ScalarValue(Escape(c.ToString())),
        SequenceValue or StructureValue or DictionaryValue => EscapeNested(value),
        _ => value,
    };

    /// <summary>
    /// A value inside a sequence, structure or dictionary, with each control char in it made a string of that char: a
    /// template without the <c>j</c> format (<c>{Message:l}</c>, <c>{Properties}</c>) writes a char there as it is,
    /// between single quotes, and a string as quoted JSON (<c>"\n"</c>), as the <c>j</c> format writes both. Itself when
    /// there is none.
    /// </summary>
    static LogEventPropertyValue EscapeNested(LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue { Value: char c } when Unsafe.Contains(c):
                return new ScalarValue(c.ToString());
            case SequenceValue sequence:
            {
                LogEventPropertyValue[]? elements = null;
                for (var i = 0; i < sequence.Elements.Count; i++)
                {
                    var escaped = EscapeNested(sequence.Elements[i]);
                    if (elements is null && ReferenceEquals(escaped, sequence.Elements[i])) continue;
                    elements ??= sequence.Elements.ToArray();
                    elements[i] = escaped;
                }
                return elements is null ? value : new SequenceValue(elements);
            }
            case StructureValue structure:
            {
                LogEventProperty[]? properties = null;
                for (var i = 0; i < structure.Properties.Count; i++)
                {
                    var property = structure.Properties[i];
                    var escaped = EscapeNested(property.Value);
                    if (properties is null && ReferenceEquals(escaped, property.Value)) continue;
                    properties ??= structure.Properties.ToArray();
                    properties[i] = new LogEventProperty(property.Name, escaped);
                }
                return properties is null ? value : new StructureValue(properties, structure.TypeTag);
            }
            case DictionaryValue dictionary:
            {
                List<KeyValuePair<ScalarValue, LogEventPropertyValue>>? elements = null;
                var index = 0;
                foreach (var element in dictionary.Elements)
                {
                    var key = (ScalarValue)EscapeNested(element.Key);
                    // A char key made a string must not take the place of a string key already there.
                    if (!ReferenceEquals(key, element.Key) && dictionary.Elements.ContainsKey(key)) key = new ScalarValue(Escape((string)key.Value!));
                    var escaped = EscapeNested(element.Value);
                    if (elements is null && ReferenceEquals(key, element.Key) && ReferenceEquals(escaped, element.Value))
                    {
                        index++;
                        continue;
                    }
                    if (elements is null)
                    {
                        elements = new List<KeyValuePair<ScalarValue, LogEventPropertyValue>>(dictionary.Elements.Count);
                        elements.AddRange(dictionary.Elements.Take(index));
                    }
                    elements.Add(new KeyValuePair<ScalarValue, LogEventPropertyValue>(key, escaped));
                }
                return elements is null ? value : new DictionaryValue(elements);
            }
            default:
                return value;
        }
    }

    static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (!Unsafe.Contains(c))
                escaped.Append(c);
            else if (c == '\r')
                escaped.Append("\\r");
            else if (c == '\n')
                escaped.Append("\\n");
            else
                escaped.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
        }
        return escaped.ToString();
    }
}
