using System.Diagnostics.CodeAnalysis;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.AspNetCore.Hosting;

/// <summary>
/// Where the events of a host's Microsoft.Extensions.Logging provider go: the host's logger, then, once the host is
/// disposed, the late logger that took <see cref="Log.Logger"/> from it. <c>ILogger&lt;T&gt;</c> instances live as
/// long as the services that hold them, and a worker that outlives the host (past <c>HostOptions.ShutdownTimeout</c>)
/// still writes through them.
/// </summary>
sealed class LoggerRoute(ILogger host)
{
    ILogger? _host = host;
    WeakReference<ILogger>? _late;

    /// <summary>The host's logger; null once the late logger has taken over.</summary>
    public ILogger? Host => Volatile.Read(ref _host);

    /// <summary>
    /// The late logger, held weakly as <see cref="Log.Logger"/> holds it: once <c>Log.CloseAndFlush()</c> has closed it,
    /// nothing here keeps it (and its sinks' queues) alive. <see cref="Core.Logger.None"/> when it is gone.
    /// </summary>
    public ILogger Late => Volatile.Read(ref _late) is { } late && late.TryGetTarget(out var logger) ? logger : Core.Logger.None;

    public void HandOff(ILogger late)
    {
        Volatile.Write(ref _late, new WeakReference<ILogger>(late));
        Volatile.Write(ref _host, null);
    }
}

/// <summary>
/// A logger that writes through the route's current logger with the contexts added to it (<c>ForContext</c>).
/// </summary>
sealed class HandOffLogger : ILogger
{
    readonly LoggerRoute _route;
    readonly Func<ILogger, ILogger> _derive;
    ILogger? _onHost;

    public HandOffLogger(LoggerRoute route) : this(route, static target => target)
    {
    }

    HandOffLogger(LoggerRoute route, Func<ILogger, ILogger> derive)
    {
        _route = route;
        _derive = derive;
    }

    ILogger Current
    {
        get
        {
            // After the hand-off, built for each event and not kept: keeping it would keep the late logger alive.
            if (_route.Host is not { } host) return _derive(_route.Late);
            var onHost = Volatile.Read(ref _onHost);
            if (onHost is null)
            {
                // A race builds it twice; both are the same.
                onHost = _derive(host);
                Volatile.Write(ref _onHost, onHost);
            }
            return onHost;
        }
    }

    public ILogger ForContext(ILogEventEnricher enricher)
    {
        var derive = _derive;
        return new HandOffLogger(_route, target => derive(target).ForContext(enricher));
    }

    public ILogger ForContext(IEnumerable<ILogEventEnricher> enrichers)
    {
        var derive = _derive;
        var copy = enrichers.ToArray();
        return new HandOffLogger(_route, target => derive(target).ForContext(copy));
    }

    public ILogger ForContext(string propertyName, object? value, bool destructureObjects = false)
    {
        var derive = _derive;
        return new HandOffLogger(_route, target => derive(target).ForContext(propertyName, value, destructureObjects));
    }

    public ILogger ForContext<TSource>() => ForContext(typeof(TSource));

    public ILogger ForContext(Type source) => ForContext(Constants.SourceContextPropertyName, source.FullName);

    public void Write(LogEvent logEvent) => Current.Write(logEvent);

    public bool IsEnabled(LogEventLevel level) => Current.IsEnabled(level);

    public bool BindMessageTemplate(string messageTemplate, object?[]? propertyValues, [NotNullWhen(true)] out MessageTemplate? parsedTemplate, [NotNullWhen(true)] out IEnumerable<LogEventProperty>? boundProperties)
        => Current.BindMessageTemplate(messageTemplate, propertyValues, out parsedTemplate, out boundProperties);

    public bool BindProperty(string? propertyName, object? value, bool destructureObjects, [NotNullWhen(true)] out LogEventProperty? property)
        => Current.BindProperty(propertyName, value, destructureObjects, out property);
}
