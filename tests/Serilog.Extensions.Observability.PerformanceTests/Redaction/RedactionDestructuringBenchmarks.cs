using BenchmarkDotNet.Attributes;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.PerformanceTests.Redaction;

/// <summary>
/// Goal (issue 4): destructuring a 20-member object with Destructure.WithRedaction takes no longer than Serilog's own
/// destructuring of the same object without it (ratio at most 1.0). Both bind the same object as <c>{@Value}</c>; the
/// policy also masks its <c>Password</c> and <c>ApiKey</c> members.
/// </summary>
[MemoryDiagnoser]
public class RedactionDestructuringBenchmarks
{
    readonly TwentyMembers _value = new();
    Logger _plain = null!;
    Logger _redacting = null!;

    [GlobalSetup]
    public void Setup()
    {
        _plain = new LoggerConfiguration().CreateLogger();
        _redacting = new LoggerConfiguration().Destructure.WithRedaction().CreateLogger();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plain.Dispose();
        _redacting.Dispose();
    }

    [Benchmark(Baseline = true)]
    public LogEventProperty SerilogDestructuring()
    {
        _plain.BindProperty("Value", _value, destructureObjects: true, out var property);
        return property!;
    }

    [Benchmark]
    public LogEventProperty RedactionPolicy()
    {
        _redacting.BindProperty("Value", _value, destructureObjects: true, out var property);
        return property!;
    }

    public sealed class TwentyMembers
    {
        public int Id { get; set; } = 42;
        public string Name { get; set; } = "Ann Lee";
        public string Password { get; set; } = "hunter2";
        public string ApiKey { get; set; } = "key-123";
        public string Email { get; set; } = "ann@example.com";
        public int Age { get; set; } = 37;
        public bool Active { get; set; } = true;
        public decimal Balance { get; set; } = 1234.56m;
        public DateTime Created { get; set; } = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        public Guid Key { get; set; } = Guid.Parse("9d7c1e5a-9f44-4c39-8c4a-2a1b0e3f6a01");
        public string City { get; set; } = "Oslo";
        public string Country { get; set; } = "NO";
        public long Visits { get; set; } = 1_000_000;
        public double Score { get; set; } = 0.75;
        public DayOfWeek Day { get; set; } = DayOfWeek.Friday;
        public TimeSpan Session { get; set; } = TimeSpan.FromMinutes(5);
        public string? Notes { get; set; }
        public int? Level { get; set; } = 3;
        public string Plan { get; set; } = "pro";
        public string Locale { get; set; } = "en-GB";
    }
}
