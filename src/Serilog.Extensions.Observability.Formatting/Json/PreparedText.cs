namespace Serilog.Extensions.Observability.Formatting.Json;

/// <summary>
/// A fragment of JSON formatted once, kept both as UTF-16 (for the <see cref="TextWriter"/> path) and as UTF-8 (for
/// the buffer-writer path), so that a cached fragment costs one copy on either path.
/// </summary>
sealed class PreparedText
{
    PreparedText(string chars, byte[] utf8)
    {
        Chars = chars;
        Utf8Length = utf8.Length;
        // Whole 16-byte blocks, so the UTF-8 path copies it with a few vector moves instead of a call to memmove.
        Utf8Blocks = new byte[(utf8.Length + BlockSize - 1) / BlockSize * BlockSize];
        utf8.CopyTo(Utf8Blocks, 0);
    }

    public const int BlockSize = 16;

    public string Chars { get; }

    /// <summary>The UTF-8 text, then zero bytes up to a multiple of <see cref="BlockSize"/>.</summary>
    public byte[] Utf8Blocks { get; }

    public int Utf8Length { get; }

    public ReadOnlySpan<byte> Utf8 => Utf8Blocks.AsSpan(0, Utf8Length);

    /// <summary>
    /// Runs <paramref name="fragment"/> once on each sink kind. The prepared text is therefore exactly what the
    /// uncached path writes for the same input, by construction.
    /// </summary>
    public static PreparedText Create<TFragment>(TFragment fragment) where TFragment : struct, IJsonFragment
    {
        var chars = new CharBuilder(64);
        fragment.Write(new CharSink(chars));
        var bytes = new ByteBuilder(64);
        fragment.Write(new Utf8Sink(bytes));
        return new PreparedText(chars.Written.ToString(), bytes.Written.ToArray());
    }
}

/// <summary>A piece of JSON that can be written to either sink (see <see cref="PreparedText.Create"/>).</summary>
interface IJsonFragment
{
    void Write<TSink>(TSink sink) where TSink : struct, IJsonSink;
}
