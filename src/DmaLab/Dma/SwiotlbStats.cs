namespace DmaLab.Dma;

/// <summary>
/// Counters of one swiotlb pool. <see cref="UsedSlots"/> and <see cref="UsedHiwater"/> are the kernel's debugfs
/// io_tlb_used / io_tlb_used_hiwater (kernel/dma/swiotlb.c, inc_used_and_hiwater / dec_used); the rest are
/// DmaLab's own accounting of the same events.
/// </summary>
public sealed class SwiotlbStats
{
    /// <summary>Slots allocated now, across all areas (mem_used()).</summary>
    public ulong UsedSlots { get; internal set; }
    /// <summary>Highest <see cref="UsedSlots"/> seen since creation or the last <see cref="ResetHiwater"/>.</summary>
    public ulong UsedHiwater { get; internal set; }
    /// <summary>Successful swiotlb_tbl_map_single calls.</summary>
    public ulong Maps { get; internal set; }
    /// <summary>Slot releases (swiotlb_release_slots: unmaps, swiotlb_free, and the undo of a mapping dma_capable rejects).</summary>
    public ulong Unmaps { get; internal set; }
    /// <summary>Successful swiotlb_alloc calls (restricted pools).</summary>
    public ulong Allocs { get; internal set; }
    /// <summary>Searches that found no room ("swiotlb buffer is full" and swiotlb_alloc failures).</summary>
    public ulong Failures { get; internal set; }
    /// <summary>Bytes copied original → bounce slot (map of any direction, sync_for_device).</summary>
    public ulong BouncedBytesToDevice { get; internal set; }
    /// <summary>Bytes copied bounce slot → original (unmap and sync_for_cpu of FROM_DEVICE/BIDIRECTIONAL).</summary>
    public ulong BouncedBytesFromDevice { get; internal set; }
    /// <summary>Bounces the kernel would have truncated with "Buffer overflow detected".</summary>
    public ulong Overflows { get; internal set; }

    /// <summary>Writing 0 to debugfs io_tlb_used_hiwater (io_tlb_hiwater_set) restarts the mark.</summary>
    public void ResetHiwater() => UsedHiwater = 0;

    internal void AddUsed(ulong nslots)
    {
        UsedSlots += nslots;
        if (UsedSlots > UsedHiwater) UsedHiwater = UsedSlots;
    }
}
