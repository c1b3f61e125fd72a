using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;

namespace Serilog.Extensions.Observability.Timing.Internal;

/// <summary>
/// A histogram that advises its bucket boundaries, created through reflection. The net8.0 build compiles against the
/// inbox System.Diagnostics.DiagnosticSource 8, which has no <c>InstrumentAdvice</c>; but an application that loads
/// version 9 or later (OpenTelemetry 1.10 and later reference it on .NET 8) has the overload, and without the advice
/// its SDK puts every stage under five seconds into one bucket. Compiled on every target so that it is tested.
/// </summary>
static class AdvisedHistogram
{
    const string AdviceTypeName = "System.Diagnostics.Metrics.InstrumentAdvice`1, System.Diagnostics.DiagnosticSource";

    /// <summary>
    /// The histogram created with advice, or <see langword="null"/> when the loaded DiagnosticSource cannot advise
    /// (or the trimmer removed what this needs): then the caller creates it without.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075",
        Justification = "A member the trimmer removed is not found: the histogram is then created without advice.")]
    [UnconditionalSuppressMessage("Trimming", "IL2072",
        Justification = "A constructor the trimmer removed is not found: the histogram is then created without advice.")]
    [UnconditionalSuppressMessage("Trimming", "IL2060",
        Justification = "Meter.CreateHistogram<T> puts no trimming requirement on T.")]
    public static Histogram<double>? TryCreate(Meter meter, string name, string unit, string description, double[] boundaries)
    {
        try
        {
            var adviceDefinition = Type.GetType(AdviceTypeName, throwOnError: false);
            if (adviceDefinition is null) return null;
            var adviceType = adviceDefinition.MakeGenericType(typeof(double));
            var boundariesProperty = adviceType.GetProperty("HistogramBucketBoundaries");
            if (boundariesProperty is null || !boundariesProperty.CanWrite) return null;

            foreach (var method in typeof(Meter).GetMethods())
            {
                if (method.Name != nameof(Meter.CreateHistogram) || !method.IsGenericMethodDefinition) continue;
                var parameters = method.GetParameters();
                if (parameters.Length != 5 || parameters[4].ParameterType.IsGenericType is false
                    || parameters[4].ParameterType.GetGenericTypeDefinition() != adviceDefinition) continue;

                var advice = Activator.CreateInstance(adviceType);
                boundariesProperty.SetValue(advice, boundaries.Clone());
                return method.MakeGenericMethod(typeof(double)).Invoke(meter, [name, unit, description, null, advice]) as Histogram<double>;
            }
        }
        catch (Exception ex)
        {
            SafeSelfLog.WriteLine("{0}: the histogram {1} could not be created with its bucket advice and is created without: {2}",
                TimingDiagnostics.Name, name, ex);
        }
        return null;
    }
}
