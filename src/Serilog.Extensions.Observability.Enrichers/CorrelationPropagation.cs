using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Serilog.Extensions.Observability.Enrichers;

/// <summary>
/// Carries the correlation id across non-HTTP transports (message queues, job payloads) in a string-keyed
/// header collection: <c>Inject</c> on the sending side, <c>TryExtract</c> then
/// <see cref="CorrelationContext.Begin"/> on the receiving side.
/// </summary>
/// <example>
/// <code>
/// // producer
/// CorrelationPropagation.Inject(message.Headers);
/// // consumer
/// using var _ = CorrelationPropagation.BeginFrom(message.Headers);
/// </code>
/// </example>
public static class CorrelationPropagation
{
    /// <summary>The header name used unless another is given: <c>X-Correlation-ID</c>.</summary>
    public const string DefaultHeaderName = "X-Correlation-ID";

    /// <summary>
    /// The id to send: <see cref="CorrelationContext.CurrentId"/>, else the W3C trace id of
    /// <see cref="Activity.Current"/> (what <c>WithCorrelation()</c> logs by default), else <see langword="null"/>.
    /// </summary>
    public static string? OutgoingId
    {
        get
        {
            var id = CorrelationContext.CurrentId;
            if (id is not null) return id;
            var activity = Activity.Current;
            if (activity is not { IdFormat: ActivityIdFormat.W3C }) return null;
            var traceId = activity.TraceId.ToHexString();
            return Enrichment.ActivityProperties.IsAllZero(traceId) ? null : traceId;
        }
    }

    /// <summary>
    /// Writes <see cref="OutgoingId"/> into <paramref name="headers"/>, replacing any value under the same name, also one
    /// spelled in another case (names match ignoring case, as <c>TryExtract</c> reads them).
    /// </summary>
    /// <param name="headers">The message's headers.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns><see langword="true"/> when an id was written; <see langword="false"/> when there was none to write.</returns>
    public static bool Inject(IDictionary<string, string> headers, string headerName = DefaultHeaderName)
    {
        Guard.NotNull(headers);
        Guard.NotNullOrWhiteSpace(headerName);
        var id = OutgoingId;
        if (id is null) return false;
        Replace(headers, headerName, id);
        return true;
    }

    /// <summary>
    /// Writes <see cref="OutgoingId"/> as a <see cref="string"/> into an object-valued header collection
    /// (RabbitMQ, Azure Service Bus application properties), replacing any value under the same name, also one spelled
    /// in another case.
    /// </summary>
    /// <param name="headers">The message's headers.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns><see langword="true"/> when an id was written; <see langword="false"/> when there was none to write.</returns>
    public static bool Inject(IDictionary<string, object> headers, string headerName = DefaultHeaderName)
    {
        Guard.NotNull(headers);
        Guard.NotNullOrWhiteSpace(headerName);
        var id = OutgoingId;
        if (id is null) return false;
        Replace(headers, headerName, id);
        return true;
    }

    /// <summary>Writes <see cref="OutgoingId"/> into any carrier through <paramref name="setter"/>.</summary>
    /// <typeparam name="TCarrier">The carrier type, for example a client library's header collection.</typeparam>
    /// <param name="carrier">The carrier.</param>
    /// <param name="setter">Sets one header: carrier, name, value.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns><see langword="true"/> when an id was written; <see langword="false"/> when there was none to write.</returns>
    public static bool Inject<TCarrier>(TCarrier carrier, Action<TCarrier, string, string> setter, string headerName = DefaultHeaderName)
    {
        Guard.NotNull(setter);
        Guard.NotNullOrWhiteSpace(headerName);
        var id = OutgoingId;
        if (id is null) return false;
        setter(carrier, headerName, id);
        return true;
    }

    /// <summary>
    /// Reads a correlation id from <paramref name="headers"/>. The name matches exactly first, then ignoring
    /// case. A value that fails <see cref="CorrelationContext.IsValidId"/> (oversized, control characters,
    /// anything but ASCII letters, digits and <c>- _ . : + / = @</c>) is rejected, never returned.
    /// </summary>
    /// <param name="headers">The received headers; <see langword="null"/> yields <see langword="false"/>.</param>
    /// <param name="correlationId">The id when found and valid.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns><see langword="true"/> when a valid id was found.</returns>
    public static bool TryExtract(
        IEnumerable<KeyValuePair<string, string>>? headers,
        [NotNullWhen(true)] out string? correlationId,
        string headerName = DefaultHeaderName)
    {
        Guard.NotNullOrWhiteSpace(headerName);
        correlationId = null;
        if (headers is null) return false;

        return Accept(FindHeader(headers, headerName), out correlationId);
    }

    /// <summary>
    /// Reads a correlation id from an object-valued header collection. A value may be a <see cref="string"/> or
    /// UTF-8 bytes (<see cref="T:byte[]"/> or <see cref="ReadOnlyMemory{T}"/> of bytes, as RabbitMQ and Kafka deliver them).
    /// Same matching and validation as the string overload.
    /// </summary>
    /// <param name="headers">The received headers; <see langword="null"/> yields <see langword="false"/>.</param>
    /// <param name="correlationId">The id when found and valid.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns><see langword="true"/> when a valid id was found.</returns>
    public static bool TryExtract(
        IEnumerable<KeyValuePair<string, object>>? headers,
        [NotNullWhen(true)] out string? correlationId,
        string headerName = DefaultHeaderName)
    {
        Guard.NotNullOrWhiteSpace(headerName);
        correlationId = null;
        if (headers is null) return false;

        return Accept(Decode(FindHeader(headers, headerName)), out correlationId);
    }

