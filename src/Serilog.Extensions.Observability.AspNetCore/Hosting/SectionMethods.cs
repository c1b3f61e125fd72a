using System.Reflection;
using Microsoft.Extensions.Configuration;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Settings.Configuration;

namespace Serilog.Extensions.Observability.AspNetCore.Hosting;

/// <summary>
/// Checks the <c>"Serilog"</c> section's method entries (<c>"Enrich"</c>, <c>"Filter"</c>, <c>"Destructure"</c>,
/// <c>"WriteTo"</c>, <c>"AuditTo"</c>, and the lists inside their arguments: Async's and Redacted's <c>"configure"</c>,
/// AtLevel's <c>"configureEnricher"</c>, Logger's <c>"configureLogger"</c>) before anything is built, for what
/// Serilog.Settings.Configuration would pass over with nothing but a SelfLog line (<c>Unable to find a method called
/// RollingJsn</c>): a name no method has, and an entry that does not give an argument every method of its name needs.
/// A level switch argument naming no declared switch is named by its key too (the reader's own exception names none),
/// and so is an entry without a name, which the reader refuses only once it builds the loggers.
/// </summary>
/// <remarks>
/// The reader's selection is followed, not widened or narrowed: the public static extension methods of the entry's
/// configuration type in the public static classes of its assemblies, plus the reader's own stand-ins for Serilog's
/// instance methods (read from the reader itself, since its versions offer different ones), names compared ordinally,
/// argument names ignoring case, a parameter with a default (or an <see cref="IConfiguration"/>) not needed. The
/// assemblies are those the reader loads: a read of the section's <c>"Using"</c> alone has it load them (and those it
/// finds by name), and every loaded assembly whose name contains <c>Serilog</c> or that <c>"Using"</c> lists is looked
/// through, a superset of the reader's, so an entry it takes is never refused; or those given to it (single file).
/// </remarks>
internal static class SectionMethods
{
    const string NameKey = "Name";
    const string ArgsKey = "Args";

    /// <summary>The lists the reader reads, in its order, with the configuration type their methods extend.</summary>
    static readonly (string Key, Type Receiver)[] Lists =
    [
        ("Enrich", typeof(LoggerEnrichmentConfiguration)),
        ("Filter", typeof(LoggerFilterConfiguration)),
        ("Destructure", typeof(LoggerDestructuringConfiguration)),
        ("WriteTo", typeof(LoggerSinkConfiguration)),
        ("AuditTo", typeof(LoggerAuditSinkConfiguration)),
    ];

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> naming the key of the first entry the reader would pass over, or of
    /// a level switch argument that names no switch <paramref name="switchRefused"/> finds: it returns what the reader
    /// throws looking up the name among the section's <c>"LevelSwitches"</c> and, when not null, one more switch
    /// declared under its second argument; null when it finds it. Adds to <paramref name="arguments"/> each argument the
    /// reader reads as a list, before it reads that list (through <paramref name="section"/>'s view, which then leaves its
    /// entries switched off out).
    /// </summary>
    public static void Check(IConfigurationSection section, Assembly[]? readerAssemblies, Func<string, string?, Exception?> switchRefused,
        SerilogSinksView.ListArguments arguments)
    {
        if (!Lists.Any(list => section.GetSection(list.Key).GetChildren().Any())) return;
        if (Methods.Find(section, readerAssemblies) is not { } methods) return;
        new Walk(methods, switchRefused, section.Path, arguments).Section(section);
    }

    /// <summary>
    /// One check of the section, in the reader's order: a level switch a logger configured inside an argument declares
    /// is declared by the reader when it builds that logger, for the entries it reads after it.
    /// </summary>
    sealed class Walk(Methods methods, Func<string, string?, Exception?> switchRefused, string topPath, SerilogSinksView.ListArguments arguments)
    {
        /// <summary>The switch names the loggers read so far inside arguments declare, as given.</summary>
        readonly List<string> _declaredInside = [];

        /// <summary>A section read as a whole logger's (the top one, or a <c>configureLogger</c> argument).</summary>
        public void Section(IConfigurationSection section)
        {
            // As the reader does, a logger's own switches are declared before its lists are read (the top one's are
            // those switchRefused looks through).
            if (section.Path != topPath)
                _declaredInside.AddRange(section.GetSection("LevelSwitches").GetChildren().Select(s => s.Key));
            foreach (var (key, receiver) in Lists)
                List(section.GetSection(key), receiver);
        }

