using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.DmaIommu;

/// <summary>How an iommu-dma coherent buffer was obtained, which decides how it is freed.</summary>
public enum IommuDmaAllocKind
{
    /// <summary>__iommu_dma_alloc_noncontiguous() pages mapped into the vmalloc area (iommu_dma_alloc_remap).</summary>
    Remap,
    /// <summary>The same pages with DMA_ATTR_NO_KERNEL_MAPPING: no CPU mapping, the page cookie is returned.</summary>
    NoKernelMapping,
    /// <summary>iommu_dma_alloc_pages(): one contiguous block (CMA or buddy), linear or remapped.</summary>
    Contiguous,
    /// <summary>dma_alloc_from_pool(): a non-coherent atomic allocation from dma-direct's atomic pools.</summary>
    AtomicPool,
}

/// <summary>One live iommu-dma coherent allocation: its page chunks (physical address, order), CPU and DMA addresses.</summary>
public sealed record IommuDmaAllocation(IommuDmaAllocKind Kind, (PhysAddr Page, int Order)[] Chunks, ulong Size, CpuAddr Cpu, DmaAddr Handle, bool Remapped);

public sealed partial class IommuDmaOps
{
    const int MaxPageOrder = 10;                      // MAX_PAGE_ORDER
    readonly Dictionary<(IommuDmaCookie, ulong), IommuDmaAllocation> _allocs = new();

    static bool AllowBlocking(Gfp gfp) => DmaContiguous.AllowBlocking(gfp);
    static ulong PageAlign(ulong size) => (size + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1);

    /// <summary>Live coherent allocations of <paramref name="dev"/>'s domain.</summary>
    public IEnumerable<IommuDmaAllocation> Allocations(Device dev)
    {
        var c = State(dev).Cookie;
        foreach (var kv in _allocs) if (ReferenceEquals(kv.Key.Item1, c)) yield return kv.Value;
    }

    /// <summary>Pages allocated by the order walk, chunk by chunk.</summary>
    public long PagesAllocatedByOrder(int order) => order is >= 0 and <= MaxPageOrder ? _orderCounts[order] : 0;
    readonly long[] _orderCounts = new long[MaxPageOrder + 1];

    void ZeroPages(PhysAddr p, ulong len)
    {
        _mem.Memory.Fill(p, len, 0);
        Cache?.CompleteCpuCopyTo(p, len);
    }

    /// <summary>
    /// Linux: __iommu_dma_alloc_pages(): <paramref name="count"/> pages in the largest orders of
    /// <paramref name="orderMask"/> that fit what is left; an order that fails is dropped for the rest of the walk
    /// (the kernel narrows the mask for good), and larger orders try without retrying (__GFP_NORETRY).
    /// Returns the chunks, or null after giving back what was taken.
    /// </summary>
    List<(PhysAddr Page, int Order)>? AllocPagesOrderWalk(ulong count, ulong orderMask, Gfp gfp)
    {
        orderMask &= (1UL << (MaxPageOrder + 1)) - 1;
        if (orderMask == 0) return null;
        var chunks = new List<(PhysAddr, int)>();
        gfp |= Gfp.NoWarn;
        while (count != 0)
        {
            int fls = 63 - System.Numerics.BitOperations.LeadingZeroCount(count);
            orderMask &= fls >= 63 ? ulong.MaxValue : (2UL << fls) - 1;
            bool got = false;
            ulong orderSize = 0;
            while (orderMask != 0)
            {
                int order = 63 - System.Numerics.BitOperations.LeadingZeroCount(orderMask);
                orderSize = 1UL << order;
                if (_mem.PageAllocator.TryAllocPages(order, gfp, out var page))
                {
                    chunks.Add((page, order));
                    _orderCounts[order]++;
                    ZeroPages(page, orderSize << PhysAddr.PageShift);
                    got = true;
                    break;
                }
                orderMask &= ~orderSize;
            }
            if (!got)
            {
                foreach (var (p, o) in chunks) _mem.PageAllocator.FreePages(p, o);
                return null;
            }
            count -= orderSize;
        }
        return chunks;
    }

    PhysAddr? AllocContiguous(Device dev, ulong size, Gfp gfp) => DmaContiguous.Alloc(_mem, dev, size, gfp);

    void FreeContiguous(Device dev, PhysAddr page, ulong size) => DmaContiguous.Free(_mem, dev, page, size);

    /// <summary>dma_pgprot(): cached for coherent masters, write-combine on request, else non-cached.</summary>
    CpuMappingKind RemapKind(Device dev, DmaAttrs attrs) =>
        Coherent(dev) ? CpuMappingKind.RemapCached
        : (attrs & DmaAttrs.WriteCombine) != 0 ? CpuMappingKind.RemapWriteCombine : CpuMappingKind.RemapNonCached;

