using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>Coherent and page allocation of dma-direct (kernel/dma/direct.c, contiguous.c) and the atomic pools
/// (kernel/dma/pool.c).</summary>
public sealed partial class DmaDirectOps
{
    const int MaxPageOrder = 10;
    /// <summary>CONFIG_CMA_ALIGNMENT default: CMA allocations are aligned to at most 2^8 pages.</summary>
    public const int CmaAlignment = 8;
    DmaAtomicPool? _poolKernel, _poolDma32, _poolDma;
    readonly List<string> _bootMessages = new();

    public DmaAtomicPool? AtomicPoolKernel => _poolKernel;
    public DmaAtomicPool? AtomicPoolDma32 => _poolDma32;
    public DmaAtomicPool? AtomicPoolDma => _poolDma;
    public IReadOnlyList<string> BootMessages => _bootMessages;
    /// <summary>Counters: allocations served from CMA, from the buddy allocator, from atomic pools, and retries in a lower zone.</summary>
    public long CmaAllocs { get; private set; }
    public long BuddyAllocs { get; private set; }
    public long PoolAllocs { get; private set; }
    public long ZoneRetries { get; private set; }
    public long AllocFailures { get; private set; }

    /// <summary>The highest address of ZONE_DMA (zone_dma_limit), or null when the zone is empty.</summary>
    ulong? ZoneDmaLimit => _mem.Zone(ZoneType.Dma).IsPopulated ? _mem.Layout.DmaEnd.Value - 1 : null;

    static bool AllowBlocking(Gfp gfp) => DmaContiguous.AllowBlocking(gfp);
    static int GetOrder(ulong size) => DmaCoherentMemory.GetOrder(size);
    static ulong PageAlign(ulong size) => (size + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1);

    /// <summary>
    /// dma_atomic_pool_init(): atomic_pool_size defaults to 128 KiB per GiB of RAM (at least 128 KiB, at most
    /// MAX_PAGE_ORDER pages); one pool for GFP_KERNEL, one for GFP_DMA when ZONE_DMA has pages, one for GFP_DMA32.
    /// Each is one block (lower orders tried when it cannot be had) made uncached: on arm64 (DMA_DIRECT_REMAP)
    /// remapped in the vmalloc area.
    /// </summary>
    void InitAtomicPools(ulong size)
    {
        if (size == 0)
        {
            ulong pages = (ulong)_mem.PageAllocator.ManagedPages / ((1UL << 30) / (128UL << 10));
            pages = Math.Min(pages, 1UL << MaxPageOrder);
            size = Math.Max(pages << PhysAddr.PageShift, 128UL << 10);
        }
        _poolKernel = BootPool(size, Gfp.Kernel, "GFP_KERNEL", "");
        if (_mem.Zone(ZoneType.Dma).IsPopulated) _poolDma = BootPool(size, Gfp.Kernel | Gfp.Dma, "GFP_KERNEL|GFP_DMA", "DMA");
        // Linux: kernel/dma/pool.c, dma_atomic_pool_init(): the DMA32 pool only with CONFIG_ZONE_DMA32.
        if (_mem.Layout.Configured(ZoneType.Dma32)) _poolDma32 = BootPool(size, Gfp.Kernel | Gfp.Dma32, "GFP_KERNEL|GFP_DMA32", "DMA32");
    }

    DmaAtomicPool? BootPool(ulong size, Gfp gfp, string gfpName, string name)
    {
        int order = Math.Min(GetOrder(size), MaxPageOrder);
        PhysAddr page;
        while (!_mem.PageAllocator.TryAllocPages(order, gfp | Gfp.NoWarn, out page))
            if (--order < 0) { _bootMessages.Add($"DMA: failed to allocate {size >> 10} KiB {gfpName} pool for atomic allocation"); return null; }
        ulong poolSize = PhysAddr.PageSize << order;
        ArchDmaPrepCoherent(page, poolSize);
        // CONFIG_DMA_DIRECT_REMAP (arm, arm64) remaps the pool; x86 and s390 use the linear map.
        bool remap = _mem.Spec.Arch is not ("x86_64" or "s390x");
        var virt = remap ? Kva.Remap(page, poolSize, CpuMappingKind.RemapNonCached, "atomic_pool_expand") : Kva.LinearAddress(page);
        if (virt.IsNull) { _mem.PageAllocator.FreePages(page, order); return null; }
        _bootMessages.Add($"DMA: preallocated {poolSize >> 10} KiB {gfpName} pool for atomic allocations");
        var zone = _mem.PageAllocator.FindZone(page)?.Type ?? ZoneType.Normal;
        return new DmaAtomicPool(name, zone, page, poolSize, virt);
    }

