using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace Serilog.Extensions.Observability.AspNetCore.Hosting;

/// <summary>
/// The application's configuration with part of the <c>"Serilog"</c> section left out, so that
/// <c>AddObservability()</c> can read the section's plain sinks (the <c>"WriteTo"</c> entries that are not already
/// <c>"Redacted"</c>) into a logger of their own, written to behind <c>WithObservability()</c>'s redaction, and the
/// rest of the section into the application's logger. Without it a plain sink would get only the enricher's masking of
/// properties, and the message template's text and the exception as logged. Reads and reload tokens go to the
/// configuration itself, so a reload still reaches both readers.
/// Every view, the whole one too, reads an empty value of a key that holds others as no value: WebApplicationFactory
/// gives the application the settings a test adds (<c>UseSetting("Serilog:WriteTo:1:Args:path", ...)</c>) as
/// command-line arguments, one for each key on their path, so <c>"Serilog:WriteTo:1"</c> and the others above the
/// setting are <c>""</c> there, which Serilog.Settings.Configuration would read as a sink named <c>""</c> (left out)
/// or a level <c>""</c> (an exception).
/// An empty value that a source gives an entry of one of the section's lists without any key below it
/// (<c>Serilog__WriteTo__0=</c>, over the entry appsettings.json writes) is not such a placeholder: it switches the entry
/// off, as Serilog.Settings.Configuration on its own does when it reads it as a sink named <c>""</c>, and every view
/// leaves that entry out.
/// </summary>
internal class SerilogSinksView : IConfiguration
{
    const string SectionName = "Serilog";
    const string WriteTo = "WriteTo";

    readonly IConfiguration _configuration;
    readonly bool? _plainSinksOnly;

    /// <param name="configuration">The application's configuration.</param>
    /// <param name="plainSinksOnly"><see langword="true"/>: only <c>"Using"</c>, <c>"LevelSwitches"</c> and the plain
    /// <c>"WriteTo"</c> entries of the section; <see langword="false"/>: everything but those entries;
    /// <see langword="null"/>: the whole section.</param>
    /// <param name="arguments">The list arguments found so far (shared by a view over this one).</param>
    SerilogSinksView(IConfiguration configuration, bool? plainSinksOnly, ListArguments arguments)
    {
        _configuration = configuration;
        _plainSinksOnly = plainSinksOnly;
        Arguments = arguments;
    }

    /// <summary>The arguments of the section's entries that the reader reads as lists; <see cref="SectionMethods"/> adds them.</summary>
    public ListArguments Arguments { get; }

    /// <summary>
    /// The view of <paramref name="configuration"/>; an <see cref="IConfigurationRoot"/> itself when that is one.
    /// Serilog.Settings.Configuration looks for the root to decide between <c>"MinimumLevel": "Warning"</c> and
    /// <c>"MinimumLevel": { "Default": "Debug" }</c> given by two sources (appsettings.json and an environment
    /// variable): with it the source added last wins, without it the plain value always does.
    /// </summary>
    /// <param name="configuration">The application's configuration.</param>
    /// <param name="plainSinksOnly">See the constructor.</param>
    public static SerilogSinksView Over(IConfiguration configuration, bool? plainSinksOnly)
    {
        var arguments = (configuration as SerilogSinksView)?.Arguments ?? new ListArguments();
        return configuration is IConfigurationRoot root
            ? new RootView(root, plainSinksOnly, arguments)
            : new SerilogSinksView(configuration, plainSinksOnly, arguments);
    }

    /// <summary>Whether the section lists a sink directly under <c>"WriteTo"</c>, not inside <c>"Redacted"</c>.</summary>
    public static bool HasPlainSinks(IConfiguration configuration) =>
        configuration.GetSection(SectionName).GetSection(WriteTo).GetChildren().Any(entry => !IsRedacted(entry));

