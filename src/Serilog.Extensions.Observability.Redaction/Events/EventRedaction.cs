using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Events;

/// <summary>The event-level pass shared by the enricher and the sink wrapper.</summary>
static class EventRedaction
{
    /// <summary>A replacement for each property that needs one; <see langword="null"/> (nothing allocated) when none does.</summary>
    public static List<LogEventProperty>? CollectChanges(Redactor redactor, LogEvent logEvent)
    {
        List<LogEventProperty>? changes = null;
        var properties = logEvent.Properties;
        if (properties.GetType() == typeof(Dictionary<string, LogEventPropertyValue>))
        {
            // The concrete type's struct enumerator (the interface's would allocate on every event), and the common
            // case decided inline without a call: a plain scalar under a name known safe, either because it is the
            // template's next expected name (same instance, so one comparison) or an instance found safe before.
            var expected = redactor.TemplateNames.For(logEvent.MessageTemplate);
            var next = 0;
            foreach (var property in Unsafe.As<Dictionary<string, LogEventPropertyValue>>(properties))
            {
                var name = property.Key;
                var expectedName = false;
                if ((uint)next < (uint)expected.Length && ReferenceEquals(expected[next], name))
                {
                    expectedName = true;
                    next++;
                }

                if (redactor.IsPlainScalar(property.Value) && (expectedName || redactor.Keys.IsKnownSafeName(name))) continue;
                Collect(redactor, name, property.Value, ref changes);
            }
        }
        else
        {
            CollectEach(redactor, properties, ref changes);
        }
        return changes;
    }

    /// <summary>Any other dictionary type: through the interface. Apart, so its try/finally stays out of the hot loop.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void CollectEach(Redactor redactor, IReadOnlyDictionary<string, LogEventPropertyValue> properties, ref List<LogEventProperty>? changes)
    {
        foreach (var property in properties) Collect(redactor, property.Key, property.Value, ref changes);
    }

    static void Collect(Redactor redactor, string name, LogEventPropertyValue value, ref List<LogEventProperty>? changes)
    {
        var replacement = redactor.RedactProperty(name, value);
        if (replacement is not null) (changes ??= new List<LogEventProperty>()).Add(new LogEventProperty(name, replacement));
    }

    /// <summary>The fail-closed fallback: every property replaced by the mask.</summary>
    public static List<LogEventProperty> MaskAll(Redactor redactor, LogEvent logEvent)
    {
        var changes = new List<LogEventProperty>();
        foreach (var property in logEvent.Properties) changes.Add(new LogEventProperty(property.Key, redactor.Masker.Fixed));
        return changes;
    }
}