    /// <summary>dma_direct_optimal_gfp_mask(): the zone the coherent mask falls into, tried first.</summary>
    public Gfp OptimalGfpMask(Device dev, out ulong physLimit)
    {
        ulong dmaLimit = dev.BusDmaLimit == 0 ? dev.CoherentDmaMask : dev.CoherentDmaMask == 0 ? dev.BusDmaLimit : Math.Min(dev.CoherentDmaMask, dev.BusDmaLimit);
        var p = DmaToPhys(dev, new DmaAddr(dmaLimit));
        physLimit = p.Value == ulong.MaxValue ? dmaLimit : p.Value;
        if (ZoneDmaLimit is ulong z && physLimit <= z) return Gfp.Dma;
        // Only with CONFIG_ZONE_DMA32 (not on 32-bit arm).
        if (physLimit <= 0xffff_ffffUL && _mem.Layout.Configured(ZoneType.Dma32)) return Gfp.Dma32;
        return Gfp.None;
    }

    /// <summary>dma_coherent_ok(): the whole buffer is below the coherent mask / bus limit.</summary>
    public static bool DmaCoherentOk(Device dev, PhysAddr phys, ulong size)
    {
        var dma = PhysToDma(dev, phys);
        if (dma.IsError) return false;
        ulong limit = dev.BusDmaLimit == 0 ? dev.CoherentDmaMask : dev.CoherentDmaMask == 0 ? dev.BusDmaLimit : Math.Min(dev.CoherentDmaMask, dev.BusDmaLimit);
        return dma.Value + size - 1 <= limit;
    }

    /// <summary>The zones tried, in order, by the last <see cref="AllocDirectPages"/> (tests of the retry order).</summary>
    public List<Gfp> LastZoneAttempts { get; } = new();

    /// <summary>
    /// __dma_direct_alloc_pages(): a restricted pool if the device has one for allocations; else CMA
    /// (dma_alloc_contiguous: blocking callers only, the device's area, else the default area for more than one
    /// page), else the buddy allocator in the optimal zone, retried with GFP_DMA32 and then GFP_DMA while the
    /// result is not addressable.
    /// </summary>
    public PhysAddr? AllocDirectPages(Device dev, ulong size, Gfp gfp, int cpu)
    {
        LastZoneAttempts.Clear();
        var pool = dev.DmaIoTlbMem;
        if (pool is not null && pool.ForAlloc)
        {
            var p = pool.Alloc(dev, size, cpu);
            if (p.Value == Swiotlb.MappingErrorPhys) return null;
            if (!DmaCoherentOk(dev, p, size)) { pool.Free(dev, p, size); return null; }
            return p;
        }
        gfp |= OptimalGfpMask(dev, out ulong physLimit);
        PhysAddr? page = AllocContiguous(dev, size, gfp);
        if (page is { } c && !DmaCoherentOk(dev, c, size)) { FreeContiguous(dev, c, size); page = null; }
        int order = GetOrder(size);
        while (true)
        {
            if (page is null)
            {
                LastZoneAttempts.Add(gfp & (Gfp.Dma | Gfp.Dma32));
                if (order <= MaxPageOrder && _mem.PageAllocator.TryAllocPages(order, gfp, out var b)) { page = b; BuddyAllocs++; }
            }
            if (page is { } got && !DmaCoherentOk(dev, got, size))
            {
                _mem.PageAllocator.FreePages(got, order);
                BuddyAllocs--;
                page = null;
                if (physLimit < ulong.MaxValue && (gfp & (Gfp.Dma32 | Gfp.Dma)) == 0 && _mem.Layout.Configured(ZoneType.Dma32)) { gfp |= Gfp.Dma32; ZoneRetries++; continue; }
                if ((gfp & Gfp.Dma) == 0 && _mem.Zone(ZoneType.Dma).IsPopulated) { gfp = (gfp & ~Gfp.Dma32) | Gfp.Dma; ZoneRetries++; continue; }
            }
            return page;
        }
    }

