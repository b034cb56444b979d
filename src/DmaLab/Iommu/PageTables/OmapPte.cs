namespace DmaLab.Iommu.PageTables;

/// <summary>
/// OMAP2+ IOMMU (MMU) table entries (Linux: drivers/iommu/omap-iopgtable.h, omap-iommu.c iopgd_alloc_*()/iopte_alloc_*();
/// OMAP4 TRM "MMU" chapter, translation tables). First level 4096 × 4 B: 0b01 page table (1K-aligned), 0b10 1M
/// section, 0b10 with bit 18 a 16M supersection written to 16 consecutive entries. Second level 256 × 4 B: 0b1x 4K
/// small page, 0b01 64K large page written to 16 entries. The kernel's attribute bits (endianness, element size,
/// mixed) are all zero for little-endian 8-bit elements, so entries are address | type; there are no permissions.
/// </summary>
public readonly struct OmapPte : IPteFormat
{
    public const uint PgdTable = 1, PgdSection = 2, PgdSuper = 1u << 18 | 2, PteSmall = 2, PteLarge = 1;

    public static int EntryBytes => 4;
    /// <summary>iopgd_alloc_section()/iopte_alloc_page() store without looking at what was there.</summary>
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Overwrite;
    /// <summary>The kernel overwrites (and leaks) a table under a new section; we free it.</summary>
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Replace;
    /// <summary>iopgtable_clear_entry_core() clears the whole entry at da and returns its size.</summary>
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.WholeLeaf;
    public static TableFreePolicy TableFree => TableFreePolicy.WhenEmpty;
    public static int OverlapErrno => -17;
    public static int NoAccessResult => 1;
    public static bool IncrementingLeaves => false;

    public int Levels => 2;
    public int Shift(int lvl) => lvl == 0 ? 20 : 12;
    public int IndexBits(int lvl) => lvl == 0 ? 12 : 8;
    /// <summary>16 KiB first level; a 1 KiB second-level table takes a whole page here (the kernel uses a kmem_cache).</summary>
    public int TableOrder(int lvl) => lvl == 0 ? 2 : 0;
    public int LeafLevel(ulong pgsize) => pgsize switch { 1UL << 24 or 1UL << 20 => 0, 1UL << 16 or 1UL << 12 => 1, _ => -1 };

    public PteKind Classify(ulong pte, int lvl)
    {
        uint type = (uint)pte & 3;
        if (type == 0) return PteKind.Invalid;
        if (lvl == 0) return type == PgdTable ? PteKind.Table : type == PgdSection ? PteKind.Leaf : PteKind.Malformed;
        return PteKind.Leaf;
    }

    public ulong TableAddress(ulong pte, int lvl) => pte & 0xffff_fc00;
    public int NextLevel(ulong pte, int lvl) => lvl + 1;
    public ulong MakeTable(ulong table, int lvl) => table | PgdTable;

    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot) => pgsize switch
    {
        1UL << 24 => (paddr & 0xff00_0000) | PgdSuper,
        1UL << 20 => (paddr & 0xfff0_0000) | PgdSection,
        1UL << 16 => (paddr & 0xffff_0000) | PteLarge,
        _ => (paddr & 0xffff_f000) | PteSmall,
    };

    public ulong LeafSize(ulong pte, int lvl)
        => lvl == 0 ? ((pte & PgdSuper) == PgdSuper ? 1UL << 24 : 1UL << 20) : ((pte & 3) == PteLarge ? 1UL << 16 : 1UL << 12);

    public ulong LeafAddress(ulong pte, int lvl) => pte & 0xffff_ffff & ~(LeafSize(pte, lvl) - 1);
    public IommuProt LeafProt(ulong pte, int lvl) => IommuProt.Read | IommuProt.Write;
    public ulong ClearedLeaf(ulong pte) => 0;
}
