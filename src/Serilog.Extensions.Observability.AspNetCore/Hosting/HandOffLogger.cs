using System.Diagnostics.CodeAnalysis;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.AspNetCore.Hosting;

/// <summary>
/// Where the events of a host's Microsoft.Extensions.Logging provider (and, while the host's logger closes,
/// <see cref="Log.Logger"/>'s) go: the host's logger, then, once the host is
/// disposed, the late logger that took <see cref="Log.Logger"/> from it, else the closed host logger itself (whose sinks
/// drop and count what they get). <c>ILogger&lt;T&gt;</c> instances live as long as the services that hold them, and a
/// worker that outlives the host (past <c>HostOptions.ShutdownTimeout</c>) still writes through them; one kept in a
/// static field, or by a singleton that outlives the host (a test suite building a host per test), must not keep the
/// closed logger and its sinks' queues and buffers alive, so after the host only weak references are left here.
/// </summary>
sealed class LoggerRoute(ILogger host)
{
    readonly object _sync = new();
    ILogger? _host = host;
    WeakReference<ILogger>? _after;
    // Whether _after holds a late logger rather than the closed host logger: the line reporting it gone names which.
    bool _lateTookOver;
    // The hand-off loggers holding a logger derived from the host's (ForContext), which holds the host's logger: the
    // route makes them forget it when the host's logger is closed, also those that never write again.
    List<HandOffLogger>? _onHost = new();
    int _goneReported;
    // While the host's logger is being closed before a late logger takes over (see BeginClose): that logger, still good
    // for level checks and binding, and the events written meanwhile, with the hand-off logger that wrote each.
    ILogger? _closing;
    List<(HandOffLogger Logger, LogEvent Event, ExecutionContext? Context)>? _held;
    int _heldCount;
    int _heldDropped;
    // The writes on their way to the host's logger (see TryEnterHost): BeginClose waits for them, so that none reaches the
    // logger's sinks after they are closed.
    int _writing;

    /// <summary>How long <see cref="BeginClose"/> waits for writes on their way to the host's logger (a sink that blocks).</summary>
    internal static readonly TimeSpan WritersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>At most this many events are held while the host's logger closes; later ones are dropped and counted.</summary>
    internal const int HoldLimit = 10_000;

    /// <summary>Tests: called by <see cref="BeginClose"/> when it waits for writes already on their way to the host's logger.</summary>
    internal Action? WaitingForWriters { get; set; }

    /// <summary>The host's logger; null once it is closed or closing.</summary>
    public ILogger? Host => Volatile.Read(ref _host);

    /// <summary>
    /// After the host's logger is closed: the late logger, or the closed logger when there was none, held weakly as
    /// <see cref="Log.Logger"/> holds the late one: once <c>Log.CloseAndFlush()</c> has closed it, or nothing else holds
    /// the closed host logger, nothing here keeps it (and its sinks' queues) alive. <see cref="Core.Logger.None"/> when it
    /// is gone, reported once through SelfLog.
    /// </summary>
    public ILogger After
    {
        get
        {
            if (Volatile.Read(ref _closing) is { } closing) return closing;
            if (Volatile.Read(ref _after) is { } after && after.TryGetTarget(out var logger)) return logger;
            if (Interlocked.Exchange(ref _goneReported, 1) == 0)
            {
                if (Volatile.Read(ref _lateTookOver))
                    SafeSelfLog.WriteLine("AddObservability: events written through an ILogger<T> of a disposed host, after the logger that took them over was closed and released, are dropped (reported once per host).");
                else
                    SafeSelfLog.WriteLine("AddObservability: events written through an ILogger<T> of a disposed host, after the host's closed logger was released (no logger took them over), are dropped (reported once per host).");
            }
            return Core.Logger.None;
        }
    }

    /// <summary>
    /// Keeps <paramref name="onHost"/>, derived from the host's logger, as <paramref name="logger"/>'s while the host's
    /// logger is open, to be forgotten when it is closed; nothing is kept once it is closed.
    /// </summary>
    public void Remember(HandOffLogger logger, ILogger onHost)
    {
        lock (_sync)
        {
            if (_onHost is null || logger.OnHost is not null) return;
            logger.OnHost = onHost;
            _onHost.Add(logger);
        }
    }

