using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// Masks, by key, the JSON object or array held in a string (a request body, a <c>JsonNode</c> captured without
/// <c>@</c>). Text that is not valid JSON is left alone; valid JSON with nothing to mask is returned unchanged,
/// otherwise it is rewritten compactly with the sensitive values replaced.
/// </summary>
static class JsonTextRedactor
{
    /// <summary>Deep enough for real documents, bounded so that the rewrite's recursion is too.</summary>
    const int MaximumDepth = 256;

    // Comments and trailing commas are common in hand-written JSON (appsettings, request bodies): they must not make
    // a document "not JSON" and so skip masking.
    static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = MaximumDepth,
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };
    static readonly JsonWriterOptions WriterOptions = new()
    {
        // Log text, not HTML: keep non-ASCII characters and '<', '>' readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = MaximumDepth,
        SkipValidation = true,
    };

    /// <summary>A UTF-8 byte-order mark read as text: a body read without detecting it starts with one.</summary>
    internal const char ByteOrderMark = '\uFEFF';

    /// <summary>Where the JSON starts: after leading white space and a byte-order mark.</summary>
    internal static int StartOf(string text)
    {
        var start = 0;
        while (start < text.Length && char.IsWhiteSpace(text[start])) start++;
        if (start < text.Length && text[start] == ByteOrderMark)
        {
            start++;
            while (start < text.Length && char.IsWhiteSpace(text[start])) start++;
        }
        return start;
    }

    public static string? Redact(string text, Redactor redactor)
    {
        var start = StartOf(text);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text.AsMemory(start), DocumentOptions);
        }
        catch (JsonException ex)
        {
            // Several documents one after another (newline-delimited JSON, a bulk request body): each masked by key.
            // The parse then fails where the second starts, after a whole first one ("{}" at the least), so text that
            // fails on its first characters is not read again.
            if (!(ex.LineNumber is 0 && ex.BytePositionInLine is <= 1) && TryRedactDocuments(text, start, redactor, out var redacted))
                return redacted;

            // Not JSON after all ("[INFO] {user} signed in": it fails on its first characters), or JSON that cannot be
            // rewritten: deeper than the limit, or cut by Serilog's ToMaximumStringLength. If its readable part names
            // a secret, fail closed.
            if (ex.LineNumber is 0 && ex.BytePositionInLine is <= 2) return null;
            return ReadablePartHasSensitiveKey(text, start, redactor) ? (string)redactor.Masker.Fixed.Value! : null;
        }

        using (document)
        {
            if (!HasSensitiveKey(document.RootElement, redactor)) return null;

            var buffer = new ArrayBufferWriter<byte>(text.Length + 16);
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                Write(writer, document.RootElement, redactor);
            }
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
    }

    /// <summary>JSON documents tried per string of prose; sensitive keys past them fail closed.</summary>
    const int MaximumEmbeddedAttempts = 16;

    /// <summary>
    /// Masks by key the JSON documents inside prose (<c>request failed: {"password":"x"}</c>): the prose is kept, each
    /// document that names a sensitive key is rewritten. Nothing is parsed unless a sensitive key stands in a
    /// <c>"key":</c> position after a bracket; such a key outside every document that could be read (cut, invalid or
    /// too deep JSON) has its value and the rest of the string replaced by the mask (fail closed).
    /// </summary>
    internal static string? RedactEmbedded(string text, Redactor redactor)
    {
        var first = text.AsSpan().IndexOfAny('{', '[');
        if (first < 0) return null;
        var keys = SensitiveKeyPositions(text, first, redactor);
        if (keys is null) return null;

        StringBuilder? result = null;
        var copied = 0;
        var next = 0; // the first sensitive key not inside a document read so far
        var attempts = 0;
        for (var start = first; start >= 0 && next < keys.Count && attempts < MaximumEmbeddedAttempts;)
        {
            // A key before this bracket lay in no document that could be read.
            if (keys[next].Key < start) break;
            attempts++;
            if (!TryParseAt(text, start, out var end, out var document))
            {
                start = IndexOfBracket(text, start + 1);
                continue;
            }

            using (document)
            {
                if (HasSensitiveKey(document.RootElement, redactor))
                {
                    var buffer = new ArrayBufferWriter<byte>(end - start + 16);
                    using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
                    {
                        Write(writer, document.RootElement, redactor);
                    }
                    result ??= new StringBuilder(text.Length);
                    result.Append(text, copied, start - copied).Append(Encoding.UTF8.GetString(buffer.WrittenSpan));
                    copied = end;
                }
            }
            while (next < keys.Count && keys[next].Key < end) next++;
            start = IndexOfBracket(text, end);
        }

        if (next < keys.Count)
        {
            var from = keys[next].Value;
            result ??= new StringBuilder(text.Length);
            return result.Append(text, copied, from - copied).Append((string)redactor.Masker.Fixed.Value!).ToString();
        }
        return result?.Append(text, copied, text.Length - copied).ToString();
    }

    static int IndexOfBracket(string text, int from)
    {
        if (from >= text.Length) return -1;
        var index = text.AsSpan(from).IndexOfAny('{', '[');
        return index < 0 ? -1 : from + index;
    }

    /// <summary>One JSON value from <paramref name="start"/>, the text after it ignored; <paramref name="end"/> is where it ends.</summary>
    static bool TryParseAt(string text, int start, out int end, out JsonDocument document)
    {
        var bytes = Encoding.UTF8.GetBytes(text, start, text.Length - start);
        var reader = new Utf8JsonReader(bytes, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        try
        {
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            end = 0;
            document = null!;
            return false;
        }
        end = start + Encoding.UTF8.GetCharCount(bytes, 0, (int)reader.BytesConsumed);
        return true;
    }

    /// <summary>
    /// Where a sensitive key stands in a <c>"key":</c> position after <paramref name="first"/> (its opening quote, and
    /// where its value starts), or <see langword="null"/> when none does. A key holding an escape is taken as
    /// sensitive: the parser decides, or it fails closed.
    /// </summary>
    static List<(int Key, int Value)>? SensitiveKeyPositions(string text, int first, Redactor redactor)
    {
        List<(int Key, int Value)>? found = null;
        for (var colon = IndexOf(text, ':', first + 1); colon >= 0; colon = IndexOf(text, ':', colon + 1))
        {
            var close = colon - 1;
            while (close > first && char.IsWhiteSpace(text[close])) close--;
            if (close <= first + 1 || text[close] != '"') continue;
            var open = text.LastIndexOf('"', close - 1, close - 1 - first);
            if (open <= first) continue;
            var key = text.Substring(open + 1, close - open - 1);
            if (!key.Contains('\\') && !redactor.Keys.IsSensitiveTextKey(key)) continue;
            var value = colon + 1;
            while (value < text.Length && char.IsWhiteSpace(text[value])) value++;
            (found ??= new List<(int, int)>()).Add((open, value));
        }
        return found;
    }

    static int IndexOf(string text, char c, int from) => from >= text.Length ? -1 : text.IndexOf(c, from);

    static readonly JsonReaderOptions ReaderOptions = new()
    {
        MaxDepth = MaximumDepth,
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    static bool IsJsonWhiteSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    /// <summary>
    /// Reads the text as two or more complete JSON documents separated by white space, one reader per document (the
    /// reader's <c>AllowMultipleValues</c> exists only from .NET 9). <see langword="false"/> when it is not that, and
    /// then the single-document rules decide. Otherwise <paramref name="redacted"/> is the text with each document
    /// that names a sensitive key rewritten, the others and the white space between them (one document per line) kept,
    /// or <see langword="null"/> when no document needs masking.
    /// </summary>
    static bool TryRedactDocuments(string text, int start, Redactor redactor, out string? redacted)
    {
        redacted = null;
        var bytes = Encoding.UTF8.GetBytes(text, start, text.Length - start);
        var documents = new List<(int Start, int End, JsonDocument Document)>();
        try
        {
            var offset = 0;
            while (true)
            {
                while (offset < bytes.Length && IsJsonWhiteSpace(bytes[offset])) offset++;
                if (offset == bytes.Length) break;
                var reader = new Utf8JsonReader(bytes.AsSpan(offset), isFinalBlock: true, new JsonReaderState(ReaderOptions));
                // One whole value, and nothing read past it.
                var document = JsonDocument.ParseValue(ref reader);
                var end = offset + (int)reader.BytesConsumed;
                documents.Add((offset, end, document));
                offset = end;
            }
            if (documents.Count < 2) return false;

            var any = false;
            foreach (var (_, _, document) in documents) any = any || HasSensitiveKey(document.RootElement, redactor);
            if (!any) return true;

            var buffer = new ArrayBufferWriter<byte>(bytes.Length + 16);
            var copied = 0;
            foreach (var (documentStart, documentEnd, document) in documents)
            {
                if (!HasSensitiveKey(document.RootElement, redactor)) continue;
                buffer.Write(bytes.AsSpan(copied, documentStart - copied));
                using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
                {
                    Write(writer, document.RootElement, redactor);
                }
                copied = documentEnd;
            }
            buffer.Write(bytes.AsSpan(copied));
            redacted = Encoding.UTF8.GetString(buffer.WrittenSpan);
            return true;
        }
        catch (JsonException)
        {
            // A document that is not whole JSON: the readable part decides, as for a single document.
            return false;
        }
        finally
        {
            foreach (var (_, _, document) in documents) document.Dispose();
        }
    }

    /// <summary>
    /// Reads the text as far as it is JSON (any depth, an unfinished end allowed, one document after another) and says
    /// whether a key in that part is sensitive, or a string in it holds structured text to mask.
    /// </summary>
    static bool ReadablePartHasSensitiveKey(string text, int start, Redactor redactor)
    {
        var bytes = Encoding.UTF8.GetBytes(text, start, text.Length - start);
        var options = new JsonReaderOptions
        {
            AllowTrailingCommas = true,
            CommentHandling = JsonCommentHandling.Skip,
            MaxDepth = Math.Max(MaximumDepth, text.Length),
        };
        var offset = 0;
        while (true)
        {
            var reader = new Utf8JsonReader(bytes.AsSpan(offset), isFinalBlock: false, new JsonReaderState(options));
            try
            {
                while (reader.Read())
                {
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.PropertyName when redactor.Keys.IsSensitive(reader.GetString()):
                            return true;
                        case JsonTokenType.String when reader.GetString() is { } value && redactor.RedactStructuredText(value) is not null:
                            return true;
                    }
                }
            }
            catch (JsonException)
            {
                // A whole document was read and another follows (newline-delimited JSON): read that one too.
                if (reader.CurrentDepth == 0 && reader.BytesConsumed > 0 && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null)
                {
                    offset += (int)reader.BytesConsumed;
                    continue;
                }

                // The rest is not JSON: what was read decides, and a string the cut made invalid ("\…").
                return UnfinishedStringHoldsSensitiveText(bytes.AsSpan(offset + (int)reader.BytesConsumed), redactor);
            }
            catch (InvalidOperationException)
            {
                // A string token that cannot be decoded: likewise.
                return false;
            }

            // The text ends inside a token: when it is a string value, the cut fell inside it, and a JSON document it
            // holds (a message body in an envelope) is cut too, yet still names its first keys.
            return UnfinishedStringHoldsSensitiveText(bytes.AsSpan(offset + (int)reader.BytesConsumed), redactor);
        }
    }

    static bool UnfinishedStringHoldsSensitiveText(ReadOnlySpan<byte> rest, Redactor redactor)
    {
        var start = 0;
        while (start < rest.Length && rest[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)',' or (byte)':') start++;
        if (start == rest.Length || rest[start] != (byte)'"') return false;
        var content = rest[(start + 1)..];

        // The cut may fall inside an escape sequence (\" or \u00e9) or a character: drop its bytes until the rest decodes.
        for (var drop = 0; drop <= 6 && drop < content.Length; drop++)
        {
            var quoted = new byte[content.Length - drop + 2];
            quoted[0] = quoted[^1] = (byte)'"';
            content[..^drop].CopyTo(quoted.AsSpan(1));
            string? text;
            try
            {
                var reader = new Utf8JsonReader(quoted);
                text = reader.Read() ? reader.GetString() : null;
            }
            catch (JsonException)
            {
                continue;
            }
            catch (InvalidOperationException)
            {
                continue;
            }
            if (text is null) return false;
            // Marked as cut, as Serilog marks it, so that it is read as cut JSON.
            if (text.Length == 0 || text[^1] != Redactor.TruncationMark) text += Redactor.TruncationMark;
            return redactor.RedactStructuredText(text) is not null;
        }
        return false;
    }

    static bool HasSensitiveKey(JsonElement element, Redactor redactor)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                // A string value may itself be a JSON document (a message body wrapped in an envelope).
                return element.GetString() is { } text && redactor.RedactStructuredText(text) is not null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (redactor.Keys.IsSensitive(property.Name) || HasSensitiveKey(property.Value, redactor)) return true;
                }
                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (HasSensitiveKey(item, redactor)) return true;
                }
                return false;
            default:
                return false;
        }
    }

    static void Write(Utf8JsonWriter writer, JsonElement element, Redactor redactor)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    if (redactor.Keys.IsSensitive(property.Name)) writer.WriteStringValue(MaskedText(property.Value, redactor));
                    else Write(writer, property.Value, redactor);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray()) Write(writer, item, redactor);
                writer.WriteEndArray();
                break;
            case JsonValueKind.String when element.GetString() is { } text && redactor.RedactStructuredText(text) is { } redacted:
                writer.WriteStringValue(redacted);
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    internal static string MaskedText(JsonElement value, Redactor redactor)
    {
        var masker = redactor.Masker;
        if (!masker.NeedsValue) return (string)masker.Fixed.Value!;
        return value.ValueKind switch
        {
            JsonValueKind.String => masker.MaskText(value.GetString()!),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => masker.MaskText(value.GetRawText()),
            _ => (string)masker.Fixed.Value!,
        };
    }
}
