using System.Collections.Frozen;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Serilog.AspNetCore;
using Serilog.Events;
using Serilog.Extensions.Observability;
using Serilog.Extensions.Observability.AspNetCore;
using Serilog.Extensions.Observability.AspNetCore.Correlation;
using Serilog.Extensions.Observability.AspNetCore.Hosting;
using Serilog.Extensions.Observability.AspNetCore.RequestLogging;
using Serilog.Extensions.Observability.Redaction;
using Serilog.Extensions.Logging;
using Serilog.Settings.Configuration;

namespace Serilog;

/// <summary>Host setup for Serilog.Extensions.Observability.</summary>
public static class ObservabilityHostApplicationBuilderExtensions
{
    /// <summary>The configuration section request logging options are bound from.</summary>
    public const string RequestLoggingSection = "Serilog:RequestLogging";

    /// <summary>The configuration section the options of <c>UseCorrelation()</c> are bound from.</summary>
    public const string CorrelationSection = "Serilog:Correlation";

    /// <summary>
    /// Creates the application's Serilog logger from the <c>"Serilog"</c> configuration section
    /// (Serilog.Settings.Configuration) plus <c>WithObservability()</c> for whatever the section does not set,
    /// makes it the Microsoft.Extensions.Logging provider (so <c>ILogger&lt;T&gt;</c> events are enriched too) in place of
    /// the host's default providers (console, debug, EventSource, EventLog) and any other Serilog provider registered
    /// before this call (one added after it stays, and writes each event again), keeping the other providers the
    /// application registers (OpenTelemetry's), before this call or after it, and
    /// <see cref="Log.Logger"/>, registers <see cref="IDiagnosticContext"/> and Serilog's <see cref="ILogger"/>,
    /// binds <see cref="RequestLoggingOptions"/> from <c>"Serilog:RequestLogging"</c> and
    /// <see cref="CorrelationOptions"/> from <c>"Serilog:Correlation"</c>, and flushes the logger when
    /// the host is disposed. Events written after that (a <c>Log.Fatal</c> in <c>Program.cs</c>'s catch block around
    /// <c>app.Run()</c>, an <c>ILogger&lt;T&gt;</c> of a worker still running) go to a fresh logger from the same
    /// configuration, closed by <c>Log.CloseAndFlush()</c> or when the process exits. That holds while <see cref="Log.Logger"/> is still this host's logger: when another host's
    /// <c>AddObservability()</c> has replaced it, the other host's logger stays <see cref="Log.Logger"/>. In a web host it also puts a middleware before everything the application adds, which
    /// answers an exception that escaped every handler with the correlation id (see <c>UseCorrelation()</c>).
    /// </summary>
    /// <remarks>
    /// Defaults for what the section leaves out: no console sink is added when the section has a <c>"WriteTo"</c>
    /// entry, an enricher the section's <c>"Enrich"</c> list names is not added again with default arguments,
    /// <c>Microsoft.AspNetCore</c> is logged at <see cref="LogEventLevel.Warning"/> unless the section overrides that
    /// namespace or one holding it (<c>Microsoft</c>) or sets a default level above Warning (also through a configuration
    /// reload), and <c>ServiceName</c>/<c>Environment</c> are the host's application and environment names. Sinks listed directly
    /// under <c>"WriteTo"</c> (not inside <c>"Redacted"</c>) are written to inside the same redaction as the console and
    /// file, so the message template's text and the exception are masked for them too.
    /// <paramref name="configure"/> runs last and wins.
    /// Called again on the same builder, it builds its logger from the section and its own <paramref name="configure"/>,
    /// closes the last call's logger and takes its place, and registers nothing else again. A call that fails leaves the
    /// host as the call before it set it up (with a logger rebuilt from that call's configuration) and throws.
    /// </remarks>
    /// <exception cref="InvalidOperationException">A key or value of the section is invalid; the message names the key.</exception>
    /// <param name="builder">The host application builder (<c>WebApplication.CreateBuilder()</c>, <c>Host.CreateApplicationBuilder()</c>).</param>
    /// <param name="configure">Adjusts the observability options.</param>
    /// <returns>The builder.</returns>
    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder, Action<ObservabilityOptions>? configure = null) =>
        AddObservability(builder, configure, RunsAsSingleFile());

    /// <summary>The public overload, with whether the application runs as a single-file bundle given (tests).</summary>
    internal static IHostApplicationBuilder AddObservability(IHostApplicationBuilder builder, Action<ObservabilityOptions>? configure, bool singleFile)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // The whole section, with the empty values WebApplicationFactory gives the keys above a test's settings read as none.
        var configuration = SerilogSinksView.Over(builder.Configuration, plainSinksOnly: null);
        var section = configuration.GetSection("Serilog");
        var readerAssemblies = ReaderAssemblies(singleFile, section);
        var readerOptions = readerAssemblies is null ? null : new ConfigurationReaderOptions(readerAssemblies);
        var environment = builder.Environment;
        // An ArgumentException the reader threw itself, not wrapped in TargetInvocationException: converting an "Args"
        // value's text ("restrictedToMinimumLevel": "Verbos"), not a method refusing it (see ConvertedArgumentSetting).
        ArgumentException? conversionFailure = null;
        bool ConversionFailed(ArgumentException ex)
        {
            conversionFailure = ex;
            return false;
        }
        void Read(LoggerConfiguration loggerConfiguration, IConfiguration from)
        {
            try
            {
                loggerConfiguration.ReadFrom.Configuration(from, readerOptions);
            }
            catch (ArgumentException ex) when (ConversionFailed(ex))
            {
                // Never reached: ConversionFailed returns false, so the exception goes on with its stack intact.
            }
        }
        Core.Logger CreateLogger()
        {
            // The section's plain sinks (not inside "Redacted") are read into a logger of their own, written to behind
            // the same redaction as our console and file: as sinks of the application's logger they would get the
            // message template's text and the exception as logged.
            // Built first, and closed if the rest fails: built inside WithObservability(), after the sinks the section
            // lists inside "Redacted", a plain sink that fails would leave those built, their files claimed, unclosed.
            var plainSinks = SerilogSinksView.HasPlainSinks(configuration)
                ? Build(new LoggerConfiguration().MinimumLevel.Verbose(),
                    plain => Read(plain, SerilogSinksView.Over(configuration, plainSinksOnly: true)))
                : null;
            // Once WithObservability() has taken them into its sinks, it closes them if the rest of its sinks fail.
            var plainSinksTaken = false;
            try
            {
                return Build(new LoggerConfiguration(), application =>
                {
                    Read(application, plainSinks is not null ? SerilogSinksView.Over(configuration, plainSinksOnly: false) : configuration);
                    // Before WithObservability(), so that a MinimumLevel(...) of the configure callback for the same source wins.
                    if (!SectionOverridesAspNetCore(section, OverrideNames.Comparison))
                        application.MinimumLevel.Override(AspNetCoreSource, AspNetCoreLevelSwitch(configuration, section));
                    application
                        .WithObservability(options =>
                        {
                            if (section.GetSection("WriteTo").GetChildren().Any())
                                options.Console(ObservabilityConsoleFormat.None);
                            if (plainSinks is not null)
                            {
                                options.WriteTo(writeTo =>
                                {
                                    writeTo.Sink(plainSinks);
                                    plainSinksTaken = true;
                                });
                            }
                            // An enricher the section names runs with the section's arguments; ours, with the defaults, would add
                            // what they turned off (the trace id fallback of WithCorrelation) or repeat it under another name.
                            options.Without(EnrichersNamedIn(section));
                            // The rules of our own redaction passes: the section's WithRedaction entries add passes of their own,
                            // and without this a key they exclude would still be masked by ours.
                            if (section.GetSection(RedactionSectionName) is { } redaction && redaction.Exists())
                                options.Redaction(rules => BindRedaction(redaction, rules));
                            if (environment.EnvironmentName is { Length: > 0 } environmentName && options.ServiceName is null)
                                options.Service(environment.ApplicationName is { Length: > 0 } name ? name : "app", environment: environmentName);
                            configure?.Invoke(options);
                        });
                });
            }
            catch
            {
                if (!plainSinksTaken) plainSinks?.Dispose();
                throw;
            }
        }

        // Bound once here too, so that a misspelt key or a value that does not convert fails now, as a Redaction one does,
        // not silently (an unknown key) or only at UseSerilogRequestLogging(); and before anything is closed or built, so
        // that the error leaves the previous logger in place and no file claimed.
        var requestLogging = section.GetSection(RequestLoggingSectionName);
        var requestLoggingOptions = new RequestLoggingOptions();
        BindStrictly(requestLogging, requestLoggingOptions, nameof(RequestLoggingOptions), "request logging");
        CheckRequestLoggingValues(requestLogging, requestLoggingOptions);
        // Likewise, with the header names checked by UseCorrelation()'s rule: a service that turns TrustIncomingId off
        // here fails to start on a typo rather than trusting its callers' ids.
        var correlation = section.GetSection(CorrelationSectionBinding.SectionName);
        CorrelationSectionBinding.Bind(correlation, new CorrelationOptions());
        // Likewise the levels: a second call refused by the reader after the first call's logger was closed could not
        // rebuild that logger from the section they share, and would leave the host without one.
        CheckLevels(configuration, section);
        // Likewise the entries the reader would pass over with only a SelfLog line (a misspelt sink or enricher, a missing
        // argument), a level switch argument naming no declared switch, which it refuses without naming the key, and an
        // entry without a name. This also finds the arguments the reader reads as lists, whose entries a later source may
        // switch off (see SerilogSinksView): the view reads them so from here on.
        SectionMethods.Check(section, readerAssemblies, (name, alsoDeclared) => SwitchRefused(section, name, alsoDeclared), configuration.Arguments);

        // A host another thread is still disposing may hold the files this call's logger is to write (see WaitForClosingHosts).
        LoggerLifetime.WaitForClosingHosts();

        // What this call's logger replaces is closed before it is built, not after: both come from one configuration,
        // and a RollingJson sink refuses a path that a live sink still writes (two writers would overwrite each other's
        // lines). Called again: the last call's logger is flushed and closed rather than left running, unreachable, with
        // its files open.
        var previous = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(RegisteredLogger))?.ImplementationInstance as RegisteredLogger;
        if (previous is not null)
        {
            builder.Services.RemoveAll<RegisteredLogger>();
            builder.Services.RemoveAll<LoggerLifetime>();
            builder.Services.RemoveAll<ILogger>();
            builder.Services.RemoveAll<DiagnosticContext>();
            builder.Services.Remove(previous.Provider);
            new LoggerLifetime(previous.Logger, createLateLogger: null).Dispose();
        }
        // A late logger an earlier host left as Log.Logger (several hosts in one process) is ours to close, not the
        // application's: it would otherwise keep its sinks' threads and files until the process exits.
        var closedLate = LoggerLifetime.CloseLateLogger();

        Core.Logger logger;
        try
        {
            logger = CreateLogger();
        }
        catch (Exception ex)
        {
            // This call's configuration is invalid, and the logger it was to replace is closed: Program.cs logs the
            // exception (a Log.Fatal in its catch) through Log.Logger, which must not be Logger.None. A fresh logger from
            // the configuration that built the closed one takes its place: a second call's failure leaves the host as
            // the first call set it up (an application that catches the exception still builds and runs it), and an
            // earlier host's late logger is closed as a late logger is.
            if (previous is not null) RestorePreviousCall(builder.Services, previous);
            else LoggerLifetime.RestoreAfterFailure(closedLate);
            if (InvalidArgumentSetting(section, ex) is { } setting)
                throw new InvalidOperationException($"The \"{setting.Key.Path}\" setting is invalid: {setting.Cause.Message}", ex);
            if (ConvertedArgumentSetting(section, ex, conversionFailure) is { } converted)
                throw new InvalidOperationException($"The \"{converted.Key.Path}\" setting is invalid: {converted.Cause.Message}", ex);
            throw;
        }
        lock (LoggerLifetime.StaticLoggerSwap) Log.Logger = logger;
        RegisterLogger(builder.Services, logger, CreateLogger);
        // What follows is registered once, however often this is called: a second call (a shared extension's, then the
        // application's own) would otherwise bind the section's lists twice (each entry of ExcludePaths, RequestHeaders and
        // ResponseHeaders repeated) and put its provider rule after the application's own rules, which it would overrule.
        // A call after one that left the host without a logger (see RestorePreviousCall) finds no previous logger, but the
        // rest is there.
        if (previous is not null || builder.Services.Any(d =>
            d.ServiceType == typeof(IConfigureOptions<RequestLoggingOptions>) && !d.IsKeyedService && d.ImplementationInstance is ConfigureRequestLoggingFromSection)) return builder;
        builder.Logging.AddFilter<SerilogLoggerProvider>(null, LogLevel.Trace);
        // Where the provider is wrapped (LogContextScopeProvider), rules for SerilogLoggerProvider, this one and the
        // application's, apply to the wrapper too.
        if (LogContextScopeProvider.Needed) builder.Services.PostConfigure<LoggerFilterOptions>(LogContextScopeProvider.ApplySerilogLoggerProviderRules);
        // Read when UseSerilogRequestLogging() and UseCorrelation() run (IOptions, not IOptionsMonitor): a configuration
        // reload does not change the options of a pipeline already built.
        builder.Services.AddOptions();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RequestLoggingOptions>>(new ConfigureRequestLoggingFromSection(requestLogging)));
        // As services.Configure<RequestLoggingOptions>(section) registers it: an IOptionsMonitor of the application's follows reloads.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<RequestLoggingOptions>>(
            new RequestLoggingSectionChangeTokenSource(requestLogging)));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<CorrelationOptions>>(
            new CorrelationSectionBinding.ConfigureFromSection(correlation)));
        // A web host puts this first in the pipeline: it answers, with the correlation id, the exceptions that escape
        // every handler, so UseCorrelation() can leave them to the exception handlers the application placed before it.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, UnhandledExceptionStartupFilter>());
        return builder;
    }

    /// <summary>
    /// What each call registers for its logger, in place of the last call's (removed before the logger is built): the
    /// logging provider, the logger's lifetime, Serilog's <see cref="ILogger"/> and <see cref="IDiagnosticContext"/>.
    /// </summary>
    static void RegisterLogger(IServiceCollection services, Core.Logger logger, Func<Core.Logger> createLogger)
    {
        RemoveReplacedProviders(services);
        // The container disposes only the singletons it creates, and creates one only when something asks for it. The
        // host always builds the logging provider, whose factory creates the lifetime first, so the lifetime is disposed
        // last of them, after the server and every other service that may still log while shutting down.
        AddLogger(services, logger, createLogger);
        services.AddSingleton<ILogger>(logger);
        // The one a call that left the host without a logger registered has none.
        services.RemoveAll<DiagnosticContext>();
        DiagnosticContextRegistration.Add(services, logger);
    }

    /// <summary>
    /// A second call failed after closing the logger of the call before it: a logger from that call's configuration and
    /// callback is registered in its place and becomes <see cref="Log.Logger"/> if the closed one was. When that fails too
    /// (the configuration the calls share became invalid between them), the host is left without a logger (it still
    /// builds and runs, and serves handlers that take <see cref="IDiagnosticContext"/>) and the failure is reported
    /// through SelfLog; the application gets the second call's exception either way.
    /// </summary>
    static void RestorePreviousCall(IServiceCollection services, RegisteredLogger previous)
    {
        Core.Logger restored;
        try
        {
            restored = previous.CreateLogger();
        }
        catch (Exception ex)
        {
            SafeSelfLog.WriteLine("AddObservability: the logger a failed call closed could not be rebuilt: {0}", ex);
            // Nothing left that needs the logger's lifetime: the host builds and runs without a Serilog logger.
            services.RemoveAll<LoggerLifetime.ClosingSignal>();
            for (var i = services.Count - 1; i >= 0; i--)
            {
                if (services[i].ServiceType == typeof(IHostedService) && services[i].ImplementationType == typeof(LoggerLifetime.StopWatcher))
                    services.RemoveAt(i);
            }
            // IDiagnosticContext, registered once, resolves the DiagnosticContext removed with the closed logger: one without
            // a logger (Log.Logger's, as UseSerilogRequestLogging() makes without AddObservability()) keeps its handlers working.
            DiagnosticContextRegistration.Add(services, logger: null);
            return;
        }
        lock (LoggerLifetime.StaticLoggerSwap)
        {
            if (ReferenceEquals(Log.Logger, Core.Logger.None)) Log.Logger = restored;
        }
        RegisterLogger(services, restored, previous.CreateLogger);
    }

    /// <summary>
    /// Binds <c>"Serilog:RequestLogging"</c> onto the options <c>UseSerilogRequestLogging()</c> starts from, as
    /// <c>services.Configure&lt;RequestLoggingOptions&gt;(section)</c> would; a type of its own, so that it is registered
    /// once however often <c>AddObservability()</c> is called (the binder adds a list's entries to those it finds).
    /// </summary>
    sealed class ConfigureRequestLoggingFromSection(IConfigurationSection section) : IConfigureOptions<RequestLoggingOptions>
    {
        public void Configure(RequestLoggingOptions options) => section.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
    }

    /// <summary>
    /// The change token of <c>"Serilog:RequestLogging"</c> for the default options; a type of its own, so that registered
    /// once it is not taken for the application's own <c>services.Configure&lt;RequestLoggingOptions&gt;(...)</c> of
    /// another section or name (TryAddEnumerable compares the registrations' types), which would leave the default
    /// options of an <c>IOptionsMonitor</c> unchanged by a reload.
    /// </summary>
    sealed class RequestLoggingSectionChangeTokenSource(IConfigurationSection section)
        : ConfigurationChangeTokenSource<RequestLoggingOptions>(Options.DefaultName, section);

    /// <summary>
    /// Registers the logger, its lifetime and the logging provider. A method of its own so that the lambdas that capture
    /// the logger do not share a closure with <c>CreateLogger</c>: the late logger keeps that one (to rebuild itself),
    /// and through it would keep the disposed host's logger alive.
    /// </summary>
    static void AddLogger(IServiceCollection services, Core.Logger logger, Func<Core.Logger> createLogger)
    {
        // ILogger<T> instances outlive the host in whatever still holds them (a worker past the shutdown timeout): the
        // provider writes through the route, which the lifetime points at the late logger once the host's is closed.
        var route = new LoggerRoute(logger);
        // Kept by the registered logger, so that a later call removes this registration (and only it).
        var provider = ServiceDescriptor.Singleton<ILoggerProvider>(serviceProvider =>
        {
            serviceProvider.GetRequiredService<LoggerLifetime>().ProviderCreated = true;
            // Serilog.Extensions.Logging 9 and later would keep the request's scope from LogContext (see LogContextScopeProvider).
            return LogContextScopeProvider.For(new SerilogLoggerProvider(new HandOffLogger(route), dispose: false));
        });
        services.AddSingleton(new RegisteredLogger(logger, createLogger, provider));
        services.AddSingleton(_ => new LoggerLifetime(logger, createLogger, route));
        services.TryAddSingleton<LoggerLifetime.ClosingSignal>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LoggerLifetime.StopWatcher>());
        services.Add(provider);
    }

    /// <summary>
    /// The logging providers Serilog takes the place of: those the host adds by default, which would write the same
    /// events again without enrichment or redaction (to the console, the debugger, EventSource, the Windows event log),
    /// and any other Serilog provider (Serilog.Extensions.Logging's <c>AddSerilog()</c>), which would write each event
    /// twice. The application's own, such as OpenTelemetry's or Application Insights', stay: registered before
    /// AddObservability() as after it.
    /// </summary>
    static readonly FrozenSet<string> ReplacedProviders = FrozenSet.ToFrozenSet(
    [
        "Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider",
        "Microsoft.Extensions.Logging.Debug.DebugLoggerProvider",
        "Microsoft.Extensions.Logging.EventSource.EventSourceLoggerProvider",
        "Microsoft.Extensions.Logging.EventLog.EventLogLoggerProvider",
        typeof(SerilogLoggerProvider).FullName!,
    ], StringComparer.Ordinal);

    static void RemoveReplacedProviders(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType == typeof(ILoggerProvider) && !descriptor.IsKeyedService
                && ImplementationType(descriptor)?.FullName is { } name && ReplacedProviders.Contains(name))
                services.RemoveAt(i);
        }
    }

    /// <summary>
    /// The type a registration creates, as far as it says: its type, its instance's, or the result type of its factory
    /// (<c>ServiceDescriptor.Singleton&lt;ILoggerProvider, ConsoleLoggerProvider&gt;(factory)</c>).
    /// </summary>
    static Type? ImplementationType(ServiceDescriptor descriptor) =>
        descriptor.ImplementationType
        ?? descriptor.ImplementationInstance?.GetType()
        ?? (descriptor.ImplementationFactory?.GetType() is { IsGenericType: true } factory ? factory.GenericTypeArguments[^1] : null);

    /// <summary>
    /// Whether this assembly was loaded from a single-file bundle, where it has no file of its own. There
    /// Serilog.Settings.Configuration finds no assembly by itself (no deps.json or DLL on disk to scan) and fails unless the
    /// section's <c>"Using"</c> names every one.
    /// </summary>
    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty location is what is tested for.")]
    static bool RunsAsSingleFile() => typeof(ObservabilityHostApplicationBuilderExtensions).Assembly.Location.Length == 0;

    /// <summary>
    /// The assemblies given to Serilog.Settings.Configuration (as its <see cref="ConfigurationReaderOptions"/>):
    /// null (it finds the assemblies itself) unless <paramref name="singleFile"/>: then
    /// Serilog's and the assemblies of this family and Serilog.Sinks.Console, whose names the section can use without <c>"Using"</c> as in any
    /// other application, and those its <c>"Using"</c> names for other sinks and enrichers. Given assemblies,
    /// Serilog.Settings.Configuration reads no <c>"Using"</c> itself, so its entries are loaded here as it would load them.
    /// </summary>
    static Assembly[]? ReaderAssemblies(bool singleFile, IConfigurationSection section)
    {
        if (!singleFile) return null;
        var assemblies = new List<Assembly>
        {
            // Serilog's own (FromLogContext, WithProperty, WriteTo.Logger): offered only when its assembly is in the list.
            typeof(ILogger).Assembly,
            typeof(ConsoleLoggerConfigurationExtensions).Assembly,
            typeof(ObservabilityLoggerConfigurationExtensions).Assembly,
            typeof(ObservabilityEnrichersLoggerConfigurationExtensions).Assembly,
            typeof(RedactionLoggerConfigurationExtensions).Assembly,
            typeof(PipelineTimingLoggerConfigurationExtensions).Assembly,
            typeof(RollingJsonLoggerConfigurationExtensions).Assembly,
            typeof(Extensions.Observability.Formatting.CompactJsonFormatter).Assembly,
            typeof(ObservabilityHostApplicationBuilderExtensions).Assembly,
        };
        foreach (var entry in section.GetSection("Using").GetChildren())
        {
            if (string.IsNullOrWhiteSpace(entry.Value))
                throw new InvalidOperationException($"A zero-length entry cannot be specified in {entry.Path}.");
            var assembly = Assembly.Load(new AssemblyName(entry.Value));
            if (!assemblies.Contains(assembly)) assemblies.Add(assembly);
        }

        return assemblies.ToArray();
    }

    const string AspNetCoreSource = "Microsoft.AspNetCore";

    const string RedactionSectionName = "Redaction";

    const string RequestLoggingSectionName = "RequestLogging";

    /// <summary>
    /// Binds <c>"Serilog:Redaction"</c> (<see cref="RedactionOptions"/>' property names, as in the Redaction package's
    /// <c>"Args"</c>) onto the rules; a value that does not convert is a configuration error naming its key.
    /// </summary>
    static void BindRedaction(IConfigurationSection section, RedactionOptions rules) =>
        BindStrictly(section, rules, nameof(RedactionOptions), "redaction");

    /// <summary>
    /// Binds one of our own sections onto its options: a key that is not one of their properties, or a value that does
    /// not convert, is a configuration error naming the section and the key.
    /// </summary>
    static void BindStrictly(IConfigurationSection section, object options, string optionsType, string description)
    {
        OneValueSettings.Check(section, options.GetType(), description);
        try
        {
            section.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"The \"{section.Path}\" section does not bind to the {description} options ({optionsType} property names): {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The values of the <c>"Serilog:RequestLogging"</c> section that <c>UseSerilogRequestLogging()</c> would refuse,
    /// refused here with the key that holds them: there they were an <see cref="ArgumentException"/> naming its
    /// <c>configureOptions</c> parameter, which an application that passes none cannot place.
    /// </summary>
    static void CheckRequestLoggingValues(IConfigurationSection section, RequestLoggingOptions bound)
    {
        if (bound.SlowRequestThreshold is { } threshold && !SerilogApplicationBuilderExtensions.IsValidSlowRequestThreshold(threshold))
            throw new InvalidOperationException(
                $"The \"{section.Path}:{nameof(RequestLoggingOptions.SlowRequestThreshold)}\" setting must be greater than zero; it is '{threshold}'.");
        foreach (var entry in section.GetSection(nameof(RequestLoggingOptions.ExcludePaths)).GetChildren())
        {
            if (SerilogApplicationBuilderExtensions.NeverMatches(entry.Value))
                throw new InvalidOperationException(
                    $"The \"{entry.Path}\" setting {SerilogApplicationBuilderExtensions.ExcludedPathRule}; '{entry.Value}' would never match a request path.");
        }
    }

    /// <summary>
    /// The setting an entry's argument came from, when Serilog.Settings.Configuration's call of the entry's method failed
    /// on it: the method's <see cref="ArgumentException"/> (reported wrapped in <see cref="TargetInvocationException"/>)
    /// names the parameter, and the key is one the exception can only have come from. The reader does not say which
    /// entry failed, and an entry may fail on a parameter the section does not give it (a default), so an <c>"Args"</c>
    /// key of that name (matched ignoring case, as the reader matches them) is taken only when it is certain:
    /// <list type="bullet">
    /// <item>an <see cref="ArgumentOutOfRangeException"/> that gives its value: the one key of that name whose value
    /// converts to it;</item>
    /// <item>otherwise: the one key of that name, when its entry (and the entries it is nested in) are the only
    /// entries of the section that call a method.</item>
    /// </list>
    /// Null otherwise: the exception is then left as it is.
    /// </summary>
    static (IConfigurationSection Key, ArgumentException Cause)? InvalidArgumentSetting(IConfigurationSection section, Exception exception)
    {
        if (exception is not TargetInvocationException) return null;
        var cause = exception;
        while (cause is TargetInvocationException { InnerException: { } inner }) cause = inner;
        if (cause is not ArgumentException { ParamName: { Length: > 0 } parameter } argumentException) return null;
        var actualValue = (cause as ArgumentOutOfRangeException)?.ActualValue;
        IConfigurationSection? found = null;
        var count = 0;
        void Search(IConfigurationSection node)
        {
            foreach (var child in node.GetChildren())
            {
                if (string.Equals(node.Key, "Args", StringComparison.OrdinalIgnoreCase)
                    && string.Equals(child.Key, parameter, StringComparison.OrdinalIgnoreCase)
                    && (actualValue is null || HoldsValue(child, actualValue)))
                {
                    found = child;
                    count++;
                }
                Search(child);
            }
        }
        Search(section);
        if (count != 1) return null;
        if (actualValue is null && OtherCalls(section, found!.Path)) return null;
        return (found!, argumentException);
    }

    /// <summary>
    /// The <c>"Args"</c> key whose value Serilog.Settings.Configuration failed to convert to its parameter's type (an
    /// enum's name it cannot parse: <c>Requested value 'Verbos' was not found.</c>, an <see cref="ArgumentException"/>
    /// that names no parameter), when its message quotes that value and no other <c>"Args"</c> key of the section holds
    /// it. The exception is the reader's own (<paramref name="readerFailure"/>), or one from inside an entry's method
    /// (an <c>"Async"</c> or <c>"Redacted"</c> entry converts the entries of its <c>"configure"</c> list there), never
    /// one of the configure callback. Null otherwise: the exception is then left as it is.
    /// </summary>
    static (IConfigurationSection Key, ArgumentException Cause)? ConvertedArgumentSetting(IConfigurationSection section, Exception exception,
        ArgumentException? readerFailure)
    {
        var cause = exception;
        while (cause is TargetInvocationException { InnerException: { } inner }) cause = inner;
        if (cause is not ArgumentException { ParamName: null or "" } argumentException
            || (exception is not TargetInvocationException && !ReferenceEquals(exception, readerFailure))) return null;
        IConfigurationSection? found = null;
        var count = 0;
        void Search(IConfigurationSection node)
        {
            foreach (var child in node.GetChildren())
            {
                if (string.Equals(node.Key, "Args", StringComparison.OrdinalIgnoreCase) && child.Value is { Length: > 0 } value
                    && argumentException.Message.Contains($"'{value}'", StringComparison.Ordinal))
                {
                    found = child;
                    count++;
                }
                Search(child);
            }
        }
        Search(section);
        return count == 1 ? (found!, argumentException) : null;
    }

    const string LevelNames = "Verbose, Debug, Information, Warning, Error, Fatal";

    enum LevelSettingKind { Switch, FilterSwitch, Default, ControlledBy, Override }

    /// <summary>
    /// Reads the section's <c>"LevelSwitches"</c>, <c>"FilterSwitches"</c> and <c>"MinimumLevel"</c> with Serilog.Settings.Configuration alone,
    /// before anything is closed or built, and throws naming the key of the first value it refuses: its own message
    /// (<c>The value Verbos is not a valid Serilog level.</c>, <c>"my-app" is not a valid name for a Level Switch
    /// declaration</c>, for an override <c>No LoggingLevelSwitch has been declared with name "Verbos"</c>) names no key,
    /// and which values it takes (<c>"Off"</c>, a number) depends on its version: it is asked, not imitated. That
    /// exception is the inner one.
    /// </summary>
    static void CheckLevels(IConfiguration configuration, IConfigurationSection section)
    {
        var settings = LevelSettings(configuration, section);
        if (settings.Count == 0 || ReadLevels(Values(settings)) is not { } failure) return;
        // The reader reads them in this order and stops at the first it refuses: the first that makes it fail.
        for (var count = 1; count <= settings.Count; count++)
        {
            if (ReadLevels(Values(settings, count)) is not { } refused) continue;
            var (kind, key) = settings[count - 1];
            // An override's level or switch may be fine and its source name refused ("Override": { "": "Warning" }):
            // then the reader takes the same value for another source.
            if (kind == LevelSettingKind.Override && ReadLevels(Values(settings.Where(s => s.Kind == LevelSettingKind.Switch))
                    .Append(KeyValuePair.Create(ConfigurationPath.Combine(section.Path, "MinimumLevel", "Override", "Source"), key.Value))) is null)
            {
                throw new InvalidOperationException(
                    $"The \"{key.Path}\" key must be the name of a source to override (\"{AspNetCoreSource}\"); it is '{key.Key}'.", refused);
            }
            throw new InvalidOperationException(RefusedLevelMessage(section, kind, key, refused), refused);
        }
        ExceptionDispatchInfo.Throw(failure);
    }

    static IEnumerable<KeyValuePair<string, string?>> Values(IEnumerable<(LevelSettingKind Kind, IConfigurationSection Key)> settings, int count = int.MaxValue) =>
        settings.Take(count).Select(s => KeyValuePair.Create(s.Key.Path, s.Key.Value));

    /// <summary>
    /// The level settings of the section in the order Serilog.Settings.Configuration reads them: the switches it
    /// declares first, then the filter switches (which it reads only when Serilog.Expressions is there), the default level (the directive it takes it from, see <see cref="DefaultLevelDirective"/>),
    /// the switch that controls it, and the overrides.
    /// </summary>
    static List<(LevelSettingKind Kind, IConfigurationSection Key)> LevelSettings(IConfiguration configuration, IConfigurationSection section)
    {
        var settings = new List<(LevelSettingKind, IConfigurationSection)>();
        foreach (var declared in section.GetSection("LevelSwitches").GetChildren())
            settings.Add((LevelSettingKind.Switch, declared));
        // Without a package that provides filter switches the reader skips them (saying so through SelfLog, which a read
        // here would repeat): nothing in them can fail.
        if (FilterSwitchesAreRead())
        {
            foreach (var declared in section.GetSection("FilterSwitches").GetChildren())
                settings.Add((LevelSettingKind.FilterSwitch, declared));
        }
        var minimumLevel = section.GetSection("MinimumLevel");
        // An empty default (Serilog__MinimumLevel= in the environment) is refused as "Verbos" is. Only where two sources
        // set both the plain value and "Default" is an empty one left out: a newer reader passes over it for the other
        // (Serilog.Settings.Configuration 10), which DefaultLevelDirective does not follow.
        if (DefaultLevelDirective(configuration, minimumLevel) is { Value: { } level } directive
            && (level.Length > 0 || minimumLevel.Value is null || minimumLevel.GetSection("Default").Value is null))
            settings.Add((LevelSettingKind.Default, directive));
        if (minimumLevel.GetSection("ControlledBy") is { Value: not null } controlledBy)
            settings.Add((LevelSettingKind.ControlledBy, controlledBy));
        foreach (var source in minimumLevel.GetSection("Override").GetChildren())
            settings.Add((LevelSettingKind.Override, source));
        return settings;
    }

    /// <summary>
    /// Whether Serilog.Settings.Configuration declares the section's <c>"FilterSwitches"</c>: only with Serilog.Expressions
    /// (or the older Serilog.Filters.Expressions) referenced, whose <c>LoggingFilterSwitch</c> it creates.
    /// </summary>
    static bool FilterSwitchesAreRead() =>
        Type.GetType("Serilog.Expressions.LoggingFilterSwitch, Serilog.Expressions", throwOnError: false) is not null
        || Type.GetType("Serilog.Filters.Expressions.LoggingFilterSwitch, Serilog.Filters.Expressions", throwOnError: false) is not null;

    /// <summary>
    /// What Serilog.Settings.Configuration throws looking up the level switch <paramref name="name"/> among those the
    /// section declares, and <paramref name="alsoDeclared"/> (a switch a logger inside an argument declares) when not
    /// null (as it looks up a <c>"levelSwitch"</c> argument); null when it finds it.
    /// </summary>
    static Exception? SwitchRefused(IConfigurationSection section, string name, string? alsoDeclared) =>
        ReadLevels(section.GetSection("LevelSwitches").GetChildren().Select(s => KeyValuePair.Create(s.Path, s.Value))
            .Concat(alsoDeclared is null ? [] : [KeyValuePair.Create(ConfigurationPath.Combine(section.Path, "LevelSwitches", alsoDeclared), (string?)null)])
            .Append(KeyValuePair.Create(ConfigurationPath.Combine(section.Path, "MinimumLevel", "ControlledBy"), (string?)name)));

    /// <summary>What Serilog.Settings.Configuration throws reading <paramref name="values"/> (keys and values of the section); null when it takes them.</summary>
    static Exception? ReadLevels(IEnumerable<KeyValuePair<string, string?>> values)
    {
        var copy = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        try
        {
            // Serilog's assembly only: these sections need no other, and none is looked for.
            new LoggerConfiguration().ReadFrom.Configuration(copy, new ConfigurationReaderOptions(typeof(ILogger).Assembly)).CreateLogger().Dispose();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    static string RefusedLevelMessage(IConfigurationSection section, LevelSettingKind kind, IConfigurationSection key, Exception refused) => kind switch
    {
        // The reader checks a switch's name before its level.
        LevelSettingKind.Switch or LevelSettingKind.FilterSwitch when refused is FormatException || key.Value is not { Length: > 0 } =>
            $"The \"{key.Path}\" key must be a switch name: letters and digits, beginning with a letter, with or without " +
            "a '$' in front (\"$orders\").",
        // Serilog.Expressions' message quotes the expression and says what it could not parse.
        LevelSettingKind.FilterSwitch => $"The \"{key.Path}\" setting is invalid: {refused.Message}",
        LevelSettingKind.Switch or LevelSettingKind.Default => $"The \"{key.Path}\" setting must be one of {LevelNames}; it is '{key.Value}'.",
        LevelSettingKind.ControlledBy =>
            $"The \"{key.Path}\" setting must be the name of a switch declared in \"{section.Path}:LevelSwitches\" (\"$name\"); " +
            $"it is '{key.Value}'.",
        // The reader takes a value that is no level for the name of a switch of "LevelSwitches" ("$orders"); it declares a
        // switch under its name with a "$" put in front if it has none ("orders" is "$orders").
        _ => $"The \"{key.Path}\" setting must be one of {LevelNames}, or the name of a switch declared in " +
             $"\"{section.Path}:LevelSwitches\" (\"$name\"); it is '{key.Value}'.",
    };

    /// <summary>Whether <paramref name="setting"/>'s value converts (as configuration text) to <paramref name="value"/>.</summary>
    static bool HoldsValue(IConfigurationSection setting, object value)
    {
        if (setting.Value is not { } text) return false;
        try
        {
            return Equals(TypeDescriptor.GetConverter(value.GetType()).ConvertFromInvariantString(text.Trim()), value);
        }
        catch (Exception)
        {
            // Any converter's failure, a type of the application's included: the reader's exception must stay the one thrown.
            return false;
        }
    }

    /// <summary>
    /// Whether the section has an entry that calls a method (<c>{ "Name": ... }</c>, or a plain name in a list such as
    /// <c>"Enrich": [ "FromLogContext" ]</c>) other than the entry holding <paramref name="keyPath"/> and the entries
    /// that entry is nested in: one of those may be the one that failed.
    /// </summary>
    static bool OtherCalls(IConfigurationSection section, string keyPath)
    {
        bool Holds(IConfigurationSection entry) =>
            keyPath.StartsWith(entry.Path + ConfigurationPath.KeyDelimiter, StringComparison.OrdinalIgnoreCase);
        bool Search(IConfigurationSection node)
        {
            foreach (var child in node.GetChildren())
            {
                // Their keys are names of the application's choosing ("Properties": { "Name": "orders-api" }), not entries.
                if (!string.Equals(node.Key, "Args", StringComparison.OrdinalIgnoreCase) && IsNamedValues(child.Key)) continue;
                var calls = child[NameKey] is not null
                    || (child.Value is not null && int.TryParse(child.Key, out _) && IsCallList(node.Key));
                if (calls && !Holds(child)) return true;
                if (Search(child)) return true;
            }
            return false;
        }
        return Search(section);
    }

    const string NameKey = "Name";

    static bool IsNamedValues(string key) =>
        key.Equals("Properties", StringComparison.OrdinalIgnoreCase) || key.Equals("MinimumLevel", StringComparison.OrdinalIgnoreCase)
        || key.Equals("LevelSwitches", StringComparison.OrdinalIgnoreCase) || key.Equals("FilterSwitches", StringComparison.OrdinalIgnoreCase);

    static bool IsCallList(string key) =>
        key.Equals("WriteTo", StringComparison.OrdinalIgnoreCase) || key.Equals("AuditTo", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Enrich", StringComparison.OrdinalIgnoreCase) || key.Equals("Destructure", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Filter", StringComparison.OrdinalIgnoreCase) || key.Equals("configure", StringComparison.OrdinalIgnoreCase);

    /// <summary>The enrichers of <c>WithObservability()</c> that the section's <c>"Enrich"</c> list names itself.</summary>
    static ObservabilityEnrichers EnrichersNamedIn(IConfigurationSection section)
    {
        var named = ObservabilityEnrichers.None;
        foreach (var entry in section.GetSection("Enrich").GetChildren())
        {
            // "Enrich": [ "WithSpan", { "Name": "WithCorrelation", "Args": { ... } } ]
            named |= (entry.Value ?? entry["Name"])?.Trim() switch
            {
                "FromLogContext" => ObservabilityEnrichers.LogContext,
                "WithCorrelation" => ObservabilityEnrichers.Correlation,
                "WithSpan" => ObservabilityEnrichers.Span,
                "WithUser" => ObservabilityEnrichers.User,
                "WithThreadId" => ObservabilityEnrichers.ThreadId,
                "WithPipelineTiming" => ObservabilityEnrichers.PipelineTiming,
                _ => ObservabilityEnrichers.None,
            };
        }
        return named;
    }

    /// <summary>
    /// The logger <paramref name="configure"/> sets <paramref name="loggerConfiguration"/> up for. Serilog.Settings.Configuration
    /// builds the section's sinks one entry at a time: when one fails, those built before it are closed here, since
    /// nothing else can reach them (a RollingJson sink among them would keep its path claimed from the next call).
    /// </summary>
    static Core.Logger Build(LoggerConfiguration loggerConfiguration, Action<LoggerConfiguration> configure)
    {
        try
        {
            configure(loggerConfiguration);
        }
        catch
        {
            try
            {
                loggerConfiguration.CreateLogger().Dispose();
            }
            catch (Exception ex)
            {
                SafeSelfLog.WriteLine("AddObservability: the sinks built before the configuration failed were not all closed: {0}", ex);
            }
            throw;
        }
        return loggerConfiguration.CreateLogger();
    }

    /// <summary>
    /// Whether the section overrides the level of <c>Microsoft.AspNetCore</c> itself: an override for it or for a
    /// namespace holding it (<c>Microsoft</c>), which a more specific Warning override would beat. Names are matched as
    /// the running Serilog matches them (<paramref name="comparison"/>): ordinally on Serilog 3.1.
    /// </summary>
    internal static bool SectionOverridesAspNetCore(IConfigurationSection section, StringComparison comparison)
    {
        foreach (var source in section.GetSection("MinimumLevel").GetSection("Override").GetChildren())
        {
            if (OverrideNames.Covers(source.Key, AspNetCoreSource, comparison))
                return true;
        }

        return false;
    }

    /// <summary>
    /// The level of <c>Microsoft.AspNetCore</c> when the section does not override it: Warning, or the section's default
    /// level when that is higher (a Warning override would lower it), followed through configuration reloads as
    /// Serilog.Settings.Configuration follows the default itself: the directive it took the default from at startup only
    /// (not a <c>"MinimumLevel"</c> an edit rewrites from a plain value to an object or back, nor a default an edit adds),
    /// and a value that is no level leaves the level as it was.
    /// </summary>
    static Core.LoggingLevelSwitch AspNetCoreLevelSwitch(IConfiguration configuration, IConfigurationSection section)
    {
        // "MinimumLevel": "Error" or "MinimumLevel": { "Default": "Error" }; a level switch ("$name") is not known here.
        var directive = DefaultLevelDirective(configuration, section.GetSection("MinimumLevel"));
        var levelSwitch = new Core.LoggingLevelSwitch(
            Enum.TryParse<LogEventLevel>(directive?.Value, ignoreCase: true, out var level) ? AspNetCoreLevel(level) : LogEventLevel.Warning);
        if (directive is null) return levelSwitch;
        // Lives as long as the configuration, as Serilog.Settings.Configuration's own subscriptions do: one per logger
        // built from it (the host's, and a late one after the host is disposed).
        ChangeToken.OnChange(directive.GetReloadToken, () =>
        {
            if (Enum.TryParse<LogEventLevel>(directive.Value, ignoreCase: true, out var reloaded))
                levelSwitch.MinimumLevel = AspNetCoreLevel(reloaded);
        });
        return levelSwitch;
    }

    static LogEventLevel AspNetCoreLevel(LogEventLevel defaultLevel) =>
        Enum.IsDefined(defaultLevel) && defaultLevel > LogEventLevel.Warning ? defaultLevel : LogEventLevel.Warning;

    /// <summary>
    /// The key Serilog.Settings.Configuration takes the section's default level from, and follows through reloads:
    /// <c>"MinimumLevel": "Error"</c> or its <c>"Default"</c>; when both are set by different sources (appsettings.json
    /// and an environment variable), the one of the source added last. Null when neither is set.
    /// </summary>
    static IConfigurationSection? DefaultLevelDirective(IConfiguration configuration, IConfigurationSection minimumLevel)
    {
        var nested = minimumLevel.GetSection("Default");
        if (minimumLevel.Value is null) return nested.Value is null ? null : nested;
        if (nested.Value is null || configuration is not IConfigurationRoot root) return minimumLevel;
        foreach (var provider in root.Providers.Reverse())
        {
            if (provider.TryGet(minimumLevel.Path, out _)) return minimumLevel;
            if (provider.TryGet(nested.Path, out _)) return nested;
        }
        return null;
    }

    /// <summary>
    /// The logger AddObservability() created for the host whose services these are; null without AddObservability().
    /// The middleware of that host write through it rather than <see cref="Log.Logger"/>, which another host in the
    /// process may have replaced since.
    /// </summary>
    internal static ILogger? HostLogger(IServiceProvider services) => services.GetService<RegisteredLogger>()?.Logger;

    /// <summary>The logger the last call created, registered as an instance so that a later call (and the host's
    /// middleware, see <see cref="HostLogger"/>) can find it.</summary>
    internal sealed class RegisteredLogger(Core.Logger logger, Func<Core.Logger> createLogger, ServiceDescriptor provider)
    {
        public Core.Logger Logger => logger;

        /// <summary>The registration of the logging provider that writes to <see cref="Logger"/>.</summary>
        public ServiceDescriptor Provider => provider;

        /// <summary>Builds another logger from the same configuration (see <see cref="LoggerLifetime.RestoreAfterFailure"/>).</summary>
        public Func<Core.Logger> CreateLogger => createLogger;
    }

    /// <summary>Disposed with the service provider, after the host has stopped: flushes and closes the logger.</summary>
    sealed class LoggerLifetime(Core.Logger logger, Func<Core.Logger>? createLateLogger, LoggerRoute? route = null) : IDisposable
    {
        /// <summary>
        /// Held while this package compares <see cref="Log.Logger"/> with a logger and replaces it: a host disposed while
        /// another calls AddObservability() (parallel tests) must not put its late logger over the other's, nor close it.
        /// </summary>
        internal static readonly object StaticLoggerSwap = new();

        /// <summary>Makes <paramref name="replacement"/> <see cref="Log.Logger"/> if that is still <paramref name="current"/>.</summary>
        static bool ReplaceStaticLogger(ILogger current, ILogger replacement)
        {
            lock (StaticLoggerSwap)
            {
                if (!ReferenceEquals(Log.Logger, current)) return false;
                Log.Logger = replacement;
                return true;
            }
        }

        public void Dispose()
        {
            Core.Logger? late = null;
            t_disposing++;
            try
            {
                late = CloseAndHandOff();
            }
            finally
            {
                // The ILogger<T> instances of the host write to the late logger from now on, or to the closed one
                // (its sinks drop and count what they get), and hold either only weakly: one the application keeps
                // after the host is gone must not keep the closed logger and its sinks' buffers alive.
                route?.Close(late);
                t_disposing--;
                EndClosing();
            }
        }

        // The hosts whose service provider is being disposed and whose logger is not closed yet (see WaitForClosingHosts),
        // each with when its disposal began (Environment.TickCount64): one is waited for until 10 seconds after that, and
        // then no more (its disposal may never reach the logger). Keyed by a token, not the lifetime: a host whose disposal
        // never ends must not have its configuration and configure delegate kept here.
        static readonly object s_closingSync = new();
        static readonly Dictionary<object, long> s_closing = [];
        // Whether this thread is in a lifetime's Dispose: an AddObservability() there (a configure callback run again for
        // the late logger) must not wait for it.
        [ThreadStatic] static int t_disposing;
        // The hosts whose disposal this flow runs, from their ClosingSignal's disposal to their lifetime's: their logger is
        // closed only after whatever this flow does meanwhile returns, so an AddObservability() there (a service's Dispose
        // that builds the next host) waiting for them would wait its 10 seconds out. Async-local, not thread-static: the
        // provider's DisposeAsync may go on on another thread, and a pool thread that began a disposal may then run an
        // unrelated AddObservability() that must still wait.
        static readonly AsyncLocal<ClosingOnFlow?> s_closingOnFlow = new();
        // 0 before the host's disposal began, 1 while it runs, 2 once the logger is closed.
        int _closingState;
        readonly object _closingKey = new();

        /// <summary>The host's service provider has begun its disposal, which ends with this lifetime's.</summary>
        void BeginClosing()
        {
            if (Interlocked.CompareExchange(ref _closingState, 1, 0) != 0) return;
            lock (s_closingSync) s_closing[_closingKey] = Environment.TickCount64;
            s_closingOnFlow.Value = new ClosingOnFlow(_closingKey, s_closingOnFlow.Value);
        }

        void EndClosing()
        {
            if (Interlocked.Exchange(ref _closingState, 2) != 1) return;
            if (s_closingOnFlow.Value is { } onFlow && onFlow.Contains(_closingKey)) s_closingOnFlow.Value = onFlow.Without(_closingKey);
            lock (s_closingSync)
            {
                if (s_closing.Remove(_closingKey)) Monitor.PulseAll(s_closingSync);
            }
        }

        /// <summary>The keys of the hosts a flow is disposing, innermost first.</summary>
        sealed class ClosingOnFlow(object key, ClosingOnFlow? outer)
        {
            readonly object _key = key;
            readonly ClosingOnFlow? _outer = outer;

            public bool Contains(object closingKey)
            {
                for (var entry = this; entry is not null; entry = entry._outer)
                    if (ReferenceEquals(entry._key, closingKey)) return true;
                return false;
            }

            public ClosingOnFlow? Without(object closingKey) =>
                ReferenceEquals(_key, closingKey) ? _outer : new ClosingOnFlow(_key, _outer?.Without(closingKey));
        }

        /// <summary>
        /// Waits until no host's service provider is being disposed with its logger still open, waiting for each such host
        /// until 10 seconds after its disposal began: a disposal that never reaches the logger (another service's
        /// <c>Dispose</c> threw) delays the hosts built in those 10 seconds, not every later one. A host whose disposal
        /// the calling flow runs (this call is made from one of its services' <c>Dispose</c>) is not waited for: its
        /// logger is closed only after this call returns.
        /// WebApplicationFactory disposes the application's host on two threads: the test's, and the application's, whose
        /// <c>app.Run()</c> returns when the factory stops the host and disposes it too. The factory's <c>Dispose</c>
        /// returns at once when the application's thread got there first, so the next test's factory would build its
        /// logger while the first host's, or the late logger that follows it, still writes the same files (its
        /// RollingJson sink would refuse the path) and would make that late logger <see cref="Log.Logger"/> after it.
        /// </summary>
        public static void WaitForClosingHosts()
        {
            if (t_disposing > 0) return;
            var onThisFlow = s_closingOnFlow.Value;
            lock (s_closingSync)
            {
                while (s_closing.Count > 0)
                {
                    var now = Environment.TickCount64;
                    var left = long.MaxValue;
                    foreach (var (key, began) in s_closing)
                    {
                        if (onThisFlow?.Contains(key) == true) continue;
                        var remaining = began + 10_000 - now;
                        if (remaining > 0)
                        {
                            left = Math.Min(left, remaining);
                            continue;
                        }
                        // Not waited for again: a later host must not wait for it once another host's disposal began.
                        s_closing.Remove(key);
                        SafeSelfLog.WriteLine("AddObservability: went on while the logger of a host whose disposal began over 10 seconds ago is still not closed.");
                    }
                    if (left == long.MaxValue) return;
                    Monitor.Wait(s_closingSync, TimeSpan.FromMilliseconds(left));
                }
            }
        }

        /// <summary>
        /// Created while the host stops, after every singleton created before, so that the service provider disposes it
        /// first: from then until this lifetime's disposal closes the logger, the host counts as closing.
        /// </summary>
        internal sealed class ClosingSignal(LoggerLifetime lifetime) : IDisposable
        {
            public void Dispose() => lifetime.BeginClosing();
        }

        /// <summary>Whether the host's logger factory created the logging provider AddObservability() registered.</summary>
        public bool ProviderCreated { get; set; }

        /// <summary>The host's logger.</summary>
        public Core.Logger Logger => logger;

        /// <summary>
        /// When the host starts, says that the logging provider was removed after AddObservability() registered it
        /// (<c>builder.Logging.ClearProviders()</c> after the call): the host's logger factory, created before the host's
        /// services start, did not create it, and every <c>ILogger&lt;T&gt;</c> event would be lost without a word.
        /// Creates the <see cref="ClosingSignal"/> when the host stops.
        /// </summary>
        internal sealed class StopWatcher(IServiceProvider services) : IHostedService
        {
            public Task StartAsync(CancellationToken cancellationToken)
            {
                var lifetime = services.GetRequiredService<LoggerLifetime>();
                if (!lifetime.ProviderCreated)
                {
                    lifetime.Logger.ForContext(Core.Constants.SourceContextPropertyName, "Serilog.Extensions.Observability.AspNetCore").Warning(
                        "The host's logger factory did not create the logging provider of AddObservability(): it was removed after it " +
                        "was registered (builder.Logging.ClearProviders() after AddObservability()?), or another logger factory replaced " +
                        "the host's. Events written through ILogger<T> do not go through it; after ClearProviders() they are lost. " +
                        "AddObservability() removes the host's default providers itself; call ClearProviders() before it, if at all.");
                }
                return Task.CompletedTask;
            }

            public Task StopAsync(CancellationToken cancellationToken)
            {
                try
                {
                    services.GetService<ClosingSignal>();
                }
                catch (ObjectDisposedException)
                {
                    // Stopped again once the host was disposed (WebApplicationFactory stops it after the application's
                    // thread may have disposed it): the logger is closed already.
                }
                return Task.CompletedTask;
            }
        }

        /// <summary>Flushes and closes the logger; returns the late logger that took <see cref="Log.Logger"/> from it, if any.</summary>
        Core.Logger? CloseAndHandOff()
        {
            if (!ReferenceEquals(Log.Logger, logger))
            {
                // No late logger: what the host's ILogger<T> instances write meanwhile goes on to this logger, and is
                // dropped and counted by its sinks once they are closed; what is on its way to them now is waited for.
                route?.BeginClose(holdForLateLogger: false);
                logger.Dispose();
                return null;
            }

            // app.Run() disposes the host before it returns or throws, and the usual Program.cs logs after that (a
            // Log.Fatal in its catch, a last line in its finally) and ends with Log.CloseAndFlush(). So this logger is
            // flushed and closed now, and a fresh one from the same configuration takes what comes after: until
            // Log.CloseAndFlush(), else until the process exits.
            if (createLateLogger is null)
            {
                // Not Log.CloseAndFlush(), which would close whatever logger another host made Log.Logger meanwhile.
                ReplaceStaticLogger(logger, Core.Logger.None);
                logger.Dispose();
                return null;
            }

            // Created only once this logger is closed, so that the two never write one file at the same time (a
            // RollingJson sink refuses a path a live sink writes). What the host's ILogger<T> instances write while it
            // closes (a worker past the shutdown timeout, WebApplicationFactory's second stop on its own thread), which
            // its sinks would drop, is held by the route and written to the late logger (see LoggerRoute.BeginClose).
            // Log.Logger's callers write through the route meanwhile, so what they write is held with it, in order.
            // Only a Log.Logger call that read this logger before the hand-over below and is still inside its pipeline
            // when its sinks close loses its event (dropped and counted by them): Log.Logger is this logger itself, as
            // with Serilog.AspNetCore, and nothing counts the calls on their way through it (Log.CloseAndFlush() has the
            // same window).
            if (route is null)
            {
                logger.Dispose();
                return null;
            }
            route.BeginClose();
            ILogger current = logger;
            var closing = new HandOffLogger(route);
            if (ReplaceStaticLogger(logger, closing)) current = closing;
            logger.Dispose();
            Core.Logger? late = null;
            try
            {
                late = createLateLogger();
            }
            catch (Exception ex)
            {
                SafeSelfLog.WriteLine("AddObservability: no logger for events written after the host was disposed: {0}", ex);
            }

            if (late is null)
            {
                // As Log.CloseAndFlush() would leave it, without closing the logger a second time.
                ReplaceStaticLogger(current, Core.Logger.None);
                return null;
            }

            // The held events first, then Log.Logger: what its callers write in between goes through the route, after them.
            route.Close(late);
            // Built outside the lock (it runs the application's configuration): another host may have made its own
            // logger Log.Logger meanwhile (or the application closed or replaced it), which stays; this late logger is
            // then nobody's and is closed, with what it was given.
            if (!ReplaceStaticLogger(current, late))
            {
                late.Dispose();
                return null;
            }
            CloseWhenTheProcessEnds(late, createLateLogger);
            return late;
        }

        // The last late logger, and whether the process-wide handlers that close it are in place: one pair for the
        // process, not one per disposed host, each holding its logger for as long as the process runs. Held weakly: it
        // only needs closing while it is Log.Logger, which holds it; once Log.CloseAndFlush() or the application has
        // replaced it, nothing here keeps it (and its sinks' queues) alive.
        static LateLogger? s_late;
        static int s_handlersAdded;

        /// <summary>
        /// The late logger, weakly, and how to build another from its configuration. That builder holds the disposed
        /// host's configuration and the application's configure delegate (and whatever it captured), so it lives only as
        /// long as the logger: once <c>Log.CloseAndFlush()</c> has closed the logger and let it go, nothing here keeps them.
        /// </summary>
        sealed class LateLogger
        {
            static readonly ConditionalWeakTable<Core.Logger, Func<Core.Logger>> Builders = new();

            public LateLogger(Core.Logger logger, Func<Core.Logger> create)
            {
                Logger = new WeakReference<Core.Logger>(logger);
                Builders.AddOrUpdate(logger, create);
            }

            public WeakReference<Core.Logger> Logger { get; }

            /// <summary>How to build another logger like <paramref name="logger"/>, a late logger that is still alive.</summary>
            public static Func<Core.Logger>? CreateLike(Core.Logger logger) => Builders.TryGetValue(logger, out var create) ? create : null;
        }

        static void CloseWhenTheProcessEnds(Core.Logger late, Func<Core.Logger> create)
        {
            Volatile.Write(ref s_late, new LateLogger(late, create));
            if (Interlocked.Exchange(ref s_handlersAdded, 1) != 0) return;
            AppDomain.CurrentDomain.ProcessExit += static (_, _) => CloseLateLogger();
            AppDomain.CurrentDomain.UnhandledException += static (_, _) => CloseLateLogger();
        }

        /// <summary>
        /// Flushes and closes the late logger of a disposed host while it is still <see cref="Log.Logger"/>: when the
        /// process ends, or when AddObservability() is about to make another logger <see cref="Log.Logger"/>. Otherwise
        /// <c>Log.CloseAndFlush()</c> has closed it, or the application replaced it and owns what it did with it.
        /// </summary>
        /// <returns>How to build another logger from the closed one's configuration; null when none was closed.</returns>
        public static Func<Core.Logger>? CloseLateLogger()
        {
            if (Volatile.Read(ref s_late) is not { } entry || !entry.Logger.TryGetTarget(out var late)
                || !ReferenceEquals(Log.Logger, late)
                || !ReferenceEquals(Interlocked.CompareExchange(ref s_late, null, entry), entry)
                || !ReplaceStaticLogger(late, Core.Logger.None))
                return null;
            // Not Log.CloseAndFlush(), which would close whatever logger another host made Log.Logger meanwhile.
            late.Dispose();
            return LateLogger.CreateLike(late);
        }

        /// <summary>
        /// AddObservability() closed <see cref="Log.Logger"/> (the last call's logger, or a late one) and then failed to
        /// build its own: a logger from <paramref name="create"/>, the closed one's configuration, becomes
        /// <see cref="Log.Logger"/> in its place, so that what the application logs about the failure is written.
        /// Closed as a late logger is. Nothing is done when Log.Logger is not empty (the closed logger was not it).
        /// </summary>
        public static void RestoreAfterFailure(Func<Core.Logger>? create)
        {
            if (create is null || !ReferenceEquals(Log.Logger, Core.Logger.None)) return;
            Core.Logger restored;
            try
            {
                restored = create();
            }
            catch (Exception ex)
            {
                SafeSelfLog.WriteLine("AddObservability: the logger a failed call closed could not be rebuilt: {0}", ex);
                return;
            }
            if (!ReplaceStaticLogger(Core.Logger.None, restored))
            {
                restored.Dispose();
                return;
            }
            CloseWhenTheProcessEnds(restored, create);
        }
    }
}
