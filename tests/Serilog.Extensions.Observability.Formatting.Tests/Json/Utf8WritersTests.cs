using System.Globalization;
using System.Text;
using Serilog.Extensions.Observability.Formatting.Json;

namespace Serilog.Extensions.Observability.Formatting.Tests.Json;

/// <summary>The hand-written UTF-8 writers for dates and integers give exactly the runtime's invariant text.</summary>
public class Utf8WritersTests
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    static string Write(Action<Utf8Sink> write, ByteBuilder? bytes = null)
    {
        bytes ??= new ByteBuilder(8);
        bytes.Reset();
        write(new Utf8Sink(bytes));
        return Encoding.ASCII.GetString(bytes.Written);
    }

    static IEnumerable<long> Ticks()
    {
        yield return DateTime.MinValue.Ticks;
        yield return DateTime.MaxValue.Ticks;
        yield return new DateTime(1, 12, 31, 23, 59, 59).Ticks + 9_999_999;
        yield return new DateTime(999, 2, 3, 4, 5, 6).Ticks + 1;
        yield return new DateTime(1000, 1, 1).Ticks;
        yield return new DateTime(2000, 2, 29, 12, 0, 0).Ticks;
        yield return new DateTime(2026, 11, 22, 10, 30, 15, 37).Ticks;
        yield return new DateTime(9999, 12, 31).Ticks;
        var random = new Random(17);
        for (var i = 0; i < 20000; i++) yield return random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks + 1);
        // Runs of one day, as a log writes them: the remembered date must be right for each, and after each switch.
        var start = new DateTime(2026, 3, 1).Ticks;
        for (var i = 0; i < 2000; i++) yield return start + random.NextInt64(0, 3 * TimeSpan.TicksPerDay);
    }

    [Test]
    public void DateTimesOfEveryKindMatchTheRuntimesRoundTripFormat()
    {
        var bytes = new ByteBuilder(8);
        var checkedCount = 0;
        foreach (var ticks in Ticks())
        {
            foreach (var kind in new[] { DateTimeKind.Utc, DateTimeKind.Unspecified, DateTimeKind.Local })
            {
                var value = new DateTime(ticks, kind);
                string expected;
                try
                {
                    expected = value.ToString("O", Invariant);
                }
                catch (ArgumentOutOfRangeException)
                {
                    continue; // a local time the zone cannot offset
                }
                Assert.That(Write(sink => sink.RoundTrip(value), bytes), Is.EqualTo(expected), $"{ticks} {kind}");
                checkedCount++;
            }
        }
        Assert.That(checkedCount, Is.GreaterThan(60000));
    }

    [Test]
    public void DateTimeOffsetsWithAnyOffsetMatchTheRuntimesRoundTripFormat()
    {
        var bytes = new ByteBuilder(8);
        var random = new Random(23);
        var offsets = new[] { 0, 1, -1, 59, -59, 60, -60, 330, -210, 345, 525, -570, 14 * 60, -14 * 60 };
        var checkedCount = 0;
        foreach (var ticks in Ticks())
        {
            var minutes = random.Next(3) == 0 ? offsets[random.Next(offsets.Length)] : random.Next(-14 * 60, 14 * 60 + 1);
            var offset = TimeSpan.FromMinutes(minutes);
            var utc = ticks - offset.Ticks;
            if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks) continue;
            var value = new DateTimeOffset(ticks, offset);
            Assert.That(Write(sink => sink.RoundTrip(value), bytes), Is.EqualTo(value.ToString("O", Invariant)), $"{ticks} {minutes}");
            checkedCount++;
        }
        Assert.That(checkedCount, Is.GreaterThan(20000));
        var extremes = new[] { DateTimeOffset.MinValue, DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch, new DateTimeOffset(DateTime.MaxValue.Ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromHours(-14)), new DateTimeOffset(DateTime.MinValue.Ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromHours(14)) };
        foreach (var value in extremes)
            Assert.That(Write(sink => sink.RoundTrip(value), bytes), Is.EqualTo(value.ToString("O", Invariant)));
    }

    [Test]
    public void EventTimestampsMatchTheRuntimeWithinASecondAcrossSecondsAndInterleavedWithValues()
    {
        // The event's timestamp remembers its second; values written in between remember a second of their own.
        var bytes = new ByteBuilder(8);
        var random = new Random(29);
        var offsets = new[] { TimeSpan.Zero, TimeSpan.FromHours(2), TimeSpan.FromMinutes(-330) };
        var ticks = new DateTime(2026, 11, 22, 23, 59, 58).Ticks;
        foreach (var extra in Ticks())
        {
            // Mostly small steps (same second, next second, next day at midnight), sometimes anywhere.
            ticks = random.Next(10) == 0 ? extra : Math.Min(ticks + random.NextInt64(0, TimeSpan.TicksPerSecond / 3), DateTime.MaxValue.Ticks);
            var offset = offsets[random.Next(offsets.Length)];
            var local = ticks + offset.Ticks;
            if (local < DateTime.MinValue.Ticks || local > DateTime.MaxValue.Ticks) continue;
            var timestamp = new DateTimeOffset(local, offset);
            Assert.That(Write(sink => sink.EventTimestamp(timestamp), bytes), Is.EqualTo(timestamp.UtcDateTime.ToString("O", Invariant)), $"{ticks}");
            var value = new DateTimeOffset(extra, TimeSpan.Zero);
            Assert.That(Write(sink => sink.RoundTrip(value), bytes), Is.EqualTo(value.ToString("O", Invariant)), $"{extra}");
        }
        Assert.That(Write(sink => sink.EventTimestamp(DateTimeOffset.MaxValue), bytes), Is.EqualTo(DateTimeOffset.MaxValue.UtcDateTime.ToString("O", Invariant)));
        Assert.That(Write(sink => sink.EventTimestamp(DateTimeOffset.MinValue), bytes), Is.EqualTo(DateTimeOffset.MinValue.UtcDateTime.ToString("O", Invariant)));
    }

    [Test]
    public void ValuesInTheSameOrNextSecondMatchTheRuntimeAcrossSecondMinuteAndDayBoundaries()
    {
        // Values remember the text up to their second: walk in small steps (mostly within a second, across minutes,
        // hours and midnight), for every kind and offset, with an event timestamp of another second in between.
        var bytes = new ByteBuilder(8);
        var random = new Random(31);
        var offsets = new[] { TimeSpan.Zero, TimeSpan.FromHours(14), TimeSpan.FromMinutes(-330) };
        var ticks = new DateTime(2026, 12, 31, 23, 59, 57).Ticks;
        var checkedCount = 0;
        for (var i = 0; i < 30000; i++)
        {
            ticks += random.Next(4) == 0 ? random.NextInt64(0, 3 * TimeSpan.TicksPerSecond) : random.NextInt64(0, TimeSpan.TicksPerSecond / 20);
            if (i % 5000 == 0) ticks = new DateTime(2000 + i / 5000, 2, 28, 23, 59, 58).Ticks; // 2000, 2004: leap days
            var utc = new DateTime(ticks, DateTimeKind.Utc);
            var unspecified = new DateTime(ticks, DateTimeKind.Unspecified);
            var offsetValue = new DateTimeOffset(ticks, offsets[i % offsets.Length]);
            Assert.That(Write(sink => sink.RoundTrip(utc), bytes), Is.EqualTo(utc.ToString("O", Invariant)), $"{ticks}");
            Assert.That(Write(sink => sink.RoundTrip(unspecified), bytes), Is.EqualTo(unspecified.ToString("O", Invariant)), $"{ticks}");
            Assert.That(Write(sink => sink.RoundTrip(offsetValue), bytes), Is.EqualTo(offsetValue.ToString("O", Invariant)), $"{ticks}");
            var timestamp = new DateTimeOffset(ticks + TimeSpan.TicksPerHour, TimeSpan.Zero);
            Assert.That(Write(sink => sink.EventTimestamp(timestamp), bytes), Is.EqualTo(timestamp.UtcDateTime.ToString("O", Invariant)), $"{ticks}");
            checkedCount++;
        }
        Assert.That(checkedCount, Is.EqualTo(30000));
    }

    [Test]
    public void ShortStringsWithAnySpecialCharAtAnyPlaceMatchTheReference()
    {
        // Short strings take a path that narrows plain ASCII eight chars at a time and hands the rest, from the first
        // char that needs escaping or encoding, to the general one: check every length around the block and limit
        // sizes with a special char at every place.
        var specials = new[] { "\"", "\\", "\n", "\u0001", "\u001f", "\u007f", " ", "~", "\u00e9", "\u2028", "\ud800", "\udc00", "\ud83d\ude00", "\u0080" };
        var failures = new List<string>();
        var bytes = new ByteBuilder(8);
        for (var length = 0; length <= 70; length++)
        {
            var plain = new string(Enumerable.Range(0, length).Select(i => (char)('a' + i % 26)).ToArray());
            Check(plain);
            for (var at = 0; at < length; at++)
                foreach (var special in specials)
                    Check(plain.Substring(0, at) + special + plain.Substring(at + 1));
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));

        void Check(string text)
        {
            var expected = new StringWriter();
            new Serilog.Formatting.Json.JsonValueFormatter().Format(new Serilog.Events.ScalarValue(text), expected);
            bytes.Reset();
            new Utf8Sink(bytes).Quoted(text);
            var written = bytes.Written.ToArray();
            if (!written.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(expected.ToString())))
                failures.Add($"{text.Length} {Escape(text)}: {Encoding.UTF8.GetString(written)} != {expected}");
        }

        static string Escape(string text) => string.Concat(text.Select(c => c < 0x20 || c > 0x7e ? $"\\u{(int)c:x4}" : c.ToString()));
    }

    readonly struct TextFragment(string text) : IJsonFragment
    {
        public void Write<TSink>(TSink sink) where TSink : struct, IJsonSink => sink.Text(text);
    }

    [Test]
    public void PreparedTextCopiedInWholeBlocksLeavesExactlyItsBytesAtAnyOffsetAndAcrossABorrowedArraysEnd()
    {
        // Prepared text is copied in 16-byte blocks, padding included: what follows must overwrite the padding, and a
        // borrowed array too short for the padding must not lose or cut the text.
        for (var length = 0; length <= 50; length++)
        {
            var text = new string(Enumerable.Range(0, length).Select(i => (char)('A' + i % 26)).ToArray());
            var prepared = PreparedText.Create(new TextFragment(text));
            Assert.That(prepared.Utf8.ToArray(), Is.EqualTo(Encoding.ASCII.GetBytes(text)));
            for (var offset = 0; offset < 20; offset++)
            {
                var lead = new string('.', offset);
                var expected = lead + text + "|" + text + "!";

                var own = new ByteBuilder(4);
                Assert.That(Write(sink => { sink.Literal(Encoding.ASCII.GetBytes(lead)); sink.Prepared(prepared); sink.Ascii('|'); sink.Prepared(prepared); sink.Ascii('!'); }, own),
                    Is.EqualTo(expected), $"own {length} {offset}");

                // Borrowed room that ends exactly where the text does (the padding would run past it).
                var array = new byte[3 + expected.Length + 1];
                var borrowed = new ByteBuilder(4);
                borrowed.Borrow(array, 3, offset + length);
                var sink = new Utf8Sink(borrowed);
                sink.Literal(Encoding.ASCII.GetBytes(lead));
                sink.Prepared(prepared);
                sink.Ascii('|');
                sink.Prepared(prepared);
                sink.Ascii('!');
                Assert.That(Encoding.ASCII.GetString(borrowed.Written), Is.EqualTo(expected), $"borrowed {length} {offset}");
            }
        }
    }

    [Test]
    public void ThreadsWritingDatesOfDifferentDaysEachGetTheirOwnDays()
    {
        var mismatches = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var bytes = new ByteBuilder(8);
            var random = new Random(worker);
            for (var i = 0; i < 20000; i++)
            {
                var value = new DateTime(2020 + worker, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(random.NextInt64(0, 40 * TimeSpan.TicksPerDay));
                if (Write(sink => sink.RoundTrip(value), bytes) != value.ToString("O", Invariant)) Interlocked.Increment(ref mismatches);
            }
        });
        Assert.That(mismatches, Is.Zero);
    }

    static IEnumerable<long> Integers()
    {
        yield return 0;
        yield return long.MinValue;
        yield return long.MaxValue;
        yield return int.MinValue;
        yield return int.MaxValue;
        for (long power = 1; power > 0 && power <= long.MaxValue / 10; power *= 10)
        {
            yield return power - 1;
            yield return power;
            yield return power + 1;
            yield return -power;
            yield return -(power - 1);
        }
        var random = new Random(5);
        for (var i = 0; i < 20000; i++) yield return random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(64);
    }

    [Test]
    public void IntegersMatchTheRuntimesInvariantText()
    {
        var bytes = new ByteBuilder(8);
        foreach (var value in Integers())
            Assert.That(Write(sink => sink.Integer(value), bytes), Is.EqualTo(value.ToString(Invariant)), value.ToString(Invariant));
    }

    [Test]
    public void DigitCountsAreExactAtEveryPowerOfTen()
    {
        Assert.That(AsciiDigits.Count(0), Is.EqualTo(1));
        Assert.That(AsciiDigits.Count(ulong.MaxValue), Is.EqualTo(20));
        ulong power = 1;
        for (var digits = 1; digits <= 19; digits++, power *= 10)
        {
            Assert.That(AsciiDigits.Count(power), Is.EqualTo(digits));
            Assert.That(AsciiDigits.Count(power * 10 - 1), Is.EqualTo(digits));
        }
    }
}
