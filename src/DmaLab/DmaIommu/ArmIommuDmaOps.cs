using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.DmaIommu;

/// <summary>
/// The 32-bit ARM IOMMU DMA ops (Linux: arch/arm/mm/dma-mapping.c, arm_iommu_ops / arm_coherent_iommu_ops). Every
/// master gets its own <see cref="ArmIommuMapping"/> (arm_setup_iommu_dma_ops() → arm_iommu_create_mapping() +
/// arm_iommu_attach_device()): an UNMANAGED domain and a bitmap IOVA allocator. Unmaps invalidate at once
/// (iommu_unmap(), no flush queue); non-coherent masters get the streaming cache maintenance around every map and
/// unmap unless DMA_ATTR_SKIP_CPU_SYNC. No IOMMU_CACHE is ever set (__dma_info_to_prot()).
/// </summary>
public sealed class ArmIommuDmaOps : DmaMapOpsBase
{
    /// <summary>__iommu_alloc_buffer(): 2M, 1M, 64K, then 4K chunks.</summary>
    static readonly int[] OrderArray = { 9, 8, 4, 0 };

    readonly IommuCore _core;
    readonly MemorySystem _mem;
    readonly DmaDirectOps _direct;
    readonly Dictionary<Device, ArmIommuMapping> _maps = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<(ArmIommuMapping, ulong), Allocation> _allocs = new();

    sealed record Allocation(List<(PhysAddr Page, int Order)> Chunks, ulong Size, CpuAddr Cpu, bool Remapped, bool AtomicPool, DmaAttrs Attrs);

    public ArmIommuDmaOps(IommuCore core, MemorySystem memory, KernelAddressSpace kva, CpuCache? cache, DmaDirectOps direct) : base(kva, cache)
    {
        _core = core ?? throw new ArgumentNullException(nameof(core));
        _mem = memory ?? throw new ArgumentNullException(nameof(memory));
        _direct = direct ?? throw new ArgumentNullException(nameof(direct));
    }

    public override string Name => "arm-iommu";

    /// <summary>The mapping of <paramref name="dev"/> (to_dma_iommu_mapping()), or null when it does not use these ops.</summary>
    public ArmIommuMapping? MappingOf(Device dev) => _maps.GetValueOrDefault(dev);

    /// <summary>
    /// Linux: arm_setup_iommu_dma_ops(): the window is the device's dma-ranges (lowest bus address to highest end)
    /// or [0, 4 GiB); arm_iommu_create_mapping() sizes the bitmaps and allocates an UNMANAGED domain,
    /// __arm_iommu_attach_device() attaches it. Returns 0 (dev->dma_ops set) or -errno (the device stays as it was).
    /// </summary>
    public int Setup(Device dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        ulong dmaBase = 0, size = 1UL << 32;
        var ranges = dev.Spec.DmaRanges;
        if (ranges.Count > 0)
        {
            ulong lo = ulong.MaxValue, hi = 0;
            foreach (var r in ranges) { lo = Math.Min(lo, r.BusAddr); hi = Math.Max(hi, r.BusAddr + r.Size); }
            dmaBase = lo;
            size = hi - lo;
        }
        var probe = ArmIommuMapping.Create(dmaBase, size, null, out int err);
        if (probe is null) return err;
        var dom = _core.DomainAllocPaging(dev);
        if (dom is null) return -Errno.ENOMEM;
        int ret = _core.AttachDevice(dom, dev);
        if (ret != 0) { _core.DomainFree(dom); return ret; }
        _maps[dev] = ArmIommuMapping.Create(dmaBase, size, dom, out _)!;
        dev.DmaOps = this;
        return 0;
    }

    ArmIommuMapping Map(Device dev) => _maps.TryGetValue(dev, out var m) ? m
        : throw new InvalidOperationException($"device {dev.Name} uses arm-iommu ops without a mapping (ArmIommuDmaOps.Setup)");

