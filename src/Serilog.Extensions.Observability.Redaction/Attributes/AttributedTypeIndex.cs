using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Serilog.Extensions.Observability.Redaction.Attributes;

/// <summary>The members of one type (or of all types sharing its name) marked <see cref="SensitiveAttribute"/> or <see cref="NotLoggedAttribute"/>.</summary>
sealed class AttributedMembers
{
    public AttributedMembers(FrozenSet<string> sensitive, FrozenSet<string> notLogged)
    {
        Sensitive = sensitive;
        NotLogged = notLogged;
    }

    public FrozenSet<string> Sensitive { get; }
    public FrozenSet<string> NotLogged { get; }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "A member the trimmer removed is never logged, so not finding its attribute loses nothing.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A member the trimmer removed is never logged, so not finding its attribute loses nothing.")]
    public static AttributedMembers? For(Type type)
    {
        HashSet<string>? sensitive = null;
        HashSet<string>? notLogged = null;
        for (var current = type; current is not null && current != typeof(object); current = current.BaseType)
        {
            foreach (var member in current.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (member is not (PropertyInfo or FieldInfo)) continue;
                if (member.IsDefined(typeof(NotLoggedAttribute), inherit: true)) (notLogged ??= new()).Add(member.Name);
                else if (member.IsDefined(typeof(SensitiveAttribute), inherit: true)) (sensitive ??= new()).Add(member.Name);
            }
        }

        return sensitive is null && notLogged is null
            ? null
            : new AttributedMembers(
                (sensitive ?? new()).ToFrozenSet(StringComparer.Ordinal),
                (notLogged ?? new()).ToFrozenSet(StringComparer.Ordinal));
    }

    public AttributedMembers Union(AttributedMembers other) => new(
        Sensitive.Union(other.Sensitive).ToFrozenSet(StringComparer.Ordinal),
        NotLogged.Union(other.NotLogged).ToFrozenSet(StringComparer.Ordinal));
}

/// <summary>
/// Finds attributed members by a structure's type tag (the CLR type's <see cref="MemberInfo.Name"/>), so the event
/// pass honours <see cref="SensitiveAttribute"/> and <see cref="NotLoggedAttribute"/> on structures that Serilog
/// captured without the destructuring policy. Only assemblies that reference this package can use the attributes,
/// so only those are scanned: once each, when first needed and again after new assemblies load. Types that share a
/// name share the union of their rules (fail closed). Process-wide on purpose: it holds type metadata, never options.
/// Assemblies are held weakly: one in a collectible load context (a plugin, a script) must stay free to unload.
/// </summary>
static class AttributedTypeIndex
{
    static readonly object Sync = new();

    /// <summary>Every assembly seen, as a key only: the table does not keep it loaded.</summary>
    static readonly ConditionalWeakTable<Assembly, object> Scanned = new();
    static readonly object Seen = new();
    static readonly string ThisAssemblyName = typeof(AttributedTypeIndex).Assembly.GetName().Name!;

    /// <summary>
    /// Names of the assemblies whose types may carry the attributes: this one, those that reference it, and those that
    /// reference such an assembly (a type deriving from an attributed base inherits its members' attributes).
    /// </summary>
    static readonly HashSet<string> UsingAttributes = new(StringComparer.Ordinal) { ThisAssemblyName };

    /// <summary>
    /// Assemblies seen that use none of those yet, with the names they reference; a later load may change that. Held
    /// weakly, so that a collectible one can unload meanwhile (its entry goes at the next scan).
    /// </summary>
    static readonly List<(WeakReference<Assembly> Assembly, string[] References)> NotUsingAttributes = new();
    static volatile FrozenDictionary<string, AttributedMembers> _byName = FrozenDictionary<string, AttributedMembers>.Empty;

    /// <summary>Bumped by every assembly load.</summary>
    static int _loads = 1;

    /// <summary>
    /// The <see cref="_loads"/> count the published index covers, written only after that index: a lookup that sees it
    /// behind (a load not scanned yet, or a scan in progress) waits for the scan instead of reading an index that may
    /// miss the new assembly's attributes.
    /// </summary>
    static volatile int _indexed;

