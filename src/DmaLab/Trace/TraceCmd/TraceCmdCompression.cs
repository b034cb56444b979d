using System.IO.Compression;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// The compression algorithms a trace-cmd v7 file names in its header ("zstd", "zlib"; "none" = not compressed) and
/// uses for compressed sections and per-CPU chunks (trace-cmd.dat.v7(5), COMPRESSION FORMAT). zstd is decoded by
/// ZstdSharp (a managed port of the reference library), zlib (RFC 1950, as zlib's compress2() writes it) by
/// System.IO.Compression.
/// </summary>
internal sealed class TraceCmdCompression : IDisposable
{
    readonly string _name;
    ZstdSharp.Decompressor? _zstd;

    TraceCmdCompression(string name) => _name = name;

    public string Name => _name;

    /// <summary>A decoder for <paramref name="name"/>, or null when the name is not one we can decode.</summary>
    public static TraceCmdCompression? For(string name) => name is "zstd" or "zlib" ? new TraceCmdCompression(name) : null;

    /// <summary>Decodes <paramref name="src"/> into exactly <paramref name="dst"/>. Throws <see cref="InvalidDataException"/>
    /// when the data is corrupt or does not decode to exactly that many bytes.</summary>
    public void Decompress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int n;
        if (_name == "zstd")
        {
            _zstd ??= new ZstdSharp.Decompressor();
            try { n = _zstd.Unwrap(src, dst); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new InvalidDataException($"corrupt zstd data ({ex.Message})", ex);
            }
        }
        else
        {
            unsafe
            {
                fixed (byte* p = src)
                {
                    using var ms = new UnmanagedMemoryStream(p, src.Length);
                    using var z = new ZLibStream(ms, CompressionMode.Decompress);
                    n = 0;
                    try
                    {
                        while (n < dst.Length)
                        {
                            int r = z.Read(dst[n..]);
                            if (r <= 0) break;
                            n += r;
                        }
                        if (n == dst.Length && z.Read(stackalloc byte[1]) > 0) n++;
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        throw new InvalidDataException($"corrupt zlib data ({ex.Message})", ex);
                    }
                }
            }
        }
        if (n != dst.Length) throw new InvalidDataException($"{_name} data decodes to {(n > dst.Length ? "more than" : "")} {n} bytes, expected {dst.Length}");
    }

    public void Dispose() => _zstd?.Dispose();
}