    /// <summary>Reads a correlation id from any carrier through <paramref name="getter"/>; same validation as the other overloads.</summary>
    /// <typeparam name="TCarrier">The carrier type.</typeparam>
    /// <param name="carrier">The carrier.</param>
    /// <param name="getter">Returns one header's value, or <see langword="null"/> when absent: carrier, name.</param>
    /// <param name="correlationId">The id when found and valid.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns><see langword="true"/> when a valid id was found.</returns>
    public static bool TryExtract<TCarrier>(
        TCarrier carrier,
        Func<TCarrier, string, string?> getter,
        [NotNullWhen(true)] out string? correlationId,
        string headerName = DefaultHeaderName)
    {
        Guard.NotNull(getter);
        Guard.NotNullOrWhiteSpace(headerName);
        return Accept(getter(carrier, headerName), out correlationId);
    }

    /// <summary>
    /// Begins a correlation scope with the id found in <paramref name="headers"/>, or a new id when there is
    /// none or it is not valid.
    /// </summary>
    /// <param name="headers">The received headers.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns>The scope; dispose it when the message is handled.</returns>
    public static IDisposable BeginFrom(IEnumerable<KeyValuePair<string, string>>? headers, string headerName = DefaultHeaderName) =>
        CorrelationContext.Begin(TryExtract(headers, out var id, headerName) ? id : null);

    /// <summary>
    /// Begins a correlation scope with the id found in an object-valued header collection, or a new id when
    /// there is none or it is not valid.
    /// </summary>
    /// <param name="headers">The received headers.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns>The scope; dispose it when the message is handled.</returns>
    public static IDisposable BeginFrom(IEnumerable<KeyValuePair<string, object>>? headers, string headerName = DefaultHeaderName) =>
        CorrelationContext.Begin(TryExtract(headers, out var id, headerName) ? id : null);

    /// <summary>
    /// Begins a correlation scope with the id read from any carrier through <paramref name="getter"/> (a job's parameters,
    /// a client library's message), or a new id when there is none or it is not valid; same validation as
    /// <see cref="TryExtract{TCarrier}"/>.
    /// </summary>
    /// <typeparam name="TCarrier">The carrier type.</typeparam>
    /// <param name="carrier">The carrier.</param>
    /// <param name="getter">Returns one header's value, or <see langword="null"/> when absent: carrier, name.</param>
    /// <param name="headerName">The header name; default <see cref="DefaultHeaderName"/>.</param>
    /// <returns>The scope; dispose it when the message is handled.</returns>
    public static IDisposable BeginFrom<TCarrier>(TCarrier carrier, Func<TCarrier, string, string?> getter, string headerName = DefaultHeaderName) =>
        CorrelationContext.Begin(TryExtract(carrier, getter, out var id, headerName) ? id : null);

    /// <summary>
    /// Sets the header, first removing it under any other spelling of the name: TryExtract matches names ignoring case,
    /// so an old value left beside the new one would be read by a consumer that spells the name that way.
    /// </summary>
    static void Replace<T>(IDictionary<string, T> headers, string headerName, T value)
    {
        List<string>? otherCase = null;
        foreach (var key in headers.Keys)
        {
            if (!string.Equals(key, headerName, StringComparison.Ordinal) && string.Equals(key, headerName, StringComparison.OrdinalIgnoreCase))
                (otherCase ??= new List<string>()).Add(key);
        }

        if (otherCase is not null)
        {
            foreach (var key in otherCase) headers.Remove(key);
        }

        headers[headerName] = value;
    }

        static string? Decode(object? raw)
    {
        switch (raw)
        {
            case string text:
                return text;
            case byte[] bytes:
                return DecodeUtf8(bytes);
            case ReadOnlyMemory<byte> memory:
                return DecodeUtf8(memory.Span);
            default:
                return null;
        }
    }

    static string? DecodeUtf8(ReadOnlySpan<byte> bytes)
    {
        // Longer than any valid id: refuse before decoding a hostile payload.
        if (bytes.Length == 0 || bytes.Length > CorrelationContext.MaxIdLength) return null;
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>The value under <paramref name="headerName"/>: an exact match first, else the first case-insensitive match.</summary>
    static T? FindHeader<T>(IEnumerable<KeyValuePair<string, T>> headers, string headerName)
    {
        if (headers is IDictionary<string, T> dictionary && dictionary.TryGetValue(headerName, out var exact))
            return exact;

        // Not a dictionary (a list of pairs, Kafka's headers): an exact name wins wherever it stands, as for a dictionary.
        T? otherCase = default;
        var foundOtherCase = false;
        foreach (var header in headers)
        {
            if (string.Equals(header.Key, headerName, StringComparison.Ordinal))
                return header.Value;
            if (!foundOtherCase && string.Equals(header.Key, headerName, StringComparison.OrdinalIgnoreCase))
            {
                otherCase = header.Value;
                foundOtherCase = true;
            }
        }

        return otherCase;
    }

    static bool Accept(string? raw, [NotNullWhen(true)] out string? correlationId)
    {
        if (CorrelationContext.IsValidId(raw))
        {
            correlationId = raw!;
            return true;
        }

        correlationId = null;
        return false;
    }
}
