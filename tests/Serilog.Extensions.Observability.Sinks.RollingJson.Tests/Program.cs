using System.Globalization;
using System.Runtime.InteropServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting;
using Serilog.Extensions.Observability.Sinks.RollingJson;
using Serilog.Extensions.Observability.Sinks.RollingJson.Writing;
using Serilog.Parsing;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests;

/// <summary>
/// The entry point of this assembly when a test starts it as a child process; the test runner never calls it.
/// <c>crash-child &lt;path&gt;</c> logs in a loop, says "ready" once lines are on disk, and goes on until it is killed.
/// <c>culture-child &lt;folder&gt;</c> writes a few fixed events as CLEF and flat JSON under the culture and globalization
/// mode its environment gives it, prints the culture's name and exits.
/// <c>exit-child &lt;path&gt; &lt;count&gt; return|exit|signal|unhandled</c> makes the sink <see cref="Log.Logger"/>'s, logs
/// <c>count</c> events while its writer is held, and ends without <c>Log.CloseAndFlush()</c>: by returning from Main,
/// by <c>Environment.Exit(3)</c>, by SIGTERM or SIGINT,
/// or by an exception on a worker thread (which its <c>UnhandledException</c> handler logs as <c>Log.Fatal</c>); the writer is let go only as the process ends.
/// <c>async-exit-child &lt;path&gt; &lt;count&gt; return|flush</c> does as <c>exit-child ... return</c> with the sink behind
/// Serilog.Sinks.Async, closing the logger first for <c>flush</c>.
/// </summary>
static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "culture-child") return CultureChild(args[1]);
        if (args.Length == 4 && args[0] == "exit-child") return ExitChild(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
#if NET9_0_OR_GREATER
        if (args.Length == 3 && args[0] == "raised-child") return RaisedChild(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
#endif
        if (args.Length == 4 && args[0] == "async-exit-child") return AsyncExitChild(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3] == "flush");
        if (args.Length == 4 && args[0] == "retrying-exit-child") return RetryingExitChild(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3] == "recover");
        if (args.Length == 5 && args[0] == "deep-child") return DeepChild(args[1], args[2], args[3], int.Parse(args[4], CultureInfo.InvariantCulture));
        if (args.Length != 2 || args[0] != "crash-child")
        {
            Console.Error.WriteLine("usage: crash-child <path> | culture-child <folder> | exit-child <path> <count> return|exit|signal|unhandled | async-exit-child <path> <count> return|flush | raised-child <path> <count> | deep-child <path> <value|exception> <compact|rendered|flat> <depth>");
            return 2;
        }
        var options = new RollingJsonOptions
        {
            RollingInterval = RollingJsonInterval.Infinite,
            FileSizeLimitBytes = 256 * 1024,
            RetainedFileCountLimit = null,
        };
        var sink = RollingJsonLoggerConfigurationExtensions.CreateSink(args[1], options);
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var payload = new string('x', 200);
        for (long i = 0; ; i++)
        {
            logger.Information("Crash child event {Seq} {Payload}", i, payload);
            if (i == 2_000)
            {
                sink.WaitUntilWritten(TimeSpan.FromSeconds(30));
                Console.Out.WriteLine("ready");
                Console.Out.Flush();
            }
        }
    }

    static int ExitChild(string path, int count, string how)
    {
        // A signal this process was started ignoring (a background job of a non-interactive shell ignores SIGINT and
        // SIGQUIT, and so does every process it starts, a test runner and this child included) stays ignored: the runtime
        // installs no handler for it, and the test's SIGINT would neither reach the sink nor end the process. The state
        // under test is a process that the signal ends, so the child takes the default action back, before anything sets
        // the runtime's signal handling up (it reads each signal's disposition then).
        if (how == "signal" && (!DefaultSignalAction(2) || !DefaultSignalAction(15)))
        {
            Console.Error.WriteLine("exit-child: could not restore the default action of SIGINT and SIGTERM.");
            return 5;
        }
        RollingJsonSink? held = null;
        // Subscribed before the sink exists, so these run before anything the sink subscribes: the writer is let go
        // only once the process is ending, and whatever the sink does about it then is all that saves the events.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => held?.ResumeWriter();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => held?.ResumeWriter();
        // SIGTERM and SIGINT: the writer is let go as the sink's own handler starts, whichever handler the runtime runs
        // first (.NET 10 runs the last registered first, .NET 8 promises no order): then only that handler's wait writes
        // the events before the process ends.
        RollingJsonSink.CreateSignalRegistrationForTests = (signal, handler) => PosixSignalRegistration.Create(signal, context =>
        {
            held?.ResumeWriter();
            handler(context);
        });
        var sink = RollingJsonLoggerConfigurationExtensions.CreateSink(path, new RollingJsonOptions
        {
            RollingInterval = RollingJsonInterval.Infinite,
            RetainedFileCountLimit = null,
        });
        sink.PauseWriter();
        held = sink;
        Log.Logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        // As applications do, after the logger: it runs after the sink's own handler.
        AppDomain.CurrentDomain.UnhandledException += (_, e) => Log.Fatal((Exception)e.ExceptionObject, "Unhandled exception");
        var payload = new string('x', 1000);
        for (var i = 0; i < count; i++) Log.Information("Exit child event {Seq} {Payload}", i, payload);
        Console.Out.WriteLine("logged");
        Console.Out.Flush();
        switch (how)
        {
            case "exit":
                Environment.Exit(3);
                return 4;
            case "unhandled":
                var worker = new Thread(() => throw new InvalidOperationException("Exit child worker failed"));
                worker.Start();
                worker.Join();
                return 4;
            case "signal":
                // Waits for the test's SIGTERM or SIGINT, which ends the process without ProcessExit.
                Thread.Sleep(Timeout.Infinite);
                return 4;
            default:
                return 0;
        }
    }

    /// <summary>
    /// <c>async-exit-child &lt;path&gt; &lt;count&gt; return|flush</c>: the sink behind Serilog.Sinks.Async (a buffer of
    /// <c>count</c>, which blocks when full), with a queue of 100 and its writer held, so that Async's worker waits for
    /// room with most events still in Async's buffer; then returns from Main, with <c>Log.CloseAndFlush()</c> first for
    /// <c>flush</c>. The writer is let go as the process ends (or as the logger is closed).
    /// </summary>
    static int AsyncExitChild(string path, int count, bool flush)
    {
        RollingJsonSink? held = null;
        // Subscribed before the sink exists, so this runs before the sink's own ProcessExit handler.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => held?.ResumeWriter();
        var sink = RollingJsonLoggerConfigurationExtensions.CreateSink(path, new RollingJsonOptions
        {
            RollingInterval = RollingJsonInterval.Infinite,
            RetainedFileCountLimit = null,
            QueueLimit = 100,
            BlockWhenFull = true,
        });
        sink.PauseWriter();
        held = sink;
        Log.Logger = new LoggerConfiguration().WriteTo.Async(a => a.Sink(sink), bufferSize: count, blockWhenFull: true).CreateLogger();
        for (var i = 0; i < count; i++) Log.Information("Exit child event {Seq}", i);
        if (!SpinWait.SpinUntil(() => sink.RoomWaiters == 1, TimeSpan.FromSeconds(30)))
        {
            Console.Error.WriteLine("async-exit-child: Async's worker never waited for room.");
            return 5;
        }
        Console.Out.WriteLine("logged");
        Console.Out.Flush();
        if (flush)
        {
            var closing = Task.Run(Log.CloseAndFlush);
            sink.ResumeWriter();
            closing.Wait();
        }
        return 0;
    }

    /// <summary>
    /// <c>retrying-exit-child &lt;path&gt; &lt;count&gt; recover|stay</c>: a directory stands at the file's path, so every
    /// write fails; the writer takes all <c>count</c> events in one batch and waits (an hour) to retry it, and the child
    /// returns from Main without <c>Log.CloseAndFlush()</c>, its SelfLog on standard error. With <c>recover</c> the
    /// directory is removed as the process ends, before the sink's own <c>ProcessExit</c> handler runs. With <c>stay</c>
    /// five more events are queued behind the batch, and the writer's retry as the process ends (which fails) is held
    /// before its next wait: the drain's window passes with the batch still held, so its report is the callers'.
    /// </summary>
    static int RetryingExitChild(string path, int count, bool recover)
    {
        Serilog.Debugging.SelfLog.Enable(Console.Error);
        Directory.CreateDirectory(path);
        if (recover) AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(path);
        RollingJsonSink.RetryDelays = new[] { TimeSpan.FromHours(1), TimeSpan.FromHours(1) };
        var sink = RollingJsonLoggerConfigurationExtensions.CreateSink(path, new RollingJsonOptions
        {
            RollingInterval = RollingJsonInterval.Infinite,
            RetainedFileCountLimit = null,
            FileSizeLimitBytes = null,
            // Long enough for a retry to write, short for the wait that cannot.
            ShutdownTimeout = recover ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(500),
        });
        using var waiting = new ManualResetEventSlim();
        // Never set: the writer stays in the hook until the process ends.
        var hold = new ManualResetEventSlim();
        var waits = 0;
        sink.BeforeRetryWaitForTests = () =>
        {
            if (++waits > 1 && !recover) hold.Wait();
            waiting.Set();
        };
        sink.PauseWriter();
        Log.Logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        for (var i = 0; i < count; i++) Log.Information("Retrying child event {Seq}", i);
        sink.ResumeWriter();
        if (!waiting.Wait(TimeSpan.FromSeconds(30))) return 5;
        // The writer waits (an hour) to retry: nothing wakes it for these.
        if (!recover) for (var i = count; i < count + 5; i++) Log.Information("Retrying child event {Seq}", i);
        Console.Out.WriteLine("logged");
        Console.Out.Flush();
        return 0;
    }
    /// <summary>Gives <paramref name="signal"/> its default action (SIG_DFL) back; false when the system refuses.</summary>
    static bool DefaultSignalAction(int signal) => Signal(signal, IntPtr.Zero) != new IntPtr(-1);

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    static extern IntPtr Signal(int signal, IntPtr handler);

