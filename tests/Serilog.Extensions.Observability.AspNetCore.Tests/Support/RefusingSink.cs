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