    /// <summary>dma_alloc_contiguous() (<see cref="DmaContiguous"/>), counted.</summary>
    PhysAddr? AllocContiguous(Device dev, ulong size, Gfp gfp)
    {
        var page = DmaContiguous.Alloc(_mem, dev, size, gfp);
        if (page is not null) CmaAllocs++;
        return page;
    }

    void FreeContiguous(Device dev, PhysAddr page, ulong size) => DmaContiguous.Free(_mem, dev, page, size);

    /// <summary>__dma_direct_free_pages(): restricted pool, else CMA / buddy.</summary>
    void FreeDirectPages(Device dev, PhysAddr page, ulong size)
    {
        var pool = dev.DmaIoTlbMem;
        if (pool is not null && pool.Free(dev, page, size)) return;
        FreeContiguous(dev, page, size);
    }

    /// <summary>The kernel's memset(ret, 0, size) on a new buffer. The model zeroes DRAM and refreshes any cached
    /// copy (the same bytes a store through the cache would leave, without keeping a whole buffer of dirty lines).</summary>
    void ZeroBuffer(PhysAddr phys, ulong size)
    {
        _mem.Memory.Fill(phys, size, 0);
        Cache?.CompleteCpuCopyTo(phys, size);
    }

    /// <summary>
    /// dma_direct_alloc(): NO_KERNEL_MAPPING returns the struct page cookie (no mapping, vmalloc space saved);
    /// non-coherent masters get a remapped uncached view (arm64: DMA_DIRECT_REMAP) — from an atomic pool when the
    /// caller cannot block; coherent masters get the linear address.
    /// </summary>
    public override CpuAddr Alloc(Device dev, ulong size, out DmaAddr dmaHandle, Gfp gfp, DmaAttrs attrs, int cpu)
    {
        dmaHandle = DmaAddr.MappingError;
        size = PageAlign(size);
        if ((attrs & DmaAttrs.NoWarn) != 0) gfp |= Gfp.NoWarn;
        var pool = dev.DmaIoTlbMem;
        bool swiotlbForAlloc = pool is not null && pool.ForAlloc;
        if ((attrs & DmaAttrs.NoKernelMapping) != 0 && !swiotlbForAlloc)
        {
            var pg = AllocDirectPages(dev, size, gfp & ~Gfp.Zero, cpu);
            if (pg is not { } np) { AllocFailures++; return CpuAddr.Null; }
            ArchDmaPrepCoherent(np, size);
            Kva.AccountNoKernelMapping(size);
            dmaHandle = PhysToDma(dev, np);
            return Kva.PageCookie(np);
        }
        bool remap = NonCoherent(dev);
        if (remap && !swiotlbForAlloc && !AllowBlocking(gfp))
        {
            OptimalGfpMask(dev, out _);
            var g = gfp | OptimalGfpMask(dev, out _);
            for (var ap = GuessPool(null, g); ap is not null; ap = GuessPool(ap, g))
            {
                if (!ap.TryAlloc(size, out var pp, out var pv)) continue;
                if (!DmaCoherentOk(dev, pp, size)) { ap.Free(pv, size); continue; }
                _mem.Memory.Fill(pp, size, 0);
                PoolAllocs++;
                dmaHandle = PhysToDma(dev, pp);
                return pv;
            }
            Warn("atomic-pool-exhausted", dev, 0, $"Failed to get suitable pool for {dev.Name}");
            AllocFailures++;
            return CpuAddr.Null;
        }
        var page = AllocDirectPages(dev, size, gfp & ~Gfp.Zero, cpu);
        if (page is not { } p) { AllocFailures++; return CpuAddr.Null; }
        CpuAddr ret;
        if (remap)
        {
            ArchDmaPrepCoherent(p, size);
            var kind = (attrs & DmaAttrs.WriteCombine) != 0 ? CpuMappingKind.RemapWriteCombine : CpuMappingKind.RemapNonCached;
            ret = Kva.Remap(p, size, kind, "dma_direct_alloc");
            if (ret.IsNull)
            {
                FreeDirectPages(dev, p, size);
                AllocFailures++;
                return CpuAddr.Null;
            }
            _mem.Memory.Fill(p, size, 0);          // memset through the uncached mapping
        }
        else
        {
            ret = Kva.LinearAddress(p);
            ZeroBuffer(p, size);
        }
        dmaHandle = PhysToDma(dev, p);
        return ret;
    }

