using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Attributes;
using Serilog.Extensions.Observability.Redaction.Core;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Destructuring;

/// <summary>
/// Destructures objects as Serilog does, with sensitive members and keys masked and <see cref="NotLoggedAttribute"/>
/// members left out. Every child goes back through the factory, so Serilog's depth, string-length and policy chain
/// apply to it exactly as without this policy; collections are cut at Serilog's collection limit
/// (<see cref="CollectionLimit"/>). Getters are compiled once per type and cached in this instance (weakly for types of collectible assemblies, which may unload).
/// </summary>
sealed class RedactingDestructuringPolicy : IDestructuringPolicy
{
    const string AccessorThrew = "The property accessor threw an exception: ";
    const string CaptureThrew = "Capturing the property value threw an exception: ";

    /// <summary>
    /// A getter or a capture that throws does so on every event that holds its object: reported once per interval, the
    /// exception's type only (its message may quote a value the detectors would have masked in the event).
    /// </summary>
    internal static readonly SelfLogThrottle AccessorReport = new();

    internal static readonly SelfLogThrottle CaptureReport = new();

    readonly Redactor _redactor;
    readonly ConcurrentDictionary<Type, TypeShape> _shapes = new();

    /// <summary>
    /// Shapes of types in collectible assemblies (plugins, scripts), held only as long as their type lives: the logger
    /// outlives them, and a strong reference would keep their assembly from unloading.
    /// </summary>
    readonly ConditionalWeakTable<Type, TypeShape> _collectibleShapes = new();

    readonly Func<Type, TypeShape> _buildShape;
    readonly ConditionalWeakTable<Type, TypeShape>.CreateValueCallback _buildCollectibleShape;
    readonly CollectionLimit _limit = new();

    public RedactingDestructuringPolicy(Redactor redactor)
    {
        _redactor = redactor;
        _buildShape = type => TypeShape.For(type, _redactor.Keys);
        _buildCollectibleShape = type => TypeShape.For(type, _redactor.Keys);
    }

    public bool TryDestructure(object value, ILogEventPropertyValueFactory propertyValueFactory, out LogEventPropertyValue result)
    {
        if (value is CollectionLimit.Probe)
        {
            result = null!;
            return false;
        }

        try
        {
            var type = value.GetType();
            if (!_shapes.TryGetValue(type, out var shape)) shape = NewShape(type);
            switch (shape.Kind)
            {
                case ShapeKind.Structure:
                    result = DestructureStructure(value, shape, propertyValueFactory);
                    return true;
                case ShapeKind.Dictionary:
                    result = DestructureDictionary((IDictionary)value, propertyValueFactory);
                    return true;
                case ShapeKind.JsonElement:
                    result = DestructureJson((JsonElement)value, propertyValueFactory);
                    return true;
                case ShapeKind.JsonDocument:
                    result = DestructureJson(((JsonDocument)value).RootElement, propertyValueFactory);
                    return true;
                case ShapeKind.JsonNode:
                    result = DestructureJsonNode((JsonNode)value, propertyValueFactory);
                    return true;
                case ShapeKind.PairTuple:
                    return TryDestructurePairTuple((ITuple)value, propertyValueFactory, out result);
                default:
                    result = null!;
                    return false;
            }
        }
        catch (ObjectDisposedException) when (value is JsonDocument or JsonElement)
        {
            // Nothing of a disposed document can be read, so nothing can leak: Serilog writes its own placeholder.
            result = null!;
            return false;
        }
        catch (Exception ex)
        {
            // Fail closed: an object the policy could not take apart is masked whole, never written raw.
            RedactionFailures.Report("destructuring", value.GetType().Name, ex);
            result = _redactor.Masker.Fixed;
            return true;
        }
    }

    TypeShape NewShape(Type type) =>
        type.Assembly.IsCollectible
            ? _collectibleShapes.GetValue(type, _buildCollectibleShape)
            : _shapes.GetOrAdd(type, _buildShape);

