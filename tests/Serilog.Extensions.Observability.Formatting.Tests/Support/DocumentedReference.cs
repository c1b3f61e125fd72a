using System.Globalization;
using System.Text;
using Serilog.Events;
using Serilog.Formatting.Json;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

/// <summary>
/// What the README promises, written plainly on Serilog 3.1.1's own pieces: <see cref="SerilogReference"/>'s CLEF rules,
/// the flat shape of <see cref="FlatJsonFormatter"/>'s docs, and the one documented departure from Serilog in
/// rendering: where Serilog throws for a format string a value rejects (<c>{Count:l}</c> on a number) and loses the
/// event, the value is rendered without the format, in the invariant culture.
/// </summary>
static class DocumentedReference
{
    static readonly JsonValueFormatter Values = new(typeTagName: "$type");

    public static string Value(LogEventPropertyValue value)
    {
        var output = new StringWriter();
        Values.Format(value, output);
        return output.ToString();
    }

    public static string Quoted(string text)
    {
        var output = new StringWriter();
        JsonValueFormatter.WriteQuotedJsonString(text, output);
        return output.ToString();
    }

    /// <summary><c>PropertyToken.Render</c> with the invariant culture, and the documented fallback where it throws.</summary>
    public static string Render(PropertyToken token, IReadOnlyDictionary<string, LogEventPropertyValue> properties)
    {
        var output = new StringWriter();
        try
        {
            token.Render(properties, output, CultureInfo.InvariantCulture);
            return output.ToString();
        }
        catch (FormatException)
        {
            // Only the scalars the format reaches (the value itself, or a sequence's elements) lose it.
            var fixedUp = new Dictionary<string, LogEventPropertyValue> { [token.PropertyName] = WithoutRejectedFormat(properties[token.PropertyName], token.Format) };
            output = new StringWriter();
            token.Render(fixedUp, output, CultureInfo.InvariantCulture);
            return output.ToString();
        }
    }

    public static string Render(MessageTemplate template, IReadOnlyDictionary<string, LogEventPropertyValue> properties)
    {
        var output = new StringBuilder();
        foreach (var token in template.Tokens)
            output.Append(token is PropertyToken property ? Render(property, properties) : ((TextToken)token).Text);
        return output.ToString();
    }

    static LogEventPropertyValue WithoutRejectedFormat(LogEventPropertyValue value, string? format) => value switch
    {
        ScalarValue { Value: IFormattable formattable } when Rejects(formattable, format) => new ScalarValue(new Unformatted(formattable)),
        SequenceValue sequence => new SequenceValue(sequence.Elements.Select(e => WithoutRejectedFormat(e, format))),
        _ => value,
    };

    static bool Rejects(IFormattable value, string? format)
    {
        try
        {
            value.ToString(format, CultureInfo.InvariantCulture);
            return false;
        }
        catch (FormatException)
        {
            return true;
        }
    }

    sealed class Unformatted(IFormattable value) : IFormattable
    {
        public string ToString(string? format, IFormatProvider? formatProvider) => value.ToString(null, CultureInfo.InvariantCulture);
    }

    public static string Compact(LogEvent logEvent) => Clef(logEvent, rendered: false);

    public static string Rendered(LogEvent logEvent) => Clef(logEvent, rendered: true);

    static string Clef(LogEvent logEvent, bool rendered)
    {
        var output = new StringBuilder();
        output.Append("{\"@t\":\"").Append(logEvent.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)).Append('"');
        if (rendered)
        {
            output.Append(",\"@m\":").Append(Quoted(Render(logEvent.MessageTemplate, logEvent.Properties)));
            output.Append(",\"@i\":\"").Append(SerilogReference.JenkinsOneAtATime(logEvent.MessageTemplate.Text).ToString("x8", CultureInfo.InvariantCulture)).Append('"');
        }
        else
        {
            output.Append(",\"@mt\":").Append(Quoted(logEvent.MessageTemplate.Text));
            var renderings = logEvent.MessageTemplate.Tokens.OfType<PropertyToken>().Where(t => t.Format != null).ToList();
            if (renderings.Count > 0)
                output.Append(",\"@r\":[").AppendJoin(',', renderings.Select(t => Quoted(Render(t, logEvent.Properties)))).Append(']');
        }