    /// <summary>
    /// Linux: iommu_dma_alloc(): blocking callers without FORCE_CONTIGUOUS get pages in the largest orders the domain's
    /// page sizes allow, mapped at one IOVA below the coherent mask and remapped into the vmalloc area (no mapping at
    /// all with NO_KERNEL_MAPPING); non-blocking non-coherent callers take an atomic pool block; everything else one
    /// contiguous block (CMA first), remapped only when the master is not coherent.
    /// </summary>
    public override CpuAddr Alloc(Device dev, ulong size, out DmaAddr dmaHandle, Gfp gfp, DmaAttrs attrs, int cpu)
    {
        dmaHandle = DmaAddr.MappingError;
        // A 0-byte allocation has no pages and no IOVA (alloc_iova() of 0 pages has no defined result in iova.c):
        // it fails, as dma-direct's does (get_order(0) is beyond MAX_PAGE_ORDER).
        if (size == 0) return CpuAddr.Null;
        var st = State(dev);
        bool coherent = Coherent(dev);
        var ioprot = DmaInfoToProt(DmaDirection.Bidirectional, coherent, attrs);
        gfp |= Gfp.Zero;
        if (AllowBlocking(gfp) && (attrs & DmaAttrs.ForceContiguous) == 0)
            return AllocRemap(st, size, out dmaHandle, gfp, attrs, ioprot, cpu);

        PhysAddr page;
        CpuAddr cpuAddr;
        IommuDmaAllocKind kind;
        bool remapped = false;
        ulong allocSize = PageAlign(size);
        if (!AllowBlocking(gfp) && !coherent)
        {
            if (!TryAtomicPool(allocSize, out page, out cpuAddr))
            {
                Warn("atomic-pool-exhausted", dev, 0, $"Failed to get suitable pool for {dev.Name}");
                return CpuAddr.Null;
            }
            kind = IommuDmaAllocKind.AtomicPool;
        }
        else
        {
            // iommu_dma_alloc_pages()
            var p = AllocContiguous(dev, allocSize, gfp);
            if (p is null)
            {
                int order = DmaCoherentMemory.GetOrder(allocSize);
                if (order > MaxPageOrder || !_mem.PageAllocator.TryAllocPages(order, gfp, out var b)) return CpuAddr.Null;
                p = b;
            }
            page = p.Value;
            if (!coherent)
            {
                cpuAddr = Kva.Remap(page, allocSize, RemapKind(dev, attrs), "iommu_dma_alloc_pages");
                if (cpuAddr.IsNull) { FreeContiguous(dev, page, allocSize); return CpuAddr.Null; }
                ArchDmaPrepCoherent(page, size);
                remapped = true;
            }
            else cpuAddr = Kva.LinearAddress(page);
            ZeroPages(page, allocSize);
            kind = IommuDmaAllocKind.Contiguous;
        }
        dmaHandle = IommuDmaMap(st, page, size, ioprot, dev.CoherentDmaMask, cpu);
        var chunks = new[] { (page, DmaCoherentMemory.GetOrder(allocSize)) };
        if (dmaHandle.IsError)
        {
            ReleaseBuffer(dev, new IommuDmaAllocation(kind, chunks, size, cpuAddr, dmaHandle, remapped));
            return CpuAddr.Null;
        }
        _allocs[(st.Cookie, dmaHandle.Value)] = new IommuDmaAllocation(kind, chunks, size, cpuAddr, dmaHandle, remapped);
        return cpuAddr;
    }

    bool TryAtomicPool(ulong size, out PhysAddr phys, out CpuAddr virt)
    {
        foreach (var ap in new[] { _direct.AtomicPoolKernel, _direct.AtomicPoolDma32, _direct.AtomicPoolDma })
            if (ap is not null && ap.TryAlloc(size, out phys, out virt)) return true;
        phys = default;
        virt = CpuAddr.Null;
        return false;
    }

