using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Serilog.Events;

namespace Serilog.Extensions.Observability.Redaction.Masking;

/// <summary>Turns a sensitive value into its mask in the configured style.</summary>
sealed class Masker
{
    const int PseudonymBytes = 16;

    readonly string _mask;
    readonly RedactionMaskStyle _style;
    readonly int _visible;
    readonly byte[]? _key;
    readonly string _keyIdPrefix;

    public Masker(string mask, RedactionMaskStyle style, int partialVisibleCharacters, byte[]? pseudonymKey, string pseudonymKeyId)
    {
        _mask = mask;
        _style = style;
        _visible = partialVisibleCharacters;
        _key = pseudonymKey;
        _keyIdPrefix = pseudonymKeyId + ":";
        Fixed = new RedactedValue(mask);
    }

    /// <summary>The fixed mask; one shared instance, so masking in that style allocates nothing.</summary>
    public RedactedValue Fixed { get; }

    /// <summary>Whether a mask depends on the value (partial, pseudonym); if not, callers need not read it.</summary>
    public bool NeedsValue => _style != RedactionMaskStyle.Fixed;

    /// <summary>Masks a CLR value (a member read by the destructuring policy).</summary>
    public RedactedValue MaskObject(object? value) => Mask(value, capturedScalar: false);

    RedactedValue Mask(object? value, bool capturedScalar)
    {
        if (_style == RedactionMaskStyle.Fixed) return Fixed;
        try
        {
            // A captured scalar renders through ToString(), whatever its type; a CLR object may be a whole graph.
            var text = ScalarText(value) ?? (capturedScalar ? value?.ToString() : null);
            return text is null ? Fixed : new RedactedValue(MaskText(text));
        }
        catch (Exception ex)
        {
            RedactionFailures.Report("masking a value", ex);
            return Fixed;
        }
    }

    /// <summary>Masks a captured value (the event pass). Structures, sequences and dictionaries are masked whole.</summary>
    public LogEventPropertyValue MaskPropertyValue(LogEventPropertyValue value)
    {
        if (value is RedactedValue { IsMask: true }) return value;
        if (_style == RedactionMaskStyle.Fixed) return Fixed;
        return value is ScalarValue scalar ? Mask(scalar.Value, capturedScalar: true) : Fixed;
    }

    /// <summary>Masks text: the whole value under a sensitive key, or a match a value detector found.</summary>
    public string MaskText(string text)
    {
        switch (_style)
        {
            case RedactionMaskStyle.Partial:
                return text.Length >= 2 * _visible ? string.Concat(_mask, text.AsSpan(text.Length - _visible)) : _mask;
            case RedactionMaskStyle.Pseudonym:
                return Pseudonym(text);
            default:
                return _mask;
        }
    }

    /// <summary>
    /// Whether <paramref name="text"/> starts with a mask <see cref="MaskText"/> writes, followed by its end or by one
    /// of <paramref name="next"/>: the mask alone, or with its visible characters (partial), or a pseudonym.
    /// </summary>
    public bool StartsWithMask(ReadOnlySpan<char> text, SearchValues<char> next)
    {
        if (_style == RedactionMaskStyle.Pseudonym)
        {
            var length = _keyIdPrefix.Length + PseudonymBytes * 2;
            return text.StartsWith(_keyIdPrefix, StringComparison.Ordinal) && text.Length >= length
                   && !text[_keyIdPrefix.Length..length].ContainsAnyExcept(HexDigits) && EndsAt(text, length, next);
        }
        if (!text.StartsWith(_mask, StringComparison.Ordinal)) return false;
        return EndsAt(text, _mask.Length, next) || (_style == RedactionMaskStyle.Partial && EndsAt(text, _mask.Length + _visible, next));
    }

    static bool EndsAt(ReadOnlySpan<char> text, int length, SearchValues<char> next) =>
        text.Length == length || (text.Length > length && next.Contains(text[length]));

    static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdef");

    string Pseudonym(string text)
    {
        var byteCount = Encoding.UTF8.GetByteCount(text);
        byte[]? rented = null;
        var bytes = byteCount <= 512 ? stackalloc byte[byteCount] : (rented = ArrayPool<byte>.Shared.Rent(byteCount)).AsSpan(0, byteCount);
        try
        {
            Encoding.UTF8.GetBytes(text, bytes);
            Span<byte> hash = stackalloc byte[32];
            HMACSHA256.HashData(_key!, bytes, hash);
            return string.Create(_keyIdPrefix.Length + PseudonymBytes * 2, (_keyIdPrefix, Hash: hash[..PseudonymBytes].ToArray()), static (span, state) =>
            {
                state._keyIdPrefix.AsSpan().CopyTo(span);
                var offset = state._keyIdPrefix.Length;
                foreach (var b in state.Hash)
                {
                    span[offset++] = HexDigit(b >> 4);
                    span[offset++] = HexDigit(b & 0xF);
                }
            });
        }
        finally
        {
            if (rented is not null)
            {
                CryptographicOperations.ZeroMemory(bytes);
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);

    /// <summary>The text of a scalar value, culture-invariant; <see langword="null"/> for anything else.</summary>
    static string? ScalarText(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "True" : "False",
        char c => c.ToString(),
        Uri u => u.ToString(),
        Enum e => e.ToString(),
        IFormattable f when IsScalar(value.GetType()) => f.ToString(null, CultureInfo.InvariantCulture),
        _ => null,
    };

    static bool IsScalar(Type type) =>
        type.IsPrimitive || type == typeof(decimal) || type == typeof(DateTime) || type == typeof(DateTimeOffset) ||
        type == typeof(TimeSpan) || type == typeof(Guid) || type == typeof(DateOnly) || type == typeof(TimeOnly);
}
