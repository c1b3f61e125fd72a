using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serilog.Extensions.Observability.AspNetCore.Tests;

/// <summary>
/// The entry point of this assembly when a test starts it as a child process; the test runner never calls it.
/// <c>worker-host &lt;folder&gt;</c> runs a generic host with <c>AddObservability()</c> and a RollingJson file in the
/// folder: a <see cref="BackgroundService"/> logs numbered events in a loop (saying "ready" once some are logged) until
/// the host stops, and another hosted service logs in its <c>StopAsync</c>. It ends when the host does (SIGTERM).
/// <c>failing-host &lt;folder&gt; catch|throw</c> runs the same host with a hosted service whose <c>StartAsync</c> throws:
/// <c>catch</c> logs it with <c>Log.Fatal</c> as Serilog's usual Program.cs does, but returns without
/// <c>Log.CloseAndFlush()</c>; <c>throw</c> catches nothing, and the exception ends the process.
/// </summary>
static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 3 && args[0] == "failing-host") return FailingHost(args[1], args[2] == "catch");
        if (args.Length != 2 || args[0] != "worker-host")
        {
            Console.Error.WriteLine("usage: worker-host <folder> | failing-host <folder> catch|throw");
            return 2;
        }
        var builder = Builder(args[1]);
        // Hosted services stop in the reverse order: this one's StopAsync runs after the loop has stopped.
        builder.Services.AddHostedService<StopLogger>();
        builder.Services.AddHostedService<Loop>();
        using var host = builder.Build();
        host.Run();
        return 0;
    }

    static int FailingHost(string folder, bool catchIt)
    {
        var builder = Builder(folder);
        builder.Services.AddHostedService<FailsToStart>();
        if (!catchIt)
        {
            using var failing = builder.Build();
            failing.Run();
            return 0;
        }
        try
        {
            using var host = builder.Build();
            host.Run();
            return 0;
        }
        catch (Exception ex)
        {
            Log.Fatal(ex, "Host terminated unexpectedly");
            return 1;
        }
    }

    static HostApplicationBuilder Builder(string folder)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", ApplicationName = "exit-host" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Information",
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder, "app-.json"),
            ["Serilog:WriteTo:0:Args:rollingInterval"] = "Infinite",
            // The loop outruns the writer: without this its queue would drop events by design, not at the end.
            ["Serilog:WriteTo:0:Args:blockWhenFull"] = "true",
        });
        builder.AddObservability();
        return builder;
    }

    sealed class FailsToStart : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("Failing host cannot start");

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    sealed class Loop(ILogger<Loop> log) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            long count = 0;
            while (!stoppingToken.IsCancellationRequested)
            {
                log.LogInformation("Loop event {Seq}", count++);
                if (count == 1_000)
                {
                    Console.Out.WriteLine("ready");
                    Console.Out.Flush();
                }
                if (count % 64 == 0) await Task.Yield();
            }
            log.LogInformation("Loop stopped after {Count} events", count);
        }
    }

    sealed class StopLogger(ILogger<StopLogger> log) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            log.LogInformation("Stop logger stopping");
            return Task.CompletedTask;
        }
    }
}