    LogEventPropertyValue DestructureStructure(object value, TypeShape shape, ILogEventPropertyValueFactory factory)
    {
        var members = shape.Members;
        var properties = new LogEventProperty[members.Length];
        var maskPairValue = shape.IsPair && IsSensitivePairKey(value, members);

        for (var i = 0; i < members.Length; i++)
        {
            var member = members[i];
            if (member.Action == MemberAction.Mask || (maskPairValue && i == 1))
            {
                properties[i] = new LogEventProperty(member.Name, Mask(value, member));
                continue;
            }

            object? memberValue;
            try
            {
                memberValue = member.Get(value);
            }
            catch (Exception ex)
            {
                AccessorReport.WriteLine("Redaction: the property accessor {1} threw {2}; the member was written as a placeholder ({0} more since the last report)",
                    value.GetType() + "." + member.Name, ex.GetType());
                memberValue = AccessorThrew + ex.GetType().Name;
            }

            properties[i] = new LogEventProperty(member.Name, Capture(memberValue, factory));
        }

        return new StructureValue(properties, shape.TypeTag);
    }

    /// <summary>
    /// A (name, value) tuple whose name is a sensitive key: the sequence Serilog would capture, with the value masked.
    /// Any other tuple is left to Serilog.
    /// </summary>
    bool TryDestructurePairTuple(ITuple tuple, ILogEventPropertyValueFactory factory, out LogEventPropertyValue result)
    {
        if (tuple.Length != 2 || tuple[0] is not string name || !_redactor.IsSensitivePairName(name))
        {
            result = null!;
            return false;
        }

        var masked = _redactor.Masker.MaskObject(_redactor.Masker.NeedsValue ? tuple[1] : null);
        result = new SequenceValue(new[] { Capture(name, factory), masked });
        return true;
    }

    LogEventPropertyValue Mask(object value, MemberShape member)
    {
        if (!_redactor.Masker.NeedsValue) return _redactor.Masker.Fixed;
        try
        {
            return _redactor.Masker.MaskObject(member.Get(value));
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("reading sensitive member", member.Name, ex);
            return _redactor.Masker.Fixed;
        }
    }

    bool IsSensitivePairKey(object pair, MemberShape[] members)
    {
        try
        {
            return members.Length == 2 && _redactor.Keys.IsSensitive(Redactor.KeyText(members[0].Get(pair)));
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("reading a pair's key", ex);
            return true;
        }
    }

    /// <summary>
    /// A child through the factory (depth, string length, other policies), then the value detectors, also on the
    /// strings of a sequence Serilog captured (see <see cref="RedactSequence"/>).
    /// </summary>
    LogEventPropertyValue Capture(object? child, ILogEventPropertyValueFactory factory)
    {
        LogEventPropertyValue captured;
        try
        {
            captured = factory.CreatePropertyValue(child, destructureObjects: true);
        }
        catch (Exception ex)
        {
            // Serilog catches this only at the top of the graph; here it stays local to the member.
            CaptureReport.WriteLine("Redaction: capturing a member's value threw {1}; the member was written as a placeholder ({0} more since the last report)", ex.GetType());
            return new ScalarValue(CaptureThrew + ex.GetType().Name);
        }

        if (_redactor.Detectors is not null && captured is ScalarValue and not RedactedValue)
        {
            var redacted = _redactor.RedactValue(captured, 1);
            if (redacted is not null) return redacted;
        }
        else if (captured is SequenceValue sequence)
        {
            return RedactSequence(sequence, 1) ?? captured;
        }
        return captured;
    }

    /// <summary>
    /// A sequence Serilog captured itself (an array, list, set, lazy sequence or tuple): the objects in it came back
    /// through the policy, but its strings, numbers and inner sequences did not. Those go through the value detectors
    /// here, and the value of a (name, value) pair whose name is sensitive is masked; <see langword="null"/> when
    /// nothing changed. Structures and dictionaries are left alone: this policy built them (or a policy registered
    /// before it, which keeps its types).
    /// </summary>
    LogEventPropertyValue? RedactSequence(SequenceValue sequence, int depth)
    {
        if (depth > Redactor.MaximumWalkDepth) return _redactor.Masker.Fixed;

        var elements = sequence.Elements;
        var maskPairValue = elements.Count == 2 && _redactor.IsSensitivePairName(elements[0]);
        LogEventPropertyValue[]? copy = null;
        for (var i = 0; i < elements.Count; i++)
        {
            var element = elements[i];
            LogEventPropertyValue? replacement;
            if (maskPairValue && i == 1)
                replacement = element is RedactedValue { IsMask: true } ? null : _redactor.Masker.MaskPropertyValue(element);
            else if (element is SequenceValue inner)
                replacement = RedactSequence(inner, depth + 1);
            else if (_redactor.Detectors is not null && element is ScalarValue and not RedactedValue)
                replacement = _redactor.RedactValue(element, depth);
            else
                continue;

            if (replacement is null) continue;
            if (copy is null)
            {
                copy = new LogEventPropertyValue[elements.Count];
                for (var j = 0; j < elements.Count; j++) copy[j] = elements[j];
            }
            copy[i] = replacement;
        }
        return copy is null ? null : new SequenceValue(copy);
    }

