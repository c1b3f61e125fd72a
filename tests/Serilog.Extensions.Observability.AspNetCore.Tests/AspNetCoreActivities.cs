using System.Diagnostics;

namespace Serilog.Extensions.Observability.AspNetCore.Tests;

/// <summary>
/// ASP.NET Core starts a request Activity only when something listens (a real app's logging provider does);
/// this assembly-wide listener stands in for that, so requests carry W3C trace and span ids.
/// </summary>
[SetUpFixture]
public sealed class AspNetCoreActivities
{
    ActivityListener? _listener;

    [OneTimeSetUp]
    public void Listen()
    {
        Activity.DefaultIdFormat = ActivityIdFormat.W3C;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
                || source.Name.StartsWith("System.Net.Http", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [OneTimeTearDown]
    public void Stop() => _listener?.Dispose();
}
