using System.Collections;
using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serilog.Extensions.Observability.Redaction.Attributes;
using Serilog.Extensions.Observability.Redaction.Keys;

namespace Serilog.Extensions.Observability.Redaction.Destructuring;

enum ShapeKind
{
    /// <summary>Left to Serilog (sequences, tuples, delegates, reflection types): their elements come back to the policy.</summary>
    NotHandled,
    Structure,
    Dictionary,
    JsonElement,
    JsonDocument,
    JsonNode,
    /// <summary><see cref="ValueTuple{T1,T2}"/> or <see cref="Tuple{T1,T2}"/>: Serilog's sequence, with the value masked when the first item names a sensitive key.</summary>
    PairTuple,
}

enum MemberAction
{
    Capture,
    Mask,
}

/// <summary>
/// One readable public property. Its first reads go through reflection; the getter is compiled when the type keeps
/// being logged. Compiling an expression loads System.Linq.Expressions and emits a method, milliseconds per property
/// on the first <c>{@object}</c> of a process (or of a logger: shapes are per policy), which a process that starts
/// often and logs a few objects (a CLI tool, a test suite building a logger per fixture) would pay for nothing.
/// Both ways read the property once per call and throw the getter's own exception.
/// </summary>
sealed class MemberShape
{
    /// <summary>Reads through reflection before the getter is compiled.</summary>
    internal const int ReadsBeforeCompiling = 8;

    readonly Type _type;
    readonly PropertyInfo _property;
    Func<object, object?>? _compiled;
    int _reads;

    public MemberShape(string name, Type type, PropertyInfo property, MemberAction action)
    {
        Name = name;
        _type = type;
        _property = property;
        Action = action;
    }

    public string Name { get; }
    public MemberAction Action { get; }

    /// <summary>Whether the getter is compiled yet (for tests).</summary>
    internal bool IsCompiled => Volatile.Read(ref _compiled) is not null;

    public object? Get(object instance) =>
        Volatile.Read(ref _compiled) is { } compiled ? compiled(instance) : GetThroughReflection(instance);

    object? GetThroughReflection(object instance)
    {
        // Exactly one reader compiles; the others keep reading through reflection until it is published.
        if (Interlocked.Increment(ref _reads) == ReadsBeforeCompiling)
            Volatile.Write(ref _compiled, TypeShape.CompileGetter(_type, _property));
        return TypeShape.ReadThroughReflection(_property, instance);
    }
}

/// <summary>How the policy destructures one type; built once per type and policy instance.</summary>
sealed class TypeShape
{
    public static readonly TypeShape NotHandled = new(ShapeKind.NotHandled, null, Array.Empty<MemberShape>(), false);
    static readonly TypeShape PairTuple = new(ShapeKind.PairTuple, null, Array.Empty<MemberShape>(), false);

    TypeShape(ShapeKind kind, string? typeTag, MemberShape[] members, bool isPair)
    {
        Kind = kind;
        TypeTag = typeTag;
        Members = members;
        IsPair = isPair;
    }

    public ShapeKind Kind { get; }
    public string? TypeTag { get; }
    public MemberShape[] Members { get; }

    /// <summary><see cref="KeyValuePair{TKey,TValue}"/> or <see cref="DictionaryEntry"/>: the value is masked when the key is sensitive.</summary>
    public bool IsPair { get; }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Destructuring reads the public properties of the logged object's runtime type, exactly as Serilog does; a property the trimmer removed is not logged.")]
    public static TypeShape For(Type type, KeyMatcher keys)
    {
        if (type == typeof(JsonElement)) return new TypeShape(ShapeKind.JsonElement, null, Array.Empty<MemberShape>(), false);
        if (type == typeof(JsonDocument)) return new TypeShape(ShapeKind.JsonDocument, null, Array.Empty<MemberShape>(), false);
        if (typeof(JsonNode).IsAssignableFrom(type)) return new TypeShape(ShapeKind.JsonNode, null, Array.Empty<MemberShape>(), false);
        if (IsSerilogDictionary(type)) return new TypeShape(ShapeKind.Dictionary, null, Array.Empty<MemberShape>(), false);

        // Serilog captures both as a sequence: ("api_key", key) is ["api_key", "..."].
        if (type.IsConstructedGenericType && type.GetGenericTypeDefinition() is var tuple && (tuple == typeof(ValueTuple<,>) || tuple == typeof(Tuple<,>)))
            return PairTuple;

        // What Serilog itself turns into something other than a structure stays with Serilog.
        if (typeof(IEnumerable).IsAssignableFrom(type) || typeof(ITuple).IsAssignableFrom(type) ||
            typeof(Delegate).IsAssignableFrom(type) || typeof(MemberInfo).IsAssignableFrom(type) ||
            type.IsPointer || type.IsByRefLike)
        {
            return NotHandled;
        }

        var attributed = AttributedMembers.For(type);
        if (attributed is not null) AttributedTypeIndex.Add(type, attributed);

        var members = new List<MemberShape>();
        foreach (var property in PublicReadableProperties(type))
        {
            if (attributed is not null && attributed.NotLogged.Contains(property.Name)) continue;
            var sensitive = keys.IsSensitive(property.Name) || (attributed is not null && attributed.Sensitive.Contains(property.Name));
            members.Add(new MemberShape(property.Name, type, property, sensitive ? MemberAction.Mask : MemberAction.Capture));
        }

        var isPair = (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(KeyValuePair<,>)) || type == typeof(DictionaryEntry);
        var typeTag = type.Name.Length == 0 || IsCompilerGenerated(type) ? null : type.Name;
        return new TypeShape(ShapeKind.Structure, typeTag, members.ToArray(), isPair);
    }

