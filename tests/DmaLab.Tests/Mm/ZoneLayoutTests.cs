using DmaLab.Mm;
using DmaLab.Platform;
using static DmaLab.Tests.Mm.MmTestPlatforms;

namespace DmaLab.Tests.Mm;

public class ZoneLayoutTests
{
    static (ulong Start, ulong End) Span(MemorySystem m, ZoneType t) => (m.Zone(t).Range.Base.Value, m.Zone(t).Range.End.Value);

    [Fact]
    public void X86ZonesAre16MiBAnd4GiB()
    {
        var m = new MemorySystem(X86((0x1000, 0x7fe0_0000 - 0x1000 + 0x10_0000), (0x1_0000_0000, 2 * GiB)));
        Assert.Equal((0x1000UL, 16 * MiB), Span(m, ZoneType.Dma));
        Assert.Equal((16 * MiB, 1UL << 32), Span(m, ZoneType.Dma32));
        Assert.Equal((1UL << 32, 0x1_8000_0000UL), Span(m, ZoneType.Normal));
        Assert.Equal("Node 0, zone      DMA ", m.Zone(ZoneType.Dma).BuddyInfoLine()[..22]);
        m.PageAllocator.Validate();
    }

    [Fact]
    public void Arm64WithoutDmaRangesPutsAll32BitMemoryInZoneDma()
    {
        // 6.13+ arch/arm64/mm/init.c: zone_dma_limit capped to 4 GiB when DRAM starts below it; DMA32 then empty.
        var m = new MemorySystem(Arm64((0x8000_0000, 2 * GiB), (0x8_8000_0000, 2 * GiB)));
        Assert.Equal((0x8000_0000UL, 1UL << 32), Span(m, ZoneType.Dma));
        Assert.False(m.Zone(ZoneType.Dma32).IsPopulated);
        Assert.Equal(1UL << 32, m.DmaPhysLimit.Value);
        Assert.Equal(0x8_8000_0000UL >> 12, m.Zone(ZoneType.Normal).Buddy.StartPfn.Value + ((0x8_8000_0000UL - (1UL << 32)) >> 12));
        Assert.DoesNotContain("DMA32", m.PageAllocator.BuddyInfo());
    }

    [Fact]
    public void Arm64DmaRangesNarrowZoneDma()
    {
        // A Raspberry-Pi-4-like 30-bit bus: ZONE_DMA below 1 GiB, DMA32 the rest of 4 GiB.
        var spec = Arm64((0, 8 * GiB));
        spec.Devices.Add(new DeviceSpec { Name = "emmc2", DmaRanges = { new DmaRangeSpec { BusAddr = 0xc000_0000, CpuAddr = 0, Size = 1 * GiB } } });
        spec.Devices.Add(new DeviceSpec { Name = "pcie", DmaRanges = { new DmaRangeSpec { BusAddr = 0, CpuAddr = 0, Size = 3 * GiB } } });
        spec.Devices.Add(new DeviceSpec { Name = "off", Enabled = false, DmaRanges = { new DmaRangeSpec { CpuAddr = 0, Size = 16 * MiB } } });
        Assert.Equal(1 * GiB - 1, ZoneLayout.DtMaxDmaCpuAddress(spec));
        var m = new MemorySystem(spec);
        Assert.Equal((0UL, 1 * GiB), Span(m, ZoneType.Dma));
        Assert.Equal((1 * GiB, 4 * GiB), Span(m, ZoneType.Dma32));
        Assert.Equal((4 * GiB, 8 * GiB), Span(m, ZoneType.Normal));
    }

    [Fact]
    public void Arm64DramAbove4GiBIsAllZoneDma()
    {
        var m = new MemorySystem(Arm64((0x8_0000_0000, 1 * GiB)));
        Assert.Equal((0x8_0000_0000UL, 0x8_4000_0000UL), Span(m, ZoneType.Dma));
        Assert.False(m.Zone(ZoneType.Dma32).IsPopulated);
        Assert.False(m.Zone(ZoneType.Normal).IsPopulated);
    }

