using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Serilog.Extensions.Observability.AspNetCore.Hosting;

/// <summary>
/// The check our own sections (<c>"Serilog:RequestLogging"</c>, <c>"Serilog:Redaction"</c>, <c>"Serilog:Correlation"</c>)
/// make before they are bound: an object or a list given for an option that is one value. The binder's own message for
/// it names the value's type (<c>not found on the instance of System.Boolean: 'Enabled'</c>), not the key.
/// </summary>
static class OneValueSettings
{
    /// <summary>Throws <see cref="InvalidOperationException"/> naming the first key of <paramref name="section"/> at fault.</summary>
    public static void Check(IConfigurationSection section, Type optionsType, string description)
    {
        foreach (var entry in section.GetChildren())
        {
            if (optionsType.GetProperty(entry.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is { } property
                && IsOneValue(property.PropertyType) && entry.GetChildren().Any())
                throw new InvalidOperationException(
                    $"The \"{entry.Path}\" setting of the {description} options ({optionsType.Name}.{property.Name}) must be a single value, not an object or a list.");
        }
    }

    /// <summary>Whether an option of type <paramref name="type"/> is one value in configuration (a switch, a number, a name, a duration).</summary>
    static bool IsOneValue(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(decimal);
    }
}
