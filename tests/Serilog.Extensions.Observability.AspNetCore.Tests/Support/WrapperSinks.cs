using Serilog.Configuration;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// Methods whose list arguments have names of their own, as a third party's may: Serilog.Settings.Configuration reads
/// an argument as a list of sinks, or as a logger's section, by its parameter's type, not by its name.
/// </summary>
public static class WrapperSinkConfigurationExtensions
{
    public static LoggerConfiguration TestWrapper(this LoggerSinkConfiguration writeTo, Action<LoggerSinkConfiguration> configureWrappedSink) =>
        writeTo.Logger(wrapped => configureWrappedSink(wrapped.WriteTo));

    public static LoggerConfiguration TestSubLogger(this LoggerSinkConfiguration writeTo, Action<LoggerConfiguration> configure) =>
        writeTo.Logger(configure);
}
