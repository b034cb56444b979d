namespace DmaLab.Mm;

/// <summary>
/// Per-page metadata, the model's compact struct page (Linux: include/linux/mm_types.h). Twelve bytes per page:
/// free-list links by index (the kernel's page->buddy_list), the block order on a head page (page_private /
/// buddy_order()), and flags. On an allocated head page <see cref="Next"/> holds the movable handle, if any.
/// </summary>
internal struct PageMeta
{
    public int Next;
    public int Prev;
    public byte Order;
    public PageFlags Flags;
}

[Flags]
internal enum PageFlags : byte
{
    None = 0,
    /// <summary>Managed by the buddy allocator (DRAM, not reserved). Pages without it are holes or memblock reservations.</summary>
    Present = 1,
    /// <summary>PageBuddy: head of a free block on a free list.</summary>
    Buddy = 2,
    /// <summary>Head of an allocated block.</summary>
    Allocated = 4,
    /// <summary>The pageblock is MIGRATE_CMA (set at CMA activation, never cleared).</summary>
    Cma = 8,
    /// <summary>Allocated head whose block is owned through a movable handle and can be migrated.</summary>
    Movable = 16,
    /// <summary>Allocated head of a block taken by alloc_contig_range (CMA) or a boot reservation.</summary>
    Contig = 32,
}
