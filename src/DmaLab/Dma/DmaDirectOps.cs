using System.Runtime.CompilerServices;
using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// dma-direct (Linux: kernel/dma/direct.c, direct.h, include/linux/dma-direct.h): bus address = physical address
/// through the device's dma-ranges, mappings checked against dma_mask / bus_dma_limit (dma_capable), bounced
/// through the device's swiotlb pool when unreachable (or always with swiotlb=force / a restricted pool),
/// DMA_MAPPING_ERROR when neither works. Non-coherent masters get the arm64 cache maintenance on map, unmap and
/// sync. This file is the streaming half; DmaDirectOps.Alloc.cs holds coherent allocation and the atomic pools.
/// </summary>
public sealed partial class DmaDirectOps : DmaMapOpsBase
{
    readonly MemorySystem _mem;

    /// <param name="memory">zones, buddy allocator and CMA areas to allocate from</param>
    /// <param name="kva">the kernel address space (linear map, vmalloc area for remaps)</param>
    /// <param name="cache">CPU cache for non-coherent masters; null = treat every master as coherent</param>
    /// <param name="atomicPoolSize">atomic_pool_size= (0: the kernel's default from total RAM)</param>
    public DmaDirectOps(MemorySystem memory, KernelAddressSpace kva, CpuCache? cache, ulong atomicPoolSize = 0)
        : base(kva, cache)
    {
        _mem = memory ?? throw new ArgumentNullException(nameof(memory));
        InitAtomicPools(atomicPoolSize);
    }

    public override string Name => "dma-direct";
    public MemorySystem MemorySystem => _mem;

    /// <summary>
    /// Sets a device up for dma-direct the way of_dma_configure() / arch_setup_dma_ops() leave it: dma_range_map
    /// and bus_dma_limit from dma-ranges, the per-device CMA area (memory-region to a reusable shared-dma-pool),
    /// per-device coherent memory (no-map shared-dma-pool), dma_skip_sync for coherent masters, and dev->dma_ops.
    /// </summary>
    public void Attach(Device dev)
    {
        var st = dev.DmaState;
        st.RangeMap = DmaRangeMap.From(dev.Spec.DmaRanges);
        if (st.RangeMap is not null && dev.BusDmaLimit == 0) dev.BusDmaLimit = st.RangeMap.DmaEnd - 1;
        foreach (var r in _mem.ReservedRegions)
        {
            bool named = dev.Spec.MemoryRegion == r.Name || r.Devices.Contains(dev.Name);
            if (!named || r.Compatible != "shared-dma-pool") continue;
            if (r.Cma is not null) st.CmaArea = r.Cma;
            else if (r.NoMap && st.CoherentMemory is null)
            {
                // rmem_dma_device_init() → dma_init_coherent_memory(): memremap(MEMREMAP_WC) of the whole region.
                var virt = Kva.Remap(r.Base, r.Size, CpuMappingKind.RemapWriteCombine, "dma_init_coherent_memory");
                if (virt.IsNull) Warn("coherent-memory-remap-failed", dev, r.Base.Value, $"Reserved memory: failed to init DMA memory pool at {r.Base}, size {r.Size >> 20} MiB");
                else st.CoherentMemory = new DmaCoherentMemory(r.Base, PhysToDma(dev, r.Base), r.Size, virt);
            }
        }
        st.SkipSync = dev.Coherent || Cache is null;
        dev.DmaOps = this;
    }

    /// <summary>phys_to_dma(): through the dma-ranges, identity without them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DmaAddr PhysToDma(Device dev, PhysAddr phys)
    {
        var m = dev.DmaState.RangeMap;
        return m is null ? new DmaAddr(phys.Value) : m.PhysToDma(phys);
    }

    /// <summary>dma_to_phys()</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhysAddr DmaToPhys(Device dev, DmaAddr dma)
    {
        var m = dev.DmaState.RangeMap;
        return m is null ? new PhysAddr(dma.Value) : m.DmaToPhys(dma);
    }

