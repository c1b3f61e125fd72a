using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Serilog.Events;

namespace Serilog.Extensions.Observability;

/// <summary>Configuration-time argument checks: the parameter name and the rule broken.</summary>
static class Guard
{
    public static T NotNull<T>([NotNull] T? value, [CallerArgumentExpression(nameof(value))] string? parameterName = null)
        where T : class
    {
        if (value is null) throw new ArgumentNullException(parameterName);
        return value;
    }

    public static string NotNullOrWhiteSpace([NotNull] string? value, [CallerArgumentExpression(nameof(value))] string? parameterName = null)
    {
        if (value is null) throw new ArgumentNullException(parameterName);
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("The value must not be empty or white space.", parameterName);
        return value;
    }

    public static int Positive(int value, [CallerArgumentExpression(nameof(value))] string? parameterName = null)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(parameterName, value, "The value must be greater than zero.");
        return value;
    }

    public static long Positive(long value, [CallerArgumentExpression(nameof(value))] string? parameterName = null)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(parameterName, value, "The value must be greater than zero.");
        return value;
    }

    public static TimeSpan Positive(TimeSpan value, [CallerArgumentExpression(nameof(value))] string? parameterName = null)
    {
        if (value <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(parameterName, value, "The duration must be greater than zero.");
        return value;
    }

    /// <summary>
    /// An undefined level (<c>"9"</c> in <c>"Args"</c> binds to <c>(LogEventLevel)9</c>) would silently filter out
    /// every event, or none.
    /// </summary>
    public static LogEventLevel DefinedLevel(LogEventLevel value, [CallerArgumentExpression(nameof(value))] string? parameterName = null)
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(parameterName, value, "The level must be one of Verbose, Debug, Information, Warning, Error or Fatal.");
        return value;
    }

    public static int NotNegative(int value, [CallerArgumentExpression(nameof(value))] string? parameterName = null)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(parameterName, value, "The value must not be negative.");
        return value;
    }

    /// <summary>
    /// Throws when <paramref name="secret"/> is an environment variable reference (<c>%NAME%</c>, no <c>%</c> or white
    /// space inside) that Serilog.Settings.Configuration left as it is because the variable is not set: the placeholder,
    /// text anyone who reads the configuration knows, must not become a key. The value is not echoed.
    /// </summary>
    public static void NotUnexpandedVariable(string? secret, string parameterName)
    {
        if (secret is null) return;
        var text = secret.AsSpan().Trim();
        if (text.Length < 3 || text[0] != '%' || text[^1] != '%') return;
        foreach (var c in text[1..^1])
        {
            if (c == '%' || char.IsWhiteSpace(c)) return;
        }

        throw new ArgumentException(
            "The key is an environment variable reference (%NAME%) that was not expanded because the variable is not set; set the variable or pass the key itself.",
            parameterName);
    }
}
