using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Serilog.Extensions.Observability.IntegrationTests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.IntegrationTests.Packaging;

/// <summary>
/// Packs every package into a temporary folder, checks what each nupkg holds, then builds and runs throwaway
/// console apps that reference the packages by version only, as a user would: one on the Serilog the packages are
/// built against, one on Serilog 4 and its companion packages (the versions of the Serilog 4 test run).
/// </summary>
[NonParallelizable]
public class PackagesInstallTests
{
    static readonly string[] PackageIds =
    [
        "Serilog.Extensions.Observability.Formatting",
        "Serilog.Extensions.Observability.Enrichers",
        "Serilog.Extensions.Observability.Redaction",
        "Serilog.Extensions.Observability.Timing",
        "Serilog.Extensions.Observability.Sinks.RollingJson",
        "Serilog.Extensions.Observability",
        "Serilog.Extensions.Observability.AspNetCore",
    ];

    TempFolder _work = null!;
    string _feed = null!;
    string _version = null!;
    string _packOutput = null!;

    [OneTimeSetUp]
    public async Task PackEverything()
    {
        _work = TempFolder.ForCaller();
        _feed = Directory.CreateDirectory(Path.Combine(_work.Path, "feed")).FullName;
        // A version no earlier run used, so no package cache can hand back a stale copy.
        _version = "0.0.1-ci." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");

        // Through build/pack.sh, so the script the README names is what CI proves.
        var result = await ChildProcess.RunAsync("bash",
            $"build/pack.sh \"{_feed}\" --no-build -p:PackageVersion={_version}",
            Repository.Root, TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["CONFIGURATION"] = Repository.Configuration });
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        _packOutput = result.Output;
    }

    [OneTimeTearDown]
    public void CleanUp() => _work.Dispose();

    [Test]
    public void PackingTheSolutionWritesNoWarning()
    {
        // The projects that are not packages (tests, benchmarks, the sample) are skipped without a word, so a warning
        // in the script's output is always news.
        var warnings = _packOutput.Split('\n').Where(line => line.Contains("warning", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.That(warnings, Is.Empty);
    }

    [Test]
    public void EveryPackageHasItsSymbolsReadmeLicenseTagsDocsAndDependencies()
    {
        foreach (var id in PackageIds)
        {
            var nupkg = Path.Combine(_feed, $"{id}.{_version}.nupkg");
            Assert.That(File.Exists(nupkg), Is.True, $"{id} was not packed.");
            Assert.That(File.Exists(Path.ChangeExtension(nupkg, ".snupkg")), Is.True, $"{id} has no symbol package.");

            using var zip = ZipFile.OpenRead(nupkg);
            var entries = zip.Entries.Select(e => e.FullName).ToList();
            XNamespace ns;
            XElement metadata;
            using (var stream = zip.GetEntry($"{id}.nuspec")!.Open())
            {
                var nuspec = XDocument.Load(stream);
                ns = nuspec.Root!.Name.Namespace;
                metadata = nuspec.Root.Element(ns + "metadata")!;
            }

            Assert.That(metadata.Element(ns + "description")?.Value, Is.Not.Empty, id);
            Assert.That(metadata.Element(ns + "tags")?.Value, Does.StartWith("serilog"), id);
            Assert.That(metadata.Element(ns + "license")?.Value, Is.EqualTo("Apache-2.0"), id);
            Assert.That(metadata.Element(ns + "license")?.Attribute("type")?.Value, Is.EqualTo("expression"), id);
            Assert.That(metadata.Element(ns + "readme")?.Value, Is.EqualTo("README.md"), id);
            Assert.That(entries, Does.Contain("README.md"), id);
            // nuget.org renders the packed README on its own: a link or image to a file beside it leads nowhere.
            string readme;
            using (var reader = new StreamReader(zip.GetEntry("README.md")!.Open())) readme = reader.ReadToEnd();
            var relativeTargets = Regex.Matches(readme, @"\]\((?!https?://|#)([^)\s]+)\)|<img[^>]*src=""(?!https?://)([^""]+)""")
                .Select(m => m.Value).ToList();
            Assert.That(relativeTargets, Is.Empty, $"{id}'s README links to files the package does not carry.");
            foreach (var tfm in new[] { "net8.0", "net10.0" })
            {
                Assert.That(entries, Does.Contain($"lib/{tfm}/{id}.dll"), id);
                Assert.That(entries, Does.Contain($"lib/{tfm}/{id}.xml"), $"{id} has no XML docs for {tfm}.");
            }

            var dependencies = metadata.Descendants(ns + "dependency").ToList();
            if (id != "Serilog.Extensions.Observability.AspNetCore")
                Assert.That(dependencies.Any(d => d.Attribute("id")?.Value == "Serilog" && d.Attribute("version")?.Value == "3.1.1"), Is.True,
                    $"{id} must depend on Serilog 3.1.1 or later.");
            foreach (var internalDependency in dependencies.Where(d => d.Attribute("id")!.Value.StartsWith("Serilog.Extensions.Observability", StringComparison.Ordinal)))
                Assert.That(internalDependency.Attribute("version")?.Value, Is.EqualTo(_version), $"{id} depends on another version of {internalDependency.Attribute("id")!.Value}.");
        }
    }

    [Test]
    public void EverySymbolPackageEmbedsTheSourceOfEveryDocumentItsPdbsName()
    {
        // The repository may have no remote for Source Link to point at: a debugger stepping into a package
        // finds the source only if the pdb carries it.
        var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
        foreach (var id in PackageIds)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(_feed, $"{id}.{_version}.snupkg"));
            var pdbs = zip.Entries.Where(e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal)).ToList();
            Assert.That(pdbs.Select(e => e.FullName), Is.EquivalentTo(new[] { $"lib/net8.0/{id}.pdb", $"lib/net10.0/{id}.pdb" }), id);
            foreach (var entry in pdbs)
            {
                using var pdb = new MemoryStream();
                using (var stream = entry.Open()) stream.CopyTo(pdb);
                pdb.Position = 0;
                using var provider = MetadataReaderProvider.FromPortablePdbStream(pdb);
                var reader = provider.GetMetadataReader();
                var withoutSource = reader.Documents
                    .Where(d => !reader.GetCustomDebugInformation(d).Any(c => reader.GetGuid(reader.GetCustomDebugInformation(c).Kind) == embeddedSource))
                    .Select(d => reader.GetString(reader.GetDocument(d).Name))
                    .ToList();
                Assert.That(reader.Documents.Count, Is.GreaterThan(0), entry.FullName);
                Assert.That(withoutSource, Is.Empty, $"{id} {entry.FullName} names sources it does not embed.");
            }
        }
    }

    [Test]
    public async Task AThrowawayAppReferencingThePackagesByVersionWritesRedactedCorrelatedClef()
    {
        var app = await WriteConsumerAsync("consumer", [("Serilog.Extensions.Observability", _version)], program: """
            using Serilog;
            using Serilog.Extensions.Observability;
            using Serilog.Extensions.Observability.Enrichers;

            var path = Path.Combine(args[0], "app-.json");
            Log.Logger = new LoggerConfiguration()
                .WithObservability(o => o.Service("consumer").Console(ObservabilityConsoleFormat.None).RollingJson(path))
                .CreateLogger();
            using (CorrelationContext.Begin("consumer-correlation-1"))
                Log.Information("User {UserName} signed in with {Password}", "ann", "consumer-secret-1");
            Log.CloseAndFlush();
            Console.WriteLine("consumer done");
            """);
        var logs = Directory.CreateDirectory(Path.Combine(_work.Path, "consumer-logs")).FullName;

        var run = await RunDotnetAsync(app, $"run -c Release -- \"{logs}\"");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Output);
        Assert.That(run.Output, Does.Contain("consumer done"));
        var line = File.ReadAllLines(Directory.GetFiles(logs).Single()).Single();
        using var json = JsonDocument.Parse(line);
        Assert.That(json.RootElement.GetProperty("@mt").GetString(), Is.EqualTo("User {UserName} signed in with {Password}"));
        Assert.That(json.RootElement.GetProperty("CorrelationId").GetString(), Is.EqualTo("consumer-correlation-1"));
        Assert.That(json.RootElement.GetProperty("ServiceName").GetString(), Is.EqualTo("consumer"));
        Assert.That(json.RootElement.GetProperty("UserName").GetString(), Is.EqualTo("ann"));
        Assert.That(line, Does.Not.Contain("consumer-secret-1"));
    }

    [Test]
    public void EveryPackageDependsOnWhatItIsBuiltAgainstWithAnOpenRangeThatAdmitsTheSerilog4Line()
    {
        // An application on Serilog 4 references Serilog 4.4.0, Serilog.Settings.Configuration 10.0.1, ... beside these
        // packages: a dependency with an upper bound ("[3.1.1]", "[3.1.1, 4.0.0)") would make its restore warn (NU1608)
        // or fail. A nuspec writes ">= 3.1.1" as "3.1.1".
        var builtAgainst = RepositoryPackageVersions("Runtime", "Include");
        foreach (var id in PackageIds)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(_feed, $"{id}.{_version}.nupkg"));
            using var stream = zip.GetEntry($"{id}.nuspec")!.Open();
            var nuspec = XDocument.Load(stream);
            var ns = nuspec.Root!.Name.Namespace;
            var groups = nuspec.Descendants(ns + "dependencies").Single().Elements(ns + "group").ToList();
            Assert.That(groups.Select(g => g.Attribute("targetFramework")?.Value), Is.EquivalentTo(new[] { "net8.0", "net10.0" }), id);
            foreach (var (group, dependency) in groups.SelectMany(g => g.Elements(ns + "dependency"), (g, d) => (g, d)))
            {
                var dependencyId = dependency.Attribute("id")!.Value;
                if (dependencyId.StartsWith("Serilog.Extensions.Observability", StringComparison.Ordinal)) continue;
                Assert.That(builtAgainst.Keys, Does.Contain(dependencyId), $"{id} depends on {dependencyId}, which Directory.Packages.props does not pin.");
                Assert.That(dependency.Attribute("version")?.Value, Is.EqualTo(builtAgainst[dependencyId]),
                    $"{id} ({group.Attribute("targetFramework")?.Value}) must depend on {dependencyId} {builtAgainst[dependencyId]} or later, with no upper bound.");
            }
        }
    }

    [Test]
    public async Task AnAppOnSerilog4InstallsThePackagesWithoutAWarningAndWritesRedactedCorrelatedClefFromAppsettings()
    {
        // The versions the Serilog 4 test run lifts the libraries' dependencies to, as an application on Serilog 4 does.
        var serilog4 = RepositoryPackageVersions("Serilog 4 test run", "Update");
        Assert.That(serilog4["Serilog"], Does.StartWith("4."));
        var app = await WriteConsumerAsync("consumer-serilog4",
            [("Serilog.Extensions.Observability.AspNetCore", _version), .. serilog4.Select(p => (p.Key, p.Value))],
            properties: "<TreatWarningsAsErrors>true</TreatWarningsAsErrors>",
            program: """
                using System.Reflection;
                using Microsoft.Extensions.DependencyInjection;
                using Microsoft.Extensions.Hosting;
                using Microsoft.Extensions.Logging;
                using Serilog;
                using Serilog.Extensions.Observability.Enrichers;

                // The "Serilog" section of appsettings.json writes to RollingJson; the path comes from the command line
                // (--Serilog:WriteTo:0:Args:path=...).
                var builder = Host.CreateApplicationBuilder(args);
                builder.AddObservability(o => o.Service("consumer-serilog4"));
                using (var host = builder.Build())
                {
                    var logger = host.Services.GetRequiredService<ILogger<Program>>();
                    using (CorrelationContext.Begin("consumer-correlation-4"))
                        logger.LogInformation("User {UserName} signed in with {Password}", "ann", "consumer-secret-4");
                }

                Log.CloseAndFlush();
                var serilog = typeof(Log).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
                Console.WriteLine($"consumer done on Serilog {serilog.Split('+')[0]}");
                """,
            files: new Dictionary<string, string>
            {
                ["appsettings.json"] = """
                    {
                      "Serilog": {
                        "MinimumLevel": { "Default": "Information", "Override": { "Microsoft": "Warning" } },
                        "WriteTo": [ { "Name": "RollingJson", "Args": { "path": "set-on-the-command-line" } } ]
                      }
                    }
                    """,
            });
        var logs = Directory.CreateDirectory(Path.Combine(_work.Path, "consumer-serilog4-logs")).FullName;

        var restore = await RunDotnetAsync(app, "restore");
        // As build/test.sh treats the Serilog 4 run: a feed that does not serve those versions skips, and says so.
        if (restore.ExitCode != 0 && Regex.IsMatch(restore.Output, @"error NU110[123]\b.*\bSerilog"))
            Assert.Ignore("The package feed does not serve the Serilog 4 line this test installs:\n" + restore.Output);
        Assert.That(restore.ExitCode, Is.EqualTo(0), restore.Output);
        Assert.That(Regex.Matches(restore.Output, "NU1605|NU1608|NU1603|NU1107").Select(m => m.Value).Distinct(), Is.Empty, restore.Output);
        // What restore chose: the application's Serilog 4 line, not the versions our packages are built against.
        List<string> resolved;
        using (var assets = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"))))
            resolved = assets.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var (id, version) in serilog4) Assert.That(resolved, Does.Contain($"{id}/{version}"));
        foreach (var id in PackageIds) Assert.That(resolved, Does.Contain($"{id}/{_version}"));

        var build = await RunDotnetAsync(app, "build -c Release --no-restore");
        Assert.That(build.ExitCode, Is.EqualTo(0), build.Output);

        var run = await RunDotnetAsync(app, $"run -c Release --no-build -- \"--Serilog:WriteTo:0:Args:path={Path.Combine(logs, "app-.json")}\"");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Output);
        Assert.That(run.Output, Does.Contain($"consumer done on Serilog {serilog4["Serilog"]}"));
        var lines = File.ReadAllLines(Directory.GetFiles(logs).Single());
        var line = lines.Single(l => l.Contains("signed in", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(line);
        Assert.That(json.RootElement.GetProperty("@mt").GetString(), Is.EqualTo("User {UserName} signed in with {Password}"));
        Assert.That(json.RootElement.GetProperty("CorrelationId").GetString(), Is.EqualTo("consumer-correlation-4"));
        Assert.That(json.RootElement.GetProperty("ServiceName").GetString(), Is.EqualTo("consumer-serilog4"));
        Assert.That(json.RootElement.GetProperty("SourceContext").GetString(), Is.EqualTo("Program"));
        Assert.That(json.RootElement.GetProperty("UserName").GetString(), Is.EqualTo("ann"));
        Assert.That(json.RootElement.GetProperty("Password").GetString(), Is.EqualTo("[REDACTED]"));
        Assert.That(lines, Has.None.Contains("consumer-secret-4"));
    }

    /// <summary>
    /// Writes a console app into a folder of its own that references <paramref name="packages"/> by version only, from
    /// the packed feed and the machine's source, with none of the repository's build files applying: as in a user's
    /// repository. <paramref name="files"/> go beside the project.
    /// </summary>
    async Task<string> WriteConsumerAsync(string name, IEnumerable<(string Id, string Version)> packages, string program,
        string properties = "", IReadOnlyDictionary<string, string>? files = null)
    {
        var app = Directory.CreateDirectory(Path.Combine(_work.Path, name)).FullName;
        var references = string.Join("\n", packages.Select(p => $"""    <PackageReference Include="{p.Id}" Version="{p.Version}" />"""));
        await File.WriteAllTextAsync(Path.Combine(app, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
                {properties}
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
        // Stop the repository's build files from applying.
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Build.props"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Build.targets"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Packages.props"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="packed-for-this-test" value="{_feed}" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
        foreach (var (file, content) in files ?? new Dictionary<string, string>())
            await File.WriteAllTextAsync(Path.Combine(app, file), content);
        return app;
    }

    /// <summary>
    /// Runs <c>dotnet</c> in a consumer's folder with a package folder private to this fixture and shared by its
    /// consumers: restore takes our packages from the feed, the rest from the machine's source.
    /// </summary>
    Task<ProcessResult> RunDotnetAsync(string app, string arguments) =>
        ChildProcess.RunAsync("dotnet", arguments, app, TimeSpan.FromMinutes(5),
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_work.Path, "nuget-packages") });

    /// <summary>The <c>PackageVersion</c> items (<paramref name="attribute"/>: Include or Update) of one labelled group of Directory.Packages.props.</summary>
    static Dictionary<string, string> RepositoryPackageVersions(string label, string attribute)
    {
        var props = XDocument.Load(Path.Combine(Repository.Root, "Directory.Packages.props")).Root!;
        // A version may name a property the file gives a default (Serilog4Version), or give its default itself
        // ($([MSBuild]::ValueOrDefault('$(SerilogExtensionsLoggingVersion)', '10.0.0'))): the default is what the run takes.
        // A property may be given more than once, lower Serilog versions' defaults first (SerilogAspNetCoreVersion): on
        // the versions this file defaults to, the last one is what the run takes.
        var properties = props.Elements("PropertyGroup").Elements().GroupBy(e => e.Name.LocalName)
            .ToDictionary(g => g.Key, g => g.Last().Value);
        return props.Elements("ItemGroup").Single(g => g.Attribute("Label")?.Value == label)
            .Elements("PackageVersion").Where(p => p.Attribute(attribute) is not null)
            .ToDictionary(p => p.Attribute(attribute)!.Value, p => Regex.Replace(
                Regex.Replace(p.Attribute("Version")!.Value, @"^\$\(\[MSBuild\]::ValueOrDefault\('\$\((\w+)\)',\s*'([^']*)'\)\)$",
                    m => properties.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Groups[2].Value),
                @"\$\((\w+)\)", m => properties.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value));
    }
}
