using Serilog.Configuration;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// Sinks named from configuration that refuse a value they were not given (one they would read from their defaults or
/// the environment): the section holds no key for the parameter their exception names.
/// </summary>
public static class RefusingSinkConfigurationExtensions
{
    public static LoggerConfiguration RefusingQueue(this LoggerSinkConfiguration writeTo, string id) =>
        throw new ArgumentOutOfRangeException("queueLimit", 0, "The value must be greater than zero.");

    public static LoggerConfiguration RefusingPath(this LoggerSinkConfiguration writeTo, string id) =>
        throw new ArgumentException("The default path is not writable.", "path");
}

/// <summary>A refused value whose converter fails on any text, as a user type's converter may.</summary>
[System.ComponentModel.TypeConverter(typeof(FailingConverter))]
public sealed class UnconvertibleValue
{
    sealed class FailingConverter : System.ComponentModel.TypeConverter
    {
        public override bool CanConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, Type sourceType) => true;

        public override object ConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object value) =>
            throw new InvalidOperationException("This converter fails on every text.");
    }
}

public static class RefusingUnconvertibleSinkConfigurationExtensions
{
    public static LoggerConfiguration RefusingUnconvertible(this LoggerSinkConfiguration writeTo, string mode) =>
        throw new ArgumentOutOfRangeException(nameof(mode), new UnconvertibleValue(), "The mode is not supported.");
}