        if (logEvent.Level != LogEventLevel.Information) output.Append(",\"@l\":\"").Append(logEvent.Level).Append('"');
        if (logEvent.Exception != null) output.Append(",\"@x\":").Append(Quoted(logEvent.Exception.ToString()));
        if (logEvent.TraceId != null) output.Append(",\"@tr\":\"").Append(logEvent.TraceId.Value.ToHexString()).Append('"');
        if (logEvent.SpanId != null) output.Append(",\"@sp\":\"").Append(logEvent.SpanId.Value.ToHexString()).Append('"');
        foreach (var (name, value) in logEvent.Properties)
            output.Append(',').Append(Quoted(name.StartsWith('@') ? "@" + name : name)).Append(':').Append(Value(value));
        return output.Append('}').Append(Environment.NewLine).ToString();
    }

    /// <summary>The flat line as the formatter's docs describe it.</summary>
    public static string Flat(LogEvent logEvent, bool shortLevels, bool snakeCaseNames)
    {
        var output = new StringBuilder();
        output.Append("{\"timestamp\":\"").Append(logEvent.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        output.Append("\",\"level\":\"").Append(shortLevels ? ShortLevel(logEvent.Level) : logEvent.Level.ToString()).Append('"');
        output.Append(",\"message\":").Append(Quoted(Render(logEvent.MessageTemplate, logEvent.Properties)));
        output.Append(",\"message_template\":").Append(Quoted(logEvent.MessageTemplate.Text));
        if (logEvent.Properties.TryGetValue("SourceContext", out var logger)) output.Append(",\"logger\":").Append(Value(logger));
        if (logEvent.TraceId != null) output.Append(",\"trace_id\":\"").Append(logEvent.TraceId.Value.ToHexString()).Append('"');
        if (logEvent.SpanId != null) output.Append(",\"span_id\":\"").Append(logEvent.SpanId.Value.ToHexString()).Append('"');
        if (logEvent.Exception is { } exception)
        {
            output.Append(",\"exception\":{\"type\":").Append(Quoted(exception.GetType().FullName!))
                .Append(",\"message\":").Append(Quoted(exception.Message))
                .Append(",\"stack_trace\":").Append(Quoted(exception.ToString())).Append('}');
        }

        var traceTaken = logEvent.TraceId != null;
        var spanTaken = logEvent.SpanId != null;
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in logEvent.Properties)
        {
            if (name == "SourceContext") continue;
            var key = snakeCaseNames ? SnakeCase(name) : name;
            var prefixes = 0;
            if (key == "trace_id" || key == "span_id")
            {
                var isTrace = key == "trace_id";
                ref var taken = ref isTrace ? ref traceTaken : ref spanTaken;
                var id = isTrace ? logEvent.TraceId?.ToHexString() : logEvent.SpanId?.ToHexString();
                if (!taken)
                    taken = true;
                else if (id != null && value is ScalarValue { Value: string text } && text == id)
                    continue; // the same id as the event's: not repeated
                else
                    prefixes = 1;
            }
            else if (key is "timestamp" or "level" or "message" or "message_template" or "logger" or "exception")
            {
                prefixes = 1;
            }
            while (written.Contains(new string('_', prefixes) + key)) prefixes++;
            key = new string('_', prefixes) + key;
            written.Add(key);
            output.Append(',').Append(Quoted(key)).Append(':').Append(Value(value));
        }
        return output.Append('}').Append(Environment.NewLine).ToString();
    }

    static string ShortLevel(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "TRACE",
        LogEventLevel.Debug => "DEBUG",
        LogEventLevel.Information => "INFO",
        LogEventLevel.Warning => "WARN",
        LogEventLevel.Error => "ERROR",
        LogEventLevel.Fatal => "FATAL",
        _ => ((int)level).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The documented rule: '_' before an upper-case letter after a lower-case one or a digit, or ending an acronym.</summary>
    static string SnakeCase(string name)
    {
        if (name == "ServiceName") return "service";
        var output = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0 &&
                (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]))))
                output.Append('_');
            output.Append(char.IsUpper(c) ? char.ToLowerInvariant(c) : c);
        }
        return output.ToString();
    }
}
