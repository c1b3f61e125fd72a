using System.Net;
using System.Text.Json.Nodes;
using Google.Protobuf;

namespace Serilog.Extensions.Observability.CompatibilityTests.Ecosystem;

/// <summary>One log record of an OTLP export, as the fields the tests read.</summary>
sealed record OtlpLogRecord(string TraceId, string SpanId, JsonNode? Body, IReadOnlyList<KeyValuePair<string, JsonNode?>> Attributes,
    IReadOnlyList<KeyValuePair<string, JsonNode?>> ResourceAttributes)
{
    public JsonNode? Attribute(string key) => Attributes.SingleOrDefault(a => a.Key == key).Value;

    public bool HasAttribute(string key) => Attributes.Any(a => a.Key == key);

    public JsonNode? Resource(string key) => ResourceAttributes.SingleOrDefault(a => a.Key == key).Value;
}

/// <summary>
/// Stands in for an OTLP/HTTP collector: the <see cref="HttpMessageHandler"/> the sink sends through answers every
/// request 200 and keeps its body. Serilog.Sinks.OpenTelemetry's generated protobuf types are internal, so
/// <see cref="Decode"/> reads the few fields of <c>ExportLogsServiceRequest</c> the tests need with Google.Protobuf's
/// <see cref="CodedInputStream"/> (field numbers of opentelemetry/proto/logs/v1/logs.proto and common/v1/common.proto).
/// A string or bytes value is an <see cref="JsonValue"/>, a kvlist a <see cref="JsonObject"/>, an array a <see cref="JsonArray"/>.
/// AspNetCore.Tests links this file (also into its net8.0 build) to read what OpenTelemetry's own OTLP exporter sends.
/// </summary>
sealed class OtlpCapture : HttpMessageHandler
{
    readonly List<byte[]> _bodies = new();

    /// <summary>Every request body received so far, in order.</summary>
    public IReadOnlyList<byte[]> Bodies
    {
        get { lock (_bodies) return _bodies.ToList(); }
    }

    public IReadOnlyList<OtlpLogRecord> Records => Bodies.SelectMany(Decode).ToList();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
        lock (_bodies) _bodies.Add(body);
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
    }

    // ExportLogsServiceRequest: 1 resource_logs; ResourceLogs: 1 resource (Resource: 1 attributes), 2 scope_logs;
    // ScopeLogs: 2 log_records.
    internal static IEnumerable<OtlpLogRecord> Decode(byte[] request) =>
        from resourceLogs in Messages(request, 1)
        let resource = Messages(resourceLogs, 1).SelectMany(r => Messages(r, 1)).Select(KeyValue).ToList()
        from scopeLogs in Messages(resourceLogs, 2)
        from record in Messages(scopeLogs, 2)
        select Record(record, resource);

    // LogRecord: 5 body, 6 attributes, 9 trace_id, 10 span_id.
    static OtlpLogRecord Record(byte[] record, IReadOnlyList<KeyValuePair<string, JsonNode?>> resource)
    {
        string traceId = "", spanId = "";
        JsonNode? body = null;
        var attributes = new List<KeyValuePair<string, JsonNode?>>();
        var input = new CodedInputStream(record);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 5: body = Value(input.ReadBytes().ToByteArray()); break;
                case 6: attributes.Add(KeyValue(input.ReadBytes().ToByteArray())); break;
                case 9: traceId = Convert.ToHexString(input.ReadBytes().ToByteArray()).ToLowerInvariant(); break;
                case 10: spanId = Convert.ToHexString(input.ReadBytes().ToByteArray()).ToLowerInvariant(); break;
                default: input.SkipLastField(); break;
            }
        }
        return new OtlpLogRecord(traceId, spanId, body, attributes, resource);
    }

    // KeyValue: 1 key, 2 value.
    static KeyValuePair<string, JsonNode?> KeyValue(byte[] pair)
    {
        string key = "";
        JsonNode? value = null;
        var input = new CodedInputStream(pair);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: key = input.ReadString(); break;
                case 2: value = Value(input.ReadBytes().ToByteArray()); break;
                default: input.SkipLastField(); break;
            }
        }
        return new(key, value);
    }

    // AnyValue: 1 string, 2 bool, 3 int, 4 double, 5 array (ArrayValue: 1 values), 6 kvlist (KeyValueList: 1 values), 7 bytes.
    static JsonNode? Value(byte[] value)
    {
        JsonNode? result = null;
        var input = new CodedInputStream(value);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            result = WireFormat.GetTagFieldNumber(tag) switch
            {
                1 => JsonValue.Create(input.ReadString()),
                2 => JsonValue.Create(input.ReadBool()),
                3 => JsonValue.Create(input.ReadInt64()),
                4 => JsonValue.Create(input.ReadDouble()),
                5 => new JsonArray(Messages(input.ReadBytes().ToByteArray(), 1).Select(Value).ToArray()),
                6 => new JsonObject(Messages(input.ReadBytes().ToByteArray(), 1).Select(KeyValue)),
                7 => JsonValue.Create(Convert.ToBase64String(input.ReadBytes().ToByteArray())),
                _ => Skip(input),
            };
        }
        return result;
    }

    static JsonNode? Skip(CodedInputStream input)
    {
        input.SkipLastField();
        return null;
    }

    /// <summary>The embedded messages under <paramref name="field"/>.</summary>
    static IEnumerable<byte[]> Messages(byte[] message, int field)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field) found.Add(input.ReadBytes().ToByteArray());
            else input.SkipLastField();
        }
        return found;
    }
}