    public string? this[string key]
    {
        get => IsHidden(key) ? null : ValueOf(_configuration.GetSection(key));
        set => _configuration[key] = value;
    }

    public IConfigurationSection GetSection(string key) => new Section(this, _configuration.GetSection(key));

    public IEnumerable<IConfigurationSection> GetChildren() => Visible(_configuration.GetChildren());

    public IChangeToken GetReloadToken() => _configuration.GetReloadToken();

    IEnumerable<IConfigurationSection> Visible(IEnumerable<IConfigurationSection> children) =>
        children.Where(child => !IsHidden(child.Path)).Select(child => new Section(this, child));

    /// <summary>Whether the key at <paramref name="path"/>, or a section holding it, is left out of this view.</summary>
    bool IsHidden(string path)
    {
        var segments = path.Split(ConfigurationPath.KeyDelimiter);
        if (segments.Length < 2 || !string.Equals(segments[0], SectionName, StringComparison.OrdinalIgnoreCase)) return false;
        if (IsInsideSwitchedOffEntry(segments)) return true;
        if (_plainSinksOnly is not { } plainSinksOnly) return false;
        var top = segments[1];
        var isWriteTo = string.Equals(top, WriteTo, StringComparison.OrdinalIgnoreCase);
        if (plainSinksOnly && !isWriteTo && !string.Equals(top, "Using", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(top, "LevelSwitches", StringComparison.OrdinalIgnoreCase))
            return true;
        if (!isWriteTo || segments.Length < 3) return false;
        var redacted = IsRedacted(_configuration.GetSection(ConfigurationPath.Combine(SectionName, WriteTo, segments[2])));
        return plainSinksOnly ? redacted : !redacted;
    }

    /// <summary>
    /// Whether one of the list entries on the path (a numbered key, or any key of a list the reader reads: an object-form
    /// <c>"WriteTo": { "File": {...} }</c>, the list of an entry's argument) is switched off (see the class).
    /// </summary>
    bool IsInsideSwitchedOffEntry(string[] segments)
    {
        if (_configuration is not IConfigurationRoot root) return false;
        for (var i = 2; i < segments.Length; i++)
        {
            if (!IsEntryNumber(segments[i]) && !IsList(segments, i - 1)) continue;
            var entry = string.Join(ConfigurationPath.KeyDelimiter, segments, 0, i + 1);
            if (IsSwitchedOff(root, entry)) return true;
        }
        return false;
    }

    /// <summary>
    /// Whether the key at <paramref name="index"/> is a list whose entries Serilog.Settings.Configuration reads by any key,
    /// numbered or not: the section's <c>"WriteTo"</c>, <c>"AuditTo"</c>, <c>"Enrich"</c>, <c>"Filter"</c> or
    /// <c>"Destructure"</c>, an argument it reads as a list (see <see cref="ListArguments"/>), or one of those lists of
    /// an argument it reads as a logger's section. Only there: the same name elsewhere is an entry's key of the
    /// application's choosing (<c>"WriteTo": { "Filter": {...} }</c>), and an argument of another type is no list.
    /// </summary>
    bool IsList(string[] segments, int index)
    {
        if (index == 1) return IsLoggerList(segments[index]);
        return Arguments.IsEntryList(string.Join(ConfigurationPath.KeyDelimiter, segments, 0, index + 1))
            || IsLoggerList(segments[index]) && Arguments.IsLogger(string.Join(ConfigurationPath.KeyDelimiter, segments, 0, index));
    }

    static bool IsLoggerList(string key) =>
        key.Equals(WriteTo, StringComparison.OrdinalIgnoreCase) || key.Equals("AuditTo", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Enrich", StringComparison.OrdinalIgnoreCase) || key.Equals("Filter", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Destructure", StringComparison.OrdinalIgnoreCase);

    static bool IsEntryNumber(string key)
    {
        foreach (var c in key)
            if (!char.IsAsciiDigit(c)) return false;
        return key.Length > 0;
    }

    /// <summary>
    /// Whether the source whose value the entry at <paramref name="path"/> takes (the last one that sets it) sets it empty
    /// without any key below it, while the entry holds keys from other sources.
    /// </summary>
    static bool IsSwitchedOff(IConfigurationRoot root, string path)
    {
        var entry = root.GetSection(path);
        if (entry.Value is not { Length: 0 } || !entry.GetChildren().Any()) return false;
        foreach (var provider in root.Providers.Reverse())
        {
            if (provider.TryGet(path, out var value))
                return value is { Length: 0 } && !provider.GetChildKeys([], path).Any();
        }
        return false;
    }

    /// <summary>The section's value; null when that is empty and the section holds keys (see the class).</summary>
    static string? ValueOf(IConfigurationSection section) =>
        section.Value is { Length: 0 } && section.GetChildren().Any() ? null : section.Value;

    /// <summary>A <c>"WriteTo"</c> entry naming the <c>Redacted</c> sink (<c>{"Name": "Redacted"}</c> or <c>"Redacted"</c>).</summary>
    static bool IsRedacted(IConfigurationSection entry) =>
        string.Equals(entry["Name"] ?? entry.Value, "Redacted", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The arguments of the section's entries, by path, that Serilog.Settings.Configuration reads as a list of entries (a
    /// parameter of type <c>Action&lt;LoggerSinkConfiguration&gt;</c> or <c>Action&lt;LoggerEnrichmentConfiguration&gt;</c>:
    /// Async's and Redacted's <c>"configure"</c>, AtLevel's <c>"configureEnricher"</c>, a wrapper's
    /// <c>"configureWrappedSink"</c>) or as a logger's section (<c>Action&lt;LoggerConfiguration&gt;</c>: Logger's
    /// <c>"configureLogger"</c>). The reader goes by the parameter's type in the method it selects for the entry, not
    /// by the argument's name, so they are added by <see cref="SectionMethods"/>, which selects it as the reader does,
    /// each before it reads the argument's entries; only then are the section's loggers built.
    /// </summary>
    internal sealed class ListArguments
    {
        readonly HashSet<string> _entryLists = new(StringComparer.OrdinalIgnoreCase);
        readonly HashSet<string> _loggers = new(StringComparer.OrdinalIgnoreCase);

        public void AddEntryList(string path) => _entryLists.Add(path);

        public void AddLogger(string path) => _loggers.Add(path);

        public bool IsEntryList(string path) => _entryLists.Contains(path);

        public bool IsLogger(string path) => _loggers.Contains(path);
    }

    /// <summary>The view of a configuration root: its providers and reload are the root's.</summary>
    sealed class RootView(IConfigurationRoot root, bool? plainSinksOnly, ListArguments arguments)
        : SerilogSinksView(root, plainSinksOnly, arguments), IConfigurationRoot
    {
        public IEnumerable<IConfigurationProvider> Providers => root.Providers;

        public void Reload() => root.Reload();
    }

    sealed class Section : IConfigurationSection
    {
        readonly SerilogSinksView _view;
        readonly IConfigurationSection _section;

        public Section(SerilogSinksView view, IConfigurationSection section)
        {
            _view = view;
            _section = section;
        }

        public string Key => _section.Key;

        public string Path => _section.Path;

        public string? Value
        {
            get => _view.IsHidden(Path) ? null : ValueOf(_section);
            set => _section.Value = value;
        }

        public string? this[string key]
        {
            get => _view[ConfigurationPath.Combine(Path, key)];
            set => _section[key] = value;
        }

        public IConfigurationSection GetSection(string key) => new Section(_view, _section.GetSection(key));

        public IEnumerable<IConfigurationSection> GetChildren() =>
            _view.IsHidden(Path) ? Enumerable.Empty<IConfigurationSection>() : _view.Visible(_section.GetChildren());

        public IChangeToken GetReloadToken() => _section.GetReloadToken();
    }
}
