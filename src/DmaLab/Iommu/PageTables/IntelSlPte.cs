namespace DmaLab.Iommu.PageTables;

/// <summary>
/// VT-d second-level paging entries (Intel VT-d spec rev 4.x, 9.8 "Second-Stage Paging Entries" / older 9.3;
/// Linux: drivers/iommu/intel/iommu.h struct dma_pte, iommu.c __domain_mapping()/pfn_to_dma_pte()).
/// R[0], W[1], PS[7] (2M/1G superpage), SNP[11], address [51:12]. Non-leaf entries carry R|W so the walk
/// never blocks on them. Levels here: 0 = top (PML5 or PML4), Levels-1 = the 4K page table.
/// </summary>
public readonly struct IntelSlPte : IPteFormat
{
    public const ulong R = 1, W = 2, Ps = 1UL << 7, Snp = 1UL << 11;
    const ulong AddrMask = 0x000F_FFFF_FFFF_F000;

    readonly int _levels;
    readonly bool _snoop;

    public IntelSlPte(int levels, bool forceSnoop) { _levels = levels; _snoop = forceSnoop; }

    public static int EntryBytes => 8;
    /// <summary>The kernel only WARNs ("DMA PTE for vPFN ... already set") and keeps the old entry; we refuse with -EEXIST.</summary>
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Fail;
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Replace;
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.WholeLeaf;
    public static TableFreePolicy TableFree => TableFreePolicy.CoveringUnmap;
    public static int OverlapErrno => -17;
    public static int NoAccessResult => -22;
    public static bool IncrementingLeaves => false;

    public int Levels => _levels;
    public int Shift(int lvl) => 12 + 9 * (_levels - 1 - lvl);
    public int IndexBits(int lvl) => 9;
    public int TableOrder(int lvl) => 0;

    public int LeafLevel(ulong pgsize) => pgsize switch
    {
        1UL << 12 => _levels - 1,
        1UL << 21 => _levels - 2,
        1UL << 30 => _levels - 3,
        _ => -1,
    };

    public PteKind Classify(ulong pte, int lvl)
    {
        if ((pte & (R | W)) == 0) return PteKind.Invalid;
        if (lvl == _levels - 1) return PteKind.Leaf;
        if ((pte & Ps) == 0) return PteKind.Table;
        // PS is only defined in the 2M (PDE) and 1G (PDPE) levels.
        return lvl >= _levels - 3 ? PteKind.Leaf : PteKind.Malformed;
    }

    public ulong TableAddress(ulong pte, int lvl) => pte & AddrMask;
    public int NextLevel(ulong pte, int lvl) => lvl + 1;
    public ulong MakeTable(ulong table, int lvl) => table | R | W;

    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
    {
        ulong pte = paddr;
        if ((prot & IommuProt.Read) != 0) pte |= R;
        if ((prot & IommuProt.Write) != 0) pte |= W;
        if (_snoop) pte |= Snp;
        if (lvl != _levels - 1) pte |= Ps;
        return pte;
    }

    public ulong LeafAddress(ulong pte, int lvl) => pte & AddrMask & ~((1UL << Shift(lvl)) - 1);
    public ulong LeafSize(ulong pte, int lvl) => 1UL << Shift(lvl);

    public IommuProt LeafProt(ulong pte, int lvl)
    {
        IommuProt p = IommuProt.None;
        if ((pte & R) != 0) p |= IommuProt.Read;
        if ((pte & W) != 0) p |= IommuProt.Write;
        if ((pte & Snp) != 0) p |= IommuProt.Cache;
        return p;
    }

    public ulong ClearedLeaf(ulong pte) => 0;
}
