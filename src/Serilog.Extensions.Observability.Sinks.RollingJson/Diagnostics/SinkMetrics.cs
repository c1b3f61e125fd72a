using System.Diagnostics.Metrics;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Diagnostics;

/// <summary>
/// The package's <see cref="Meter"/>. Counters are added to once per batch by the writer thread, never per event
/// by the caller (only a drop during or after disposal is counted on the caller's thread), so a listener costs the
/// application nothing on the logging path. A listener that throws is reported through SelfLog: it reaches neither
/// the caller nor the writer, whose count of what it wrote must not be undone by it.
/// </summary>
internal static class SinkMetrics
{
    public const string MeterName = "Serilog.Extensions.Observability.Sinks.RollingJson";

    public const string ReasonQueueFull = "queue_full";
    public const string ReasonIoError = "io_error";
    public const string ReasonFormatError = "format_error";
    public const string ReasonShutdown = "shutdown";

    // Exported by OpenTelemetry as the instrumentation scope's version: the package's, not the assembly's 0.1.0.0.
    static readonly Meter Meter = new(MeterName, PackageVersion.Of(typeof(SinkMetrics)));

    public static readonly Counter<long> EventsWritten =
        Meter.CreateCounter<long>("serilog.rolling_json.events.written", "{event}", "Events appended to a log file.");

    public static readonly Counter<long> EventsDropped =
        Meter.CreateCounter<long>("serilog.rolling_json.events.dropped", "{event}", "Events accepted by Serilog but not written, tagged by reason.");

    public static readonly Counter<long> BytesWritten =
        Meter.CreateCounter<long>("serilog.rolling_json.bytes.written", "By", "Bytes appended to log files.");

    public static readonly Counter<long> Rollovers =
        Meter.CreateCounter<long>("serilog.rolling_json.rollovers", "{file}", "Files closed because their period ended or their size limit was reached.");

    static readonly object ActiveSinksLock = new();
    static readonly List<Writing.RollingJsonSink> ActiveSinks = new();

    static SinkMetrics()
    {
        // An UpDownCounter, not a gauge: a queue's length adds up (over sinks, over processes), and OpenTelemetry exports
        // it as a non-monotonic sum that a backend may sum when it drops attributes, as the runtime's own
        // dotnet.thread_pool.queue.length. A gauge would be taken as a value that does not add up, like a temperature.
        Meter.CreateObservableUpDownCounter("serilog.rolling_json.queue.length", ObserveQueueLength, "{event}", "Events waiting for the writer, over all open sinks.");
    }

    public static void Register(Writing.RollingJsonSink sink)
    {
        lock (ActiveSinksLock) ActiveSinks.Add(sink);
    }

    public static void Unregister(Writing.RollingJsonSink sink)
    {
        lock (ActiveSinksLock) ActiveSinks.Remove(sink);
    }

    public static void AddDropped(long count, string reason)
    {
        if (count <= 0) return;
        try
        {
            EventsDropped.Add(count, new KeyValuePair<string, object?>("reason", reason));
        }
        catch (Exception ex)
        {
            ListenerFailed(ex);
        }
    }

    public static void AddWritten(long events, long bytes)
    {
        try
        {
            EventsWritten.Add(events);
            BytesWritten.Add(bytes);
        }
        catch (Exception ex)
        {
            ListenerFailed(ex);
        }
    }

    public static void AddRollover()
    {
        try
        {
            Rollovers.Add(1);
        }
        catch (Exception ex)
        {
            ListenerFailed(ex);
        }
    }

    static int s_listenerFailureReported;

    // Once per process: a listener that throws does so at every measurement.
    static void ListenerFailed(Exception ex)
    {
        if (Interlocked.Exchange(ref s_listenerFailureReported, 1) == 0)
            SafeSelfLog.WriteLine("RollingJson sink: a listener of the {0} meter threw (reported once, later failures are ignored): {1}", MeterName, ex);
    }

    static long ObserveQueueLength()
    {
        long total = 0;
        lock (ActiveSinksLock)
            foreach (var sink in ActiveSinks)
                total += sink.QueueLength;
        return total;
    }
}