        public void List(IConfigurationSection list, Type receiver)
        {
            var entries = list.GetChildren().ToArray();
            // The reader reads the names of a list's entries before it calls any of their methods: one without a name (an
            // object without "Name") is its exception, which it throws only once it builds the loggers.
            foreach (var entry in entries)
            {
                if (entry.Value is null && entry.GetSection(NameKey).Value is null)
                    throw new InvalidOperationException(
                        $"The \"{ConfigurationPath.Combine(entry.Path, NameKey)}\" setting is missing: an entry that is not a name alone " +
                        $"(\"Console\") must name {Noun(receiver)} method, and Serilog.Settings.Configuration refuses the section without it.");
            }
            // The reader's order: the plain names, then the entries with a "Name"; those of one name together, in the
            // order each name first comes (it groups them by name to call them).
            var inReaderOrder = entries.Where(e => e.Value is not null).Concat(entries.Where(e => e.Value is null))
                .GroupBy(e => e.Value ?? e.GetSection(NameKey).Value ?? "", StringComparer.Ordinal)
                .SelectMany(group => group);
            foreach (var entry in inReaderOrder)
                Entry(entry, receiver);
        }

        void Entry(IConfigurationSection entry, Type receiver)
        {
            // As the reader reads an entry: a plain value is a name with no arguments; otherwise its "Name" (see List).
            string? name;
            IConfigurationSection nameKey;
            IConfigurationSection[] args;
            if (entry.Value is not null)
            {
                (name, nameKey, args) = (entry.Value, entry, []);
            }
            else
            {
                nameKey = entry.GetSection(NameKey);
                (name, args) = (nameKey.Value, entry.GetSection(ArgsKey).GetChildren().ToArray());
            }
            // A sink named "" is an entry switched off (see SerilogSinksView): the reader passes over it as such.
            if (string.IsNullOrEmpty(name)) return;

            var candidates = methods.For(receiver);
            if (candidates is null) return;
            var named = candidates.Where(m => m.Name == name).ToArray();
            if (named.Length == 0)
            {
                var where = methods.Given
                    ? $"in the assemblies a single-file application gives it: Serilog's, this family's, Serilog.Sinks.Console and those \"{topPath}:Using\" lists"
                    : $"in an assembly whose name contains \"Serilog\", or that \"{topPath}:Using\" lists";
                var otherwise = methods.Given ? $" Is its package referenced, and listed in \"{topPath}:Using\"?" : " Is its package referenced?";
                throw new InvalidOperationException(
                    $"The \"{nameKey.Path}\" setting must name {Noun(receiver)} method Serilog.Settings.Configuration finds (a public static " +
                    $"extension method of {receiver.Name} {where}); '{name}' is none, and the reader would leave the entry out." +
                    Suggestion(name, candidates, otherwise));
            }

            var given = args.Select(a => a.Key).ToArray();
            var selected = named
                .Where(m => m.GetParameters().Skip(1).All(p => IsImplicit(p) || Gives(given, p)))
                .OrderByDescending(m => Matched(m, given).Count())
                .ThenByDescending(m => Matched(m, given).Count(p => p.ParameterType == typeof(string)))
                .FirstOrDefault();
            if (selected is null)
            {
                var closest = named.OrderBy(m => Missing(m, given).Count()).First();
                var missing = Missing(closest, given).First();
                throw new InvalidOperationException(
                    $"The \"{ConfigurationPath.Combine(entry.Path, ArgsKey, missing.Name!)}\" setting is missing: {Signature(closest)} has no " +
                    $"default for it, and no {name} method takes the arguments the entry gives " +
                    $"({(given.Length == 0 ? "none" : string.Join(", ", given))}), so the reader would leave the entry out.");
            }

            var parameters = selected.GetParameters().Skip(1)
                .Select(p => (Type: p.ParameterType, Argument: args.FirstOrDefault(a => string.Equals(a.Key, p.Name, StringComparison.OrdinalIgnoreCase))))
                .Where(p => p.Argument is not null)
                .ToArray();
            // The reader converts every argument before it calls the method, which reads the lists of its arguments.
            foreach (var (type, argument) in parameters)
                if (type == typeof(LoggingLevelSwitch)) LevelSwitch(argument!);
            foreach (var (type, argument) in parameters)
                if (type != typeof(LoggingLevelSwitch)) Nested(argument!, type);
        }

