using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Redaction;

namespace Serilog.Extensions.Observability.Composition;

/// <summary>
/// What <c>WithObservability()</c> has attached to one <see cref="LoggerConfiguration"/>. The configuration
/// gets one enricher, one destructuring policy and one sink, whatever the number of calls; each call rebuilds
/// what the three delegate to from the accumulated options, so a second call changes, never duplicates, and the
/// latest call's redaction rules apply alike to objects captured with <c>@</c> and to the event pass.
/// </summary>
sealed class ObservabilityState
{
    static readonly ConditionalWeakTable<LoggerConfiguration, ObservabilityState> States = new();

    readonly DelegatingEnricher _enricher = new();
    readonly DelegatingDestructuringPolicy _policy = new();
    readonly DelegatingSink _sink = new();
    bool _attached;

    ObservabilityState() { }

    public ObservabilityOptions Options { get; } = new();

    public static LoggerConfiguration Apply(LoggerConfiguration configuration, Action<ObservabilityOptions>? configure)
    {
        var state = States.GetValue(configuration, _ => new ObservabilityState());

        // The configuration's logger is writing (Serilog builds one logger per configuration): replacing what it
        // delegates to would change that logger's redaction rules and close its sinks, while the CreateLogger() this call
        // is meant for would be refused anyway. A logger that has not written yet cannot be told from here.
        if (state._enricher.Used || state._sink.Used || state._policy.Used)
            throw new InvalidOperationException(
                "WithObservability() was called on a configuration whose logger is already writing events; it would change that logger's redaction rules and sinks. Build each logger from a new LoggerConfiguration.");

        // The call changes a copy and builds from it first: an invalid option throws here, before anything is
        // attached or kept, so the configuration stays usable for the next call.
        var candidate = state.Options.Clone();
        configure?.Invoke(candidate);
        var enricher = CaptureEnricher(candidate);
        var policy = RedactionDestructuringPolicy.Create(candidate.ApplyRedaction);
        // The sinks an earlier call built go before this call builds its own: a RollingJson sink refuses a path that a
        // live sink writes, and the new set usually writes the same file. They have written nothing (the configuration
        // has no logger yet); if this call's set fails to build, one from the options kept so far takes their place.
        state._sink.Replace(null);
        ILogEventSink? sink;
        try
        {
            sink = CaptureSink(candidate);
        }
        catch
        {
            state._sink.Replace(CaptureSink(state.Options));
            throw;
        }
        state.Options.CopyFrom(candidate);

        if (!state._attached)
        {
            state._attached = true;
            configuration.Enrich.With(state._enricher);
            // Objects are masked as they are bound; the event pass in the enricher and the sink wrapper catch the rest.
            // Serilog keeps the policies it is given, so ours delegates: a later call's rules reach captured objects too.
            configuration.Destructure.With(state._policy);
            configuration.WriteTo.Sink(state._sink);
        }

        // Only what this call set: earlier calls' overrides are in place already, or were changed by hand since.
        foreach (var source in candidate.MinimumLevelOverridesSetHere)
            configuration.MinimumLevel.Override(source, candidate.MinimumLevelOverrides[source]);

        state._enricher.Replace(enricher);
        state._policy.Replace(policy);
        state._sink.Replace(sink);
        return configuration;
    }

    static ILogEventEnricher CaptureEnricher(ObservabilityOptions options)
    {
        ILogEventEnricher? captured = null;
        var enrichers = options.Enrichers;
        // Wrap reports to SelfLog, on every call, a wrapper that is not IDisposable; the throwaway configuration gets a
        // holder that is, and the events go straight to what it holds. None of these enrichers owns anything to dispose.
        LoggerEnrichmentConfiguration.Wrap(
            new LoggerConfiguration().Enrich,
            inner => new CapturedEnricher(captured = inner),
            enrich =>
            {
                if (enrichers.HasFlag(ObservabilityEnrichers.LogContext)) enrich.FromLogContext();
                if (enrichers.HasFlag(ObservabilityEnrichers.Correlation)) enrich.WithCorrelation();
                if (enrichers.HasFlag(ObservabilityEnrichers.Span)) enrich.WithSpan();
                if (enrichers.HasFlag(ObservabilityEnrichers.User)) enrich.WithUser();
                if (enrichers.HasFlag(ObservabilityEnrichers.ThreadId)) enrich.WithThreadId();
                if (enrichers.HasFlag(ObservabilityEnrichers.PipelineTiming)) enrich.WithPipelineTiming();
                if (options.ServiceName is { } name) enrich.With(new ConstantPropertyEnricher("ServiceName", name));
                if (options.ServiceVersion is { } version) enrich.With(new ConstantPropertyEnricher("ServiceVersion", version));
                if (options.EnvironmentName is { } environment) enrich.With(new ConstantPropertyEnricher("Environment", environment));
                // Last, so it sees what the enrichers above added; sinks added by hand beside ours get it too.
                enrich.WithRedaction(options.ApplyRedaction);
            });
        return captured ?? throw new InvalidOperationException("The enrichers were not built.");
    }

