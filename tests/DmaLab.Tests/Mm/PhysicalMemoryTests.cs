using DmaLab.Mm;

namespace DmaLab.Tests.Mm;

public class PhysicalMemoryTests
{
    static PhysicalMemory TwoBanks() => new([new MemRange(new PhysAddr(0x8000_0000), 1UL << 30), new MemRange(new PhysAddr(0x8_8000_0000), 1UL << 30)]);

    [Fact]
    public void UnwrittenDramReadsZeroAndCostsNothing()
    {
        var mem = TwoBanks();
        Span<byte> buf = stackalloc byte[64];
        buf.Fill(0xaa);
        Assert.Equal(MemAccess.Ok, mem.Read(new PhysAddr(0x8000_1000), buf));
        Assert.True(buf.ToArray().All(b => b == 0));
        Assert.Equal(0, mem.PopulatedPages);
    }

    [Fact]
    public void WriteAcrossPagesRoundTrips()
    {
        var mem = TwoBanks();
        var data = Enumerable.Range(0, 10000).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(MemAccess.Ok, mem.Write(new PhysAddr(0x8000_0ff0), data));
        var back = new byte[data.Length];
        Assert.Equal(MemAccess.Ok, mem.Read(new PhysAddr(0x8000_0ff0), back));
        Assert.Equal(data, back);
        Assert.Equal(4, mem.PopulatedPages);
    }

    [Fact]
    public void HoleAndOutOfRangeAreBusErrors()
    {
        var mem = TwoBanks();
        var buf = new byte[16];
        Assert.Equal(MemAccess.BusError, mem.Read(new PhysAddr(0x1_0000_0000), buf));
        Assert.Equal(MemAccess.BusError, mem.Write(new PhysAddr(0xC000_0000 - 8), buf)); // straddles the end of bank 0
        Assert.Equal(MemAccess.BusError, mem.Read(new PhysAddr(0xFF_FFFF_FFF0), buf));
        Assert.False(mem.TryReadU64(new PhysAddr(0x10), out _));
    }

    [Fact]
    public void OverlappingCopyIsMemmove()
    {
        var mem = TwoBanks();
        var data = Enumerable.Range(0, 9000).Select(i => (byte)i).ToArray();
        var a = new PhysAddr(0x8000_0000);
        mem.Write(a, data);
        Assert.Equal(MemAccess.Ok, mem.Copy(a + 100, a, (ulong)data.Length));
        var back = new byte[data.Length];
        mem.Read(a + 100, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public void WordAccessSeesDiscardAndPageAliasing()
    {
        var mem = TwoBanks();
        var a = new PhysAddr(0x8000_2008);
        var alias = a + (64UL << 12);          // same slot of the word-page cache
        Assert.True(mem.TryWriteU64(a, 0x1122_3344_5566_7788));
        Assert.True(mem.TryWriteU64(alias, 0xdead_beef));
        Assert.True(mem.TryReadU64(a, out ulong v) && v == 0x1122_3344_5566_7788);
        Assert.True(mem.TryReadU32(a + 4, out uint hi) && hi == 0x1122_3344);
        Assert.True(mem.TryReadU64(alias, out v) && v == 0xdead_beef);
        // bytes written another way are seen by the word path, and the reverse
        mem.Write(a, new byte[] { 1, 0, 0, 0, 0, 0, 0, 0 });
        Assert.True(mem.TryReadU64(a, out v) && v == 1);
        Assert.True(mem.TryWriteU32(a + 8, 0xa5a5_a5a5));
        var b = new byte[4];
        mem.Read(a + 8, b);
        Assert.Equal(new byte[] { 0xa5, 0xa5, 0xa5, 0xa5 }, b);

        mem.Discard(new PhysAddr(0x8000_2000), 0x1000);
        Assert.True(mem.TryReadU64(a, out v) && v == 0);
        Assert.True(mem.TryReadU64(alias, out v) && v == 0xdead_beef);
        Assert.True(mem.TryWriteU64(a, 42));
        Assert.True(mem.TryReadU64(a, out v) && v == 42);
        // misaligned and out-of-DRAM words still fail after the page is cached
        Assert.False(mem.TryReadU64(a + 4, out _));
        Assert.False(mem.TryWriteU64(a + 1, 0));
        Assert.False(mem.TryReadU32(new PhysAddr(0x8000_0000 + (1UL << 30)), out _));
    }

    [Fact]
    public void NonOverlappingCopyPopulatesLikeReadThenWrite()
    {
        var mem = TwoBanks();
        var src = new PhysAddr(0x8000_0000);
        var dst = new PhysAddr(0x8_8000_0800);
        mem.Fill(dst, 0x2000, 0x77);
        long before = mem.PopulatedPages;
        // the source was never written: the (already populated) destination reads zero afterwards; copying into an
        // unwritten page populates it, as Read then Write would
        Assert.Equal(MemAccess.Ok, mem.Copy(dst, src, 0x2000));
        var back = new byte[0x2000];
        mem.Read(dst, back);
        Assert.True(back.All(x => x == 0));
        Assert.Equal(before, mem.PopulatedPages);
        Assert.Equal(MemAccess.Ok, mem.Copy(new PhysAddr(0x8000_5000), dst, 0x10));
        Assert.Equal(before + 1, mem.PopulatedPages);
        Assert.Equal(MemAccess.BusError, mem.Copy(new PhysAddr(0x8000_0000 + (1UL << 30) - 8), src, 16));
    }
}
