using System.Runtime.CompilerServices;
using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Mm;
using DmaLab.Sim;
using DmaLab.Trace;

namespace DmaLab.Dma;

/// <summary>
/// One software IO TLB: Linux's struct io_tlb_mem with its single (non-dynamic) struct io_tlb_pool
/// (kernel/dma/swiotlb.c). The pool is a physically contiguous range of 2 KiB slots in
/// <see cref="PhysicalMemory"/>, split into <see cref="Areas"/> equal areas each with its own search index and
/// used count. A device reaches it through <see cref="Device.DmaIoTlbMem"/> (dev->dma_io_tlb_mem): the default
/// pool, or a per-device restricted-dma-pool.
/// This file is the slot allocator (swiotlb_search_pool_area, swiotlb_find_slots, swiotlb_release_slots);
/// SwiotlbPool.Bounce.cs has the mapping API and the copies. Behaviour checked against Linux 6.12.117 (the
/// golden capture's kernel) and the current tree, whose allocator is the same.
/// Single-threaded like the rest of the model: the area locks only decide which area a CPU searches first.
/// </summary>
public sealed partial class SwiotlbPool
{
    readonly PhysicalMemory _memory;
    readonly SwiotlbSlot[] _slots;
    readonly SwiotlbArea[] _areas;
    readonly ulong _start;
    readonly ulong _nslabs;
    readonly uint _areaNslabs;
    List<SwiotlbFull>? _failures;
    List<Finding>? _findings;

    /// <summary>
    /// Lays a pool over [<paramref name="range"/>) of <paramref name="memory"/>, as swiotlb_init_io_tlb_pool does:
    /// nslabs = size / 2 KiB, area_nslabs = nslabs / nareas, every slot free with its run counter set to the
    /// distance to the end of its segment (or of the pool), and the bounce memory zeroed.
    /// </summary>
    /// <param name="areas">number of areas, already a power of two and limited (see <see cref="Swiotlb.LimitAreas"/>)</param>
    /// <param name="forceBounce">io_tlb_mem.force_bounce: swiotlb=force, or a restricted pool</param>
    public SwiotlbPool(PhysicalMemory memory, MemRange range, int areas, SwiotlbPoolKind kind = SwiotlbPoolKind.Default,
        bool forceBounce = false, string name = "swiotlb")
    {
        ArgumentNullException.ThrowIfNull(memory);
        ulong nslabs = range.Size >> Swiotlb.IoTlbShift;
        if (nslabs == 0 || (range.Base.Value & (Swiotlb.IoTlbSize - 1)) != 0)
            throw new ArgumentException($"swiotlb pool '{name}' {range}: needs at least one 2 KiB slot and a 2 KiB aligned base");
        if (!memory.IsDram(range.Base, range.Size))
            throw new ArgumentException($"swiotlb pool '{name}' {range} is not inside DRAM");
        if (areas <= 0 || !System.Numerics.BitOperations.IsPow2(areas))
            throw new ArgumentException($"swiotlb pool '{name}': {areas} areas; expected a power of two >= 1");
        if ((ulong)areas > nslabs)
            throw new ArgumentException($"swiotlb pool '{name}': {areas} areas for {nslabs} slots");
        if (nslabs > int.MaxValue)
            throw new ArgumentException($"swiotlb pool '{name}' {range} is too large");

        _memory = memory;
        _start = range.Base.Value;
        _nslabs = nslabs;
        _areaNslabs = (uint)(nslabs / (ulong)areas);
        _slots = new SwiotlbSlot[nslabs];
        _areas = new SwiotlbArea[areas];
        Kind = kind;
        Name = name;
        ForceBounce = forceBounce || kind == SwiotlbPoolKind.Restricted;
        ForAlloc = kind == SwiotlbPoolKind.Restricted;
        InitSlots();
        memory.Fill(range.Base, nslabs << Swiotlb.IoTlbShift, 0);
    }

