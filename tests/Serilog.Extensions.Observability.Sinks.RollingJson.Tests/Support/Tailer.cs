using System.Runtime.InteropServices;
using System.Text;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Tests.Support;

/// <summary>
/// Reads a log directory the way a shipper tails it (Fluent Bit, Vector, Filebeat): finds files by a glob, keeps each one
/// open and follows it by its handle (its inode) through renames and deletion, reads every file to its end again and
/// again, and hands on only lines ended by a newline. Linux only: a file's identity is its inode (fstat).
/// Records what a shipper would trip over: a file that shrinks under it, a file that grows after a later file received
/// data and it was read to its end since (a shipper may have closed it), a rolled file whose last line has no newline.
/// </summary>
sealed class Tailer : IDisposable
{
    sealed class Tracked
    {
        public required FileStream Stream;
        public required string FirstName;
        public readonly List<byte> Partial = new();
        public long Offset;
        // The length at which a later file was seen with data and this one read to its end after that.
        public long? SealedAt;
    }

    readonly string _directory;
    readonly string _glob;
    readonly List<Tracked> _files = new();
    readonly HashSet<(long, long)> _identities = new();
    public readonly List<string> Lines = new();
    public readonly List<string> Problems = new();
    public readonly HashSet<string> NamesSeen = new(StringComparer.Ordinal);

    readonly string? _fixedCurrentPath;

    public Tailer(string directory, string glob, string? fixedCurrentPath = null)
    {
        _fixedCurrentPath = fixedCurrentPath;
        _directory = directory;
        _glob = glob;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int fstat(int fd, byte[] buffer);

    /// <summary>The file's identity (device and inode: the first two fields of struct stat on 64-bit Linux).</summary>
    static (long Device, long Inode) Identity(FileStream stream)
    {
        var buffer = new byte[256];
        if (fstat((int)stream.SafeFileHandle.DangerousGetHandle(), buffer) != 0) throw new IOException("fstat failed");
        return (BitConverter.ToInt64(buffer, 0), BitConverter.ToInt64(buffer, 8));
    }

    /// <summary>One pass: discover new files, then read every file to its end.</summary>
    public void Poll()
    {
        foreach (var path in Directory.EnumerateFiles(_directory, _glob))
        {
            NamesSeen.Add(Path.GetFileName(path));
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            }
            catch (FileNotFoundException)
            {
                continue; // rolled and compressed between the glob and the open
            }
            // A file already followed under another name (a fixed current file renamed on roll).
            var identity = Identity(stream);
            if (!_identities.Add(identity))
            {
                stream.Dispose();
                continue;
            }
            _files.Add(new Tracked { Stream = stream, FirstName = path });
        }

        foreach (var file in _files) ReadToEnd(file);
        // A rolled file, read to its end since: with a fixed current name, one no longer at that name; with dated names,
        // one older (by name) than a file with data.
        var current = _fixedCurrentPath is null ? null : IdentityOf(_fixedCurrentPath);
        string? newestWithData = null;
        foreach (var file in _files)
        {
            if (file.Offset > 0 && (newestWithData is null || string.CompareOrdinal(file.FirstName, newestWithData) > 0))
                newestWithData = file.FirstName;
        }
        foreach (var file in _files)
        {
            if (file.SealedAt is not null) continue;
            var rolled = _fixedCurrentPath is not null
                ? Identity(file.Stream) != current
                : newestWithData is not null && string.CompareOrdinal(file.FirstName, newestWithData) < 0;
            if (!rolled) continue;
            ReadToEnd(file);
            file.SealedAt = file.Offset;
            if (file.Partial.Count > 0)
                Problems.Add($"{file.FirstName} was rolled with its last line cut: {file.Partial.Count} bytes without a newline");
        }
    }

    static (long Device, long Inode)? IdentityOf(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            return Identity(stream);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    void ReadToEnd(Tracked file)
    {
        var length = file.Stream.Length;
        if (length < file.Offset)
        {
            Problems.Add($"{file.FirstName} shrank from {file.Offset} to {length} bytes");
            file.Offset = length;
            file.Partial.Clear();
            return;
        }
        if (file.SealedAt is { } sealedAt && length > sealedAt)
            Problems.Add($"{file.FirstName} grew from {sealedAt} to {length} bytes after it was rolled");
        if (length == file.Offset) return;
        var buffer = new byte[length - file.Offset];
        file.Stream.Position = file.Offset;
        var read = file.Stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        file.Offset += read;
        var start = 0;
        for (var i = 0; i < read; i++)
        {
            if (buffer[i] != '\n') continue;
            file.Partial.AddRange(buffer.AsSpan(start, i - start));
            Lines.Add(Encoding.UTF8.GetString(file.Partial.ToArray()));
            file.Partial.Clear();
            start = i + 1;
        }
        file.Partial.AddRange(buffer.AsSpan(start, read - start));
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Stream.Dispose();
    }
}