#if NET9_0_OR_GREATER
    /// <summary>
    /// <c>raised-child &lt;path&gt; &lt;count&gt;</c>: the <c>UnhandledException</c> event is raised for an exception the
    /// application then handles and goes on (as a UI framework's dispatcher does through
    /// <see cref="System.Runtime.ExceptionServices.ExceptionHandling.RaiseAppDomainUnhandledExceptionEvent"/>), for longer
    /// than the shutdown timeout; then, as <c>exit-child ... return</c>, it logs <c>count</c> events while the writer is
    /// held and returns from Main without <c>Log.CloseAndFlush()</c>.
    /// </summary>
    static int RaisedChild(string path, int count)
    {
        RollingJsonSink? held = null;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => held?.ResumeWriter();
        var shutdownTimeout = TimeSpan.FromSeconds(2);
        var sink = RollingJsonLoggerConfigurationExtensions.CreateSink(path, new RollingJsonOptions
        {
            RollingInterval = RollingJsonInterval.Infinite,
            RetainedFileCountLimit = null,
            ShutdownTimeout = shutdownTimeout,
        });
        Log.Logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        var raised = System.Diagnostics.Stopwatch.StartNew();
        System.Runtime.ExceptionServices.ExceptionHandling.RaiseAppDomainUnhandledExceptionEvent(new InvalidOperationException("Raised child handled this"));
        // Not synchronisation: the application runs on past the shutdown timeout, the state under test.
        while (raised.Elapsed <= shutdownTimeout + TimeSpan.FromMilliseconds(500)) Thread.Sleep(100);
        sink.PauseWriter();
        held = sink;
        var payload = new string('x', 1000);
        for (var i = 0; i < count; i++) Log.Information("Raised child event {Seq} {Payload}", i, payload);
        Console.Out.WriteLine("logged");
        Console.Out.Flush();
        return 0;
    }
