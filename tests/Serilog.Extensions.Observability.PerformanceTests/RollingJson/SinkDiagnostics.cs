using System.Diagnostics;
using System.Diagnostics.Metrics;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Sinks.RollingJson;
using Serilog.Formatting;

namespace Serilog.Extensions.Observability.PerformanceTests.RollingJson;

/// <summary>
/// Not a BenchmarkDotNet class: the throughput benchmark's workload (one producer, 1,000,000 events, dispose) run in
/// this process with what the benchmark cannot show beside it, to tell where the time goes on a given machine:
/// the caller's latency percentiles, the CPU time of the caller and of the sink's writer thread, the queue length
/// (sampled every millisecond through the sink's public gauge), GC pauses and collections, and minor page faults.
/// <code>build/bench.sh sink-diagnostics [null|rolling-json|rolling|rolling-compress|trivial-formatter|caller-format] [rounds] [classify]</code>
/// <c>rolling</c> rolls every 8 MB; <c>rolling-compress</c> also gzips each rolled file (the latency benchmark's case).
/// <c>trivial-formatter</c> is our sink with a formatter that writes <c>{}</c>: the writer's cost without CLEF.
/// <c>caller-format</c> is an experiment (<see cref="CallerFormattingSink"/>): the caller formats, the writer copies bytes.
/// Linux only for the per-thread CPU and page-fault columns (read from /proc); elsewhere they print as -1.
/// </summary>
static class SinkDiagnostics
{
    const int Events = 1_000_000;
    const string WriterThreadPrefix = "Serilog Rolling"; // the writer thread's name as /proc/*/comm truncates it