    /// <summary>dma_capable(): the last byte within min_not_zero(dma_mask, bus_dma_limit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool DmaCapable(Device dev, DmaAddr addr, ulong size)
    {
        if (addr.IsError) return false;
        ulong limit = dev.BusDmaLimit == 0 ? dev.DmaMask : dev.DmaMask == 0 ? dev.BusDmaLimit : Math.Min(dev.DmaMask, dev.BusDmaLimit);
        return addr.Value + size - 1 <= limit;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool NonCoherent(Device dev) => !dev.Coherent && Cache is not null;

    /// <summary>
    /// dma_kmalloc_needs_bounce() (include/linux/dma-map-ops.h, CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC on arm64):
    /// a non-coherent device the CPU may later read from, with a buffer whose kmalloc cache is smaller than a cache
    /// line, must bounce (kmalloc minalign is 8 only while a swiotlb pool exists). Sizes of 2 * cache line and more
    /// are aligned; smaller ones are aligned when their kmalloc size class is (8..32 and 96 are not, 64 and 128 are).
    /// </summary>
    bool KmallocNeedsBounce(Device dev, ulong size, DmaDirection dir)
    {
        if (!NonCoherent(dev) || dir == DmaDirection.ToDevice) return false;
        ulong line = (ulong)Cache!.LineSize;
        if (size >= 2 * line) return false;
        ulong cls = size <= 8 ? 8 : size <= 16 ? 16 : size <= 32 ? 32 : size <= 64 ? 64 : size <= 96 ? 96 : size <= 128 ? 128 : size <= 192 ? 192 : System.Numerics.BitOperations.RoundUpToPowerOf2(size);
        return cls % line != 0;
    }

    /// <summary>dma_direct_map_phys() (6.18; dma_direct_map_page() before).</summary>
    public override DmaAddr MapPage(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        var pool = dev.DmaIoTlbMem;
        if (pool is not null && pool.ForceBounce)
        {
            if ((attrs & DmaAttrs.Mmio) != 0) return Overflow(dev, new DmaAddr(phys.Value), size);
            return SwiotlbMap(dev, pool, phys, size, dir, attrs, cpu);
        }
        DmaAddr dma;
        if ((attrs & DmaAttrs.Mmio) != 0)
        {
            dma = new DmaAddr(phys.Value);
            if (!DmaCapable(dev, dma, size)) return Overflow(dev, dma, size);
        }
        else
        {
            dma = PhysToDma(dev, phys);
            if (!DmaCapable(dev, dma, size) || (pool is not null && KmallocNeedsBounce(dev, size, dir)))
            {
                if (pool is not null) return SwiotlbMap(dev, pool, phys, size, dir, attrs, cpu);
                return Overflow(dev, dma, size);
            }
        }
        if (NonCoherent(dev) && (attrs & (DmaAttrs.SkipCpuSync | DmaAttrs.Mmio)) == 0)
            ArchSyncForDevice(phys, size, dir);
        return dma;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    DmaAddr Overflow(Device dev, DmaAddr dma, ulong size)
    {
        Warn("dma-addr-overflow", dev, dma.Value,
            $"DMA addr 0x{dma.Value:x16}+{size} overflow (mask {dev.DmaMask:x}, bus limit {dev.BusDmaLimit:x}).");
        return DmaAddr.MappingError;
    }

    /// <summary>swiotlb_map(): bounce, then (non-coherent) arch_sync_dma_for_device on the slot. The bounce copy is
    /// the CPU's memcpy, so it sees the CPU's dirty lines of the original.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    DmaAddr SwiotlbMap(Device dev, SwiotlbPool pool, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        Cache?.PrepareCpuCopyFrom(phys, size);
        var dma = pool.Map(dev, phys, size, dir, attrs, cpu, out var tlb);
        if (dma.IsError) return dma;
        dev.DmaState.SkipSync = false;          // dma_reset_need_sync(): this device now needs its syncs
        if (NonCoherent(dev) && (attrs & DmaAttrs.SkipCpuSync) == 0) ArchSyncForDevice(tlb, size, dir);
        return dma;
    }

    /// <summary>dma_direct_unmap_phys(): sync for the CPU unless SKIP_CPU_SYNC, then release a bounce slot.</summary>
    public override void UnmapPage(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if ((attrs & DmaAttrs.Mmio) != 0) return;
        var phys = DmaToPhys(dev, addr);
        if ((attrs & DmaAttrs.SkipCpuSync) == 0) SyncSingleForCpu(dev, addr, size, dir, cpu);
        var pool = dev.DmaIoTlbMem;
        if (pool is not null && pool.IsSwiotlbBuffer(phys)) pool.TblUnmapSingle(dev, phys, size, dir, attrs | DmaAttrs.SkipCpuSync);
    }

    /// <summary>dma_direct_map_sg(): map each entry; on a failure unmap what was mapped (SKIP_CPU_SYNC) and return -EIO.</summary>
    public override int MapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        for (int i = 0; i < nents; i++)
        {
            ref var e = ref sg[i];
            e.DmaAddress = MapPage(dev, e.Phys, e.Length, dir, attrs, cpu);
            if (e.DmaAddress.IsError)
            {
                UnmapSg(dev, sg, i, dir, attrs | DmaAttrs.SkipCpuSync, cpu);
                return -5;                               // -EIO
            }
            e.DmaLength = e.Length;
        }
        return nents;
    }

