using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using Serilog.Extensions.Observability.Sinks.RollingJson.Diagnostics;

namespace Serilog.Extensions.Observability.Sinks.RollingJson.Files;

/// <summary>
/// Compresses rolled files and applies retention on its own thread, so that neither the caller nor the writer ever
/// waits for gzip or for a directory scan. Runs are serialised; a request made during a run causes one more run.
/// </summary>
internal sealed class Housekeeper
{
    readonly FileNaming _naming;
    readonly bool _compress;
    readonly int? _countLimit;
    readonly TimeSpan? _timeLimit;
    readonly long? _bytesLimit;
    readonly long? _fileSizeLimit;
    readonly TimeProvider _time;
    readonly TimeZoneInfo _zone;
    readonly Func<string?> _currentPath;
    readonly object _sync = new();
    readonly ManualResetEventSlim _idle = new(initialState: true);
    Thread? _thread; // the last pass's
    // What the last pass found comparing each pair of copies, with the copies' lengths and times then: a pair that
    // neither pass could settle is read whole again only once one of them changes (housekeeping thread only).
    Dictionary<string, ComparedTwins> _compared = new(StringComparer.Ordinal);
    int _twinComparisons;

    /// <summary>How many times a pass read a plain file and its .gz whole to compare them; for tests.</summary>
    internal int TwinComparisons => Volatile.Read(ref _twinComparisons);

    readonly record struct ComparedTwins(long CompressedLength, DateTime CompressedWrite, long PlainLength, DateTime PlainWrite, Twins Result);
    bool _running;
    bool _again;

    public Housekeeper(FileNaming naming, RollingJsonOptions options, TimeZoneInfo zone, Func<string?> currentPath)
    {
        _naming = naming;
        _compress = options.CompressRolledFiles;
        _countLimit = options.RetainedFileCountLimit;
        _timeLimit = options.RetainedFileTimeLimit;
        _bytesLimit = options.RetainedTotalBytesLimit;
        _fileSizeLimit = options.FileSizeLimitBytes;
        _time = options.TimeProvider;
        _zone = zone;
        _currentPath = currentPath;
    }

    /// <summary>
    /// Forces a file's data and metadata to the storage device (<c>fsync</c>). A seam for tests, which cannot cut the
    /// power: they wrap it to see that a compressed file is flushed before its original is deleted.
    /// </summary>
    internal Action<FileStream> FlushFileToDisk = static file => file.Flush(flushToDisk: true);

    /// <summary>Forces the directory's entries (a rename) to the storage device where the platform can; a seam as above.</summary>
    internal Action<string> FlushDirectoryToDisk = DirectoryFlush.ToDisk;

    /// <summary>Test hook: runs just before a pass's thread starts (a hook that throws: no thread can be created).</summary>
    internal Action? StartThreadForTests;

    /// <summary>
    /// Starts a pass. There is one whatever the options: besides compression and retention, a pass removes what a crash
    /// during an earlier compression left (a <c>.gz.tmp</c>, a rolled file twice), which no option turns off.
    /// Never throws: a pass that cannot start (no thread can be created: a container's process limit, no memory) is
    /// reported, and the next request starts one.
    /// </summary>
    public void Schedule()
    {
        Thread? previous;
        lock (_sync)
        {
            if (_running)
            {
                _again = true;
                return;
            }
            _running = true;
            _idle.Reset();
            previous = _thread;
        }
        try
        {
            // A dedicated thread: gzip of a 100 MB file must not hold a pool thread the application needs.
            var thread = new Thread(Run) { IsBackground = true, Name = "Serilog RollingJson housekeeping" };
            lock (_sync) _thread = thread;
            StartThreadForTests?.Invoke();
            thread.Start();
        }
        catch (Exception ex)
        {
            // No pass runs: left running, every later request would only ask it to run again, and disposal would wait
            // for it until the shutdown timeout. The last pass's thread, ended or ending, is still the one to wait for.
            lock (_sync)
            {
                _thread = previous;
                _running = false;
                _idle.Set();
            }
            SafeSelfLog.WriteLine("RollingJson sink {0}: housekeeping could not start, it is tried again at the next roll: {1}", _naming.Directory, ex.Message);
        }
    }