    /// <summary>Under <see cref="Sync"/>: a scan is running on the thread holding it (a lookup it makes re-enters).</summary>
    static bool _scanning;

    /// <summary>Test seam: runs on a lookup's thread when it finds the index stale, before it waits for the scan.</summary>
    internal static Action? LookupFoundIndexStale;

    /// <summary>Test seam: runs on the scanning thread, holding the lock, before the scan.</summary>
    internal static Action? Scanning;

    static AttributedTypeIndex()
    {
        AppDomain.CurrentDomain.AssemblyLoad += (_, _) => Interlocked.Increment(ref _loads);
    }

    /// <summary>The attributed members for a type tag, or <see langword="null"/>. One lookup while nothing new loaded.</summary>
    public static AttributedMembers? Find(string typeTag)
    {
        if (_indexed != Volatile.Read(ref _loads)) Refresh();
        return _byName.TryGetValue(typeTag, out var members) ? members : null;
    }

    /// <summary>The key under which an exception destructurer writes the exception's full type name beside its properties.</summary>
    public const string TypeEntryName = "Type";

    /// <summary>
    /// Where Serilog.Exceptions writes the type's name instead when the exception has a property named <c>Type</c> of
    /// its own (which then holds that property's value).
    /// </summary>
    public const string DisplacedTypeEntryName = "$Type";

    /// <summary>
    /// The attributed members of the type a dictionary's <see cref="DisplacedTypeEntryName"/> or
    /// <see cref="TypeEntryName"/> entry names (the first that names one), or <see langword="null"/>.
    /// </summary>
    public static AttributedMembers? FindByTypeEntry(object? displaced, object? type) =>
        FindByTypeEntry(displaced) ?? FindByTypeEntry(type);

    static AttributedMembers? FindByTypeEntry(object? entry) => entry switch
    {
        string name => FindByFullName(name),
        // An exception destructurer that writes the type itself (early Serilog.Exceptions versions did).
        Type type => Find(type.Name),
        _ => null,
    };

    /// <summary>
    /// The attributed members of the type whose full name a dictionary's <see cref="TypeEntryName"/> entry holds, or
    /// <see langword="null"/>. An exception destructurer (Serilog.Exceptions' <c>ExceptionDetail</c>) reads the
    /// exception's properties itself and writes them as a dictionary with <c>"Type": "MyApp.LoginException"</c>, so
    /// neither the destructuring policy nor a type tag tells their attributes. Only a namespace- or type-qualified name
    /// counts (<c>Ns.Type</c>, <c>Ns.Outer+Type</c>, <c>Ns.Type`1[[Ns.Argument, Assembly, ...]]</c>): a bare word under
    /// <c>Type</c> is ordinary data.
    /// </summary>
    public static AttributedMembers? FindByFullName(string fullName)
    {
        var name = fullName.AsSpan(0, Math.Min(fullName.Length, MaximumFullNameLength + 1));
        // A generic type's arguments follow in brackets, with their assemblies' names (which hold dots of their own).
        var arguments = name.IndexOf('[');
        if (arguments >= 0) name = name[..arguments];
        var start = name.LastIndexOfAny('.', '+') + 1;
        if (start <= 1 || start == name.Length || name.Length > MaximumFullNameLength) return null;
        foreach (var c in name[start..])
        {
            if (!char.IsLetterOrDigit(c) && c is not ('_' or '`')) return null;
        }
        return Find(name[start..].ToString());
    }

    /// <summary>Longer text under <c>Type</c> is not a type's name worth a lookup.</summary>
    const int MaximumFullNameLength = 1024;

    /// <summary>
    /// A member's name as Serilog.Exceptions writes it, without the <c>$</c> it appends to a name already taken (a
    /// property a derived type hides).
    /// </summary>
    public static string MemberName(string key) => key.Length > 0 && key[^1] == '$' ? key.TrimEnd('$') : key;

