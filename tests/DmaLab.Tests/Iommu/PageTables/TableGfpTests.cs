using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Tests.Iommu.PageTables;

/// <summary>
/// Table pages of narrow walkers come from a reachable zone (io-pgtable-arm-v7s.c ARM_V7S_TABLE_GFP_DMA,
/// tegra-smmu.c __GFP_DMA, rockchip-iommu.c v1 GFP_DMA32) and a table the walker cannot reach is refused.
/// </summary>
public class TableGfpTests
{
    sealed class GfpRecorder(IPageAllocator inner) : IPageAllocator
    {
        public readonly List<Gfp> Seen = new();
        public bool TryAllocPages(int order, Gfp gfp, out PhysAddr page) { Seen.Add(gfp); return inner.TryAllocPages(order, gfp, out page); }
        public void FreePages(PhysAddr page, int order) => inner.FreePages(page, order);
        public long PagesInUse => inner.PagesInUse;
    }

    static IoPgtableConfig Cfg(ulong pgsizes, int oas) => new() { PgsizeBitmap = pgsizes, Ias = 32, Oas = oas, Tlb = new RecordingFlushOps() };

    [Theory]
    [InlineData(IoPgtableFormat.ArmV7s, 32, Gfp.Dma32)]
    [InlineData(IoPgtableFormat.Msm, 32, Gfp.Dma32)]
    [InlineData(IoPgtableFormat.Omap, 32, Gfp.Dma32)]
    [InlineData(IoPgtableFormat.Rockchip, 32, Gfp.Dma32)]
    [InlineData(IoPgtableFormat.Tegra, 34, Gfp.Dma)]
    [InlineData(IoPgtableFormat.Exynos, 32, Gfp.Dma32)]
    public void EveryTableLevelAsksForTheWalkersZone(IoPgtableFormat format, int oas, Gfp zone)
    {
        var mem = new PhysicalMemory([new MemRange(PgtableFixture.PoolBase, 4096UL << PhysAddr.PageShift)]);
        var pages = new GfpRecorder(new SimplePageAllocator(PgtableFixture.PoolBase, 4096));
        var cfg = Cfg(0x1000, oas);
        var t = IoPgtableRegistry.Alloc(format, cfg, mem, pages);
        Assert.Equal(0, t.MapPages(0x1234_5000, 0x4100_0000, 0x1000, 1, IommuProt.Read | IommuProt.Write, out _));
        Assert.Equal(0x4100_0000UL, t.IovaToPhys(0x1234_5000));
        Assert.True(pages.Seen.Count >= 2);   // the root and a second-level table
        Assert.All(pages.Seen, g => Assert.Equal(zone, g & (Gfp.Dma | Gfp.Dma32)));
    }

    [Fact]
    public void AShortDescriptorTableAbove4GiBIsRefused()
    {
        var high = new PhysAddr(0x1_0000_0000);
        var mem = new PhysicalMemory([new MemRange(high, 64UL << PhysAddr.PageShift)]);
        var pages = new SimplePageAllocator(high, 64);
        Assert.Throws<InvalidOperationException>(() => IoPgtableRegistry.Alloc(IoPgtableFormat.ArmV7s, Cfg(0x1000, 32), mem, pages));
        Assert.Equal(0, pages.PagesInUse);
    }
}
