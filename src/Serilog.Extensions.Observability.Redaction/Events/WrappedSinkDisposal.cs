using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Redaction.Events;

/// <summary>
/// Whether the running Serilog disposes the sinks <see cref="LoggerSinkConfiguration.Wrap"/> wrapped itself. Serilog 3.1
/// and 4.0 leave that to a wrapper that is disposable; Serilog 4.1 and later put a sink of their own around a wrapper
/// that cannot take failure listeners (<c>ISetLoggingFailureListener</c>, which a build against Serilog 3.1 cannot
/// implement), and that sink disposes the wrapped sinks after the wrapper. A wrapper that disposed them too would
/// dispose each twice: a sink whose <c>Dispose</c> is not idempotent (a logger given to <c>WriteTo.Sink</c> disposes its
/// own sinks again) would be closed twice. Rather than assume it from a version number, the running Serilog is asked,
/// once, by wrapping a probe as <see cref="RedactingSink"/> is wrapped.
/// </summary>
static class WrappedSinkDisposal
{
    /// <summary>True when Serilog disposes the wrapped sinks itself, so the wrapper must not.</summary>
    public static bool BySerilog { get; } = Probe();

    static bool Probe()
    {
        try
        {
            var probe = new ProbeSink();
            var configuration = new LoggerConfiguration();
            LoggerSinkConfiguration.Wrap(configuration.WriteTo, static _ => new ProbeWrapper(), sinks => sinks.Sink(probe), LevelAlias.Minimum, null);
            configuration.CreateLogger().Dispose();
            return probe.Disposed;
        }
        catch (Exception ex)
        {
            // Not expected. The wrapper then disposes the sinks: twice on a Serilog that does too, never left open.
            SafeSelfLog.WriteLine("Redacted: could not tell whether Serilog disposes wrapped sinks itself: {0}", ex);
            return false;
        }
    }

    sealed class ProbeSink : ILogEventSink, IDisposable
    {
        public bool Disposed { get; private set; }

        public void Emit(LogEvent logEvent) { }

        public void Dispose() => Disposed = true;
    }

    /// <summary>Disposable, and asynchronously too, as <see cref="RedactingSink"/> is; disposes nothing it wraps.</summary>
    sealed class ProbeWrapper : ILogEventSink, IDisposable, IAsyncDisposable
    {
        public void Emit(LogEvent logEvent) { }

        public void Dispose() { }

        public ValueTask DisposeAsync() => default;
    }
}
