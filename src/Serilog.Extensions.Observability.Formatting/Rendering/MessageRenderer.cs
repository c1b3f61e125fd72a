using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Json;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Rendering;

/// <summary>
/// Renders a message template (or one property token) into a reusable char buffer with the text Serilog's
/// <c>MessageTemplate.Render(properties, CultureInfo.InvariantCulture)</c> and <c>PropertyToken.Render</c> produce:
/// strings quoted (only <c>"</c> escaped) unless formatted <c>:l</c>, format strings applied with the invariant
/// culture, alignment padding, missing properties written as their raw token text.
/// </summary>
static class MessageRenderer
{
    /// <summary>A value that cannot be formatted fails on every event that holds it: reported once per interval.</summary>
    internal static readonly SelfLogThrottle ToStringReport = new();

    /// <summary>A property value whose own <c>Render</c> throws: reported once per interval.</summary>
    internal static readonly SelfLogThrottle RenderReport = new();

    public static void Render(CharBuilder output, MessageTemplate template, IReadOnlyDictionary<string, LogEventPropertyValue> properties)
    {
        if (template.Tokens is MessageTemplateToken[] tokens)
        {
            for (var i = 0; i < tokens.Length; i++) RenderToken(output, tokens[i], properties);
        }
        else
        {
            foreach (var token in template.Tokens) RenderToken(output, token, properties);
        }
    }

    static void RenderToken(CharBuilder output, MessageTemplateToken token, IReadOnlyDictionary<string, LogEventPropertyValue> properties)
    {
        if (token is TextToken text)
            output.Append(text.Text);
        else
            RenderProperty(output, (PropertyToken)token, properties);
    }

    public static void RenderProperty(CharBuilder output, PropertyToken token, IReadOnlyDictionary<string, LogEventPropertyValue> properties)
    {
        if (!properties.TryGetValue(token.PropertyName, out var value))
        {
            output.Append(token.ToString()); // the raw token text, e.g. "{Missing:000,3}"
            return;
        }

        var start = output.Length;
        RenderValue(output, value, token.Format);

        if (token.Alignment is { } alignment)
        {
            var pad = alignment.Width - (output.Length - start);
            if (pad <= 0) return;
            if (alignment.Direction == AlignmentDirection.Left)
                output.AppendSpaces(pad);
            else
                output.InsertSpaces(start, pad);
        }
    }

    static void RenderValue(CharBuilder output, LogEventPropertyValue value, string? format, int depth = 0)
    {
        // Nearly every value is a plain ScalarValue: one type-handle comparison settles it.
        if (value.GetType() == typeof(ScalarValue))
        {
            RenderScalar(output, Unsafe.As<ScalarValue>(value).Value, format);
            return;
        }

        // Cut where the JSON writer cuts, for the same reason: one frame per level.
        if (depth >= JsonValueWriter.MaxDepth && value is SequenceValue or StructureValue or DictionaryValue)
        {
            JsonValueWriter.ReportDepth();
            output.Append("...");
            return;
        }
        if (RendersItself(value))
        {
            RenderWithOverride(output, value, format);
            return;
        }
        switch (value)
        {
            case ScalarValue scalar:
                RenderScalar(output, scalar.Value, format);
                break;
            case SequenceValue sequence:
                output.Append('[');
                var elements = sequence.Elements;
                for (var i = 0; i < elements.Count; i++)
                {
                    if (i > 0) output.Append(", ");
                    RenderValue(output, elements[i], format, depth + 1); // a sequence passes its format to its elements
                }
                output.Append(']');
                break;
            case StructureValue structure:
                if (structure.TypeTag is { } typeTag)
                {
                    output.Append(typeTag);
                    output.Append(' ');
                }
                output.Append("{ ");
                var properties = structure.Properties;
                for (var i = 0; i < properties.Count; i++)
                {
                    if (i > 0) output.Append(", ");
                    output.Append(properties[i].Name);
                    output.Append(": ");
                    RenderValue(output, properties[i].Value, null, depth + 1);
                }
                output.Append(" }");
                break;
            case DictionaryValue dictionary:
                RenderDictionary(output, dictionary, depth);
                break;
            default:
                RenderWithOverride(output, value, format);
                break;
        }
    }

