using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Iommu.Hardware;

/// <summary>
/// Stale-translation hits (TranslationUnit.Stale): a device access after a lazy unmap and before the flush queue's
/// invalidation is served by the IOTLB and counted, with its bytes and window; after the flush it faults; a strict
/// domain invalidates inside the unmap, so the same access faults at once and nothing is counted.
/// </summary>
public class StaleTranslationTests
{
    const string Nvme = "0000:00:04.0";

    static (Machine M, Device Dev, DmaAddr Dma, PhysAddr Page) MapAndTouch(IommuPolicy policy)
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("x86-q35"), new MachineOptions { Policy = policy, Seed = 7 });
        var dev = m.Device(Nvme);
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var page));
        m.Memory.Memory.Fill(page, 4096, 0x3c);
        var dma = m.Dma.MapPage(0, dev, page, 4096, DmaDirection.ToDevice);
        Assert.False(m.Dma.MappingError(dev, dma));
        // The device reads the buffer: the walk fills the IOTLB.
        Assert.True(m.Engine(dev).Read(dma, new byte[4096]).Ok);
        return (m, dev, dma, page);
    }

    static DmaLab.Iommu.Hardware.TranslationUnit Unit(Machine m) => Assert.Single(m.Iommu.Instances).Hardware;

    [Fact]
    public void Lazy_access_between_unmap_and_flush_is_a_stale_hit_then_faults_after_the_flush()
    {
        var (m, dev, dma, _) = MapAndTouch(IommuPolicy.Lazy);
        var tu = Unit(m);
        var fq = m.IommuDma.StateOf(dev)!.Cookie.Fq;
        Assert.NotNull(fq);
        m.Dma.UnmapPage(0, dev, dma, 4096, DmaDirection.ToDevice);
        Assert.Equal(1, fq!.Stats.IovasHeld);
        m.Clock.Advance(5_000);

        // Unmapped in the page table, not yet invalidated: the IOTLB still translates, and the model counts it.
        var buf = new byte[1024];
        var r = m.Engine(dev).Read(dma + 0x200, buf);
        Assert.True(r.Ok);
        Assert.All(buf, b => Assert.Equal(0x3c, b));
        Assert.Equal(1, tu.Stale.Hits);
        Assert.Equal(1024UL, tu.Stale.Bytes);
        Assert.True(tu.Stale.WindowMaxNs >= 5_000, $"window {tu.Stale.WindowMaxNs} ns");
        Assert.Equal(0L, tu.FaultCount);
        Assert.Equal(1, m.Stats().StaleHits);
        Assert.Equal(1024UL, m.Stats().StaleHitBytes);

        // fq_flush_timeout(): the whole-IOTLB invalidation; the next access walks the tables and faults.
        m.Clock.AdvanceTo(fq.TimerExpiryNs);
        Assert.True(fq.RunExpiredTimer());
        var after = m.Engine(dev).Read(dma, buf);
        Assert.Equal(DmaStatus.IommuFault, after.Status);
        Assert.Equal(1, tu.Stale.Hits);
        Assert.Equal(1L, tu.FaultCount);
    }

    [Fact]
    public void Strict_unmap_invalidates_at_once_so_the_access_faults_and_no_stale_hit_is_counted()
    {
        var (m, dev, dma, _) = MapAndTouch(IommuPolicy.Strict);
        var tu = Unit(m);
        m.Dma.UnmapPage(0, dev, dma, 4096, DmaDirection.ToDevice);
        var r = m.Engine(dev).Read(dma, new byte[64]);
        Assert.Equal(DmaStatus.IommuFault, r.Status);
        Assert.Equal(0, tu.Stale.Hits);
        Assert.Equal(0UL, tu.Stale.Bytes);
    }

    [Fact]
    public void A_live_mapping_next_to_a_lazy_unmap_is_checked_once_and_not_counted()
    {
        var (m, dev, dma, _) = MapAndTouch(IommuPolicy.Lazy);
        var tu = Unit(m);
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var other));
        var live = m.Dma.MapPage(0, dev, other, 4096, DmaDirection.ToDevice);
        Assert.True(m.Engine(dev).Read(live, new byte[16]).Ok);
        m.Dma.UnmapPage(0, dev, dma, 4096, DmaDirection.ToDevice);
        // The live entry is older than the unmap: its hit is checked against the tables, found current, not counted.
        long hits = m.Iommu.Instances[0].Hardware.Iotlb.Stats.Hits;
        Assert.True(m.Engine(dev).Read(live, new byte[16]).Ok);
        Assert.True(m.Engine(dev).Read(live, new byte[16]).Ok);
        Assert.Equal(hits + 2, tu.Iotlb.Stats.Hits);
        Assert.Equal(0, tu.Stale.Hits);
        Assert.Equal(tu.Iotlb.Generation, tu.Iotlb.LookupEntry(tu.ConfigOf(m.Iommu.Core.GetDevIommu(dev)!.Port).Tag, live.Value, false).Generation);
    }

    [Fact]
    public void Translate_without_a_length_counts_the_rest_of_the_page()
    {
        var (m, dev, dma, _) = MapAndTouch(IommuPolicy.Lazy);
        var tu = Unit(m);
        int port = m.Iommu.Core.GetDevIommu(dev)!.Port;
        m.Dma.UnmapPage(0, dev, dma, 4096, DmaDirection.ToDevice);
        Assert.True(tu.Translate(port, dma.Value + 0x100, false, out _));
        Assert.Equal(1, tu.Stale.Hits);
        Assert.Equal(4096UL - 0x100, tu.Stale.Bytes);
    }
}
