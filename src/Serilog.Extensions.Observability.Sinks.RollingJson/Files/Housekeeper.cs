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

    /// <summary>True when there is anything for a run to do.</summary>
    public bool HasWork => _compress || _countLimit is not null || _timeLimit is not null || _bytesLimit is not null;

    public void Schedule()
    {
        if (!HasWork) return;
        lock (_sync)
        {
            if (_running)
            {
                _again = true;
                return;
            }
            _running = true;
            _idle.Reset();
        }
        // A dedicated thread: gzip of a 100 MB file must not hold a pool thread the application needs.
        var thread = new Thread(Run) { IsBackground = true, Name = "Serilog RollingJson housekeeping" };
        thread.Start();
    }

    public bool WaitIdle(TimeSpan timeout) => _idle.Wait(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);

    void Run()
    {
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

    readonly record struct Entry(string Path, DateTime Period, int Sequence, bool Compressed, bool IsCurrent);

    internal void RunOnce()
    {
        if (!Directory.Exists(_naming.Directory)) return;
        var current = _currentPath();
        var entries = Scan(current);
        // The writer moved to a new file while we looked: the scan may show that file as a rolled one (and retention
        // would delete the live file). Its opening scheduled another run, which sees it as current.
        if (!string.Equals(_currentPath(), current, StringComparison.Ordinal)) return;
        var currentEntry = entries.Find(e => e.IsCurrent);

        if (_compress)
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                if (entry.Compressed || entry.IsCurrent) continue;
                // Without a fixed name, only files older than the current one are rolled; anything newer (a clock
                // that went back) is left alone.
                if (current is not null && _naming.FixedCurrentPath is null && currentEntry.Path is not null && Compare(entry, currentEntry) >= 0)
                    continue;
                if (current is null && _naming.FixedCurrentPath is null) continue;
                if (TryCompress(entry.Path))
                    entries[i] = entry with { Path = FileNaming.CompressedPath(entry.Path), Compressed = true };
            }
            // A plain file whose .gz was already there (a crash between naming the .gz and deleting the plain file) is
            // now that .gz twice: one file, which must count once for retention, or a file it should keep is deleted.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            entries.RemoveAll(e => !seen.Add(e.Path));
        }

        // Newest first: the current file, then by period and sequence.
        entries.Sort(static (a, b) => a.IsCurrent != b.IsCurrent ? (a.IsCurrent ? -1 : 1) : Compare(b, a));

        var now = _time.GetUtcNow();
        long totalBytes = 0;
        var kept = 0;
        foreach (var entry in entries)
        {
            long length;
            try
            {
                length = new FileInfo(entry.Path).Length;
            }
            catch (IOException)
            {
                continue;
            }
            if (entry.IsCurrent)
            {
                // The current file keeps growing after this pass: leave it room up to its size limit.
                kept++;
                totalBytes += _fileSizeLimit is { } sizeLimit && sizeLimit > length ? sizeLimit : length;
                continue;
            }
            var delete = (_countLimit is { } count && kept >= count)
                || (_bytesLimit is { } bytes && totalBytes + length > bytes)
                || (_timeLimit is { } age && now - ContentEnd(entry) > age);
            if (delete)
            {
                TryDelete(entry.Path);
                continue;
            }
            kept++;
            totalBytes += length;
        }
    }

    List<Entry> Scan(string? current)
    {
        var entries = new List<Entry>();
        foreach (var path in Directory.EnumerateFiles(_naming.Directory))
        {
            var fileName = Path.GetFileName(path);
            if (_naming.FixedCurrentPath is not null && string.Equals(path, _naming.FixedCurrentPath, StringComparison.Ordinal))
            {
                entries.Add(new Entry(path, DateTime.MaxValue, int.MaxValue, false, true));
                continue;
            }
            if (!_naming.TryParse(fileName, out var period, out var sequence, out var compressed)) continue;
            var isCurrent = current is not null && string.Equals(path, current, StringComparison.Ordinal);
            entries.Add(new Entry(path, period, sequence, compressed, isCurrent));
        }
        return entries;
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

    bool TryCompress(string path)
    {
        var target = FileNaming.CompressedPath(path);
        var temporary = target + ".tmp";
        try
        {
            DateTime lastWrite;
            using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024))
            {
                lastWrite = File.GetLastWriteTimeUtc(source.SafeFileHandle);
                using var destination = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
                using (var gzip = new GZipStream(destination, CompressionLevel.Fastest, leaveOpen: true))
                    source.CopyTo(gzip);
                // For no input GZipStream writes nothing, and a zero-byte .gz is not a gzip file (zcat, gzip -t and
                // shippers reject it): an empty rolled file gets the gzip member of nothing instead.
                if (destination.Length == 0) destination.Write(EmptyGzip);
            }
            // As gzip does: the compressed file keeps the time of its last line. Without a date in the name that time is
            // the file's age for retention, and a file compressed late (after a full disk or a restart) must not be
            // kept the time limit over again.
            File.SetLastWriteTimeUtc(temporary, lastWrite);
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SafeSelfLog.WriteLine("RollingJson sink: could not compress {0}: {1}", path, ex.Message);
            TryDelete(temporary);
            return false;
        }
        // Compressed: the file is its .gz from now on, even if the plain copy cannot go yet (reported; a later pass
        // compresses and deletes it again).
        TryDelete(path);
        return true;
    }

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SafeSelfLog.WriteLine("RollingJson sink: could not delete {0}: {1}", path, ex.Message);
        }
    }
}
