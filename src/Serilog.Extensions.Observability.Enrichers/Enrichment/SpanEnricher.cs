using System.Diagnostics;
using System.Globalization;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>
/// Adds <c>TraceId</c>, <c>SpanId</c> and <c>ParentSpanId</c> of <see cref="Activity.Current"/>, and on request its
/// <c>OperationName</c>, <c>Baggage</c> and <c>Tags</c>.
/// </summary>
sealed class SpanEnricher : ILogEventEnricher
{
    const string Unprintable = "<unprintable>";

    readonly bool _includeOperationName;
    readonly bool _includeBaggage;
    readonly bool _includeTags;

    public SpanEnricher(bool includeOperationName, bool includeBaggage, bool includeTags)
    {
        _includeOperationName = includeOperationName;
        _includeBaggage = includeBaggage;
        _includeTags = includeTags;
    }

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        try
        {
            // The ids of the activity the event was written in (Serilog records its span id on the event), which
            // in the steady state also saves a second async-local read per event.
            var properties = ActivityProperties.ForEvent(logEvent, out var activity);
            if (properties is null) return;

            if (properties.TraceId is { } traceId) logEvent.AddPropertyIfAbsent(traceId);
            if (properties.SpanId is { } spanId) logEvent.AddPropertyIfAbsent(spanId);
            if (properties.ParentSpanId is { } parentSpanId) logEvent.AddPropertyIfAbsent(parentSpanId);
            if (_includeOperationName && properties.OperationName is { } operationName) logEvent.AddPropertyIfAbsent(operationName);

            // Baggage and tags may change while the activity runs, so they are read on every event, and only from the
            // activity whose ids the event got: another current activity's would be written beside them.
            if (!_includeBaggage && !_includeTags) return;
            if (activity is null)
            {
                activity = Activity.Current;
                if (activity is null || !properties.Describes(activity)) return;
            }
            if (_includeBaggage) AddBaggage(logEvent, activity);
            if (_includeTags) AddTags(logEvent, activity);
        }
        catch (Exception ex)
        {
            EnricherFailures.Report(nameof(SpanEnricher), ex);
        }
    }

    static void AddBaggage(LogEvent logEvent, Activity activity)
    {
        if (logEvent.Properties.ContainsKey(SpanPropertyNames.Baggage)) return;
        List<KeyValuePair<ScalarValue, LogEventPropertyValue>>? entries = null;
        HashSet<string>? seen = null;
        // Activity.Baggage lists the nearest value of a key first; an ancestor's value for the same key is shadowed.
        foreach (var item in activity.Baggage)
        {
            seen ??= new HashSet<string>(StringComparer.Ordinal);
            if (!seen.Add(item.Key)) continue;
            entries ??= new List<KeyValuePair<ScalarValue, LogEventPropertyValue>>();
            entries.Add(new KeyValuePair<ScalarValue, LogEventPropertyValue>(new ScalarValue(item.Key), new ScalarValue(item.Value)));
        }

        if (entries is not null)
            logEvent.AddPropertyIfAbsent(new LogEventProperty(SpanPropertyNames.Baggage, new DictionaryValue(entries)));
    }

    static void AddTags(LogEvent logEvent, Activity activity)
    {
        if (logEvent.Properties.ContainsKey(SpanPropertyNames.Tags)) return;
        List<KeyValuePair<ScalarValue, LogEventPropertyValue>>? entries = null;
        HashSet<string>? seen = null;
        var elementsLeft = MaxTagElements;
        foreach (var tag in activity.TagObjects)
        {
            entries ??= new List<KeyValuePair<ScalarValue, LogEventPropertyValue>>();
            // Activity.AddTag allows a key twice; a dictionary does not: the first value is kept, as for baggage.
            if (IsRepeated(tag.Key, entries, ref seen)) continue;
            entries.Add(new KeyValuePair<ScalarValue, LogEventPropertyValue>(new ScalarValue(tag.Key), TagValue(tag.Value, 0, ref elementsLeft)));
        }

        if (elementsLeft < 0)
            ElementsReport.WriteLine("WithSpan: an activity's array tags held more than {1} elements in all; the rest were left out of Tags ({0} more since the last report)", MaxTagElements);

        if (entries is not null)
            logEvent.AddPropertyIfAbsent(new LogEventProperty(SpanPropertyNames.Tags, new DictionaryValue(entries)));
    }

    /// <summary>Whether <paramref name="key"/> is already an entry: a scan for the usual few tags, a set beyond.</summary>
    static bool IsRepeated(string key, List<KeyValuePair<ScalarValue, LogEventPropertyValue>> entries, ref HashSet<string>? seen)
    {
        if (seen is null && entries.Count < 16)
        {
            foreach (var entry in entries)
                if (string.Equals((string?)entry.Key.Value, key, StringComparison.Ordinal)) return true;
            return false;
        }
        if (seen is null)
        {
            seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in entries) seen.Add((string)entry.Key.Value!);
        }
        return !seen.Add(key);
    }

    // Arrays within arrays deeper than this (an array that holds itself) are cut, as Serilog cuts deep objects.
    const int MaxTagDepth = 10;

    // The depth cut alone does not bound the work: an array that holds itself w times is w^10 values, on every event.
    // Past this many array elements in all of an event's tags, the rest are left out.
    internal const int MaxTagElements = 1024;

    static readonly SelfLogThrottle ElementsReport = new();

    /// <summary>The tag's value; <paramref name="elementsLeft"/> goes below zero when array elements were left out.</summary>
    static LogEventPropertyValue TagValue(object? value, int depth, ref int elementsLeft)
    {
        switch (value)
        {
            case null:
            case string:
            case bool:
            case char:
            case byte or sbyte or short or ushort or int or uint or long or ulong:
            case float or double or decimal:
            case DateTime or DateTimeOffset or TimeSpan or Guid:
                return new ScalarValue(value);
            case Array array:
                if (depth >= MaxTagDepth) return new ScalarValue(null);
                // Enumerated, not indexed: a multi-dimensional array lists every element in order.
                var elements = new List<LogEventPropertyValue>(Math.Min(array.Length, Math.Max(elementsLeft, 0)));
                foreach (var element in array)
                {
                    if (elementsLeft <= 0)
                    {
                        elementsLeft = -1;
                        break;
                    }
                    elementsLeft--;
                    elements.Add(TagValue(element, depth + 1, ref elementsLeft));
                }
                return new SequenceValue(elements);
            default:
                // Rendered now, under our catch: a ToString() that throws must not fail a sink later. In the invariant
                // culture, as trace exporters render tags: the thread's culture (a request's, under RequestLocalization)
                // would turn a DateOnly into a Buddhist or Persian date and 1.5 into "1,5".
                try
                {
                    return new ScalarValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                }
                catch (Exception)
                {
                    return new ScalarValue(Unprintable);
                }
        }
    }
}
