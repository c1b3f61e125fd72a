using System.Reflection;
using System.Reflection.Emit;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

/// <summary>Builds and loads a real (not dynamic) assembly holding one type derived from a given base.</summary>
static class OtherAssembly
{
    public static Type DeriveFrom(Type baseType, string typeName)
    {
        var name = "OtherAssembly" + Guid.NewGuid().ToString("N");
        var builder = new PersistedAssemblyBuilder(new AssemblyName(name), typeof(object).Assembly);
        var module = builder.DefineDynamicModule(name);
        var type = module.DefineType("Other." + typeName, TypeAttributes.Public | TypeAttributes.Class, baseType);
        type.DefineDefaultConstructor(MethodAttributes.Public);
        type.CreateType();

        using var image = new MemoryStream();
        builder.Save(image);
        return Assembly.Load(image.ToArray()).GetType("Other." + typeName, throwOnError: true)!;
    }
}
