using System.Diagnostics;
using System.Net.Http.Json;
using Serilog.Extensions.Observability.Enrichers;

namespace Serilog.Extensions.Observability.AspNetCore.Tests.Support;

/// <summary>
/// What an endpoint of the background-work test apps (Hangfire, MassTransit) answers: the ids its request ran with, so a
/// test compares them with what the job or consumer logged. The user comes from <see cref="UserHeader"/>.
/// </summary>
sealed record EndpointAnswer(string CorrelationId, string? UserId, string? TraceId)
{
    public const string UserHeader = "X-Test-User";

    /// <summary>The ids of the request running now.</summary>
    public static EndpointAnswer Current() =>
        new(CorrelationContext.CurrentId!, UserContext.Current?.UserId, Activity.Current?.TraceId.ToHexString());

    /// <summary>Posts to <paramref name="path"/> with the correlation id and user given, and reads the answer.</summary>
    public static async Task<EndpointAnswer> PostAsync(HttpClient client, string path, string? correlationId, string? user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (correlationId is not null) request.Headers.Add("X-Correlation-ID", correlationId);
        if (user is not null) request.Headers.Add(UserHeader, user);
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<EndpointAnswer>())!;
    }
}

/// <summary>A correlation scope and a user scope, ended in reverse order (a host started inside both).</summary>
sealed class Scopes(IDisposable correlation, IDisposable user) : IDisposable
{
    public void Dispose()
    {
        user.Dispose();
        correlation.Dispose();
    }
}