    [Theory]
    [InlineData(Gfp.Kernel, ZoneType.Normal)]
    [InlineData(Gfp.Kernel | Gfp.Dma32, ZoneType.Dma32)]
    [InlineData(Gfp.Kernel | Gfp.Dma, ZoneType.Dma)]
    [InlineData(Gfp.Movable, ZoneType.Normal)]
    public void GfpZone(Gfp gfp, ZoneType expected) => Assert.Equal(expected, GfpZones.HighestZone(gfp));

    [Fact]
    public void DmaAndDma32TogetherIsACallerBug() => Assert.Throws<ArgumentException>(() => GfpZones.HighestZone(Gfp.Dma | Gfp.Dma32));

    [Fact]
    public void X86FallbackOrderIsNormalDma32DmaAndDma32NeverUsesNormal()
    {
        var m = new MemorySystem(X86((0x10_0000, 32 * MiB - 0x10_0000), (0x1_0000_0000, 8 * MiB)));
        var pa = m.PageAllocator;
        var normal = Drain(pa, Gfp.Kernel, m.Zone(ZoneType.Normal));
        Assert.Equal(m.Zone(ZoneType.Normal).Buddy.ManagedPages, normal);
        // Normal is empty now: GFP_KERNEL falls back to DMA32, then to DMA.
        Assert.True(pa.TryAllocPages(0, Gfp.Kernel, out var p));
        Assert.Same(m.Zone(ZoneType.Dma32), pa.FindZone(p));
        Drain(pa, Gfp.Kernel, m.Zone(ZoneType.Dma32));
        Assert.True(pa.TryAllocPages(0, Gfp.Kernel, out p));
        Assert.Same(m.Zone(ZoneType.Dma), pa.FindZone(p));
        pa.Validate();

        var fresh = new MemorySystem(X86((0x10_0000, 32 * MiB - 0x10_0000), (0x1_0000_0000, 8 * MiB)));
        long served = 0;
        while (fresh.PageAllocator.TryAllocPages(0, Gfp.Kernel | Gfp.Dma32, out var q))
        {
            Assert.True(q.Value < 1UL << 32, $"GFP_DMA32 page {q} above 4 GiB");
            served++;
        }
        Assert.Equal(fresh.Zone(ZoneType.Dma32).Buddy.ManagedPages + fresh.Zone(ZoneType.Dma).Buddy.ManagedPages, served);
        var w = Assert.Single(fresh.PageAllocator.Warnings);
        Assert.Equal("page allocation failure: order:0, mode:0xcc4(GFP_KERNEL|GFP_DMA32), nodemask=(null)", w.Message);
    }

    static long Drain(PageAllocator pa, Gfp gfp, MemZone zone)
    {
        long n = 0;
        while (zone.Buddy.FreePages > 0)
        {
            Assert.True(pa.TryAllocPages(0, gfp, out var p));
            Assert.Same(zone, pa.FindZone(p));
            n++;
        }
        return n;
    }

    [Fact]
    public void NoWarnSuppressesTheWarningAndZeroClearsRealBytes()
    {
        var m = new MemorySystem(X86((0x10_0000, 16 * MiB - 0x10_0000)));
        var pa = m.PageAllocator;
        Assert.False(pa.TryAllocPages(10, Gfp.Kernel | Gfp.Dma32 | Gfp.NoWarn, out _) && false);
        Assert.True(pa.TryAllocPages(0, Gfp.Kernel, out var p));
        m.Memory.Fill(p, PhysAddr.PageSize, 0xab);
        pa.FreePages(p, 0);
        Assert.True(pa.TryAllocPages(0, Gfp.Kernel | Gfp.Zero, out var z));
        Assert.Equal(p, z);                                  // the freed page comes straight back (list head)
        var buf = new byte[PhysAddr.PageSize];
        m.Memory.Read(z, buf);
        Assert.All(buf, b => Assert.Equal(0, b));
        while (pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out _)) { }
        Assert.Empty(pa.Warnings);
        Assert.False(pa.TryAllocPages(0, Gfp.Kernel, out _));
        Assert.Single(pa.Warnings);
    }
}
