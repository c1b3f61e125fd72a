using Serilog.Context;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>The ways a value gets into an event.</summary>
public enum Route
{
    /// <summary><c>log.Information("{Name}", value)</c></summary>
    MessageArgument,
    /// <summary><c>log.Information("{@Name}", value)</c></summary>
    DestructuredArgument,
    /// <summary><c>log.ForContext(name, value)</c></summary>
    ForContext,
    /// <summary><c>log.ForContext(name, value, destructureObjects: true)</c></summary>
    ForContextDestructured,
    /// <summary><c>LogContext.PushProperty(name, value)</c></summary>
    LogContext,
    /// <summary><c>LogContext.PushProperty(name, value, destructureObjects: true)</c></summary>
    LogContextDestructured,
    /// <summary>An enricher registered after the redaction enricher adds it.</summary>
    Enricher,
    /// <summary>An enricher registered after the redaction enricher adds it, destructured.</summary>
    EnricherDestructured,
}

/// <summary>Which redaction pieces a logger uses.</summary>
[Flags]
public enum Pieces
{
    None = 0,
    Policy = 1,
    Enricher = 2,
    Sink = 4,
    All = Policy | Enricher | Sink,
}

static class Routes
{
    public static readonly Route[] All = Enum.GetValues<Route>();

    /// <summary>Every route with each set of pieces that includes the sink pass: the cases of the end-to-end leak tests.</summary>
    public static IEnumerable<TestCaseData> WithPieces()
    {
        foreach (var route in All)
        foreach (var pieces in new[] { Pieces.Sink, Pieces.Sink | Pieces.Policy, Pieces.All })
            yield return new TestCaseData(route, pieces).SetName($"{route} with {pieces}");
    }

    public static bool Destructures(this Route route) =>
        route is Route.DestructuredArgument or Route.ForContextDestructured or Route.LogContextDestructured or Route.EnricherDestructured;

    /// <summary>
    /// Logs <paramref name="value"/> under <paramref name="name"/> through <paramref name="route"/> into a logger with the
    /// given redaction pieces (enricher first, then <c>FromLogContext</c> and the route's enricher: the worst order),
    /// and returns the events the sink received.
    /// </summary>
    public static IReadOnlyList<LogEvent> Write(
        Route route, string name, object? value, Pieces pieces, Action<RedactionOptions>? configure = null,
        Func<LoggerConfiguration, LoggerConfiguration>? extra = null, Exception? exception = null, string? template = null)
    {
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration().MinimumLevel.Verbose();
        if (extra is not null) configuration = extra(configuration);
        if ((pieces & Pieces.Policy) != 0) configuration.Destructure.WithRedaction(configure);
        if ((pieces & Pieces.Enricher) != 0) configuration.Enrich.WithRedaction(configure);
        configuration.Enrich.FromLogContext();
        if (route is Route.Enricher or Route.EnricherDestructured)
            configuration.Enrich.With(new AddPropertyEnricher(name, value, route == Route.EnricherDestructured));
        if ((pieces & Pieces.Sink) != 0) configuration.WriteTo.Redacted(s => s.Sink(sink), configure);
        else configuration.WriteTo.Sink(sink);

        using (var logger = configuration.CreateLogger())
        {
            var text = template ?? "Logged";
            switch (route)
            {
                case Route.MessageArgument:
                    logger.Information(exception, (template ?? "Logged") + " {" + name + "}", value);
                    break;
                case Route.DestructuredArgument:
                    logger.Information(exception, (template ?? "Logged") + " {@" + name + "}", value);
                    break;
                case Route.ForContext:
                case Route.ForContextDestructured:
                    logger.ForContext(name, value, route == Route.ForContextDestructured).Information(exception, text);
                    break;
                case Route.LogContext:
                case Route.LogContextDestructured:
                    using (LogContext.PushProperty(name, value, route == Route.LogContextDestructured))
                        logger.Information(exception, text);
                    break;
                default:
                    logger.Information(exception, text);
                    break;
            }
        }

        return sink.Events;
    }

    sealed class AddPropertyEnricher : ILogEventEnricher
    {
        readonly string _name;
        readonly object? _value;
        readonly bool _destructure;

        public AddPropertyEnricher(string name, object? value, bool destructure)
        {
            _name = name;
            _value = value;
            _destructure = destructure;
        }

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) =>
            logEvent.AddOrUpdateProperty(propertyFactory.CreateProperty(_name, _value, _destructure));
    }
}