    bool Coherent(Device dev) => dev.Coherent || Cache is null;
    static ulong PageAlign(ulong v) => (v + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1);
    const ulong PageMask = PhysAddr.PageSize - 1;

    /// <summary>Linux: __dma_info_to_prot(): PRIV from the attributes, READ/WRITE from the direction; never IOMMU_CACHE.</summary>
    public static IommuProt DmaInfoToProt(DmaDirection dir, DmaAttrs attrs)
    {
        var prot = (attrs & DmaAttrs.Privileged) != 0 ? IommuProt.Priv : IommuProt.None;
        return dir switch
        {
            DmaDirection.Bidirectional => prot | IommuProt.Read | IommuProt.Write,
            DmaDirection.ToDevice => prot | IommuProt.Read,
            DmaDirection.FromDevice => prot | IommuProt.Write,
            _ => prot,
        };
    }

    /// <summary>Linux: arm_iommu_map_page(): cache clean for non-coherent masters, then PAGE_ALIGN(size + offset) of
    /// IOVA mapped to the page; the handle keeps the offset within the page.</summary>
    public override DmaAddr MapPage(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        var m = Map(dev);
        ulong offset = phys.Value & PageMask;
        ulong page = phys.Value - offset;
        ulong len = PageAlign(size + offset);
        if (!Coherent(dev) && (attrs & DmaAttrs.SkipCpuSync) == 0) ArchSyncForDevice(phys, size, dir);
        var iova = m.AllocIova(len);
        if (iova.IsError) return iova;
        if (_core.Map(m.Domain!, iova.Value, page, len, DmaInfoToProt(dir, attrs)) != 0)
        {
            m.FreeIova(iova.Value, len);
            return DmaAddr.MappingError;
        }
        return new DmaAddr(iova.Value + offset);
    }

    /// <summary>Linux: arm_iommu_unmap_page(): a handle whose page is IOVA 0 is ignored (the kernel's "!iova" test,
    /// which leaks that page when the window starts at 0); otherwise cache invalidate for non-coherent masters,
    /// iommu_unmap() (synchronous invalidation) and __free_iova().</summary>
    public override void UnmapPage(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        var m = Map(dev);
        ulong iova = addr.Value & ~PageMask;
        ulong offset = addr.Value & PageMask;
        ulong len = PageAlign(size + offset);
        if (iova == 0)
        {
            Warn("arm-iommu-iova0", dev, 0, $"{dev.Name}: unmap of IOVA page 0 is ignored by arm_iommu_unmap_page(); the mapping and its IOVA stay live");
            return;
        }
        if (!Coherent(dev) && (attrs & DmaAttrs.SkipCpuSync) == 0)
            ArchSyncForCpu(new PhysAddr(IommuCore.IovaToPhys(m.Domain!, iova) + offset), size, dir);
        _core.Unmap(m.Domain!, iova, len);
        m.FreeIova(iova, len);
    }

    /// <summary>Linux: __iommu_remove_mapping() (no "!iova" test here, unlike unmap_page).</summary>
    void RemoveMapping(Device dev, ulong handle, ulong size)
    {
        var m = Map(dev);
        ulong off = handle & PageMask;
        ulong iova = handle - off;
        size = PageAlign(size + off);
        _core.Unmap(m.Domain!, iova, size);
        m.FreeIova(iova, size);
    }

