namespace DmaLab.Dma;

/// <summary>
/// The software IO TLB's constants and sizing rules (Linux: include/linux/swiotlb.h and the boot-time sizing in
/// kernel/dma/swiotlb.c: setup_io_tlb_npages, swiotlb_adjust_nareas, round_up_default_nslabs, limit_nareas,
/// swiotlb_max_mapping_size). Checked against Linux 6.12 (the golden capture) and the current tree: identical.
/// </summary>
public static class Swiotlb
{
    /// <summary>IO_TLB_SHIFT: a slot ("slab") is 2 KiB.</summary>
    public const int IoTlbShift = 11;
    /// <summary>IO_TLB_SIZE.</summary>
    public const ulong IoTlbSize = 1UL << IoTlbShift;
    /// <summary>IO_TLB_SEGSIZE: the free-run counters never span more than this many slots, so it bounds a mapping.</summary>
    public const int IoTlbSegSize = 128;
    /// <summary>IO_TLB_DEFAULT_SIZE: 64 MiB.</summary>
    public const ulong IoTlbDefaultSize = 64UL << 20;
    /// <summary>IO_TLB_MIN_SLABS: the boot allocation gives up below 1 MiB.</summary>
    public const ulong IoTlbMinSlabs = (1UL << 20) >> IoTlbShift;
    /// <summary>(phys_addr_t)DMA_MAPPING_ERROR, what swiotlb_tbl_map_single returns on failure.</summary>
    public const ulong MappingErrorPhys = ulong.MaxValue;
    /// <summary>INVALID_PHYS_ADDR: orig_addr of a slot that holds no mapping.</summary>
    public const ulong InvalidPhysAddr = ulong.MaxValue;

    internal const ulong PageSize = 4096;

    /// <summary>nr_slots(): slots covering <paramref name="bytes"/>.</summary>
    public static ulong NrSlots(ulong bytes) => (bytes + IoTlbSize - 1) >> IoTlbShift;

    /// <summary>io_tlb_offset(): position of a slot inside its 128-slot segment.</summary>
    public static int IoTlbOffset(long slot) => (int)(slot & (IoTlbSegSize - 1));

    /// <summary>swiotlb_adjust_nareas(): 0 means 1, otherwise rounded up to a power of two.</summary>
    public static int AdjustAreas(int nareas) =>
        nareas <= 0 ? 1 : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)nareas);

    /// <summary>
    /// round_up_default_nslabs(): at least one segment per area, and a power of two when it had to change
    /// (returns the possibly grown slot count; <paramref name="roundedUp"/> says whether it changed, which makes
    /// the kernel print "SWIOTLB bounce buffer size roundup to %luMB").
    /// </summary>
    public static ulong RoundUpDefaultNslabs(ulong nslabs, int nareas, out bool roundedUp)
    {
        roundedUp = false;
        if (nareas == 0) return nslabs;
        if (nslabs < (ulong)IoTlbSegSize * (ulong)nareas)
            nslabs = (ulong)IoTlbSegSize * (ulong)nareas;
        else if (System.Numerics.BitOperations.IsPow2(nslabs))
            return nslabs;
        roundedUp = true;
        return System.Numerics.BitOperations.RoundUpToPowerOf2(nslabs);
    }

    /// <summary>limit_nareas(): no more areas than whole segments in the pool.</summary>
    public static int LimitAreas(int nareas, ulong nslots) =>
        nslots < (ulong)nareas * IoTlbSegSize ? (int)(nslots / IoTlbSegSize) : nareas;

    /// <summary>setup_io_tlb_npages(): a slot count from swiotlb=&lt;n&gt; is aligned up to a whole segment.</summary>
    public static ulong AlignToSegment(ulong nslabs) => (nslabs + IoTlbSegSize - 1) / IoTlbSegSize * IoTlbSegSize;

    /// <summary>
    /// swiotlb_max_mapping_size(): one segment (256 KiB) less the slots a min_align_mask can force the search to
    /// skip (roundup(min_align_mask, IO_TLB_SIZE)); NVMe's 4 KiB-1 gives 258048.
    /// </summary>
    public static ulong MaxMappingSize(uint minAlignMask)
    {
        ulong minAlign = minAlignMask == 0 ? 0 : (minAlignMask + IoTlbSize - 1) / IoTlbSize * IoTlbSize;
        return IoTlbSize * IoTlbSegSize - minAlign;
    }

    /// <summary>is_swiotlb_force_bounce(): the device's pool bounces every streaming mapping.</summary>
    public static bool IsForceBounce(Devices.Device dev) => dev.DmaIoTlbMem is { ForceBounce: true };

    /// <summary>is_swiotlb_active(): the device has a pool to bounce through.</summary>
    public static bool IsActive(Devices.Device dev) => dev.DmaIoTlbMem is not null;

    /// <summary>is_swiotlb_for_alloc(): dma_alloc_* for the device comes from its (restricted) pool.</summary>
    public static bool IsForAlloc(Devices.Device dev) => dev.DmaIoTlbMem is { ForAlloc: true };

    /// <summary>is_swiotlb_buffer() / swiotlb_find_pool() != NULL: <paramref name="paddr"/> is one of the device's bounce slots.</summary>
    public static bool IsSwiotlbBuffer(Devices.Device dev, Mm.PhysAddr paddr) => dev.DmaIoTlbMem?.IsSwiotlbBuffer(paddr) ?? false;

    /// <summary>swiotlb_align_offset(): low bits of <paramref name="addr"/> the bounce address must keep.</summary>
    public static uint AlignOffset(uint minAlignMask, uint alignMask, ulong addr) =>
        (uint)(addr & minAlignMask & (alignMask | (IoTlbSize - 1)));
}
