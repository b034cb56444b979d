using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Dma;

/// <summary>
/// The part of the kernel's virtual address space the DMA layer uses: the linear map (phys + PAGE_OFFSET), the
/// vmalloc area where dma_common_contiguous_remap() (kernel/dma/remap.c) and memremap() place non-cacheable views,
/// and vmemmap, whose struct page addresses are the cookies DMA_ATTR_NO_KERNEL_MAPPING returns. The vmalloc area
/// has the platform's size (<see cref="PlatformSpec.VmallocSize"/>); each area carries a guard page as
/// __get_vm_area_node() adds one, so remaps cost real space and can run out (vmap returns NULL).
/// Base addresses are those of arm64 with 48-bit VAs (PAGE_OFFSET 0xffff000000000000, VMALLOC_START
/// 0xffff800080000000, VMEMMAP_START 0xfffffc0000000000) or x86_64 (page_offset_base 0xffff888000000000,
/// VMALLOC_START 0xffffc90000000000, vmemmap 0xffffea0000000000) without KASLR.
/// </summary>
public sealed class KernelAddressSpace
{
    /// <summary>sizeof(struct page) on 64-bit kernels.</summary>
    public const ulong StructPageSize = 64;
    readonly SortedList<ulong, VmArea> _areas = new();

    public KernelAddressSpace(string arch, ulong vmallocSize)
    {
        if (vmallocSize < PhysAddr.PageSize) throw new ArgumentException($"vmalloc size {vmallocSize}: expected at least one page");
        bool x86 = arch == "x86_64";
        LinearBase = x86 ? 0xffff_8880_0000_0000UL : 0xffff_0000_0000_0000UL;
        VmallocStart = x86 ? 0xffff_c900_0000_0000UL : 0xffff_8000_8000_0000UL;
        VmemmapBase = x86 ? 0xffff_ea00_0000_0000UL : 0xffff_fc00_0000_0000UL;
        VmallocSize = vmallocSize & ~(PhysAddr.PageSize - 1);
    }

    public static KernelAddressSpace For(PlatformSpec spec) => new(spec.Arch, spec.VmallocSize);

    public ulong LinearBase { get; }
    public ulong VmallocStart { get; }
    public ulong VmallocSize { get; }
    public ulong VmallocEnd => VmallocStart + VmallocSize;
    public ulong VmemmapBase { get; }
    /// <summary>Bytes of vmalloc space in use (guard pages included).</summary>
    public ulong VmallocUsed { get; private set; }
    public ulong VmallocPeak { get; private set; }
    /// <summary>Remaps refused because no hole was large enough.</summary>
    public long VmallocFailures { get; private set; }
    /// <summary>Bytes of vmalloc space that DMA_ATTR_NO_KERNEL_MAPPING allocations did not need (mapping + guard).</summary>
    public ulong VmallocSavedByNoKernelMapping { get; private set; }
    public int AreaCount => _areas.Count;

    /// <summary>page_address(): the linear-map address of <paramref name="phys"/>.</summary>
    public CpuAddr LinearAddress(PhysAddr phys) => new(LinearBase + phys.Value);

    /// <summary>The struct page pointer of the page holding <paramref name="phys"/> (the NO_KERNEL_MAPPING cookie).</summary>
    public CpuAddr PageCookie(PhysAddr phys) => new(VmemmapBase + phys.Pfn.Value * StructPageSize);

    public bool IsVmallocAddr(CpuAddr a) => a.Value >= VmallocStart && a.Value < VmallocEnd;

    /// <summary>
    /// vmap of a physically contiguous range (dma_common_contiguous_remap): first fit in the vmalloc area, size plus
    /// one guard page. Returns NULL when the area has no hole large enough.
    /// </summary>
    public CpuAddr Remap(PhysAddr phys, ulong size, CpuMappingKind kind, string caller)
    {
        if (kind is not (CpuMappingKind.RemapNonCached or CpuMappingKind.RemapWriteCombine or CpuMappingKind.RemapCached))
            throw new ArgumentException($"remap kind {kind} is not a vmalloc mapping");
        ulong pages = (size + phys.PageOffset + PhysAddr.PageSize - 1) >> PhysAddr.PageShift;
        ulong need = (pages + 1) << PhysAddr.PageShift;           // + guard page
        ulong cursor = VmallocStart;
        foreach (var (start, area) in _areas)
        {
            if (start - cursor >= need) break;
            cursor = start + area.Reserved;
        }
        if (cursor + need > VmallocEnd || cursor + need < cursor) { VmallocFailures++; return CpuAddr.Null; }
        _areas.Add(cursor, new VmArea(cursor, need, phys.PageAligned, pages << PhysAddr.PageShift, kind, caller));
        VmallocUsed += need;
        if (VmallocUsed > VmallocPeak) VmallocPeak = VmallocUsed;
        return new CpuAddr(cursor + phys.PageOffset);
    }

    /// <summary>vunmap(): false when <paramref name="va"/> does not start a remap (a caller bug the DMA layer reports).</summary>
    public bool Unmap(CpuAddr va)
    {
        ulong start = va.Value & ~(PhysAddr.PageSize - 1);
        if (!_areas.Remove(start, out var area)) return false;
        VmallocUsed -= area.Reserved;
        return true;
    }

    /// <summary>Records that an allocation of <paramref name="size"/> bytes skipped its kernel mapping.</summary>
    public void AccountNoKernelMapping(ulong size) =>
        VmallocSavedByNoKernelMapping += (((size + PhysAddr.PageSize - 1) >> PhysAddr.PageShift) + 1) << PhysAddr.PageShift;

    /// <summary>
    /// What <paramref name="va"/> is and the physical address behind it. For a page cookie the physical address is
    /// the page's (for bookkeeping), but the kind says it must not be accessed.
    /// </summary>
    public CpuMappingKind Resolve(CpuAddr va, out PhysAddr phys)
    {
        ulong v = va.Value;
        if (v >= VmallocStart && v < VmallocEnd)
        {
            int i = FloorIndex(v);
            if (i >= 0)
            {
                var area = _areas.Values[i];
                if (v - area.Start < area.MappedBytes) { phys = area.Phys + (v - area.Start); return area.Kind; }
            }
            phys = default;
            return CpuMappingKind.Unmapped;
        }
        if (v >= VmemmapBase && v < VmemmapBase + (1UL << (PhysicalMemory.MaxPhysBits - PhysAddr.PageShift)) * StructPageSize)
        {
            if ((v - VmemmapBase) % StructPageSize != 0) { phys = default; return CpuMappingKind.Unmapped; }
            phys = new Pfn((v - VmemmapBase) / StructPageSize).Address;
            return CpuMappingKind.PageCookie;
        }
        if (v >= LinearBase && v - LinearBase < (1UL << PhysicalMemory.MaxPhysBits))
        {
            phys = new PhysAddr(v - LinearBase);
            return CpuMappingKind.Linear;
        }
        phys = default;
        return CpuMappingKind.Unmapped;
    }

    int FloorIndex(ulong v)
    {
        var keys = _areas.Keys;
        int lo = 0, hi = keys.Count - 1, r = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (keys[mid] <= v) { r = mid; lo = mid + 1; } else hi = mid - 1;
        }
        return r;
    }

    /// <summary>One vmalloc area: its reservation (with guard page) and what it maps.</summary>
    public readonly record struct VmArea(ulong Start, ulong Reserved, PhysAddr Phys, ulong MappedBytes, CpuMappingKind Kind, string Caller);

    /// <summary>The areas in address order (reports, tests).</summary>
    public IEnumerable<VmArea> Areas => _areas.Values;
}