    /// <summary>
    /// The host's logger, counted as written to until <see cref="ExitHost"/>; false once the close began (the caller then
    /// holds its event or writes it to <see cref="After"/>).
    /// </summary>
    public bool TryEnterHost([NotNullWhen(true)] out ILogger? host)
    {
        // Counted before the logger is read: BeginClose clears it before it reads the count (both full fences), so either
        // this write is seen and waited for, or this read sees the logger gone.
        Interlocked.Increment(ref _writing);
        host = Volatile.Read(ref _host);
        if (host is not null) return true;
        Interlocked.Decrement(ref _writing);
        return false;
    }

    /// <summary>A write <see cref="TryEnterHost"/> let through has returned.</summary>
    public void ExitHost() => Interlocked.Decrement(ref _writing);

    /// <summary>
    /// The host's logger is about to be closed. With <paramref name="holdForLateLogger"/> (a late logger is to be built
    /// once it is closed), the events written in between (its sinks would drop them) are held, and written to the late
    /// logger by <see cref="Close"/>; without, they go on to the closing logger, whose sinks drop and count what comes
    /// after they close. Returns once the writes already on their way to the host's logger have reached it (or after
    /// <see cref="WritersTimeout"/>, reported through SelfLog), so that it can be closed without losing them.
    /// </summary>
    public void BeginClose(bool holdForLateLogger = true)
    {
        lock (_sync)
        {
            if (_host is not { } host || _closing is not null) return;
            Volatile.Write(ref _closing, host);
            if (holdForLateLogger) _held = [];
            // A full fence between clearing the logger and reading the count (see TryEnterHost).
            Interlocked.Exchange(ref _host, null);
        }
        WaitForWriters();
    }

    void WaitForWriters()
    {
        if (Volatile.Read(ref _writing) == 0) return;
        WaitingForWriters?.Invoke();
        // Such a write is a pass through the logger's enrichers and into its sinks' queues: short, unless a sink blocks
        // (a full queue set to block, a sink of the application's). Spun, then yielded and slept for a millisecond at a time.
        var deadline = Environment.TickCount64 + (long)WritersTimeout.TotalMilliseconds;
        var spin = new SpinWait();
        while (Volatile.Read(ref _writing) is var writing and > 0)
        {
            if (Environment.TickCount64 >= deadline)
            {
                SafeSelfLog.WriteLine("AddObservability: the host's logger was closed while {0} event(s) written through an ILogger<T> were still on their way to it, after waiting {1} seconds; its sinks drop and count them.", writing, WritersTimeout.TotalSeconds);
                return;
            }
            spin.SpinOnce(sleep1Threshold: 20);
        }
    }

    /// <summary>Holds <paramref name="logEvent"/> while the host's logger closes; false when it is not closing.</summary>
    public bool Hold(HandOffLogger logger, LogEvent logEvent)
    {
        // Without the lock once the host's logger is closed: every later event comes here first.
        if (Volatile.Read(ref _held) is null) return false;
        lock (_sync)
        {
            if (_held is null) return false;
            if (_heldCount < HoldLimit)
            {
                // The event is enriched only when the late logger writes it, on the thread that closes the host: the
                // scopes, correlation id and trace it was written in (async-local) go with it.
                _held.Add((logger, logEvent, ExecutionContext.Capture()));
                _heldCount++;
            }
            else _heldDropped++;
            return true;
        }
    }

