using System.Buffers;
using Serilog.Events;
using Serilog.Formatting;

namespace Serilog.Extensions.Observability.Formatting;

/// <summary>
/// A formatter that can also write an event straight to UTF-8 bytes, with no intermediate string.
/// The bytes written are exactly the UTF-8 encoding of what <see cref="ITextFormatter.Format"/> writes
/// for the same event to a writer whose <see cref="TextWriter.NewLine"/> is the default, including the trailing
/// newline: the UTF-8 path always ends the line with <see cref="Environment.NewLine"/>, the text path with the
/// writer's own <see cref="TextWriter.NewLine"/>. The rolling JSON sink uses this path.
/// </summary>
public interface IUtf8Formatter : ITextFormatter
{
    /// <summary>Writes <paramref name="logEvent"/> as UTF-8 to <paramref name="output"/>.</summary>
    /// <param name="logEvent">The event to format.</param>
    /// <param name="output">The buffer writer to append the bytes to.</param>
    void Format(LogEvent logEvent, IBufferWriter<byte> output);
}
