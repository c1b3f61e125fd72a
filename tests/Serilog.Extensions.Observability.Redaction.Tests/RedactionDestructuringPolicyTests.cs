using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests;

public class RedactionDestructuringPolicyTests
{
    static LogEventPropertyValue Captured(object value, Func<LoggerConfiguration, LoggerConfiguration> configure) =>
        DelegatingSink.GetLogEvent(log => log.Information("{@Value}", value), configure).Properties["Value"];

    [Test]
    public void ACreatedPolicyCapturesObjectsAsWithRedactionDoes()
    {
        var login = new Login { User = "ann", Password = "hunter2", ApiKey = "k-123", TokenCount = 3 };
        Action<RedactionOptions> options = o =>
        {
            o.AdditionalKeys.Add("user");
            o.Mask = "#";
        };

        var created = Captured(login, c => c.Destructure.With(RedactionDestructuringPolicy.Create(options)));
        var registered = Captured(login, c => c.Destructure.WithRedaction(options));

        Assert.That(created.ToString(), Is.EqualTo("Login { User: \"#\", Password: \"#\", ApiKey: \"#\", TokenCount: 3, Next: null }"));
        Assert.That(created.ToString(), Is.EqualTo(registered.ToString()));
        Assert.That(Captured(login, c => c.Destructure.With(RedactionDestructuringPolicy.Create())).ToString(),
            Does.Contain($"Password: \"{RedactionOptions.DefaultMask}\"").And.Contain("User: \"ann\""));
    }

    [Test]
    public void APolicyThatDelegatesToANewlyCreatedOneTakesItsRules()
    {
        // What a composition does when its rules change before the logger is created: one policy registered, the one it
        // delegates to replaced.
        var delegating = new SwappablePolicy { Inner = RedactionDestructuringPolicy.Create() };
        var configuration = new LoggerConfiguration().Destructure.With(delegating);
        delegating.Inner = RedactionDestructuringPolicy.Create(o => o.AdditionalKeys.Add("loyalty_number"));

        LogEvent? written = null;
        using (var logger = configuration.WriteTo.Sink(new DelegatingSink(e => written = e)).CreateLogger())
            logger.Information("{@Card}", new { Holder = "ann", LoyaltyNumber = "ln-1" });

        Assert.That(written!.Properties["Card"].ToString(), Is.EqualTo($"{{ Holder: \"ann\", LoyaltyNumber: \"{RedactionOptions.DefaultMask}\" }}"));
    }

    [Test]
    public void InvalidOptionsAreRejectedWhenThePolicyIsCreatedWithThePropertyName()
    {
        var ex = Assert.Throws<ArgumentException>(() => RedactionDestructuringPolicy.Create(o => o.Mask = ""));
        Assert.That(ex!.ParamName, Is.EqualTo(nameof(RedactionOptions.Mask)));
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => RedactionDestructuringPolicy.Create(o => o.PartialVisibleCharacters = 0));
        Assert.That(range!.ParamName, Is.EqualTo(nameof(RedactionOptions.PartialVisibleCharacters)));
    }

    [Test]
    public void ChangingTheOptionsAfterThePolicyIsCreatedHasNoEffect()
    {
        RedactionOptions? kept = null;
        var policy = RedactionDestructuringPolicy.Create(o => kept = o);
        kept!.ExcludedKeys.Add("password");
        kept.Mask = "changed";

        Assert.That(Captured(new Login { Password = "hunter2" }, c => c.Destructure.With(policy)).ToString(),
            Does.Contain($"Password: \"{RedactionOptions.DefaultMask}\""));
    }

    sealed class SwappablePolicy : IDestructuringPolicy
    {
        public IDestructuringPolicy? Inner { get; set; }

        public bool TryDestructure(object value, ILogEventPropertyValueFactory propertyValueFactory, out LogEventPropertyValue result)
        {
            if (Inner is { } inner) return inner.TryDestructure(value, propertyValueFactory, out result!);
            result = null!;
            return false;
        }
    }
}
