namespace DmaLab.Cli;

/// <summary>
/// Checks every path a command was given before any work starts: an input must be an existing, readable file; an
/// output directory is created (or must be a writable directory); an output file must not be a directory and its
/// directory must be writable. Each failure is a <see cref="UsageException"/> naming the option and the path.
/// </summary>
public static class CliPaths
{
    /// <summary>An input file (a trace, a platform file, a DTB). "-" is stdin when <paramref name="stdin"/> allows it.</summary>
    public static void InputFile(string what, string path, bool stdin = false)
    {
        if (stdin && path == "-") return;
        if (path.Length == 0) throw new UsageException($"{what}: empty path");
        if (Directory.Exists(path)) throw new UsageException($"{what} {path}: is a directory, expected a file");
        if (!File.Exists(path)) throw new UsageException($"{what} {path}: no such file");
        try { using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{what} {path}: cannot be read ({ErrorText.Reason(e)})");
        }
    }

    /// <summary>An output directory: created when missing, and proven writable by creating (and deleting) a file in it.</summary>
    public static void OutputDirectory(string option, string path)
    {
        if (path.Length == 0) throw new UsageException($"{option}: empty path");
        if (File.Exists(path)) throw new UsageException($"{option} {path}: is a file, expected a directory");
        try { Directory.CreateDirectory(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new UsageException($"{option} {path}: cannot create the directory ({Reason(e)})");
        }
        Probe(option, path, Path.Combine(path, $".dmalab-write-check-{Environment.ProcessId}"));
    }

    /// <summary>An output file: not a directory; its directory is created when missing and must be writable. An
    /// existing file is replaced.</summary>
    public static void OutputFile(string option, string path)
    {
        if (path.Length == 0) throw new UsageException($"{option}: empty path");
        if (Directory.Exists(path)) throw new UsageException($"{option} {path}: is a directory, expected a file name");
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        if (File.Exists(dir)) throw new UsageException($"{option} {path}: {dir} is a file, not a directory");
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new UsageException($"{option} {path}: cannot create its directory {dir} ({Reason(e)})");
        }
        if (File.Exists(path))
        {
            try { using var s = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"{option} {path}: cannot be written ({Reason(e)})");
            }
        }
        else Probe(option, path, path);
    }

    static void Probe(string option, string shown, string file)
    {
        try
        {
            using var s = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {shown}: cannot be written ({Reason(e)})");
        }
    }

    static string Reason(Exception e) => e switch
    {
        NotSupportedException => "not a valid path",
        // Parents are created as needed, so "not found" here means the file system takes no new entries (/proc, /sys).
        FileNotFoundException or DirectoryNotFoundException => "the file system there takes no new files",
        _ => ErrorText.Reason(e),
    };
}