    public string Name { get; }
    public SwiotlbPoolKind Kind { get; }
    /// <summary>io_tlb_mem.force_bounce: every dma-direct streaming mapping of a device using this pool bounces.</summary>
    public bool ForceBounce { get; }
    /// <summary>io_tlb_mem.for_alloc: dma_alloc_* for the device comes from this pool too (restricted pools).</summary>
    public bool ForAlloc { get; }
    /// <summary>pool->start.</summary>
    public PhysAddr Start => new(_start);
    /// <summary>pool->end (exclusive).</summary>
    public PhysAddr End => new(_start + (_nslabs << Swiotlb.IoTlbShift));
    /// <summary>pool->nslabs (= mem->nslabs).</summary>
    public ulong TotalSlots => _nslabs;
    public int Areas => _areas.Length;
    /// <summary>pool->area_nslabs.</summary>
    public uint AreaSlots => _areaNslabs;
    public SwiotlbStats Stats { get; } = new();
    /// <summary>Where swiotlb:swiotlb_bounced events go.</summary>
    public ITraceSink Trace { get; set; } = NullTraceSink.Instance;
    /// <summary>Optional virtual clock advanced by the bounce copies (<see cref="Cost"/>.CopyNs).</summary>
    public SimClock? Clock { get; set; }
    public CostModel Cost { get; set; } = new();
    /// <summary>
    /// phys_to_dma() for this pool's devices. The default applies the device's dma-ranges (translate_phys_to_dma,
    /// DMA_MAPPING_ERROR when no range covers the address) or is the identity without them; dma-direct may
    /// install its own translation here.
    /// </summary>
    public Func<Device, PhysAddr, DmaAddr> PhysToDma { get; set; } = DefaultPhysToDma;

    /// <summary>Failed searches in order ("swiotlb buffer is full" records), the first <see cref="MaxFailureRecords"/>.</summary>
    public IReadOnlyList<SwiotlbFull> Failures => (IReadOnlyList<SwiotlbFull>?)_failures ?? [];
    /// <summary>Kernel WARNs and BUGs the pool hit (misuse by the caller), as findings.</summary>
    public IReadOnlyList<Finding> Findings => (IReadOnlyList<Finding>?)_findings ?? [];

    /// <summary>Read-only view of the slot array (tests, reports).</summary>
    public ReadOnlySpan<SwiotlbSlot> Slots => _slots;
    public ReadOnlySpan<SwiotlbArea> AreaStates => _areas;

    /// <summary>is_swiotlb_buffer(): <paramref name="paddr"/> lies in this pool (swiotlb_find_pool != NULL).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsSwiotlbBuffer(PhysAddr paddr) => paddr.Value >= _start && paddr.Value - _start < (_nslabs << Swiotlb.IoTlbShift);

    /// <summary>swiotlb_max_mapping_size() for <paramref name="dev"/>.</summary>
    public static ulong MaxMappingSize(Device dev) => Swiotlb.MaxMappingSize(MinAlignMask(dev));

    /// <summary>Restores the boot state: all slots free, indices and counters zero (tests; the kernel never does this).</summary>
    public void Reset()
    {
        InitSlots();
        Stats.UsedSlots = 0;
    }

    void InitSlots()
    {
        for (int i = 0; i < _areas.Length; i++) _areas[i] = default;
        for (long i = 0; i < (long)_nslabs; i++)
        {
            ref var s = ref _slots[i];
            s.List = (ushort)Math.Min((ulong)(Swiotlb.IoTlbSegSize - Swiotlb.IoTlbOffset(i)), _nslabs - (ulong)i);
            s.OrigAddr = Swiotlb.InvalidPhysAddr;
            s.AllocSize = 0;
            s.PadSlots = 0;
        }
    }

    /// <summary>dma_get_min_align_mask(): an unsigned int in the kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint MinAlignMask(Device dev) => (uint)dev.MinAlignMask;

    /// <summary>dma_get_seg_boundary(): ULONG_MAX when the device has no boundary set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong SegBoundary(Device dev) => dev.SegmentBoundaryMask == 0 ? ulong.MaxValue : dev.SegmentBoundaryMask;

    /// <summary>Linux: include/linux/dma-direct.h, phys_to_dma_unencrypted / translate_phys_to_dma.</summary>
    public static DmaAddr DefaultPhysToDma(Device dev, PhysAddr paddr)
    {
        var ranges = dev.Spec.DmaRanges;
        if (ranges.Count == 0) return new DmaAddr(paddr.Value);
        for (int i = 0; i < ranges.Count; i++)
        {
            var r = ranges[i];
            ulong offset = paddr.Value - r.CpuAddr;
            if (paddr.Value >= r.CpuAddr && offset < r.Size) return new DmaAddr(r.BusAddr + offset);
        }
        return DmaAddr.MappingError;
    }

    /// <summary>
    /// swiotlb_find_slots() without dynamic pools: search the area of <paramref name="cpu"/>
    /// (raw_smp_processor_id() &amp; (nareas - 1)) first, then the following areas in order, wrapping.
    /// Returns the first allocated slot index (padding slots included) or -1.
    /// </summary>
    internal int FindSlots(Device dev, ulong origAddr, ulong allocSize, uint allocAlignMask, int cpu)
    {
        // The dynamic variant (CONFIG_SWIOTLB_DYNAMIC, Debian's config) refuses anything over one segment up
        // front; the static one would fail the search anyway because no free run is longer than a segment.
        if (allocSize > Swiotlb.IoTlbSize * Swiotlb.IoTlbSegSize) return -1;
        int nareas = _areas.Length;
        int start = cpu & (nareas - 1), i = start;
        do
        {
            int index = SearchPoolArea(dev, i, origAddr, allocSize, allocAlignMask);
            if (index >= 0) return index;
            if (++i >= nareas) i = 0;
        } while (i != start);
        return -1;
    }

