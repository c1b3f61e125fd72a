using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Serilog.Extensions.Observability.Redaction.Attributes;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Attributes;

/// <summary>
/// The event pass's index of attributed types scans every assembly that loads, plugins and scripts included; it must
/// find their attributes without keeping them loaded.
/// </summary>
public class AttributedTypeIndexTests
{
    const string Mask = RedactionOptions.DefaultMask;

    public enum Plugin
    {
        /// <summary>A collectible load context's assembly that uses <see cref="SensitiveAttribute"/> (indexed).</summary>
        UsingAttributes,
        /// <summary>A collectible load context's assembly that does not reference the package (kept for later rounds).</summary>
        NotUsingAttributes,
        /// <summary>A <see cref="AssemblyBuilderAccess.RunAndCollect"/> assembly (never indexed).</summary>
        Dynamic,
    }

    [TestCase(Plugin.UsingAttributes)]
    [TestCase(Plugin.NotUsingAttributes)]
    [TestCase(Plugin.Dynamic)]
    [NonParallelizable]
    public void ACollectibleAssemblyWhoseObjectsTheEventPassSawCanUnload(Plugin plugin)
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().WriteTo.Redacted(s => s.Sink(sink)).CreateLogger();
        var loaded = LogAnObjectOfAPlugin(logger, plugin);
        for (var i = 0; i < 20 && loaded.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        var text = sink.SingleEvent.Properties["V"].ToString();
        Assert.That(text, Does.Contain("User: \"ann\""));
        if (plugin == Plugin.UsingAttributes) Assert.That(text, Does.Contain($"Motto: \"{Mask}\""), "the index found the plugin's attribute");
        Assert.That(loaded.IsAlive, Is.False, "the plugin's assembly is still held");
        GC.KeepAlive(logger);
    }

    [Test]
    [NonParallelizable]
    public void ALookupWhileANewAssemblyIsBeingScannedWaitsForItsAttributes()
    {
        // An assembly with a [Sensitive] member loads: the index is stale until a scan publishes it.
        var name = "Late" + Guid.NewGuid().ToString("N");
        var typeName = "LateAccount" + Guid.NewGuid().ToString("N");
        using var image = Support.OtherAssembly.Build(name, module => Define(module, typeName, sensitiveMotto: true));
        var context = new AssemblyLoadContext(name, isCollectible: true);
        context.LoadFromStream(image);

        using var scanning = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var lookupFoundIndexStale = new ManualResetEventSlim();
        using var lookupDone = new ManualResetEventSlim();
        AttributedMembers? found = null;
        var scanner = new Thread(() => AttributedTypeIndex.Find("NoSuchType"));
        var lookup = new Thread(() =>
        {
            found = AttributedTypeIndex.Find(typeName);
            lookupDone.Set();
        });
        AttributedTypeIndex.Scanning = () =>
        {
            if (Thread.CurrentThread != scanner) return;
            scanning.Set();
            release.Wait();
        };
        AttributedTypeIndex.LookupFoundIndexStale = () =>
        {
            if (Thread.CurrentThread == lookup) lookupFoundIndexStale.Set();
        };
        try
        {
            scanner.Start();
            Assert.That(scanning.Wait(TimeSpan.FromMinutes(1)), Is.True, "the first lookup after the load scans");

            // While the scan is held, a second lookup either answers at once (from the old index) or waits for it.
            lookup.Start();
            var signalled = WaitHandle.WaitAny(new[] { lookupFoundIndexStale.WaitHandle, lookupDone.WaitHandle }, TimeSpan.FromMinutes(1));
            Assert.That(signalled, Is.Not.EqualTo(WaitHandle.WaitTimeout));
            release.Set();
            Assert.That(lookup.Join(TimeSpan.FromMinutes(1)) && scanner.Join(TimeSpan.FromMinutes(1)), Is.True);

            Assert.That(found, Is.Not.Null, "the lookup answered from the index that misses the new assembly");
            Assert.That(found!.Sensitive, Does.Contain("Motto"));
        }
        finally
        {
            release.Set();
            AttributedTypeIndex.Scanning = null;
            AttributedTypeIndex.LookupFoundIndexStale = null;
            context.Unload();
        }
    }

    /// <summary>Loads a plugin type, logs <c>{@V}</c> of it (the pass looks its type tag up, which scans new assemblies) and unloads it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference LogAnObjectOfAPlugin(ILogger logger, Plugin plugin)
    {
        var typeName = "PluginAccount" + Guid.NewGuid().ToString("N");
        if (plugin == Plugin.Dynamic)
        {
            var dynamicAssembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName(typeName), AssemblyBuilderAccess.RunAndCollect);
            var type = Define(dynamicAssembly.DefineDynamicModule("m"), typeName, sensitiveMotto: false);
            // Defining it raises no AssemblyLoad: load another (small, never unloaded) one, so the pass scans again.
            Support.OtherAssembly.DeriveFrom(typeof(object), "Trigger");
            logger.Information("{@V}", Activator.CreateInstance(type));
            return new WeakReference(type);
        }

        var name = "Plugin" + Guid.NewGuid().ToString("N");
        using var image = Support.OtherAssembly.Build(name, module => Define(module, typeName, sensitiveMotto: plugin == Plugin.UsingAttributes));

        var context = new AssemblyLoadContext(name, isCollectible: true);
        var loadedType = context.LoadFromStream(image).GetType(typeName, throwOnError: true)!;
        logger.Information("{@V}", Activator.CreateInstance(loadedType));
        context.Unload();
        return new WeakReference(context);
    }

    /// <summary>A public type with <c>User</c> ("ann") and <c>Motto</c> ("carpe diem"), optionally <c>[Sensitive]</c>.</summary>
    static Type Define(ModuleBuilder module, string typeName, bool sensitiveMotto)
    {
        var type = module.DefineType(typeName, TypeAttributes.Public | TypeAttributes.Class);
        type.DefineDefaultConstructor(MethodAttributes.Public);
        AddProperty(type, "User", "ann", sensitive: false);
        AddProperty(type, "Motto", "carpe diem", sensitiveMotto);
        return type.CreateType();
    }

    static void AddProperty(TypeBuilder type, string name, string value, bool sensitive)
    {
        var getter = type.DefineMethod("get_" + name, MethodAttributes.Public | MethodAttributes.SpecialName | MethodAttributes.HideBySig, typeof(string), Type.EmptyTypes);
        var il = getter.GetILGenerator();
        il.Emit(OpCodes.Ldstr, value);
        il.Emit(OpCodes.Ret);
        var property = type.DefineProperty(name, PropertyAttributes.None, typeof(string), null);
        property.SetGetMethod(getter);
        if (sensitive) property.SetCustomAttribute(new CustomAttributeBuilder(typeof(SensitiveAttribute).GetConstructor(Type.EmptyTypes)!, Array.Empty<object>()));
    }
}
