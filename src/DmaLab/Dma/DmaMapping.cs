using System.Runtime.CompilerServices;
using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Mm;
using DmaLab.Trace;

namespace DmaLab.Dma;

/// <summary>
/// The driver-facing DMA API (Linux: kernel/dma/mapping.c and include/linux/dma-mapping.h) with the kernel's
/// semantics: dispatch to the device's <see cref="IDmaMapOps"/>, the 6.18 dma:* trace event of each call (only when
/// the sink is enabled), dma-debug checks, per-device coherent memory ahead of the ops, and the mask helpers.
/// Every call names the CPU it runs on. Misuse is never an exception: it is a <see cref="Finding"/>.
/// The CPU accessors (<see cref="CpuRead"/>, <see cref="CpuWrite"/>) let workloads touch buffers through the
/// addresses the API returned, with the cache behaviour of the mapping kind.
/// </summary>
public sealed class DmaMapping
{
    readonly List<Finding> _findings = new();

    public DmaMapping(KernelAddressSpace kva, CpuCache? cache, DmaDebug? debug = null, ITraceSink? trace = null)
    {
        Kva = kva ?? throw new ArgumentNullException(nameof(kva));
        Cache = cache;
        Debug = debug;
        Trace = trace ?? NullTraceSink.Instance;
    }

