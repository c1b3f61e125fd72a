using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Serilog.Extensions.Observability.AspNetCore.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// The section's method entries (<c>"WriteTo"</c>, <c>"Enrich"</c>, ..., and the lists inside their arguments) that
/// Serilog.Settings.Configuration would leave out with only a SelfLog line: a name it finds no method for, an entry
/// without an argument its method needs, and a level switch argument naming no declared switch. AddObservability sets
/// the static Log.Logger, and the reader's judgement is read from the process-global SelfLog.
/// </summary>
[NonParallelizable]
public class SectionMethodEntriesTests
{
    [TearDown]
    public void ResetStaticLogger() => Log.CloseAndFlush();

    static WebApplicationBuilder BuilderWith(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    static WebApplicationBuilder BuilderWith(string serilogSection)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{ "Serilog": {{serilogSection}} }""")));
        return builder;
    }

    /// <summary>What Serilog.Settings.Configuration alone says through SelfLog when it reads the configuration.</summary>
    static List<string> ReaderAloneSays(IConfiguration configuration)
    {
        var lines = new List<string>();
        using (TemporarySelfLog.SaveTo(lines))
            new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger().Dispose();
        return lines;
    }

    /// <summary>
    /// The message of what Serilog.Settings.Configuration alone throws reading the configuration (the inner exception
    /// when it throws inside an entry's method, which reads the list of its argument); empty when it throws nothing.
    /// </summary>
    static string ReaderAloneRefuses(IConfiguration configuration)
    {
        try
        {
            ReaderAloneSays(configuration);
        }
        catch (Exception ex)
        {
            while (ex is System.Reflection.TargetInvocationException { InnerException: { } inner }) ex = inner;
            return ex.Message;
        }
        return "";
    }

    static bool FindsNoMethod(List<string> selfLog) => selfLog.Any(l => l.Contains("Unable to find a method called", StringComparison.Ordinal));

    [TestCase("Serilog:WriteTo:0:")]
    [TestCase("Serilog:WriteTo:Files:")]
    [TestCase("Serilog:WriteTo:0:Args:configure:0:")]
    [TestCase("Serilog:WriteTo:0:Args:configureWrappedSink:Main:")]
    [TestCase("Serilog:WriteTo:0:Args:configure:WriteTo:Main:")]
    public void AnUnknownSinkNameFailsNamingItsKeyAndTheNameMeant(string entry)
    {
        using var folder = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>
        {
            [entry + "Name"] = "RollingJsn",
            [entry + "Args:path"] = Path.Combine(folder.Path, "app-.json"),
        };
        // Inside Async's list, a wrapper's list of another name, and the section of a logger given as an argument.
        if (entry.Contains(":configure:0:", StringComparison.Ordinal)) settings["Serilog:WriteTo:0:Name"] = "Async";
        if (entry.Contains(":configureWrappedSink:", StringComparison.Ordinal)) settings["Serilog:WriteTo:0:Name"] = "TestWrapper";
        if (entry.Contains(":configure:WriteTo:", StringComparison.Ordinal)) settings["Serilog:WriteTo:0:Name"] = "TestSubLogger";

        var ex = Assert.Throws<InvalidOperationException>(() => BuilderWith(settings).AddObservability());

        Assert.That(ex!.Message, Does.StartWith($"The \"{entry}Name\" setting must name a sink method Serilog.Settings.Configuration finds")
            .And.Contain("'RollingJsn' is none").And.Contain("Did you mean 'RollingJson'?"));
        Assert.That(Directory.GetFiles(folder.Path), Is.Empty, "nothing was built");
    }

    [Test]
    public void ASinkNameInAnotherCaseFailsAsTheReaderMatchesNamesOrdinally()
    {
        // Serilog.Settings.Configuration compares names ordinally (8.0 and 10.0): "rollingJson" is no sink to it.
        using var folder = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "rollingJson",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(folder.Path, "app-.json"),
        };
        Assert.That(FindsNoMethod(ReaderAloneSays(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())), Is.True);

        var ex = Assert.Throws<InvalidOperationException>(() => BuilderWith(settings).AddObservability());

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Name\" setting must name a sink method")
            .And.Contain("Did you mean 'RollingJson'? Names are case-sensitive."));
    }

    [Test]
    public void AnEntryWithoutAnArgumentItsMethodNeedsFailsNamingTheMissingKeyAndWhatItGives()
    {
        using var folder = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "RollingJson",
            ["Serilog:WriteTo:0:Args:pth"] = Path.Combine(folder.Path, "app-.json"),
        };

        var ex = Assert.Throws<InvalidOperationException>(() => BuilderWith(settings).AddObservability());

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Args:path\" setting is missing: RollingJson(path, ")
            .And.Contain("has no default for it").And.Contain("(pth)"));
    }

    [TestCase("Serilog:WriteTo:0:", "$missing")]
    [TestCase("Serilog:WriteTo:0:Args:configure:0:", "$missing")]
    [TestCase("Serilog:WriteTo:0:", "")]
    [TestCase("Serilog:WriteTo:0:Args:configure:0:", "")]
    public void ALevelSwitchArgumentNamingNoDeclaredSwitchFailsNamingItsKey(string entry, string levelSwitch)
    {
        using var folder = TempFolder.ForCaller();
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:$app"] = "Information",
            [entry + "Name"] = "RollingJson",
            [entry + "Args:path"] = Path.Combine(folder.Path, "app-.json"),
            [entry + "Args:levelSwitch"] = levelSwitch,
        };
        if (entry.Contains(":configure:", StringComparison.Ordinal)) settings["Serilog:WriteTo:0:Name"] = "Async";
        // An empty one too: the reader looks up a switch named "" (Serilog__WriteTo__0__Args__levelSwitch= does not
        // take the switch away).
        Assert.That(ReaderAloneRefuses(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()),
            Does.StartWith($"No LoggingLevelSwitch has been declared with name \"{levelSwitch}\""), "the reader refuses it");

        var ex = Assert.Throws<InvalidOperationException>(() => BuilderWith(settings).AddObservability());

        Assert.That(ex!.Message, Is.EqualTo($"The \"{entry}Args:levelSwitch\" setting must be the name of a switch declared in " +
            $"\"Serilog:LevelSwitches\" (\"$name\"); it is '{levelSwitch}'."));
        Assert.That(ex.InnerException!.Message, Does.Contain($"\"{levelSwitch}\""), "what Serilog.Settings.Configuration threw");
        Assert.That(Directory.GetFiles(folder.Path), Is.Empty, "nothing was built");
    }

    [TestCase("ops")]
    [TestCase("$ops")]
    public void ALevelSwitchArgumentWithoutItsDollarIsRefusedAsTheReaderRefusesItWithTheNameMeant(string declared)
    {
        // The reader refers to a switch by "$" and its name, declared with the "$" or without it.
        var builder = BuilderWith($$"""{ "LevelSwitches": { "{{declared}}": "Debug" }, "WriteTo": [ { "Name": "Console", "Args": { "levelSwitch": "ops" } } ] }""");
        Assert.That(ReaderAloneRefuses(builder.Configuration), Does.StartWith("No LoggingLevelSwitch has been declared with name \"ops\""),
            "the reader refuses it");

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability());

        Assert.That(ex!.Message, Is.EqualTo("The \"Serilog:WriteTo:0:Args:levelSwitch\" setting must be the name of a switch declared in " +
            "\"Serilog:LevelSwitches\" (\"$name\"); it is 'ops'. Did you mean '$ops'?"));
    }

    [TestCase("""{ "WriteTo": [ "Console", { "Args": { "path": "app-.json" } } ] }""", "Serilog:WriteTo:1:Name", "a sink")]
    [TestCase("""{ "WriteTo": { "Screen": { "Name": "Console", "Args": { "levelSwitch": "$missing" } }, "File": { "Args": { "path": "app-.json" } } } }""",
        "Serilog:WriteTo:File:Name", "a sink")]
    [TestCase("""{ "Enrich": [ { "Name": "AtLevel", "Args": { "enrichFromLevel": "Warning", "configureEnricher": [ { "Args": {} } ] } } ] }""",
        "Serilog:Enrich:0:Args:configureEnricher:0:Name", "an enricher")]
    public void AnEntryWithoutANameFailsNamingItsKeyBeforeAnythingIsBuilt(string serilogSection, string key, string noun)
    {
        // The reader refuses the whole list when it reads its entries' names, before it calls any of their methods
        // (and before it looks up their switches).
        var builder = BuilderWith(serilogSection);
        Assert.That(ReaderAloneRefuses(builder.Configuration), Does.Contain(key).And.Contain("has no 'Name' element"), "the reader refuses it");

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability());

        Assert.That(ex!.Message, Is.EqualTo($"The \"{key}\" setting is missing: an entry that is not a name alone (\"Console\") must name " +
            $"{noun} method, and Serilog.Settings.Configuration refuses the section without it."));
    }

    [TestCase("$app", null)]
    [TestCase("$missing", "$missing")]
    public void ALevelSwitchArgumentIsLookedUpWithItsEnvironmentVariablesExpandedAsTheReaderDoes(string variableValue, string? refused)
    {
        var variable = "OBSERVABILITY_TEST_SWITCH_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, variableValue);
        try
        {
            var builder = BuilderWith($$"""{ "LevelSwitches": { "$app": "Debug" }, "WriteTo": [ { "Name": "Console", "Args": { "levelSwitch": "%{{variable}}%" } } ] }""");

            if (refused is null)
            {
                Assert.That(() => ReaderAloneSays(builder.Configuration), Throws.Nothing, "the reader takes the section");
                Assert.DoesNotThrow(() => builder.AddObservability());
            }
            else
            {
                var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability());
                Assert.That(ex!.Message, Is.EqualTo("The \"Serilog:WriteTo:0:Args:levelSwitch\" setting must be the name of a switch declared in " +
                    $"\"Serilog:LevelSwitches\" (\"$name\"); it is '%{variable}%' ('{refused}').") );
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [TestCase("""{ "WriteTo": [ { "Name": "Console", "Args": { "levelSwitch": "$sub" } }, { "Name": "Logger", "Args": { "configureLogger": { "LevelSwitches": { "$sub": "Debug" } } } } ] }""")]
    [TestCase("""{ "WriteTo": [ { "Name": "Logger", "Args": { "levelSwitch": "$sub", "configureLogger": { "LevelSwitches": { "$sub": "Debug" } } } } ] }""")]
    [TestCase("""{ "AuditTo": [ { "Name": "Logger", "Args": { "configureLogger": { "LevelSwitches": { "$sub": "Debug" } } } } ], "Enrich": [ { "Name": "AtLevel", "Args": { "levelSwitch": "$sub", "configureEnricher": [ "FromLogContext" ] } } ] }""")]
    public void ALevelSwitchASubLoggerDeclaresOnlyAfterTheEntryReadingItIsRefused(string serilogSection)
    {
        // The reader declares a sub-logger's switches when it builds that logger: after the arguments of its own entry,
        // and after the entries it reads before it (those of a name that comes first, a list read earlier).
        var builder = BuilderWith(serilogSection);
        Assert.That(() => ReaderAloneSays(builder.Configuration), Throws.InvalidOperationException.With.Message.Contain("\"$sub\""),
            "the reader refuses it");

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability());

        Assert.That(ex!.Message, Does.EndWith("setting must be the name of a switch declared in \"Serilog:LevelSwitches\" (\"$name\"); it is '$sub'."));
    }

    [Test]
    public void InASingleFileAppASinkOfAnAssemblyUsingDoesNotListIsNone()
    {
        // Given assemblies, the reader looks through those alone: this test assembly's sink is loaded, and its name
        // contains "Serilog", but it is not among them.
        var builder = BuilderWith("""{ "WriteTo": [ { "Name": "RefusingPath", "Args": { "id": "first" } } ] }""");

        var ex = Assert.Throws<InvalidOperationException>(() =>
            ObservabilityHostApplicationBuilderExtensions.AddObservability(builder, configure: null, singleFile: true));

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Name\" setting must name a sink method").And.Contain("'RefusingPath' is none")
            .And.EndWith("Is its package referenced, and listed in \"Serilog:Using\"?"));
    }

    [TestCase("[ \"FromLogContxt\" ]", "Serilog:Enrich:0", "FromLogContxt", "FromLogContext")]
    [TestCase("[ \"FromLogContext\", { \"Name\": \"WithCorelation\" } ]", "Serilog:Enrich:1:Name", "WithCorelation", "WithCorrelation")]
    public void AnUnknownEnricherNameFailsNamingItsKey(string enrich, string key, string name, string meant)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => BuilderWith($$"""{ "Enrich": {{enrich}} }""").AddObservability());

        Assert.That(ex!.Message, Does.StartWith($"The \"{key}\" setting must name an enricher method Serilog.Settings.Configuration finds")
            .And.Contain($"'{name}' is none").And.Contain($"Did you mean '{meant}'?"));
    }

    [Test]
    public void ANameWithNothingNearItIsNamedWithoutAGuess()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            BuilderWith("""{ "WriteTo": [ { "Name": "Elasticsearch", "Args": { "nodeUris": "http://127.0.0.1:9200" } } ] }""").AddObservability());

        Assert.That(ex!.Message, Does.StartWith("The \"Serilog:WriteTo:0:Name\" setting must name a sink method")
            .And.Contain("'Elasticsearch' is none").And.EndWith("Is its package referenced?"));
    }

    // Each as an appsettings.json "Serilog" section that Serilog.Settings.Configuration takes: asked first, below.
    static readonly string[] AcceptedSections =
    [
        // Short names, found without "Using".
        """{ "Enrich": [ "FromLogContext", "WithCorrelation", { "Name": "WithThreadId" } ], "WriteTo": [ { "Name": "Console" } ] }""",
        // "Using" with a full assembly name, and an object-form "WriteTo" with keys of the application's choosing.
        """{ "Using": [ "Serilog.Sinks.Console, Culture=neutral" ], "WriteTo": { "Screen": { "Name": "Console" } } }""",
        // Sinks inside Async's and Redacted's "configure" lists, and a whole logger inside Logger's "configureLogger".
        """{ "WriteTo": [ { "Name": "Async", "Args": { "configure": [ { "Name": "Console" } ] } } ] }""",
        """{ "WriteTo": [ { "Name": "Redacted", "Args": { "configure": [ "Console" ] } } ] }""",
        """{ "WriteTo": [ { "Name": "Logger", "Args": { "configureLogger": { "Enrich": [ "WithSpan" ], "WriteTo": [ "Console" ] } } } ] }""",
        // Serilog's own methods the reader offers (surrogates), and an argument named in another case.
        """{ "Destructure": [ { "Name": "ToMaximumDepth", "Args": { "MaximumDestructuringDepth": 4 } } ], "WriteTo": [ "Console" ] }""",
        // A level switch declared with and without its "$", referenced with it.
        """{ "LevelSwitches": { "$app": "Debug", "ops": "Warning" }, "WriteTo": [ { "Name": "Console", "Args": { "levelSwitch": "$app" } }, { "Name": "Console", "Args": { "levelSwitch": "$ops" } } ] }""",
        // "Name" and "Args" in another case, and plain names inside a list argument other than "configure": every entry
        // has a name the reader reads.
        """{ "LevelSwitches": { "$app": "Debug" }, "WriteTo": [ { "name": "Console", "args": { "LEVELSWITCH": "$app" } } ] }""",
        """{ "Enrich": [ { "Name": "AtLevel", "Args": { "enrichFromLevel": "Warning", "configureEnricher": [ "FromLogContext" ] } } ] }""",
        // A sink named "" (an entry switched off, as a later source's empty "Name" does).
        """{ "WriteTo": [ { "Name": "" }, "Console" ] }""",
        // An enricher of a referenced package nothing has loaded yet, found by the reader by its name.
        """{ "Enrich": [ "WithCorrelationId" ] }""",
        // "Args" empty, or a plain value (no arguments), and Async's "configure" as an object.
        """{ "WriteTo": [ { "Name": "Console", "Args": {} }, { "Name": "Console", "Args": "none" } ] }""",
        """{ "WriteTo": { "Background": { "Name": "Async", "Args": { "configure": { "Screen": { "Name": "Console" } } } } } }""",
        // A level switch a sub-logger declares: the reader declares it when it builds that logger, for the entries it
        // reads after it (those of the same name first, in their order, then the next name's).
        """{ "WriteTo": [ { "Name": "Logger", "Args": { "configureLogger": { "LevelSwitches": { "$sub": "Debug" }, "WriteTo": [ "Console" ] } } }, { "Name": "Console", "Args": { "levelSwitch": "$sub" } } ] }""",
        """{ "WriteTo": [ { "Name": "Logger", "Args": { "configureLogger": { "LevelSwitches": { "a": "Debug" }, "WriteTo": [ "Console" ] } } }, { "Name": "Console", "Args": { "levelSwitch": "$b" } }, { "Name": "Logger", "Args": { "configureLogger": { "LevelSwitches": { "b": "Debug" }, "WriteTo": [ { "Name": "Console", "Args": { "levelSwitch": "$a" } } ] } } } ] }""",
    ];

    [TestCaseSource(nameof(AcceptedSections))]
    public void ASectionTheReaderTakesWithoutComplaintStillStarts(string serilogSection)
    {
        var builder = BuilderWith(serilogSection);
        var saidAlone = ReaderAloneSays(builder.Configuration);
        Assert.That(saidAlone.Where(l => l.Contains("Unable to find a method called", StringComparison.Ordinal)
            && !l.Contains("method called .", StringComparison.Ordinal)), Is.Empty, "the reader takes the section");

        Assert.DoesNotThrow(() => builder.AddObservability());
    }

    [TestCase("""{ "Enrich": [ { "Name": "WithProperty", "Args": { "name": "App", "value": "orders" } } ] }""")]
    [TestCase("""{ "Enrich": [ "AtLevel" ] }""")]
    [TestCase("""{ "WriteTo": [ "Logger" ] }""")]
    [TestCase("""{ "WriteTo": [ "console" ] }""")]
    [TestCase("""{ "WriteTo": [ "FallbackChain" ] }""")]
    [TestCase("""{ "WriteTo": [ { "Name": "FallbackChain", "Args": { "configureSink": [ "Console" ], "configureFallback": [ "Console" ] } } ] }""")]
    [TestCase("""{ "AuditTo": [ "Sink" ] }""")]
    [TestCase("""{ "Filter": [ "ByExcluding" ] }""")]
    public void AnEntryIsRefusedExactlyWhenTheRunningReaderFindsNoMethodForIt(string serilogSection)
    {
        // Serilog's own methods the reader offers differ between its versions (FallbackChain from 10.0, taken there with
        // its lists): it is asked.
        var builder = BuilderWith(serilogSection);
        var readerFindsNone = FindsNoMethod(ReaderAloneSays(builder.Configuration));

        if (readerFindsNone)
            Assert.That(() => builder.AddObservability(), Throws.InvalidOperationException.With.Message.StartWith("The \"Serilog:"));
        else
            Assert.DoesNotThrow(() => builder.AddObservability());
    }
    /// <summary>
    /// An application's own files in its content root: <c>appsettings.json</c> listing, beside a RollingJson file, a
    /// sink of a package the build does not reference (one referenced in Production builds only), and
    /// <c>appsettings.Development.json</c> switching that entry off as the package README says.
    /// </summary>
    static WebApplicationBuilder DevelopmentBuilder(string contentRoot, string logs, bool byKey, string switchedOff)
    {
        var file = $$"""{ "Name": "RollingJson", "Args": { "path": {{JsonSerializer.Serialize(Path.Combine(logs, "app-.json"))}} } }""";
        const string production = """{ "Name": "ProductionOnlySink", "Args": { "serverUrl": "http://127.0.0.1:5341" } }""";
        var writeTo = byKey ? $$"""{ "Console": { "Name": "Console" }, "File": {{file}}, "Central": {{production}} }""" : $"[ {{ \"Name\": \"Console\" }}, {file}, {production} ]";
        File.WriteAllText(Path.Combine(contentRoot, "appsettings.json"), $$"""{ "Serilog": { "WriteTo": {{writeTo}} } }""");
        File.WriteAllText(Path.Combine(contentRoot, "appsettings.Development.json"),
            $$"""{ "Serilog": { "WriteTo": { "{{(byKey ? "Central" : "2")}}": {{switchedOff}} } } }""");
        return WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot, EnvironmentName = "Development" });
    }

    [Test]
    public void ASinkOfAPackageReferencedOnlyInProductionStartsInDevelopmentWhereAnEnvironmentFileSwitchesItOff(
        [Values(false, true)] bool byKey, [Values("""{ "Name": "" }""", "\"\"")] string switchedOff)
    {
        using var contentRoot = TempFolder.ForCaller();
        using var logs = TempFolder.ForCaller();
        var builder = DevelopmentBuilder(contentRoot.Path, logs.Path, byKey, switchedOff);
        var console = ConsoleCapture.Output(() =>
        {
            Assert.DoesNotThrow(() => builder.AddObservability());
            var app = builder.Build();
            Log.Information("In development");
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });

        Assert.That(LogFileEvents.Read(logs.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "In development" }));
        Assert.That(console.Split("In development").Length - 1, Is.EqualTo(1), "the listed console, once");
    }

    [Test]
    public void ASinkOfAPackageReferencedOnlyInProductionIsRefusedWhereNoEnvironmentFileSwitchesItOff(
        [Values(false, true)] bool byKey)
    {
        using var contentRoot = TempFolder.ForCaller();
        using var logs = TempFolder.ForCaller();
        // A Development file that changes the entry's arguments but not its name.
        var builder = DevelopmentBuilder(contentRoot.Path, logs.Path, byKey, """{ "Args": { "serverUrl": "http://127.0.0.1:5342" } }""");
        Assert.That(ReaderAloneSays(builder.Configuration), Has.Some.Contains("Unable to find a method called ProductionOnlySink"));

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability());

        Assert.That(ex!.Message, Does.StartWith($"The \"Serilog:WriteTo:{(byKey ? "Central" : "2")}:Name\" setting must name a sink method")
            .And.Contain("'ProductionOnlySink' is none").And.EndWith("Is its package referenced?"));
    }
    [TestCase("""{ "Enrich": [ { "Name": "AtLevel", "Args": { "enrichFromLevel": "Warning", "configureEnricher": { "Central": { "Name": "ProductionOnlyEnricher" } } } } ] }""",
        """{ "Enrich": { "0": { "Args": { "configureEnricher": { "Central": "" } } } } }""")]
    [TestCase("""{ "WriteTo": [ { "Name": "TestWrapper", "Args": { "configureWrappedSink": { "Central": { "Name": "ProductionOnlySink" } } } } ] }""",
        """{ "WriteTo": { "0": { "Args": { "configureWrappedSink": { "Central": "" } } } } }""")]
    [TestCase("""{ "WriteTo": [ { "Name": "TestSubLogger", "Args": { "configure": { "WriteTo": { "Central": { "Name": "ProductionOnlySink" } } } } } ] }""",
        """{ "WriteTo": { "0": { "Args": { "configure": { "WriteTo": { "Central": "" } } } } } }""")]
    public void AnEntrySwitchedOffUnderAKeyOfItsOwnInAnyListArgumentIsLeftOutAsTheReaderLeavesItOut(string serilogSection, string environmentFile)
    {
        // An argument is a list of sinks or enrichers, or a logger's section, by its parameter's type (AtLevel's
        // "configureEnricher", a wrapper's "configureWrappedSink", a logger argument named "configure"), not its name.
        var builder = BuilderWith(serilogSection);
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{ "Serilog": {{environmentFile}} }""")));
        Assert.That(ReaderAloneSays(builder.Configuration), Has.None.Contains("Unable to find a method called ProductionOnly"), "the reader takes the section");

        Assert.DoesNotThrow(() => builder.AddObservability());
    }

    [Test]
    public void AnEntrySwitchedOffUnderAKeyOfItsOwnInAFallbackListIsLeftOutAsTheReaderLeavesItOut(
        [Values("configureSink", "configureFallback")] string list)
    {
        // FallbackChain is a method Serilog.Settings.Configuration offers from 10.0 (on Serilog 4).
        var other = list == "configureSink" ? "configureFallback" : "configureSink";
        var builder = BuilderWith($$"""{ "WriteTo": [ { "Name": "FallbackChain", "Args": { "{{list}}": { "Screen": "Console", "Central": { "Name": "ProductionOnlySink" } }, "{{other}}": [ "Console" ] } } ] }""");
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
            $$"""{ "Serilog": { "WriteTo": { "0": { "Args": { "{{list}}": { "Central": "" } } } } } }""")));
        var saidAlone = ReaderAloneSays(builder.Configuration);
        Assume.That(saidAlone, Has.None.Contains("Unable to find a method called FallbackChain"), "the running reader offers FallbackChain");
        Assert.That(saidAlone, Has.None.Contains("Unable to find a method called ProductionOnlySink"), "the reader takes the section");

        Assert.DoesNotThrow(() => builder.AddObservability());
    }

    [Test]
    public void ASinkSwitchedOffUnderAKeyOfItsOwnInAWrappersListIsNotBuilt([Values("\"\"", """{ "Name": "" }""")] string switchedOff)
    {
        using var folder = TempFolder.ForCaller();
        using var other = TempFolder.ForCaller();
        string File(string path) => $$"""{ "Name": "RollingJson", "Args": { "path": {{JsonSerializer.Serialize(Path.Combine(path, "app-.json"))}} } }""";
        var builder = BuilderWith($$"""{ "WriteTo": [ { "Name": "TestWrapper", "Args": { "configureWrappedSink": { "File": {{File(folder.Path)}}, "Other": {{File(other.Path)}} } } } ] }""");
        builder.Configuration.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
            $$"""{ "Serilog": { "WriteTo": { "0": { "Args": { "configureWrappedSink": { "File": {{switchedOff}} } } } } } }""")));

        builder.AddObservability();
        Log.Information("Written");
        Log.CloseAndFlush();

        Assert.That(Directory.GetFiles(folder.Path), Is.Empty, "the entry switched off");
        Assert.That(LogFileEvents.Read(other.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(new[] { "Written" }));
    }

    [Test]
    public void AJsonNullOverAnEntryIsReadAsSerilogSettingsConfigurationReadsIt([Values(false, true)] bool byKey)
    {
        // Microsoft.Extensions.Configuration.Json 8 and 9 store a JSON null as "", which switches the entry off; 10 stores
        // no value, which leaves the entry below it as it is. Either way AddObservability() reads it as the reader does.
        using var contentRoot = TempFolder.ForCaller();
        using var first = TempFolder.ForCaller();
        using var second = TempFolder.ForCaller();
        var (firstKey, secondKey) = byKey ? ("Main", "Audit") : ("0", "1");
        File.WriteAllText(Path.Combine(contentRoot.Path, "appsettings.json"), $$"""
            { "Serilog": { "WriteTo": {
              "{{firstKey}}": { "Name": "RollingJson", "Args": { "path": {{JsonSerializer.Serialize(Path.Combine(first.Path, "app-.json"))}} } },
              "{{secondKey}}": { "Name": "RollingJson", "Args": { "path": {{JsonSerializer.Serialize(Path.Combine(second.Path, "app-.json"))}} } } } } }
            """);
        File.WriteAllText(Path.Combine(contentRoot.Path, "appsettings.Development.json"), $$"""{ "Serilog": { "WriteTo": { "{{firstKey}}": null } } }""");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot.Path, EnvironmentName = "Development" });
        using (var alone = new LoggerConfiguration().ReadFrom.Configuration(builder.Configuration).CreateLogger())
            alone.Information("Through Serilog.Settings.Configuration");
        var readerWroteFirst = LogFileEvents.Read(first.Path).Count > 0;

        builder.AddObservability();
        var app = builder.Build();
        Log.Information("Through AddObservability");
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();

        var expected = new[] { "Through Serilog.Settings.Configuration", "Through AddObservability" };
        Assert.That(LogFileEvents.Read(first.Path).Select(e => LogFileEvents.Prop(e, "@mt")), readerWroteFirst ? Is.EqualTo(expected) : Is.Empty);
        Assert.That(LogFileEvents.Read(second.Path).Select(e => LogFileEvents.Prop(e, "@mt")), Is.EqualTo(expected));
    }
}
