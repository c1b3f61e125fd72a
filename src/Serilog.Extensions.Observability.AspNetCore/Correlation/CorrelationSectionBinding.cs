using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Serilog.Extensions.Observability.AspNetCore.Hosting;

namespace Serilog.Extensions.Observability.AspNetCore.Correlation;

/// <summary>
/// Binds <c>"Serilog:Correlation"</c> onto <see cref="CorrelationOptions"/>: their property names, strictly (a key that
/// is not one of them, or a value that does not convert, is a configuration error naming it), a list the section gives
/// in place of the default rather than added to it, and header names checked by the rule <c>UseCorrelation()</c> applies.
/// </summary>
internal static class CorrelationSectionBinding
{
    public const string SectionName = "Correlation";

    /// <summary>The properties whose value is a list of names.</summary>
    static readonly string[] Lists =
    [
        nameof(CorrelationOptions.AdditionalHeaderNames),
        nameof(CorrelationOptions.UserIdClaimTypes),
        nameof(CorrelationOptions.TenantIdClaimTypes),
        nameof(CorrelationOptions.SessionIdClaimTypes),
    ];

    /// <summary>Binds <paramref name="section"/> onto <paramref name="options"/>; throws <see cref="InvalidOperationException"/> naming the key at fault.</summary>
    public static void Bind(IConfigurationSection section, CorrelationOptions options)
    {
        OneValueSettings.Check(section, typeof(CorrelationOptions), "correlation");
        var lists = new List<(string Name, List<string> Names)>();
        foreach (var entry in section.GetChildren())
        {
            if (string.Equals(entry.Key, nameof(CorrelationOptions.Logger), StringComparison.OrdinalIgnoreCase))
                throw Error(entry, "cannot be set in configuration: the logger is set in code (UseCorrelation(o => o.Logger = ...)).");
            if (Array.Find(Lists, name => string.Equals(name, entry.Key, StringComparison.OrdinalIgnoreCase)) is not { } list)
                continue;
            var entries = entry.GetChildren().ToList();
            if (entries.Count == 0 && !string.IsNullOrEmpty(entry.Value))
                throw Error(entry, $"is a list: give its entries as a JSON array ([ \"{entry.Value}\" ]) or as the keys {entry.Path}:0, {entry.Path}:1, ...");
            // Read here, not by the binder, which adds what it reads to the list it finds: "UserIdClaimTypes": [ "uid" ]
            // would come after "sub". An empty entry (Serilog__Correlation__AdditionalHeaderNames__0= over
            // appsettings.json) switches it off, as in the section's other lists; an empty list ([], or the key given an
            // empty value) leaves none.
            var names = new List<string>();
            foreach (var name in entries)
            {
                if (name.GetChildren().Any())
                    throw Error(name, "must be a name, not an object or a list.");
                if (string.IsNullOrWhiteSpace(name.Value)) continue;
                if (list == nameof(CorrelationOptions.AdditionalHeaderNames) && !CorrelationHeader.IsValidName(name.Value))
                    throw Error(name, $"must be {CorrelationHeader.NameRule} It is '{name.Value}'.");
                names.Add(name.Value);
            }
            lists.Add((list, names));
        }

        try
        {
            section.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException(
                $"The \"{section.Path}\" section does not bind to the correlation options ({nameof(CorrelationOptions)} property names): {ex.Message}", ex);
        }

        // In place of what the binder made of them, which it adds to the default lists.
        foreach (var (list, names) in lists) Set(options, list, names);

        var headerName = section.GetSection(nameof(CorrelationOptions.HeaderName));
        if (headerName.Value is not null && !CorrelationHeader.IsValidName(options.HeaderName))
            throw Error(headerName, $"must be {CorrelationHeader.NameRule} It is '{headerName.Value}'.");
    }

    static void Set(CorrelationOptions options, string list, List<string> names)
    {
        switch (list)
        {
            case nameof(CorrelationOptions.AdditionalHeaderNames): options.AdditionalHeaderNames = names; break;
            case nameof(CorrelationOptions.UserIdClaimTypes): options.UserIdClaimTypes = names; break;
            case nameof(CorrelationOptions.TenantIdClaimTypes): options.TenantIdClaimTypes = names; break;
            default: options.SessionIdClaimTypes = names; break;
        }
    }

    static InvalidOperationException Error(IConfigurationSection key, string rule) => new($"\"{key.Path}\" {rule}");

    /// <summary>Applies the section to the options <c>UseCorrelation()</c> starts from.</summary>
    internal sealed class ConfigureFromSection(IConfigurationSection section) : IConfigureOptions<CorrelationOptions>
    {
        public void Configure(CorrelationOptions options) => Bind(section, options);
    }
}
