namespace DmaLab.Iommu.PageTables;

/// <summary>
/// Samsung Exynos SYSMMU v5 table entries (Linux: drivers/iommu/exynos-iommu.c, mk_lv1ent_sect()/mk_lv1ent_page()/
/// mk_lv2ent_lpage()/mk_lv2ent_spage() with PG_ENT_SHIFT = 4 and SYSMMU_V5_LV1_PROT/LV2_PROT). Every entry holds
/// the physical address shifted right by 4 (36-bit physical space). First level 4096 × 4 B: 0b01 second-level
/// table, 0b10 1M section with read/write in [5:4]. Second level 256 × 4 B: 0b1x 4K small page, 0b01 64K large page
/// (16 copies), read/write in [3:2]. The v1–v3 encodings (no shift, AP-style bits at 15/10 and 9/4) are not modelled.
/// </summary>
public readonly struct ExynosPte : IPteFormat
{
    public const int PgEntShift = 4;

    public static int EntryBytes => 4;
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Fail;
    /// <summary>lv1set_section(): an empty second-level table is freed, a used one is -EADDRINUSE.</summary>
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.ReplaceIfEmpty;
    /// <summary>exynos_iommu_unmap(): WARN and return 0 when asked for less than the section or large page.</summary>
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.Refuse;
    public static TableFreePolicy TableFree => TableFreePolicy.Never;
    public static int OverlapErrno => -98;
    public static int NoAccessResult => 1;
    public static bool IncrementingLeaves => false;

    public int Levels => 2;
    public int Shift(int lvl) => lvl == 0 ? 20 : 12;
    public int IndexBits(int lvl) => lvl == 0 ? 12 : 8;
    public int TableOrder(int lvl) => lvl == 0 ? 2 : 0;
    public int LeafLevel(ulong pgsize) => pgsize switch { 1UL << 20 => 0, 1UL << 16 or 1UL << 12 => 1, _ => -1 };

    public PteKind Classify(ulong pte, int lvl)
    {
        uint type = (uint)pte & 3;
        if (lvl == 0) return type switch { 1 => PteKind.Table, 2 => PteKind.Leaf, _ => PteKind.Invalid };   // lv1ent_fault(): 0 or 3
        return type == 0 ? PteKind.Invalid : PteKind.Leaf;
    }

    public ulong TableAddress(ulong pte, int lvl) => (pte & 0xffff_ffc0) << PgEntShift;
    public int NextLevel(ulong pte, int lvl) => lvl + 1;
    public ulong MakeTable(ulong table, int lvl) => (table >> PgEntShift) | 1;

    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
    {
        ulong rw = (ulong)prot & 3;   // IOMMU_READ = 1, IOMMU_WRITE = 2 index the v5 protection tables
        ulong e = paddr >> PgEntShift;
        if (lvl == 0) return e | rw << 4 | 2;
        return e | rw << 2 | (pgsize == 1UL << 16 ? 1UL : 2UL);
    }

    public ulong LeafSize(ulong pte, int lvl) => lvl == 0 ? 1UL << 20 : (pte & 3) == 1 ? 1UL << 16 : 1UL << 12;
    public ulong LeafAddress(ulong pte, int lvl) => ((pte & 0xffff_ffff) << PgEntShift) & ~(LeafSize(pte, lvl) - 1);

    public IommuProt LeafProt(ulong pte, int lvl)
    {
        ulong rw = (pte >> (lvl == 0 ? 4 : 2)) & 3;
        return (IommuProt)(int)rw;
    }

    public ulong ClearedLeaf(ulong pte) => 0;
}
