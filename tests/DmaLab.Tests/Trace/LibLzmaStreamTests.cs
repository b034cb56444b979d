using DmaLab.Trace;
using SharpCompress.Compressors.Xz;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>
/// The native .xz decoder (system liblzma) must give exactly the managed decoder's bytes, decode concatenated
/// streams as `xz -d` does, and turn corrupt or cut input into an error, never into silently shorter text.
/// Skipped where liblzma cannot be loaded (the reader then uses the managed decoder, tested everywhere else).
/// </summary>
public sealed class LibLzmaStreamTests
{
    static byte[] Managed(byte[] xz)
    {
        using var s = new XZStream(new MemoryStream(xz));
        var o = new MemoryStream();
        s.CopyTo(o);
        return o.ToArray();
    }

    static byte[] Native(byte[] xz)
    {
        using var s = LibLzmaStream.TryOpen(new MemoryStream(xz)) ?? throw new InvalidOperationException("no liblzma");
        var o = new MemoryStream();
        var buf = new byte[777]; // an odd size so output chunks end mid-line and mid-block
        int n;
        while ((n = s.Read(buf, 0, buf.Length)) > 0) o.Write(buf, 0, n);
        return o.ToArray();
    }

    [Theory]
    [InlineData(TraceSamples.H100)]
    [InlineData(TraceSamples.VtdStrict)]
    [InlineData(TraceSamples.VtdSwiotlb)]
    [InlineData(TraceSamples.Smmuv3Strict)]
    [InlineData("h100-cuda-pinned.multiblock.trace.xz")] // several blocks: decoded in parallel by lzma_stream_decoder_mt
    public void SameBytesAsTheManagedDecoder(string name)
    {
        Assert.SkipUnless(LibLzmaStream.Available, "liblzma is not loadable here");
        var xz = File.ReadAllBytes(TraceSamples.PathOf(name));
        var expected = Managed(xz);
        Assert.True(expected.Length > 100_000);
        Assert.Equal(expected, Native(xz));
    }

    [Fact]
    public void ConcatenatedStreamsDecodeAsOne()
    {
        Assert.SkipUnless(LibLzmaStream.Available, "liblzma is not loadable here");
        var a = File.ReadAllBytes(TraceSamples.PathOf(TraceSamples.H100));
        var b = File.ReadAllBytes(TraceSamples.PathOf(TraceSamples.VtdStrict));
        Assert.Equal([.. Managed(a), .. Managed(b)], Native([.. a, .. b]));
    }

    [Fact]
    public void CorruptAndTruncatedInputAreErrors()
    {
        Assert.SkipUnless(LibLzmaStream.Available, "liblzma is not loadable here");
        var good = File.ReadAllBytes(TraceSamples.PathOf(TraceSamples.VtdStrict));
        var corrupt = (byte[])good.Clone();
        for (int i = 2000; i < 2400; i++) corrupt[i] ^= 0x5A;
        Assert.Contains("LZMA_DATA_ERROR", Assert.Throws<InvalidDataException>(() => Native(corrupt)).Message);
        Assert.Contains("LZMA_BUF_ERROR", Assert.Throws<InvalidDataException>(() => Native(good[..(good.Length / 2)])).Message);
        byte[] notXz = [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0, 0xff, 0xff, 0, 1, 2, 3];
        Assert.Contains("LZMA_", Assert.Throws<InvalidDataException>(() => Native(notXz)).Message);
    }

    [Fact]
    public void TheReaderGivesTheSameRecordsWithEitherDecoder()
    {
        static List<string> Records(FtraceReaderOptions o)
        {
            using var r = TraceSamples.Open(TraceSamples.Smmuv3Strict, o);
            var list = new List<string>();
            while (r.Read()) list.Add($"{r.Current.Line} {r.Current.Kind} {r.Current.TimestampNs} {r.Current.DmaAddr:x} {r.Current.Size}");
            list.Add($"lines {r.Stats.Lines} events {r.Stats.EventLines} malformed {r.Stats.MalformedLines} bytes {r.Stats.TextBytes}");
            return list;
        }
        Assert.Equal(Records(new FtraceReaderOptions { ManagedXz = true }), Records(new FtraceReaderOptions()));
    }
}
