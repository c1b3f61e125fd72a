using Serilog.Configuration;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction;
using Serilog.Extensions.Observability.Sinks.RollingJson;

namespace Serilog.Extensions.Observability;

/// <summary>
/// What <c>WithObservability()</c> wires together. Every method returns the same instance, so calls chain;
/// calling <c>WithObservability()</c> again on the same configuration continues with the same options.
/// </summary>
public sealed class ObservabilityOptions
{
    /// <summary>
    /// The console text template: time, level, correlation id and message. An event without a correlation id is written
    /// without it: <c>[12:00:00 INF] message</c>.
    /// </summary>
    public const string DefaultConsoleTemplate =
        "[{Timestamp:HH:mm:ss} {Level:u3}] {CorrelationId} {Message:lj}{NewLine}{Exception}";

    readonly List<Action<RedactionOptions>> _redaction = new();
    readonly List<Action<LoggerSinkConfiguration>> _sinks = new();
    readonly Dictionary<string, LogEventLevel> _overrides = new(StringComparer.Ordinal);

    // The sources this instance's MinimumLevel() set: one call applies only these, so it does not undo an override the
    // user set by hand after an earlier call. Not copied: each call starts from a fresh clone.
    readonly HashSet<string> _overridesSet = new(StringComparer.Ordinal);

    internal ObservabilityOptions()
    {
        // In a container, logs are collected from stdout as JSON lines.
        ConsoleFormat = string.Equals(System.Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER"), "true", StringComparison.OrdinalIgnoreCase)
            ? ObservabilityConsoleFormat.Clef
            : ObservabilityConsoleFormat.Text;
    }

    /// <summary>The service name, written as <c>ServiceName</c> on every event; <see langword="null"/> (the default) writes none.</summary>
    public string? ServiceName { get; private set; }

    /// <summary>The service version, written as <c>ServiceVersion</c>; default none.</summary>
    public string? ServiceVersion { get; private set; }

    /// <summary>The deployment environment, written as <c>Environment</c>; default none.</summary>
    public string? EnvironmentName { get; private set; }

    /// <summary>The enrichers added. The default is <see cref="ObservabilityEnrichers.All"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value has a bit that is not one of the enum's flags.</exception>
    public ObservabilityEnrichers Enrichers
    {
        get => _enrichers;
        set => _enrichers = CheckEnrichers(value, nameof(Enrichers));
    }

    ObservabilityEnrichers _enrichers = ObservabilityEnrichers.All;

    /// <summary>
    /// The console output. The default is <see cref="ObservabilityConsoleFormat.Text"/>, or
    /// <see cref="ObservabilityConsoleFormat.Clef"/> when <c>DOTNET_RUNNING_IN_CONTAINER</c> is <c>true</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not one of the enum's members.</exception>
    public ObservabilityConsoleFormat ConsoleFormat
    {
        get => _consoleFormat;
        set => _consoleFormat = Enum.IsDefined(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ConsoleFormat), value, "Not a console format: use Text, Clef, FlatJson or None.");
    }

    ObservabilityConsoleFormat _consoleFormat;

    /// <summary>
    /// The text template used with <see cref="ObservabilityConsoleFormat.Text"/>; default <see cref="DefaultConsoleTemplate"/>.
    /// On an event without a <c>CorrelationId</c> (or with a null or empty one), a <c>{CorrelationId}</c> token and the space after it are left out; an
    /// aligned one (<c>{CorrelationId,-12}</c>) is replaced by as many spaces as its width, so the columns after it stay in place.
    /// </summary>
    /// <exception cref="ArgumentException">The value is null, empty or white space.</exception>
    public string ConsoleTemplate
    {
        get => _consoleTemplate;
        set => _consoleTemplate = Guard.NotNullOrWhiteSpace(value, nameof(ConsoleTemplate));
    }

    string _consoleTemplate = DefaultConsoleTemplate;

    /// <summary>The rolling JSON file path, or <see langword="null"/> (the default) for no file.</summary>
    public string? RollingJsonPath { get; private set; }

    /// <summary>The rolling JSON file's options; its defaults unless <see cref="RollingJson"/> changed them.</summary>
    public RollingJsonOptions RollingJsonOptions { get; private set; } = new();

    internal IReadOnlyList<Action<RedactionOptions>> RedactionActions => _redaction;

    internal IReadOnlyList<Action<LoggerSinkConfiguration>> SinkActions => _sinks;

    internal IReadOnlyDictionary<string, LogEventLevel> MinimumLevelOverrides => _overrides;

    internal IReadOnlyCollection<string> MinimumLevelOverridesSetHere => _overridesSet;

