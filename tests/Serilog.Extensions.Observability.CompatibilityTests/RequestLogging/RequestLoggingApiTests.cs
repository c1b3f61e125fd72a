extern alias SerilogAspNetCore;
using System.Reflection;
using Serilog.AspNetCore;
using TheirApplicationBuilderExtensions = SerilogAspNetCore::Serilog.SerilogApplicationBuilderExtensions;
using TheirDiagnosticContext = SerilogAspNetCore::Serilog.IDiagnosticContext;
using TheirOptions = SerilogAspNetCore::Serilog.AspNetCore.RequestLoggingOptions;

namespace Serilog.Extensions.Observability.CompatibilityTests.RequestLogging;

/// <summary>
/// Code written for Serilog.AspNetCore compiles against this package: each public member of its request logging types
/// has one here with the same signature (the types of the same full names standing for each other), and the options
/// start with the same values.
/// </summary>
public class RequestLoggingApiTests
{
    // Ours beyond Serilog.AspNetCore 10 (and 8.0.3 and 9.0.0, whose members are the same): the README's presets and
    // allow-lists, and AddElapsedToHttpContext with its HttpContext.Items key, which Serilog.AspNetCore does not have.
    static readonly string[] OurOptionsExtras =
    [
        "Boolean AddElapsedToHttpContext", "Boolean IncludePipelineStages", "Boolean LogAbortedRequestsAsClientClosed",
        "Boolean LogClientErrorsAsWarning", "Boolean UseExceptionStatusCode", "System.Nullable`1[System.TimeSpan] SlowRequestThreshold",
        "System.String HttpContextItemsElapsedKey", "System.String[] ExcludePaths", "System.String[] RequestHeaders",
        "System.String[] ResponseHeaders",
    ];

    [TestCase(typeof(TheirOptions), typeof(RequestLoggingOptions))]
    [TestCase(typeof(TheirDiagnosticContext), typeof(IDiagnosticContext))]
    [TestCase(typeof(TheirApplicationBuilderExtensions), typeof(SerilogApplicationBuilderExtensions))]
    public void EveryPublicMemberOfSerilogAspNetCoreIsHere(Type theirs, Type ours)
    {
        Assert.That(ours.FullName, Is.EqualTo(theirs.FullName));
        Assert.That(Members(ours), Is.SupersetOf(Members(theirs)));
        var extras = Members(ours, accessors: false).Except(Members(theirs, accessors: false)).ToArray();
        Assert.That(extras, Is.EqualTo(ours == typeof(RequestLoggingOptions) ? OurOptionsExtras : []), "what ours adds");
    }

    [Test]
    public void TheOptionsStartWithTheSameValues()
    {
        var theirs = new TheirOptions();
        var ours = new RequestLoggingOptions();

        Assert.That(ours.MessageTemplate, Is.EqualTo(theirs.MessageTemplate));
        Assert.That(ours.IncludeQueryInRequestPath, Is.EqualTo(theirs.IncludeQueryInRequestPath));
        Assert.That(ours.Logger, Is.EqualTo(theirs.Logger));
        Assert.That(ours.EnrichDiagnosticContext, Is.Null);
        Assert.That(theirs.EnrichDiagnosticContext, Is.Null);
    }

    /// <summary>
    /// Code written for any of Serilog.AspNetCore 8, 9 and 10 passes null to <c>Set</c> without a nullable warning here:
    /// ours takes <c>object?</c>, as Serilog.Extensions.Hosting 10 does (its 9 annotated the value not null, its 8 had no
    /// annotations). A class of the application's that implements the interface with <c>object value</c> gets CS8767 with
    /// ours as with 10 (the README's differences).
    /// </summary>
    [Test]
    public void TheDiagnosticContextsValueIsNullableAsInSerilogExtensionsHosting10()
    {
        var nullability = new NullabilityInfoContext();
        NullabilityState Value(Type type) => nullability.Create(type.GetMethod(nameof(IDiagnosticContext.Set))!.GetParameters()[1]).WriteState;
        // The package's major (its 8.0.0 keeps the assembly version 7.0.0.0).
        var hosting = int.Parse(typeof(TheirDiagnosticContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('.')[0]);

        Assert.That(Value(typeof(IDiagnosticContext)), Is.EqualTo(NullabilityState.Nullable));
        Assert.That(Value(typeof(TheirDiagnosticContext)), Is.EqualTo(hosting switch
        {
            8 => NullabilityState.Unknown,
            9 => NullabilityState.NotNull,
            _ => NullabilityState.Nullable,
        }), $"Serilog.Extensions.Hosting {hosting}");
    }

    // Each public member as text: its signature with parameter types, defaults and return type by full name; with or
    // without the properties' accessors (whether a property can be set).
    static string[] Members(Type type, bool accessors = true) =>
        type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(member => accessors || member is not MethodBase { IsSpecialName: true })
            .Select(member => member switch
            {
                MethodBase method => $"{(method as MethodInfo)?.ReturnType} {method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType + (p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")))})",
                _ => member.ToString()!,
            })
            .Order(StringComparer.Ordinal)
            .ToArray();
}
