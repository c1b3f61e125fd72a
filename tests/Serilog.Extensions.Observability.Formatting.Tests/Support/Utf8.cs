using System.Buffers;
using System.Text;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Formatting.Tests.Support;

static class Utf8
{
    static readonly Encoding Strict = new UTF8Encoding(false, throwOnInvalidBytes: true);

    public static byte[] FormatUtf8(IUtf8Formatter formatter, LogEvent logEvent)
    {
        var buffer = new ArrayBufferWriter<byte>();
        formatter.Format(logEvent, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static string FormatText(IUtf8Formatter formatter, LogEvent logEvent)
    {
        var writer = new StringWriter();
        formatter.Format(logEvent, writer);
        return writer.ToString();
    }

    /// <summary>What a UTF-8 <see cref="StreamWriter"/> (the file sink's writer) would put on disk for the text.</summary>
    public static byte[] Encode(string text) => Encoding.UTF8.GetBytes(text);

    public static string DecodeStrict(byte[] bytes) => Strict.GetString(bytes);

    public static byte[] WithNewLine(byte[] line) => [.. line, .. Encoding.UTF8.GetBytes(Environment.NewLine)];
}
