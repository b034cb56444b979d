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
}