    /// <summary>
    /// swiotlb_search_pool_area(): the stride search of one area. The alignment the slot must have comes from
    /// alloc_align_mask (at least slot aligned; page aligned for requests of a page or more when neither mask
    /// is set) and from the device's min_align_mask bits above the slot size, which must equal the original
    /// address's. Slots failing that are stepped one by one; once aligned, the search jumps by the stride.
    /// </summary>
    int SearchPoolArea(Device dev, int areaIndex, ulong origAddr, ulong allocSize, uint allocAlignMask)
    {
        ref var area = ref _areas[areaIndex];
        ulong boundaryMask = SegBoundary(dev);
        ulong tblDmaAddr = PhysToDma(dev, new PhysAddr(_start)).Value & boundaryMask;
        ulong maxSlots = (boundaryMask >> Swiotlb.IoTlbShift) + 1;
        uint iotlbAlignMask = MinAlignMask(dev);
        uint nslots = (uint)Swiotlb.NrSlots(allocSize);
        uint offset = Swiotlb.AlignOffset(iotlbAlignMask, 0, origAddr);

        if (allocAlignMask == 0 && iotlbAlignMask == 0 && allocSize >= Swiotlb.PageSize)
            allocAlignMask = (uint)Swiotlb.PageSize - 1;
        allocAlignMask |= (uint)Swiotlb.IoTlbSize - 1;
        iotlbAlignMask &= ~allocAlignMask;
        uint stride = (uint)((Math.Max(allocAlignMask, iotlbAlignMask) >> Swiotlb.IoTlbShift) + 1);

        if (nslots > _areaNslabs - area.Used) return -1;

        uint slotBase = (uint)areaIndex * _areaNslabs;
        uint index = area.Index;
        ulong nrTbl = Swiotlb.NrSlots(tblDmaAddr);
        uint slotIndex;
        for (uint checkedSlots = 0; checkedSlots < _areaNslabs;)
        {
            slotIndex = slotBase + index;
            ulong tlbAddr = tblDmaAddr + ((ulong)slotIndex << Swiotlb.IoTlbShift);
            if ((tlbAddr & allocAlignMask) != 0 ||
                (origAddr != 0 && (tlbAddr & iotlbAlignMask) != (origAddr & iotlbAlignMask)))
            {
                index = WrapAreaIndex(index + 1);
                checkedSlots++;
                continue;
            }
            if (!IsSpanBoundary(slotIndex, nslots, nrTbl, maxSlots) && _slots[slotIndex].List >= nslots)
                return Take(ref area, slotIndex, index, nslots, allocSize, offset);
            index = WrapAreaIndex(index + stride);
            checkedSlots += stride;
        }
        return -1;
    }

    /// <summary>
    /// The "found" half of swiotlb_search_pool_area(): mark the run used and record each slot's remaining
    /// allocation size, then renumber the free slots just below it in the same segment (their runs now end at
    /// the allocation), advance the area's search index past the allocation, and count the slots.
    /// </summary>
    int Take(ref SwiotlbArea area, uint slotIndex, uint index, uint nslots, ulong allocSize, uint offset)
    {
        var slots = _slots;
        for (uint i = slotIndex; i < slotIndex + nslots; i++)
        {
            slots[i].List = 0;
            slots[i].AllocSize = allocSize - (offset + ((ulong)(i - slotIndex) << Swiotlb.IoTlbShift));
        }
        ushort count = 0;
        for (long i = (long)slotIndex - 1; i >= 0 && Swiotlb.IoTlbOffset(i) != Swiotlb.IoTlbSegSize - 1 && slots[i].List != 0; i--)
            slots[i].List = ++count;
        area.Index = WrapAreaIndex(index + nslots);
        area.Used += nslots;
        Stats.AddUsed(nslots);
        return (int)slotIndex;
    }

