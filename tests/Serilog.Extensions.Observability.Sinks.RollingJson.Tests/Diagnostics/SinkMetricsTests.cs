using System.Diagnostics.Metrics;
using Serilog.Extensions.Observability.Tests.Support;
using static Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support.Sinks;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Diagnostics;

/// <summary>The kinds of the sink's instruments, which decide how OpenTelemetry exports them.</summary>
[NonParallelizable]
public class SinkMetricsTests
{
    const string MeterName = "Serilog.Extensions.Observability.Sinks.RollingJson";

    [Test]
    public void TheQueueLengthIsAnObservableUpDownCounterSoExportersMaySumItOverSinksAndProcesses()
    {
        // OpenTelemetry's instrument guidance: the number of items in a queue is additive (the value is already the sum
        // over the process's sinks), so it is an UpDownCounter, exported as a non-monotonic sum; a gauge is exported as
        // a value that does not add up (a temperature). The SDK itself is not referenced here: it brings
        // Microsoft.Extensions.Configuration.Binder 10, which changes what the appsettings tests of this project bind.
        var instruments = new Dictionary<string, Instrument>();
        long queueLength = -1;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name != MeterName) return;
            lock (instruments) instruments[instrument.Name] = instrument;
            if (instrument.Name == "serilog.rolling_json.queue.length") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => queueLength = value);
        listener.Start();

        using var folder = TempFolder.ForCaller();
        var sink = Create(folder.AllocateFilename());
        try
        {
            sink.PauseWriter();
            for (var i = 0; i < 3; i++) sink.Emit(Event(i));
            listener.RecordObservableInstruments();
        }
        finally
        {
            sink.ResumeWriter();
            sink.Dispose();
        }

        Instrument queue;
        lock (instruments) queue = instruments["serilog.rolling_json.queue.length"];
        Assert.That((queue.GetType().Name, queue.Unit, queueLength), Is.EqualTo(("ObservableUpDownCounter`1", "{event}", 3L)));
        lock (instruments)
            Assert.That(instruments.Values.Where(i => i.Name != queue.Name).Select(i => i.GetType().Name), Is.All.EqualTo("Counter`1"));
    }
}
