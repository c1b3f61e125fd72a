using Serilog.Events;

namespace Serilog.Extensions.Observability.Enrichers.Context;

/// <summary>A correlation id made ambient by <see cref="CorrelationContext.Begin"/>.</summary>
sealed class CorrelationScope : AmbientScope<CorrelationScope>
{
    readonly string? _id;
    readonly Func<string?>? _resolve;

    // The property built for the last event; reused while the enricher asks for the same name and the id is the same.
    LogEventProperty? _property;

    CorrelationScope(string id)
    {
        _id = id;
    }

    CorrelationScope(Func<string?> resolve)
    {
        _resolve = resolve;
    }

    /// <summary>
    /// The id: fixed, or for a deferred scope what its resolver returns now when that is a valid id, else the enclosing
    /// scope's (a resolver that throws is reported through SelfLog).
    /// </summary>
    public string? Id => _resolve is null ? _id : Resolve();

    /// <summary>A resolver that throws does so on every read (every event in the scope): reported once per interval.</summary>
    internal static readonly SelfLogThrottle ResolverReport = new();

    string? Resolve()
    {
        // Inside its own resolver (here or up the stack, see Resolving): the enclosing scope's id.
        if (Resolving<CorrelationScope>.Contains(this)) return Parent?.Id;

        Resolving<CorrelationScope>.Push(this);
        try
        {
            if (_resolve!() is { } id && CorrelationContext.IsValidId(id)) return id;
        }
        catch (Exception ex)
        {
            ResolverReport.WriteLine("CorrelationContext.BeginDeferred: the resolver threw, so the enclosing scope's id was used ({0} more since the last report): {1}", ex);
        }
        finally
        {
            Resolving<CorrelationScope>.Pop();
        }

        return Parent?.Id;
    }

    public static CorrelationScope Begin(string id) => Activate(new CorrelationScope(id));

    public static CorrelationScope Begin(Func<string?> resolve) => Activate(new CorrelationScope(resolve));

    /// <summary>The id as a property named <paramref name="propertyName"/>, or <see langword="null"/> when there is no id.</summary>
    public LogEventProperty? GetProperty(string propertyName)
    {
        var id = Id;
        if (id is null) return null;

        var property = _property;
        if (property is not null && property.Name == propertyName && ReferenceEquals(((ScalarValue)property.Value).Value, id))
            return property;

        // Benign race: two threads may each build one; either is correct.
        property = new LogEventProperty(propertyName, new ScalarValue(id));
        _property = property;
        return property;
    }
}