    /// <summary>
    /// Whether <paramref name="value"/> renders itself: Serilog renders a value with its virtual <c>Render</c>, so a
    /// subclass that overrides it (a masking or display wrapper) or a value type of its own must be asked for its text.
    /// Serilog's own four types (the usual case, one type comparison) and subclasses that only carry data (the Redaction
    /// and Enrichers packages' scalars) are rendered here without it.
    /// </summary>
    internal static bool RendersItself(LogEventPropertyValue value)
    {
        var type = value.GetType();
        if (type == typeof(ScalarValue) || type == typeof(SequenceValue) || type == typeof(StructureValue) || type == typeof(DictionaryValue))
            return false;
        return OverridesRender.GetValue(type, static t => new StrongBox<bool>(RenderDeclaredOutsideSerilog(t))).Value;
    }

    static readonly ConditionalWeakTable<Type, StrongBox<bool>> OverridesRender = new();

    // The override, where there is one, is kept by the trimmer with its metadata (the value's type is constructed and
    // Render is virtual), so the lookup finds it. A lookup that finds no Render at all (metadata left out, as native AOT
    // may) answers true: the value is then asked through its own Render, which is what Serilog does with every value.
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "A lookup that finds nothing renders the value through its virtual Render, as Serilog does.")]
    static bool RenderDeclaredOutsideSerilog(Type type)
    {
        var render = type.GetMethod(nameof(LogEventPropertyValue.Render), [typeof(TextWriter), typeof(string), typeof(IFormatProvider)]);
        var declaring = render?.DeclaringType;
        return declaring != typeof(ScalarValue) && declaring != typeof(SequenceValue) && declaring != typeof(StructureValue) && declaring != typeof(DictionaryValue);
    }

    /// <summary>The value's own <c>Render</c>; a placeholder and a SelfLog line where it throws (Serilog loses the event).</summary>
    static void RenderWithOverride(CharBuilder output, LogEventPropertyValue value, string? format)
    {
        var writer = new StringWriter(Invariant.Culture);
        try
        {
            value.Render(writer, format, Invariant.Culture);
        }
        catch (Exception ex)
        {
            RenderReport.WriteLine("Formatting: {1}.Render() threw, so a placeholder was written ({0} more since the last report): {2}",
                value.GetType(), ex);
            output.Append("<" + value.GetType().Name + ".Render() failed>");
            return;
        }
        output.Append(writer.ToString());
    }

    static void RenderDictionary(CharBuilder output, DictionaryValue dictionary, int depth)
    {
        output.Append('[');
        var first = true;
        if (dictionary.Elements is Dictionary<ScalarValue, LogEventPropertyValue> concrete)
        {
            foreach (var element in concrete)
            {
                RenderEntry(output, element.Key, element.Value, first, depth);
                first = false;
            }
        }
        else
        {
            foreach (var element in dictionary.Elements)
            {
                RenderEntry(output, element.Key, element.Value, first, depth);
                first = false;
            }
        }
        output.Append(']');
    }

    static void RenderEntry(CharBuilder output, ScalarValue key, LogEventPropertyValue value, bool first, int depth)
    {
        output.Append(first ? "(" : ", (");
        // Serilog renders a key with its own Render too: a masking key keeps its secret.
        if (RendersItself(key))
            RenderWithOverride(output, key, null);
        else
            RenderScalar(output, key.Value, null);
        output.Append(": ");
        RenderValue(output, value, null, depth + 1);
        output.Append(')');
    }

    static void RenderScalar(CharBuilder output, object? value, string? format)
    {
        switch (value)
        {
            case null:
                output.Append("null");
                return;
            case string s:
                if (format == "l")
                {
                    output.Append(s);
                    return;
                }
                output.Append('"');
                AppendWithEscapedQuotes(output, s);
                output.Append('"');
                return;
            case Enum:
                var start = output.Length;
                RenderFormattable(output, (ISpanFormattable)value, format);
                WithInvariantMinusSign(output, start);
                return;
            case ISpanFormattable formattable:
                RenderFormattable(output, formattable, format);
                return;
            case IFormattable formattable:
                RenderFormattedToString(output, formattable, format);
                return;
            default:
                output.Append(JsonText.SafeToString(value));
                return;
        }
    }

    // Serilog renders with IFormattable.ToString(format, provider); TryFormat gives the same text without the string
    // for the runtime's types. A value whose TryFormat still declines this much room is asked for that text instead.
    const int MaxSpanFormatChars = 1024;

    static void RenderFormattable(CharBuilder output, ISpanFormattable value, string? format)
    {
        try
        {
            for (var size = 64; size <= MaxSpanFormatChars; size *= 2)
            {
                if (value.TryFormat(output.Free(size), out var written, format, Invariant.Culture))
                {
                    output.Length += written;
                    return;
                }
            }
        }
        catch (FormatException)
        {
            // Serilog throws here ("{Count:l}" on a number) and loses the event; the value's unformatted text keeps it.
            output.Append(UnformattedText(value));
            return;
        }
        catch (Exception)
        {
            // A stubbed TryFormat (NotImplementedException): the text Serilog writes comes from ToString(format, provider).
        }

        RenderFormattedToString(output, value, format);
    }

    static void RenderFormattedToString(CharBuilder output, IFormattable value, string? format)
    {
        string text;
        try
        {
            text = value.ToString(format, Invariant.Culture);
        }
        catch (FormatException)
        {
            text = UnformattedText(value);
        }
        catch (Exception ex)
        {
            // Serilog would lose the event; keep it with the unformatted text (or a placeholder) and say why.
            ToStringReport.WriteLine("Formatting: {1} threw, so the value's plain text was written ({0} more since the last report): {2}",
                value.GetType() + ".ToString(" + format + ")", ex);
            text = UnformattedText(value);
        }
        output.Append(text);
    }

    /// <summary>
    /// The runtime writes an enum value that names no member, or one formatted <c>D</c>, as its number, with the
    /// current culture's negative sign whatever the provider (<c>\u061c-1</c> under ar-SA, <c>\u2212</c> under sv-SE);
    /// every rendering is in the invariant culture, so that sign becomes <c>-</c>.
    /// </summary>
    static void WithInvariantMinusSign(CharBuilder output, int start)
    {
        var sign = NumberFormatInfo.CurrentInfo.NegativeSign;
        var written = output.From(start);
        if (sign == "-" || !written.StartsWith(sign, StringComparison.Ordinal) || written.Length == sign.Length ||
            written.Slice(sign.Length).ContainsAnyExceptInRange('0', '9'))
            return;
        output.Set(start, '-');
        output.Remove(start + 1, sign.Length - 1);
    }

    /// <summary>
    /// What the token renders without its format, in the invariant culture like every rendering: the parameterless
    /// <c>ToString()</c> would follow the thread's culture (<c>{Due:0}</c> on a DateTime was <c>22.11.2026 00:00:00</c>
    /// under de-DE, a Buddhist year under th-TH). The plain <c>ToString()</c>, or a placeholder, if that throws too.
    /// </summary>
    static string UnformattedText(IFormattable value)
    {
        try
        {
            return value.ToString(null, Invariant.Culture);
        }
        catch (Exception)
        {
            return JsonText.SafeToString(value);
        }
    }

    static void AppendWithEscapedQuotes(CharBuilder output, string s)
    {
        ReadOnlySpan<char> rest = s;
        while (true)
        {
            var i = rest.IndexOf('"');
            if (i < 0)
            {
                output.Append(rest);
                return;
            }
            output.Append(rest.Slice(0, i));
            output.Append("\\\"");
            rest = rest.Slice(i + 1);
        }
    }
}