    public static void Run(string[] args)
    {
        var modes = args.Length > 0 ? new[] { args[0] } : new[] { "null", "rolling-json", "trivial-formatter" };
        var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 4;
        s_classify = args.Length > 2 && args[2] == "classify";
        if (s_classify && !OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("classify reads getrusage(RUSAGE_THREAD), which only Linux has.");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; {Events:N0} events per round; the first round is warm-up");
        foreach (var mode in modes)
            for (var round = 0; round < rounds; round++)
                Console.WriteLine(RunOnce(mode, round));
    }

    static bool s_classify;
    static readonly long[] s_latencies = new long[Events];

    static string RunOnce(string mode, int round)
    {
        var folder = FileSinkPeers.FreshFolder("diagnostics");
        CallerFormattingSink? experiment = null;
        var logger = mode switch
        {
            "null" => FileSinkPeers.NullSink(),
            "rolling-json" => FileSinkPeers.RollingJson(folder),
            "caller-format" => new LoggerConfiguration().MinimumLevel.Information()
                .WriteTo.Sink(experiment = new CallerFormattingSink(Path.Combine(folder, "experiment.json"))).CreateLogger(),
            "trivial-formatter" => FileSinkPeers.RollingJson(folder, new RollingJsonOptions { Formatter = new TrivialFormatter() }),
            // The latency benchmark's rolling case, and the same without compression: which of the two stalls callers.
            "rolling" => FileSinkPeers.RollingJson(folder, new RollingJsonOptions { FileSizeLimitBytes = 8 * 1024 * 1024, RetainedFileCountLimit = 100 }),
            "rolling-compress" => FileSinkPeers.RollingJson(folder, new RollingJsonOptions
            {
                FileSizeLimitBytes = 8 * 1024 * 1024,
                CompressRolledFiles = true,
                RetainedFileCountLimit = 100,
            }),
            _ => throw new ArgumentException($"Unknown mode '{mode}': use null, rolling-json, rolling, rolling-compress, trivial-formatter or caller-format.", nameof(mode)),
        };

        // Not while classifying: its thread wakes every millisecond and would take the caller's core (the benchmark has none).
        using var queue = s_classify ? null : new QueueSampler();
        // One array for every round, written through before the round (as the benchmark's field is): a new one's page
        // faults would land between calls, and in the classification's counters.
        var latencies = s_latencies;
        Array.Fill(latencies, 1);
        var threadsBefore = ThreadCpuMilliseconds();
        var processBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var faultsBefore = MinorFaults();
        var pauseBefore = GC.GetTotalPauseDuration();
        var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var total = Stopwatch.StartNew();
        var causes = new SlowCallCauses();
        for (var i = 0; i < Events; i++)
        {
            if (s_classify) causes.Before();
            var start = Stopwatch.GetTimestamp();
            logger.Information(FileSinkPeers.Template, i, FileSinkPeers.Customer(i), FileSinkPeers.Total(i), FileSinkPeers.At, FileSinkPeers.Region(i));
            latencies[i] = Stopwatch.GetTimestamp() - start;
            if (s_classify) causes.After(latencies[i]);
        }
        var produced = total.Elapsed;
        var queueLengths = queue?.Stop() ?? (0, 0, 0);
        // Read before disposal: the writer thread ends with it, and its /proc entry with it.
        var threadsProduced = ThreadCpuMilliseconds();
        logger.Dispose();
        var elapsed = total.Elapsed;
        var threadsAfter = ThreadCpuMilliseconds();
        var process = Process.GetCurrentProcess().TotalProcessorTime - processBefore;

        Array.Sort(latencies);
        string Percentile(double q) => $"{latencies[(int)Math.Ceiling(q * Events) - 1] * 1e9 / Stopwatch.Frequency:F0}";
        long CpuOf(Dictionary<string, long> now, Func<string, bool> which) =>
            now.Count == 0 ? -1 : now.Where(t => which(t.Key)).Sum(t => t.Value - threadsBefore.GetValueOrDefault(t.Key));
        var caller = CpuOf(threadsAfter, name => name.EndsWith(":main", StringComparison.Ordinal));
        var writer = CpuOf(threadsProduced, name => name.Contains(WriterThreadPrefix, StringComparison.Ordinal));
        var faults = MinorFaults();

        return $"{mode,-18} round {round}: {elapsed.TotalNanoseconds / Events,6:F0} ns/event end to end, {produced.TotalNanoseconds / Events,6:F0} producing"
            + $" | caller p50 {Percentile(0.5)} p99 {Percentile(0.99)} p99.9 {Percentile(0.999)} p99.99 {Percentile(0.9999)} ns, {SlowCalls(latencies, 10_000)} calls over 10 us"
            + $" | CPU: caller (GC included) {caller} ms, writer {writer} ms while producing, process {process.TotalMilliseconds:F0} ms"
            + $" | queue p50 {queueLengths.P50} p90 {queueLengths.P90} max {queueLengths.Max}"
            + $" | GC pause {(GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds:F0} ms, gen0/1/2 {GC.CollectionCount(0) - gcBefore.Item1}/{GC.CollectionCount(1) - gcBefore.Item2}/{GC.CollectionCount(2) - gcBefore.Item3}"
            + $" | minor faults {(faults < 0 ? -1 : faults - faultsBefore)}"
            + (experiment is null ? "" : $" | dropped {Interlocked.Read(ref experiment.Dropped):N0}")
            + (s_classify ? " | " + causes : "");
    }

    /// <summary>
    /// <c>classify</c> (third argument): reads the caller thread's own counters (getrusage RUSAGE_THREAD) around every call
    /// and says, of the calls over 2 us, how many took a page fault, were preempted, blocked, or ran a GC. The two system
    /// calls per event slow the loop, so its percentiles are not the benchmark's; the split is what it is for.
    /// </summary>
    sealed class SlowCallCauses
    {
        // struct rusage on 64-bit Linux as longs: two timevals (0-3), then maxrss, ixrss, idrss, isrss, minflt (8),
        // majflt (9), nswap, inblock, oublock, msgsnd, msgrcv, nsignals, nvcsw (16, blocked), nivcsw (17, preempted).
        const int RusageThread = 1;
        readonly long[] _before = new long[18], _after = new long[18];
        int _gcBefore;
        long _slow, _faulted, _preempted, _blocked, _collected, _unexplained;

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
        static extern int getrusage(int who, long[] usage);

        public void Before()
        {
            getrusage(RusageThread, _before);
            _gcBefore = GC.CollectionCount(0);
        }

        public void After(long ticks)
        {
            if (ticks * 1_000_000_000 / Stopwatch.Frequency <= 2_000) return;
            var collected = GC.CollectionCount(0) != _gcBefore;
            getrusage(RusageThread, _after);
            _slow++;
            var faulted = _after[8] != _before[8] || _after[9] != _before[9];
            var blocked = _after[16] != _before[16];
            var preempted = _after[17] != _before[17];
            if (faulted) _faulted++;
            if (blocked) _blocked++;
            if (preempted) _preempted++;
            if (collected) _collected++;
            if (!faulted && !blocked && !preempted && !collected) _unexplained++;
        }

        public override string ToString() =>
            $"calls over 2 us {_slow}: page fault {_faulted}, preempted {_preempted}, blocked {_blocked}, GC {_collected}, none of these {_unexplained}";
    }

    /// <summary>How many of the sorted latencies (in Stopwatch ticks) took longer than <paramref name="nanoseconds"/>.</summary>
    static int SlowCalls(long[] sorted, long nanoseconds)
    {
        var ticks = nanoseconds * Stopwatch.Frequency / 1_000_000_000;
        var index = Array.BinarySearch(sorted, ticks + 1);
        return sorted.Length - (index < 0 ? ~index : index);
    }

    /// <summary>CPU milliseconds (user + system) of each live thread of this process, keyed by "tid:name".</summary>
    static Dictionary<string, long> ThreadCpuMilliseconds()
    {
        var result = new Dictionary<string, long>();
        if (!Directory.Exists("/proc/self/task")) return result;
        var tick = 1000.0 / 100; // USER_HZ is 100 on Linux
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
                var id = Path.GetFileName(task);
                // The process's own id is its main thread's.
                result[$"{id}:{(id == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) ? "main" : name)}"] = (long)(ticks * tick);
            }
            catch (IOException)
            {
                // The thread ended while it was read.
            }
        }
        return result;
    }

    static long MinorFaults()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    sealed class TrivialFormatter : ITextFormatter
    {
        public void Format(LogEvent logEvent, TextWriter output) => output.Write("{}");
    }

    /// <summary>Samples the sink's public queue-length instrument every millisecond on its own thread.</summary>
    sealed class QueueSampler : IDisposable
    {
        readonly MeterListener _listener = new();
        readonly List<long> _samples = new(4096);
        readonly Thread _thread;
        volatile bool _stop;
        long _last;

        public QueueSampler()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "serilog.rolling_json.queue.length") l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => _last = value);
            _listener.Start();
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    _listener.RecordObservableInstruments();
                    _samples.Add(_last);
                    Thread.Sleep(1);
                }
            }) { IsBackground = true, Name = "queue sampler" };
            _thread.Start();
        }

        public (long P50, long P90, long Max) Stop()
        {
            _stop = true;
            _thread.Join();
            if (_samples.Count == 0) return (0, 0, 0);
            _samples.Sort();
            return (_samples[_samples.Count / 2], _samples[_samples.Count * 9 / 10], _samples[^1]);
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
            _listener.Dispose();
        }
    }
}
