using System.Reflection;
using System.Reflection.Emit;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>Builds real (not dynamic) assemblies in memory: one type derived from a given base, or any module's types.</summary>
static class OtherAssembly
{
    public static Type DeriveFrom(Type baseType, string typeName)
    {
        var name = "OtherAssembly" + Guid.NewGuid().ToString("N");
        using var image = Build(name, module =>
        {
            var type = module.DefineType("Other." + typeName, TypeAttributes.Public | TypeAttributes.Class, baseType);
            type.DefineDefaultConstructor(MethodAttributes.Public);
            type.CreateType();
        });
        return Assembly.Load(image.ToArray()).GetType("Other." + typeName, throwOnError: true)!;
    }

    /// <summary>
    /// The image of an assembly named <paramref name="name"/> whose one module <paramref name="define"/> fills, positioned
    /// at its start. On .NET 8, which cannot save an assembly it builds, the calling test is ignored.
    /// </summary>
    public static MemoryStream Build(string name, Action<ModuleBuilder> define)
    {
#if NET9_0_OR_GREATER
        var builder = new PersistedAssemblyBuilder(new AssemblyName(name), typeof(object).Assembly);
        define(builder.DefineDynamicModule(name));
        var image = new MemoryStream();
        builder.Save(image);
        image.Position = 0;
        return image;
#else
        Assert.Ignore("Needs a real assembly built in memory: PersistedAssemblyBuilder is .NET 9 and later, and .NET 8 cannot save an assembly it builds.");
        throw new System.Diagnostics.UnreachableException();
#endif
    }
}