#endif

    /// <summary>
    /// <c>deep-child &lt;path&gt; &lt;value|exception&gt; &lt;compact|rendered|flat&gt; &lt;depth&gt;</c> logs one value built by
    /// hand nested <c>depth</c> deep (no destructuring limit applies), or an exception whose chain of inner exceptions is
    /// that deep, then one plain event, disposes the sink and prints "done".
    /// </summary>
    static int DeepChild(string path, string what, string formatterName, int depth)
    {
        IUtf8Formatter formatter = formatterName switch
        {
            "rendered" => new RenderedCompactJsonFormatter(),
            "flat" => new FlatJsonFormatter(),
            _ => new CompactJsonFormatter(),
        };
        LogEventPropertyValue value = new ScalarValue("leaf");
        Exception? exception = null;
        if (what == "exception")
        {
            exception = new InvalidOperationException("root");
            for (var i = 0; i < depth; i++) exception = new Exception("wrapped", exception);
        }
        else
        {
            for (var i = 0; i < depth; i++) value = new StructureValue([new LogEventProperty("Inner", value)]);
        }
        var parser = new MessageTemplateParser();
        using (var logger = new LoggerConfiguration().WriteTo.RollingJson(path, formatter).CreateLogger())
        {
            logger.Write(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, exception, parser.Parse("Deep {V}"), [new LogEventProperty("V", value)]));
            logger.Write(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, parser.Parse("After the deep event"), []));
        }
        Console.Out.WriteLine("done");
        return 0;
    }

    static int CultureChild(string folder)
    {
        using (var logger = new LoggerConfiguration()
                   .WriteTo.RollingJson(Path.Combine(folder, "clef-.json"), rollOnUtc: true)
                   .WriteTo.RollingJson(Path.Combine(folder, "flat-.json"), new FlatJsonFormatter(), rollOnUtc: true)
                   .CreateLogger())
        {
            var template = new MessageTemplateParser().Parse(
                "Paid {Total:0.00} of {Limit:N2} on {Day:d}, due {Due:0}, in {Elapsed:0.0} ms ({Ratio:P1}) at {When}");
            logger.Write(new LogEvent(new DateTimeOffset(2026, 11, 22, 10, 30, 15, 123, TimeSpan.FromHours(3)), LogEventLevel.Warning, null, template,
            [
                new LogEventProperty("Total", new ScalarValue(-1234.5m)),
                new LogEventProperty("Limit", new ScalarValue(1234567.891)),
                new LogEventProperty("Day", new ScalarValue(new DateOnly(2026, 11, 22))),
                new LogEventProperty("Due", new ScalarValue(new DateTime(2026, 12, 1))),
                new LogEventProperty("Elapsed", new ScalarValue(12.25)),
                new LogEventProperty("Ratio", new ScalarValue(0.5f)),
                new LogEventProperty("When", new ScalarValue(new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.FromHours(-5)))),
                new LogEventProperty("Span", new ScalarValue(TimeSpan.FromMilliseconds(-1500.5))),
            ]));
        }
        Console.Out.WriteLine(CultureInfo.CurrentCulture.Name);
        return 0;
    }
}
