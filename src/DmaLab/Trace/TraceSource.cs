using DmaLab.Trace.TraceCmd;

namespace DmaLab.Trace;

/// <summary>
/// Opens any trace capture as an <see cref="ITraceRecordSource"/> by its content, not its name: plain, .xz or .gz;
/// inside, ftrace text (tracefs trace / trace_pipe, `trace-cmd report`) read by <see cref="FtraceReader"/> with its
/// read-ahead workers, or a trace-cmd .dat (magic "\x17\x08\x44tracing") read by <see cref="TraceCmdReader"/>. A .dat
/// needs random access: a plain seekable file is read in place, anything else (stdin, a compressed .dat) is first
/// copied to a temporary file that is deleted when the source is disposed.
/// </summary>
public static class TraceSource
{
    /// <param name="stream">the raw input; the source owns and disposes it</param>
    /// <param name="sourceName">file name for messages</param>
    public static ITraceRecordSource Open(Stream stream, string sourceName, FtraceReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var o = options ?? new FtraceReaderOptions();
        long length = FtraceReader.LengthOf(stream);
        var counted = new CountingStream(stream);
        Stream content;
        string compression;
        byte[] head;
        int headLength;
        try { content = TraceInput.Open(counted, sourceName, o.ManagedXz, out compression, out head, out headLength); }
        catch { counted.Dispose(); throw; }
        if (!TraceInput.IsTraceCmd(head.AsSpan(0, headLength)))
        {
            try { return FtraceReadAhead.OpenOwned(new FtraceReader(counted, length, content, compression, sourceName, o)); }
            catch { content.Dispose(); throw; }
        }
        if (compression == "none" && stream.CanSeek)
            return new TraceCmdReader(stream, sourceName, o);
        return new TraceCmdReader(Spool(content, sourceName, compression), sourceName, o, compression);
    }

    static FileStream Spool(Stream content, string sourceName, string compression)
    {
        FileStream? tmp = null;
        try
        {
            tmp = new FileStream(Path.Combine(Path.GetTempPath(), $"dmalab-{Guid.NewGuid():N}.dat"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            content.CopyTo(tmp, 1 << 16);
            tmp.Position = 0;
            return tmp;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            tmp?.Dispose();
            if (ex is TraceFormatException) throw;
            string what = compression == "none" ? "cannot read the .dat input" : $"corrupt or truncated .{(compression == "xz" ? "xz" : "gz")} data around a .dat file";
            throw new TraceFormatException(sourceName, 0, tmp is null ? -1 : 0, $"{what} ({TraceInput.FirstLine(ex.Message)})", ex);
        }
        finally { content.Dispose(); }
    }
}