    public KernelAddressSpace Kva { get; }
    public CpuCache? Cache { get; }
    public DmaDebug? Debug { get; }
    public ITraceSink Trace { get; set; }
    /// <summary>BUG_ON / WARN_ON of mapping.c itself (bad direction, missing ops, CPU access through a cookie).</summary>
    public IReadOnlyList<Finding> Findings => _findings;
    public List<Finding> TakeFindings() { var r = new List<Finding>(_findings); _findings.Clear(); return r; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static IDmaMapOps Ops(Device dev) => dev.DmaOps ?? ThrowNoOps(dev);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static IDmaMapOps ThrowNoOps(Device dev) => throw new InvalidOperationException($"device {dev.Name} has no dma_map_ops: set it up (DmaDirectOps.Attach or arch_setup_dma_ops) before using the DMA API");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool ValidDirection(Device dev, DmaDirection dir, ulong addr)
    {
        if ((uint)dir <= (uint)DmaDirection.FromDevice) return true;
        _findings.Add(new Finding("invalid-direction", dev.Name, addr, $"{dev.Name}: BUG: invalid DMA direction {dir} (valid_dma_direction)"));
        return false;
    }

    // ---------------------------------------------------------------- streaming mappings

    /// <summary>dma_map_phys() / dma_map_page_attrs(page, offset): <paramref name="phys"/> is page + offset.</summary>
    public DmaAddr MapPage(int cpu, Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        if (!ValidDirection(dev, dir, phys.Value)) return DmaAddr.MappingError;
        if (dev.DmaMask == 0) { _findings.Add(new Finding("no-dma-mask", dev.Name, phys.Value, $"{dev.Name}: WARN: dma_map with no dma_mask")); return DmaAddr.MappingError; }
        var dma = Ops(dev).MapPage(dev, phys, size, dir, attrs, cpu);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_map_phys", DmaTrace.MapPhys(dev, phys, dma, size, dir, attrs));
        Debug?.MapPage(dev, phys, size, dir, dma, attrs, (attrs & DmaAttrs.Mmio) != 0 ? DmaDebug.EntryType.Resource : DmaDebug.EntryType.Single);
        return dma;
    }

    /// <summary>dma_map_single_attrs(): a linear-map (kmalloc) address; vmalloc and other addresses are findings.</summary>
    public DmaAddr MapSingle(int cpu, Device dev, CpuAddr cpuAddr, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        var kind = Kva.Resolve(cpuAddr, out var phys);
        if (kind != CpuMappingKind.Linear)
        {
            string what = kind is CpuMappingKind.RemapCached or CpuMappingKind.RemapNonCached or CpuMappingKind.RemapWriteCombine ? "vmalloc area" : "invalid area";
            if (Debug is { Enabled: true })
            {
                _findings.Add(new Finding("map-single-bad-area", dev.Name, cpuAddr.Value,
                    $"DMA-API: {dev.Name}: device driver maps memory from {what} [addr={cpuAddr.Value:x16}] [len={size}]"));
            }
            return DmaAddr.MappingError;
        }
        return MapPage(cpu, dev, phys, size, dir, attrs);
    }

    /// <summary>dma_map_resource(): dma_map_phys with DMA_ATTR_MMIO (6.18).</summary>
    public DmaAddr MapResource(int cpu, Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None) =>
        MapPage(cpu, dev, phys, size, dir, attrs | DmaAttrs.Mmio);

    /// <summary>dma_unmap_phys() / dma_unmap_page_attrs().</summary>
    public void UnmapPage(int cpu, Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        if (!ValidDirection(dev, dir, addr.Value)) return;
        Ops(dev).UnmapPage(dev, addr, size, dir, attrs, cpu);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_unmap_phys", DmaTrace.UnmapPhys(dev, addr, size, dir, attrs));
        Debug?.UnmapPage(dev, addr, size, dir, (attrs & DmaAttrs.Mmio) != 0 ? DmaDebug.EntryType.Resource : DmaDebug.EntryType.Single);
    }

    public void UnmapSingle(int cpu, Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None) =>
        UnmapPage(cpu, dev, addr, size, dir, attrs);

    public void UnmapResource(int cpu, Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None) =>
        UnmapPage(cpu, dev, addr, size, dir, attrs | DmaAttrs.Mmio);

    /// <summary>dma_mapping_error(): also tells dma-debug the driver checked.</summary>
    public bool MappingError(Device dev, DmaAddr addr)
    {
        Debug?.MappingErrorChecked(dev, addr);
        return addr.IsError;
    }

    /// <summary>dma_map_sg_attrs(): mapped entries, or 0 on failure (dma_map_sg_err event).</summary>
    public int MapSg(int cpu, Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        if (!ValidDirection(dev, dir, 0)) return 0;
        int ents = Ops(dev).MapSg(dev, sg, nents, dir, attrs, cpu);
        if (ents > 0)
        {
            sg.MappedNents = ents;
            if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_map_sg", DmaTrace.MapSg(dev, sg, nents, ents, dir, attrs));
            Debug?.MapSg(dev, sg, nents, ents, dir, attrs);
            return ents;
        }
        sg.MappedNents = 0;
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_map_sg_err", DmaTrace.MapSgErr(dev, sg, nents, ents, dir, attrs));
        return 0;
    }

    /// <summary>dma_unmap_sg_attrs(): <paramref name="nents"/> is what was passed to dma_map_sg (not its result).</summary>
    public void UnmapSg(int cpu, Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        if (!ValidDirection(dev, dir, 0)) return;
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_unmap_sg", DmaTrace.UnmapSg(dev, sg, nents, dir, attrs));
        Debug?.UnmapSg(dev, sg, nents, dir);
        Ops(dev).UnmapSg(dev, sg, nents, dir, attrs, cpu);
    }

    // ---------------------------------------------------------------- syncs

    /// <summary>dma_dev_need_sync(): skipped for coherent dma-direct devices that never bounced, unless dma-debug is on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool NeedSync(Device dev) => !dev.DmaState.SkipSync || Debug is { Enabled: true } || dev.DmaOps is not DmaDirectOps;

    public void SyncSingleForCpu(int cpu, Device dev, DmaAddr addr, ulong size, DmaDirection dir)
    {
        if (!NeedSync(dev) || !ValidDirection(dev, dir, addr.Value)) return;
        Ops(dev).SyncSingleForCpu(dev, addr, size, dir, cpu);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_sync_single_for_cpu", DmaTrace.SyncSingle(dev, addr, size, dir));
        Debug?.SyncSingle(dev, addr, size, dir, toCpu: true);
    }

    public void SyncSingleForDevice(int cpu, Device dev, DmaAddr addr, ulong size, DmaDirection dir)
    {
        if (!NeedSync(dev) || !ValidDirection(dev, dir, addr.Value)) return;
        Ops(dev).SyncSingleForDevice(dev, addr, size, dir, cpu);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_sync_single_for_device", DmaTrace.SyncSingle(dev, addr, size, dir));
        Debug?.SyncSingle(dev, addr, size, dir, toCpu: false);
    }

    public void SyncSgForCpu(int cpu, Device dev, Scatterlist sg, int nelems, DmaDirection dir)
    {
        if (!NeedSync(dev) || !ValidDirection(dev, dir, 0)) return;
        Ops(dev).SyncSgForCpu(dev, sg, nelems, dir, cpu);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_sync_sg_for_cpu", DmaTrace.SyncSg(dev, sg, nelems, dir));
        Debug?.SyncSg(dev, sg, nelems, dir, toCpu: true);
    }

    public void SyncSgForDevice(int cpu, Device dev, Scatterlist sg, int nelems, DmaDirection dir)
    {
        if (!NeedSync(dev) || !ValidDirection(dev, dir, 0)) return;
        Ops(dev).SyncSgForDevice(dev, sg, nelems, dir, cpu);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_sync_sg_for_device", DmaTrace.SyncSg(dev, sg, nelems, dir));
        Debug?.SyncSg(dev, sg, nelems, dir, toCpu: false);
    }

    // ---------------------------------------------------------------- allocations

    /// <summary>
    /// dma_alloc_attrs(): per-device coherent memory first (exclusive when present), else the ops with the zone
    /// bits stripped from <paramref name="gfp"/> (the implementation picks the zone).
    /// </summary>
    public CpuAddr AllocAttrs(int cpu, Device dev, ulong size, out DmaAddr dmaHandle, Gfp gfp, DmaAttrs attrs = DmaAttrs.None)
    {
        if (dev.CoherentDmaMask == 0) _findings.Add(new Finding("no-coherent-mask", dev.Name, 0, $"{dev.Name}: WARN: dma_alloc_attrs with no coherent_dma_mask"));
        var mem = dev.DmaState.CoherentMemory;
        CpuAddr ret;
        if (mem is not null)
        {
            if (mem.TryAlloc(size, out dmaHandle, out ret, out var phys)) Cache?.Memory.Fill(phys, size, 0);
            if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_alloc", DmaTrace.Alloc(dev, ret, dmaHandle, size, DmaDirection.Bidirectional, gfp, attrs));
            if (ret.IsNull) AllocFailed(dev, size, gfp, attrs, "per-device coherent pool");
            return ret;
        }
        gfp &= ~(Gfp.Dma | Gfp.Dma32);
        ret = Ops(dev).Alloc(dev, size, out dmaHandle, gfp, attrs, cpu);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_alloc", DmaTrace.Alloc(dev, ret, dmaHandle, size, DmaDirection.Bidirectional, gfp, attrs));
        if (ret.IsNull) AllocFailed(dev, size, gfp, attrs, Ops(dev).Name);
        if (!ret.IsNull && Debug is not null)
        {
            var kind = Kva.Resolve(ret, out var p);
            if (kind != CpuMappingKind.PageCookie && kind != CpuMappingKind.Unmapped) Debug.AllocCoherent(dev, size, dmaHandle, p, attrs);
        }
        return ret;
    }

    /// <summary>
    /// A NULL from dma_alloc_attrs() is what the driver sees; the kernel's log says why (warn_alloc() "page
    /// allocation failure", a WARN from the IOMMU map). It becomes a finding unless the caller asked for silence
    /// (__GFP_NOWARN / DMA_ATTR_NO_WARN), so a failed ring or queue allocation is never silent.
    /// </summary>
    void AllocFailed(Device dev, ulong size, Gfp gfp, DmaAttrs attrs, string via)
    {
        if ((gfp & Gfp.NoWarn) != 0 || (attrs & DmaAttrs.NoWarn) != 0) return;
        _findings.Add(new Finding("dma-alloc-failed", dev.Name, 0,
            $"{dev.Name}: dma_alloc_attrs of {size} bytes (mode:{GfpZones.FormatMode(gfp)}) failed through {via}: returned NULL"));
    }

    public CpuAddr AllocCoherent(int cpu, Device dev, ulong size, out DmaAddr dmaHandle, Gfp gfp) =>
        AllocAttrs(cpu, dev, size, out dmaHandle, gfp, DmaAttrs.None);

    /// <summary>dma_free_attrs()</summary>
    public void FreeAttrs(int cpu, Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaAttrs attrs = DmaAttrs.None)
    {
        var mem = dev.DmaState.CoherentMemory;
        if (mem is not null && mem.Release(cpuAddr, DmaCoherentMemory.GetOrder(size))) return;
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_free", DmaTrace.Free(dev, cpuAddr, dmaHandle, size, DmaDirection.Bidirectional, attrs));
        if (cpuAddr.IsNull) return;
        if (Debug is not null)
        {
            var kind = Kva.Resolve(cpuAddr, out var p);
            if (kind != CpuMappingKind.PageCookie && kind != CpuMappingKind.Unmapped) Debug.FreeCoherent(dev, size, p, dmaHandle);
        }
        Ops(dev).Free(dev, size, cpuAddr, dmaHandle, attrs, cpu);
    }

    public void FreeCoherent(int cpu, Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle) =>
        FreeAttrs(cpu, dev, size, cpuAddr, dmaHandle, DmaAttrs.None);

    /// <summary>dma_alloc_pages(): pages the CPU reaches through the linear map; zone bits in gfp are a WARN.</summary>
    public PhysAddr? AllocPages(int cpu, Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp)
    {
        dmaHandle = DmaAddr.MappingError;
        if ((gfp & (Gfp.Dma | Gfp.Dma32)) != 0)
        {
            _findings.Add(new Finding("alloc-pages-zone-gfp", dev.Name, 0, $"{dev.Name}: WARN: dma_alloc_pages with a zone modifier in gfp"));
            return null;
        }
        size = (size + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1);
        var page = Ops(dev).AllocPages(dev, size, out dmaHandle, dir, gfp, cpu);
        if (Trace.Enabled)
            Trace.Write(cpu, "dma", "dma_alloc_pages", DmaTrace.Alloc(dev, page is { } p0 ? Kva.LinearAddress(p0) : CpuAddr.Null, dmaHandle, size, dir, gfp, DmaAttrs.None));
        if (page is { } p) Debug?.MapPage(dev, p, size, dir, dmaHandle, DmaAttrs.None);
        if (page is not null) Debug?.MappingErrorChecked(dev, dmaHandle);
        return page;
    }

    /// <summary>dma_free_pages()</summary>
    public void FreePages(int cpu, Device dev, ulong size, PhysAddr page, DmaAddr dmaHandle, DmaDirection dir)
    {
        size = (size + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1);
        if (Trace.Enabled) Trace.Write(cpu, "dma", "dma_free_pages", DmaTrace.Free(dev, Kva.LinearAddress(page), dmaHandle, size, dir, DmaAttrs.None));
        Debug?.UnmapPage(dev, dmaHandle, size, dir);
        Ops(dev).FreePages(dev, size, page, dmaHandle, dir, cpu);
    }

    /// <summary>dma_alloc_noncoherent(): a cacheable buffer the driver syncs like a streaming mapping.</summary>
    public CpuAddr AllocNoncoherent(int cpu, Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp)
    {
        var page = AllocPages(cpu, dev, size, out dmaHandle, dir, gfp);
        return page is { } p ? Kva.LinearAddress(p) : CpuAddr.Null;
    }

    public void FreeNoncoherent(int cpu, Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaDirection dir)
    {
        if (Kva.Resolve(cpuAddr, out var p) != CpuMappingKind.Linear)
        {
            _findings.Add(new Finding("free-noncoherent-bad-address", dev.Name, cpuAddr.Value, $"{dev.Name}: dma_free_noncoherent of {cpuAddr}, not a linear address"));
            return;
        }
        FreePages(cpu, dev, size, p, dmaHandle, dir);
    }

    /// <summary>dma_mmap_attrs(): 0 or -ENXIO.</summary>
    public int MmapAttrs(Device dev, UserVma vma, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs, out DmaUserMapping mapping) =>
        Ops(dev).Mmap(dev, vma, cpuAddr, dmaAddr, size, attrs, out mapping);

    /// <summary>dma_get_sgtable_attrs(): 0 or a negative errno.</summary>
    public int GetSgtableAttrs(Device dev, Scatterlist sgt, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs = DmaAttrs.None) =>
        Ops(dev).GetSgtable(dev, sgt, cpuAddr, dmaAddr, size, attrs);

    // ---------------------------------------------------------------- masks and limits

    public const int EIO = -5;

    /// <summary>dma_set_mask(): 0, or -EIO when the ops cannot support it.</summary>
    public int SetMask(Device dev, ulong mask)
    {
        if (!Ops(dev).DmaSupported(dev, mask)) return EIO;
        dev.DmaMask = mask;
        return 0;
    }

    /// <summary>dma_set_coherent_mask()</summary>
    public int SetCoherentMask(Device dev, ulong mask)
    {
        if (!Ops(dev).DmaSupported(dev, mask)) return EIO;
        dev.CoherentDmaMask = mask;
        return 0;
    }

    /// <summary>dma_set_mask_and_coherent()</summary>
    public int SetMaskAndCoherent(Device dev, ulong mask)
    {
        int rc = SetMask(dev, mask);
        return rc == 0 ? SetCoherentMask(dev, mask) : rc;
    }

    public ulong MaxMappingSize(Device dev) => Ops(dev).MaxMappingSize(dev);

    /// <summary>dma_opt_mapping_size(): min(ops' optimum, dma_max_mapping_size()).</summary>
    public ulong OptMappingSize(Device dev) => Math.Min(Ops(dev).OptMappingSize(), MaxMappingSize(dev));

    public ulong GetRequiredMask(Device dev) => Ops(dev).GetRequiredMask(dev);

    // ---------------------------------------------------------------- CPU access through API addresses

    /// <summary>
    /// A CPU load through a kernel address the API returned: cacheable for the linear map, straight to memory
    /// for uncached / write-combine remaps, a finding (and bus error) for a NO_KERNEL_MAPPING cookie.
    /// </summary>
    public MemAccess CpuRead(Device dev, CpuAddr va, Span<byte> dst)
    {
        var kind = Kva.Resolve(va, out var phys);
        switch (kind)
        {
            case CpuMappingKind.Linear or CpuMappingKind.RemapCached:
                return Cache is null ? throw NoMemory() : Cache.CpuRead(phys, dst);
            case CpuMappingKind.RemapNonCached or CpuMappingKind.RemapWriteCombine:
                return Cache!.Memory.Read(phys, dst);
            default:
                return BadAccess(dev, va, kind, "read");
        }
    }

    /// <summary>A CPU store through a kernel address the API returned (see <see cref="CpuRead"/>).</summary>
    public MemAccess CpuWrite(Device dev, CpuAddr va, ReadOnlySpan<byte> src)
    {
        var kind = Kva.Resolve(va, out var phys);
        switch (kind)
        {
            case CpuMappingKind.Linear or CpuMappingKind.RemapCached:
                return Cache is null ? throw NoMemory() : Cache.CpuWrite(phys, src);
            case CpuMappingKind.RemapNonCached or CpuMappingKind.RemapWriteCombine:
                return Cache!.Memory.Write(phys, src);
            default:
                return BadAccess(dev, va, kind, "write");
        }
    }

    static InvalidOperationException NoMemory() => new("DmaMapping CPU access needs a CpuCache (the CPU's view of memory)");

    MemAccess BadAccess(Device dev, CpuAddr va, CpuMappingKind kind, string op)
    {
        string why = kind == CpuMappingKind.PageCookie
            ? "a DMA_ATTR_NO_KERNEL_MAPPING cookie (struct page pointer) has no kernel mapping"
            : "no kernel mapping exists at that address";
        _findings.Add(new Finding(kind == CpuMappingKind.PageCookie ? "cpu-access-no-kernel-mapping" : "cpu-access-unmapped",
            dev.Name, va.Value, $"{dev.Name}: CPU {op} through {va}: {why}"));
        return MemAccess.BusError;
    }
}
