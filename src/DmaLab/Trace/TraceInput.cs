using System.IO.Compression;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Trace;

/// <summary>
/// The first layer of every trace input: a compression recognised by its magic number (.xz, .gz; stdin works too,
/// since nothing is sought), decoded as a stream, and what the decoded content is — ftrace text, or a trace-cmd
/// .dat (its magic "\x17\x08\x44tracing").
/// </summary>
internal static class TraceInput
{
    static readonly byte[] XzMagic = [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00];

    /// <summary>
    /// The decoded content of <paramref name="raw"/> and the compression it had ("none", "xz", "gzip"). Its first
    /// <see cref="PeekBytes"/> bytes (or all of it when shorter) are in <paramref name="head"/> and are still to be
    /// read from the returned stream.
    /// </summary>
    public static Stream Open(Stream raw, string source, bool managedXz, out string compression, out byte[] head, out int headLength)
    {
        var first = ReadHead(raw, source, PeekBytes, out int n);
        var replay = new PrefixedStream(first, n, raw);
        var span = first.AsSpan(0, n);
        Stream content;
        if (span.StartsWith(XzMagic))
        {
            compression = "xz";
            try { content = (managedXz ? null : LibLzmaStream.TryOpen(replay)) ?? (Stream)new XZStream(replay); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new TraceFormatException(source, 0, 0, $"corrupt .xz header, expected an xz stream ({FirstLine(ex.Message)})", ex);
            }
        }
        else if (n >= 2 && first[0] == 0x1F && first[1] == 0x8B)
        {
            compression = "gzip";
            content = new GZipStream(replay, CompressionMode.Decompress);
        }
        else
        {
            compression = "none";
            head = first;
            headLength = n;
            return replay;
        }
        try { head = ReadHead(content, source, PeekBytes, out headLength); }
        catch (TraceFormatException ex)
        {
            throw new TraceFormatException(source, 0, 0, $"corrupt or truncated .{(compression == "xz" ? "xz" : "gz")} data ({FirstLine(ex.InnerException?.Message ?? ex.Message)})", ex);
        }
        return new PrefixedStream(head, headLength, content);
    }

    /// <summary>Bytes of decoded content peeked at (enough for the trace-cmd magic).</summary>
    public const int PeekBytes = 16;

    public static bool IsTraceCmd(ReadOnlySpan<byte> head) => head.StartsWith(TraceCmd.TraceCmdFile.Magic);

    static byte[] ReadHead(Stream s, string source, int count, out int n)
    {
        var head = new byte[Math.Max(count, PeekBytes)];
        n = 0;
        try
        {
            while (n < count)
            {
                int r = s.Read(head, n, count - n);
                if (r <= 0) break;
                n += r;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or InvalidDataException
                                       or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            throw new TraceFormatException(source, 0, 0, $"cannot read input ({FirstLine(ex.Message)})", ex);
        }
        return head;
    }

    internal static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }
}