    /// <summary>
    /// The host's logger has been closed: what comes after goes to <paramref name="late"/>, or, without one, to the closed
    /// logger, while they are still alive; so do the events held while it closed, first: what is written while they are
    /// is held too (up to <see cref="HoldLimit"/> in all, so this ends), and written after them.
    /// </summary>
    public void Close(ILogger? late)
    {
        List<(HandOffLogger Logger, LogEvent Event, ExecutionContext? Context)>? held;
        ILogger target;
        lock (_sync)
        {
            if ((_host ?? _closing) is not { } closed) return;
            target = late ?? closed;
            Volatile.Write(ref _lateTookOver, late is not null);
            Volatile.Write(ref _after, new WeakReference<ILogger>(target));
            Volatile.Write(ref _host, null);
            Volatile.Write(ref _closing, null);
            foreach (var logger in _onHost!)
                logger.OnHost = null;
            _onHost = null;
            held = TakeHeld();
        }
        if (held is null) return;

        while (held is not null)
        {
            foreach (var (logger, logEvent, context) in held)
            {
                try
                {
                    if (context is null) logger.Derive(target).Write(logEvent);
                    else ExecutionContext.Run(context, static state => ((Action)state!)(), () => logger.Derive(target).Write(logEvent));
                }
                catch (Exception ex)
                {
                    // An AuditTo sink throws by design; the host's disposal must not.
                    SafeSelfLog.WriteLine("AddObservability: an event written while the host's logger was closing could not be written after it: {0}", ex);
                }
            }
            lock (_sync) held = TakeHeld();
        }

        int heldDropped;
        lock (_sync) (heldDropped, _heldDropped) = (_heldDropped, 0);
        if (heldDropped > 0)
            SafeSelfLog.WriteLine("AddObservability: {0} event(s) written through an ILogger<T> while the host's logger was closing were dropped (more than {1} held).", heldDropped, HoldLimit);
    }

    /// <summary>
    /// Under the lock: the events held so far, with a new list holding what comes meanwhile; null, and nothing held from
    /// now on, when there are none.
    /// </summary>
    List<(HandOffLogger Logger, LogEvent Event, ExecutionContext? Context)>? TakeHeld()
    {
        var held = _held;
        if (held is not { Count: > 0 })
        {
            _held = null;
            return null;
        }
        _held = [];
        return held;
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

    /// <summary>This logger's contexts added to <paramref name="target"/>.</summary>
    internal ILogger Derive(ILogger target) => _derive(target);

    /// <summary>This logger's logger derived from the host's, while that is open; set and cleared by the route.</summary>
    internal ILogger? OnHost
    {
        get => Volatile.Read(ref _onHost);
        set => Volatile.Write(ref _onHost, value);
    }

    ILogger Current
    {
        get
        {
            // After the host's logger is closed, built for each event and not kept: keeping it would keep the logger
            // it is derived from alive.
            if (_route.Host is not { } host) return _derive(_route.After);
            return OnHostFor(host);
        }
    }

    /// <summary>This logger's contexts added to the host's logger, built once while that is open.</summary>
    ILogger OnHostFor(ILogger host)
    {
        var onHost = OnHost;
        if (onHost is null)
        {
            // A race builds it twice; both are the same. Not kept when the host's logger was closed meanwhile.
            onHost = _derive(host);
            _route.Remember(this, onHost);
        }
        return onHost;
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

    public void Write(LogEvent logEvent)
    {
        // While the host's logger is open, written to it, and counted until written: its close waits for the write. Once
        // the close began, held for the late logger; after it, written to the logger that took over.
        if (_route.TryEnterHost(out var host))
        {
            try
            {
                OnHostFor(host).Write(logEvent);
            }
            finally
            {
                _route.ExitHost();
            }
            return;
        }
        if (_route.Hold(this, logEvent)) return;
        _derive(_route.After).Write(logEvent);
    }

    public bool IsEnabled(LogEventLevel level) => Current.IsEnabled(level);

    public bool BindMessageTemplate(string messageTemplate, object?[]? propertyValues, [NotNullWhen(true)] out MessageTemplate? parsedTemplate, [NotNullWhen(true)] out IEnumerable<LogEventProperty>? boundProperties)
        => Current.BindMessageTemplate(messageTemplate, propertyValues, out parsedTemplate, out boundProperties);

    public bool BindProperty(string? propertyName, object? value, bool destructureObjects, [NotNullWhen(true)] out LogEventProperty? property)
        => Current.BindProperty(propertyName, value, destructureObjects, out property);
}