    /// <summary>dma_guess_pool(): the pool matching the gfp first, then kernel → DMA32 → DMA.</summary>
    DmaAtomicPool? GuessPool(DmaAtomicPool? prev, Gfp gfp)
    {
        if (prev is null)
        {
            if ((gfp & Gfp.Dma32) != 0 && _poolDma32 is not null) return _poolDma32;
            if (_poolDma is not null && (gfp & Gfp.Dma) != 0) return _poolDma;
            return _poolKernel;
        }
        if (prev == _poolKernel) return _poolDma32 ?? _poolDma;
        if (prev == _poolDma32) return _poolDma;
        return null;
    }

    /// <summary>dma_direct_free(): cookie → pages back; atomic pool block; vunmap of a remap; then the pages.</summary>
    public override void Free(Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaAttrs attrs, int cpu)
    {
        size = PageAlign(size);
        var pool = dev.DmaIoTlbMem;
        bool swiotlbForAlloc = pool is not null && pool.ForAlloc;
        var kind = Kva.Resolve(cpuAddr, out var phys);
        if ((attrs & DmaAttrs.NoKernelMapping) != 0 && !swiotlbForAlloc)
        {
            if (kind != CpuMappingKind.PageCookie) { Warn("free-bad-cookie", dev, cpuAddr.Value, $"dma_free_attrs(NO_KERNEL_MAPPING) of {cpuAddr}, which is not a page cookie"); return; }
            FreeContiguous(dev, phys, size);
            return;
        }
        foreach (var ap in new[] { _poolKernel, _poolDma32, _poolDma })
            if (ap is not null && ap.Contains(cpuAddr)) { ap.Free(cpuAddr, size); return; }
        if (kind is CpuMappingKind.RemapNonCached or CpuMappingKind.RemapWriteCombine or CpuMappingKind.RemapCached)
            Kva.Unmap(cpuAddr);
        else if (kind != CpuMappingKind.Linear)
        {
            Warn("free-bad-address", dev, cpuAddr.Value, $"dma_free_attrs of {cpuAddr}, which no dma_alloc_attrs returned");
            return;
        }
        FreeDirectPages(dev, DmaToPhys(dev, dmaHandle), size);
    }

    /// <summary>dma_direct_alloc_pages(): cacheable pages, zeroed through the linear map.</summary>
    public override PhysAddr? AllocPages(Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp, int cpu)
    {
        size = PageAlign(size);
        var page = AllocDirectPages(dev, size, gfp, cpu);
        if (page is not { } p) { dmaHandle = DmaAddr.MappingError; AllocFailures++; return null; }
        ZeroBuffer(p, size);
        dmaHandle = PhysToDma(dev, p);
        return p;
    }

    /// <summary>dma_direct_free_pages()</summary>
    public override void FreePages(Device dev, ulong size, PhysAddr page, DmaAddr dmaHandle, DmaDirection dir, int cpu) =>
        FreeDirectPages(dev, page, PageAlign(size));

    /// <summary>dma_direct_mmap(): remap_pfn_range of the buffer with dma_pgprot() (cached for coherent devices,
    /// write-combine on request, else non-cached); -ENXIO when the VMA asks for more than the buffer.</summary>
    public override int Mmap(Device dev, UserVma vma, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs, out DmaUserMapping mapping)
    {
        mapping = default;
        ulong count = PageAlign(size) >> PhysAddr.PageShift;
        var prot = dev.Coherent || Cache is null ? CpuMappingKind.Linear
            : (attrs & DmaAttrs.WriteCombine) != 0 ? CpuMappingKind.RemapWriteCombine : CpuMappingKind.RemapNonCached;
        if (vma.PgOff >= count || vma.Pages > count - vma.PgOff) return -6;         // -ENXIO
        var phys = DmaToPhys(dev, dmaAddr).PageAligned + (vma.PgOff << PhysAddr.PageShift);
        mapping = new DmaUserMapping(vma.Start, phys, vma.Pages << PhysAddr.PageShift, prot);
        return 0;
    }

    /// <summary>dma_direct_get_sgtable(): one entry for the whole (page-aligned) buffer.</summary>
    public override int GetSgtable(Device dev, Scatterlist sgt, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs)
    {
        sgt.Init(1);
        sgt.Set(0, DmaToPhys(dev, dmaAddr).PageAligned, 0, (uint)PageAlign(size));
        return 0;
    }
}