    /// <summary>Linux: __map_sg_chunk(): one IOVA run for entries [first, ...) covering PAGE_ALIGN(size), each entry's
    /// pages mapped in turn. 0 or -errno; on failure what was mapped is undone.</summary>
    int MapSgChunk(Device dev, Scatterlist sg, int first, ulong size, out ulong handle, DmaDirection dir, DmaAttrs attrs)
    {
        var m = Map(dev);
        size = PageAlign(size);
        handle = DmaAddr.MappingError.Value;
        var baseIova = m.AllocIova(size);
        if (baseIova.IsError) return -Errno.ENOMEM;
        ulong iova = baseIova.Value, count = 0;
        var prot = DmaInfoToProt(dir, attrs);
        for (int i = first; count < (size >> PhysAddr.PageShift); i++)
        {
            ref var s = ref sg[i];
            ulong len = PageAlign(s.Offset + (ulong)s.Length);
            if (!Coherent(dev) && (attrs & DmaAttrs.SkipCpuSync) == 0) ArchSyncForDevice(s.Phys, s.Length, dir);
            int ret = _core.Map(m.Domain!, iova, s.Page.Value, len, prot);
            if (ret != 0)
            {
                _core.Unmap(m.Domain!, baseIova.Value, count << PhysAddr.PageShift);
                m.FreeIova(baseIova.Value, size);
                return ret;
            }
            count += len >> PhysAddr.PageShift;
            iova += len;
        }
        handle = baseIova.Value;
        return 0;
    }