    /// <summary>
    /// Waits until no pass runs and the thread of the last one has ended, so that none of the sink's threads outlives its
    /// disposal; false on timeout.
    /// </summary>
    public bool WaitIdle(TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        TimeSpan Left() => timeout - stopwatch.Elapsed < TimeSpan.Zero ? TimeSpan.Zero : timeout - stopwatch.Elapsed;
        while (true)
        {
            if (!_idle.Wait(Left())) return false;
            Thread? last;
            lock (_sync)
            {
                // A pass scheduled since idle was seen: wait for that one too.
                if (_running) continue;
                last = _thread;
            }
            // Idle is the thread's last act before it returns: it ends at once.
            return last is null || last == Thread.CurrentThread || last.Join(Left());
        }
    }

    void Run()
    {
        BackgroundPriority.LowerCurrentThread();
        while (true)
        {
            try
            {
                RunOnce();
            }
            catch (Exception ex)
            {
                SafeSelfLog.WriteLine("RollingJson sink {0}: housekeeping failed: {1}", _naming.Directory, ex);
            }
            lock (_sync)
            {
                if (!_again)
                {
                    _running = false;
                    _idle.Set();
                    return;
                }
                _again = false;
            }
        }
    }

    /// <summary>
    /// One rolled or current file. <paramref name="Twin"/> is its other copy when both the plain file and its .gz exist
    /// and neither can go: one file for retention, which deletes both.
    /// </summary>
    readonly record struct Entry(string Path, DateTime Period, int Sequence, bool Compressed, bool IsCurrent, string? Twin = null);

    internal void RunOnce()
    {
        if (!Directory.Exists(_naming.Directory)) return;
        var current = _currentPath();
        var entries = Scan(current, out var leftovers);
        // The writer moved to a new file while we looked: the scan may show that file as a rolled one (and retention
        // would delete the live file). Its opening scheduled another run, which sees it as current.
        if (!string.Equals(_currentPath(), current, StringComparison.Ordinal)) return;

        foreach (var leftover in leftovers) RemoveLeftover(leftover);
        ResolveTwins(entries);
        var currentEntry = entries.Find(e => e.IsCurrent);

        // Newest first: the current file, then by period and sequence.
        entries.Sort(static (a, b) => a.IsCurrent != b.IsCurrent ? (a.IsCurrent ? -1 : 1) : Compare(b, a));

        var now = _time.GetUtcNow();
        long totalBytes = 0;
        var kept = 0;
        foreach (var found in entries)
        {
            var entry = found;
            if (!entry.IsCurrent)
            {
                // Count and age do not depend on a file's size, nor does the total once it is past its limit (the room
                // left for the current file can take all of it): a file they delete is never compressed first (months of
                // rolled files when compression is turned on or a limit lowered would otherwise all be read, gzipped and
                // forced to disk, only to be deleted).
                if ((_countLimit is { } count && kept >= count) || (_timeLimit is { } age && now - ContentEnd(entry) > age)
                    || (_bytesLimit is { } full && totalBytes > full))
                {
                    Delete(entry);
                    continue;
                }
                // Compressed before it is measured: retention by bytes counts the compressed size.
                if (_compress && ShouldCompress(entry, current, currentEntry) && TryCompress(entry.Path, out var plainDeleted))
                    entry = entry with { Path = FileNaming.CompressedPath(entry.Path), Compressed = true, Twin = plainDeleted ? null : entry.Path };
            }
            long length;
            try
            {
                length = new FileInfo(entry.Path).Length;
                if (entry.Twin is { } twin && File.Exists(twin)) length += new FileInfo(twin).Length;
            }
            catch (IOException)
            {
                continue;
            }
            if (entry.IsCurrent)
            {
                // The current file keeps growing after this pass: leave it room up to its size limit.
                kept++;
                totalBytes = SaturatingAdd(totalBytes, _fileSizeLimit is { } sizeLimit && sizeLimit > length ? sizeLimit : length);
                continue;
            }
            // Compared without adding: a size limit near long.MaxValue must not wrap the total around.
            if (_bytesLimit is { } bytes && length > bytes - totalBytes)
            {
                Delete(entry);
                continue;
            }
            kept++;
            totalBytes = SaturatingAdd(totalBytes, length);
        }
    }

    static long SaturatingAdd(long total, long length) => total > long.MaxValue - length ? long.MaxValue : total + length;

    static void Delete(Entry entry)
    {
        TryDelete(entry.Path);
        if (entry.Twin is { } twin) TryDelete(twin);
    }