    /// <summary>dma_direct_map_resource(): the bus address is the physical address, never bounced, no cache work.</summary>
    public override DmaAddr MapResource(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu) =>
        MapPage(dev, phys, size, dir, attrs | DmaAttrs.Mmio, cpu);

    public override void UnmapResource(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu) { }

    /// <summary>dma_direct_sync_single_for_cpu(): invalidate (non-coherent), then copy a bounce slot back.</summary>
    public override void SyncSingleForCpu(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu)
    {
        var phys = DmaToPhys(dev, addr);
        if (NonCoherent(dev)) ArchSyncForCpu(phys, size, dir);
        var pool = dev.DmaIoTlbMem;
        if (pool is not null && pool.IsSwiotlbBuffer(phys))
        {
            var orig = OrigOf(pool, dev, phys);
            pool.SyncSingleForCpu(dev, phys, size, dir);
            if (dir is DmaDirection.FromDevice or DmaDirection.Bidirectional) Cache?.CompleteCpuCopyTo(orig, size);
        }
    }

    /// <summary>dma_direct_sync_single_for_device(): copy into a bounce slot, then clean (non-coherent).</summary>
    public override void SyncSingleForDevice(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu)
    {
        var phys = DmaToPhys(dev, addr);
        var pool = dev.DmaIoTlbMem;
        if (pool is not null && pool.IsSwiotlbBuffer(phys))
        {
            if (dir is DmaDirection.ToDevice or DmaDirection.Bidirectional) Cache?.PrepareCpuCopyFrom(OrigOf(pool, dev, phys), size);
            pool.SyncSingleForDevice(dev, phys, size, dir);
        }
        if (NonCoherent(dev)) ArchSyncForDevice(phys, size, dir);
    }

    /// <summary>The original buffer a bounce address stands for (swiotlb's own orig_addr arithmetic); the bounce
    /// address itself when it has none (then no CPU copy happens either).</summary>
    static PhysAddr OrigOf(SwiotlbPool pool, Device dev, PhysAddr tlb)
    {
        var orig = pool.OriginalAddress(dev, tlb);
        return orig.Value == Swiotlb.MappingErrorPhys ? tlb : orig;
    }

    /// <summary>max_pfn &lt;&lt; PAGE_SHIFT: end of DRAM.</summary>
    ulong MaxPhys => _mem.Memory.End.Value;

    /// <summary>dma_direct_supported(): any 32-bit-or-wider mask, or one covering ZONE_DMA (or all memory).</summary>
    public override bool DmaSupported(Device dev, ulong mask)
    {
        if (mask >= 0xffff_ffffUL) return true;
        ulong minMask = MaxPhys - PhysAddr.PageSize;
        if (ZoneDmaLimit is ulong z) minMask = Math.Min(minMask, z);
        var dma = PhysToDma(dev, new PhysAddr(minMask));
        return !dma.IsError && mask >= dma.Value;
    }

    /// <summary>dma_direct_get_required_mask(): all-ones up to the top bit of the highest page's bus address.</summary>
    public override ulong GetRequiredMask(Device dev)
    {
        var max = PhysToDma(dev, new PhysAddr(MaxPhys - PhysAddr.PageSize));
        if (max.IsError || max.Value == 0) return 0xffff_ffff;
        int fls = 64 - System.Numerics.BitOperations.LeadingZeroCount(max.Value);
        return fls >= 64 ? ulong.MaxValue : (1UL << fls) - 1;
    }

    /// <summary>dma_direct_max_mapping_size(): swiotlb's limit when the device may bounce, else SIZE_MAX.</summary>
    public override ulong MaxMappingSize(Device dev)
    {
        var pool = dev.DmaIoTlbMem;
        if (pool is not null && (AddressingLimited(dev) || pool.ForceBounce)) return SwiotlbPool.MaxMappingSize(dev);
        return ulong.MaxValue;
    }

    /// <summary>dma_addressing_limited(): the device's mask or bus limit does not reach all memory.</summary>
    public bool AddressingLimited(Device dev)
    {
        ulong m = dev.BusDmaLimit == 0 ? dev.DmaMask : dev.DmaMask == 0 ? dev.BusDmaLimit : Math.Min(dev.DmaMask, dev.BusDmaLimit);
        return m < GetRequiredMask(dev);
    }
}