    /// <summary>Adds a type the destructuring policy met (it may live in an assembly loaded in a way the scan missed).</summary>
    public static void Add(Type type, AttributedMembers members)
    {
        lock (Sync)
        {
            if (_byName.TryGetValue(type.Name, out var existing) && existing.Sensitive.IsSupersetOf(members.Sensitive) && existing.NotLogged.IsSupersetOf(members.NotLogged))
                return;
            var copy = new Dictionary<string, AttributedMembers>(_byName, StringComparer.Ordinal);
            MergeType(copy, type, members);
            _byName = copy.ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    static void Refresh()
    {
        LookupFoundIndexStale?.Invoke();
        lock (Sync)
        {
            // A load during the scan leaves _loads ahead of target, so the next lookup scans again.
            var target = Volatile.Read(ref _loads);
            if (_indexed == target || _scanning) return;
            _scanning = true;
            try
            {
                Scan();
            }
            finally
            {
                _scanning = false;
            }
            _indexed = target;
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A type the trimmer removed is never logged, so not finding its attributes loses nothing.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A member the trimmer removed is never logged, so not finding its attributes loses nothing.")]
    static void Scan()
    {
        Scanning?.Invoke();

        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (!Scanned.TryAdd(assembly, Seen) || assembly.IsDynamic) continue;
            NotUsingAttributes.Add((new WeakReference<Assembly>(assembly), ReferencedNames(assembly)));
        }

        // Until no more join: an assembly qualifies through one that qualified in an earlier round.
        Dictionary<string, AttributedMembers>? copy = null;
        for (var joined = true; joined;)
        {
            joined = false;
            for (var i = NotUsingAttributes.Count - 1; i >= 0; i--)
            {
                var (weak, references) = NotUsingAttributes[i];
                if (!weak.TryGetTarget(out var assembly))
                {
                    NotUsingAttributes.RemoveAt(i); // Unloaded: nothing of it can be logged any more.
                    continue;
                }
                if (!ReferencesAny(references, UsingAttributes)) continue;
                NotUsingAttributes.RemoveAt(i);
                if (assembly.GetName().Name is { } name) UsingAttributes.Add(name);
                joined = true;
                Index(assembly, ref copy);
            }
        }

        if (copy is not null) _byName = copy.ToFrozenDictionary(StringComparer.Ordinal);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A type the trimmer removed is never logged, so not finding its attributes loses nothing.")]
    static void Index(Assembly assembly, ref Dictionary<string, AttributedMembers>? copy)
    {
        foreach (var type in LoadableTypes(assembly))
        {
            AttributedMembers? members;
            try
            {
                members = AttributedMembers.For(type);
            }
            catch (Exception)
            {
                continue; // A type whose members cannot be read cannot be destructured either.
            }
            if (members is null) continue;
            copy ??= new Dictionary<string, AttributedMembers>(_byName, StringComparer.Ordinal);
            MergeType(copy, type, members);
        }
    }

    static bool ReferencesAny(string[] references, HashSet<string> names)
    {
        foreach (var reference in references)
        {
            if (names.Contains(reference)) return true;
        }
        return false;
    }

    /// <summary>
    /// Under the type's name as a type tag gives it (<c>Wrapper`1</c>), and for a generic type also under the name its
    /// record <c>ToString()</c> prints (<c>Wrapper</c>).
    /// </summary>
    static void MergeType(Dictionary<string, AttributedMembers> index, Type type, AttributedMembers members)
    {
        Merge(index, type.Name, members);
        var tick = type.Name.IndexOf('`');
        if (tick > 0) Merge(index, type.Name.Substring(0, tick), members);
    }

    static void Merge(Dictionary<string, AttributedMembers> index, string name, AttributedMembers members) =>
        index[name] = index.TryGetValue(name, out var existing) ? existing.Union(members) : members;

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A reference the trimmer removed cannot be to an assembly in use.")]
    static string[] ReferencedNames(Assembly assembly)
    {
        try
        {
            var references = assembly.GetReferencedAssemblies();
            var names = new string[references.Length];
            for (var i = 0; i < references.Length; i++) names[i] = references[i].Name ?? "";
            return names;
        }
        catch (Exception)
        {
            // An assembly we cannot inspect is not ours to index.
            return Array.Empty<string>();
        }
    }

    [RequiresUnreferencedCode("Enumerates an assembly's types.")]
    static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.Where(t => t is not null)!;
        }
        catch (Exception)
        {
            return Array.Empty<Type>();
        }
    }
}