        void LevelSwitch(IConfigurationSection argument)
        {
            // An empty one too: the reader looks up a switch named "".
            if (argument.Value is not { } given) return;
            // The reader expands environment variables in an argument's text before it looks the switch up.
            var switchName = Environment.ExpandEnvironmentVariables(given);
            if (Refused(switchName) is not { } refused) return;
            // A switch is referred to with its "$", declared with it or without.
            var meant = switchName.Length > 0 && switchName[0] != '$' && Refused("$" + switchName) is null ? $" Did you mean '${switchName}'?" : "";
            throw new InvalidOperationException(
                $"The \"{argument.Path}\" setting must be the name of a switch declared in \"{topPath}:LevelSwitches\" (\"$name\"); " +
                $"it is '{given}'{(switchName == given ? "" : $" ('{switchName}')")}.{meant}", refused);
        }

        /// <summary>What the reader throws looking up the name, among the top logger's switches and those declared so far.</summary>
        Exception? Refused(string switchName)
        {
            if (switchRefused(switchName, null) is not { } refused) return null;
            foreach (var declared in _declaredInside)
                if (switchRefused(switchName, declared) is null) return null;
            return refused;
        }

        void Nested(IConfigurationSection argument, Type type)
        {
            // The argument types the reader builds from a section of entries (a plain value is converted otherwise).
            if (argument.Value is not null || !type.IsGenericType || type.GetGenericTypeDefinition() != typeof(Action<>)) return;
            var configured = type.GenericTypeArguments[0];
            if (configured == typeof(LoggerConfiguration))
            {
                arguments.AddLogger(argument.Path);
                Section(argument);
            }
            else if (configured == typeof(LoggerSinkConfiguration) || configured == typeof(LoggerEnrichmentConfiguration))
            {
                arguments.AddEntryList(argument.Path);
                List(argument, configured);
            }
        }
    }

    static bool IsImplicit(ParameterInfo parameter) => parameter.HasDefaultValue || parameter.ParameterType == typeof(IConfiguration);

    static bool Gives(string[] given, ParameterInfo parameter) => given.Any(g => string.Equals(g, parameter.Name, StringComparison.OrdinalIgnoreCase));

    static IEnumerable<ParameterInfo> Matched(MethodInfo method, string[] given) => method.GetParameters().Where(p => Gives(given, p));

    static IEnumerable<ParameterInfo> Missing(MethodInfo method, string[] given) =>
        method.GetParameters().Skip(1).Where(p => !IsImplicit(p) && !Gives(given, p));

    static string Signature(MethodInfo method) => $"{method.Name}({string.Join(", ", method.GetParameters().Skip(1).Select(p => p.Name))})";

    static string Noun(Type receiver) =>
        receiver == typeof(LoggerSinkConfiguration) ? "a sink"
        : receiver == typeof(LoggerAuditSinkConfiguration) ? "an audit sink"
        : receiver == typeof(LoggerEnrichmentConfiguration) ? "an enricher"
        : receiver == typeof(LoggerFilterConfiguration) ? "a filter"
        : "a destructuring";

