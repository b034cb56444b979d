using DmaLab.DmaIommu;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// dma_map_benchmark behind an ARM SMMUv3 (LPAE stage 1): one 4 KiB streaming map+unmap as iommu-dma does it
/// (Linux: drivers/iommu/dma-iommu.c, __iommu_dma_map(): iommu_dma_alloc_iova() + iommu_map(); __iommu_dma_unmap():
/// iommu_unmap_fast() with a gather, iommu_iotlb_sync() unless the gather is queued, iommu_dma_free_iova()).
/// Strict: the unmap invalidates and syncs at once. Lazy (DMA-FQ): the IOVA waits in the flush queue and the
/// invalidation happens once per full ring or timer, as iommu.strict=0 does.
/// </summary>
internal sealed class IommuDmaScenario(bool strict) : BenchScenario
{
    /// <summary>The flush-all callback the flush queue calls (Linux: iommu_dma_flush_iotlb_all()).</summary>
    sealed class DomainFlush(IommuDomain domain) : IIotlbFlushAll
    {
        public void FlushIotlbAll() => IommuCore.FlushIotlbAll(domain);
    }

    BenchIommuMachine _m = null!;
    IommuDmaIovaAllocator _cookie = null!;
    IommuDmaMaster _master = null!;

    public override string Name => strict ? "iommu-dma-strict-map-unmap-4k" : "iommu-dma-lazy-map-unmap-4k";

    public override string Description => strict
        ? "iommu-dma map+unmap 4 KiB on SMMUv3/LPAE, strict (CMD_TLBI_NH_VA + CMD_SYNC per unmap)"
        : "iommu-dma map+unmap 4 KiB on SMMUv3/LPAE, lazy (IOVA to the flush queue, flush-all per full ring)";

    public override void Boot(ulong seed)
    {
        _m = new BenchIommuMachine(strict, smmuV2: false, seed);
        var d = _m.Domain;
        if (d.Type != (strict ? IommuDomainType.Dma : IommuDomainType.DmaFq))
            throw new InvalidOperationException($"bench expected a {(strict ? "DMA" : "DMA-FQ")} default domain, got {d.Type.SysfsName()}");
        var g = d.Geometry;
        _cookie = new IommuDmaIovaAllocator(d.PgsizeBitmap, g.ApertureStart, g.ApertureEnd, g.ForceAperture, clock: _m.Clock);
        if (!strict) _cookie.EnableFlushQueue(new DomainFlush(d));
        _master = _cookie.Attach(_m.Master);
    }

    public override long Run(int ops)
    {
        long ok = 0;
        var core = _m.Core;
        var dom = _m.Domain;
        var cookie = _cookie;
        var master = _master;
        ulong phys = _m.Buffer.Value, mask = _m.Master.DmaMask;
        ulong granuleMask = cookie.Granule - 1;
        ulong size = cookie.MapSize(phys, PhysAddr.PageSize);
        for (int i = 0; i < ops; i++)
        {
            // __iommu_dma_map()
            var dma = cookie.MapPage(master, phys, PhysAddr.PageSize, mask, 0);
            if (dma == DmaLab.Dma.DmaAddr.MappingError) continue;
            ulong iova = dma.Value & ~granuleMask;
            if (core.Map(dom, iova, phys & ~granuleMask, size, IommuProt.Read | IommuProt.Write) != 0)
            {
                cookie.Unmap(dma, PhysAddr.PageSize, 0);
                continue;
            }
            // __iommu_dma_unmap()
            var gather = IommuIotlbGather.Init();
            gather.Queued = cookie.Fq is not null;
            ulong unmapped = core.UnmapFast(dom, iova, size, ref gather);
            if (!gather.Queued) IommuCore.IotlbSync(dom, ref gather);
            cookie.Unmap(dma, PhysAddr.PageSize, 0, gather.FreedTablePages);
            if (unmapped == size) ok++;
        }
        return ok;
    }

    /// <summary>IOVA allocations the cookie's allocator served (rcache hits plus tree allocations).</summary>
    public override long ModelCount => _cookie.Iovad.Stats.RcacheHits + _cookie.Iovad.Stats.TreeAllocs;
}
