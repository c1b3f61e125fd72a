using System.Buffers;
using Serilog.Events;
using Serilog.Extensions.Observability.Formatting.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Formatting.Tests.Json;

/// <summary>
/// The UTF-8 path writes straight into the output's free array space. Whatever the output hands out (exactly the size
/// asked, an array at an offset, memory that is no array at all, bytes already written before), the line is the
/// TextWriter path's, appended after what was there.
/// </summary>
public class DirectOutputTests
{
    /// <summary>An output that gives exactly the size asked for, from an offset in a larger array, or as non-array memory.</summary>
    sealed class StingyWriter(bool arrayBacked) : IBufferWriter<byte>
    {
        const int Offset = 7;
        byte[] _array = new byte[64];
        int _written;

        public byte[] Written => _array.AsSpan(Offset, _written).ToArray();

        public void Advance(int count)
        {
            if (count < 0 || Offset + _written + count > _array.Length) throw new ArgumentOutOfRangeException(nameof(count));
            _written += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (sizeHint < 1) sizeHint = 1;
            if (_array.Length - Offset - _written < sizeHint) Array.Resize(ref _array, Offset + _written + sizeHint);
            var memory = new Memory<byte>(_array, Offset + _written, sizeHint);
            return arrayBacked ? memory : new NotAnArray(memory).Memory;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    static IEnumerable<LogEvent> EventsOfEveryLength()
    {
        // Lines from well under to well over the free space the formatter asks for, one byte apart around it.
        for (var length = 0; length < 1200; length += length is > 420 and < 560 ? 1 : 37)
        {
            yield return Some.LogEvent("Sized {Text} {N:0.00}", properties: [Some.Property("Text", new string('x', length)), Some.Property("N", 1.5m)]);
            yield return Some.LogEvent("Sized {Text}", properties: Some.Property("Text", new string('é', length / 2)));
        }
    }

    [TestCase("compact", true)]
    [TestCase("compact", false)]
    [TestCase("rendered", true)]
    [TestCase("rendered", false)]
    [TestCase("flat", true)]
    [TestCase("flat", false)]
    public void EveryLineIsTheTextPathsWhateverSpaceTheOutputGives(string formatterName, bool arrayBacked)
    {
        var formatter = GoldenCase.CreateFormatter(formatterName);
        var output = new StingyWriter(arrayBacked);
        var expected = new List<byte>();
        var lines = 0;
        foreach (var logEvent in EventsOfEveryLength())
        {
            formatter.Format(logEvent, output);
            expected.AddRange(Utf8.Encode(Utf8.FormatText(formatter, logEvent)));
            lines++;
        }
        Assert.That(lines, Is.GreaterThan(250));
        Assert.That(output.Written.AsSpan().SequenceEqual(expected.ToArray()), Is.True);
    }

    [TestCase("compact")]
    [TestCase("rendered")]
    [TestCase("flat")]
    public void AnIntegerThatCrossesTheEndOfTheFreeSpaceAtAnOffsetIsWrittenWhole(string formatterName)
    {
        // The rolling sink's buffer hands out its free space after the lines already in it, as this output does from
        // its offset: an integer written across the end of that space took the line's length from before it moved.
        var formatter = GoldenCase.CreateFormatter(formatterName);
        var output = new StingyWriter(arrayBacked: true);
        for (var length = 0; length < 600; length++)
        {
            var logEvent = Some.LogEvent("Sized {Count}", properties: [Some.Property("Text", new string('x', length)), Some.Property("Count", long.MinValue)]);
            var before = output.Written.Length;
            formatter.Format(logEvent, output);
            Assert.That(Utf8.DecodeStrict(output.Written[before..]), Is.EqualTo(Utf8.FormatText(formatter, logEvent)), $"text of {length} chars");
        }
    }

    [Test]
    public void LinesAreAppendedAfterWhatTheOutputAlreadyHolds()
    {
        var formatter = new CompactJsonFormatter();
        var events = new RandomEvents(seed: 3);
        var output = new ArrayBufferWriter<byte>(16);
        var expected = new List<byte>();
        output.Write("prefix|"u8);
        expected.AddRange("prefix|"u8.ToArray());
        for (var i = 0; i < 300; i++)
        {
            var logEvent = events.Next();
            formatter.Format(logEvent, output);
            expected.AddRange(Utf8.Encode(Utf8.FormatText(formatter, logEvent)));
        }
        Assert.That(output.WrittenSpan.ToArray(), Is.EqualTo(expected.ToArray()));
    }

    /// <summary>A value whose <c>ToString()</c> formats another event into the very output the outer event is going to.</summary>
    sealed class LogsIntoTheSameOutput(IUtf8Formatter formatter) : IDisposable
    {
        public object? Output;

        public override string ToString()
        {
            var inner = Some.LogEvent("inner {X}", timestamp: new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), properties: Some.Property("X", "in"));
            switch (Output)
            {
                case IBufferWriter<byte> bytes: formatter.Format(inner, bytes); break;
                case TextWriter text: formatter.Format(inner, text); break;
            }
            return "reentered";
        }

        public void Dispose() => Output = null;
    }

    [TestCase("compact", true)]
    [TestCase("compact", false)]
    [TestCase("rendered", true)]
    [TestCase("rendered", false)]
    [TestCase("flat", true)]
    [TestCase("flat", false)]
    public void AnEventFormattedIntoTheSameOutputFromInsideToStringLeavesBothLinesIntactAsTheTextPathDoes(string formatterName, bool arrayBacked)
    {
        // The IUtf8Formatter contract: the bytes are the text path's encoded as UTF-8. On the text path the outer line
        // is handed over in one piece after formatting, so the inner line (written while the outer one was formatted)
        // comes first and both are intact. Writing the outer line into the output's free memory before it is complete
        // lets the inner event take the same memory and the outer one overwrite and commit over it.
        var formatter = GoldenCase.CreateFormatter(formatterName);
        using var value = new LogsIntoTheSameOutput(formatter);
        var logEvent = Some.LogEvent("Outer {V} {W:000}", timestamp: new DateTimeOffset(2026, 1, 2, 3, 4, 6, TimeSpan.Zero),
            properties: [Some.Property("V", value), Some.Property("W", 5)]);

        var text = new StringWriter();
        value.Output = text;
        formatter.Format(logEvent, text);

        var bytes = new StingyWriter(arrayBacked);
        bytes.GetMemory(4096); // free space to spare: the outer event is formatted straight into it
        value.Output = bytes;
        formatter.Format(logEvent, bytes);

        Assert.That(text.ToString(), Does.StartWith("{").And.Contains("reentered").And.Contains("\"in\""));
        Assert.That(Utf8.DecodeStrict(bytes.Written), Is.EqualTo(text.ToString()));
    }
}
