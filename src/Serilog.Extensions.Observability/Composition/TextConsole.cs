using System.Text;
using Serilog.Configuration;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Composition;

/// <summary>
/// The text console. An output template renders a missing property as nothing, so <c>{CorrelationId} </c> left two
/// spaces in a row on every event without a correlation id (and a null one printed <c>null</c>); such events, and those
/// whose id is null or empty, get the template without that token and the space after it, or, when the token has an alignment (<c>{CorrelationId,-12}</c>, a fixed column), with as many spaces
/// as its width in its place.
/// </summary>
static class TextConsole
{
    const string CorrelationId = "CorrelationId";

    public static void Add(LoggerSinkConfiguration writeTo, string template)
    {
        var withoutId = WithoutCorrelationId(template);
        // Values are written as they are in text: a line break in one would forge a line (see ControlCharacterEscapingSink).
        LoggerSinkConfiguration.Wrap(writeTo, static console => new ControlCharacterEscapingSink(console), console =>
        {
            if (withoutId is null)
            {
                console.Console(outputTemplate: template);
                return;
            }

            // Two console sinks, one per template, each taking the events the other does not: they share the console's lock.
            console.Conditional(static e => HasCorrelationId(e), sink => sink.Console(outputTemplate: template));
            console.Conditional(static e => !HasCorrelationId(e), sink => sink.Console(outputTemplate: withoutId));
        }, LevelAlias.Minimum, null);
    }

    /// <summary>A null or empty id (set with <c>ForContext</c>, or by a sink's caller) is written like a missing one, not as <c>null</c> or nothing between two spaces.</summary>
    static bool HasCorrelationId(LogEvent logEvent) =>
        logEvent.Properties.TryGetValue(CorrelationId, out var value) && value is not ScalarValue { Value: null or "" };

    /// <summary>
    /// <paramref name="template"/> with each aligned <c>{CorrelationId}</c> token replaced by its width in spaces, and
    /// without each other one (any format), nor the space that follows it; <see langword="null"/> when it has none.
    /// </summary>
    internal static string? WithoutCorrelationId(string template)
    {
        var tokens = new MessageTemplateParser().Parse(template).Tokens.ToArray();
        var text = new StringBuilder(template.Length);
        var changed = false;
        for (var i = 0; i < tokens.Length; i++)
        {
            switch (tokens[i])
            {
                case PropertyToken { PropertyName: CorrelationId, Alignment: { } alignment }:
                    // A fixed column: its width in spaces keeps the columns after it in place.
                    changed = true;
                    text.Append(' ', alignment.Width);
                    break;
                case PropertyToken { PropertyName: CorrelationId } when i + 1 < tokens.Length && tokens[i + 1] is TextToken { Text: [' ', ..] } next:
                    changed = true;
                    AppendEscaped(text, next.Text.AsSpan(1));
                    i++;
                    break;
                case PropertyToken { PropertyName: CorrelationId }:
                    // No space to take with it; left out all the same, so that a null id does not print "null".
                    changed = true;
                    break;
                case TextToken literal:
                    AppendEscaped(text, literal.Text);
                    break;
                default:
                    // A property token's text as written in the template: name, alignment and format.
                    text.Append(tokens[i].ToString());
                    break;
            }
        }
        return changed ? text.ToString() : null;
    }

    /// <summary>Literal text back in template syntax: its braces doubled.</summary>
    static void AppendEscaped(StringBuilder text, ReadOnlySpan<char> literal)
    {
        foreach (var c in literal)
        {
            if (c is '{' or '}') text.Append(c);
            text.Append(c);
        }
    }
}
