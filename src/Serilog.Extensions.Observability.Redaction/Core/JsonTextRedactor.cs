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

    public static string? Redact(string text, Redactor redactor)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, DocumentOptions);
        }
        catch (JsonException ex)
        {
            // Not JSON after all ("[INFO] {user} signed in": it fails on its first characters), or JSON that cannot be
            // rewritten: deeper than the limit, or cut by Serilog's ToMaximumStringLength. If its readable part names
            // a secret, fail closed.
            if (ex.LineNumber is 0 && ex.BytePositionInLine is <= 2) return null;
            return ReadablePartHasSensitiveKey(text, redactor) ? (string)redactor.Masker.Fixed.Value! : null;
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

    /// <summary>
    /// Reads the text as far as it is JSON (any depth, an unfinished end allowed) and says whether a key in that part
    /// is sensitive, or a string in it holds structured text to mask.
    /// </summary>
    static bool ReadablePartHasSensitiveKey(string text, Redactor redactor)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var options = new JsonReaderOptions
        {
            AllowTrailingCommas = true,
            CommentHandling = JsonCommentHandling.Skip,
            MaxDepth = Math.Max(MaximumDepth, text.Length),
        };
        var reader = new Utf8JsonReader(bytes, isFinalBlock: false, new JsonReaderState(options));
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
            // The rest is not JSON: what was read decides, and a string the cut made invalid ("\…").
            return UnfinishedStringHoldsSensitiveText(bytes.AsSpan((int)reader.BytesConsumed), redactor);
        }
        catch (InvalidOperationException)
        {
            // A string token that cannot be decoded: likewise.
            return false;
        }

        // The text ends inside a token: when it is a string value, the cut fell inside it, and a JSON document it
        // holds (a message body in an envelope) is cut too, yet still names its first keys.
        return UnfinishedStringHoldsSensitiveText(bytes.AsSpan((int)reader.BytesConsumed), redactor);
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
