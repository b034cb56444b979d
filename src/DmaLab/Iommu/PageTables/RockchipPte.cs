namespace DmaLab.Iommu.PageTables;

/// <summary>
/// Rockchip IOMMU v1 entries (Linux: drivers/iommu/rockchip-iommu.c rk_mk_dte()/rk_mk_pte(), RK3288/RK3399 TRM
/// "IOMMU"): a 1024-entry directory (4M per entry) of DTEs = table address [31:12] | VALID[0], pointing to 1024-entry
/// page tables of PTEs = page address [31:12] | WRITABLE[2] | READABLE[1] | VALID[0]. Every mapping is made of 4K
/// PTEs (the 4K..4M bitmap only lets the core hand over bigger chunks); unmap clears VALID and keeps the rest.
/// The RK3568 "v2" encoding with address bits above 32 is not modelled.
/// </summary>
public readonly struct RockchipPte : IPteFormat
{
    public const uint Valid = 1, Readable = 1u << 1, Writable = 1u << 2;
    const uint AddrMask = 0xffff_f000;

    public static int EntryBytes => 4;
    /// <summary>rk_iommu_map_iova(): a valid PTE in the way unwinds and returns -EADDRINUSE.</summary>
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Fail;
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Fail;
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.Refuse;
    public static TableFreePolicy TableFree => TableFreePolicy.Never;
    public static int OverlapErrno => -98;
    public static int NoAccessResult => 1;
    public static bool IncrementingLeaves => true;

    public int Levels => 2;
    public int Shift(int lvl) => lvl == 0 ? 22 : 12;
    public int IndexBits(int lvl) => 10;
    public int TableOrder(int lvl) => 0;
    public int LeafLevel(ulong pgsize) => pgsize >= 1UL << 12 && pgsize <= 1UL << 22 ? 1 : -1;

    public PteKind Classify(ulong pte, int lvl)
        => (pte & Valid) == 0 ? PteKind.Invalid : lvl == 0 ? PteKind.Table : PteKind.Leaf;

    public ulong TableAddress(ulong pte, int lvl) => pte & AddrMask;
    public int NextLevel(ulong pte, int lvl) => lvl + 1;
    public ulong MakeTable(ulong table, int lvl) => (table & AddrMask) | Valid;

    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
    {
        ulong pte = (paddr & AddrMask) | Valid;
        if ((prot & IommuProt.Read) != 0) pte |= Readable;
        if ((prot & IommuProt.Write) != 0) pte |= Writable;
        return pte;
    }

    public ulong LeafSize(ulong pte, int lvl) => 1UL << 12;
    public ulong LeafAddress(ulong pte, int lvl) => pte & AddrMask;

    public IommuProt LeafProt(ulong pte, int lvl)
    {
        IommuProt p = IommuProt.None;
        if ((pte & Readable) != 0) p |= IommuProt.Read;
        if ((pte & Writable) != 0) p |= IommuProt.Write;
        return p;
    }

    /// <summary>rk_mk_pte_invalid(): only VALID is cleared.</summary>
    public ulong ClearedLeaf(ulong pte) => pte & ~(ulong)Valid;
}
