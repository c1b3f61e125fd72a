using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>Several loggers in one process, each with its own options: each writes only by its own.</summary>
public class SeveralLoggersTests
{
    sealed record Login(string User, string Password, string Loyalty);

    static string Run(string folder, Action<ObservabilityOptions> configure, Action<ILogger> log)
    {
        using (var logger = new LoggerConfiguration()
            .WithObservability(o =>
            {
                o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder, "app-.json"));
                configure(o);
            })
            .CreateLogger())
        {
            log(logger);
        }
        return string.Join('\n', Directory.GetFiles(folder).Select(File.ReadAllText));
    }

    [Test]
    public void LoggersWithDifferentRedactionRulesInParallelEachFollowTheirOwn()
    {
        using var folder = TempFolder.ForCaller();
        var results = new string[16];
        Parallel.For(0, results.Length, i =>
        {
            var strict = i % 2 == 0;
            results[i] = Run(Path.Combine(folder.Path, i.ToString()),
                o => o.Service("svc-" + i).Redaction(r =>
                {
                    if (strict) r.AdditionalKeys.Add("Loyalty");
                    else r.ExcludedKeys.Add("Password");
                }),
                logger =>
                {
                    for (var n = 0; n < 50; n++)
                    {
                        logger.Information("Login {@Login} {Password} {Loyalty}", new Login("u", "pw-" + i, "pin-" + i), "pw-" + i, "pin-" + i);
                        LogContext_Push(logger, i);
                    }
                });
        });

        for (var i = 0; i < results.Length; i++)
        {
            Assert.That(results[i], Does.Contain("svc-" + i));
            for (var j = 0; j < results.Length; j++)
                if (j != i) Assert.That(results[i], Does.Not.Contain("svc-" + j + "\""));
            if (i % 2 == 0)
            {
                Assert.That(results[i], Does.Not.Contain("pw-" + i), $"logger {i} masks Password");
                Assert.That(results[i], Does.Not.Contain("pin-" + i), $"logger {i} masks Loyalty");
            }
            else
            {
                Assert.That(results[i], Does.Contain("pw-" + i), $"logger {i} excludes Password");
                Assert.That(results[i], Does.Contain("pin-" + i), $"logger {i} does not mask Loyalty");
            }
        }
    }

    static void LogContext_Push(ILogger logger, int i)
    {
        using (Serilog.Context.LogContext.PushProperty("Password", "ctx-pw-" + i))
            logger.Information("In context");
    }

    [Test]
    public void CallingWithObservabilityAgainOnAConfigurationWhoseLoggerIsWritingThrowsAndLeavesThatLoggerAlone()
    {
        // Another logger is attempted from the same configuration (CreateLogger() would refuse it, but only after
        // WithObservability() ran): the live logger must keep its own rules and sinks.
        using var folder = TempFolder.ForCaller();
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration()
            .WithObservability(o => o.Console(ObservabilityConsoleFormat.None).RollingJson(Path.Combine(folder.Path, "app-.json")));
        configuration.WriteTo.Sink(sink);
        using (var logger = configuration.CreateLogger())
        {
            logger.Information("First {Password}", "hunter1");

            var thrown = Assert.Throws<InvalidOperationException>(() =>
                configuration.WithObservability(o => o.Redaction(r => r.ExcludedKeys.Add("Password"))));
            Assert.That(thrown!.Message, Does.Contain("new LoggerConfiguration"));

            logger.Information("Second {Password}", "hunter2");
        }

        Assert.That(sink.Events.Select(e => e.Properties["Password"].ToString()), Is.EqualTo(new[] { "\"[REDACTED]\"", "\"[REDACTED]\"" }));
        var written = string.Join('\n', Directory.GetFiles(folder.Path).Select(File.ReadAllText));
        Assert.That(written, Does.Contain("Second").And.Not.Contain("hunter"), "the logger's file sink is still open and masks");
    }
}