    /// <summary>Names the service on every event (<c>ServiceName</c>, <c>ServiceVersion</c>, <c>Environment</c>).</summary>
    /// <param name="name">The service name; must not be empty.</param>
    /// <param name="version">The service version, or <see langword="null"/> to keep the one set before (none by default); must not be empty.</param>
    /// <param name="environment">The deployment environment (for example <c>Production</c>), or <see langword="null"/> to keep
    /// the one set before (in ASP.NET Core, <c>AddObservability()</c> sets the host's environment name); must not be empty.</param>
    /// <returns>The same options.</returns>
    public ObservabilityOptions Service(string name, string? version = null, string? environment = null)
    {
        // All checked before any is kept: a rejected call changes nothing.
        Guard.NotNullOrWhiteSpace(name);
        if (version is not null) Guard.NotNullOrWhiteSpace(version);
        if (environment is not null) Guard.NotNullOrWhiteSpace(environment);
        ServiceName = name;
        ServiceVersion = version ?? ServiceVersion;
        EnvironmentName = environment ?? EnvironmentName;
        return this;
    }

    /// <summary>Leaves out the given enrichers, for example <c>Without(ObservabilityEnrichers.ThreadId)</c>.</summary>
    /// <param name="enrichers">The enrichers not to add.</param>
    /// <returns>The same options.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="enrichers"/> has a bit that is not one of the enum's flags.</exception>
    public ObservabilityOptions Without(ObservabilityEnrichers enrichers)
    {
        Enrichers &= ~CheckEnrichers(enrichers, nameof(enrichers));
        return this;
    }

    /// <summary>An undefined bit names no enricher: accepted, it would silently turn nothing on or off.</summary>
    static ObservabilityEnrichers CheckEnrichers(ObservabilityEnrichers value, string name) =>
        (value & ~ObservabilityEnrichers.All) == 0
            ? value
            : throw new ArgumentOutOfRangeException(name, value,
                "Use only the flags ObservabilityEnrichers defines: LogContext, Correlation, Span, User, ThreadId and PipelineTiming, combined with |.");

    /// <summary>
    /// Adjusts the redaction rules used by the destructuring policy, the event pass and the sink wrapper.
    /// Redaction itself is always on. Several calls apply in order, to the Redaction package's defaults plus
    /// <see cref="RedactionOptions.DetectEmbeddedCredentials"/> (a password in a connection string or URL logged as text),
    /// <see cref="RedactionOptions.DetectJwts"/> (a JSON Web Token in any text) and
    /// <see cref="RedactionOptions.DetectKnownTokenFormats"/> (a PEM private key, or an AWS, GitHub, Slack, Stripe or
    /// Google token in any text), which <c>r =&gt; r.DetectEmbeddedCredentials = false</c>, <c>r =&gt; r.DetectJwts = false</c>
    /// and <c>r =&gt; r.DetectKnownTokenFormats = false</c> turn off.
    /// </summary>
    /// <param name="configure">Changes the rules: keys to add or exclude, the mask, detectors.</param>
    /// <returns>The same options.</returns>
    public ObservabilityOptions Redaction(Action<RedactionOptions> configure)
    {
        _redaction.Add(Guard.NotNull(configure));
        return this;
    }

    /// <summary>Writes to the console in the given format; <see cref="ObservabilityConsoleFormat.None"/> writes nothing there.</summary>
    /// <param name="format">The console format.</param>
    /// <param name="template">The text template, only with <see cref="ObservabilityConsoleFormat.Text"/>; <see langword="null"/>
    /// keeps the one set before (<see cref="DefaultConsoleTemplate"/> by default).</param>
    /// <returns>The same options.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not one of the enum's members.</exception>
    /// <exception cref="ArgumentException"><paramref name="template"/> is empty or white space, or given with a format other than
    /// <see cref="ObservabilityConsoleFormat.Text"/>, which would not use it.</exception>
    public ObservabilityOptions Console(ObservabilityConsoleFormat format, string? template = null)
    {
        // All checked before any is kept: a rejected call changes nothing.
        if (!Enum.IsDefined(format))
            throw new ArgumentOutOfRangeException(nameof(format), format, "Not a console format.");
        if (template is not null)
        {
            Guard.NotNullOrWhiteSpace(template);
            if (format != ObservabilityConsoleFormat.Text)
                throw new ArgumentException($"A template only applies to the Text console format; {format} does not use one.", nameof(template));
        }
        ConsoleFormat = format;
        if (template is not null) ConsoleTemplate = template;
        return this;
    }

    /// <summary>Writes newline-delimited JSON (CLEF by default) to rolling files at <paramref name="path"/>.</summary>
    /// <param name="path">The file path, for example <c>logs/app-.json</c>; must not be empty.</param>
    /// <param name="configure">Adjusts the file sink's options (interval, size, retention, formatter...).</param>
    /// <returns>The same options.</returns>
    public ObservabilityOptions RollingJson(string path, Action<RollingJsonOptions>? configure = null)
    {
        RollingJsonPath = Guard.NotNullOrWhiteSpace(path);
        var options = new RollingJsonOptions();
        configure?.Invoke(options);
        RollingJsonOptions = options;
        return this;
    }

