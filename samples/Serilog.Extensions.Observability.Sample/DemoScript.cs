using System.Net.Http.Json;
using System.Text.Json;

namespace Serilog.Extensions.Observability.Sample;

sealed record DemoStep(string Request, int Status, string? CorrelationId, string? Note);

sealed record DemoReport(IReadOnlyList<DemoStep> Steps, bool Succeeded, DateTimeOffset Started);

/// <summary>The requests the sample sends to itself, and the account it prints afterwards.</summary>
static class DemoScript
{
    public static async Task<DemoReport> RunAsync(Uri address)
    {
        var started = DateTimeOffset.UtcNow;
        using var client = new HttpClient { BaseAddress = address };
        var steps = new List<DemoStep>();
        var ok = true;

        async Task Send(HttpRequestMessage request, int expected, Func<HttpResponseMessage, Task<string?>>? note = null)
        {
            using var response = await client.SendAsync(request);
            var id = response.Headers.TryGetValues("X-Correlation-ID", out var values) ? values.First() : null;
            steps.Add(new DemoStep($"{request.Method} {request.RequestUri}", (int)response.StatusCode, id, note is null ? null : await note(response)));
            ok &= (int)response.StatusCode == expected;
        }

        static async Task<string?> Stages(HttpResponseMessage response)
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return string.Join(", ", json.RootElement.GetProperty("stages").EnumerateObject().Select(p => $"{p.Name} {p.Value.GetDouble():0} ms"));
        }

        await Send(new HttpRequestMessage(HttpMethod.Post, "/voice/turn"), 200, Stages);
        await Send(new HttpRequestMessage(HttpMethod.Post, "/voice/turn?slow=llm") { Headers = { { "X-Correlation-ID", "demo-slow-llm" } } }, 200, Stages);
        await Send(new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = JsonContent.Create(new LoginRequest("ann", "hunter2-not-logged", "sk-live-not-logged")),
            Headers = { { "Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl" } },
        }, 401, _ => Task.FromResult<string?>("password, API key and bearer token masked in every output"));
        await Send(new HttpRequestMessage(HttpMethod.Get, "/orders/7") { Headers = { { "X-Correlation-ID", "demo-order-7" } } }, 200,
            _ => Task.FromResult<string?>("called /inventory/7 on itself with the same correlation id"));
        await Send(new HttpRequestMessage(HttpMethod.Get, "/boom"), 500, _ => Task.FromResult<string?>("one error event; the id is on the 500 response"));
        await Send(new HttpRequestMessage(HttpMethod.Get, "/health"), 200, _ => Task.FromResult<string?>("excluded from request logging"));
        await Send(new HttpRequestMessage(HttpMethod.Get, "/orders/8") { Headers = { { "X-Correlation-ID", "bad id\twith tab" } } }, 200,
            _ => Task.FromResult<string?>("hostile header replaced, never echoed"));

        return new DemoReport(steps, ok, started);
    }

    public static void PrintAccount(DemoReport report, string logFolder)
    {
        Console.WriteLine();
        Console.WriteLine("=== Serilog.Extensions.Observability sample ===");
        foreach (var step in report.Steps)
            Console.WriteLine($"{step.Request,-28} -> {step.Status}  correlation id {step.CorrelationId ?? "(none)"}{(step.Note is null ? "" : "  | " + step.Note)}");

        Console.WriteLine();
        var files = Directory.Exists(logFolder) ? Directory.GetFiles(logFolder, "*.json").OrderBy(f => f).ToArray() : [];
        Console.WriteLine($"JSON log files in {logFolder}:");
        foreach (var file in files)
            Console.WriteLine($"  {Path.GetFileName(file)} ({new FileInfo(file).Length} bytes)");

        // logs/ keeps earlier runs (seven days of files, and today's file is appended to), which use the same ids:
        // only lines written since this run started are shown.
        var clef = files.Where(f => !Path.GetFileName(f).Contains("flat", StringComparison.Ordinal)).ToArray();
        if (clef.Length > 0)
        {
            Console.WriteLine();
            Console.WriteLine("A few CLEF lines of this run (correlation id demo-order-7):");
            foreach (var line in clef.SelectMany(File.ReadLines)
                         .Where(l => l.Contains("demo-order-7", StringComparison.Ordinal) && WrittenSince(l, report.Started)).Take(3))
                Console.WriteLine("  " + line);
        }

        Console.WriteLine();
        Console.WriteLine(report.Succeeded ? "All requests answered as expected." : "Some requests did not answer as expected.");
    }

    static bool WrittenSince(string clefLine, DateTimeOffset started)
    {
        try
        {
            using var json = JsonDocument.Parse(clefLine);
            return json.RootElement.TryGetProperty("@t", out var t) && t.TryGetDateTimeOffset(out var timestamp) && timestamp >= started;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