    /// <summary>Linux: arm_iommu_map_sg(): consecutive entries merge into one IOVA run while each next entry starts a
    /// page (offset 0), the run so far ends on a page boundary and the run stays within dma_get_max_seg_size().
    /// Returns the DMA segments, -ENOMEM or -EINVAL (mapped chunks undone).</summary>
    public override int MapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if (nents <= 0) return -Errno.EINVAL;
        ulong max = dev.MaxSegmentSize == 0 ? 65536 : dev.MaxSegmentSize;
        int start = 0, dma = 0, count = 0, ret;
        ulong offset = sg[0].Offset;
        ulong size = sg[0].Offset + (ulong)sg[0].Length;
        ulong handle;
        for (int i = 1; i < nents; i++)
        {
            ref var s = ref sg[i];
            s.DmaLength = 0;
            if (s.Offset != 0 || (size & PageMask) != 0 || size + s.Length > max)
            {
                ret = MapSgChunk(dev, sg, start, size, out handle, dir, attrs);
                if (ret < 0) goto bad;
                sg[dma].DmaAddress = new DmaAddr(handle + offset);
                sg[dma].DmaLength = (uint)(size - offset);
                size = offset = s.Offset;
                start = i;
                dma++;
                count++;
            }
            size += s.Length;
        }
        ret = MapSgChunk(dev, sg, start, size, out handle, dir, attrs);
        if (ret < 0) goto bad;
        sg[dma].DmaAddress = new DmaAddr(handle + offset);
        sg[dma].DmaLength = (uint)(size - offset);
        return count + 1;
    bad:
        for (int i = 0; i < count; i++) UnmapPage(dev, sg[i].DmaAddress, sg[i].DmaLength, dir, attrs, cpu);
        return ret == -Errno.ENOMEM ? ret : -Errno.EINVAL;
    }

    /// <summary>Linux: arm_iommu_unmap_sg(): every entry with a DMA length is removed; every entry's pages get the
    /// for-CPU cache maintenance on non-coherent masters.</summary>
    public override void UnmapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        for (int i = 0; i < nents; i++)
        {
            ref var s = ref sg[i];
            if (s.DmaLength != 0) RemoveMapping(dev, s.DmaAddress.Value, s.DmaLength);
            if (!Coherent(dev) && (attrs & DmaAttrs.SkipCpuSync) == 0) ArchSyncForCpu(s.Phys, s.Length, dir);
        }
    }

    /// <summary>Linux: arm_iommu_map_resource(): MMIO mapped with IOMMU_MMIO, no cache maintenance.</summary>
    public override DmaAddr MapResource(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        var m = Map(dev);
        ulong off = phys.Value & PageMask;
        ulong len = PageAlign(size + off);
        var iova = m.AllocIova(len);
        if (iova.IsError) return iova;
        if (_core.Map(m.Domain!, iova.Value, phys.Value - off, len, DmaInfoToProt(dir, attrs) | IommuProt.Mmio) != 0)
        {
            m.FreeIova(iova.Value, len);
            return DmaAddr.MappingError;
        }
        return new DmaAddr(iova.Value + off);
    }

    /// <summary>Linux: arm_iommu_unmap_resource() (same "!iova" test as unmap_page).</summary>
    public override void UnmapResource(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if ((addr.Value & ~PageMask) == 0)
        {
            Warn("arm-iommu-iova0", dev, 0, $"{dev.Name}: unmap of IOVA page 0 is ignored by arm_iommu_unmap_resource(); the mapping and its IOVA stay live");
            return;
        }
        RemoveMapping(dev, addr.Value, size);
    }

    /// <summary>Linux: arm_iommu_sync_single_for_cpu(): the page behind the IOVA, for-CPU maintenance.</summary>
    public override void SyncSingleForCpu(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu)
    {
        if (Coherent(dev) || addr.Value == 0) return;
        ArchSyncForCpu(new PhysAddr(IommuCore.IovaToPhys(Map(dev).Domain!, addr.Value)), size, dir);
    }

    /// <summary>Linux: arm_iommu_sync_single_for_device().</summary>
    public override void SyncSingleForDevice(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu)
    {
        if (Coherent(dev) || addr.Value == 0) return;
        ArchSyncForDevice(new PhysAddr(IommuCore.IovaToPhys(Map(dev).Domain!, addr.Value)), size, dir);
    }

    /// <summary>
    /// Linux: arm_iommu_alloc_attrs(): coherent masters and non-blocking callers take one simple buffer (linear pages,
    /// or the atomic pool for non-coherent masters); blocking non-coherent callers get __iommu_alloc_buffer() chunks
    /// (orders 9, 8, 4, 0; only 0 with ALLOC_SINGLE_PAGES), __iommu_create_mapping() maps their contiguous runs
    /// READ|WRITE at one IOVA, and the pages are remapped unless NO_KERNEL_MAPPING.
    /// </summary>
    public override CpuAddr Alloc(Device dev, ulong size, out DmaAddr dmaHandle, Gfp gfp, DmaAttrs attrs, int cpu)
    {
        dmaHandle = DmaAddr.MappingError;
        var m = Map(dev);
        size = PageAlign(size);
        bool blocking = DmaContiguous.AllowBlocking(gfp);
        List<(PhysAddr Page, int Order)> chunks;
        CpuAddr cpuAddr;
        bool remapped = false, atomic = false;
        if (Coherent(dev) || !blocking)
        {
            PhysAddr page;
            if (!Coherent(dev))
            {
                var pool = _direct.AtomicPoolKernel;
                if (pool is null || !pool.TryAlloc(size, out page, out cpuAddr))
                {
                    Warn("atomic-pool-exhausted", dev, 0, $"{dev.Name}: arm_iommu atomic allocation of 0x{size:x} failed");
                    return CpuAddr.Null;
                }
                atomic = true;
            }
            else
            {
                int order = ArmIommuMapping.GetOrder(size);
                if (!_mem.PageAllocator.TryAllocPages(order, gfp, out page)) return CpuAddr.Null;
                _mem.Memory.Fill(page, size, 0);
                cpuAddr = Kva.LinearAddress(page);
            }
            chunks = new() { (page, -1) };
        }
        else
        {
            var got = AllocBuffer(size, gfp, attrs);
            if (got is null) return CpuAddr.Null;
            chunks = got;
            foreach (var (p, o) in chunks) ArchDmaPrepCoherent(p, PhysAddr.PageSize << o);
            cpuAddr = default;
        }
        var iova = CreateMapping(m, chunks, size, attrs);
        if (iova.IsError) { Release(new Allocation(chunks, size, cpuAddr, false, atomic, attrs)); return CpuAddr.Null; }
        if (chunks[0].Order >= 0)
        {
            if ((attrs & DmaAttrs.NoKernelMapping) != 0)
            {
                Kva.AccountNoKernelMapping(size);
                cpuAddr = Kva.PageCookie(chunks[0].Page);
            }
            else
            {
                var kind = (attrs & DmaAttrs.WriteCombine) != 0 ? CpuMappingKind.RemapWriteCombine : CpuMappingKind.RemapNonCached;
                cpuAddr = Kva.Remap(chunks[0].Page, size, kind, "arm_iommu_alloc_attrs");
                if (cpuAddr.IsNull) { RemoveMapping(dev, iova.Value, size); Release(new Allocation(chunks, size, cpuAddr, false, false, attrs)); return CpuAddr.Null; }
                remapped = true;
            }
        }
        dmaHandle = iova;
        _allocs[(m, iova.Value)] = new Allocation(chunks, size, cpuAddr, remapped, atomic, attrs);
        return cpuAddr;
    }

    /// <summary>Linux: __iommu_alloc_buffer() order walk (zeroed chunks), or null with everything given back.</summary>
    List<(PhysAddr Page, int Order)>? AllocBuffer(ulong size, Gfp gfp, DmaAttrs attrs)
    {
        long count = (long)(size >> PhysAddr.PageShift);
        int idx = (attrs & DmaAttrs.AllocSinglePages) != 0 ? OrderArray.Length - 1 : 0;
        var chunks = new List<(PhysAddr, int)>();
        while (count > 0)
        {
            int order = OrderArray[idx];
            if (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)count) < order) { idx++; continue; }
            if (!_mem.PageAllocator.TryAllocPages(order, gfp, out var p))
            {
                if (order != 0) { idx++; continue; }
                foreach (var (cp, co) in chunks) _mem.PageAllocator.FreePages(cp, co);
                return null;
            }
            _mem.Memory.Fill(p, PhysAddr.PageSize << order, 0);
            chunks.Add((p, order));
            count -= 1L << order;
        }
        return chunks;
    }

    /// <summary>Linux: __iommu_create_mapping(): one IOVA run, physically contiguous pages mapped together with
    /// __dma_info_to_prot(DMA_BIDIRECTIONAL, attrs).</summary>
    DmaAddr CreateMapping(ArmIommuMapping m, List<(PhysAddr Page, int Order)> chunks, ulong size, DmaAttrs attrs)
    {
        var dma = m.AllocIova(size);
        if (dma.IsError) return dma;
        ulong iova = dma.Value;
        int i = 0;
        while (i < chunks.Count)
        {
            ulong phys = chunks[i].Page.Value;
            ulong len = chunks[i].Order < 0 ? size : PhysAddr.PageSize << chunks[i].Order;
            int j = i + 1;
            while (j < chunks.Count && chunks[j].Page.Value == phys + len) { len += PhysAddr.PageSize << chunks[j].Order; j++; }
            if (_core.Map(m.Domain!, iova, phys, len, DmaInfoToProt(DmaDirection.Bidirectional, attrs)) != 0)
            {
                _core.Unmap(m.Domain!, dma.Value, iova - dma.Value);
                m.FreeIova(dma.Value, size);
                return DmaAddr.MappingError;
            }
            iova += len;
            i = j;
        }
        return dma;
    }

    void Release(Allocation a)
    {
        if (a.Remapped) Kva.Unmap(a.Cpu);
        if (a.AtomicPool) { _direct.AtomicPoolKernel!.Free(a.Cpu, a.Size); return; }
        foreach (var (p, o) in a.Chunks) _mem.PageAllocator.FreePages(p, o < 0 ? ArmIommuMapping.GetOrder(a.Size) : o);
    }

    /// <summary>Linux: arm_iommu_free_attrs(): WARN for an unknown buffer, else unmap, remove the mapping, free the pages.</summary>
    public override void Free(Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaAttrs attrs, int cpu)
    {
        var m = Map(dev);
        if (!_allocs.TryGetValue((m, dmaHandle.Value), out var a) || a.Cpu != cpuAddr)
        {
            Warn("arm-iommu-free-invalid", dev, dmaHandle.Value, $"{dev.Name}: trying to free invalid coherent area {cpuAddr} (DMA 0x{dmaHandle.Value:x})");
            return;
        }
        _allocs.Remove((m, dmaHandle.Value));
        RemoveMapping(dev, dmaHandle.Value, a.Size);
        Release(a);
    }

    /// <summary>dma_common_alloc_pages() over these ops: a block mapped with map_page(SKIP_CPU_SYNC), zeroed.</summary>
    public override PhysAddr? AllocPages(Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp, int cpu)
    {
        dmaHandle = DmaAddr.MappingError;
        int order = ArmIommuMapping.GetOrder(size);
        if (!_mem.PageAllocator.TryAllocPages(order, gfp, out var p)) return null;
        dmaHandle = MapPage(dev, p, size, dir, DmaAttrs.SkipCpuSync, cpu);
        if (dmaHandle.IsError) { _mem.PageAllocator.FreePages(p, order); return null; }
        _mem.Memory.Fill(p, PageAlign(size), 0);
        return p;
    }

    public override void FreePages(Device dev, ulong size, PhysAddr page, DmaAddr dmaHandle, DmaDirection dir, int cpu)
    {
        UnmapPage(dev, dmaHandle, size, dir, DmaAttrs.SkipCpuSync, cpu);
        _mem.PageAllocator.FreePages(page, ArmIommuMapping.GetOrder(size));
    }

    /// <summary>Linux: arm_iommu_mmap_attrs(): -ENXIO for an unknown buffer or a window past its end.</summary>
    public override int Mmap(Device dev, UserVma vma, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs, out DmaUserMapping mapping)
    {
        mapping = default;
        ulong nr = PageAlign(size) >> PhysAddr.PageShift;
        if (!_allocs.TryGetValue((Map(dev), dmaAddr.Value), out var a) || vma.PgOff >= nr || vma.Pages > nr - vma.PgOff) return -6;
        var kind = (attrs & DmaAttrs.WriteCombine) != 0 ? CpuMappingKind.RemapWriteCombine : Coherent(dev) ? CpuMappingKind.Linear : CpuMappingKind.RemapNonCached;
        mapping = new DmaUserMapping(vma.Start, new PhysAddr(IommuCore.IovaToPhys(Map(dev).Domain!, dmaAddr.Value + (vma.PgOff << PhysAddr.PageShift))), vma.Pages << PhysAddr.PageShift, kind);
        return 0;
    }

    /// <summary>Linux: arm_iommu_get_sgtable(): the buffer's pages (physically contiguous runs merged); -ENXIO when unknown.</summary>
    public override int GetSgtable(Device dev, Scatterlist sgt, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs)
    {
        if (!_allocs.TryGetValue((Map(dev), dmaAddr.Value), out var a)) return -6;
        var runs = new List<(ulong Phys, ulong Len)>();
        foreach (var (p, o) in a.Chunks)
        {
            ulong len = o < 0 ? a.Size : PhysAddr.PageSize << o;
            if (runs.Count > 0 && runs[^1].Phys + runs[^1].Len == p.Value) runs[^1] = (runs[^1].Phys, runs[^1].Len + len);
            else runs.Add((p.Value, len));
        }
        sgt.Init(runs.Count);
        for (int i = 0; i < runs.Count; i++) sgt.Set(i, new PhysAddr(runs[i].Phys), 0, (uint)runs[i].Len);
        return 0;
    }

    /// <summary>The mapping covers at most 32 bits of IOVA; any mask reaching its end works (arm_dma_supported()).</summary>
    public override bool DmaSupported(Device dev, ulong mask) => mask >= 0xffffffffUL || _maps.TryGetValue(dev, out var m) && mask >= m.Base + m.BitmapSpan * (ulong)m.Extensions - 1;
    public override ulong GetRequiredMask(Device dev) => 0xffffffffUL;
    public override ulong MaxMappingSize(Device dev) => ulong.MaxValue;
}
