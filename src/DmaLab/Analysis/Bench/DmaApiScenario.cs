using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Mm;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// The loop of Linux's dma_map_benchmark (kernel/dma/map_benchmark.c, map_benchmark_thread()): dma_map_phys +
/// dma_unmap_phys of one 4 KiB page, DMA_BIDIRECTIONAL, through the driver-facing DMA API of a booted
/// <see cref="Machine"/> (dma-debug off, as in a production kernel). The machine's arch_setup_dma_ops() decides the
/// ops: dma-direct (kernel/dma/direct.h, dma_direct_map_phys()), swiotlb with swiotlb=force (kernel/dma/swiotlb.c,
/// swiotlb_map() + swiotlb_tbl_unmap_single(), two 4 KiB copies), or iommu-dma behind an ARM SMMUv3 with the LPAE
/// stage-1 format (drivers/iommu/dma-iommu.c, __iommu_dma_map()/__iommu_dma_unmap()), strict or lazy.
/// </summary>
internal sealed class DmaApiScenario(DmaApiPath path) : BenchScenario
{
    Machine _m = null!;
    DmaMapping _api = null!;
    Device _dev = null!;
    SwiotlbPool? _pool;
    IommuDmaCookie? _cookie;
    PhysAddr _buf;

    public override string Name => path switch
    {
        DmaApiPath.Direct => "dma-direct-map-unmap-4k",
        DmaApiPath.SwiotlbForce => "swiotlb-map-unmap-4k",
        DmaApiPath.IommuStrict => "iommu-dma-strict-map-unmap-4k",
        _ => "iommu-dma-lazy-map-unmap-4k",
    };

    public override string Description => path switch
    {
        DmaApiPath.Direct => "dma_map_phys+dma_unmap_phys 4 KiB bidirectional, dma-direct, coherent device",
        DmaApiPath.SwiotlbForce => "dma_map_phys+dma_unmap_phys 4 KiB bidirectional, swiotlb=force (bounce copy both ways)",
        DmaApiPath.IommuStrict => "dma_map_phys+dma_unmap_phys 4 KiB through iommu-dma, SMMUv3/LPAE, strict (TLBI + sync per unmap)",
        _ => "dma_map_phys+dma_unmap_phys 4 KiB through iommu-dma, SMMUv3/LPAE, lazy (flush queue, flush-all per full ring)",
    };

    public override void Boot(ulong seed)
    {
        bool iommu = path is DmaApiPath.IommuStrict or DmaApiPath.IommuLazy;
        var spec = iommu ? BenchPlatform.Iommu(smmuV2: false) : BenchPlatform.Direct();
        _m = Machine.Boot(spec, new MachineOptions
        {
            Seed = seed,
            DmaDebug = false,
            SwiotlbForce = path == DmaApiPath.SwiotlbForce,
            Policy = path switch { DmaApiPath.IommuStrict => IommuPolicy.Strict, DmaApiPath.IommuLazy => IommuPolicy.Lazy, _ => IommuPolicy.Platform },
        });
        _api = _m.Dma;
        _dev = _m.Device(BenchPlatform.MasterName);
        string expectOps = iommu ? "iommu-dma" : "dma-direct";
        if (_dev.DmaOps?.Name != expectOps)
            throw new InvalidOperationException($"bench master got {_dev.DmaOps?.Name ?? "no"} dma ops, expected {expectOps}");
        _buf = BenchBuffers.Page(_m.Memory.PageAllocator, seed);
        // Real bytes in the page so bounce copies move data, as the kernel's do.
        _m.Memory.Memory.Fill(_buf, PhysAddr.PageSize, 0x5a);
        if (path == DmaApiPath.SwiotlbForce)
        {
            _pool = _m.DmaSystem.Swiotlb ?? throw new InvalidOperationException("swiotlb=force booted without a pool");
            // The model backs DRAM with host pages on first write. swiotlb hands out slots round-robin from the
            // area's index (swiotlb_search_pool_area()), so the loop walks the whole pool: back it now, as real DRAM
            // always is, so the measured loop does not count the host's first-touch allocations.
            _m.Memory.Memory.Fill(_pool.Start, _pool.End.Value - _pool.Start.Value, 0xa5);
        }
        if (iommu)
        {
            _cookie = _m.IommuDma.StateOf(_dev)?.Cookie ?? throw new InvalidOperationException("bench master has no iommu-dma cookie");
            bool lazy = path == DmaApiPath.IommuLazy;
            if ((_cookie.Fq is not null) != lazy)
                throw new InvalidOperationException($"bench expected a {(lazy ? "lazy (flush queue)" : "strict")} domain, got {_cookie.Domain}");
        }
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
            if (dma == DmaAddr.MappingError) continue;
            // dma-direct hands back the physical address, swiotlb a slot inside its pool, iommu-dma an IOVA.
            if (path switch
                {
                    DmaApiPath.Direct => dma.Value == buf.Value,
                    DmaApiPath.SwiotlbForce => dma.Value >= poolStart && dma.Value < poolEnd,
                    _ => true,
                }) ok++;
            api.UnmapPage(0, dev, dma, PhysAddr.PageSize, DmaDirection.Bidirectional);
        }
        return ok;
    }

    /// <summary>swiotlb: slots mapped; strict: iotlb syncs after unmap; lazy: unmaps queued; dma-direct keeps no counter.</summary>
    public override long ModelCount => path switch
    {
        DmaApiPath.SwiotlbForce => (long)_pool!.Stats.Maps,
        DmaApiPath.IommuStrict => _cookie!.StrictSyncs,
        DmaApiPath.IommuLazy => _cookie!.QueuedUnmaps,
        _ => -1,
    };
}
