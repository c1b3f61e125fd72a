namespace Serilog.Extensions.Observability.Tests.Support;

/// <summary>
/// A fixture whose every test runs with a SelfLog output that throws (<see cref="TemporarySelfLog.Failing"/>). SelfLog is
/// process-global: a derived fixture must be <c>[NonParallelizable]</c>.
/// </summary>
public abstract class FailingSelfLogFixture
{
    TemporarySelfLog? _selfLog;

    [SetUp]
    public void ThrowFromSelfLog() => _selfLog = TemporarySelfLog.Failing();

    [TearDown]
    public void RestoreSelfLog() => _selfLog?.Dispose();
}