    LogEventPropertyValue DestructureDictionary(IDictionary dictionary, ILogEventPropertyValueFactory factory)
    {
        var limit = _limit.Resolve(factory, dictionary.Count);
        var elements = new Dictionary<ScalarValue, LogEventPropertyValue>(Math.Max(0, limit));
        if (limit <= 0) return new DictionaryValue(elements);

        // An exception destructurer (Serilog.Exceptions) hands over the exception's properties, read by itself, with the
        // type's full name under "Type" (or "$Type"): its [Sensitive] and [NotLogged] members are found by that name.
        var attributed = dictionary is IDictionary<string, object?> named
            ? AttributedTypeIndex.FindByTypeEntry(
                named.TryGetValue(AttributedTypeIndex.DisplacedTypeEntryName, out var displaced) ? displaced : null,
                named.TryGetValue(AttributedTypeIndex.TypeEntryName, out var type) ? type : null)
            : null;
        var taken = 0;
        Dictionary<string, int>? nextSuffix = null;
        foreach (DictionaryEntry entry in dictionary)
        {
            if (++taken > limit) break;
            var member = attributed is not null && entry.Key is string name ? AttributedTypeIndex.MemberName(name) : null;
            if (member is not null && attributed!.NotLogged.Contains(member)) continue;
            if (factory.CreatePropertyValue(entry.Key, destructureObjects: true) is not ScalarValue { Value: not null } key) continue;

            var value = IsSensitiveKey(entry.Key) || (member is not null && attributed!.Sensitive.Contains(member))
                ? _redactor.Masker.MaskObject(_redactor.Masker.NeedsValue ? entry.Value : null)
                : Capture(entry.Value, factory);
            elements[MaskedKey(key, elements, ref nextSuffix)] = value;
        }
        return new DictionaryValue(elements);
    }

    /// <summary>
    /// The key with the value detectors' findings masked, never taking the place of a key already there (a masked key
    /// may read like another key, and a later key must not replace the value under a masked one either).
    /// </summary>
    ScalarValue MaskedKey(ScalarValue key, Dictionary<ScalarValue, LogEventPropertyValue> elements, ref Dictionary<string, int>? nextSuffix) =>
        _redactor.UniqueKey(_redactor.RedactKey(key) ?? key, elements, ref nextSuffix);

    bool IsSensitiveKey(object? key)
    {
        try
        {
            return _redactor.Keys.IsSensitive(Redactor.KeyText(key));
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("reading a dictionary key", ex);
            return true;
        }
    }

