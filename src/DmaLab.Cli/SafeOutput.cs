namespace DmaLab.Cli;

/// <summary>
/// Every file a command writes goes through here. A file is written to a new temporary file in its own directory
/// (created exclusively, so a planted link at that name is not followed) and renamed over the target only when it
/// is complete: an error, a full disk or a crash leaves the previous file whole, never a truncated or partial one.
/// An existing target that is a symbolic link is refused, not written through. Files that belong together (a
/// run's report.json and report.html) are committed together under a lock in their directory, so two runs into one
/// directory leave the pair of one of them. <see cref="Create"/> checks the place before the command's long work
/// starts (the input is checked too before anything is replaced: nothing is renamed until the work succeeded).
/// </summary>
public sealed class SafeOutput : IDisposable
{
    readonly string _target, _temp;
    FileStream? _stream;
    bool _committed;

    SafeOutput(string target)
    {
        _target = target;
        string dir = Path.GetDirectoryName(target)!;
        _temp = Path.Combine(dir, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        _stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
    }

    /// <summary>The temporary file's stream: write the whole content, then <see cref="Commit"/>.</summary>
    public Stream Stream => _stream ?? throw new InvalidOperationException("output already committed");

    /// <summary>Checks <paramref name="path"/> as an output (its directory is created; an existing symbolic link or
    /// directory there is refused) and opens its temporary file.</summary>
    public static SafeOutput Create(string path) => new(CheckPath(path));

    /// <summary>The full path of an output file, after the checks of <see cref="Create"/>.</summary>
    public static string CheckPath(string path)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new UsageException($"{path}: not a file path");
        Directory.CreateDirectory(dir);
        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
            throw new UsageException($"{path}: is a symbolic link (to {info.LinkTarget}); refusing to write through it");
        if (Directory.Exists(full)) throw new UsageException($"{path}: is a directory, expected a file to write");
        return full;
    }

    /// <summary>Flushes the temporary file to disk and renames it over the target.</summary>
    public void Commit()
    {
        if (_committed) return;
        var s = _stream ?? throw new InvalidOperationException("output already committed");
        s.Flush(flushToDisk: true);
        s.Dispose();
        _stream = null;
        CheckPath(_target); // a link planted while the command ran is refused too
        File.Move(_temp, _target, overwrite: true);
        _committed = true;
    }

    /// <summary>Without <see cref="Commit"/> the temporary file is removed and the target left as it was.</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
        if (!_committed) try { File.Delete(_temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Writes one whole text file safely.</summary>
    public static void WriteAllText(string path, string text) => WriteTogether((path, text));

    /// <summary>
    /// Writes files that belong together: each to its temporary file first, then (holding the lock of each directory
    /// involved, in name order) all renamed, so a reader or a second run never sees one file of this run beside
    /// another of a different run. Nothing is renamed when any write fails.
    /// </summary>
    public static void WriteTogether(params (string Path, string Text)[] files)
    {
        var outs = new List<SafeOutput>();
        try
        {
            foreach (var (path, text) in files)
            {
                var o = Create(path);
                outs.Add(o);
                using var w = new StreamWriter(o.Stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
                w.Write(text);
            }
            var locks = outs.Select(o => Path.GetDirectoryName(o._target)!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(Lock).ToList();
            try { foreach (var o in outs) o.Commit(); }
            finally { foreach (var l in locks) l.Dispose(); }
        }
        finally
        {
            foreach (var o in outs) o.Dispose();
        }
    }

    /// <summary>An exclusive lock on a directory's ".dmalab.lock" (an advisory lock: flock on Linux), waited for.</summary>
    static FileStream Lock(string dir)
    {
        string path = Path.Combine(dir, ".dmalab.lock");
        if (new FileInfo(path).LinkTarget is { } to) throw new UsageException($"{path}: is a symbolic link (to {to}); refusing to use it as a lock");
        for (int attempt = 0; ; attempt++)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (attempt < 600) { Thread.Sleep(50); }
        }
    }
}