    /// <summary>Linux: iommu_dma_alloc_remap() over __iommu_dma_alloc_noncontiguous().</summary>
    CpuAddr AllocRemap(IommuDmaDevice st, ulong size, out DmaAddr dmaHandle, Gfp gfp, DmaAttrs attrs, IommuProt ioprot, int cpu)
    {
        dmaHandle = DmaAddr.MappingError;
        var dev = st.Device;
        var dom = st.Cookie.Domain;
        var alloc = st.Cookie.Allocator;
        ulong allocSizes = dom.PgsizeBitmap;
        ulong minSize = allocSizes & (~allocSizes + 1);
        if (minSize < PhysAddr.PageSize) { minSize = PhysAddr.PageSize; allocSizes |= PhysAddr.PageSize; }
        else size = (size + minSize - 1) & ~(minSize - 1);
        if ((attrs & DmaAttrs.AllocSinglePages) != 0) allocSizes = minSize;
        ulong count = PageAlign(size) >> PhysAddr.PageShift;
        var chunks = AllocPagesOrderWalk(count, allocSizes >> PhysAddr.PageShift, gfp);
        if (chunks is null) return CpuAddr.Null;
        size = (size + alloc.Granule - 1) & ~(alloc.Granule - 1);
        ulong iova = alloc.AllocIova(st.Master, size, dev.CoherentDmaMask, cpu);
        if (iova == 0) { FreeChunks(chunks); return CpuAddr.Null; }
        var ranges = new (ulong Phys, ulong Length)[chunks.Count];
        for (int i = 0; i < chunks.Count; i++)
        {
            ulong len = PhysAddr.PageSize << chunks[i].Order;
            ranges[i] = (chunks[i].Page.Value, len);
            if ((ioprot & IommuProt.Cache) == 0) ArchDmaPrepCoherent(chunks[i].Page, len);
        }
        long mapped = _core.MapSg(dom, iova, ranges, ioprot);
        if (mapped < 0 || (ulong)mapped < size)
        {
            alloc.FreeIova(iova, size, cpu);
            FreeChunks(chunks);
            return CpuAddr.Null;
        }
        dmaHandle = new DmaAddr(iova);
        CpuAddr cpuAddr;
        IommuDmaAllocKind kind;
        bool remapped = false;
        if ((attrs & DmaAttrs.NoKernelMapping) != 0)
        {
            Kva.AccountNoKernelMapping(size);
            cpuAddr = Kva.PageCookie(chunks[0].Page);
            kind = IommuDmaAllocKind.NoKernelMapping;
        }
        else
        {
            // dma_common_pages_remap(); the model's vmalloc areas map one physical run, which the order walk's
            // buddy pages almost always form (see IsContiguous) — a scattered set is still reserved whole.
            cpuAddr = Kva.Remap(chunks[0].Page, size, RemapKind(dev, attrs), "iommu_dma_alloc_remap");
            if (cpuAddr.IsNull)
            {
                IommuDmaUnmap(st, dmaHandle, size, cpu);
                FreeChunks(chunks);
                dmaHandle = DmaAddr.MappingError;
                return CpuAddr.Null;
            }
            if (!IsContiguous(chunks)) ScatteredRemaps++;
            kind = IommuDmaAllocKind.Remap;
            remapped = true;
        }
        _allocs[(st.Cookie, iova)] = new IommuDmaAllocation(kind, chunks.ToArray(), size, cpuAddr, dmaHandle, remapped);
        return cpuAddr;
    }

    /// <summary>Remapped allocations whose pages were not one physical run (their CPU view is approximated).</summary>
    public long ScatteredRemaps { get; private set; }

    static bool IsContiguous(List<(PhysAddr Page, int Order)> chunks)
    {
        for (int i = 1; i < chunks.Count; i++)
            if (chunks[i].Page.Value != chunks[i - 1].Page.Value + (PhysAddr.PageSize << chunks[i - 1].Order)) return false;
        return true;
    }

    void FreeChunks(IEnumerable<(PhysAddr Page, int Order)> chunks)
    {
        foreach (var (p, o) in chunks) _mem.PageAllocator.FreePages(p, o);
    }

    void ReleaseBuffer(Device dev, IommuDmaAllocation a)
    {
        switch (a.Kind)
        {
            case IommuDmaAllocKind.AtomicPool:
                foreach (var ap in new[] { _direct.AtomicPoolKernel, _direct.AtomicPoolDma32, _direct.AtomicPoolDma })
                    if (ap is not null && ap.Contains(a.Cpu)) { ap.Free(a.Cpu, PageAlign(a.Size)); break; }
                break;
            case IommuDmaAllocKind.Contiguous:
                if (a.Remapped) Kva.Unmap(a.Cpu);
                FreeContiguous(dev, a.Chunks[0].Page, PageAlign(a.Size));
                break;
            default:
                if (a.Remapped) Kva.Unmap(a.Cpu);
                FreeChunks(a.Chunks);
                break;
        }
    }

    /// <summary>Linux: iommu_dma_free(): __iommu_dma_unmap() of the handle, then the buffer as it was obtained.</summary>
    public override void Free(Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaAttrs attrs, int cpu)
    {
        var st = State(dev);
        if (!_allocs.Remove((st.Cookie, dmaHandle.Value), out var a) || a.Cpu != cpuAddr)
        {
            Warn("iommu-dma-free-unknown", dev, dmaHandle.Value, $"{dev.Name}: dma_free of DMA address 0x{dmaHandle.Value:x} / CPU address {cpuAddr} that iommu-dma did not allocate");
            if (a is not null) _allocs[(st.Cookie, dmaHandle.Value)] = a;
            return;
        }
        IommuDmaUnmap(st, dmaHandle, a.Size, cpu);
        ReleaseBuffer(dev, a);
    }