    LogEventPropertyValue DestructureJson(JsonElement element, ILogEventPropertyValueFactory factory)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
            {
                var count = 0;
                foreach (var _ in element.EnumerateObject()) count++;
                var limit = _limit.Resolve(factory, count);
                var elements = new Dictionary<ScalarValue, LogEventPropertyValue>(Math.Max(0, limit));
                var taken = 0;
                Dictionary<string, int>? nextSuffix = null;
                foreach (var property in element.EnumerateObject())
                {
                    if (++taken > limit) break;
                    if (JsonKey(property.Name, factory) is not { } key) continue;
                    var value = _redactor.Keys.IsSensitive(property.Name)
                        ? MaskJson(property.Value)
                        : Capture(property.Value, factory);
                    elements[MaskedKey(key, elements, ref nextSuffix)] = value;
                }
                return new DictionaryValue(elements);
            }
            case JsonValueKind.Array:
            {
                var limit = _limit.Resolve(factory, element.GetArrayLength());
                var items = new List<LogEventPropertyValue>(Math.Max(0, limit));
                foreach (var item in element.EnumerateArray())
                {
                    if (items.Count >= limit) break;
                    items.Add(Capture(item, factory));
                }
                return new SequenceValue(items);
            }
            case JsonValueKind.String:
                return Capture(element.GetString(), factory);
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var integer)) return new ScalarValue(integer);
                if (element.TryGetDecimal(out var number)) return new ScalarValue(number);
                return new ScalarValue(element.GetDouble());
            case JsonValueKind.True:
                return new ScalarValue(true);
            case JsonValueKind.False:
                return new ScalarValue(false);
            default:
                return new ScalarValue(null);
        }
    }

    /// <summary>Keys go through the factory like a dictionary's, so Serilog's string length limit applies to them too.</summary>
    static ScalarValue? JsonKey(string name, ILogEventPropertyValueFactory factory) =>
        factory.CreatePropertyValue(name, destructureObjects: true) is ScalarValue { Value: not null } key ? key : null;

    LogEventPropertyValue MaskJson(JsonElement value) =>
        _redactor.Masker.NeedsValue ? new RedactedValue(JsonTextRedactor.MaskedText(value, _redactor)) : _redactor.Masker.Fixed;

    LogEventPropertyValue DestructureJsonNode(JsonNode node, ILogEventPropertyValueFactory factory)
    {
        switch (node)
        {
            case JsonObject obj:
            {
                var limit = _limit.Resolve(factory, obj.Count);
                var elements = new Dictionary<ScalarValue, LogEventPropertyValue>(Math.Max(0, limit));
                var taken = 0;
                Dictionary<string, int>? nextSuffix = null;
                foreach (var property in obj)
                {
                    if (++taken > limit) break;
                    if (JsonKey(property.Key, factory) is not { } key) continue;
                    var value = _redactor.Keys.IsSensitive(property.Key)
                        ? MaskJsonNode(property.Value)
                        : Capture(property.Value, factory);
                    elements[MaskedKey(key, elements, ref nextSuffix)] = value;
                }
                return new DictionaryValue(elements);
            }
            case JsonArray array:
            {
                var limit = _limit.Resolve(factory, array.Count);
                var items = new List<LogEventPropertyValue>(Math.Max(0, limit));
                foreach (var item in array)
                {
                    if (items.Count >= limit) break;
                    items.Add(Capture(item, factory));
                }
                return new SequenceValue(items);
            }
            case JsonValue value:
                if (value.TryGetValue<JsonElement>(out var element)) return DestructureJson(element, factory);
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        return Capture(JsonString(value), factory);
                    case JsonValueKind.True:
                        return new ScalarValue(true);
                    case JsonValueKind.False:
                        return new ScalarValue(false);
                    case JsonValueKind.Number:
                        if (value.TryGetValue<long>(out var integer)) return new ScalarValue(integer);
                        if (value.TryGetValue<decimal>(out var number)) return new ScalarValue(number);
                        if (value.TryGetValue<double>(out var real)) return new ScalarValue(real);
                        // Other CLR number types (int, float, ...): their JSON text is a number.
                        var raw = value.ToJsonString();
                        if (long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out integer)) return new ScalarValue(integer);
                        if (decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out number)) return new ScalarValue(number);
                        break;
                }
                // Anything else (a CLR object wrapped in a JsonValue): its JSON text, which the detectors still see.
                return Capture(value.ToJsonString(), factory);
            default:
                return new ScalarValue(null);
        }
    }

    LogEventPropertyValue MaskJsonNode(JsonNode? value)
    {
        if (!_redactor.Masker.NeedsValue || value is not JsonValue scalar) return _redactor.Masker.Fixed;
        return _redactor.Masker.MaskObject(scalar.GetValueKind() == JsonValueKind.String ? JsonString(scalar) : scalar.ToJsonString());
    }

    /// <summary>
    /// The text of a JSON string value. One built in code from a CLR value other than a string (a DateTime, Guid or char)
    /// is read back from its JSON text, so it is written as the string it stands for, without JSON's quotes and escapes.
    /// </summary>
    static string? JsonString(JsonValue value)
    {
        if (value.TryGetValue<string>(out var text)) return text;
        using var document = JsonDocument.Parse(value.ToJsonString());
        return document.RootElement.GetString();
    }
}