    /// <summary>
    /// swiotlb_release_slots(): find the first slot of the allocation from the bounce address (less the
    /// min_align offset and the padding slots), then give the run back: counters rebuilt from the end of the
    /// run, merging with the free run after it (when in the same segment) and renumbering the free run before it.
    /// </summary>
    internal void ReleaseSlots(Device dev, ulong tlbAddr)
    {
        uint offset = Swiotlb.AlignOffset(MinAlignMask(dev), 0, tlbAddr);
        long index = (long)((tlbAddr - offset - _start) >> Swiotlb.IoTlbShift);
        index -= _slots[index].PadSlots;
        if (index < 0 || _slots[index].List != 0)
        {
            // The kernel would corrupt its free lists here; dma-debug reports the driver bug, we refuse it.
            AddFinding("swiotlb-release-free-slot", dev, tlbAddr,
                $"swiotlb: release of bounce address 0x{tlbAddr:x} that holds no allocation");
            return;
        }
        int nslots = (int)Swiotlb.NrSlots(_slots[index].AllocSize + offset);
        ref var area = ref _areas[index / _areaNslabs];
        var slots = _slots;

        // The kernel reads the slot after the run whenever it is in the same segment; for a pool whose size is
        // not whole segments (a restricted pool) that slot may lie past the end, which we treat as used.
        int count = index + nslots < AlignUpSeg(index + 1) && index + nslots < (long)_nslabs ? slots[index + nslots].List : 0;
        for (long i = index + nslots - 1; i >= index; i--)
        {
            ref var s = ref slots[i];
            s.List = (ushort)++count;
            s.OrigAddr = Swiotlb.InvalidPhysAddr;
            s.AllocSize = 0;
            s.PadSlots = 0;
        }
        for (long i = index - 1; i >= 0 && Swiotlb.IoTlbOffset(i) != Swiotlb.IoTlbSegSize - 1 && slots[i].List != 0; i--)
            slots[i].List = (ushort)++count;
        area.Used -= (ulong)nslots;
        Stats.UsedSlots -= (ulong)nslots;
        Stats.Unmaps++;
    }

    static long AlignUpSeg(long x) => (x + Swiotlb.IoTlbSegSize - 1) & ~(long)(Swiotlb.IoTlbSegSize - 1);

    /// <summary>wrap_area_index(): past the end of the area the search restarts at 0 (not modulo).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint WrapAreaIndex(uint index) => index >= _areaNslabs ? 0 : index;

    /// <summary>Linux: include/linux/iommu-helper.h, iommu_is_span_boundary().</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IsSpanBoundary(uint index, uint nr, ulong shift, ulong boundarySize)
    {
        shift = (shift + index) & (boundarySize - 1);
        return shift + nr > boundarySize;
    }

    void AddFinding(string kind, Device dev, ulong addr, string message) =>
        (_findings ??= new()).Add(new Finding(kind, dev.Name, addr, message));

    /// <summary>
    /// Checks every invariant of the allocator and returns the first violation, or null: each free slot's run
    /// counter equals the length of the free run from it to the end of its segment (or pool) and it records no
    /// mapping, each used slot has counter 0, each area's used count equals its used slots, the search index is inside the area, and
    /// the total equals <see cref="SwiotlbStats.UsedSlots"/>.
    /// </summary>
    public string? Validate()
    {
        ulong total = 0;
        for (int a = 0; a < _areas.Length; a++)
        {
            ulong used = 0;
            long lo = (long)a * _areaNslabs, hi = a == _areas.Length - 1 ? (long)_nslabs : lo + _areaNslabs;
            for (long i = lo; i < hi; i++) if (_slots[i].List == 0) used++;
            if (used != _areas[a].Used) return $"area {a}: used {_areas[a].Used}, but {used} slots have list 0";
            if (_areas[a].Index >= _areaNslabs) return $"area {a}: index {_areas[a].Index} outside the area";
            total += used;
        }
        if (total != Stats.UsedSlots) return $"used slots {total}, stats say {Stats.UsedSlots}";
        for (long i = (long)_nslabs - 1; i >= 0; i--)
        {
            if (_slots[i].List == 0) continue;
            if (_slots[i].OrigAddr != Swiotlb.InvalidPhysAddr || _slots[i].AllocSize != 0 || _slots[i].PadSlots != 0)
                return $"slot {i}: free but still records orig_addr 0x{_slots[i].OrigAddr:x}, alloc_size {_slots[i].AllocSize}, pad_slots {_slots[i].PadSlots}";
            bool lastInRun = i == (long)_nslabs - 1 || Swiotlb.IoTlbOffset(i) == Swiotlb.IoTlbSegSize - 1 || _slots[i + 1].List == 0;
            int expected = lastInRun ? 1 : _slots[i + 1].List + 1;
            if (_slots[i].List != expected) return $"slot {i}: list {_slots[i].List}, expected {expected}";
        }
        return null;
    }
}