    /// <summary>
    /// Adds sinks that receive every event after the same redaction as the console and the rolling JSON file: the
    /// message template's text, the rendered values and the exception are masked too, which a sink added beside
    /// <c>WithObservability()</c> with <c>WriteTo</c> does not get (it sees only the enricher's masking of properties).
    /// Each call adds; <paramref name="configure"/> runs each time <c>WithObservability()</c> builds its sinks, and a
    /// later <c>WithObservability()</c> call on the same configuration disposes the sinks it built before: create the
    /// sinks inside <paramref name="configure"/> rather than passing one instance in, which would be disposed and then
    /// written to again.
    /// </summary>
    /// <param name="configure">Adds the sinks, for example <c>w =&gt; w.File("logs/app.txt")</c>.</param>
    /// <returns>The same options.</returns>
    public ObservabilityOptions WriteTo(Action<LoggerSinkConfiguration> configure)
    {
        _sinks.Add(Guard.NotNull(configure));
        return this;
    }

    /// <summary>Sets the minimum level for events whose source context starts with <paramref name="source"/>.</summary>
    /// <remarks>
    /// It is Serilog's <c>MinimumLevel.Override</c> on the configuration <c>WithObservability()</c> is called on: in a root
    /// logger it raises or lowers that source's level (below the default level too). Serilog applies overrides only when
    /// a logger is made for a source (<c>ForContext&lt;T&gt;()</c>, <c>ILogger&lt;T&gt;</c>), which a sub-logger never does:
    /// on a sub-logger's configuration (<c>WriteTo.Logger(lc =&gt; lc.WithObservability(...))</c>) it does nothing, and the
    /// sub-logger gets no event below its parent's level either. A <c>MinimumLevel.Override</c> for the same source added
    /// after <c>WithObservability()</c> wins.
    /// </remarks>
    /// <param name="source">A namespace or type name prefix, for example <c>Microsoft.AspNetCore</c>.</param>
    /// <param name="level">The minimum level for that source.</param>
    /// <returns>The same options.</returns>
    public ObservabilityOptions MinimumLevel(string source, LogEventLevel level)
    {
        Guard.NotNullOrWhiteSpace(source);
        if (!Enum.IsDefined(level))
            throw new ArgumentOutOfRangeException(nameof(level), level, "Not a log event level.");
        _overrides[source] = level;
        _overridesSet.Add(source);
        return this;
    }

    /// <summary>A copy for one <c>WithObservability()</c> call to change: kept only if what it builds is valid.</summary>
    internal ObservabilityOptions Clone()
    {
        var copy = new ObservabilityOptions();
        copy.CopyFrom(this);
        // Its own file options too: a call may change them through the getter, and a call that fails must not keep that.
        copy.RollingJsonOptions = RollingJsonOptions.Clone();
        return copy;
    }

    /// <summary>Takes every setting of <paramref name="other"/>.</summary>
    internal void CopyFrom(ObservabilityOptions other)
    {
        ServiceName = other.ServiceName;
        ServiceVersion = other.ServiceVersion;
        EnvironmentName = other.EnvironmentName;
        Enrichers = other.Enrichers;
        _consoleFormat = other._consoleFormat;
        _consoleTemplate = other._consoleTemplate;
        RollingJsonPath = other.RollingJsonPath;
        RollingJsonOptions = other.RollingJsonOptions;
        if (!ReferenceEquals(_redaction, other._redaction))
        {
            _redaction.Clear();
            _redaction.AddRange(other._redaction);
        }
        if (!ReferenceEquals(_sinks, other._sinks))
        {
            _sinks.Clear();
            _sinks.AddRange(other._sinks);
        }
        if (!ReferenceEquals(_overrides, other._overrides))
        {
            _overrides.Clear();
            foreach (var (source, level) in other._overrides) _overrides[source] = level;
        }
    }

    internal void ApplyRedaction(RedactionOptions options)
    {
        // Connection strings and URLs with a password in them are the secrets most often logged as plain text, and a
        // token is written whole into authentication failures (Microsoft.IdentityModel with its PII switches on). Bearer
        // tokens are left to the user: that detector also takes "bearer" in prose for a scheme. Cloud and source-host
        // tokens and private keys have shapes of their own, which ordinary text does not take.
        options.DetectEmbeddedCredentials = true;
        options.DetectJwts = true;
        options.DetectKnownTokenFormats = true;
        foreach (var action in _redaction) action(options);
    }
}