    /// <summary>The name meant: the same in another case, else the nearest within a third of its length (at least 2 edits).</summary>
    static string Suggestion(string name, IReadOnlyCollection<MethodInfo> candidates, string otherwise)
    {
        var names = candidates.Select(m => m.Name).Distinct(StringComparer.Ordinal).ToArray();
        if (names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) is { } other)
            return $" Did you mean '{other}'? Names are case-sensitive.";
        var limit = Math.Max(2, name.Length / 3);
        var nearest = names
            .Select(n => (Name: n, Distance: EditDistance(name.ToUpperInvariant(), n.ToUpperInvariant())))
            .Where(c => c.Distance <= limit)
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return nearest.Name is null ? otherwise : $" Did you mean '{nearest.Name}'?";
    }

    /// <summary>The number of single-character insertions, deletions and substitutions between the two.</summary>
    static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>The methods the reader chooses from, per configuration type.</summary>
    sealed class Methods
    {
        readonly Assembly[] _assemblies;
        readonly Dictionary<Type, MethodInfo[]?> _byReceiver = [];
        // The public static extension methods of the assemblies' public static classes, read once for every list.
        MethodInfo[]? _extensionMethods;

        Methods(Assembly[] assemblies, bool given)
        {
            _assemblies = assemblies;
            Given = given;
        }

        /// <summary>Whether the reader is given its assemblies (a single-file application) rather than finding them.</summary>
        public bool Given { get; }

        /// <summary>Null when the reader's assemblies cannot be known or read: the check is then left to the reader.</summary>
        public static Methods? Find(IConfigurationSection section, Assembly[]? readerAssemblies)
        {
            // Given the assemblies (a single-file application), the reader looks through those alone and reads no "Using".
            if (readerAssemblies is not null) return new Methods(readerAssemblies, given: true);
            HashSet<string?> usingNames;
            try
            {
                usingNames = section.GetSection("Using").GetChildren()
                    .Select(u => u.Value).Where(v => !string.IsNullOrWhiteSpace(v))
                    .Select(v => new AssemblyName(v!).Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
                // The reader loads the assemblies of "Using" and those it finds by name when it reads any section; this
                // section holds nothing else, so nothing is built.
                var usingOnly = new ConfigurationBuilder().AddInMemoryCollection(section.GetSection("Using").GetChildren()
                    .Select(u => KeyValuePair.Create(ConfigurationPath.Combine("Serilog", "Using", u.Key), u.Value))).Build();
                new LoggerConfiguration().ReadFrom.Configuration(usingOnly).CreateLogger().Dispose();
            }
            catch (Exception)
            {
                // What fails here (an assembly of "Using" that is no name or does not load) fails the section's own read,
                // with the reader's message.
                return null;
            }
            var assemblies = AppDomain.CurrentDomain.GetAssemblies()
                .Where(a => !a.IsDynamic && a.GetName().Name is { } name
                    && (name.Contains("serilog", StringComparison.OrdinalIgnoreCase) || usingNames.Contains(name)))
                .ToArray();
            return new Methods(assemblies, given: false);
        }

        /// <summary>Null when they cannot be read (an assembly whose types do not load, no stand-ins found).</summary>
        public MethodInfo[]? For(Type receiver)
        {
            if (_byReceiver.TryGetValue(receiver, out var found)) return found;
            try
            {
                if (Surrogates(receiver) is not { } surrogates)
                {
                    _byReceiver[receiver] = null;
                    return null;
                }
                _extensionMethods ??= _assemblies
                    .SelectMany(a => a.GetExportedTypes())
                    .Where(t => t is { IsSealed: true, IsAbstract: true, IsNested: false })
                    .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
                    .Where(m => IsExtension(m) && m.GetParameters().Length > 0)
                    .ToArray();
                found = _extensionMethods
                    .Where(m => m.GetParameters()[0].ParameterType == receiver)
                    .Concat(surrogates)
                    .ToArray();
            }
            catch (Exception)
            {
                // The reader would fail on it too, with its own message; nothing is refused here.
                found = null;
            }
            _byReceiver[receiver] = found;
            return found;
        }

        static bool IsExtension(MethodInfo method)
        {
            try
            {
                // By name, as the reader does, so that a polyfilled attribute counts too.
                return method.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.ExtensionAttribute");
            }
            catch (CustomAttributeFormatException)
            {
                return false;
            }
        }

        /// <summary>
        /// The reader's stand-ins for Serilog's instance methods it offers (<c>FromLogContext</c>, <c>Logger</c>, <c>Sink</c>,
        /// from 10.0 <c>FallbackChain</c>): the static methods of its <c>SurrogateConfigurationMethods</c> whose first
        /// parameter is <paramref name="receiver"/>, which it reads the same way. Null when a reader of another shape has none.
        /// </summary>
        static IEnumerable<MethodInfo>? Surrogates(Type receiver) =>
            typeof(ConfigurationReaderOptions).Assembly.GetType("Serilog.Settings.Configuration.SurrogateConfigurationMethods", throwOnError: false)
                ?.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(m => m.GetParameters() is { Length: > 0 } parameters && parameters[0].ParameterType == receiver);
    }
}
