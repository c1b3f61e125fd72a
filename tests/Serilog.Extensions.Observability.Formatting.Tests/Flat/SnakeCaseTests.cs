using Serilog.Extensions.Observability.Formatting.Flat;
using Serilog.Extensions.Observability.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting.Tests.Flat;

public class SnakeCaseTests
{
    [TestCase("CorrelationId", "correlation_id")]
    [TestCase("UserId", "user_id")]
    [TestCase("TraceId", "trace_id")]
    [TestCase("ParentSpanId", "parent_span_id")]
    [TestCase("StageElapsedMs", "stage_elapsed_ms")]
    [TestCase("HTTPStatus", "http_status")]
    [TestCase("clientIP", "client_ip")]
    [TestCase("Elapsed2Ms", "elapsed2_ms")]
    [TestCase("already_snake", "already_snake")]
    [TestCase("Http.Method", "http.method")]
    [TestCase("ServiceName", "service")]
    [TestCase("ServiceVersion", "service_version")]
    [TestCase("X", "x")]
    [TestCase("", "")]
    public void NamesAreConvertedAsTheDesignTableSays(string name, string expected)
    {
        var buffer = new CharBuilder(4);

        SnakeCase.Append(buffer, name);

        Assert.That(buffer.Written.ToString(), Is.EqualTo(expected));
    }
}
