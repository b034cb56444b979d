namespace DmaLab.Trace;

/// <summary>
/// The input cannot be read as an ftrace text trace at all (binary file, trace-cmd .dat, corrupt compression,
/// I/O failure). The message is one line naming the file, where (line or byte offset) and what was expected, ready
/// for the CLI to print before exiting with status 2. Malformed single lines are not exceptions: they are counted in
/// <see cref="TraceReadStats"/>.
/// </summary>
public sealed class TraceFormatException : Exception
{
    public string InputName { get; }
    /// <summary>Line number (1-based) where the problem was found, or 0 when only a byte offset is known.</summary>
    public long Line { get; }
    /// <summary>Offset in the (decompressed) text where the problem was found, or -1 when unknown.</summary>
    public long Offset { get; }

    public TraceFormatException(string source, long line, long offset, string what, Exception? inner = null)
        : base(Compose(source, line, offset, what), inner)
    {
        InputName = source;
        Line = line;
        Offset = offset;
    }

    static string Compose(string source, long line, long offset, string what)
    {
        string where = line > 0 ? $"line {line}" : offset >= 0 ? $"offset {offset}" : "start";
        return $"{source}: {where}: {what}";
    }
}
