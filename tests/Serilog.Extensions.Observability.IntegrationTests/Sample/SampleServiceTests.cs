using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Serilog.Extensions.Observability.IntegrationTests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.IntegrationTests.Sample;

/// <summary>The README's first command: the sample starts, drives itself, reports and exits 0.</summary>
public class SampleServiceTests
{
    [Test]
    public async Task TheSampleRunsItsScriptWritesRedactedCorrelatedJsonAndExitsZero()
    {
        var sampleDll = BuiltSample();
        using var workDir = TempFolder.ForCaller();

        var result = await ChildProcess.RunAsync("dotnet", $"\"{sampleDll}\"", workDir.Path, TimeSpan.FromMinutes(2));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("All requests answered as expected."));
        Assert.That(result.Output, Does.Contain("demo-order-7"));
        Assert.That(result.Output, Does.Not.Contain("hunter2-not-logged").And.Not.Contain("sk-live-not-logged").And.Not.Contain("eyJhbGciOiJIUzI1NiJ9"));

        var files = Directory.GetFiles(Path.Combine(workDir.Path, "logs"), "*.json");
        Assert.That(files, Has.Length.EqualTo(2), "A CLEF file and a flat JSON file under logs/ of the working directory.");
        var events = new List<JsonElement>();
        foreach (var file in files)
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.That(text, Does.Not.Contain("hunter2-not-logged").And.Not.Contain("sk-live-not-logged").And.Not.Contain("eyJhbGciOiJIUzI1NiJ9"),
                $"A secret reached {Path.GetFileName(file)}.");
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                events.Add(JsonDocument.Parse(line).RootElement.Clone());
        }

        var clef = events.Where(e => e.TryGetProperty("@t", out _)).ToList();
        string? Prop(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        // One correlation id across /orders/7 and the /inventory/7 call it made on itself, and one trace.
        var order = clef.Where(e => Prop(e, "CorrelationId") == "demo-order-7").ToList();
        Assert.That(order.Select(e => Prop(e, "RequestPath")), Does.Contain("/orders/7").And.Contain("/inventory/7"));
        Assert.That(order.Select(e => Prop(e, "@tr")).Distinct().Count(), Is.EqualTo(1));

        // The slow LLM stage is a warning; /boom is one error event; /health is not logged.
        Assert.That(clef.Any(e => Prop(e, "@l") == "Warning" && Prop(e, "Stage") == "llm" && Prop(e, "CorrelationId") == "demo-slow-llm"), Is.True);
        Assert.That(clef.Count(e => Prop(e, "@l") == "Error"), Is.EqualTo(1));
        Assert.That(clef.Any(e => Prop(e, "RequestPath") == "/health" && Prop(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"), Is.False);

        var flat = events.Where(e => e.TryGetProperty("timestamp", out _)).ToList();
        Assert.That(flat.Any(e => Prop(e, "correlation_id") == "demo-order-7"), Is.True);
    }

    [Test]
    public async Task EnvironmentVariablesOverrideTheSamplesAppsettingsAsInAnyAspNetCoreApp()
    {
        // A container's way to send the files to a writable volume: Serilog__WriteTo__...__path, over appsettings.json.
        var sampleDll = BuiltSample();
        using var workDir = TempFolder.ForCaller();
        var volume = Directory.CreateDirectory(Path.Combine(workDir.Path, "volume")).FullName;
        var environment = new Dictionary<string, string>
        {
            ["Serilog__WriteTo__0__Args__configure__1__Args__path"] = Path.Combine(volume, "flat-.json"),
        };

        var result = await ChildProcess.RunAsync("dotnet", $"\"{sampleDll}\"", workDir.Path, TimeSpan.FromMinutes(2), environment);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(Directory.GetFiles(volume, "flat-*.json"), Has.Length.EqualTo(1), "The flat file goes where the environment variable says.");
        Assert.That(Directory.GetFiles(Path.Combine(workDir.Path, "logs"), "sample-flat-*.json"), Is.Empty);
    }

    [Test]
    public async Task TheAccountShowsLinesOfThisRunEvenWhenLogsOfEarlierRunsAreThere()
    {
        var sampleDll = BuiltSample();
        using var workDir = TempFolder.ForCaller();
        // What a run on an earlier day leaves behind (the sample keeps seven days of files), and an earlier run of today.
        var logs = Directory.CreateDirectory(Path.Combine(workDir.Path, "logs")).FullName;
        const string olderDay = """{"@t":"2020-01-01T00:00:00.0000000Z","@mt":"Order {OrderId}","OrderId":7,"CorrelationId":"demo-order-7","Marker":"earlier-day-run"}""";
        await File.WriteAllTextAsync(Path.Combine(logs, "sample-20200101.json"), olderDay + "\n");
        var today = Path.Combine(logs, $"sample-{DateTime.Now:yyyyMMdd}.json");
        const string earlierToday = """{"@t":"2020-01-01T00:00:00.0000000Z","@mt":"Order {OrderId}","OrderId":7,"CorrelationId":"demo-order-7","Marker":"earlier-run-today"}""";
        await File.WriteAllTextAsync(today, string.Concat(Enumerable.Repeat(earlierToday + "\n", 3)));

        var result = await ChildProcess.RunAsync("dotnet", $"\"{sampleDll}\"", workDir.Path, TimeSpan.FromMinutes(2));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var account = result.Output[result.Output.IndexOf("=== Serilog.Extensions.Observability sample ===", StringComparison.Ordinal)..];
        Assert.That(account, Does.Not.Contain("earlier-day-run").And.Not.Contain("earlier-run-today"), "The account shows lines of another run.");
        var shown = account.Split('\n').Where(l => l.StartsWith("  {", StringComparison.Ordinal)).ToList();
        Assert.That(shown, Is.Not.Empty, account);
        Assert.That(shown, Has.All.Contain("demo-order-7"));
    }

    [Test]
    public async Task ServingStopsOnSigtermWithEveryEventOnDisk()
    {
        // Not [Platform(Exclude = "Win")]: NUnit upper-cases the name in the current culture, and under tr-TR "WİN" is no
        // platform it knows, so the test failed ("Invalid platform name: Win") on a machine with a Turkish locale.
        if (OperatingSystem.IsWindows()) Assert.Ignore("Sends SIGTERM, as a container runtime or systemd does.");
        using var workDir = TempFolder.ForCaller();

        var exitCode = await ServeAsync(workDir.Path, async client =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/5") { Headers = { { "X-Correlation-ID", "serve-sigterm-1" } } };
            using var response = await client.SendAsync(request);
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
        });

        Assert.That(exitCode, Is.EqualTo(0));
        var files = Directory.GetFiles(Path.Combine(workDir.Path, "logs"), "*.json");
        Assert.That(files, Has.Length.EqualTo(2));
        foreach (var file in files)
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.That(text, Does.Contain("serve-sigterm-1"), Path.GetFileName(file));
            Assert.That(text, Does.Contain("Application is shutting down"), $"The last events of {Path.GetFileName(file)} were lost.");
        }
    }

    [Test]
    public async Task ARequestPathWithALineBreakOrAnEscapeCannotWriteALineOfItsOwnOnTheConsole()
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore("Sends SIGTERM, as a container runtime or systemd does.");
        using var workDir = TempFolder.ForCaller();
        var output = new StringBuilder();

        // Kestrel decodes the path: the completion event's RequestPath is "/a\r\n[12:00:00 INF] forged\u001b[31m".
        var exitCode = await ServeAsync(workDir.Path, async client =>
        {
            using var response = await client.GetAsync("/a%0D%0A[12:00:00%20INF]%20forged%1B[31m");
            Assert.That((int)response.StatusCode, Is.EqualTo(404));
        }, output);

        Assert.That(exitCode, Is.EqualTo(0));
        var text = output.ToString();
        var lines = text.Split('\n');
        Assert.That(lines, Has.None.StartWith("[12:00:00 INF] forged"), text);
        // Ordinal: a culture-aware comparison ignores ESC, and finds it in any text.
        Assert.That(text.Contains('\u001b', StringComparison.Ordinal), Is.False, "An escape sequence reached the terminal.");
        var forged = lines.Where(l => l.Contains("forged", StringComparison.Ordinal)).ToList();
        Assert.That(forged, Has.Count.EqualTo(1), text);
        Assert.That(forged[0], Does.Contain(@"HTTP GET /a\r\n[12:00:00 INF] forged\u001b[31m responded 404"));
    }

    /// <summary>
    /// Runs the sample with <c>--serve</c> on a free loopback port, sends it <paramref name="requests"/>, stops it with
    /// SIGTERM and returns its exit code; its standard output goes to <paramref name="output"/>, if given, whole once this returns.
    /// </summary>
    static async Task<int> ServeAsync(string workDir, Func<HttpClient, Task> requests, StringBuilder? output = null)
    {
        var sampleDll = BuiltSample();
        var info = new ProcessStartInfo("dotnet", $"\"{sampleDll}\" --serve --urls http://127.0.0.1:0")
        {
            WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        info.Environment.Remove("DOTNET_ENVIRONMENT");
        using var process = Process.Start(info)!;
        var serving = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            if (output is not null)
                lock (output) output.Append(e.Data).Append('\n');
            if (e.Data.IndexOf("Serving on ", StringComparison.Ordinal) is >= 0 and var at)
                serving.TrySetResult(new Uri(e.Data[(at + "Serving on ".Length)..].Split(' ')[0]));
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await serving.Task.WaitAsync(TimeSpan.FromMinutes(1));
            using (var client = new HttpClient { BaseAddress = address })
                await requests(client);

            using (var kill = Process.Start("kill", $"-TERM {process.Id}")) await kill.WaitForExitAsync();
            // Also waits for the redirected output to reach its end.
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        return process.ExitCode;
    }

    /// <summary>The sample's build output, which the test runs; fails with what to do when it is missing.</summary>
    static string BuiltSample()
    {
        var sampleDll = Path.Combine(Repository.Root, "samples", "Serilog.Extensions.Observability.Sample", "bin", Repository.Configuration, "net10.0",
            "Serilog.Extensions.Observability.Sample.dll");
        Assert.That(File.Exists(sampleDll), Is.True, $"Build the solution first: {sampleDll} is missing.");
        return sampleDll;
    }
}
