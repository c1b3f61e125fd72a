using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.PropertyBased;

public class GenNode
{
    public object? Name { get; set; }
    public object? Value { get; set; }
    public object? Password { get; set; }
    public object? Children { get; set; }
}

public class GenCredentials
{
    public object? User { get; set; }
    public object? ApiKey { get; set; }
    public object? Meta { get; set; }

    [Sensitive]
    public object? Motto { get; set; }
}

public record GenRecord(object? Label, object? SessionToken, object? Next);

/// <summary>
/// Builds random object graphs and remembers what it planted: secrets (under sensitive keys and members, at any
/// depth, whole subtrees included) and visible values (everywhere else). Visible values reachable only through
/// destructuring (members of objects) are kept apart from those that survive a capture without <c>@</c>.
/// </summary>
sealed class GraphGenerator
{
    const int MaximumNesting = 3;
    const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    readonly Random _random;
    readonly IReadOnlyList<string> _sensitiveKeys;
    readonly IReadOnlyList<string> _safeKeys;
    readonly bool _allowJsonNodes;

    public GraphGenerator(Random random, IReadOnlyList<string> sensitiveKeys, IReadOnlyList<string> safeKeys, bool allowJsonNodes)
    {
        _random = random;
        _sensitiveKeys = sensitiveKeys;
        _safeKeys = safeKeys;
        _allowJsonNodes = allowJsonNodes;
    }

    public List<string> Secrets { get; } = new();

    /// <summary>Visible when the graph is destructured.</summary>
    public List<string> Visible { get; } = new();

    /// <summary>Visible also when the graph is captured without destructuring.</summary>
    public List<string> VisiblePlain { get; } = new();

    public void Reset()
    {
        Secrets.Clear();
        Visible.Clear();
        VisiblePlain.Clear();
    }

    string Token(string prefix)
    {
        var builder = new StringBuilder(prefix);
        for (var i = 0; i < 12; i++) builder.Append(Alphabet[_random.Next(Alphabet.Length)]);
        return builder.ToString();
    }

    string Leaf(bool secret, bool plain)
    {
        if (secret)
        {
            var value = Token("sec");
            Secrets.Add(value);
            return value;
        }

        var visible = Token("vis");
        Visible.Add(visible);
        if (plain) VisiblePlain.Add(visible);
        return visible;
    }

    /// <summary>A value; everything in it is secret when <paramref name="secret"/> (it sits under a sensitive key).</summary>
    public object? Value(int depth, bool secret, bool plain)
    {
        var kinds = depth >= MaximumNesting ? 1 : 9;
        switch (_random.Next(kinds))
        {
            case 0: return Leaf(secret, plain);
            case 1: return Dictionary(depth, secret, plain);
            case 2: return List(depth, secret, plain);
            case 3: return Poco(depth, secret);
            case 4: return Anonymous(depth, secret);
            case 5: return new GenRecord(Leaf(secret, false), Leaf(true, false), Value(depth + 1, secret, false));
            case 6: return Pairs(depth, secret);
            case 7: return Json(depth, secret, plain);
            default: return _random.Next(2) == 0 ? _random.Next(1000) : null;
        }
    }

    IEnumerable<(string Key, bool Sensitive)> Keys(int count)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        while (used.Count < count)
        {
            var sensitive = _random.Next(3) == 0;
            var key = sensitive ? _sensitiveKeys[_random.Next(_sensitiveKeys.Count)] : _safeKeys[_random.Next(_safeKeys.Count)];
            if (used.Add(key)) yield return (key, sensitive);
        }
    }

    Dictionary<string, object?> Dictionary(int depth, bool secret, bool plain)
    {
        var result = new Dictionary<string, object?>();
        foreach (var (key, sensitive) in Keys(_random.Next(1, 5))) result[key] = Value(depth + 1, secret || sensitive, plain);
        return result;
    }

    List<object?> List(int depth, bool secret, bool plain)
    {
        var result = new List<object?>();
        var count = _random.Next(0, 4);
        for (var i = 0; i < count; i++) result.Add(Value(depth + 1, secret, plain));
        return result;
    }

    object Poco(int depth, bool secret)
    {
        if (_random.Next(2) == 0)
        {
            return new GenNode
            {
                Name = Leaf(secret, false),
                Value = Value(depth + 1, secret, false),
                Password = Value(depth + 1, true, false),
                Children = _random.Next(2) == 0 ? null : List(depth, secret, false),
            };
        }

        return new GenCredentials
        {
            User = Leaf(secret, false),
            ApiKey = Leaf(true, false),
            Meta = Value(depth + 1, secret, false),
            Motto = Leaf(true, false),
        };
    }

    object Anonymous(int depth, bool secret) => _random.Next(2) == 0
        ? new { label = Leaf(secret, false), client_secret = Value(depth + 1, true, false), next = Value(depth + 1, secret, false) }
        : new { Id = Leaf(secret, false), AccessToken = Leaf(true, false) };

    List<KeyValuePair<string, object?>> Pairs(int depth, bool secret)
    {
        var result = new List<KeyValuePair<string, object?>>();
        foreach (var (key, sensitive) in Keys(_random.Next(1, 4)))
            result.Add(new KeyValuePair<string, object?>(key, sensitive || _random.Next(2) == 0 ? Leaf(secret || sensitive, false) : Value(depth + 1, secret, false)));
        return result;
    }

    object Json(int depth, bool secret, bool plain)
    {
        var node = JsonValueNode(depth, secret, plain);
        var text = node.ToJsonString();
        switch (_random.Next(_allowJsonNodes ? 4 : 2))
        {
            case 0:
                return text;
            case 1:
                return JsonDocument.Parse(text).RootElement.Clone();
            case 2:
                return node;
            default:
                // Text of a document that only destructuring shows.
                MarkNotPlain(text);
                return JsonDocument.Parse(text);
        }
    }

    void MarkNotPlain(string jsonText)
    {
        VisiblePlain.RemoveAll(v => jsonText.Contains(v, StringComparison.Ordinal));
    }

    JsonNode JsonValueNode(int depth, bool secret, bool plain)
    {
        if (depth >= MaximumNesting || _random.Next(3) == 0)
        {
            var array = new JsonArray();
            var count = _random.Next(1, 3);
            for (var i = 0; i < count; i++) array.Add(Leaf(secret, plain));
            return array;
        }

        var obj = new JsonObject();
        foreach (var (key, sensitive) in Keys(_random.Next(1, 4)))
            obj[key] = _random.Next(2) == 0 ? JsonValue.Create(Leaf(secret || sensitive, plain)) : JsonValueNode(depth + 1, secret || sensitive, plain);
        return obj;
    }
}
