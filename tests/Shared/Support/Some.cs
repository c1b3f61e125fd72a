using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>Unique values and ready-made events for tests.</summary>
static class Some
{
    static int _counter;

    public static int Int() => Interlocked.Increment(ref _counter);

    public static string String(string? tag = null) => (tag ?? "s") + "__" + Int();

    public static DateTimeOffset Instant() => new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.Zero).AddSeconds(Int());

    public static LogEvent LogEvent(
        string messageTemplate = "Hello, {Name}!",
        LogEventLevel level = LogEventLevel.Information,
        Exception? exception = null,
        DateTimeOffset? timestamp = null,
        params LogEventProperty[] properties)
    {
        var template = new MessageTemplateParser().Parse(messageTemplate);
        return new LogEvent(timestamp ?? Instant(), level, exception, template, properties);
    }

    public static LogEventProperty Property(string name, object? value) =>
        new(name, value as LogEventPropertyValue ?? new ScalarValue(value));
}