    /// <summary>Whether a plain rolled file is one to compress: never the current file, nor one newer than it.</summary>
    bool ShouldCompress(Entry entry, string? current, Entry currentEntry)
    {
        if (entry.Compressed || entry.IsCurrent || entry.Twin is not null) return false;
        if (_naming.FixedCurrentPath is not null) return true;
        // Without a fixed name, only files older than the current one are rolled; anything newer (a clock that went
        // back) is left alone, and so is everything while no file is current.
        return current is not null && (currentEntry.Path is null || Compare(entry, currentEntry) < 0);
    }

    List<Entry> Scan(string? current, out List<string> leftovers)
    {
        var entries = new List<Entry>();
        leftovers = new List<string>();
        foreach (var path in Directory.EnumerateFiles(_naming.Directory))
        {
            var fileName = Path.GetFileName(path);
            if (_naming.FixedCurrentPath is not null && string.Equals(path, _naming.FixedCurrentPath, StringComparison.Ordinal))
            {
                entries.Add(new Entry(path, DateTime.MaxValue, int.MaxValue, false, true));
                continue;
            }
            if (_naming.IsTemporary(fileName))
            {
                leftovers.Add(path);
                continue;
            }
            if (!_naming.TryParse(fileName, out var period, out var sequence, out var compressed)) continue;
            // Not a file the sink wrote (see SymbolicLinks): never compressed (which would copy what it points to into
            // the log directory), counted or deleted.
            if (SymbolicLinks.IsLink(path))
            {
                SymbolicLinks.ReportLeftAlone(path);
                continue;
            }
            var isCurrent = current is not null && string.Equals(path, current, StringComparison.Ordinal);
            entries.Add(new Entry(path, period, sequence, compressed, isCurrent));
        }
        return entries;
    }

