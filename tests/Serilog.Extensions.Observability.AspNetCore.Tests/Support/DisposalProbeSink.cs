using System.Collections.Concurrent;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>A sink named from configuration (<c>"WriteTo": [{ "Name": "DisposalProbe", "Args": { "id": ... } }]</c>)
/// that records, per id, the events it received and whether the logger disposed it.</summary>
sealed class DisposalProbeSink(string id) : ILogEventSink, IDisposable
{
    static readonly ConcurrentDictionary<string, int> Disposals = new();
    static readonly ConcurrentDictionary<string, int> Created = new();

    public static bool WasCreated(string id) => Created.ContainsKey(id);

    public static bool WasDisposed(string id) => DisposalCount(id) > 0;

    public static int DisposalCount(string id) => Disposals.TryGetValue(id, out var count) ? count : 0;

    public void Emit(LogEvent logEvent) { }

    public DisposalProbeSink Register()
    {
        Created[id] = 1;
        return this;
    }

    public void Dispose() => Disposals.AddOrUpdate(id, 1, static (_, count) => count + 1);
}

public static class DisposalProbeSinkConfigurationExtensions
{
    public static LoggerConfiguration DisposalProbe(this LoggerSinkConfiguration writeTo, string id) =>
        writeTo.Sink(new DisposalProbeSink(id).Register());
}