    /// <summary>The properties Serilog captures, in its order: the type's own first, then each base type's, names unique.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "See For.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "See For.")]
    static IEnumerable<PropertyInfo> PublicReadableProperties(Type type)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var current = type; current is not null && current != typeof(object); current = current.BaseType)
        {
            foreach (var property in current.GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                var getter = property.GetMethod;
                if (getter is null || !getter.IsPublic || getter.IsStatic) continue;
                if (property.GetIndexParameters().Length != 0) continue;
                if (!seen.Add(property.Name)) continue;
                yield return property;
            }
        }
    }

    internal static Func<object, object?> CompileGetter(Type type, PropertyInfo property)
    {
        try
        {
            var instance = Expression.Parameter(typeof(object), "instance");
            var body = Expression.Convert(Expression.Property(Expression.Convert(instance, type), property), typeof(object));
            return Expression.Lambda<Func<object, object?>>(body, instance).Compile();
        }
        catch (Exception)
        {
            // Byref-like or otherwise unboxable property types: read through reflection per call, as Serilog does.
            return instance => ReadThroughReflection(property, instance);
        }
    }

    /// <summary>
    /// The property's value through reflection, with a compiled getter's results: the getter's own exception (not
    /// reflection's wrapper), and Serilog's text for a value that reflection cannot return (a <c>Span&lt;T&gt;</c>, such as
    /// <c>Memory&lt;T&gt;.Span</c>).
    /// </summary>
    internal static object? ReadThroughReflection(PropertyInfo property, object instance)
    {
        try
        {
            return property.GetValue(instance);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
        catch (NotSupportedException)
        {
            ReflectionReport.WriteLine("Redaction: the property accessor {1}.{2} is not supported via Reflection API; Serilog's placeholder was written ({0} more since the last report)",
                property.DeclaringType, property.Name);
            return NotSupportedViaReflection;
        }
    }

    /// <summary>A property reflection cannot read fails on every event that holds its object: reported once per interval.</summary>
    internal static readonly SelfLogThrottle ReflectionReport = new();

    /// <summary>What Serilog writes for a property whose value reflection cannot return.</summary>
    const string NotSupportedViaReflection = "Accessing this property is not supported via Reflection API";

    /// <summary>Serilog's own rule: only <see cref="Dictionary{TKey,TValue}"/> and <see cref="ReadOnlyDictionary{TKey,TValue}"/> with scalar keys become dictionaries.</summary>
    static bool IsSerilogDictionary(Type type)
    {
        if (!type.IsConstructedGenericType) return false;
        var definition = type.GetGenericTypeDefinition();
        if (definition != typeof(Dictionary<,>) && definition != typeof(ReadOnlyDictionary<,>)) return false;
        var key = type.GenericTypeArguments[0];
        return key.IsPrimitive || key.IsEnum || key == typeof(string) || key == typeof(decimal) || key == typeof(DateTime) ||
               key == typeof(DateTimeOffset) || key == typeof(TimeSpan) || key == typeof(Guid) || key == typeof(Uri) ||
               key == typeof(DateOnly) || key == typeof(TimeOnly);
    }

    static bool IsCompilerGenerated(Type type)
    {
        if (!type.IsGenericType || !type.IsSealed || type.Namespace is not null) return false;
        var name = type.Name;
        return name[0] == '<' || name.StartsWith("VB$", StringComparison.Ordinal);
    }
}