    /// <summary>
    /// Removes a <c>.gz.tmp</c> that a compression left when the process died in it. It never holds anything of its own:
    /// the rolled file it was made from is deleted only after the .gz has its name, so that file is still there (and is
    /// compressed again), or someone (retention, a person) deleted it on purpose.
    /// </summary>
    void RemoveLeftover(string temporary)
    {
        try
        {
            if (SymbolicLinks.IsLink(temporary))
            {
                // Planted: opening it would follow it. Deleting it removes the link only, and frees the name.
                File.Delete(temporary);
                SafeSelfLog.WriteLine("RollingJson sink: removed {0}, a symbolic link, which the sink never makes.", temporary);
                return;
            }
            // A compression under way holds its file with no sharing (a lock on Unix): that of another process on the
            // same path, one shutting down while this one starts, say. That file is not a leftover: leave it. Held open
            // while it is deleted, so that no compression can start writing it in between.
            using (new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Delete, bufferSize: 1))
                File.Delete(temporary);
            SafeSelfLog.WriteLine("RollingJson sink: removed {0}, left by a compression that did not finish.", temporary);
        }
        catch (FileNotFoundException)
        {
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // In use, or cannot go: the next pass looks again.
        }
    }

    enum Twins
    {
        /// <summary>The .gz is complete and holds exactly the plain file's bytes: the plain file is the duplicate.</summary>
        Same,

        /// <summary>The .gz is cut or corrupt, and what it holds is all in the plain file: the .gz can go.</summary>
        CompressedIsPart,

        /// <summary>The .gz holds something the plain file does not: both are kept.</summary>
        Differ,

        /// <summary>One of them could not be read (reported): both are kept.</summary>
        Unreadable,
    }

    /// <summary>
    /// A rolled file found both plain and compressed: a crash after the .gz got its name and before the plain file was
    /// deleted, a plain file that could not be deleted, or a compression that never reached the disk. Never losing an
    /// event decides which goes: the plain file when the .gz is complete and holds all of it, else the .gz when the
    /// plain file holds all it has, else neither (reported). What is left counts once for retention, whatever the options.
    /// </summary>
    void ResolveTwins(List<Entry> entries)
    {
        Dictionary<string, int>? plainAt = null;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Compressed) continue;
            plainAt ??= new Dictionary<string, int>(StringComparer.Ordinal);
            plainAt[entries[i].Path] = i;
        }
        if (plainAt is null) return;

        HashSet<string>? gone = null;
        var compared = new Dictionary<string, ComparedTwins>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var compressed = entries[i];
            if (!compressed.Compressed || !plainAt.TryGetValue(FileNaming.PlainPath(compressed.Path), out var p)) continue;
            var plain = entries[p];
            gone ??= new HashSet<string>(StringComparer.Ordinal);
            if (plain.IsCurrent)
            {
                // Not ours to settle while it is written (no sink of ours writes a current file that has a .gz).
                entries[p] = plain with { Twin = compressed.Path };
                gone.Add(compressed.Path);
                continue;
            }
            switch (CompareTwinsUnlessUnchanged(compressed.Path, plain.Path, compared))
            {
                case Twins.Same when TryFlushToDisk(compressed.Path) && TryDelete(plain.Path):
                    gone.Add(plain.Path);
                    break;
                case Twins.CompressedIsPart when TryDelete(compressed.Path):
                    // Left plain: compressed again below, when compression is on.
                    gone.Add(compressed.Path);
                    break;
                case Twins.CompressedIsPart:
                    entries[p] = plain with { Twin = compressed.Path };
                    gone.Add(compressed.Path);
                    break;
                default:
                    entries[i] = compressed with { Twin = plain.Path };
                    gone.Add(plain.Path);
                    break;
            }
        }
        if (gone is not null) entries.RemoveAll(e => gone.Contains(e.Path));
        // Only the pairs still there: the memory never grows past the pairs in the directory.
        _compared = compared;
    }

    Twins CompareTwinsUnlessUnchanged(string compressedPath, string plainPath, Dictionary<string, ComparedTwins> compared)
    {
        ComparedTwins now;
        try
        {
            var compressed = new FileInfo(compressedPath);
            var plain = new FileInfo(plainPath);
            now = new ComparedTwins(compressed.Length, compressed.LastWriteTimeUtc, plain.Length, plain.LastWriteTimeUtc, Twins.Differ);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Twins.Unreadable; // gone or unreadable since the scan: kept, looked at again next pass
        }
        if (_compared.TryGetValue(compressedPath, out var last) && last with { Result = Twins.Differ } == now)
        {
            compared[compressedPath] = last;
            return last.Result;
        }
        Interlocked.Increment(ref _twinComparisons);
        var result = CompareTwins(compressedPath, plainPath);
        // A read that failed is tried again next pass.
        if (result != Twins.Unreadable) compared[compressedPath] = now with { Result = result };
        return result;
    }

    static Twins CompareTwins(string compressedPath, string plainPath)
    {
        const int ChunkBytes = 64 * 1024;
        var fromCompressed = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        var fromPlain = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            using var plain = new FileStream(plainPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            using var compressed = new FileStream(compressedPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            long decompressed = 0;
            var corrupt = false;
            using (var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true))
            {
                while (true)
                {
                    int read;
                    try
                    {
                        read = gzip.Read(fromCompressed, 0, ChunkBytes);
                    }
                    catch (InvalidDataException)
                    {
                        // Corrupt from here on (a check value that does not match): what came before is in the plain file.
                        corrupt = true;
                        break;
                    }
                    if (read == 0) break;
                    if (plain.ReadAtLeast(fromPlain.AsSpan(0, read), read, throwOnEndOfStream: false) < read
                        || !fromCompressed.AsSpan(0, read).SequenceEqual(fromPlain.AsSpan(0, read)))
                        return Twins.Differ;
                    decompressed += read;
                }
            }
            // GZipStream ends quietly where a cut file ends, even inside its trailer: the trailer's size must be there too.
            var complete = !corrupt && plain.Position == plain.Length && EndsWithSize(compressed, decompressed);
            return complete ? Twins.Same : Twins.CompressedIsPart;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SafeSelfLog.WriteLine("RollingJson sink: could not compare {0} with {1}, both kept: {2}", compressedPath, plainPath, ex.Message);
            return Twins.Unreadable;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(fromCompressed);
            ArrayPool<byte>.Shared.Return(fromPlain);
        }
    }

    /// <summary>Whether a gzip file ends with the trailer of <paramref name="length"/> bytes of data (ISIZE, the length mod 2^32).</summary>
    static bool EndsWithSize(FileStream compressed, long length)
    {
        Span<byte> size = stackalloc byte[4];
        var fileLength = compressed.Length;
        return fileLength >= EmptyGzip.Length
            && RandomAccess.Read(compressed.SafeFileHandle, size, fileLength - 4) == 4
            && BinaryPrimitives.ReadUInt32LittleEndian(size) == unchecked((uint)length);
    }

    static int Compare(Entry a, Entry b)
    {
        var byPeriod = a.Period.CompareTo(b.Period);
        return byPeriod != 0 ? byPeriod : a.Sequence.CompareTo(b.Sequence);
    }

    /// <summary>When the file's newest content can be at most: its period's end, or its last write without a date.</summary>
    DateTimeOffset ContentEnd(Entry entry)
    {
        if (_naming.Interval == RollingJsonInterval.Infinite)
            return new DateTimeOffset(File.GetLastWriteTimeUtc(entry.Path), TimeSpan.Zero);
        var end = _naming.NextPeriodStart(entry.Period);
        // A period in the hour that repeats when daylight-saving time ends may hold content from both passes: it ends
        // at the last occurrence of its end, or a file written minutes ago would count as an hour older.
        return PeriodClock.ToUtc(end, _zone, after: DateTimeOffset.MaxValue);
    }

    /// <summary>A complete gzip member holding no data: header, an empty final deflate block, CRC-32 and size of zero.</summary>
    static ReadOnlySpan<byte> EmptyGzip => new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

    /// <summary>
    /// Compresses a rolled file to its .gz and deletes it. The plain file goes only once the .gz and its name are on the
    /// storage device: deleted earlier, a power loss could take events that <see cref="RollingJsonDurability.Durable"/>
    /// had already forced there. <paramref name="plainDeleted"/> is false when it could not go (reported; the next
    /// pass finds both and tries again).
    /// </summary>
    bool TryCompress(string path, out bool plainDeleted)
    {
        plainDeleted = false;
        var target = FileNaming.CompressedPath(path);
        var temporary = FileNaming.TemporaryPath(target);
        var created = false;
        try
        {
            using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024))
            {
                // A link put in the rolled file's place since the scan: not ours to copy out (see SymbolicLinks).
                if (SymbolicLinks.IsLink(path)) throw new IOException("it became a symbolic link, which the sink never makes.");
                var lastWrite = File.GetLastWriteTimeUtc(source.SafeFileHandle);
                // No sharing: a pass of another process takes a .gz.tmp it can open for a leftover (see RemoveLeftover).
                // Created exclusively: no link at the name can redirect it, and an existing .gz.tmp (another process's
                // compression under way, or a leftover RemoveLeftover could not take) fails the compression, reported.
                using var destination = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024);
                created = true;
                using (var gzip = new GZipStream(destination, CompressionLevel.Fastest, leaveOpen: true))
                    source.CopyTo(gzip);
                // For no input GZipStream writes nothing, and a zero-byte .gz is not a gzip file (zcat, gzip -t and
                // shippers reject it): an empty rolled file gets the gzip member of nothing instead.
                if (destination.Length == 0) destination.Write(EmptyGzip);
                destination.Flush();
                // As gzip does: the compressed file keeps the time of its last line. Without a date in the name that time
                // is the file's age for retention, and a file compressed late (after a full disk or a restart) must not be
                // kept the time limit over again. Set before the flush to disk, which then carries it too.
                File.SetLastWriteTimeUtc(destination.SafeFileHandle, lastWrite);
                FlushFileToDisk(destination);
            }
            File.Move(temporary, target, overwrite: true);
            // The rename too: until the directory is on the device, a power loss may undo it, and the deletion below
            // with it or not.
            FlushDirectoryToDisk(_naming.Directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SafeSelfLog.WriteLine("RollingJson sink: could not compress {0}: {1}", path, ex.Message);
            // Only our own: a .gz.tmp that could not be opened is another process's compression under way.
            if (created) TryDelete(temporary);
            return false;
        }
        // Compressed: the file is its .gz from now on, even if the plain copy cannot go yet (reported; a later pass
        // finds both and deletes the plain copy again).
        plainDeleted = TryDelete(path);
        return true;
    }

    /// <summary>Makes an existing .gz and its name durable before its plain copy is deleted (see <see cref="TryCompress"/>).</summary>
    bool TryFlushToDisk(string path)
    {
        try
        {
            // Write access only to be allowed the flush: nothing is written.
            using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1))
                FlushFileToDisk(file);
            FlushDirectoryToDisk(_naming.Directory);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SafeSelfLog.WriteLine("RollingJson sink: could not flush {0} to disk, its plain copy is kept: {1}", path, ex.Message);
            return false;
        }
    }

    static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SafeSelfLog.WriteLine("RollingJson sink: could not delete {0}: {1}", path, ex.Message);
            return false;
        }
    }
}
