using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// dma_map_benchmark's loop over the DMA API on a machine without an IOMMU: dma_map_phys + dma_unmap_phys of one
/// 4 KiB page, DMA_BIDIRECTIONAL, for a coherent 64-bit PCI master. Plain dma-direct (Linux: kernel/dma/direct.h,
/// dma_direct_map_phys()), or with <c>swiotlb=force</c> every map bounces through the default pool
/// (kernel/dma/swiotlb.c, swiotlb_map() + swiotlb_tbl_unmap_single(), two 4 KiB copies).
/// </summary>
internal sealed class DmaDirectScenario(bool swiotlbForce) : BenchScenario
{
    DmaMapping _api = null!;
    Device _dev = null!;
    SwiotlbPool? _pool;
    PhysAddr _buf;

    public override string Name => swiotlbForce ? "swiotlb-map-unmap-4k" : "dma-direct-map-unmap-4k";

    public override string Description => swiotlbForce
        ? "dma_map_phys+dma_unmap_phys 4 KiB bidirectional, swiotlb=force (bounce copy both ways)"
        : "dma_map_phys+dma_unmap_phys 4 KiB bidirectional, dma-direct, coherent device";

    public override void Boot(ulong seed)
    {
        var sys = DmaSystem.Boot(BenchPlatform.Direct(swiotlbForce));
        _api = sys.Api;
        _dev = sys.Device(BenchPlatform.MasterName) ?? throw new InvalidOperationException("bench platform lost its master");
        _pool = sys.Swiotlb;
        if (swiotlbForce && _pool is null) throw new InvalidOperationException("swiotlb=force booted without a pool");
        _buf = BenchBuffers.Page(sys.Memory.PageAllocator, seed);
        // Real bytes in the page so the bounce copies move data, as the kernel's do.
        sys.Memory.Memory.Fill(_buf, PhysAddr.PageSize, 0x5a);
        // The model backs DRAM with host pages on first write. swiotlb hands out slots round-robin from the area's
        // index (swiotlb_search_pool_area()), so the loop walks the whole pool; back it now, as real DRAM always is,
        // so the measured loop does not count the host's first-touch allocations.
        if (_pool is not null) sys.Memory.Memory.Fill(_pool.Start, _pool.End.Value - _pool.Start.Value, 0xa5);
    }

    public override long Run(int ops)
    {
        long ok = 0;
        var api = _api;
        var dev = _dev;
        var buf = _buf;
        ulong poolStart = _pool?.Start.Value ?? 0, poolEnd = _pool?.End.Value ?? 0;
        for (int i = 0; i < ops; i++)
        {
            var dma = api.MapPage(0, dev, buf, PhysAddr.PageSize, DmaDirection.Bidirectional);
            // dma-direct hands back the physical address itself; swiotlb a slot inside its pool.
            if (swiotlbForce ? dma.Value >= poolStart && dma.Value < poolEnd : dma.Value == buf.Value) ok++;
            api.UnmapPage(0, dev, dma, PhysAddr.PageSize, DmaDirection.Bidirectional);
        }
        return ok;
    }

    public override long ModelCount => _pool is null ? -1 : (long)_pool.Stats.Maps;
}