    /// <summary>dma_common_alloc_pages(): a contiguous block mapped with map_page(SKIP_CPU_SYNC) and zeroed.</summary>
    public override PhysAddr? AllocPages(Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp, int cpu)
    {
        dmaHandle = DmaAddr.MappingError;
        var p = AllocContiguous(dev, size, gfp);
        if (p is null)
        {
            int order = DmaCoherentMemory.GetOrder(size);
            if (order > MaxPageOrder || !_mem.PageAllocator.TryAllocPages(order, gfp, out var b)) return null;
            p = b;
        }
        dmaHandle = MapPage(dev, p.Value, size, dir, DmaAttrs.SkipCpuSync, cpu);
        if (dmaHandle.IsError) { FreeContiguous(dev, p.Value, size); return null; }
        ZeroPages(p.Value, PageAlign(size));
        return p;
    }

    /// <summary>dma_common_free_pages(): unmap(SKIP_CPU_SYNC), then the block goes back.</summary>
    public override void FreePages(Device dev, ulong size, PhysAddr page, DmaAddr dmaHandle, DmaDirection dir, int cpu)
    {
        UnmapPage(dev, dmaHandle, size, dir, DmaAttrs.SkipCpuSync, cpu);
        FreeContiguous(dev, page, size);
    }

    /// <summary>Linux: iommu_dma_mmap(): -ENXIO past the buffer, else the pages from the VMA's offset with dma_pgprot().</summary>
    public override int Mmap(Device dev, UserVma vma, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs, out DmaUserMapping mapping)
    {
        mapping = default;
        ulong nrPages = PageAlign(size) >> PhysAddr.PageShift;
        if (vma.PgOff >= nrPages || vma.Pages > nrPages - vma.PgOff) return -6;
        var st = State(dev);
        var prot = Coherent(dev) ? CpuMappingKind.Linear : (attrs & DmaAttrs.WriteCombine) != 0 ? CpuMappingKind.RemapWriteCombine : CpuMappingKind.RemapNonCached;
        PhysAddr phys;
        if (_allocs.TryGetValue((st.Cookie, dmaAddr.Value), out var a)) phys = PageAt(a, vma.PgOff);
        else phys = new PhysAddr(IommuCore.IovaToPhys(st.Cookie.Domain, dmaAddr.Value) & ~(PhysAddr.PageSize - 1)) + (vma.PgOff << PhysAddr.PageShift);
        mapping = new DmaUserMapping(vma.Start, phys, vma.Pages << PhysAddr.PageShift, prot);
        return 0;
    }

    static PhysAddr PageAt(IommuDmaAllocation a, ulong pageIndex)
    {
        foreach (var (p, o) in a.Chunks)
        {
            ulong n = 1UL << o;
            if (pageIndex < n) return p + (pageIndex << PhysAddr.PageShift);
            pageIndex -= n;
        }
        return a.Chunks[0].Page;
    }

    /// <summary>Linux: iommu_dma_get_sgtable(): a remapped buffer's pages (physically contiguous runs merged, as
    /// sg_alloc_table_from_pages does), otherwise one entry for the whole buffer.</summary>
    public override int GetSgtable(Device dev, Scatterlist sgt, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs)
    {
        var st = State(dev);
        if (!_allocs.TryGetValue((st.Cookie, dmaAddr.Value), out var a))
        {
            sgt.Init(1);
            sgt.Set(0, new PhysAddr(IommuCore.IovaToPhys(st.Cookie.Domain, dmaAddr.Value) & ~(PhysAddr.PageSize - 1)), 0, (uint)PageAlign(size));
            return 0;
        }
        int runs = 1;
        for (int i = 1; i < a.Chunks.Length; i++)
            if (a.Chunks[i].Page.Value != a.Chunks[i - 1].Page.Value + (PhysAddr.PageSize << a.Chunks[i - 1].Order)) runs++;
        sgt.Init(runs);
        ulong left = PageAlign(size);
        int r = 0;
        ulong start = a.Chunks[0].Page.Value, len = 0;
        for (int i = 0; i < a.Chunks.Length; i++)
        {
            ulong cl = PhysAddr.PageSize << a.Chunks[i].Order;
            if (len != 0 && a.Chunks[i].Page.Value != start + len)
            {
                sgt.Set(r++, new PhysAddr(start), 0, (uint)Math.Min(len, left));
                left -= Math.Min(len, left);
                start = a.Chunks[i].Page.Value;
                len = 0;
            }
            len += cl;
        }
        sgt.Set(r, new PhysAddr(start), 0, (uint)Math.Min(len, left));
        return 0;
    }
}