    /// <summary>What <see cref="CaptureEnricher"/> leaves in its throwaway configuration.</summary>
    sealed class CapturedEnricher(ILogEventEnricher inner) : ILogEventEnricher, IDisposable
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) => inner.Enrich(logEvent, propertyFactory);

        public void Dispose() { }
    }

    static ILogEventSink? CaptureSink(ObservabilityOptions options)
    {
        if (options.ConsoleFormat == ObservabilityConsoleFormat.None && options.RollingJsonPath is null && options.SinkActions.Count == 0)
            return null;

        ILogEventSink? captured = null;
        LoggerSinkConfiguration.Wrap(
            new LoggerConfiguration().WriteTo,
            inner => captured = inner,
            writeTo => writeTo.Redacted(inner =>
            {
                switch (options.ConsoleFormat)
                {
                    case ObservabilityConsoleFormat.Text:
                        TextConsole.Add(inner, options.ConsoleTemplate);
                        break;
                    case ObservabilityConsoleFormat.Clef:
                        inner.Console(new CompactJsonFormatter());
                        break;
                    case ObservabilityConsoleFormat.FlatJson:
                        inner.Console(new FlatJsonFormatter());
                        break;
                }

                // The options' own sinks before the file: one that throws fails the set before the file is opened at all
                // (WriteTo.Redacted disposes whatever the callback had built when it throws).
                foreach (var sinks in options.SinkActions) sinks(inner);

                if (options.RollingJsonPath is { } path)
                    inner.RollingJson(path, options.RollingJsonOptions);
            }, options.ApplyRedaction),
            LevelAlias.Minimum,
            null);
        return captured;
    }

    /// <summary>Runs the current enricher set; replaced, never added to, by later calls.</summary>
    sealed class DelegatingEnricher : ILogEventEnricher
    {
        ILogEventEnricher? _inner;
        volatile bool _used;

        /// <summary>Whether a logger has enriched an event with it.</summary>
        public bool Used => _used;

        public void Replace(ILogEventEnricher inner) => Volatile.Write(ref _inner, inner);

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            if (!_used) _used = true;
            Volatile.Read(ref _inner)?.Enrich(logEvent, propertyFactory);
        }
    }

    /// <summary>Captures objects with the current redaction rules; replaced, never added to, by later calls.</summary>
    sealed class DelegatingDestructuringPolicy : IDestructuringPolicy
    {
        IDestructuringPolicy? _inner;
        volatile bool _used;

        /// <summary>Whether a logger has captured an object with it.</summary>
        public bool Used => _used;

        public void Replace(IDestructuringPolicy inner) => Volatile.Write(ref _inner, inner);

        public bool TryDestructure(object value, ILogEventPropertyValueFactory propertyValueFactory, [NotNullWhen(true)] out LogEventPropertyValue? result)
        {
            if (!_used) _used = true;
            if (Volatile.Read(ref _inner) is { } inner) return inner.TryDestructure(value, propertyValueFactory, out result);
            result = null;
            return false;
        }
    }

    /// <summary>
    /// Writes to the current sink set; a replaced set is disposed unused. Disposed, it keeps writing to the set it
    /// disposed, as Serilog's logger does to its own sinks: what still holds the logger (a <c>PipelineTimer</c> begun
    /// before a host stopped, an injected <c>ILogger</c>) gets its late events counted and reported by the sinks
    /// (RollingJson: dropped, reason shutdown) instead of lost without a trace.
    /// </summary>
    sealed class DelegatingSink : ILogEventSink, IDisposable, IAsyncDisposable
    {
        // Replace and disposal take it (both rare), so that a set replaced while the logger is disposed is disposed once,
        // and the set in place then with it; Emit reads _inner without it.
        readonly object _gate = new();
        ILogEventSink? _inner;
        bool _disposed;
        volatile bool _used;

        /// <summary>Whether a logger has written an event to it.</summary>
        public bool Used => _used;

        public void Replace(ILogEventSink? inner)
        {
            ILogEventSink? unused;
            lock (_gate)
            {
                var previous = _inner;
                Volatile.Write(ref _inner, inner);
                // Once the logger is disposed, the set in place went with it; a set put in after that goes at once.
                unused = _disposed ? inner : previous;
            }
            DisposeQuietly(unused);
        }

        public void Emit(LogEvent logEvent)
        {
            if (!_used) _used = true;
            Volatile.Read(ref _inner)?.Emit(logEvent);
        }

        public void Dispose()
        {
            if (TakeForDisposal(out var sink)) DisposeQuietly(sink);
        }

        // As Serilog's own wrappers do, so that a logger's DisposeAsync() and Log.CloseAndFlushAsync() reach the sinks.
        public async ValueTask DisposeAsync()
        {
            if (!TakeForDisposal(out var sink)) return;
            if (sink is not IAsyncDisposable asyncDisposable)
            {
                DisposeQuietly(sink);
                return;
            }

            try
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                SafeSelfLog.WriteLine("Failed to dispose an observability sink: {0}", ex);
            }
        }

        /// <summary>Marks it disposed, the first time only: then true, with the set in place.</summary>
        bool TakeForDisposal(out ILogEventSink? sink)
        {
            lock (_gate)
            {
                sink = _disposed ? null : _inner;
                if (_disposed) return false;
                _disposed = true;
                return true;
            }
        }

        static void DisposeQuietly(ILogEventSink? sink)
        {
            try
            {
                (sink as IDisposable)?.Dispose();
            }
            catch (Exception ex)
            {
                SafeSelfLog.WriteLine("Failed to dispose an observability sink: {0}", ex);
            }
        }
    }
}
